package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/faultline/faultline/docker/netfilter"
	"github.com/urfave/cli/v2"
)

// containerCommand is the hidden `faultline container`: helpers the Docker runtime runs inside
// its containers through the engine (an exec, or a container's command), since the image has no
// shell. Not for people.
func containerCommand(env *appEnv) *cli.Command {
	return &cli.Command{
		Name:   "container",
		Usage:  "in-container helpers of the Docker runtime (internal)",
		Hidden: true,
		Subcommands: []*cli.Command{
			{
				Name:  "netfilter",
				Usage: "replace this network namespace's faultline nftables table with --rules (JSON)",
				Flags: []cli.Flag{&cli.StringFlag{Name: "rules", Value: "{}", Usage: "netfilter.Rules as JSON"}},
				Action: func(c *cli.Context) error {
					r, err := netfilter.Decode(c.String("rules"))
					if err != nil {
						return cli.Exit(err.Error(), exitCannotRun)
					}
					if err := netfilter.Apply(r); err != nil {
						return cli.Exit(err.Error(), exitCannotRun)
					}
					n, err := netfilter.List()
					if err != nil {
						return cli.Exit(err.Error(), exitCannotRun)
					}
					fmt.Fprintf(env.stdout, "rules: %d\n", n)
					return nil
				},
			},
			{
				Name:  "netem",
				Usage: "probe whether the kernel has netem (prints yes or no)",
				Action: func(*cli.Context) error {
					ok, err := netfilter.ProbeNetem()
					if err != nil {
						return cli.Exit(err.Error(), exitCannotRun)
					}
					if ok {
						fmt.Fprintln(env.stdout, "yes")
					} else {
						fmt.Fprintln(env.stdout, "no")
					}
					return nil
				},
			},
			{
				Name:  "probe",
				Usage: "open a TCP connection to --addr; exit 0 if it connects, 1 if not",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "addr", Required: true},
					&cli.DurationFlag{Name: "timeout", Value: time.Second},
				},
				Action: func(c *cli.Context) error {
					conn, err := net.DialTimeout("tcp", c.String("addr"), c.Duration("timeout"))
					if err != nil {
						fmt.Fprintf(env.stdout, "unreachable: %v\n", err)
						return cli.Exit("", exitInvalid)
					}
					conn.Close()
					fmt.Fprintln(env.stdout, "connected")
					return nil
				},
			},
			{
				Name:  "file",
				Usage: "write (--write) or check (default) a marker file, e.g. to see data survive a restart",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "path", Required: true},
					&cli.BoolFlag{Name: "write"},
				},
				Action: func(c *cli.Context) error {
					if c.Bool("write") {
						if err := os.WriteFile(c.String("path"), []byte("faultline\n"), 0o644); err != nil {
							return cli.Exit(err.Error(), exitCannotRun)
						}
						return nil
					}
					if _, err := os.Stat(c.String("path")); err != nil {
						fmt.Fprintf(env.stdout, "missing: %v\n", err)
						return cli.Exit("", exitInvalid)
					}
					fmt.Fprintln(env.stdout, "present")
					return nil
				},
			},
			{
				Name:  "hold",
				Usage: "block until SIGTERM or SIGINT (holds a node's network namespace)",
				Action: func(c *cli.Context) error {
					ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
					defer stop()
					<-ctx.Done()
					return nil
				},
			},
		},
	}
}
