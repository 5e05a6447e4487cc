package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestDecide runs the replication decisions (decide_*.go) through the scripts in
// testdata/decide; go test ./store -run TestDecide -rewrite regenerates their outputs.
//
// Records are written as:
//
//	absent    -
//	register  reg VALUE/TS/NODE/SEQ[/CTX] ...   (siblings; CTX like n1:1,n2:3)
//	counter   counter [p=n1:3,n2:1] [n=n1:1] [@TS/NODE/SEQ]
//	set       set a,b [@TS/NODE/SEQ]            (@: the stamp of multi-leader whole-record lww)
func TestDecide(t *testing.T) {
	cmds := map[string]decideCmd{}
	for _, add := range []map[string]decideCmd{answerCommands(), writeCommands(), readCommands(),
		mlCommands(), recordCommands()} {
		for name, c := range add {
			if cmds[name] != nil {
				t.Fatalf("command %q defined twice", name)
			}
			cmds[name] = c
		}
	}
	datadriven.Walk(t, "testdata/decide", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			cmd, ok := cmds[d.Cmd]
			if !ok {
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			out, err := cmd(d, argsOf(d))
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			return out
		})
	})
}

// decideCmd runs one directive of a decide script and returns its output.
type decideCmd func(d *datadriven.TestData, a args) (string, error)

// args reads a directive's arguments: a missing one is def; an argument with no value is "true".
type args map[string]string

func argsOf(d *datadriven.TestData) args {
	a := args{}
	for _, c := range d.CmdArgs {
		switch len(c.Vals) {
		case 0:
			a[c.Key] = "true"
		default:
			a[c.Key] = strings.Join(c.Vals, ",")
		}
	}
	return a
}

func (a args) str(k, def string) string {
	if v, ok := a[k]; ok {
		return v
	}
	return def
}

func (a args) list(k string) []string {
	v := a[k]
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (a args) int(k string, def int) (int, error) {
	v, ok := a[k]
	if !ok {
		return def, nil
	}
	return strconv.Atoi(v)
}

func (a args) bool(k string) bool { return a[k] == "true" }

func (a args) set(k string) func(string) bool {
	s := a.list(k)
	return func(p string) bool { return slices.Contains(s, p) }
}

// lines are the directive's input lines, trimmed, without blanks and # comments.
func lines(d *datadriven.TestData) [][]string {
	var out [][]string
	for _, l := range strings.Split(d.Input, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, strings.Fields(l))
	}
	return out
}

func parseStamp(s string) (Sibling, error) {
	f := strings.Split(s, "/")
	if len(f) < 3 || len(f) > 4 {
		return Sibling{}, fmt.Errorf("stamp %q: want TS/NODE/SEQ", s)
	}
	var sib Sibling
	var err error
	off := 0
	if len(f) == 4 { // VALUE/TS/NODE/SEQ
		sib.Value, off = f[0], 1
	}
	if sib.TS, err = strconv.ParseInt(f[off], 10, 64); err != nil {
		return sib, fmt.Errorf("stamp %q: %w", s, err)
	}
	sib.Node = f[off+1]
	if sib.Seq, err = strconv.ParseUint(f[off+2], 10, 64); err != nil {
		return sib, fmt.Errorf("stamp %q: %w", s, err)
	}
	return sib, nil
}

func parseSibling(s string) (Sibling, error) {
	f := strings.SplitN(s, "/", 5)
	if len(f) < 4 {
		return Sibling{}, fmt.Errorf("sibling %q: want VALUE/TS/NODE/SEQ[/CTX]", s)
	}
	sib, err := parseStamp(strings.Join(f[:4], "/"))
	if err != nil {
		return sib, err
	}
	if len(f) == 5 {
		if sib.Ctx, err = ParseContext(f[4]); err != nil {
			return sib, err
		}
	}
	return sib, nil
}

func parseCounterSide(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		n, x, ok := strings.Cut(part, ":")
		v, err := strconv.ParseInt(x, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("counter entry %q: want node:number", part)
		}
		out[n] = v
	}
	return out, nil
}

// parseRecord reads a record from fields (see TestDecide).
func parseRecord(f []string) (Record, error) {
	if len(f) == 0 || f[0] == "-" {
		return Record{}, nil
	}
	r := Record{Kind: f[0]}
	if f[0] == "reg" {
		r.Kind = KindRegister
	}
	for _, x := range f[1:] {
		var err error
		switch {
		case r.Kind == KindRegister:
			var s Sibling
			s, err = parseSibling(x)
			r.Sibs = append(r.Sibs, s)
		case strings.HasPrefix(x, "@"):
			var s Sibling
			s, err = parseStamp(x[1:])
			r.Sibs = append(r.Sibs, s)
		case r.Kind == KindCounter && strings.HasPrefix(x, "p="):
			r.P, err = parseCounterSide(x[2:])
		case r.Kind == KindCounter && strings.HasPrefix(x, "n="):
			r.N, err = parseCounterSide(x[2:])
		case r.Kind == KindSet:
			r.Elems = strings.Split(x, ",")
		default:
			err = fmt.Errorf("record field %q", x)
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

func fmtCounterSide(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, ",")
}

// fmtRecord writes r as parseRecord reads it.
func fmtRecord(r Record) string {
	if r.Empty() {
		return "-"
	}
	parts := []string{r.Kind}
	switch r.Kind {
	case KindRegister:
		parts[0] = "reg"
		for _, s := range r.Sibs {
			x := fmt.Sprintf("%s/%d/%s/%d", s.Value, s.TS, s.Node, s.Seq)
			if c := s.Ctx.String(); c != "" {
				x += "/" + c
			}
			parts = append(parts, x)
		}
		return strings.Join(parts, " ")
	case KindCounter:
		if len(r.P) > 0 {
			parts = append(parts, "p="+fmtCounterSide(r.P))
		}
		if len(r.N) > 0 {
			parts = append(parts, "n="+fmtCounterSide(r.N))
		}
	case KindSet:
		parts = append(parts, strings.Join(r.Elems, ","))
	}
	for _, s := range r.Sibs {
		parts = append(parts, fmt.Sprintf("@%d/%s/%d", s.TS, s.Node, s.Seq))
	}
	return strings.Join(parts, " ")
}

func fmtList(xs []string) string {
	if len(xs) == 0 {
		return "[]"
	}
	return "[" + strings.Join(xs, " ") + "]"
}

func fmtVV(v VV) string {
	if s := v.String(); s != "" {
		return s
	}
	return "{}"
}

// nextShown steps through failure counts from from: four one by one, then straight to n.
func nextShown(f, from, n int) int {
	if f >= n || f < from+3 {
		return f + 1
	}
	return n
}

func outcomeString(o Outcome, conflicted, done bool) string {
	switch {
	case !done:
		return "open"
	case conflicted:
		return "conflict (every replica holds another kind)"
	}
	return o.String()
}
