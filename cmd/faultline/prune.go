package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/docker"
	"github.com/faultline/faultline/internal/scratch"
)

// pruneCommand is `faultline prune`: remove the scratch directories of runs that were killed
// (under the temp dir, marked with their owner process, removed only when it is gone), and the
// containers, networks and volumes that Docker runs left behind (label faultline.run), and
// with --images faultline's images (label faultline.image: a cache, rebuilt on demand, so kept
// by default).
func pruneCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove scratch directories, containers, networks, volumes and images that runs left behind",
		Description: "Scratch directories: a run keeps its nodes' data and logs in the temp dir\n" +
			"(faultline-<run>-*, with a marker naming the run's process) and removes them when it\n" +
			"ends; a killed run cannot. prune removes the marked ones whose process is gone, never\n" +
			"a live run's and never a directory without our marker.\n" +
			"Docker objects are found by label (faultline.run on containers, networks and volumes;\n" +
			"faultline.image on images, removed only with --images: they are a build cache, not\n" +
			"leftovers). Without --run it also removes the containers of runs still going: run it\n" +
			"when no faultline run is in progress, or name the run. Without a Docker engine only\n" +
			"scratch directories are pruned.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "only list what would be removed"},
			&cli.StringFlag{Name: "run", Usage: "only the objects of this run id"},
			&cli.BoolFlag{Name: "images", Usage: "also remove faultline's images (not with --run)"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON summary"},
		},
		Action: func(c *cli.Context) error {
			ctx := c.Context
			dry := c.Bool("dry-run")
			if c.Bool("images") && c.String("run") != "" {
				return cli.Exit("faultline prune: --images and --run: images belong to no run; give one or the other", exitCannotRun)
			}
			verb := "removed"
			if dry {
				verb = "would remove"
			}

			// Scratch directories: no engine needed.
			var failed []error
			found, err := scratch.Stale("", c.String("run"))
			if err != nil {
				failed = append(failed, err)
			}
			dirs := []string{}
			for _, d := range found {
				if !dry {
					if err := scratch.Remove(d); err != nil {
						failed = append(failed, err)
						continue
					}
				}
				dirs = append(dirs, d.Path)
				if !c.Bool("json") {
					fmt.Fprintf(env.stdout, "%s scratch dir %s (run %s, process %d gone)\n", verb, d.Path, orNone(d.Marker.RunDir), d.Marker.PID)
				}
			}

			// Docker objects, where an engine answers.
			rep := docker.PruneReport{Containers: []string{}, Networks: []string{}, Volumes: []string{}, Images: []string{}}
			dockerNote := ""
			if aerr := docker.Available(ctx); aerr != nil {
				if c.Bool("images") {
					return cli.Exit(fmt.Sprintf("faultline prune: --images: %v", aerr), exitCannotRun)
				}
				dockerNote = fmt.Sprintf("no Docker engine answers (%v): containers, networks and volumes not checked", aerr)
				env.log.Warn().Msg(dockerNote)
			} else {
				rep, err = docker.Prune(ctx, env.log, docker.PruneOptions{DryRun: dry, RunID: c.String("run"), Images: c.Bool("images")})
				if err != nil {
					failed = append(failed, err)
				}
			}

			if c.Bool("json") {
				doc := map[string]any{"dry_run": dry, "found": rep, "scratch_dirs": dirs}
				if dockerNote != "" {
					doc["docker"] = dockerNote
				}
				if jerr := json.NewEncoder(env.stdout).Encode(doc); jerr != nil {
					return jerr
				}
			} else {
				for _, kind := range []struct {
					name  string
					items []string
				}{{"container", rep.Containers}, {"network", rep.Networks}, {"volume", rep.Volumes}, {"image", rep.Images}} {
					for _, it := range kind.items {
						fmt.Fprintf(env.stdout, "%s %s %s\n", verb, kind.name, it)
					}
				}
				if rep.Empty() && len(dirs) == 0 {
					fmt.Fprintln(env.stdout, "nothing of faultline's found")
				}
			}
			if len(failed) > 0 {
				msg := "faultline prune:"
				for _, e := range failed {
					msg += " " + e.Error() + ";"
				}
				return cli.Exit(msg[:len(msg)-1], exitCannotRun)
			}
			return nil
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
