package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/docker/dockertest"
)

// dockerCLI runs the app with args and returns its exit code and stdout.
func dockerCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &appEnv{log: zerolog.Nop(), stdout: &out, stderr: &errOut}
	code := runMain(env, append([]string{"faultline", "--log-level", "error"}, args...))
	t.Logf("faultline %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String()
}

func TestContainerHelpers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := ln.Addr().String()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln2.Addr().String()
	ln2.Close()
	defer ln.Close()
	marker := filepath.Join(t.TempDir(), "marker")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{"probe an open port", []string{"container", "probe", "--addr", open}, exitValid, "connected"},
		{"probe a closed port", []string{"container", "probe", "--addr", closed}, exitInvalid, "unreachable"},
		{"missing marker", []string{"container", "file", "--path", marker}, exitInvalid, "missing"},
		{"write marker", []string{"container", "file", "--path", marker, "--write"}, exitValid, ""},
		{"present marker", []string{"container", "file", "--path", marker}, exitValid, "present"},
		// Only invalid rules here: valid ones would change this machine's nftables.
		{"bad rules", []string{"container", "netfilter", "--rules", `{"drop":["n1"]}`}, exitCannotRun, ""},
		{"rules not JSON", []string{"container", "netfilter", "--rules", `drop n1`}, exitCannotRun, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := dockerCLI(t, tc.args...)
			if code != tc.wantCode || !strings.Contains(out, tc.wantOut) {
				t.Errorf("got exit %d and %q, want exit %d and output containing %q", code, out, tc.wantCode, tc.wantOut)
			}
		})
	}
}

func TestPruneDryRunOfUnknownRun(t *testing.T) {
	dockertest.Require(t)
	code, out := dockerCLI(t, "prune", "--dry-run", "--run", "no-such-run-anywhere")
	if code != exitValid || !strings.Contains(out, "nothing of faultline's found") {
		t.Errorf("got exit %d and %q, want exit 0 and nothing found", code, out)
	}
	code, out = dockerCLI(t, "prune", "--dry-run", "--run", "no-such-run-anywhere", "--json")
	if code != exitValid || !strings.Contains(out, `"containers":[]`) {
		t.Errorf("got exit %d and %q, want exit 0 and empty JSON lists", code, out)
	}
}

// TestRunDefaultsToDocker: with no --runtime, `faultline run` runs a containerized cluster
// where an engine answers (the README's first command), and leaves nothing of its run behind.
func TestRunDefaultsToDocker(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	dockertest.Require(t)
	results := t.TempDir()
	cmd := exec.Command(binary, "--log-level", "warn", "run", "--nodes", "3", "--time", "3s", "--nemesis-interval", "1s",
		"--rate", "50", "--seed", "5", "--results", results, "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == exitCannotRun {
			t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
		}
	}
	var doc struct {
		Runtime string `json:"runtime"`
		RunID   string `json:"run_id"`
		OK      int64  `json:"ok"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("--json output: %v\n%s", err, stdout.String())
	}
	if doc.Runtime != "docker" || doc.OK == 0 {
		t.Errorf("got runtime %q with %d ok ops, want docker and some ops\nstderr:\n%s", doc.Runtime, doc.OK, stderr.String())
	}
	if doc.RunID == "" {
		t.Errorf("the summary names no run_id")
	} else {
		dockertest.RequireNothingLeft(t, doc.RunID)
	}
}
