package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Status is what a run folder's files say about whether its run finished: a run saves
// config.json first, stats.json after its final reads and teardown, results.json last. A
// harness killed mid-run leaves config.json and a history, no stats.json, no results.json.
type Status struct {
	HasConfig  bool          // config.json: a run folder the harness made
	Planned    time.Duration // config.json's time: how long clients were to run (0: unknown)
	HasStats   bool          // stats.json: the run got past its final reads
	HasResults bool          // results.json: the run saved its verdict
	// Interrupted: stats.json says the run was interrupted (Ctrl-C): it healed and saved, but
	// skipped quiescence and the final reads.
	Interrupted bool
	// FinalProcess is stats.json's final_process: the final reads are by processes from it on.
	FinalProcess int
}

// ReadStatus reads a run folder's Status. Missing files are facts, not errors; a file that does
// not decode is an error.
func ReadStatus(dir string) (Status, error) {
	var s Status
	var cfg struct {
		Time any `json:"time"` // a duration like "30s" (anything else: unknown)
	}
	found, err := readOptional(filepath.Join(dir, ConfigFile), &cfg)
	if err != nil {
		return s, err
	}
	s.HasConfig = found
	if t, ok := cfg.Time.(string); ok {
		if d, err := time.ParseDuration(t); err == nil && d > 0 {
			s.Planned = d
		}
	}
	var st struct {
		Harness struct {
			FinalProcess int  `json:"final_process"`
			Interrupted  bool `json:"interrupted"`
		} `json:"harness"`
	}
	if s.HasStats, err = readOptional(filepath.Join(dir, StatsFile), &st); err != nil {
		return s, err
	}
	s.FinalProcess, s.Interrupted = st.Harness.FinalProcess, st.Harness.Interrupted
	if _, err := os.Stat(filepath.Join(dir, ResultsFile)); err == nil {
		s.HasResults = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return s, fmt.Errorf("report: %w", err)
	}
	return s, nil
}

func readOptional(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("report: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return true, fmt.Errorf("report: %s: %w", path, err)
	}
	return true, nil
}

// Incomplete says, in words, what a run that did not finish lacks, given the time of its
// history's last op (since the run started), and whether it took no final reads. A finished
// run, or a folder the harness did not make (no config.json), gives none. A folder with
// results.json but no stats.json (a curated example, an older run) is taken as finished.
func (s Status) Incomplete(lastOp time.Duration) (notes []string, noFinalReads bool) {
	if !s.HasConfig {
		return nil, false
	}
	stopped := func(how string) string {
		msg := how
		if s.Planned > 0 {
			msg += fmt.Sprintf(": its history ends at %s of the planned %s", roundDur(lastOp), s.Planned)
		} else {
			msg += fmt.Sprintf(": its history ends at %s", roundDur(lastOp))
		}
		return msg
	}
	switch {
	case s.Interrupted:
		notes = append(notes, stopped("the run was interrupted (Ctrl-C) and skipped its final reads"))
		noFinalReads = true
	case !s.HasStats && !s.HasResults:
		notes = append(notes,
			stopped("the run did not finish (killed, or still going)"),
			"no final reads: the run stopped before taking them (no stats.json, which a run writes after them)",
			"no results.json: the run never saved a verdict of its own")
		noFinalReads = true
	}
	return notes, noFinalReads
}

// Unsaved returns a warning when the run got past its final reads but saved no verdict (it
// stopped while checking, or is still checking), else "".
func (s Status) Unsaved() string {
	if s.HasConfig && s.HasStats && !s.HasResults {
		return "no results.json: the run finished its operations but saved no verdict of its own (stopped while checking, or still checking)"
	}
	return ""
}

func roundDur(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
