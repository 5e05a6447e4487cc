package store

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Config configures a Node. Build it with DefaultConfig and change what you need; Validate
// checks it without changing it.
type Config struct {
	ID      string            // this node's id, e.g. "n1"; must be a key of Peers
	Peers   map[string]string // every node of the cluster, self included: id -> "host:port"
	DataDir string            // the storage engine's files live here

	Mode        string // "leaderless" or "multileader"
	N           int    // replicas per key; 0 = 3; capped at the cluster size
	W, R        int    // default write and read quorums; 0 = majority of N (multileader: 1)
	Consistency string // LWW, VClock or ABD (leaderless)

	Conflict string // multileader: ConflictLWW, ConflictCRDT or ConflictSiblings
	Topology string // multileader: TopologyAll, TopologyRing or TopologyStar

	ReadRepair     bool          // repair stale replicas seen by a read
	ReadRepairSync bool          // ...before answering the read (else in the background)
	AntiEntropy    time.Duration // Merkle anti-entropy round interval; 0 = off
	HintedHandoff  bool          // store hints for unreachable replicas, deliver them later
	SloppyQuorum   bool          // hinted writes on fallback nodes count toward W; reads use the first N reachable nodes

	Engine         string        // storage engine: EngineBbolt or EnginePebble (a data dir keeps the one it was written with)
	Fsync          string        // "always" (an acked replica write is on disk) or "never"
	CommitLinger   time.Duration // under load, how long a commit waits for more writes to share it; 0 = never
	AdminToken     string        // bearer token of /admin/...; "" = admin API off
	RequestTimeout time.Duration // coordinator deadline for one client request
	HintInterval   time.Duration // how often hints are offered to their targets
	VNodes         int           // virtual nodes per node on the ring
	MaxBodyBytes   int64         // client request body limit
	Seed           int64         // seeds the fault filter's loss decisions

	// ClusterSecret is shared by every node of the cluster: a node sends it on every internal
	// request (header X-Faultline-Secret) and refuses, with 401, an internal request without it.
	// 16..1024 visible ASCII characters. Validate refuses a cluster of more than one node without
	// a secret unless InsecureInternal is set; a lone node without one refuses every internal
	// request.
	ClusterSecret string
	// InsecureInternal serves /internal/... to anyone who reaches the node (no secret): only for
	// a cluster on a network nobody else reaches. It cannot be combined with ClusterSecret.
	InsecureInternal bool
	// BodyReadTimeout bounds the time to read a request's body, counted from the end of its
	// headers (which have their own 10s bound); a body still incomplete then is answered 408.
	// It must be at least RequestTimeout: a peer gives up on an internal call after
	// RequestTimeout, so a legitimate batch arrives within that or not at all.
	BodyReadTimeout time.Duration

	Now func() time.Time // real time source (time.Now if nil); the node's clock adds its skew
}

// DefaultConfig returns the defaults for a node; set ID, Peers and DataDir.
func DefaultConfig() Config {
	return Config{
		Mode:           "leaderless",
		N:              3,   // capped at the cluster size
		W:              0,   // majority of N
		R:              0,   // majority of N
		Consistency:    LWW, // timestamps from the node's clock
		Conflict:       ConflictLWW,
		Topology:       TopologyAll,
		ReadRepair:     true,
		ReadRepairSync: false, // repair in the background
		AntiEntropy:    time.Second,
		HintedHandoff:  true,
		SloppyQuorum:   false, // it breaks the quorum intersection abd relies on
		Fsync:          "always",
		Engine:         EnginePebble,         // one WAL fsync per group commit (bbolt: two, and page rewrites)
		CommitLinger:   5 * time.Millisecond, // only when the previous commit was shared (see BENCHMARKS.md: 1 ms shared too few writes per sync)
		RequestTimeout: time.Second,
		HintInterval:   250 * time.Millisecond,
		VNodes:         64,
		MaxBodyBytes:   1 << 20,
		Seed:           1,
		// The largest internal body (16 MiB + 64 KiB, see maxInternalBody) arrives in 10s at
		// 1.7 MB/s; the header bound is 10s too.
		BodyReadTimeout: 10 * time.Second,
	}
}

// EffectiveN is N (3 if 0) capped at the cluster size.
func (c Config) EffectiveN() int {
	n := c.N
	if n == 0 {
		n = 3
	}
	return min(n, len(c.Peers))
}

// EffectiveW is W, or the majority of EffectiveN when W is 0 (1 in multileader mode: a write
// is acknowledged after the local durable apply).
func (c Config) EffectiveW() int {
	if c.W == 0 && c.Mode == "multileader" {
		return 1
	}
	if c.W == 0 {
		return Majority(c.EffectiveN())
	}
	return c.W
}

// EffectiveR is R, or the majority of EffectiveN when R is 0 (1 in multileader mode: reads
// are local whatever r says).
func (c Config) EffectiveR() int {
	if c.R == 0 && c.Mode == "multileader" {
		return 1
	}
	if c.R == 0 {
		return Majority(c.EffectiveN())
	}
	return c.R
}

// RegisterConsistency is how register versions merge: Consistency in leaderless mode; in
// multileader mode VClock for siblings, else LWW.
func (c Config) RegisterConsistency() string {
	if c.Mode != "multileader" {
		return c.Consistency
	}
	if c.Conflict == ConflictSiblings {
		return VClock
	}
	return LWW
}

