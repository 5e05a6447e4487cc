package history

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"olympos.io/encoding/edn"
)

// Jepsen EDN histories (history.edn): one op map a line, or one vector of op maps:
//
//	{:type :invoke, :f :cas, :value [1 2], :process 0, :time 123, :index 7}
//
// Keys are keywords; :process is an integer or :nemesis; independent-key histories carry
// values as [key value] tuples, which become Op.Key and Op.Value. :error is kept (a keyword
// is kept with its colon, e.g. ":timed-out"); a nemesis op's value becomes its Detail. Ops
// without :time get their position as time, so real-time order is the record order; when no
// client op has a :time (or all are 0) every op gets its position, with a warning.

// rawOp is an op in a Jepsen format before its value is interpreted.
type rawOp struct {
	line    int
	index   int64
	hasIdx  bool
	time    int64
	hasTime bool
	process Process
	typ     Type
	f       string
	value   any
	node    string
	err     string
}

// ReadEDN reads a Jepsen EDN history: a stream of op maps (usually one a line), or a single
// vector (or list) of them. Any malformed form is an error naming its line, a form the file
// ends inside included (a bracket never closed swallows every line after it, so dropping it
// would drop the rest of the history).
func ReadEDN(r io.Reader) (*File, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var raws []rawOp
	var warnings []string
	line := 1
	for {
		skipped, err := skipEDNSpace(br)
		line += skipped
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("history: edn: line %d: %w", line, err)
		}
		form, nl, err := readEDNForm(br)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("history: edn: line %d: %w", line, err)
		}
		v, derr := decodeEDN(form)
		if derr != nil {
			if err == io.EOF { // the file ends inside this form: cut off, or a bracket never closed
				return nil, fmt.Errorf("history: edn: line %d: the form that begins here is never closed: the file ends %d bytes later, at line %d: %w",
					line, len(form), line+nl, derr)
			}
			return nil, fmt.Errorf("history: edn: line %d: %w", line, derr)
		}
		switch x := v.(type) {
		case []any:
			for i, e := range x {
				raw, err := rawFromEDN(e, line)
				if err != nil {
					return nil, fmt.Errorf("history: edn: element %d of the vector at line %d: %w", i, line, err)
				}
				raws = append(raws, raw)
			}
		default:
			raw, err := rawFromEDN(x, line)
			if err != nil {
				return nil, fmt.Errorf("history: edn: line %d: %w", line, err)
			}
			raws = append(raws, raw)
		}
		line += nl
	}
	ops, err := opsFromRaw(raws)
	if err != nil {
		return nil, fmt.Errorf("history: edn: %w", err)
	}
	warnings = finishTimes(ops, func(i int) bool { return raws[i].hasTime && raws[i].time != 0 }, warnings)
	return &File{Ops: ops, Format: FormatEDN, Warnings: warnings}, nil
}

// skipEDNSpace skips whitespace, commas and ; comments, counting newlines.
func skipEDNSpace(br *bufio.Reader) (int, error) {
	nl := 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			return nl, err
		}
		switch c {
		case '\n':
			nl++
		case ' ', '\t', '\r', ',', '\f':
		case ';':
			for {
				c, err = br.ReadByte()
				if err != nil {
					return nl, err
				}
				if c == '\n' {
					nl++
					break
				}
			}
		default:
			return nl, br.UnreadByte()
		}
	}
}

// readEDNForm reads the bytes of one top-level form (balanced brackets, strings, chars and
// comments respected), returning them and the number of newlines inside. io.EOF means the
// input ended before the form was complete.
func readEDNForm(br *bufio.Reader) ([]byte, int, error) {
	p, err := br.Peek(1)
	if err != nil {
		return nil, 0, err
	}
	switch c := p[0]; {
	case c == '#':
		_, _ = br.ReadByte()
		p, err := br.Peek(1)
		if err != nil {
			return []byte{'#'}, 0, err
		}
		if p[0] == '{' { // a set
			b, nl, err := readBalanced(br)
			return append([]byte{'#'}, b...), nl, err
		}
		tag := []byte{'#'}
		tag = append(tag, readAtom(br)...)
		nl, err := skipEDNSpace(br)
		if err != nil {
			return tag, nl, err
		}
		b, n, err := readEDNForm(br)
		tag = append(tag, ' ')
		return append(tag, b...), nl + n, err
	case c == '(' || c == '[' || c == '{' || c == '"':
		return readBalanced(br)
	case c == ')' || c == ']' || c == '}':
		_, _ = br.ReadByte()
		return []byte{c}, 0, fmt.Errorf("unbalanced %q", c)
	}
	a := readAtom(br)
	if _, err := br.Peek(1); err == io.EOF {
		return a, 0, io.EOF // may be cut short
	}
	return a, 0, nil
}

