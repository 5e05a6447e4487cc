package report

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCreateAndLatest(t *testing.T) {
	root := t.TempDir()
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	a, err := Create(root, "register-partition", at)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(root, "register-partition", at) // same millisecond: kept apart
	if err != nil {
		t.Fatal(err)
	}
	if a.Dir == b.Dir {
		t.Fatalf("got the same folder twice: %s", a.Dir)
	}
	if got, want := filepath.Base(a.Dir), "20261125T180000.000"; got != want {
		t.Errorf("folder name: got %s, want %s", got, want)
	}
	if err := b.WriteJSON(ConfigFile, map[string]int{"seed": 7}); err != nil {
		t.Fatal(err)
	}
	if err := a.LinkLatest(); err != nil {
		t.Fatal(err)
	}
	if err := b.LinkLatest(); err != nil { // replaces the link
		t.Fatal(err)
	}
	var got map[string]int
	if err := ReadJSON(filepath.Join(root, LatestLink), ConfigFile, &got); err != nil {
		t.Fatal(err)
	}
	if got["seed"] != 7 {
		t.Errorf("latest/config.json: got %v, want seed 7", got)
	}
	if _, err := os.Stat(b.Path(NodesDir)); err != nil {
		t.Errorf("nodes/ missing: %v", err)
	}
}

func TestCreateRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "..", "a/b", "."} {
		if _, err := Create(t.TempDir(), name, time.Now()); err == nil {
			t.Errorf("Create(%q): got nil error, want one", name)
		}
	}
}
