package main

import (
	"fmt"
	"net"
	"os/signal"
	"strings"
	"syscall"

	"github.com/faultline/faultline/store"
	"github.com/urfave/cli/v2"
)

// nodeCommand runs one store node until SIGTERM or SIGINT.
func nodeCommand(env *appEnv) *cli.Command {
	def := store.DefaultConfig()
	return &cli.Command{
		Name:  "node",
		Usage: "run one store node (what the harness and the containers run)",
		Description: "Serves the client, internal and admin API on one address (docs/API.md).\n" +
			"Example: faultline node --id n1 --listen 127.0.0.1:7001 \\\n" +
			"  --peers n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003 --data /var/lib/faultline/n1\n" +
			"The nodes of a cluster share a secret for their internal API: set FAULTLINE_CLUSTER_SECRET\n" +
			"(or --cluster-secret) to the same value on each; a multi-node cluster will not start without\n" +
			"one unless --insecure-internal is given.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "id", Usage: "this node's id (must appear in --peers)", Required: true},
			&cli.StringFlag{Name: "listen", Usage: "address to serve on, host:port (default: this node's address in --peers)"},
			&cli.StringFlag{Name: "peers", Usage: "every node of the cluster, self included: id=host:port,...", Required: true},
			&cli.StringFlag{Name: "data", Usage: "data directory", Required: true},
			&cli.StringFlag{Name: "mode", Value: def.Mode, Usage: "replication mode: leaderless or multileader"},
			&cli.StringFlag{Name: "conflict", Value: def.Conflict, Usage: "multileader conflict handling: lww, crdt or siblings"},
			&cli.StringFlag{Name: "topology", Value: def.Topology, Usage: "multileader topology: all, ring or star"},
			&cli.IntFlag{Name: "n", Value: def.N, Usage: "replicas per key (capped at the cluster size)"},
			&cli.IntFlag{Name: "w", Value: 0, Usage: "default write quorum (0 = majority of N; multileader: 1)"},
			&cli.IntFlag{Name: "r", Value: 0, Usage: "default read quorum (0 = majority of N; multileader: reads are local)"},
			&cli.StringFlag{Name: "consistency", Value: def.Consistency, Usage: "lww, vclock or abd"},
			&cli.BoolFlag{Name: "read-repair", Value: def.ReadRepair, Usage: "repair stale replicas seen by reads (--read-repair=false to turn off)"},
			&cli.BoolFlag{Name: "read-repair-sync", Value: def.ReadRepairSync, Usage: "repair before answering the read"},
			&cli.DurationFlag{Name: "anti-entropy", Value: def.AntiEntropy, Usage: "Merkle anti-entropy interval (0 = off)"},
			&cli.BoolFlag{Name: "hinted-handoff", Value: def.HintedHandoff, Usage: "hinted handoff (--hinted-handoff=false to turn off)"},
			&cli.BoolFlag{Name: "sloppy-quorum", Value: def.SloppyQuorum, Usage: "hinted writes on fallback nodes count toward W"},
			&cli.StringFlag{Name: "engine", Value: def.Engine, Usage: "storage engine: bbolt or pebble (a data dir keeps the engine it was written with)"},
			&cli.StringFlag{Name: "fsync", Value: def.Fsync, Usage: "always or never"},
			&cli.StringFlag{Name: "admin-token", EnvVars: []string{"FAULTLINE_ADMIN_TOKEN"}, Usage: "bearer token of the admin API (empty = admin API off)"},
			&cli.StringFlag{Name: "cluster-secret", EnvVars: []string{"FAULTLINE_CLUSTER_SECRET"}, Usage: "secret shared by the cluster's nodes, " +
				"required on every internal request (16-1024 visible ASCII characters; prefer the environment variable: a flag shows in ps)"},
			&cli.BoolFlag{Name: "insecure-internal", Usage: "serve the internal API without a cluster secret (only on a network nobody else reaches)"},
			&cli.DurationFlag{Name: "body-read-timeout", Value: def.BodyReadTimeout, Usage: "longest time to read a request body (at least --request-timeout)"},
			&cli.DurationFlag{Name: "request-timeout", Value: def.RequestTimeout, Usage: "coordinator deadline per client request"},
			&cli.DurationFlag{Name: "hint-interval", Value: def.HintInterval, Usage: "how often hints are offered to their targets"},
			&cli.IntFlag{Name: "vnodes", Value: def.VNodes, Usage: "virtual nodes per node on the ring"},
			&cli.Int64Flag{Name: "seed", Value: def.Seed, Usage: "seed of the fault filter's loss decisions (derive it from the run's seed)"},
		},
		Action: func(c *cli.Context) error {
			cfg, listen, err := nodeConfig(c)
			if err != nil {
				return cli.Exit("faultline node: "+err.Error(), exitCannotRun)
			}
			n, err := store.New(cfg, env.log)
			if err != nil {
				return cli.Exit("faultline node: "+err.Error(), exitCannotRun)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return cli.Exit(fmt.Sprintf("faultline node: listening on %s: %v", listen, err), exitCannotRun)
			}
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			if err := n.Serve(ctx, ln); err != nil {
				return cli.Exit("faultline node: "+err.Error(), exitCannotRun)
			}
			return nil
		},
	}
}

