package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/docker"
)

// imageCommand is `faultline image build`: build the Docker runtime's image (FROM scratch, a
// static faultline, non-root) unless an image of the same binary exists.
func imageCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "manage the Docker runtime's image",
		Subcommands: []*cli.Command{{
			Name:  "build",
			Usage: "build the node image from a static faultline (skipped when the binary's image exists)",
			Description: "Uses the running faultline when it is static (CGO_ENABLED=0); otherwise builds one\n" +
				"with `go build` from the faultline source tree around the working directory.\n" +
				"Prints the tag, whether it was built, and the seconds it took.",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "force", Usage: "rebuild even if the image exists"},
				&cli.BoolFlag{Name: "json", Usage: "print a JSON summary"},
			},
			Action: func(c *cli.Context) error {
				start := time.Now()
				ctx := c.Context
				if err := docker.Available(ctx); err != nil {
					return cli.Exit(fmt.Sprintf("faultline image build: %v", err), exitCannotRun)
				}
				tag, built, err := buildImage(ctx, env, c.Bool("force"))
				if err != nil {
					return cli.Exit(fmt.Sprintf("faultline image build: %v", err), exitCannotRun)
				}
				secs := time.Since(start).Seconds()
				if c.Bool("json") {
					return json.NewEncoder(env.stdout).Encode(map[string]any{"tag": tag, "built": built, "seconds": secs})
				}
				verb := "exists (not rebuilt)"
				if built {
					verb = "built"
				}
				fmt.Fprintf(env.stdout, "%s %s in %.2fs\n", tag, verb, secs)
				return nil
			},
		}},
	}
}

// buildImage finds or builds a static faultline and makes sure its image exists.
func buildImage(ctx context.Context, env *appEnv, force bool) (tag string, built bool, err error) {
	dir, err := os.MkdirTemp("", "faultline-image")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(dir)
	bin, err := docker.StaticBinary(ctx, env.log, dir)
	if err != nil {
		return "", false, err
	}
	cfg := docker.DefaultConfig()
	cfg.Binary = bin
	cfg.Log = env.log
	rt, err := docker.New(cfg)
	if err != nil {
		return "", false, err
	}
	defer rt.Close()
	return rt.EnsureImage(ctx, force)
}
