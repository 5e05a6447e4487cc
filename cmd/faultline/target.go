package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/harness/simrt"
	"github.com/faultline/faultline/targets/etcd"
	"github.com/faultline/faultline/targets/file"
	"github.com/faultline/faultline/targets/reference"
)

// targetFlags choose what a run tests.
func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "target", Value: harness.ReferenceTarget,
			Usage: "what to test: faultline (the reference store), etcd, or a target file (YAML) for any store speaking docs/API.md"},
		&cli.StringFlag{Name: "etcd-reads", Value: "linearizable", Usage: "etcd: linearizable or serializable reads"},
		&cli.Float64Flag{Name: "cas", Usage: "register: share of updates that are compare-and-set, 0..1 (default: 0.3 on etcd, 0 elsewhere: the reference store has none)"},
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
		if cfg.Workload == "register" {
			cfg.CAS = 0.3
		}
	}
	if c.IsSet("cas") {
		cfg.CAS = c.Float64("cas")
	}
	return nil
}

// referenceStoreFlags configure the reference store's nodes; another target has its own
// settings and would silently ignore them.
var referenceStoreFlags = []string{"store", "conflict", "topology", "n", "consistency", "read-repair", "anti-entropy", "hinted-handoff", "sloppy-quorum", "fsync"}

// refuseStoreFlags refuses a reference-store flag given for another target, which would ignore
// it: a run must not claim settings it did not test. run and suite call it on the user's flags;
// compare has its own rule (it sets those flags itself for its base config). --w and --r pass for a target file whose
// store takes the client API's quorum parameters (quorums: true).
func refuseStoreFlags(c *cli.Context, cfg harness.Config) error {
	if cfg.Target == "" || cfg.Target == harness.ReferenceTarget {
		return nil
	}
	flags := referenceStoreFlags
	quorums := false
	if isTargetFile(cfg.Target) {
		if t, err := file.Load(cfg.Target); err == nil {
			quorums = t.Spec().Quorums
		}
	}
	if !quorums {
		flags = append([]string{"w", "r"}, flags...)
	}
	for _, name := range flags {
		if c.IsSet(name) {
			why := "it configures faultline's reference store"
			if name == "w" || name == "r" {
				why = "this target takes no per-request quorums (a target file says quorums: true when its store takes ?w= and ?r=)"
			}
			return fmt.Errorf("--%s does not apply to --target %s: %s", name, cfg.TargetName(), why)
		}
	}
	return nil
}

// describeTarget returns cfg's target without preparing it to run (no image is built): enough
// to check a config against it.
func describeTarget(cfg harness.Config) (harness.Target, error) {
	if isTargetFile(cfg.Target) {
		t, err := file.Load(cfg.Target)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		return t, nil
	}
	switch cfg.Target {
	case "", harness.ReferenceTarget:
		return reference.New(), nil
	case "etcd":
		return etcd.Target{}, nil
	}
	return nil, fmt.Errorf("--target %q: want faultline, etcd or a target file (.yaml)", cfg.Target)
}

// prepareTarget returns cfg's target ready to run on rt (its server built and its image made
// where it needs one).
func prepareTarget(ctx context.Context, env *appEnv, cfg harness.Config, rt harness.Runtime) (harness.Target, error) {
	t, err := describeTarget(cfg)
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case etcd.Target:
		bin, err := etcdBinary(ctx, env)
		if err != nil {
			return nil, err
		}
		if d, ok := rt.(*docker.Runtime); ok {
			if t.Image, err = d.EnsureBinaryImage(ctx, "etcd", bin); err != nil {
				return nil, fmt.Errorf("--target etcd: %w", err)
			}
			return t, nil
		}
		t.Binary = bin
		return t, nil
	case *file.Target:
		d, ok := rt.(*docker.Runtime)
		if !ok || t.Spec().Binary == "" {
			return t, nil
		}
		tag, err := d.EnsureBinaryImage(ctx, imageName(t.Name()), t.Spec().Binary)
		if err != nil {
			return nil, fmt.Errorf("--target %s: %w", cfg.Target, err)
		}
		return t.WithImage(tag), nil
	}
	return t, nil
}

// isTargetFile reports whether --target names a file rather than a built-in target.
func isTargetFile(s string) bool {
	return strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml") || strings.ContainsRune(s, '/')
}

// imageName turns a target's name into an image name part: lowercase letters, digits, dashes.
func imageName(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b), "-")
	if s == "" {
		return "target"
	}
	return s
}

// etcdBinary is the static etcd server: $FAULTLINE_ETCD_BINARY, else the one built from the
// source tree's targets/etcd/server and cached in the user's cache folder.
func etcdBinary(ctx context.Context, env *appEnv) (string, error) {
	if p := os.Getenv("FAULTLINE_ETCD_BINARY"); p != "" {
		return p, nil
	}
	src, err := etcd.ServerSource()
	if err != nil {
		return "", fmt.Errorf("--target etcd: %w (or set FAULTLINE_ETCD_BINARY to a static etcd)", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("--target etcd: %w", err)
	}
	bin, _, err := etcd.Build(ctx, env.log, src, filepath.Join(cache, "faultline"))
	if err != nil {
		return "", fmt.Errorf("--target etcd: %w", err)
	}
	return bin, nil
}

// runTest runs one test of cfg's target.
func runTest(ctx context.Context, env *appEnv, cfg harness.Config, opt harness.Options) (*harness.Outcome, error) {
	if opt.Runtime != nil && opt.Runtime.Name() == simrt.Name {
		return runSimTest(ctx, env, cfg, opt)
	}
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