// readAtom reads a token up to the next delimiter.
func readAtom(br *bufio.Reader) []byte {
	var b []byte
	for {
		p, err := br.Peek(1)
		if err != nil || isEDNDelim(p[0]) || p[0] == '"' || p[0] == '(' || p[0] == '[' || p[0] == '{' {
			return b
		}
		c, _ := br.ReadByte()
		b = append(b, c)
		if c == '\\' { // a character literal: the next byte is part of the token
			if c, err := br.ReadByte(); err == nil {
				b = append(b, c)
			}
		}
	}
}

// readBalanced reads a string or a bracketed collection through its closing bracket.
func readBalanced(br *bufio.Reader) ([]byte, int, error) {
	var buf []byte
	depth, nl := 0, 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			return buf, nl, err
		}
		buf = append(buf, c)
		switch c {
		case '"':
			for {
				c, err = br.ReadByte()
				if err != nil {
					return buf, nl, err
				}
				buf = append(buf, c)
				if c == '\n' {
					nl++
				}
				if c == '\\' {
					if c, err = br.ReadByte(); err != nil {
						return buf, nl, err
					}
					buf = append(buf, c)
					continue
				}
				if c == '"' {
					break
				}
			}
		case '\\':
			if c, err = br.ReadByte(); err != nil {
				return buf, nl, err
			}
			buf = append(buf, c)
		case ';':
			buf = buf[:len(buf)-1]
			for {
				if c, err = br.ReadByte(); err != nil {
					return buf, nl, err
				}
				if c == '\n' {
					nl++
					buf = append(buf, '\n')
					break
				}
			}
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		case '\n':
			nl++
		}
		if depth <= 0 {
			if depth < 0 {
				return buf, nl, fmt.Errorf("unbalanced %q", c)
			}
			return buf, nl, nil
		}
	}
}

func isEDNDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', '\f', ')', ']', '}', ';':
		return true
	}
	return false
}

// decodeEDN decodes one form into generic values; panics in the library become errors.
func decodeEDN(b []byte) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed edn: %s", Clip(fmt.Sprint(r)))
		}
	}()
	d := edn.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&v); err != nil {
		return nil, errors.New(Clip(err.Error())) // the library may quote the input
	}
	return untag(v), nil
}

// untag replaces tagged values (#jepsen.history.Op{...}) by the value they tag.
func untag(v any) any {
	switch x := v.(type) {
	case edn.Tag:
		return untag(x.Value)
	case []any:
		for i := range x {
			x[i] = untag(x[i])
		}
	}
	return v
}

// rawFromEDN turns a decoded op map into a rawOp.
func rawFromEDN(v any, line int) (rawOp, error) {
	m, ok := v.(map[any]any)
	if !ok {
		return rawOp{}, fmt.Errorf("want an op map, got %s", ednShort(v))
	}
	raw := rawOp{line: line}
	for k, x := range m {
		kw, ok := k.(edn.Keyword)
		if !ok {
			continue
		}
		var err error
		switch string(kw) {
		case "type":
			raw.typ = Type(name(x))
		case "f":
			raw.f = name(x)
		case "process":
			raw.process, err = processFromEDN(x)
		case "value":
			raw.value = x
		case "time":
			raw.time, err = intFromEDN("time", x)
			raw.hasTime = true
		case "index":
			raw.index, err = intFromEDN("index", x)
			raw.hasIdx = true
		case "node":
			raw.node = name(x)
		case "error":
			if kw, ok := x.(edn.Keyword); ok {
				raw.err = ":" + string(kw)
			} else if s, ok := x.(string); ok {
				raw.err = s
			} else if x != nil {
				raw.err = ednString(x)
			}
		}
		if err != nil {
			return rawOp{}, err
		}
	}
	if raw.typ == "" {
		return rawOp{}, fmt.Errorf("op without :type: %s", ednShort(v))
	}
	return raw, nil
}

