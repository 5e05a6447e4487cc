package main

import "github.com/urfave/cli/v2"

// nodeCommand is a placeholder until its issue lands.
func nodeCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "node",
		Usage: "(not built yet)",
		Action: func(*cli.Context) error {
			return cli.Exit("faultline node: not built yet", exitCannotRun)
		},
	}
}
