package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckCorruptEDNExample: line 3 of the stale-read example turned into an unclosed vector
// is broken input (exit 3) naming line 3, not a VALID verdict on the two lines before it.
func TestCheckCorruptEDNExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "results", "examples", "lww-w1r1-stale-read", "history.edn"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	lines[2] = "[" + strings.TrimSuffix(lines[2], "}")
	path := writeTemp(t, "history.edn", strings.Join(lines, "\n"))
	code, out, stderr := checkCLIStderr(t, path)
	if code != exitCannotRun {
		t.Errorf("exit code: got %d, want %d (broken input)", code, exitCannotRun)
	}
	if !strings.Contains(stderr, "line 3") {
		t.Errorf("stderr %q: want the unclosed form named by line 3", stderr)
	}
	if strings.Contains(out, "VALID") {
		t.Errorf("stdout %q: want no verdict", out)
	}
}

// TestCheckCorruptText: a damaged line in the middle of a Jepsen history.txt is broken input.
func TestCheckCorruptText(t *testing.T) {
	path := writeTemp(t, "history.txt", "0\t:invoke\t:write\t1\n0\t:okk\t:write\t1\n1\t:invoke\t:read\tnil\n1\t:ok\t:read\t2\n")
	code, _, stderr := checkCLIStderr(t, path)
	if code != exitCannotRun || !strings.Contains(stderr, "line 2") {
		t.Errorf("got exit %d, stderr %q; want %d naming line 2", code, stderr, exitCannotRun)
	}
}

// TestCheckTruncatedJSONLIsPartial: a JSONL cut off in its last line is checked without it,
// and the verdict says the history is partial, in the text and in --json.
func TestCheckTruncatedJSONLIsPartial(t *testing.T) {
	b, err := os.ReadFile(checkdata("reg-valid-sequential.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "cut.jsonl", string(b[:len(b)-20]))
	code, out := checkCLI(t, path)
	if code != exitValid {
		t.Errorf("exit code: got %d, want %d", code, exitValid)
	}
	if !strings.Contains(out, "partial history") || !strings.Contains(out, "last line") {
		t.Errorf("stdout %q: want the verdict to say the history is partial and why", out)
	}
	code, out = checkCLI(t, "--json", path)
	var res struct {
		Valid        any      `json:"valid"`
		Partial      bool     `json:"partial"`
		PartialNotes []string `json:"partial_notes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json: %v", err)
	}
	if code != exitValid || !res.Partial || len(res.PartialNotes) == 0 {
		t.Errorf("--json: got exit %d, %+v; want valid with partial true and a note", code, res)
	}
	// a whole history is not partial
	_, out = checkCLI(t, "--json", checkdata("reg-valid-sequential.jsonl"))
	if strings.Contains(out, `"partial"`) {
		t.Errorf("whole history: --json %s: want no partial field", out)
	}
}

// TestCheckNemesisOnly: nemesis ops and no client operation are linearizable: valid, exit 0,
// saying there was no client operation. A file with no op at all is not.
func TestCheckNemesisOnly(t *testing.T) {
	path := writeTemp(t, "nemesis.jsonl", `{"index":0,"time":1,"process":"nemesis","type":"info","f":"start-partition","value":null,"detail":"halves"}
{"index":1,"time":2,"process":"nemesis","type":"info","f":"stop-partition","value":null}
`)
	code, out := checkCLI(t, path)
	if code != exitValid {
		t.Errorf("exit code: got %d, want %d", code, exitValid)
	}
	if !strings.Contains(out, "no client operation") {
		t.Errorf("stdout %q: want it to say there was no client operation", out)
	}
	if code, _ := checkCLI(t, writeTemp(t, "junk.jsonl", "\n\n")); code == exitValid {
		t.Errorf("blank file: got exit %d, want not valid", code)
	}
}
