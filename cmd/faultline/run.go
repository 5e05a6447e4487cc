package main

import "github.com/urfave/cli/v2"

// runCommand is a placeholder until its issue lands.
func runCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "(not built yet)",
		Action: func(*cli.Context) error {
			return cli.Exit("faultline run: not built yet", exitCannotRun)
		},
	}
}
