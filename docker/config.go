package docker

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/rs/zerolog"
)

// Publish says how clients reach the nodes.
type Publish string

const (
	// PublishAuto publishes node ports when the engine is remote (DOCKER_HOST is not a unix
	// socket) and uses bridge addresses otherwise.
	PublishAuto Publish = "auto"
	// PublishAlways always publishes each node's port on the engine's host.
	PublishAlways Publish = "always"
	// PublishNever always uses bridge addresses (the harness must be on the engine's host).
	PublishNever Publish = "never"
)

// NodeTransport sets delays in a node's own transport through its admin API: the fallback for
// link delay when the kernel has no netem. cmd/faultline implements it with the store's client.
type NodeTransport interface {
	// SetDelays replaces the delays node (reached at addr, admin API guarded by token) adds to
	// the messages it sends to each peer id; an empty map removes them all.
	SetDelays(ctx context.Context, addr, token string, delays map[string]time.Duration) error
}

// Config configures a Runtime.
type Config struct {
	// Binary is the path of a static (CGO_ENABLED=0) linux faultline binary to build the image
	// from; see StaticBinary. Required unless Image is set.
	Binary string
	// Image, when set, is an existing image tag to run instead of one built from Binary.
	Image string
	// Log receives the runtime's logs.
	Log zerolog.Logger
	// Port is the port each node listens on inside its container.
	Port int
	// SubnetPool is the IPv4 prefix (at most /24 long) from which each run's /24 is taken.
	SubnetPool string
	// Publish says whether clients reach nodes at bridge addresses or published ports.
	Publish Publish
	// NodeCommand is the faultline subcommand (and leading arguments) that runs a node; the
	// runtime appends --id, --listen, --peers, --data and ClusterSpec.NodeArgs.
	NodeCommand []string
	// Transport sets link delays in the nodes' transport when netem cannot (nil: SetLinks with a
	// delay fails).
	Transport NodeTransport
	// Parallel is how many engine calls Start, Partition and Teardown make at once.
	Parallel int
	// ExecTimeout bounds each in-container exec (installing rules, probes).
	ExecTimeout time.Duration

	_ struct{}
}

// DefaultConfig returns the configuration `faultline run --runtime docker` uses; set Binary (or
// Image).
func DefaultConfig() Config {
	return Config{
		Log:         zerolog.Nop(),
		Port:        7000,            // the store's default port
		SubnetPool:  "10.213.0.0/16", // 256 runs' /24s, outside Docker's default pools
		Publish:     PublishAuto,
		NodeCommand: []string{"node"},
		Transport:   StoreTransport{}, // delays through the node's admin API
		Parallel:    5,
		ExecTimeout: 20 * time.Second,
	}
}

// Validate reports the first invalid field; it does not change c.
func (c Config) Validate() error {
	if c.Binary == "" && c.Image == "" {
		return fmt.Errorf("docker: config: set Binary (a static faultline) or Image")
	}
	if c.Port < 1 || c.Port > 65535 {
		return fmt.Errorf("docker: config: Port (%d) must be in [1, 65535]", c.Port)
	}
	p, err := netip.ParsePrefix(c.SubnetPool)
	if err != nil || !p.Addr().Is4() || p.Bits() > 24 || p.Bits() < 8 {
		return fmt.Errorf("docker: config: SubnetPool (%q) must be an IPv4 prefix from /8 to /24", c.SubnetPool)
	}
	switch c.Publish {
	case PublishAuto, PublishAlways, PublishNever:
	default:
		return fmt.Errorf("docker: config: Publish (%q) must be auto, always or never", c.Publish)
	}
	if len(c.NodeCommand) == 0 {
		return fmt.Errorf("docker: config: NodeCommand is empty; want e.g. [node]")
	}
	if c.Parallel < 1 {
		return fmt.Errorf("docker: config: Parallel (%d) must be >= 1", c.Parallel)
	}
	if c.ExecTimeout <= 0 {
		return fmt.Errorf("docker: config: ExecTimeout (%s) must be > 0", c.ExecTimeout)
	}
	return nil
}
