package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/harness"
)

// dockerAvailable reports whether a Docker engine answers within a short time.
func dockerAvailable(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return docker.Available(ctx) == nil
}

// newDockerRuntime builds the Docker runtime with an image of a static faultline (the running
// binary when it is static, else one built from the source tree). The returned cleanup closes
// the engine client and removes the temporary binary.
func newDockerRuntime(ctx context.Context, env *appEnv) (harness.Runtime, string, func(), error) {
	if err := docker.Available(ctx); err != nil {
		return nil, "", nil, fmt.Errorf("--runtime docker: %w", err)
	}
	dir, err := os.MkdirTemp("", "faultline-image-")
	if err != nil {
		return nil, "", nil, err
	}
	bin, err := docker.StaticBinary(ctx, env.log, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, fmt.Errorf("--runtime docker: %w", err)
	}
	cfg := docker.DefaultConfig()
	cfg.Binary = bin
	cfg.Log = env.log
	rt, err := docker.New(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	// Build (or find) the image now, so the binary can go before the run starts.
	tag, built, err := rt.EnsureImage(ctx, false)
	if err != nil {
		rt.Close()
		os.RemoveAll(dir)
		return nil, "", nil, fmt.Errorf("--runtime docker: image: %w", err)
	}
	os.RemoveAll(dir)
	note := fmt.Sprintf(" (containers from %s", tag)
	if built {
		note += ", just built"
	}
	note += "; real kills, pauses and packet drops)"
	return rt, note, func() { rt.Close() }, nil
}
