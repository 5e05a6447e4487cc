package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleOps() []Op {
	return []Op{
		{Index: 0, Time: 10, Process: 0, Type: Invoke, F: FWrite, Key: "k1", Value: Int(7), Node: "n1"},
		{Index: 1, Time: 11, Process: NemesisProcess, Type: Info, F: "start-partition", Detail: "grudge n1,n2 | n3"},
		{Index: 2, Time: 12, Process: 1, Type: Invoke, F: FRead, Key: "k1"},
		{Index: 3, Time: 20, Process: 0, Type: OK, F: FWrite, Key: "k1", Value: Int(7), Node: "n1"},
		{Index: 4, Time: 21, Process: 1, Type: OK, F: FRead, Key: "k1", Value: List(7, 8)},
		{Index: 5, Time: 22, Process: 2, Type: Invoke, F: FCAS, Key: "k \"2\"", Value: List(7, -9)},
		{Index: 6, Time: 30, Process: 2, Type: Info, F: FCAS, Key: "k \"2\"", Value: List(), Error: "timeout <5s> ü"},
	}
}

func stripLines(ops []Op) []Op {
	out := make([]Op, len(ops))
	for i, op := range ops {
		op.Line = 0
		out[i] = op
	}
	return out
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, op := range sampleOps() {
		want, err := json.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		if got := op.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestJSONLRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, op := range sampleOps() {
		if err := w.Write(op); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f, err := Decode(&buf, FormatJSONL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stripLines(f.Ops), sampleOps(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if f.Ops[3].Line != 4 {
		t.Errorf("line of op 3: got %d, want 4", f.Ops[3].Line)
	}
}

func TestReaderFastAndSlowAgree(t *testing.T) {
	lines := []string{
		`{"index":1,"time":2,"process":3,"type":"ok","f":"read","key":"a","value":[1, 2 ,3],"node":"n1"}`,
		`{ "value" : null , "f" : "read" , "type" : "invoke" , "process" : "nemesis" }`,
		`{"index":1,"f":"w\u0041","type":"ok","process":0,"value":5}`,
		`{"index":1,"F":"write","type":"ok","process":0,"value":5}`,
		`{"index":1,"extra":{"a":1},"type":"ok","process":0,"value":-5}`,
		`{"index":12345678901234567,"time":-922337203685477580,"type":"ok","process":0,"value":[]}`,
		`{}`,
	}
	for _, l := range lines {
		t.Run(l, func(t *testing.T) {
			var want Op
			if err := json.Unmarshal([]byte(l), &want); err != nil {
				t.Fatal(err)
			}
			f, err := Decode(strings.NewReader(l+"\n"), FormatJSONL, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := stripLines(f.Ops); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	good := `{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}`
	tests := []struct {
		name      string
		in        string
		wantErr   string // substring; "" = no error
		wantOps   int
		truncated bool
	}{
		{"blank lines skipped", good + "\n\n" + good + "\n", "", 2, false},
		{"bad middle line names it", good + "\n{\"index\":oops}\n" + good + "\n", "line 2", 0, false},
		{"bad value", good + "\n" + `{"value":"x"}` + "\n", "line 2", 0, false},
		{"negative process", `{"process":-2}` + "\n", "line 1", 0, false},
		{"truncated last line tolerated", good + "\n" + good[:30], "", 1, true},
		{"complete last line without newline", good + "\n" + good, "", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in))
			n := 0
			var err error
			for {
				_, err = r.Next()
				if err != nil {
					break
				}
				n++
			}
			if tt.wantErr == "" {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("got error %v, want none", err)
				}
				if n != tt.wantOps {
					t.Errorf("got %d ops, want %d", n, tt.wantOps)
				}
			} else if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
			}
			if r.Truncated() != tt.truncated {
				t.Errorf("truncated: got %v, want %v (warnings %v)", r.Truncated(), tt.truncated, r.Warnings())
			}
		})
	}
}

func TestPairAndValidate(t *testing.T) {
	inv := func(p Process, f string, v Value) Op { return Op{Process: p, Type: Invoke, F: f, Value: v} }
	done := func(p Process, ty Type, f string, v Value) Op { return Op{Process: p, Type: ty, F: f, Value: v} }
	tests := []struct {
		name    string
		ops     []Op
		wantErr string
	}{
		{"ok", []Op{inv(0, FWrite, Int(1)), done(0, OK, FWrite, Int(1))}, ""},
		{"completion without invocation", []Op{done(0, OK, FWrite, Int(1))}, "without an invocation"},
		{"two outstanding", []Op{inv(0, FWrite, Int(1)), inv(0, FRead, Nil())}, "outstanding"},
		{"unknown type", []Op{{Process: 0, Type: "done", F: FRead}}, `unknown type "done"`},
		{"f mismatch", []Op{inv(0, FWrite, Int(1)), done(0, OK, FRead, Int(1))}, "invocation at op 0 is write"},
		{"crashed process again", []Op{inv(0, FWrite, Int(1)), done(0, Info, FWrite, Nil()), inv(0, FRead, Nil())}, "after it crashed"},
		{"nemesis not paired", []Op{{Process: NemesisProcess, Type: Info, F: "kill"}, {Process: NemesisProcess, Type: Info, F: "kill"}}, ""},
		{"line named", []Op{{Process: 0, Type: OK, F: FRead, Line: 42}}, "line 42"},
		{"completion before its invocation", []Op{
			{Process: 0, Type: Invoke, F: FWrite, Value: Int(1), Time: 10, Line: 1},
			{Process: 0, Type: OK, F: FWrite, Value: Int(1), Time: 5, Line: 2},
		}, "line 2: ok completion of write by process 0 at time 5, before its invocation (time 10 at line 1)"},
		{"completion at its invocation's time", []Op{
			{Process: 0, Type: Invoke, F: FWrite, Value: Int(1), Time: 10},
			{Process: 0, Type: OK, F: FWrite, Value: Int(1), Time: 10},
		}, ""},
		{"invocation before the process's previous completion", []Op{
			{Process: 0, Type: Invoke, F: FWrite, Value: Int(1), Time: 10, Line: 1},
			{Process: 0, Type: OK, F: FWrite, Value: Int(1), Time: 20, Line: 2},
			{Process: 0, Type: Invoke, F: FRead, Time: 15, Line: 3},
		}, "line 3: process 0 invokes read at time 15, before its previous op completed (time 20 at line 2)"},
		{"other processes may go back in time", []Op{
			{Process: 0, Type: Invoke, F: FWrite, Value: Int(1), Time: 10},
			{Process: 1, Type: Invoke, F: FRead, Time: 5},
			{Process: 0, Type: OK, F: FWrite, Value: Int(1), Time: 20},
			{Process: 1, Type: OK, F: FRead, Time: 12},
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.ops)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}

	// Jepsen semantics: info/fail take their input from the invocation; unfinished is info.
	ops := []Op{
		inv(0, FWrite, Int(5)), done(0, Info, FWrite, Nil()),
		inv(1, FRead, Nil()), done(1, OK, FRead, Int(5)),
		inv(2, FCAS, List(5, 6)), done(2, Fail, FCAS, Nil()),
		inv(3, FWrite, Int(9)),
	}
	for i := range ops {
		ops[i].Time = int64(i)
	}
	pairs, err := Pair(ops)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ty    Type
		in    Value
		out   Value
		ret   int64
		compl int
	}{
		{Info, Int(5), Nil(), 1, 1},
		{OK, Nil(), Int(5), 3, 3},
		{Fail, List(5, 6), Nil(), 5, 5},
		{Info, Int(9), Nil(), Never, -1},
	}
	if len(pairs) != len(want) {
		t.Fatalf("got %d operations, want %d", len(pairs), len(want))
	}
	for i, w := range want {
		p := pairs[i]
		if p.Type != w.ty || !p.Input.Equal(w.in) || !p.Output.Equal(w.out) || p.Return != w.ret || p.Complete != w.compl {
			t.Errorf("operation %d: got %+v, want %+v", i, p, w)
		}
	}
}

func TestReadEDN(t *testing.T) {
	f, err := ReadFile(filepath.Join("testdata", "jepsen-register.edn"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatEDN || len(f.Ops) != 10 {
		t.Fatalf("got format %s and %d ops, want jepsen-edn and 10", f.Format, len(f.Ops))
	}
	if op := f.Ops[7]; op.Type != Info || op.Error != ":timed-out" || op.F != FCAS || !op.Value.Equal(List(1, 2)) || op.Line != 8 {
		t.Errorf("op 7: got %+v, want the info cas [1 2] with error :timed-out on line 8", op)
	}
	if op := f.Ops[5]; !op.Process.IsNemesis() || !strings.Contains(op.Detail, "isolated") {
		t.Errorf("op 5: got %+v, want a nemesis op with detail", op)
	}
	if err := Validate(f.Ops); err != nil {
		t.Errorf("validate: %v", err)
	}

	f, err = ReadFile(filepath.Join("testdata", "jepsen-independent.edn"))
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"3", "3", "4", "4", "3", "3"}
	wantVals := []Value{Int(1), Int(1), List(1, 2), List(1, 2), Nil(), Int(1)}
	for i, op := range f.Ops {
		if op.Key != wantKeys[i] {
			t.Errorf("op %d key: got %q, want %q", i, op.Key, wantKeys[i])
		}
		if !op.Value.Equal(wantVals[i]) {
			t.Errorf("op %d value: got %s, want %s", i, op.Value, wantVals[i])
		}
	}
}

func TestReadText(t *testing.T) {
	for _, name := range []string{"jepsen-history.txt", "jepsen-run.log"} {
		t.Run(name, func(t *testing.T) {
			f, err := ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if f.Format != FormatText {
				t.Errorf("format: got %s, want jepsen-txt", f.Format)
			}
			if err := Validate(f.Ops); err != nil {
				t.Errorf("validate: %v", err)
			}
			var cas []Op
			for _, op := range f.Ops {
				if op.F == FCAS {
					cas = append(cas, op)
				}
			}
			if len(cas) != 2 || !cas[0].Value.Equal(List(1, 2)) || cas[1].Error == "" {
				t.Errorf("cas ops: got %+v, want invoke [1 2] and a completion with an error", cas)
			}
		})
	}
}

// TestReadTextLogLayouts reads op lines in each layout Jepsen's run log has used.
func TestReadTextLogLayouts(t *testing.T) {
	tests := []struct {
		name string
		line string // a write 3 invocation by process 2
	}{
		{"history.txt", "2\t:invoke\t:write\t3"},
		{"logback, jepsen.util -", "INFO  jepsen.util - 2\t:invoke\t:write\t3"},
		{"logback, spaces", "INFO  jepsen.util - 2    :invoke    :write    3"},
		{"unilog (current Jepsen, tutorial)", "INFO [2017-03-30 15:28:17,223] jepsen worker 2 - jepsen.util 2\t:invoke\t:write\t3"},
		{"old log4j, jepsen.util:", "2016-06-10 08:06:08,209{GMT}\tINFO\t[jepsen worker 2] jepsen.util: 2\t:invoke\t:write\t3"},
		{"dated, thread in brackets", "2024-01-01 10:00:00,100{GMT}\tINFO\t[jepsen worker 2] jepsen.util - 2\t:invoke\t:write\t3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "INFO [2017-03-30 15:28:17,000] main - jepsen.core Running test\n" + tt.line + "\n"
			f, err := ReadText(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Ops) != 1 {
				t.Fatalf("got %d ops %+v, want the write", len(f.Ops), f.Ops)
			}
			if op := f.Ops[0]; op.Process != 2 || op.Type != Invoke || op.F != FWrite || !op.Value.Equal(Int(3)) || op.Line != 2 {
				t.Errorf("got %+v, want process 2 invoke write 3 on line 2", op)
			}
		})
	}

	// the current layout for a whole history, nemesis included
	log := "INFO [2017-03-30 15:28:17,223] jepsen worker 2 - jepsen.util 2\t:invoke\t:write\t3\n" +
		"INFO [2017-03-30 15:28:17,224] jepsen nemesis - jepsen.util :nemesis\t:info\t:start\tnil\n" +
		"INFO [2017-03-30 15:28:17,226] jepsen worker 2 - jepsen.util 2\t:ok\t:write\t3\n" +
		"INFO [2017-03-30 15:28:17,227] jepsen worker 1 - jepsen.util 1\t:invoke\t:cas\t[3 4]\n" +
		"INFO [2017-03-30 15:28:17,228] jepsen worker 1 - jepsen.util 1\t:fail\t:cas\t[3 4]\n"
	f, err := Decode(strings.NewReader(log), FormatAuto, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != FormatText || len(f.Ops) != 5 || !f.Ops[1].Process.IsNemesis() || f.Ops[1].F != "start" {
		t.Fatalf("got format %s and ops %+v, want jepsen-txt, 5 ops, the nemesis second", f.Format, f.Ops)
	}
	if err := Validate(f.Ops); err != nil {
		t.Error(err)
	}

	// a logger whose name only begins with jepsen.util is not the op logger
	if _, err := ReadText(strings.NewReader("INFO  jepsen.utility 2\t:invoke\t:write\t3\n")); err == nil {
		t.Error("jepsen.utility: got ops, want no op lines")
	}
}

// TestReadTextNoOps: a non-empty file without a single op line is an error naming the
// skipped lines, not an empty history (which would check as unknown).
func TestReadTextNoOps(t *testing.T) {
	_, err := ReadText(strings.NewReader("INFO [2017-03-30 15:28:17,223] main - jepsen.core Running\n\nsomething else\n:nemesis starting\n"))
	if err == nil || !strings.Contains(err.Error(), "no operation lines found") || !strings.Contains(err.Error(), "3 non-blank lines skipped") {
		t.Fatalf("got %v, want no operation lines found, 3 lines skipped", err)
	}
	for _, in := range []string{"", "\n \n"} {
		f, err := ReadText(strings.NewReader(in))
		if err != nil || len(f.Ops) != 0 {
			t.Errorf("%q: got %v, %v; want an empty history", in, f, err)
		}
	}
}

func TestEDNRoundTrip(t *testing.T) {
	ops := sampleOps()
	var buf bytes.Buffer
	if err := WriteEDN(&buf, ops); err != nil {
		t.Fatal(err)
	}
	f, err := ReadEDN(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	got := stripLines(f.Ops)
	// List() written as [] reads back as an empty list; the info cas keeps its empty value.
	if !reflect.DeepEqual(got, ops) {
		t.Errorf("got\n%+v\nwant\n%+v\nedn:\n%s", got, ops, buf.String())
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		head string
		want Format
	}{
		{`{"index":0}`, FormatJSONL},
		{`{:type :invoke}`, FormatEDN},
		{`[{:type :invoke}]`, FormatEDN},
		{"0\t:invoke\t:read\tnil", FormatText},
		{"2024-01-01 INFO jepsen.util - 0 :invoke :read nil", FormatText},
		{"INFO [2017-03-30 15:28:17,223] jepsen worker 2 - jepsen.util 2\t:invoke\t:write\t3", FormatText},
	}
	for _, tt := range tests {
		if got := DetectFormat([]byte(tt.head)); got != tt.want {
			t.Errorf("DetectFormat(%q): got %s, want %s", tt.head, got, tt.want)
		}
	}
}

func TestDumpsJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dumps.json")
	if err := os.WriteFile(path, []byte(`{"n1":{"k1":7,"k2":[1,2]},"n2":{"k1":null}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDumps(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := d["n1"]["k2"]; !got.Equal(List(1, 2)) {
		t.Errorf("n1/k2: got %s, want [1,2]", got)
	}
	if got := d.Keys(); !reflect.DeepEqual(got, []string{"k1", "k2"}) {
		t.Errorf("keys: got %v, want [k1 k2]", got)
	}
}
