package scratch

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func writeMarker(t *testing.T, dir string, m Marker) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, MarkerFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestStale(t *testing.T) {
	base := t.TempDir()
	host, _ := os.Hostname()
	live, err := Create(base, "register-partition", "/results/a", "aaaaaaaaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	dead := deadPID(t)
	gone := filepath.Join(base, Prefix+"register-kill-1")
	writeMarker(t, gone, Marker{PID: dead, Host: host, RunID: "bbbbbbbbbbbb", Created: time.Now()})
	reused := filepath.Join(base, Prefix+"set-none-2") // our pid, but another start time
	writeMarker(t, reused, Marker{PID: os.Getpid(), Start: startTime(os.Getpid()) + 1, Host: host, RunID: "cccccccccccc"})
	foreign := filepath.Join(base, Prefix+"cmd-test-3") // our prefix, no marker: not ours
	if err := os.MkdirAll(foreign, 0o755); err != nil {
		t.Fatal(err)
	}
	otherHost := filepath.Join(base, Prefix+"register-none-4")
	writeMarker(t, otherHost, Marker{PID: dead, Host: host + "-elsewhere"})
	unprefixed := filepath.Join(base, "other-5")
	writeMarker(t, unprefixed, Marker{PID: dead, Host: host})

	if startTime(os.Getpid()) == 0 {
		t.Skip("no /proc start times here")
	}
	got, err := Stale(base, "")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range got {
		paths = append(paths, d.Path)
	}
	slices.Sort(paths)
	want := []string{gone, reused}
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Fatalf("stale: got %v, want %v (not the live run %s, nor unmarked, other hosts' or unprefixed dirs)", paths, want, live)
	}
	if got, _ := Stale(base, "bbbbbbbbbbbb"); len(got) != 1 || got[0].Path != gone {
		t.Errorf("stale of run bbbbbbbbbbbb: got %v, want only %s", got, gone)
	}
	for _, d := range got {
		if err := Remove(d); err != nil {
			t.Errorf("remove %s: %v", d.Path, err)
		}
	}
	for _, p := range []string{live, foreign, otherHost, unprefixed} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: got %v, want it kept", p, err)
		}
	}
	for _, p := range want {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: got %v, want it removed", p, err)
		}
	}
	// a directory listed while stale but whose marker now names a live owner is kept
	d := Dir{Path: live, Marker: Marker{PID: os.Getpid(), Start: startTime(os.Getpid())}}
	if err := Remove(d); err == nil {
		t.Errorf("remove of the live run's dir: got nil error, want it kept")
	}
}

// TestStaleKeepsDirsInUse: a directory whose owner is gone but that a running process names
// (a node started with --data inside it, outliving its harness) is kept.
func TestStaleKeepsDirsInUse(t *testing.T) {
	base := t.TempDir()
	host, _ := os.Hostname()
	dir := filepath.Join(base, Prefix+"register-kill-9")
	writeMarker(t, dir, Marker{PID: deadPID(t), Host: host})
	listed, _ := Stale(base, "")
	if len(listed) != 1 {
		t.Fatalf("got %v, want the dir listed while nothing uses it", listed)
	}
	// a process with the path as an argument, as a node has its --data: a shell waiting on
	// its input (a builtin: no child process), ended by closing that input
	cmd := exec.Command("sh", "-c", "read x", "node", filepath.Join(dir, "data", "n1"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	if got, _ := Stale(base, ""); len(got) != 0 {
		t.Errorf("got %v, want none: a running process names the dir", got)
	}
	if err := Remove(listed[0]); err == nil || !strings.Contains(err.Error(), "names it") {
		t.Errorf("remove: got %v, want the dir kept because a process names it", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("%s: %v, want it kept", dir, err)
	}
}
