package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/urfave/cli/v2"
)

// kvCommand is the store's command-line client, like etcdctl.
func kvCommand(env *appEnv) *cli.Command {
	nodeFlag := &cli.StringFlag{Name: "node", Value: "127.0.0.1:7001", Usage: "node address host:port", EnvVars: []string{"FAULTLINE_NODE"}}
	wFlag := &cli.IntFlag{Name: "w", Usage: "write quorum, 1..N (default: the node's)"}
	rFlag := &cli.IntFlag{Name: "r", Usage: "read quorum, 1..N (default: the node's)"}
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
	// quorum reads --w or --r: 0 (the node's default) when not given, else at least 1. The
	// upper bound (N) is the node's to check: it answers 400, which kvResult maps to exit 3.
	quorum := func(c *cli.Context, name string) (int, error) {
		if !c.IsSet(name) {
			return 0, nil
		}
		q := c.Int(name)
		if q < 1 {
			return 0, cli.Exit(fmt.Sprintf("faultline kv %s: --%s %d: must be at least 1 (omit it for the node's default)", c.Command.Name, name, q), exitCannotRun)
		}
		return q, nil
	}
	return &cli.Command{
		Name:  "kv",
		Usage: "read and write a store cluster through one node",
		Description: "Exit 0 on success; 1 when the operation failed (definitely not applied);\n" +
			"2 when it is indeterminate (may have been applied); 3 for bad arguments, including\n" +
			"a request the node rejects as bad (4xx, e.g. --w above N or a wrong admin token).",
		Subcommands: []*cli.Command{
			{
				Name: "put", Usage: "write a register", ArgsUsage: "KEY VALUE",
				Flags: flags(wFlag, &cli.StringFlag{Name: "context", Usage: "causal context from an earlier get (vclock)"}),
				Action: func(c *cli.Context) error {
					a, err := args(c, "KEY", "VALUE")
					if err != nil {
						return err
					}
					w, err := quorum(c, "w")
					if err != nil {
						return err
					}
					return kvResult(newClient(c).Put(c.Context, a[0], a[1], w, c.String("context")))
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
					r, err := quorum(c, "r")
					if err != nil {
						return err
					}
					v, err := newClient(c).Get(c.Context, a[0], r)
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
					w, err := quorum(c, "w")
					if err != nil {
						return err
					}
					return kvResult(newClient(c).Incr(c.Context, c.Args().Get(0), delta, w))
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
					r, err := quorum(c, "r")
					if err != nil {
						return err
					}
					v, err := newClient(c).Counter(c.Context, a[0], r)
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
					w, err := quorum(c, "w")
					if err != nil {
						return err
					}
					return kvResult(newClient(c).SetAdd(c.Context, a[0], a[1], w))
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
					r, err := quorum(c, "r")
					if err != nil {
						return err
					}
					el, err := newClient(c).SetRead(c.Context, a[0], r)
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
					if _, err := args(c); err != nil {
						return err
					}
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

// kvResult turns a client error into the exit code: a request the node rejected as bad (a 4xx
// answer other than 409, e.g. 400 for --w above N, 401 for a wrong admin token) is bad
// arguments, 3, with the node's message; failed (not applied, including a 409 kind conflict) 1;
// indeterminate 2.
func kvResult(err error) error {
	var ce *client.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrIndeterminate):
		return cli.Exit("faultline kv: INDETERMINATE (may have been applied): "+err.Error(), exitUnknown)
	case errors.As(err, &ce) && ce.Status/100 == 4 && ce.Status != http.StatusConflict:
		return cli.Exit(fmt.Sprintf("faultline kv: %s: rejected by the node (HTTP %d): %s", ce.Op, ce.Status, ce.Message), exitCannotRun)
	default:
		return cli.Exit("faultline kv: FAILED (not applied): "+err.Error(), exitInvalid)
	}
}
