package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Reader reads a JSON Lines history one op at a time, without holding more than the current
// line. Blank lines are skipped. A last line that has no newline and does not decode (a killed
// run stopped mid-write) ends the history with a warning instead of an error.
//
// The common shape of a line is decoded by a hand-written decoder (no reflection, with the
// repeated strings interned); lines it does not handle (escapes, unknown fields, odd spacing of
// numbers) fall back to encoding/json, so both accept exactly the same lines.
type Reader struct {
	br        *bufio.Reader
	line      int
	long      []byte            // accumulates a line longer than the buffer
	intern    map[string]string // f, type, key, node, error strings seen so far
	lastNode  string
	scratch   Op
	warnings  []string
	truncated bool
}

// maxInterned bounds the intern table; past it new strings are simply allocated.
const maxInterned = 1 << 16

// NewReader returns a Reader of the JSON Lines history in r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 1<<20), intern: make(map[string]string)}
}

// Line returns the 1-based number of the last line read.
func (r *Reader) Line() int { return r.line }

// Warnings returns what was tolerated so far (a truncated last line).
func (r *Reader) Warnings() []string { return r.warnings }

// Truncated reports whether the history ended with a partial line.
func (r *Reader) Truncated() bool { return r.truncated }

// Next returns the next op, or io.EOF after the last one. Errors name the line.
func (r *Reader) Next() (Op, error) {
	for {
		line, err := r.readLine()
		if err != nil && err != io.EOF {
			return Op{}, fmt.Errorf("history: reading line %d: %w", r.line+1, err)
		}
		if len(line) == 0 && err == io.EOF {
			return Op{}, io.EOF
		}
		r.line++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			if err == io.EOF {
				return Op{}, io.EOF
			}
			continue
		}
		op := &r.scratch // decoding into the Reader keeps each op off the heap
		*op = Op{}
		if derr := r.decode(line, op); derr != nil {
			if err == io.EOF { // no newline at the end: a partial write
				r.truncated = true
				r.warnings = append(r.warnings, fmt.Sprintf("line %d: truncated last line ignored (%d bytes): %v", r.line, len(line), derr))
				return Op{}, io.EOF
			}
			return Op{}, fmt.Errorf("history: line %d: %w", r.line, derr)
		}
		op.Line = r.line
		return *op, nil
	}
}

// readLine returns the next line without its newline; the slice is valid until the next call.
// It returns io.EOF with the last line when that line has no newline.
func (r *Reader) readLine() ([]byte, error) {
	r.long = r.long[:0]
	for {
		b, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			r.long = append(r.long, b...)
			continue
		}
		if len(r.long) > 0 {
			r.long = append(r.long, b...)
			b = r.long
		}
		if err == nil {
			return b[:len(b)-1], nil
		}
		return b, err
	}
}

// decode decodes one line into op: the fast path, or encoding/json when the fast path declines.
func (r *Reader) decode(line []byte, op *Op) error {
	if err := r.decodeFast(line, op); err == nil {
		return nil
	}
	*op = Op{}
	if err := json.Unmarshal(line, op); err != nil {
		return err
	}
	return nil
}

// errSlow makes the fast decoder hand a line to encoding/json.
var errSlow = errors.New("not a plain line")

func (r *Reader) str(b []byte) string {
	if s, ok := r.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(r.intern) < maxInterned {
		r.intern[s] = s
	}
	return s
}

