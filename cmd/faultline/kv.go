package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/urfave/cli/v2"
)

// kvCommand is the store's command-line client, like etcdctl.
func kvCommand(env *appEnv) *cli.Command {
	nodeFlag := &cli.StringFlag{Name: "node", Value: "127.0.0.1:7001", Usage: "node address host:port", EnvVars: []string{"FAULTLINE_NODE"}}
	wFlag := &cli.IntFlag{Name: "w", Usage: "write quorum (0 = node default)"}
	rFlag := &cli.IntFlag{Name: "r", Usage: "read quorum (0 = node default)"}
	tokenFlag := &cli.StringFlag{Name: "admin-token", EnvVars: []string{"FAULTLINE_ADMIN_TOKEN"}, Usage: "admin token (stats)"}
	timeoutFlag := &cli.DurationFlag{Name: "timeout", Value: 5 * time.Second, Usage: "request timeout"}
	flags := func(extra ...cli.Flag) []cli.Flag {
		return append([]cli.Flag{nodeFlag, timeoutFlag}, extra...)
	}
	newClient := func(c *cli.Context) *client.Client {
		return client.New(c.String("node"), client.WithAdminToken(c.String("admin-token")), client.WithTimeout(c.Duration("timeout")))
	}
	args := func(c *cli.Context, names ...string) ([]string, error) {
		if c.NArg() != len(names) {
			return nil, cli.Exit(fmt.Sprintf("faultline kv %s: want %d argument(s) %v, got %d", c.Command.Name, len(names), names, c.NArg()), exitCannotRun)
		}
		return c.Args().Slice(), nil
	}
	return &cli.Command{
		Name:  "kv",
		Usage: "read and write a store cluster through one node",
		Description: "Exit 0 on success; 1 when the operation failed (definitely not applied);\n" +
			"2 when it is indeterminate (may have been applied); 3 for bad arguments.",
		Subcommands: []*cli.Command{
			{
				Name: "put", Usage: "write a register", ArgsUsage: "KEY VALUE",
				Flags: flags(wFlag, &cli.StringFlag{Name: "context", Usage: "causal context from an earlier get (vclock)"}),
				Action: func(c *cli.Context) error {
					a, err := args(c, "KEY", "VALUE")
					if err != nil {
						return err
					}
					return kvResult(newClient(c).Put(c.Context, a[0], a[1], c.Int("w"), c.String("context")))
				},
			},
			{
				Name: "get", Usage: "read a register (siblings one per line)", ArgsUsage: "KEY",
				Flags: flags(rFlag, &cli.BoolFlag{Name: "context", Usage: "also print the causal context (last line, prefixed 'context: ')"}),
				Action: func(c *cli.Context) error {
					a, err := args(c, "KEY")
					if err != nil {
						return err
					}
					v, err := newClient(c).Get(c.Context, a[0], c.Int("r"))
					if err != nil {
						return kvResult(err)
					}
					for _, x := range v.Values {
						fmt.Fprintln(env.stdout, x)
					}
					if c.Bool("context") {
						fmt.Fprintln(env.stdout, "context: "+v.Context)
					}
					return nil
				},
			},
			{
				Name: "incr", Usage: "add DELTA (default 1) to a counter", ArgsUsage: "KEY [DELTA]",
				Flags: flags(wFlag),
				Action: func(c *cli.Context) error {
					if c.NArg() < 1 || c.NArg() > 2 {
						return cli.Exit("faultline kv incr: want KEY [DELTA]", exitCannotRun)
					}
					delta := int64(1)
					if c.NArg() == 2 {
						d, err := strconv.ParseInt(c.Args().Get(1), 10, 64)
						if err != nil {
							return cli.Exit(fmt.Sprintf("faultline kv incr: DELTA %q is not an integer", c.Args().Get(1)), exitCannotRun)
						}
						delta = d
					}
					return kvResult(newClient(c).Incr(c.Context, c.Args().Get(0), delta, c.Int("w")))
				},
			},
			{
				Name: "counter", Usage: "read a counter", ArgsUsage: "KEY",
				Flags: flags(rFlag),
				Action: func(c *cli.Context) error {
					a, err := args(c, "KEY")
					if err != nil {
						return err
					}
					v, err := newClient(c).Counter(c.Context, a[0], c.Int("r"))
					if err != nil {
						return kvResult(err)
					}
					fmt.Fprintln(env.stdout, v)
					return nil
				},
			},
			{
				Name: "add", Usage: "add ELEMENT to a set", ArgsUsage: "KEY ELEMENT",
				Flags: flags(wFlag),
				Action: func(c *cli.Context) error {
					a, err := args(c, "KEY", "ELEMENT")
					if err != nil {
						return err
					}
					return kvResult(newClient(c).SetAdd(c.Context, a[0], a[1], c.Int("w")))
				},
			},
			{
				Name: "read-set", Usage: "read a set (elements one per line)", ArgsUsage: "KEY",
				Flags: flags(rFlag),
				Action: func(c *cli.Context) error {
					a, err := args(c, "KEY")
					if err != nil {
						return err
					}
					el, err := newClient(c).SetRead(c.Context, a[0], c.Int("r"))
					if err != nil {
						return kvResult(err)
					}
					for _, x := range el {
						fmt.Fprintln(env.stdout, x)
					}
					return nil
				},
			},
			{
				Name: "stats", Usage: "print the node's stats as JSON (needs the admin token)",
				Flags: flags(tokenFlag),
				Action: func(c *cli.Context) error {
					m, err := newClient(c).Stats(c.Context)
					if err != nil {
						return kvResult(err)
					}
					b, _ := json.MarshalIndent(m, "", "  ")
					fmt.Fprintln(env.stdout, string(b))
					return nil
				},
			},
		},
	}
}

// kvResult turns a client error into the exit code: failed 1, indeterminate 2.
func kvResult(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrIndeterminate):
		return cli.Exit("faultline kv: INDETERMINATE (may have been applied): "+err.Error(), exitUnknown)
	default:
		return cli.Exit("faultline kv: FAILED (not applied): "+err.Error(), exitInvalid)
	}
}
