package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStatusIncomplete(t *testing.T) {
	tests := []struct {
		name        string
		files       map[string]string
		wantNotes   []string // substrings, in order; nil = finished
		wantNoFinal bool
		wantUnsaved bool
	}{
		{"a history alone", map[string]string{}, nil, false, false},
		{"killed", map[string]string{ConfigFile: `{"time":"30s"}`},
			[]string{"did not finish", "8s of the planned 30s", "no final reads", "no results.json"}, true, false},
		{"killed, time unknown", map[string]string{ConfigFile: `{"time":30}`},
			[]string{"ends at 8s", "no final reads", "no results.json"}, true, false},
		{"interrupted", map[string]string{ConfigFile: `{"time":"30s"}`, StatsFile: `{"harness":{"interrupted":true,"final_process":9}}`, ResultsFile: `{}`},
			[]string{"interrupted (Ctrl-C)", "8s of the planned 30s"}, true, false},
		{"finished", map[string]string{ConfigFile: `{"time":"30s"}`, StatsFile: `{"harness":{"final_process":9}}`, ResultsFile: `{}`}, nil, false, false},
		{"curated example", map[string]string{ConfigFile: `{"time":"4s"}`, ResultsFile: `{}`}, nil, false, false},
		{"killed while checking", map[string]string{ConfigFile: `{"time":"30s"}`, StatsFile: `{"harness":{"final_process":9}}`}, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s, err := ReadStatus(dir)
			if err != nil {
				t.Fatal(err)
			}
			notes, noFinal := s.Incomplete(8 * time.Second)
			text := strings.Join(notes, "\n")
			if (len(notes) == 0) != (tt.wantNotes == nil) {
				t.Errorf("notes: got %q, want %q", notes, tt.wantNotes)
			}
			rest := text
			for _, w := range tt.wantNotes {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("notes %q: want %q (in order)", text, w)
					continue
				}
				rest = rest[i+len(w):]
			}
			if noFinal != tt.wantNoFinal {
				t.Errorf("no final reads: got %v, want %v", noFinal, tt.wantNoFinal)
			}
			if got := s.Unsaved() != ""; got != tt.wantUnsaved {
				t.Errorf("unsaved warning: got %q, want one: %v", s.Unsaved(), tt.wantUnsaved)
			}
		})
	}
	// a stats.json that does not decode is an error, not a finished run
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, StatsFile), []byte(`{"harness":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStatus(dir); err == nil {
		t.Error("broken stats.json: got nil error, want one")
	}
}
