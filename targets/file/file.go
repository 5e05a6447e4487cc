// Package file is the target of any store that speaks faultline's client API (docs/API.md),
// described by a target file (YAML) instead of Go: what its nodes run (a static binary or an
// image, and an argument template), its ports, its health check, and the fault kinds it takes.
// A store that answers the client API's endpoints can be tested with every workload.
//
//	name: mystore
//	binary: ./bin/mystore       # a static linux binary (local runtime; an image is built from it for docker)
//	image: ""                   # or an existing image (docker runtime)
//	args: [--id, "{{.ID}}", --listen, "{{.IP}}:{{.Port}}", --peers, "{{.Peers}}", --data, "{{.Data}}"]
//	env: []
//	port: 7000
//	peer_port: 0
//	health: {path: /health}     # GET; healthy on 2xx
//	protocol: faultline-http    # the client API of docs/API.md
//	quorums: false              # true: the store takes ?w= and ?r=; the run's --w and --r are sent
//	faults: [partition, kill, pause, loss]
//
// With neither binary nor image, the nodes run the faultline binary itself (its image on
// docker), so `args: [node, ...]` runs faultline's own store through the generic path.
package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/workloads"
	"github.com/faultline/faultline/workloads/storeclient"
)

// Protocol is the only client protocol a target file may name: docs/API.md.
const Protocol = "faultline-http"

// Spec is a target file.
type Spec struct {
	Name     string   `yaml:"name"`
	Binary   string   `yaml:"binary"`    // a static binary, relative to the file
	Image    string   `yaml:"image"`     // an existing Docker image
	Args     []string `yaml:"args"`      // argument template (text/template over harness.LaunchVars)
	Env      []string `yaml:"env"`       // KEY=VALUE templates
	Port     int      `yaml:"port"`      // client port (docker; local picks free ports)
	PeerPort int      `yaml:"peer_port"` // a second port for peers (0: none)
	Data     string   `yaml:"data"`      // data directory inside a container (default /data)
	Health   struct {
		Path string `yaml:"path"` // GET path answering 2xx when the node serves clients
	} `yaml:"health"`
	Protocol string `yaml:"protocol"`
	// Quorums says the store takes the `w` and `r` query parameters of docs/API.md: the run's
	// --w and --r are then sent on every request (final reads included). Without it none are
	// sent and the store's own defaults apply.
	Quorums bool     `yaml:"quorums"`
	Faults  []string `yaml:"faults"`
}

// Load reads and checks a target file; a relative binary is taken relative to the file.
func Load(path string) (*Target, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("target file: %w", err)
	}
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("target file %s: %w", path, err)
	}
	if s.Binary != "" && !filepath.IsAbs(s.Binary) {
		s.Binary = filepath.Join(filepath.Dir(path), s.Binary)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("target file %s: %w", path, err)
	}
	return &Target{spec: s}, nil
}

// Validate reports what is wrong with s.
func (s Spec) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if s.Name == "" {
		add("name: missing")
	}
	if s.Binary != "" && s.Image != "" {
		add("binary and image: give one (or neither, to run the faultline binary)")
	}
	if len(s.Args) == 0 {
		add("args: missing (the node's argument template)")
	}
	if _, err := harness.Expand(append(slices.Clone(s.Args), s.Env...), harness.Vars([]string{"n1"}, []string{"127.0.0.1"}, []int{1}, []int{2}, 0, "/data")); err != nil {
		add("args: %v", err)
	}
	if s.Port < 1 || s.Port > 65535 || s.PeerPort < 0 || s.PeerPort > 65535 {
		add("port (%d) must be in 1..65535, peer_port (%d) in 0..65535", s.Port, s.PeerPort)
	}
	if s.Health.Path == "" || s.Health.Path[0] != '/' {
		add("health.path %q: want a path like /health", s.Health.Path)
	}
	if s.Protocol != Protocol {
		add("protocol %q: want %s (the client API of docs/API.md)", s.Protocol, Protocol)
	}
	for _, f := range s.Faults {
		switch f {
		case "partition", "kill", "pause", "loss":
		case "clock", "delay":
			add("faults: %s needs a way into the store (its clock, its transport) that the client API does not have", f)
		default:
			add("faults: %q: want partition, kill, pause or loss", f)
		}
	}
	return errors.Join(errs...)
}

// Target is a target file's store as a harness.Target.
type Target struct {
	spec Spec
	// image is the Docker image built from the binary (cmd/faultline sets it with WithImage).
	image string
}

var _ harness.Target = (*Target)(nil)

// Spec is the loaded file.
func (t *Target) Spec() Spec { return t.spec }

// WithImage returns t running image on Docker (the image built from its binary).
func (t *Target) WithImage(image string) *Target {
	c := *t
	c.image = image
	return &c
}

// Name is the file's name field.
func (t *Target) Name() string { return t.spec.Name }

// Faults are the file's faults.
func (t *Target) Faults() []string { return t.spec.Faults }

// Check refuses compare-and-set: the client API has none.
func (t *Target) Check(cfg harness.Config) error {
	if cfg.CAS > 0 {
		return fmt.Errorf("--cas %g: the client API of docs/API.md has no compare-and-set", cfg.CAS)
	}
	return nil
}

// Nodes is the file's launch.
func (t *Target) Nodes(harness.Config) (harness.NodeSpec, error) {
	img := t.spec.Image
	if t.image != "" {
		img = t.image
	}
	return harness.NodeSpec{Launch: &harness.Launch{
		Image: img, Binary: t.spec.Binary,
		Args: t.spec.Args, Env: t.spec.Env,
		Port: t.spec.Port, PeerPort: t.spec.PeerPort, Data: t.spec.Data,
	}}, nil
}

// Open makes an API client per node.
func (t *Target) Open(_ context.Context, cfg harness.Config, _ harness.ClusterSpec, nodes []harness.Node) (harness.Cluster, error) {
	c := &cluster{addrs: map[string]string{}, hc: client.NewHTTPClient(), health: t.spec.Health.Path, opTimeout: cfg.OpTimeout}
	if t.spec.Quorums {
		c.w, c.r = cfg.Store.W, cfg.Store.R
	}
	for _, n := range nodes {
		c.addrs[n.ID] = n.Addr
	}
	return c, nil
}

type cluster struct {
	addrs     map[string]string
	hc        *http.Client
	health    string
	opTimeout time.Duration
	w, r      int // quorums sent with every request (0: none)
}

// Healthy is a 2xx answer to GET health path.
func (c *cluster) Healthy(ctx context.Context, node string) error {
	addr, ok := c.addrs[node]
	if !ok {
		return fmt.Errorf("target file: unknown node %q", node)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+c.health, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("health of %s: %w", node, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("health of %s: status %d", node, resp.StatusCode)
	}
	return nil
}

// Client speaks the client API to node, with the run's quorums if the file says the store takes
// them, else the node's own.
func (c *cluster) Client(node string, _ bool) workloads.Client {
	return storeclient.New(client.New(c.addrs[node], client.WithHTTPClient(c.hc), client.WithTimeout(c.opTimeout)), c.w, c.r)
}

func (c *cluster) Close() error { return nil }
