package main

import "github.com/urfave/cli/v2"

// pruneCommand is a placeholder until its issue lands.
func pruneCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "(not built yet)",
		Action: func(*cli.Context) error {
			return cli.Exit("faultline prune: not built yet", exitCannotRun)
		},
	}
}
