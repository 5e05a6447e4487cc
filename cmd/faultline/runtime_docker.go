package main

import (
	"context"
	"errors"

	"github.com/faultline/faultline/harness"
)

// dockerAvailable reports whether a Docker engine answers (wired when the Docker runtime lands).
func dockerAvailable(ctx context.Context) bool { return false }

// newDockerRuntime builds the Docker runtime (wired when it lands).
func newDockerRuntime(ctx context.Context, env *appEnv) (harness.Runtime, string, error) {
	return nil, "", errors.New("--runtime docker: the Docker runtime is not built yet")
}
