package simrt

import (
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/sim"
	"github.com/faultline/faultline/store"
)

// Store is the store as the simulator runs it: how a node boots on a sim.Env, how a client's
// requests and the store's answers travel as sim messages, and how a node's disk is read for the
// replica dumps. Reference is the reference store's (store.SimBoot and its message types).
type Store interface {
	// Boot is the node's program for cfg; events receives the core's internal decisions.
	Boot(cfg store.Config, log zerolog.Logger, events func(store.Event)) sim.Boot
	// Write is the message (kind and body) asking a node to coordinate a write.
	Write(id uint64, key string, op store.WriteOp, q store.Quorums) (kind string, body any)
	// Read is the message asking a node to coordinate a read of a kind of record.
	Read(id uint64, key, kind string, q store.Quorums) (kind2 string, body any)
	// Reply decodes a node's answer to a client: the request id, the record read (reads), and
	// the error; ok is false for a message that is not an answer.
	Reply(m sim.Message) (id uint64, rec store.Record, err *store.OpError, ok bool)
	// Dump reads a node's disk: every key it holds as a replica.
	Dump(n *sim.Node) (map[string]store.Record, error)
	// Stats are a node's counters since its last boot (nil: none), for stats.json.
	Stats(n *sim.Node) map[string]int64
}

// clusterSecret authenticates the simulated nodes to each other. The simulated network has no
// one else on it, but the nodes run the store's own Config checks, which want a secret (or
// InsecureInternal) for a cluster; a fixed one keeps the run a function of the seed.
const clusterSecret = "faultline-simulated-cluster-secret"

// StoreConfig is node id's store.Config for cfg: the settings `faultline node` gets from the
// flags cfg.NodeArgs names, with a simulated address and data dir.
func StoreConfig(cfg harness.Config, id string) store.Config {
	s := cfg.Store
	sc := store.DefaultConfig()
	sc.ID = id
	sc.Peers = map[string]string{}
	for _, n := range cfg.NodeIDs() {
		sc.Peers[n] = "sim:" + n
	}
	sc.DataDir = "sim:" + id
	sc.Mode = s.Mode
	sc.N, sc.W, sc.R = s.N, s.W, s.R
	sc.Consistency = s.Consistency
	sc.Conflict, sc.Topology = s.Conflict, s.Topology
	sc.ReadRepair = s.ReadRepair
	sc.AntiEntropy = s.AntiEntropy
	sc.HintedHandoff = s.HintedHandoff
	sc.SloppyQuorum = s.SloppyQuorum
	sc.Fsync = s.Fsync
	sc.ClusterSecret = clusterSecret
	sc.Seed = cfg.Seed
	return sc
}
