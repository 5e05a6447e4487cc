package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/targets/reference"
)

// targetFlags choose what a run tests.
func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "target", Value: harness.ReferenceTarget,
			Usage: "what to test: faultline (the reference store), etcd, or a target file (YAML) for any store speaking docs/API.md"},
		&cli.StringFlag{Name: "etcd-reads", Value: "linearizable", Usage: "etcd: linearizable or serializable reads"},
	}
}

// targetFromFlags sets cfg's target and its options from the flags.
func targetFromFlags(c *cli.Context, cfg *harness.Config) error {
	cfg.Target = c.String("target")
	if cfg.Target == harness.ReferenceTarget {
		cfg.Target = "" // the default: config.json stays as it was
	}
	if c.IsSet("etcd-reads") && cfg.Target != "etcd" {
		return fmt.Errorf("--etcd-reads applies to --target etcd, not %s", cfg.TargetName())
	}
	if cfg.Target == "etcd" {
		cfg.TargetOptions = map[string]string{"reads": c.String("etcd-reads")}
	}
	return nil
}

// describeTarget returns cfg's target without preparing it to run (no image is built): enough
// to check a config against it.
func describeTarget(cfg harness.Config) (harness.Target, error) {
	switch cfg.TargetName() {
	case harness.ReferenceTarget:
		return reference.New(), nil
	}
	return nil, fmt.Errorf("--target %q: want faultline, etcd or a target file (.yaml)", cfg.Target)
}

// prepareTarget returns cfg's target ready to run on rt (its server built and its image made
// where it needs one).
func prepareTarget(ctx context.Context, env *appEnv, cfg harness.Config, rt harness.Runtime) (harness.Target, error) {
	return describeTarget(cfg)
}

// runTest runs one test of cfg's target.
func runTest(ctx context.Context, env *appEnv, cfg harness.Config, opt harness.Options) (*harness.Outcome, error) {
	t, err := prepareTarget(ctx, env, cfg, opt.Runtime)
	if err != nil {
		return nil, err
	}
	opt.Target = t
	return harness.Run(ctx, cfg, opt)
}

// checkTarget refuses, at flag time, what cfg's target cannot take (a fault kind, --crdt).
func checkTarget(cfg harness.Config) error {
	t, err := describeTarget(cfg)
	if err != nil {
		return err
	}
	return harness.CheckTarget(cfg, t, nil)
}
