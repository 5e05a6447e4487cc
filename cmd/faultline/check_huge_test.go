package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// checkCLIStderrQuiet runs `faultline check args...` with warnings logged to stderr and returns
// the exit code, stdout and stderr; it logs only their sizes (they may be huge).
func checkCLIStderrQuiet(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
	code := runMain(env, append([]string{"faultline", "--log-level", "info", "check"}, args...))
	t.Logf("faultline check %v -> %d: %d bytes of stdout, %d of stderr", args, code, out.Len(), errOut.Len())
	return code, out.String(), errOut.String()
}

// TestCheckHugeValuesAreCut: a history holding one huge value (a key, a read's list, a string
// where a value belongs, an error) does not echo it: errors, warnings, explanations and the
// --json results show at most a bounded part of it and say how much was cut ("…(N bytes, M
// cut)", or "... N more]" for a list).
func TestCheckHugeValuesAreCut(t *testing.T) {
	const size = 1 << 20
	bigKey := strings.Repeat("k", size)
	bigList := "[" + strings.TrimSuffix(strings.Repeat("7,", size/2), ",") + "]"
	bigErr := strings.Repeat("e", size)
	line := func(i, tm int, proc any, typ, f, key, value string, extra string) string {
		p := fmt.Sprint(proc)
		if s, ok := proc.(string); ok {
			p = `"` + s + `"`
		}
		k := ""
		if key != "" {
			k = `,"key":"` + key + `"`
		}
		return fmt.Sprintf(`{"index":%d,"time":%d,"process":%s,"type":"%s","f":"%s"%s,"value":%s%s}`+"\n", i, tm, p, typ, f, k, value, extra)
	}
	staleRead := func(key, readValue, errField string) string {
		return line(0, 10, 0, "invoke", "write", key, "1", "") +
			line(1, 20, 0, "ok", "write", key, "1", "") +
			line(2, 30, 1, "invoke", "write", key, "2", "") +
			line(3, 40, 1, "info", "write", key, "2", errField) +
			line(4, 50, 2, "invoke", "read", key, "null", "") +
			line(5, 60, 2, "ok", "read", key, readValue, "")
	}
	tests := []struct {
		name    string
		file    string
		content string
		want    int
		filler  string // what the huge value is made of: no more than MaxShown bytes of it may show
	}{
		{"huge key, invalid", "key.jsonl", staleRead(bigKey, "3", ""), exitInvalid, "k"},
		{"huge list read, invalid", "list.jsonl", staleRead("k", bigList, ""), exitInvalid, "7,"},
		{"huge error, valid", "err.jsonl", staleRead("k", "2", `,"error":"`+bigErr+`"`), exitValid, "e"},
		{"huge string value, broken", "str.jsonl", line(0, 10, 0, "invoke", "write", "k", `"`+strings.Repeat("x", size)+`"`, ""), exitCannotRun, "x"},
		{"huge string value, edn", "str.edn", `{:type :invoke, :f :write, :process 0, :value "` + strings.Repeat("x", size) + `"}` + "\n", exitCannotRun, "x"},
		{"huge value, text", "str.txt", "0\t:invoke\t:write\t[" + strings.Repeat("x", size) + "\n", exitCannotRun, "x"},
		{"huge cut last line", "cut.jsonl", staleRead("k", "2", "") + `{"index":6,"time":70,"process":3,"type":"invoke","f":"write","key":"` + bigKey, exitValid, "k"},
	}
	const bound = 16 << 10 // whatever is shown, far below the value's size
	// the files check writes (results.json, the linearizability visualization) are bounded too
	filesOf := func(t *testing.T, dir string) map[string]string {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(b)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, tt.file, tt.content)
			for _, args := range [][]string{{path}, {"--json", path}} {
				code, out, errOut := checkCLIStderrQuiet(t, args...)
				if code != tt.want {
					t.Errorf("%v: exit code: got %d, want %d (stderr %q)", args, code, tt.want, errOut[:min(len(errOut), 500)])
				}
				if len(out) > bound || len(errOut) > bound {
					t.Errorf("%v: got %d bytes of stdout and %d of stderr, want at most %d each", args, len(out), len(errOut), bound)
				}
				if long := strings.Repeat(tt.filler, 300/len(tt.filler)); strings.Contains(out+errOut, long) {
					i := strings.Index(out+errOut, long)
					t.Errorf("%v: output shows more than %d bytes of the value: %q", args, 300, (out + errOut)[max(0, i-200):i+400])
				}
				if tt.want == exitInvalid {
					dir := t.TempDir()
					if code, _, _ := checkCLIStderrQuiet(t, "--out", dir, path); code != tt.want {
						t.Errorf("--out: exit %d, want %d", code, tt.want)
					}
					files := filesOf(t, dir)
					if _, ok := files["results.json"]; !ok || len(files) < 2 {
						t.Errorf("--out wrote %d files, want results.json and the visualization", len(files))
					}
					for name, b := range files {
						if long := strings.Repeat(tt.filler, 300/len(tt.filler)); strings.Contains(b, long) {
							t.Errorf("%s shows more than 300 bytes of the value (%d bytes)", name, len(b))
						}
					}
				}
				if all := out + errOut; tt.want != exitValid && !strings.Contains(all, " cut)") && !strings.Contains(all, " more]") {
					t.Errorf("%v: output %q: want it to say how much was cut", args, all[:min(len(all), 2000)])
				}
			}
		})
	}
}
