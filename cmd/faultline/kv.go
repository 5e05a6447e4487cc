package main

import "github.com/urfave/cli/v2"

// kvCommand is a placeholder until its issue lands.
func kvCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "kv",
		Usage: "(not built yet)",
		Action: func(*cli.Context) error {
			return cli.Exit("faultline kv: not built yet", exitCannotRun)
		},
	}
}
