// Package dockertest helps tests that need a Docker engine: they skip where none answers, except
// when FAULTLINE_REQUIRE_DOCKER=1 (set by .ci/run), where a missing engine fails them.
package dockertest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/docker"
)

// RequireEnv is the environment variable that turns a missing engine into a test failure.
const RequireEnv = "FAULTLINE_REQUIRE_DOCKER"

// Required reports whether RequireEnv is set to 1.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Check asks the engine whether it answers, within 10 s: nil when it does. For TestMain, where
// there is no t yet.
func Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return docker.Available(ctx)
}

// Require skips t when no Docker engine answers, or fails it when FAULTLINE_REQUIRE_DOCKER=1.
func Require(t testing.TB) {
	t.Helper()
	if err := Check(context.Background()); err != nil {
		if Required() {
			t.Fatalf("%s=1 but no Docker engine answers: %v", RequireEnv, err)
		}
		t.Skipf("no Docker engine answers (set %s=1 to fail instead): %v", RequireEnv, err)
	}
}

// RequireNothingLeft fails t if any container, network or volume of run runID is left.
func RequireNothingLeft(t testing.TB, runID string) {
	t.Helper()
	rep, err := docker.Prune(context.Background(), zerolog.Nop(), docker.PruneOptions{DryRun: true, RunID: runID})
	if err != nil {
		t.Fatalf("listing what run %s left: %v", runID, err)
	}
	if !rep.Empty() {
		t.Errorf("run %s left %+v, want nothing", runID, rep)
	}
}
