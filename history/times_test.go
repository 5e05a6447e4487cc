package history

import (
	"strings"
	"testing"
)

// noTimeJSONL is a sequential history without times: write 1 completes, then a read returns
// nil. It is not linearizable, but with every op at time 0 all four look concurrent.
const noTimeJSONL = `{"index":0,"process":0,"type":"invoke","f":"write","key":"k","value":1}
{"index":1,"process":0,"type":"ok","f":"write","key":"k","value":1}
{"index":2,"process":1,"type":"invoke","f":"read","key":"k","value":null}
{"index":3,"process":1,"type":"ok","f":"read","key":"k","value":null}
`

func times(ops []Op) []int64 {
	out := make([]int64, len(ops))
	for i := range ops {
		out[i] = ops[i].Time
	}
	return out
}

func hasWarning(ws []string, sub string) bool {
	for _, w := range ws {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

func equalTimes(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTimesFromOrder: a history whose client ops carry no time (absent, or all 0) gets the
// record position as time, with a warning, in JSONL as in EDN; one with times keeps them.
func TestTimesFromOrder(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		in     string
		want   []int64
		warn   bool
	}{
		{"jsonl, no time field", FormatJSONL, noTimeJSONL, []int64{0, 1, 2, 3}, true},
		{"jsonl, all times 0", FormatJSONL, strings.ReplaceAll(noTimeJSONL, `"process"`, `"time":0,"process"`), []int64{0, 1, 2, 3}, true},
		{"jsonl, nemesis time only", FormatJSONL, `{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":1}
{"index":1,"time":500,"process":"nemesis","type":"info","f":"kill","value":null}
{"index":2,"time":0,"process":0,"type":"ok","f":"write","value":1}
`, []int64{0, 1, 2}, true},
		{"jsonl with times kept", FormatJSONL, `{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":1}
{"index":1,"time":7,"process":0,"type":"ok","f":"write","value":1}
{"index":2,"time":9,"process":1,"type":"invoke","f":"read","value":null}
`, []int64{0, 7, 9}, false},
		{"jsonl, one client op", FormatJSONL, `{"index":0,"process":0,"type":"invoke","f":"write","value":1}
`, []int64{0}, false},
		{"edn, all :time 0", FormatEDN, `{:type :invoke, :f :write, :value 1, :process 0, :time 0}
{:type :ok, :f :write, :value 1, :process 0, :time 0}
{:type :invoke, :f :read, :value nil, :process 1, :time 0}
{:type :ok, :f :read, :value nil, :process 1, :time 0}
`, []int64{0, 1, 2, 3}, true},
		{"edn, no :time", FormatEDN, `{:type :invoke, :f :write, :value 1, :process 0}
{:type :ok, :f :write, :value 1, :process 0}
`, []int64{0, 1}, true},
		{"edn with times kept", FormatEDN, `{:type :invoke, :f :write, :value 1, :process 0, :time 0}
{:type :ok, :f :write, :value 1, :process 0, :time 40}
`, []int64{0, 40}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(strings.NewReader(tt.in), tt.format, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := times(f.Ops); !equalTimes(got, tt.want) {
				t.Errorf("times: got %v, want %v", got, tt.want)
			}
			if got := hasWarning(f.Warnings, "times inferred from the record order"); got != tt.warn {
				t.Errorf("inferred-times warning: got %v (warnings %q), want %v", got, f.Warnings, tt.warn)
			}
			if err := Validate(f.Ops); err != nil {
				t.Errorf("validate: %v", err)
			}
		})
	}

	// the inferred times order the write before the read, as the file does
	f, err := Decode(strings.NewReader(noTimeJSONL), FormatJSONL, 0)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := Pair(f.Ops)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || !(pairs[0].Return < pairs[1].Call) {
		t.Errorf("got operations %+v, want the write to complete before the read is invoked", pairs)
	}
}

// TestTimeOrderWarning: times that go down in record order are kept (the checkers use them)
// and warned about, naming the record with the largest step back.
func TestTimeOrderWarning(t *testing.T) {
	in := `{"index":0,"time":100,"process":0,"type":"invoke","f":"write","value":1}
{"index":1,"time":90,"process":1,"type":"invoke","f":"read","value":null}
{"index":2,"time":200,"process":0,"type":"ok","f":"write","value":1}
{"index":3,"time":150,"process":1,"type":"ok","f":"read","value":null}
`
	f, err := Decode(strings.NewReader(in), FormatJSONL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := times(f.Ops); !equalTimes(got, []int64{100, 90, 200, 150}) {
		t.Errorf("times: got %v, want them as written", got)
	}
	if !hasWarning(f.Warnings, "times go down in record order at 2 records (the largest step back is 50ns, at line 4)") {
		t.Errorf("warnings %q: want times going down at 2 records, the largest at line 4", f.Warnings)
	}
	if err := Validate(f.Ops); err != nil {
		t.Errorf("validate: %v", err)
	}

	f, err = Decode(strings.NewReader(strings.NewReplacer(`"time":90`, `"time":110`, `"time":150`, `"time":250`).Replace(in)), FormatJSONL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if hasWarning(f.Warnings, "times go down") {
		t.Errorf("warnings %q: want none about time order", f.Warnings)
	}
}