// name renders a keyword, symbol or string as a plain name.
func name(x any) string {
	switch y := x.(type) {
	case edn.Keyword:
		return string(y)
	case edn.Symbol:
		return string(y)
	case string:
		return y
	case nil:
		return ""
	}
	return ednString(x)
}

func processFromEDN(x any) (Process, error) {
	switch y := x.(type) {
	case int64:
		if y < 0 || y > 1<<31 {
			return 0, fmt.Errorf(":process %d: want a non-negative integer or :nemesis", y)
		}
		return Process(y), nil
	case edn.Keyword:
		if y == "nemesis" {
			return NemesisProcess, nil
		}
	}
	return 0, fmt.Errorf(":process %s: want a non-negative integer or :nemesis", ednShort(x))
}

func intFromEDN(field string, x any) (int64, error) {
	if n, ok := x.(int64); ok {
		return n, nil
	}
	return 0, fmt.Errorf(":%s %s: want an integer", field, ednShort(x))
}

// opsFromRaw interprets the raw ops' values: independent [key value] tuples when every client
// invocation carries one, plain values otherwise.
func opsFromRaw(raws []rawOp) ([]Op, error) {
	indep, clients := true, 0
	for i := range raws {
		r := &raws[i]
		if r.process.IsNemesis() || r.typ != Invoke {
			continue
		}
		clients++
		if !isTuple(r.f, r.value) {
			indep = false
			break
		}
	}
	indep = indep && clients > 0
	ops := make([]Op, len(raws))
	invokeKey := make(map[Process]string)
	for i := range raws {
		r := &raws[i]
		op := Op{Index: int64(i), Time: int64(i), Process: r.process, Type: r.typ, F: r.f, Node: r.node, Error: r.err, Line: r.line}
		if r.hasIdx {
			op.Index = r.index
		}
		if r.hasTime {
			op.Time = r.time
		}
		if r.process.IsNemesis() {
			if s, ok := r.value.(string); ok {
				op.Detail = s
			} else if r.value != nil {
				op.Detail = ednString(r.value)
			}
			ops[i] = op
			continue
		}
		v := r.value
		if indep {
			if t, ok := v.([]any); ok && len(t) == 2 {
				op.Key = keyString(t[0])
				v = t[1]
			} else {
				op.Key = invokeKey[r.process] // e.g. an info completion with a bare error
			}
			if r.typ == Invoke {
				invokeKey[r.process] = op.Key
			}
		}
		val, err := valueFromEDN(v)
		if err != nil {
			if r.typ == Info || r.typ == Fail { // the value of these is not used: keep the op
				val = Nil()
			} else {
				return nil, fmt.Errorf("line %d: %w", r.line, err)
			}
		}
		op.Value = val
		ops[i] = op
	}
	return ops, nil
}

// isTuple reports whether an invocation's value has the [key value] shape of an
// independent-key history for its f.
func isTuple(f string, v any) bool {
	t, ok := v.([]any)
	if !ok || len(t) != 2 {
		return false
	}
	if f == FCAS { // a plain cas is [old new]; an independent one is [k [old new]]
		inner, ok := t[1].([]any)
		return ok && len(inner) == 2
	}
	return true
}

func keyString(k any) string {
	switch y := k.(type) {
	case int64:
		return strconv.FormatInt(y, 10)
	case string:
		return y
	case edn.Keyword:
		return ":" + string(y)
	}
	return ednString(k)
}

// valueFromEDN converts nil, an integer, or a vector, list or set of integers.
func valueFromEDN(v any) (Value, error) {
	switch y := v.(type) {
	case nil:
		return Nil(), nil
	case int64:
		return Int(y), nil
	case big.Int:
		if y.IsInt64() {
			return Int(y.Int64()), nil
		}
	case []any:
		xs := make([]int64, 0, len(y))
		for _, e := range y {
			n, ok := e.(int64)
			if !ok {
				return Value{}, fmt.Errorf("value %s: want nil, an integer or a collection of integers", ednShort(v))
			}
			xs = append(xs, n)
		}
		return List(xs...), nil
	case map[any]bool: // a set
		xs := make([]int64, 0, len(y))
		for e := range y {
			n, ok := e.(int64)
			if !ok {
				return Value{}, fmt.Errorf("value %s: want nil, an integer or a collection of integers", ednShort(v))
			}
			xs = append(xs, n)
		}
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
		return List(xs...), nil
	}
	return Value{}, fmt.Errorf("value %s: want nil, an integer or a collection of integers", ednShort(v))
}

