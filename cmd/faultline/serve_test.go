package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/report"
	"github.com/rs/zerolog"
)

func TestServeFlagErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"missing folder", []string{"--results", filepath.Join(t.TempDir(), "missing")}, "no such file"},
		{"not a folder", []string{"--results", file}, "is not a folder"},
		{"arguments", []string{"results"}, "takes no arguments"},
		{"bad listen address", []string{"--results", t.TempDir(), "--listen", "127.0.0.1:notaport"}, "listen 127.0.0.1:notaport"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
			code := runMain(env, append([]string{"faultline", "--log-level", "error", "serve"}, tc.args...))
			if code != exitCannotRun {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, exitCannotRun, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr: got %q, want it to mention %q", errOut.String(), tc.want)
			}
		})
	}
}

// TestServeHTTPServesUntilCancelled serves a results folder on a free loopback port, fetches
// the index and a run's report, and stops when its context ends.
func TestServeHTTPServesUntilCancelled(t *testing.T) {
	root := t.TempDir()
	run, err := report.Create(root, "register-none", mustTime(t, "20261125T110000.000"))
	if err != nil {
		t.Fatal(err)
	}
	if err := run.WriteJSON(report.ConfigFile, map[string]any{"workload": "register", "seed": 3}); err != nil {
		t.Fatal(err)
	}
	if err := run.WriteJSON(report.ResultsFile, map[string]any{"valid": true, "checkers": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	cfg := report.DefaultServeConfig()
	cfg.Root = root
	h, err := report.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveHTTP(ctx, "127.0.0.1:0", h, zerolog.New(zerolog.NewTestWriter(t)), func(u string) { urls <- u })
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("serveHTTP returned before serving: %v", err)
	}
	get := func(path string) string {
		resp, err := http.Get(base + strings.TrimPrefix(path, "/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: got %d, want 200", path, resp.StatusCode)
		}
		return string(b)
	}
	if page := get("/"); !strings.Contains(page, `data-path="register-none/20261125T110000.000"`) {
		t.Errorf("index does not list the run:\n%.500s", page)
	}
	if page := get("/runs/register-none/20261125T110000.000/report.html"); !strings.Contains(page, `id="verdict">valid<`) {
		t.Errorf("report does not show the verdict:\n%.500s", page)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serveHTTP after cancel: got %v, want nil", err)
	}
	if _, err := http.Get(base); err == nil {
		t.Error("server still answers after its context ended")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(report.TimeLayout, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
