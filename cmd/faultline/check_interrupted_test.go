package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// killedRunFolder makes a run folder as a harness killed at 8 s of a planned 30 s leaves it:
// config.json and a history, no stats.json, no results.json.
func killedRunFolder(t *testing.T, workload, history string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := `{"workload":"` + workload + `","time":"30s","seed":1}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), []byte(history), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCheckKilledRun: check on the folder of a killed run says that it stopped at 8 s of
// 30 s, took no final reads and saved no results.json, in the text and in --json; its
// verdict covers only what was read.
func TestCheckKilledRun(t *testing.T) {
	dir := killedRunFolder(t, "register", `{"index":0,"time":1000000,"process":0,"type":"invoke","f":"write","key":"k","value":1}
{"index":1,"time":2000000,"process":0,"type":"ok","f":"write","key":"k","value":1}
{"index":2,"time":7900000000,"process":1,"type":"invoke","f":"read","key":"k","value":null}
{"index":3,"time":8000000000,"process":1,"type":"ok","f":"read","key":"k","value":1}
`)
	code, out := checkCLI(t, dir)
	if code != exitValid {
		t.Errorf("exit code: got %d, want %d (what was read is linearizable)", code, exitValid)
	}
	for _, want := range []string{"partial history", "did not finish", "8s of the planned 30s", "no final reads", "no results.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout %q: want it to say %q", out, want)
		}
	}
	_, out = checkCLI(t, "--json", dir)
	var res struct {
		Partial      bool     `json:"partial"`
		PartialNotes []string `json:"partial_notes"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json: %v", err)
	}
	if !res.Partial || !strings.Contains(strings.Join(res.PartialNotes, "\n"), "8s of the planned 30s") {
		t.Errorf("--json: got %+v, want partial true and the planned time in a note", res)
	}
}

// TestCheckKilledSetRun: in a killed set run, the last ok read is a mid-run read, not a final
// one: an add it misses is not lost. Lost updates need final reads: unknown, not invalid.
func TestCheckKilledSetRun(t *testing.T) {
	dir := killedRunFolder(t, "set", `{"index":0,"time":1000000,"process":0,"type":"invoke","f":"add","key":"k","value":1}
{"index":1,"time":2000000,"process":0,"type":"ok","f":"add","key":"k","value":1}
{"index":2,"time":3000000,"process":1,"type":"invoke","f":"read","key":"k","value":null}
{"index":3,"time":4000000,"process":1,"type":"ok","f":"read","key":"k","value":[]}
`)
	code, out := checkCLI(t, dir)
	if code != exitUnknown {
		t.Errorf("exit code: got %d, want %d (unknown: no final reads)", code, exitUnknown)
	}
	if !strings.Contains(out, "no final reads") {
		t.Errorf("stdout %q: want it to say there were no final reads", out)
	}
}

// TestCheckFinishedRunIsWhole: a run folder with stats.json and results.json (a run that
// finished), or with results.json alone (a curated example), is not called partial.
func TestCheckFinishedRunIsWhole(t *testing.T) {
	for _, files := range [][]string{{"stats.json", "results.json"}, {"results.json"}} {
		dir := killedRunFolder(t, "register", `{"index":0,"time":1000000,"process":0,"type":"invoke","f":"write","key":"k","value":1}
{"index":1,"time":2000000,"process":0,"type":"ok","f":"write","key":"k","value":1}
`)
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(dir, f), []byte(`{"harness":{"final_process":2}}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		code, out := checkCLI(t, dir)
		if code != exitValid || strings.Contains(out, "partial") {
			t.Errorf("%v: got exit %d, stdout %q; want valid and not partial", files, code, out)
		}
	}
	// an example run committed to the repository
	code, out := checkCLI(t, filepath.Join("..", "..", "results", "examples", "lww-w1r1-stale-read"))
	if code != exitInvalid || strings.Contains(out, "partial") {
		t.Errorf("example: got exit %d, stdout %q; want invalid and not partial", code, out)
	}
}
