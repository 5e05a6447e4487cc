package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/scratch"
	"github.com/faultline/faultline/internal/wait"
)

// pruneCLI runs `faultline prune args...` in this process and returns the exit code and stdout.
func pruneCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
	code := runMain(env, append([]string{"faultline", "--log-level", "error", "prune"}, args...))
	t.Logf("faultline prune %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String()
}

// TestKilledRunCheckAndPrune kills `faultline run --runtime local --time 30s` with SIGKILL once
// its history holds ops. check on its folder says the run stopped early, took no final reads
// and saved no results.json; prune leaves its scratch directory alone while it runs, lists it
// with --dry-run once it is gone, and removes it (and nothing that is not ours).
func TestKilledRunCheckAndPrune(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir() // the harness's TMPDIR, where its scratch directory goes
	t.Setenv("TMPDIR", tmp)
	results := t.TempDir()
	notOurs := filepath.Join(tmp, scratch.Prefix+"someone-else") // our prefix, no marker
	if err := os.MkdirAll(notOurs, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--log-level", "warn", "run", "--runtime", "local", "--nodes", "3", "--time", "30s",
		"--rate", "100", "--results", results)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Wait until the run records client ops, not for a fixed time.
	var runDir string
	wait.For(t, 60*time.Second, "a history with 50 ops", func() (bool, string) {
		m, _ := filepath.Glob(filepath.Join(results, "*", "*", "history.jsonl"))
		if len(m) != 1 {
			return false, fmt.Sprintf("history files %v", m)
		}
		b, _ := os.ReadFile(m[0])
		runDir = filepath.Dir(m[0])
		n := bytes.Count(b, []byte("\n"))
		return n >= 50, fmt.Sprintf("%d lines", n)
	})
	dirs, _ := filepath.Glob(filepath.Join(tmp, scratch.Prefix+"*", scratch.MarkerFile))
	if len(dirs) != 1 {
		t.Fatalf("got scratch markers %v, want the run's one", dirs)
	}
	scratchDir := filepath.Dir(dirs[0])
	var m scratch.Marker
	if b, err := os.ReadFile(dirs[0]); err != nil || json.Unmarshal(b, &m) != nil || m.RunID == "" {
		t.Fatalf("marker %s: %v %+v, want one naming the run", dirs[0], err, m)
	}
	// --run keeps prune to this run's objects: other runs (Docker ones too) are not ours to touch.
	if code, out := pruneCLI(t, "--dry-run", "--run", m.RunID); code != exitValid || strings.Contains(out, scratchDir) {
		t.Errorf("prune --dry-run during the run: exit %d, %q; want 0 and the live run's dir not listed", code, out)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// the nodes die with their harness (Pdeathsig), a moment later: prune keeps a directory a
	// live process names, so wait for them
	wait.For(t, 30*time.Second, "the killed run's nodes to exit", func() (bool, string) {
		left := processesUnder(scratchDir)
		return len(left) == 0, fmt.Sprintf("still running: %v", left)
	})

	code, out := checkCLI(t, runDir)
	if code == exitCannotRun {
		t.Fatalf("check of the killed run: exit %d, want a verdict", code)
	}
	for _, want := range []string{"partial history", "did not finish", "of the planned 30s", "no final reads", "no results.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the killed run: stdout %q: want it to say %q", out, want)
		}
	}

	code, out = pruneCLI(t, "--dry-run", "--run", m.RunID)
	if code != exitValid || !strings.Contains(out, "would remove scratch dir "+scratchDir) {
		t.Errorf("prune --dry-run after the kill: exit %d, %q; want 0 and %s listed", code, out, scratchDir)
	}
	if _, err := os.Stat(scratchDir); err != nil {
		t.Fatalf("after --dry-run: %v, want the dir still there", err)
	}
	code, out = pruneCLI(t, "--run", m.RunID)
	if code != exitValid || !strings.Contains(out, "removed scratch dir "+scratchDir) {
		t.Errorf("prune: exit %d, %q; want 0 and %s removed", code, out, scratchDir)
	}
	if _, err := os.Stat(scratchDir); !os.IsNotExist(err) {
		t.Errorf("after prune: %v, want the scratch dir gone", err)
	}
	if _, err := os.Stat(notOurs); err != nil {
		t.Errorf("after prune: %v, want the unmarked dir kept", err)
	}
}