// notForMode lists, per mode, the node flags that belong to the other mode: setting one is an
// error rather than a switch that silently does nothing.
var notForMode = map[string][]string{
	"leaderless":  {"conflict", "topology"},
	"multileader": {"consistency", "read-repair", "read-repair-sync", "anti-entropy", "hinted-handoff", "sloppy-quorum", "vnodes", "hint-interval"},
}

// nodeConfig turns the node command's flags into the store config and the address to listen
// on (--listen, else this node's address in --peers). Fields without a flag keep
// store.DefaultConfig's values.
func nodeConfig(c *cli.Context) (store.Config, string, error) {
	cfg := store.DefaultConfig()
	peers, err := parsePeers(c.String("peers"))
	if err != nil {
		return store.Config{}, "", err
	}
	cfg.ID, cfg.Peers, cfg.DataDir = c.String("id"), peers, c.String("data")
	cfg.Mode, cfg.N, cfg.W, cfg.R = c.String("mode"), c.Int("n"), c.Int("w"), c.Int("r")
	cfg.Consistency = c.String("consistency")
	cfg.Conflict, cfg.Topology = c.String("conflict"), c.String("topology")
	cfg.ReadRepair, cfg.ReadRepairSync = c.Bool("read-repair"), c.Bool("read-repair-sync")
	cfg.AntiEntropy = c.Duration("anti-entropy")
	cfg.HintedHandoff, cfg.SloppyQuorum = c.Bool("hinted-handoff"), c.Bool("sloppy-quorum")
	cfg.Engine, cfg.Fsync, cfg.AdminToken = c.String("engine"), c.String("fsync"), c.String("admin-token")
	cfg.ClusterSecret, cfg.InsecureInternal = c.String("cluster-secret"), c.Bool("insecure-internal")
	cfg.BodyReadTimeout = c.Duration("body-read-timeout")
	cfg.RequestTimeout, cfg.HintInterval = c.Duration("request-timeout"), c.Duration("hint-interval")
	cfg.VNodes = c.Int("vnodes")
	cfg.Seed = c.Int64("seed")
	for _, name := range notForMode[cfg.Mode] {
		if c.IsSet(name) {
			return store.Config{}, "", fmt.Errorf("--%s does not apply to --mode %s", name, cfg.Mode)
		}
	}
	listen := c.String("listen")
	if listen == "" {
		listen = peers[cfg.ID]
	}
	return cfg, listen, nil
}

// parsePeers parses "n1=host:port,n2=host:port".
func parsePeers(s string) (map[string]string, error) {
	peers := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addr, ok := strings.Cut(part, "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("--peers entry %q: want id=host:port", part)
		}
		if _, dup := peers[id]; dup {
			return nil, fmt.Errorf("--peers: node %q appears twice", id)
		}
		peers[id] = addr
	}
	if len(peers) == 0 {
		return nil, fmt.Errorf("--peers %q names no node", s)
	}
	return peers, nil
}
