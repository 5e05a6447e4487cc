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
				&cli.StringFlag{Name: "target", Value: "faultline", Usage: "faultline, or etcd: also build (or find) etcd's server and its image"},
				&cli.BoolFlag{Name: "json", Usage: "print a JSON summary"},
			},
			Action: func(c *cli.Context) error {
				start := time.Now()
				ctx := c.Context
				if err := docker.Available(ctx); err != nil {
					return cli.Exit(fmt.Sprintf("faultline image build: %v", err), exitCannotRun)
				}
				target := c.String("target")
				if target != "faultline" && target != "etcd" {
					return cli.Exit(fmt.Sprintf("faultline image build: --target %q: want faultline or etcd", target), exitCannotRun)
				}
				tag, built, err := buildImage(ctx, env, c.Bool("force"), func(rt *docker.Runtime) error {
					if target != "etcd" {
						return nil
					}
					bin, err := etcdBinary(ctx, env)
					if err != nil {
						return err
					}
					etag, err := rt.EnsureBinaryImage(ctx, "etcd", bin)
					if err != nil {
						return err
					}
					fmt.Fprintf(env.stderr, "etcd image: %s\n", etag)
					return nil
				})
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

// buildImage finds or builds a static faultline and makes sure its image exists; then, when
// given, also does more with the runtime (a target's image).
func buildImage(ctx context.Context, env *appEnv, force bool, also func(*docker.Runtime) error) (tag string, built bool, err error) {
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
	if tag, built, err = rt.EnsureImage(ctx, force); err != nil || also == nil {
		return tag, built, err
	}
	return tag, built, also(rt)
}
