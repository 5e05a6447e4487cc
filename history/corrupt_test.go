package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorruptionIsAnError: in every format a malformed record is an error that names its line,
// never a shorter history. Only a JSONL history whose last line was cut off (a killed harness)
// is read without that line, and the File says it is partial.
func TestCorruptionIsAnError(t *testing.T) {
	jsonl := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
	w := `{"index":0,"time":1,"process":0,"type":"invoke","f":"write","value":1}`
	ok := `{"index":1,"time":2,"process":0,"type":"ok","f":"write","value":1}`
	ednW := `{:index 0, :time 1, :type :invoke, :process 0, :f :write, :value 1}`
	ednOK := `{:index 1, :time 2, :type :ok, :process 0, :f :write, :value 1}`
	ednR := `{:index 2, :time 3, :type :invoke, :process 1, :f :read, :value nil}`
	ednRead := `{:index 3, :time 4, :type :ok, :process 1, :f :read, :value 2}`
	tests := []struct {
		name    string
		format  Format
		in      string
		wantErr string // substring of the error; "" = no error
		wantOps int
		partial bool
	}{
		{"edn unclosed vector mid-file", FormatEDN, ednW + "\n" + ednOK + "\n[" + ednR + "\n" + ednRead + "\n", "line 3", 0, false},
		{"edn unclosed map mid-file", FormatEDN, ednW + "\n" + ednOK + "\n" + ednR[:20] + "\n" + ednRead + "\n", "line 3", 0, false},
		{"edn cut last form", FormatEDN, ednW + "\n" + ednOK + "\n" + ednR[:25], "line 3", 0, false},
		{"edn stray closer", FormatEDN, ednW + "\n]\n" + ednOK + "\n", "line 2", 0, false},
		{"edn whole", FormatEDN, ednW + "\n" + ednOK + "\n", "", 2, false},
		{"text bad type mid-file", FormatText, "0\t:invoke\t:write\t1\n0\t:okk\t:write\t1\n1\t:invoke\t:read\tnil\n", "line 2", 0, false},
		{"text cut value", FormatText, "0\t:invoke\t:write\t1\n0\t:ok\t:read\t[1 2\n", "line 2", 0, false},
		{"text missing f", FormatText, "0\t:invoke\t:write\t1\n0\t:ok\n1\t:invoke\t:read\tnil\n", "line 2", 0, false},
		{"text junk in a history.txt", FormatText, "0\t:invoke\t:write\t1\n%%garbage%%\n0\t:ok\t:write\t1\n", "line 2", 0, false},
		{"text log chatter is not corruption", FormatText, "INFO [2017-03-30 15:28:17,000] main - jepsen.core Running\n" +
			"INFO [2017-03-30 15:28:17,223] jepsen worker 0 - jepsen.util 0\t:invoke\t:write\t3\n" +
			"INFO [2017-03-30 15:28:17,300] main - jepsen.core Done\n", "", 1, false},
		{"text broken op in a log", FormatText, "INFO [2017-03-30 15:28:17,223] jepsen worker 0 - jepsen.util 0\t:invoke\t:write\t3\n" +
			"INFO [2017-03-30 15:28:17,224] jepsen worker 0 - jepsen.util 0\t:okay\t:write\t3\n", "line 2", 0, false},
		{"jsonl bad middle line", FormatJSONL, jsonl(w, `{"index":1,"time":2,"process":0,"type":"ok","f":"wri`, ok), "line 2", 0, false},
		{"jsonl cut last line is partial", FormatJSONL, jsonl(w) + ok[:30], "", 1, true},
		{"jsonl whole", FormatJSONL, jsonl(w, ok), "", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Decode(strings.NewReader(tt.in), tt.format, 0)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("got %d ops (warnings %q), want an error naming %s", len(f.Ops), f.Warnings, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %q, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %d ops", err, tt.wantOps)
			}
			if len(f.Ops) != tt.wantOps {
				t.Errorf("got %d ops, want %d", len(f.Ops), tt.wantOps)
			}
			if f.Partial != tt.partial {
				t.Errorf("partial: got %v, want %v (warnings %q)", f.Partial, tt.partial, f.Warnings)
			}
		})
	}
}

// TestCorruptExampleEDN is the report of issue 10 item 7: line 3 of the stale-read example
// turned into an unclosed vector used to drop the rest of the file, the stale read included.
func TestCorruptExampleEDN(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "results", "examples", "lww-w1r1-stale-read", "history.edn"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines[2] = "[" + strings.TrimSuffix(lines[2], "}")
	path := filepath.Join(t.TempDir(), "history.edn")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err == nil {
		t.Fatalf("got %d ops (warnings %q), want an error naming line 3", len(f.Ops), f.Warnings)
	}
	if !strings.Contains(err.Error(), "line 3") {
		t.Errorf("got error %q, want one naming line 3", err)
	}
}
