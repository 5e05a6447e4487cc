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
// and the same lines as Jepsen prints them in its run log (jepsen.log), after the logger's
// prefix, which ends in the logger name jepsen.util; the layouts Jepsen has used:
//
//	INFO [2017-03-30 15:28:17,223] jepsen worker 2 - jepsen.util 2	:invoke	:write	3
//	2016-06-10 08:06:08,209{GMT}	INFO	[jepsen worker 3] jepsen.util: 3	:invoke	:read	nil
//	INFO  jepsen.util - 1    :ok    :read   1
//
// Fields may be separated by runs of spaces. A line that begins like an op (a process, then a
// :type) must be a whole op; anything else is an error naming the line. In a run log, lines
// that are not ops are skipped; in a history.txt (op lines only, no log line) a line that is
// not an op is an error. A history that is not empty but has no op line is an error. A completion may carry an error keyword
// in place of its value. The records carry no time: their position is used, so real-time
// order is the line order.

// logLogger is the logger name Jepsen's run log prints before each op.
const logLogger = "jepsen.util"

// logMessage returns what follows the logger name jepsen.util and its separator (" - ", ":"
// or whitespace) in a Jepsen log line, and whether the line has one.
func logMessage(s string) (string, bool) {
	for off := 0; ; {
		i := strings.Index(s[off:], logLogger)
		if i < 0 {
			return "", false
		}
		off += i + len(logLogger)
		rest := s[off:]
		t := strings.TrimLeft(rest, " \t")
		if t != "" && (t[0] == '-' || t[0] == ':') && (len(t) == 1 || t[1] == ' ' || t[1] == '\t') {
			return t[1:], true
		}
		if len(t) < len(rest) { // whitespace after the name
			return rest, true
		}
	}
}

// ReadText reads a Jepsen text history or a Jepsen run log.
func ReadText(r io.Reader) (*File, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var raws []rawOp
	var warnings []string
	skipped, nonBlank, line := 0, 0, 0
	bare, logged := 0, 0    // op lines as in history.txt, op lines inside log lines
	junkLine, junk := 0, "" // the first skipped line that is no log line
	for sc.Scan() {
		line++
		s := sc.Text()
		if strings.TrimSpace(s) == "" {
			continue
		}
		nonBlank++
		// a history.txt line as it is, else the message of a log line
		raw, ok, err := parseTextOp(s, line)
		if ok {
			bare++
		} else if err == nil {
			if msg, found := logMessage(s); found {
				if raw, ok, err = parseTextOp(msg, line); ok {
					logged++
				}
			}
		}
		if err != nil {
			return nil, fmt.Errorf("history: jepsen-txt: line %d: %w", line, err)
		}
		if !ok {
			skipped++
			if junkLine == 0 && !strings.Contains(s, "jepsen") {
				junkLine, junk = line, s
			}
			continue
		}
		raws = append(raws, raw)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("history: jepsen-txt: reading line %d: %w", line+1, err)
	}
	if bare > 0 && logged == 0 && junkLine > 0 {
		// a history.txt holds op lines only: anything else in it is damage, not log chatter
		return nil, fmt.Errorf("history: jepsen-txt: line %d: not an op line: %s (want process<TAB>:type<TAB>:f<TAB>value, as on the other lines)",
			junkLine, Clip(strconv.Quote(junk)))
	}
	if len(raws) == 0 && nonBlank > 0 {
		return nil, fmt.Errorf("history: jepsen-txt: no operation lines found: %d non-blank lines skipped, none an op (want history.txt lines like 0<TAB>:invoke<TAB>:write<TAB>1, or a Jepsen log whose op lines come from the logger jepsen.util)", skipped)
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
	if !strings.HasPrefix(typ, ":") {
		return rawOp{}, false, nil
	}
	// a process then a keyword: an op line, which must be whole
	t := Type(strings.TrimPrefix(typ, ":"))
	if !t.Valid() || t == "" {
		return rawOp{}, false, fmt.Errorf("op type %s: want :invoke, :ok, :fail or :info", Clip(typ))
	}
	if f == "" {
		return rawOp{}, false, fmt.Errorf("op of process %s has no :f", Clip(proc))
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
			return rawOp{}, false, fmt.Errorf("value %s: %w", Clip(strconv.Quote(val)), err)
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