// decodeFast decodes the plain form of an op line written by Writer (any field order and
// spacing). It returns errSlow for anything else.
func (r *Reader) decodeFast(b []byte, op *Op) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSlow
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
		if skipWS(b, i) != len(b) {
			return errSlow
		}
		return nil
	}
	for {
		key, j, ok := scanString(b, i)
		if !ok {
			return errSlow
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return errSlow
		}
		i = skipWS(b, i+1)
		var err error
		switch string(key) {
		case "index":
			op.Index, i, err = scanInt(b, i)
		case "time":
			op.Time, i, err = scanInt(b, i)
		case "process":
			if i < len(b) && b[i] == '"' {
				s, j, ok := scanString(b, i)
				if !ok || string(s) != "nemesis" {
					return errSlow
				}
				op.Process, i = NemesisProcess, j
			} else {
				var n int64
				n, i, err = scanInt(b, i)
				if err == nil && n < 0 {
					return errSlow
				}
				op.Process = Process(n)
			}
		case "type":
			var s []byte
			s, i, err = scanStr(b, i)
			switch string(s) {
			case "invoke":
				op.Type = Invoke
			case "ok":
				op.Type = OK
			case "fail":
				op.Type = Fail
			case "info":
				op.Type = Info
			default:
				op.Type = Type(r.str(s))
			}
		case "f":
			var s []byte
			s, i, err = scanStr(b, i)
			switch string(s) {
			case FRead:
				op.F = FRead
			case FWrite:
				op.F = FWrite
			case FCAS:
				op.F = FCAS
			case FAdd:
				op.F = FAdd
			case FIncr:
				op.F = FIncr
			default:
				op.F = r.str(s)
			}
		case "key":
			var s []byte
			s, i, err = scanStr(b, i)
			op.Key = r.str(s)
		case "node":
			var s []byte
			s, i, err = scanStr(b, i)
			if string(s) == r.lastNode {
				op.Node = r.lastNode
			} else {
				op.Node = r.str(s)
				r.lastNode = op.Node
			}
		case "error":
			var s []byte
			s, i, err = scanStr(b, i)
			op.Error = r.str(s)
		case "detail":
			var s []byte
			s, i, err = scanStr(b, i)
			op.Detail = string(s)
		case "value":
			op.Value, i, err = scanValue(b, i)
		default:
			return errSlow
		}
		if err != nil {
			return err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return errSlow
		}
		if b[i] == '}' {
			if skipWS(b, i+1) != len(b) {
				return errSlow
			}
			return nil
		}
		if b[i] != ',' {
			return errSlow
		}
		i = skipWS(b, i+1)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString scans a JSON string without escapes starting at b[i] == '"'; it returns the bytes
// between the quotes and the index after the closing quote.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	start := i + 1
	ascii := true
	for j := start; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			s := b[start:j]
			if !ascii && !utf8.Valid(s) {
				return nil, i, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, i, false
}

func scanStr(b []byte, i int) ([]byte, int, error) {
	s, j, ok := scanString(b, i)
	if !ok {
		return nil, i, errSlow
	}
	return s, j, nil
}

// scanInt scans a JSON integer (no fraction or exponent, no leading zeros).
func scanInt(b []byte, i int) (int64, int, error) {
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	ds := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == ds || (b[ds] == '0' && i-ds > 1) {
		return 0, i, errSlow
	}
	if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
		return 0, i, errSlow
	}
	if i-start <= 18 { // fits without overflow checks
		var n int64
		for _, c := range b[ds:i] {
			n = n*10 + int64(c-'0')
		}
		if ds > start {
			n = -n
		}
		return n, i, nil
	}
	n, err := strconv.ParseInt(string(b[start:i]), 10, 64)
	if err != nil {
		return 0, i, errSlow
	}
	return n, i, nil
}

// scanValue scans null, an integer, or an array of integers.
func scanValue(b []byte, i int) (Value, int, error) {
	if i >= len(b) {
		return Value{}, i, errSlow
	}
	switch b[i] {
	case 'n':
		if bytes.HasPrefix(b[i:], []byte("null")) {
			return Value{}, i + 4, nil
		}
		return Value{}, i, errSlow
	case '[':
		i = skipWS(b, i+1)
		xs := []int64{}
		if i < len(b) && b[i] == ']' {
			return List(xs...), i + 1, nil
		}
		for {
			n, j, err := scanInt(b, i)
			if err != nil {
				return Value{}, i, err
			}
			xs = append(xs, n)
			i = skipWS(b, j)
			if i >= len(b) {
				return Value{}, i, errSlow
			}
			if b[i] == ']' {
				return List(xs...), i + 1, nil
			}
			if b[i] != ',' {
				return Value{}, i, errSlow
			}
			i = skipWS(b, i+1)
		}
	}
	n, j, err := scanInt(b, i)
	if err != nil {
		return Value{}, i, err
	}
	return Int(n), j, nil
}

// Writer writes a JSON Lines history, one op a line, buffered: call Flush to push the lines
// out (a run calls it after every few ops so a killed harness leaves a readable file).
type Writer struct {
	bw  *bufio.Writer
	buf []byte
}

// NewWriter returns a Writer appending to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{bw: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 256)}
}

// Write appends op as one line.
func (w *Writer) Write(op Op) error {
	w.buf = op.AppendJSON(w.buf[:0])
	w.buf = append(w.buf, '\n')
	if _, err := w.bw.Write(w.buf); err != nil {
		return fmt.Errorf("history: writing op %d: %w", op.Index, err)
	}
	return nil
}

// Flush writes any buffered lines to the underlying writer.
func (w *Writer) Flush() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("history: flushing: %w", err)
	}
	return nil
}

// AppendJSON appends op's JSON form (the same bytes encoding/json produces, without a newline).
func (op Op) AppendJSON(b []byte) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, op.Index, 10)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, op.Time, 10)
	b = append(b, `,"process":`...)
	if op.Process == NemesisProcess {
		b = append(b, `"nemesis"`...)
	} else {
		b = strconv.AppendInt(b, int64(op.Process), 10)
	}
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(op.Type))
	b = append(b, `,"f":`...)
	b = appendJSONString(b, op.F)
	if op.Key != "" {
		b = append(b, `,"key":`...)
		b = appendJSONString(b, op.Key)
	}
	b = append(b, `,"value":`...)
	b = op.Value.AppendJSON(b)
	if op.Node != "" {
		b = append(b, `,"node":`...)
		b = appendJSONString(b, op.Node)
	}
	if op.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, op.Error)
	}
	if op.Detail != "" {
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, op.Detail)
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; plain ASCII is copied, anything else goes
// through encoding/json so the escaping matches it exactly.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
