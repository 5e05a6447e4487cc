// Package report reads and writes run folders: results/<workload>-<nemesis>/<timestamp>/ with
// config.json, history.jsonl, schedule.json, nemesis.json, results.json, stats.json,
// dumps.json and nodes/<id>.log, and keeps results/latest pointing at the newest run.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// File names inside a run folder.
const (
	ConfigFile   = "config.json"   // the test's configuration, seed included
	HistoryFile  = "history.jsonl" // every op, written as the run goes
	ScheduleFile = "schedule.json" // the nemesis schedule generated from the seed (what replay runs)
	NemesisFile  = "nemesis.json"  // the schedule as executed: actual times and errors
	ResultsFile  = "results.json"  // the checkers' verdicts
	StatsFile    = "stats.json"    // node and harness statistics
	DumpsFile    = "dumps.json"    // each replica's local data after healing
	NodesDir     = "nodes"         // nodes/<id>.log
	LatestLink   = "latest"        // <root>/latest -> the newest run folder
)

// TimeLayout names run folders; it sorts by time.
const TimeLayout = "20060102T150405.000"

// Run is one run folder.
type Run struct {
	Root string // the results root, e.g. "results"
	Dir  string // the run folder
}

// Create makes a new run folder root/name/<time>; if that exists (two runs in one
// millisecond) a suffix keeps them apart.
func Create(root, name string, t time.Time) (*Run, error) {
	if name == "" || filepath.Base(name) != name || name == "." || name == ".." {
		return nil, fmt.Errorf("report: run name %q must be a single path element", name)
	}
	base := filepath.Join(root, name, t.UTC().Format(TimeLayout))
	dir := base
	for i := 1; ; i++ {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("report: create run folder: %w", err)
		}
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || i > 100 {
			return nil, fmt.Errorf("report: create run folder: %w", err)
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Mkdir(filepath.Join(dir, NodesDir), 0o755); err != nil {
		return nil, fmt.Errorf("report: create run folder: %w", err)
	}
	return &Run{Root: root, Dir: dir}, nil
}

// Path joins elem onto the run folder.
func (r *Run) Path(elem ...string) string { return filepath.Join(append([]string{r.Dir}, elem...)...) }

// WriteJSON writes v, indented, to the named file in the run folder, atomically (a reader
// never sees half a file).
func (r *Run) WriteJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode %s: %w", name, err)
	}
	return WriteFileAtomic(r.Path(name), append(b, '\n'))
}

// WriteFileAtomic writes b to path through a temporary file and a rename.
func WriteFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

// LinkLatest points <root>/latest at this run (a relative symlink, replaced atomically).
func (r *Run) LinkLatest() error {
	rel, err := filepath.Rel(r.Root, r.Dir)
	if err != nil {
		return fmt.Errorf("report: link latest: %w", err)
	}
	link := filepath.Join(r.Root, LatestLink)
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return fmt.Errorf("report: link latest: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("report: link latest: %w", err)
	}
	return nil
}

// ReadJSON decodes the named file of a run folder into v.
func ReadJSON(dir, name string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("report: %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}
