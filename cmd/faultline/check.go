package main

import "github.com/urfave/cli/v2"

// checkCommand is a placeholder until its issue lands.
func checkCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "(not built yet)",
		Action: func(*cli.Context) error {
			return cli.Exit("faultline check: not built yet", exitCannotRun)
		},
	}
}
