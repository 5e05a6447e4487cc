package main

import (
	"bytes"
	"net"
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
