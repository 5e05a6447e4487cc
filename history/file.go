package history

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format names a history encoding.
type Format string

// The history encodings. FormatAuto picks one from the file name, then from the content.
const (
	FormatAuto  Format = "auto"
	FormatJSONL Format = "jsonl"      // faultline's JSON Lines (history.jsonl)
	FormatEDN   Format = "jepsen-edn" // Jepsen's history.edn
	FormatText  Format = "jepsen-txt" // Jepsen's history.txt, or a Jepsen run log
)

// ParseFormat accepts "auto", "jsonl", "jepsen-edn" (or "edn") and "jepsen-txt" (or "txt").
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return FormatAuto, nil
	case "jsonl", "json":
		return FormatJSONL, nil
	case "jepsen-edn", "edn":
		return FormatEDN, nil
	case "jepsen-txt", "txt":
		return FormatText, nil
	}
	return "", fmt.Errorf("history: format %q: want jsonl, jepsen-edn, jepsen-txt or auto", s)
}

// File is a history read from a file or stream.
type File struct {
	Ops      []Op
	Format   Format   // the format it was read as
	Warnings []string // what was tolerated: a truncated last line, skipped log lines
	// Partial says the history lacks its end: a JSONL history whose last line was cut off (a
	// killed harness) was read without that line. No other damage is tolerated.
	Partial bool
}

// ReadFile reads a history file, detecting its format.
func ReadFile(path string) (*File, error) { return ReadFileFormat(path, FormatAuto) }

// ReadFileFormat reads a history file in the given format (FormatAuto detects it).
func ReadFileFormat(path string, format Format) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	if format == FormatAuto {
		format = formatFromName(path)
	}
	file, err := Decode(f, format, size)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, filepath.Base(path))
	}
	return file, nil
}

func formatFromName(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".json", ".ndjson":
		return FormatJSONL
	case ".edn":
		return FormatEDN
	case ".txt", ".log":
		return FormatText
	}
	return FormatAuto
}

// DetectFormat guesses the format from the first bytes of a history: a JSON object line, an
// EDN map or vector, or text.
func DetectFormat(head []byte) Format {
	s := bytes.TrimLeft(head, " \t\r\n,")
	switch {
	case len(s) == 0:
		return FormatJSONL
	case s[0] == '{':
		t := bytes.TrimLeft(s[1:], " \t\r\n")
		if len(t) > 0 && t[0] == '"' {
			return FormatJSONL
		}
		if len(t) > 0 && t[0] == '}' {
			return FormatJSONL
		}
		return FormatEDN
	case s[0] == '[' || s[0] == '#' || s[0] == '(' || s[0] == ';':
		return FormatEDN
	}
	return FormatText
}

// Decode reads a whole history from r. sizeHint (the byte size, or 0) pre-sizes the op slice
// so a large JSONL history is not copied while it grows.
func Decode(r io.Reader, format Format, sizeHint int64) (*File, error) {
	if format == FormatAuto || format == "" {
		br := bufio.NewReaderSize(r, 64<<10)
		head, _ := br.Peek(4096)
		format = DetectFormat(head)
		r = br
	}
	switch format {
	case FormatJSONL:
		return readJSONL(r, sizeHint)
	case FormatEDN:
		return ReadEDN(r)
	case FormatText:
		return ReadText(r)
	}
	return nil, fmt.Errorf("history: format %q: want jsonl, jepsen-edn, jepsen-txt or auto", format)
}

func readJSONL(r io.Reader, sizeHint int64) (*File, error) {
	var ops []Op
	rd := NewReader(r)
	if sizeHint > 0 {
		// estimate the op count from the line length of the first 256 KiB, with 5% slack,
		// so a large history neither grows (copying) nor over-allocates by much
		head, _ := rd.br.Peek(256 << 10)
		if n := bytes.Count(head, []byte{'\n'}); n > 0 {
			ops = make([]Op, 0, sizeHint/int64(len(head)/n)*105/100+16)
		}
	}
	for {
		op, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	warnings := finishTimes(ops, func(i int) bool { return ops[i].Time != 0 }, rd.Warnings())
	return &File{Ops: ops, Format: FormatJSONL, Warnings: warnings, Partial: rd.Truncated()}, nil
}

// WriteFile writes ops to path as JSON Lines, or as Jepsen EDN when format is FormatEDN.
func WriteFile(path string, ops []Op, format Format) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	switch format {
	case FormatEDN:
		err = WriteEDN(f, ops)
	case FormatJSONL, FormatAuto, "":
		w := NewWriter(f)
		for i := range ops {
			if err = w.Write(ops[i]); err != nil {
				break
			}
		}
		if err == nil {
			err = w.Flush()
		}
	default:
		err = fmt.Errorf("history: writing format %q: want jsonl or jepsen-edn", format)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("history: %w", cerr)
	}
	return err
}