// ednShort renders v for a message, clipped (see Clip).
func ednShort(v any) string { return Clip(ednString(v)) }

func ednString(v any) (s string) {
	defer func() {
		if recover() != nil {
			s = fmt.Sprint(v)
		}
	}()
	b, err := edn.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// WriteEDN writes ops as a Jepsen EDN history, one op map a line. When any client op has a key,
// client values are written as independent [key value] tuples (integer-looking keys as
// integers). A nemesis op's Detail becomes its :value.
func WriteEDN(w io.Writer, ops []Op) error {
	indep := false
	for i := range ops {
		if !ops[i].Process.IsNemesis() && ops[i].Key != "" {
			indep = true
			break
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var b []byte
	for i := range ops {
		b = appendEDNOp(b[:0], &ops[i], indep)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return fmt.Errorf("history: writing edn op %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("history: writing edn: %w", err)
	}
	return nil
}

func appendEDNOp(b []byte, op *Op, indep bool) []byte {
	b = append(b, "{:index "...)
	b = strconv.AppendInt(b, op.Index, 10)
	b = append(b, ", :time "...)
	b = strconv.AppendInt(b, op.Time, 10)
	b = append(b, ", :type "...)
	b = appendEDNName(b, string(op.Type))
	b = append(b, ", :process "...)
	if op.Process.IsNemesis() {
		b = append(b, ":nemesis"...)
	} else {
		b = strconv.AppendInt(b, int64(op.Process), 10)
	}
	b = append(b, ", :f "...)
	b = appendEDNName(b, op.F)
	b = append(b, ", :value "...)
	switch {
	case op.Process.IsNemesis():
		if op.Detail == "" {
			b = append(b, "nil"...)
		} else {
			b = appendEDNString(b, op.Detail)
		}
	case indep:
		b = append(b, '[')
		b = appendEDNKey(b, op.Key)
		b = append(b, ' ')
		b = appendEDNValue(b, op.Value)
		b = append(b, ']')
	default:
		b = appendEDNValue(b, op.Value)
	}
	if op.Node != "" {
		b = append(b, ", :node "...)
		b = appendEDNString(b, op.Node)
	}
	if op.Error != "" {
		b = append(b, ", :error "...)
		if len(op.Error) > 1 && op.Error[0] == ':' && isKeywordName(op.Error[1:]) {
			b = append(b, op.Error...)
		} else {
			b = appendEDNString(b, op.Error)
		}
	}
	return append(b, '}')
}

func appendEDNValue(b []byte, v Value) []byte {
	switch v.Kind {
	case KindInt:
		return strconv.AppendInt(b, v.Int, 10)
	case KindList:
		b = append(b, '[')
		for i, x := range v.List {
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendInt(b, x, 10)
		}
		return append(b, ']')
	}
	return append(b, "nil"...)
}

// appendEDNName writes a name as a keyword when it is a plain one, else as a string.
func appendEDNName(b []byte, s string) []byte {
	if isKeywordName(s) {
		b = append(b, ':')
		return append(b, s...)
	}
	return appendEDNString(b, s)
}

func appendEDNKey(b []byte, k string) []byte {
	if n, err := strconv.ParseInt(k, 10, 64); err == nil && strconv.FormatInt(n, 10) == k {
		return append(b, k...)
	}
	return appendEDNString(b, k)
}

// isKeywordName reports whether s can be written as :s and read back as the same name.
func isKeywordName(s string) bool {
	if s == "" || strings.HasPrefix(s, ":") || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_*+!?.<>=", c) >= 0) {
			return false
		}
	}
	// a leading sign or dot followed by a digit would read as a number
	if (s[0] == '-' || s[0] == '+' || s[0] == '.') && len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
		return false
	}
	return true
}

// appendEDNString writes s as an EDN string literal.
func appendEDNString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