// DataLayout names what a data dir's contents depend on: the mode and how its records are
// versioned and merged (and, for multi-leader, the topology its outboxes were queued for). A
// node refuses a data dir written under another layout rather than misread it or strand its
// queues.
func (c Config) DataLayout() string {
	if c.Mode == "multileader" {
		return "mode=multileader conflict=" + c.Conflict + " topology=" + c.Topology
	}
	return "mode=leaderless consistency=" + c.Consistency
}

// NodeIDs are the cluster's node ids, sorted.
func (c Config) NodeIDs() []string {
	ids := make([]string, 0, len(c.Peers))
	for id := range c.Peers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Validate checks c without changing it.
func (c Config) Validate() error {
	if !idRE.MatchString(c.ID) {
		return fmt.Errorf("store: ID %q must be 1-64 letters, digits, '-' or '_'", c.ID)
	}
	if _, ok := c.Peers[c.ID]; !ok {
		return fmt.Errorf("store: ID %q is not in Peers %v", c.ID, c.NodeIDs())
	}
	for id, addr := range c.Peers {
		if !idRE.MatchString(id) {
			return fmt.Errorf("store: peer id %q must be 1-64 letters, digits, '-' or '_'", id)
		}
		if addr == "" {
			return fmt.Errorf("store: peer %q has no address", id)
		}
	}
	if c.DataDir == "" {
		return fmt.Errorf("store: DataDir is empty")
	}
	if c.Mode != "leaderless" && c.Mode != "multileader" {
		return fmt.Errorf("store: Mode %q: want leaderless or multileader", c.Mode)
	}
	switch c.Conflict {
	case ConflictLWW, ConflictCRDT, ConflictSiblings:
	default:
		return fmt.Errorf("store: Conflict %q: want lww, crdt or siblings", c.Conflict)
	}
	switch c.Topology {
	case TopologyAll, TopologyRing, TopologyStar:
	default:
		return fmt.Errorf("store: Topology %q: want all, ring or star", c.Topology)
	}
	if c.N < 0 {
		return fmt.Errorf("store: N (%d) must be >= 1 (0 = 3)", c.N)
	}
	n := c.EffectiveN()
	if c.W < 0 || c.W > n {
		return fmt.Errorf("store: W (%d) must be in 1..N (%d) (0 = majority)", c.W, n)
	}
	if c.R < 0 || c.R > n {
		return fmt.Errorf("store: R (%d) must be in 1..N (%d) (0 = majority)", c.R, n)
	}
	switch c.Consistency {
	case LWW, VClock, ABD:
	default:
		return fmt.Errorf("store: Consistency %q: want lww, vclock or abd", c.Consistency)
	}
	if c.Engine != EngineBbolt && c.Engine != EnginePebble {
		return fmt.Errorf("store: Engine %q: want %s or %s", c.Engine, EngineBbolt, EnginePebble)
	}
	if c.Fsync != "always" && c.Fsync != "never" {
		return fmt.Errorf("store: Fsync %q: want always or never", c.Fsync)
	}
	if c.CommitLinger < 0 || c.CommitLinger > time.Second {
		return fmt.Errorf("store: CommitLinger (%s) must be in 0..1s", c.CommitLinger)
	}
	if c.AntiEntropy < 0 {
		return fmt.Errorf("store: AntiEntropy (%s) must be >= 0 (0 = off)", c.AntiEntropy)
	}
	if c.RequestTimeout <= 0 {
		return fmt.Errorf("store: RequestTimeout (%s) must be > 0", c.RequestTimeout)
	}
	if c.HintInterval <= 0 {
		return fmt.Errorf("store: HintInterval (%s) must be > 0", c.HintInterval)
	}
	if c.VNodes < 1 {
		return fmt.Errorf("store: VNodes (%d) must be >= 1", c.VNodes)
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("store: MaxBodyBytes (%d) must be >= 1024", c.MaxBodyBytes)
	}
	if c.BodyReadTimeout < c.RequestTimeout {
		return fmt.Errorf("store: BodyReadTimeout (%s) must be >= RequestTimeout (%s): peers wait that long for an internal call", c.BodyReadTimeout, c.RequestTimeout)
	}
	return c.validateSecret()
}

// Bounds of a cluster secret: long enough not to be guessed, short enough for a header.
const (
	minSecretLen = 16
	maxSecretLen = 1024
)

func (c Config) validateSecret() error {
	switch {
	case c.ClusterSecret != "" && c.InsecureInternal:
		return errors.New("store: ClusterSecret and InsecureInternal are both set: choose one")
	case c.ClusterSecret == "" && !c.InsecureInternal && len(c.Peers) > 1:
		return fmt.Errorf("store: ClusterSecret is empty: anyone who reaches a node of this %d-node cluster "+
			"could write its replicas through /internal/...; set a cluster secret (faultline node: "+
			"--cluster-secret or FAULTLINE_CLUSTER_SECRET), or InsecureInternal (--insecure-internal) "+
			"on a network nobody else reaches", len(c.Peers))
	case c.ClusterSecret == "":
		return nil
	case len(c.ClusterSecret) < minSecretLen || len(c.ClusterSecret) > maxSecretLen:
		return fmt.Errorf("store: ClusterSecret is %d characters: want %d..%d", len(c.ClusterSecret), minSecretLen, maxSecretLen)
	}
	for i := 0; i < len(c.ClusterSecret); i++ {
		if b := c.ClusterSecret[i]; b <= ' ' || b > '~' {
			// Neither the secret nor its characters go into the message.
			return fmt.Errorf("store: ClusterSecret has a character that is not visible ASCII at position %d (a header carries it)", i)
		}
	}
	return nil
}
