package simrt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/workloads"
)

// ScriptFile is a scripted run's client script (workloads.Script, JSON: per worker, the ops it
// starts and when): a run folder that has one was run from it (Options.Script), and a replay
// runs it again. A run without one generated its ops from the seed.
const ScriptFile = "script.json"

// A scenario is what a simulated run is a function of, besides the store's code: the config
// (with its seed and length), the fault schedule (schedule.json; nemesis.json says which of its
// events ran) and the clients' ops (script.json, or generated from the seed). Shrink removes
// fault events and client ops from it.

// LoadScript reads a run folder's script.json; nil and no error when there is none.
func LoadScript(dir string) (workloads.Script, error) {
	if _, err := os.Stat(filepath.Join(dir, ScriptFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var s workloads.Script
	if err := report.ReadJSON(dir, ScriptFile, &s); err != nil {
		return nil, fmt.Errorf("simrt: %w", err)
	}
	if s == nil {
		s = workloads.Script{}
	}
	return s, nil
}

// folder is the run folder: Options.Dir, or a new one under the results root.
func (r *run) folder() (*report.Run, error) {
	dir := r.opt.Dir
	if dir == "" {
		return report.Create(r.cfg.ResultsRoot, r.cfg.RunName(), time.Now())
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("simrt: run folder %s exists and is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, report.NodesDir), 0o755); err != nil {
		return nil, fmt.Errorf("simrt: %w", err)
	}
	return &report.Run{Root: filepath.Dir(dir), Dir: dir}, nil
}
