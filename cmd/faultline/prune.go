package main

import (
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/docker"
)

// pruneCommand is `faultline prune`: remove the containers, networks and volumes that Docker
// runs left behind (label faultline.run), and with --images faultline's images (label
// faultline.image: a cache, rebuilt on demand, so kept by default).
func pruneCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove containers, networks, volumes and images that runs left behind",
		Description: "Finds objects by label (faultline.run on containers, networks and volumes;\n" +
			"faultline.image on images, removed only with --images: they are a build cache, not\n" +
			"leftovers). Without --run it also removes the containers of runs still going: run it\n" +
			"when no faultline run is in progress, or name the run.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "only list what would be removed"},
			&cli.StringFlag{Name: "run", Usage: "only the objects of this run id"},
			&cli.BoolFlag{Name: "images", Usage: "also remove faultline's images (not with --run)"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON summary"},
		},
		Action: func(c *cli.Context) error {
			ctx := c.Context
			if err := docker.Available(ctx); err != nil {
				return cli.Exit(fmt.Sprintf("faultline prune: %v", err), exitCannotRun)
			}
			if c.Bool("images") && c.String("run") != "" {
				return cli.Exit("faultline prune: --images and --run: images belong to no run; give one or the other", exitCannotRun)
			}
			rep, err := docker.Prune(ctx, env.log, docker.PruneOptions{
				DryRun: c.Bool("dry-run"),
				RunID:  c.String("run"),
				Images: c.Bool("images"),
			})
			if c.Bool("json") {
				if jerr := json.NewEncoder(env.stdout).Encode(map[string]any{"dry_run": c.Bool("dry-run"), "found": rep}); jerr != nil {
					return jerr
				}
			} else {
				verb := "removed"
				if c.Bool("dry-run") {
					verb = "would remove"
				}
				for _, kind := range []struct {
					name  string
					items []string
				}{{"container", rep.Containers}, {"network", rep.Networks}, {"volume", rep.Volumes}, {"image", rep.Images}} {
					for _, it := range kind.items {
						fmt.Fprintf(env.stdout, "%s %s %s\n", verb, kind.name, it)
					}
				}
				if rep.Empty() {
					fmt.Fprintln(env.stdout, "nothing of faultline's found")
				}
			}
			if err != nil {
				return cli.Exit(fmt.Sprintf("faultline prune: %v", err), exitCannotRun)
			}
			return nil
		},
	}
}
