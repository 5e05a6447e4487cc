package main

import "github.com/urfave/cli/v2"

// imageCommand is a placeholder until its issue lands.
func imageCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "(not built yet)",
		Action: func(*cli.Context) error {
			return cli.Exit("faultline image: not built yet", exitCannotRun)
		},
	}
}
