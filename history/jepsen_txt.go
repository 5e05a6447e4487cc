package history

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Jepsen's text history (history.txt), one op a line:
//
//	process<TAB>type<TAB>f<TAB>value[<TAB>error]
//	0	:invoke	:cas	[1 2]
//	0	:info	:cas	:timed-out
//	:nemesis	:info	:start	nil
//
// and the same lines as Jepsen prints them in its run log, after a logger prefix such as
// "INFO  jepsen.util - ", with fields separated by runs of spaces. Lines that are not ops are
// skipped. A completion may carry an error keyword in place of its value. The records carry
// no time: their position is used, so real-time order is the line order.

// logMarker is the prefix Jepsen's logger puts before each op it prints.
const logMarker = "jepsen.util - "

// ReadText reads a Jepsen text history or a Jepsen run log.
func ReadText(r io.Reader) (*File, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var raws []rawOp
	var warnings []string
	skipped, line := 0, 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.Index(s, logMarker); i >= 0 {
			s = s[i+len(logMarker):]
		}
		raw, ok, err := parseTextOp(s, line)
		if err != nil {
			return nil, fmt.Errorf("history: jepsen-txt: line %d: %w", line, err)
		}
		if !ok {
			if strings.TrimSpace(s) != "" {
				skipped++
			}
			continue
		}
		raws = append(raws, raw)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("history: jepsen-txt: reading line %d: %w", line+1, err)
	}
	if skipped > 0 {
		warnings = append(warnings, fmt.Sprintf("%d non-op lines skipped", skipped))
	}
	ops, err := opsFromRaw(raws)
	if err != nil {
		return nil, fmt.Errorf("history: jepsen-txt: %w", err)
	}
	return &File{Ops: ops, Format: FormatText, Warnings: warnings}, nil
}

// parseTextOp parses one op line; ok is false for a line that is not an op.
func parseTextOp(s string, line int) (rawOp, bool, error) {
	proc, rest := nextField(s)
	typ, rest := nextField(rest)
	f, rest := nextField(rest)
	var p Process
	switch {
	case proc == ":nemesis" || proc == "nemesis":
		p = NemesisProcess
	default:
		n, err := strconv.ParseInt(proc, 10, 32)
		if err != nil || n < 0 {
			return rawOp{}, false, nil
		}
		p = Process(n)
	}
	t := Type(strings.TrimPrefix(typ, ":"))
	if !strings.HasPrefix(typ, ":") || !t.Valid() || t == "" || f == "" {
		return rawOp{}, false, nil
	}
	raw := rawOp{line: line, process: p, typ: t, f: strings.TrimPrefix(f, ":")}
	val, rest := nextForm(rest)
	errText := strings.TrimSpace(rest)
	if p.IsNemesis() {
		raw.value = val
		if v, err := decodeEDN([]byte(val)); err == nil {
			raw.value = v
		}
		raw.err = errText
		return raw, true, nil
	}
	if strings.HasPrefix(val, ":") && (t == Info || t == Fail) && errText == "" {
		// an error keyword in place of the value
		raw.err = val
		return raw, true, nil
	}
	if val != "" {
		v, err := decodeEDN([]byte(val))
		if err != nil {
			return rawOp{}, false, fmt.Errorf("value %q: %w", val, err)
		}
		raw.value = v
	}
	raw.err = errText
	return raw, true, nil
}

// nextField returns the next whitespace-separated token and the rest.
func nextField(s string) (string, string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// nextForm returns the next EDN form (a bracketed collection or string is taken whole,
// whatever whitespace it contains) and the rest.
func nextForm(s string) (string, string) {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return "", ""
	}
	start := 0
	if s[0] == '#' && len(s) > 1 && s[1] == '{' {
		start = 1
	}
	switch s[start] {
	case '[', '(', '{', '"':
		depth := 0
		for i := start; i < len(s); i++ {
			switch s[i] {
			case '"':
				for i++; i < len(s) && s[i] != '"'; i++ {
					if s[i] == '\\' {
						i++
					}
				}
				if depth == 0 {
					return s[:min(i+1, len(s))], s[min(i+1, len(s)):]
				}
			case '\\':
				i++
			case '[', '(', '{':
				depth++
			case ']', ')', '}':
				depth--
				if depth == 0 {
					return s[:i+1], s[i+1:]
				}
			}
		}
		return s, ""
	}
	return nextField(s)
}
