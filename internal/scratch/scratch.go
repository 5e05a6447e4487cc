// Package scratch makes a run's scratch directory (node data dirs and logs of the local
// runtime, under the temp dir) and finds the ones left behind by runs that are gone.
//
// A scratch directory is named Prefix+<run name>+"-"+<random> and holds a marker file naming
// the process that owns it. A run that ends removes its directory; a run killed with SIGKILL
// cannot. Stale lists the directories whose marker is valid and whose owner process no longer
// exists, so `faultline prune` removes only what is ours and never a live run's.
package scratch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Prefix begins every scratch directory's name.
const Prefix = "faultline-"

// MarkerFile is the marker's name inside a scratch directory.
const MarkerFile = ".faultline-scratch"

// Marker says who owns a scratch directory. Its JSON form is the marker file.
type Marker struct {
	PID int `json:"pid"` // the owning harness process
	// Start is the owner's start time in clock ticks since boot (/proc/<pid>/stat), so a pid
	// reused by another process is not taken for the owner; 0 where it cannot be read.
	Start   uint64    `json:"start,omitempty"`
	Host    string    `json:"host"`              // the owner's host name: other hosts' pids mean nothing here
	RunDir  string    `json:"run_dir,omitempty"` // the run folder
	RunID   string    `json:"run_id,omitempty"`  // the run id (faultline.run label)
	Created time.Time `json:"created"`
}

// Create makes a scratch directory for a run under base ("" = the temp dir) and writes its
// marker naming this process as the owner.
func Create(base, name, runDir, runID string) (string, error) {
	dir, err := os.MkdirTemp(base, Prefix+name+"-")
	if err != nil {
		return "", fmt.Errorf("scratch: %w", err)
	}
	host, _ := os.Hostname()
	m := Marker{PID: os.Getpid(), Start: startTime(os.Getpid()), Host: host, RunDir: runDir, RunID: runID, Created: time.Now().UTC()}
	b, err := json.Marshal(m)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, MarkerFile), append(b, '\n'), 0o644)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("scratch: marker: %w", err)
	}
	return dir, nil
}

// Dir is a scratch directory found by Stale.
type Dir struct {
	Path   string `json:"path"`
	Marker Marker `json:"marker"`
}

// Stale lists the scratch directories under base ("" = the temp dir) that are ours (the name
// prefix and a readable marker) and whose owner is gone (no such process on this host, or the
// pid now belongs to a process started at another time), and that no running process names on
// its command line (a node that outlived its harness). runID, if not "", keeps only that
// run's. A directory whose marker names another host, or whose owner may still live, is kept.
func Stale(base, runID string) ([]Dir, error) {
	if base == "" {
		base = os.TempDir()
	}
	ents, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("scratch: %w", err)
	}
	host, _ := os.Hostname()
	cmdlines := processCmdlines()
	var out []Dir
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), Prefix) {
			continue
		}
		path := filepath.Join(base, e.Name())
		m, ok := readMarker(path)
		if !ok || m.Host != host || (runID != "" && m.RunID != runID) {
			continue
		}
		if alive(m.PID, m.Start) || usedBy(cmdlines, path) {
			continue
		}
		out = append(out, Dir{Path: path, Marker: m})
	}
	return out, nil
}

// Remove deletes a stale scratch directory, checking again first that its owner is gone.
func Remove(d Dir) error {
	m, ok := readMarker(d.Path)
	if !ok || m.PID != d.Marker.PID || m.Start != d.Marker.Start {
		return fmt.Errorf("scratch: %s: the marker changed since it was listed; kept", d.Path)
	}
	if alive(m.PID, m.Start) {
		return fmt.Errorf("scratch: %s: its owner (pid %d) is running; kept", d.Path, m.PID)
	}
	if usedBy(processCmdlines(), d.Path) {
		return fmt.Errorf("scratch: %s: a running process names it (a node outliving its run?); kept", d.Path)
	}
	if err := os.RemoveAll(d.Path); err != nil {
		return fmt.Errorf("scratch: %w", err)
	}
	return nil
}

func readMarker(dir string) (Marker, bool) {
	var m Marker
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if err != nil || json.Unmarshal(b, &m) != nil || m.PID <= 0 {
		return Marker{}, false
	}
	return m, true
}

// alive reports whether the process pid that started at start (0: unknown) still runs.
func alive(pid int, start uint64) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false // no such process
	}
	if start == 0 {
		return true
	}
	now := startTime(pid)
	return now == 0 || now == start // unreadable: assume it is the owner
}

// processCmdlines returns the command lines of the running processes (Linux /proc; none
// elsewhere).
func processCmdlines() [][]byte {
	ents, _ := os.ReadDir("/proc")
	var out [][]byte
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline")); err == nil && len(b) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// usedBy reports whether a command line names dir or a path inside it (a node started with
// --data dir/data/n1 that outlived its harness).
func usedBy(cmdlines [][]byte, dir string) bool {
	for _, c := range cmdlines {
		for _, arg := range bytes.Split(c, []byte{0}) {
			if a := string(arg); a == dir || strings.HasPrefix(a, dir+string(filepath.Separator)) {
				return true
			}
		}
	}
	return false
}

// startTime returns a process's start time in clock ticks since boot from /proc, or 0.
func startTime(pid int) uint64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// the command name (field 2) is in parentheses and may hold spaces: fields count from
	// after its closing one, where field 3 (state) begins; start time is field 22
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0
	}
	n, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
