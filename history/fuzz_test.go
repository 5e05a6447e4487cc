package history

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzJSONL checks that the reader never panics, that the fast decoder agrees with
// encoding/json on every line it accepts, and that what it reads writes back to the same ops.
func FuzzJSONL(f *testing.F) {
	for _, op := range sampleOps() {
		f.Add(string(op.AppendJSON(nil)))
	}
	f.Add(`{"index":1,"time":2,"process":"nemesis","type":"info","f":"kill","value":null,"detail":"n1"}`)
	f.Add(`{"index":01}`)
	f.Add(`{"value":[1,2,]}`)
	f.Add(`{"value":1e3}`)
	f.Add("{\"f\":\"\xff\"}")
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\n") {
			return
		}
		r := NewReader(strings.NewReader(line + "\n"))
		op, err := r.Next()
		var want Op
		jerr := json.Unmarshal([]byte(strings.TrimSpace(line)), &want)
		if strings.TrimSpace(line) == "" {
			return
		}
		if (err == nil) != (jerr == nil) {
			t.Fatalf("reader error %v, encoding/json error %v", err, jerr)
		}
		if err != nil {
			return
		}
		op.Line = 0
		if !reflect.DeepEqual(op, want) {
			t.Fatalf("reader got %+v, encoding/json got %+v", op, want)
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.Write(op); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		back, err := NewReader(&buf).Next()
		if err != nil {
			t.Fatalf("re-reading %s: %v", buf.String(), err)
		}
		back.Line = 0
		if !reflect.DeepEqual(back, op) {
			t.Fatalf("round trip: got %+v, want %+v", back, op)
		}
	})
}

// FuzzEDN checks that the EDN reader never panics and that a history it reads writes back to
// EDN and reads again as the same ops.
func FuzzEDN(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteEDN(&buf, sampleOps()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.String())
	f.Add(`{:type :invoke, :f :write, :value 1, :process 0, :time 100, :index 0}`)
	f.Add(`[{:type :invoke, :f :cas, :value [3 [1 2]], :process 0} {:type :info, :f :cas, :value nil, :process 0, :error [:timeout "x"]}]`)
	f.Add(`#jepsen.history.Op{:type :ok, :f :read, :value #{1 2}, :process 1}`)
	f.Add(`{:type :info, :process :nemesis, :f :start, :value [:isolated {"n1" #{"n2"}}]}`)
	f.Add(`{[1] 2}`)
	f.Add(`{:type :ok :f :read :value [1 2`)
	f.Fuzz(func(t *testing.T, in string) {
		file, err := ReadEDN(strings.NewReader(in))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteEDN(&out, file.Ops); err != nil {
			t.Fatal(err)
		}
		again, err := ReadEDN(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("re-reading what we wrote: %v\n%s", err, out.String())
		}
		if got, want := stripLines(again.Ops), stripLines(file.Ops); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip:\ngot  %+v\nwant %+v\nedn:\n%s", got, want, out.String())
		}
	})
}

// FuzzText checks that the Jepsen text reader never panics.
func FuzzText(f *testing.F) {
	f.Add("0\t:invoke\t:write\t1\n0\t:info\t:write\t:timed-out\n")
	f.Add("INFO  jepsen.util - 1    :ok    :read   [1 2]   :err\n")
	f.Add(":nemesis\t:info\t:start\t[:isolated {\"n1\" #{\"n2\"}}]\n")
	f.Add("INFO [2017-03-30 15:28:17,223] jepsen worker 2 - jepsen.util 2\t:invoke\t:write\t3\n")
	f.Add("2016-06-10 08:06:08,209{GMT}\tINFO\t[jepsen worker 3] jepsen.util: 3\t:invoke\t:read\tnil\n")
	f.Add("INFO [2017-03-30 15:28:17,223] main - jepsen.core Running\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = ReadText(strings.NewReader(in))
	})
}
