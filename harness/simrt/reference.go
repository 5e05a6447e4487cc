package simrt

import (
	"github.com/rs/zerolog"

	"github.com/faultline/faultline/sim"
	"github.com/faultline/faultline/store"
)

// Reference is the reference store in the simulator: its own core, booted by store.SimBoot,
// reached with its client messages (store.SimWrite, SimRead, SimReply).
type Reference struct{}

var _ Store = Reference{}

// Boot is store.SimBoot.
func (Reference) Boot(cfg store.Config, log zerolog.Logger, events func(store.Event)) sim.Boot {
	return store.SimBoot(cfg, log, events)
}

// Write is a store.SimWrite.
func (Reference) Write(id uint64, key string, op store.WriteOp, q store.Quorums) (string, any) {
	return store.SimKindWrite, store.SimWrite{ID: id, Key: key, Op: op, Q: q}
}

// Read is a store.SimRead.
func (Reference) Read(id uint64, key, kind string, q store.Quorums) (string, any) {
	return store.SimKindRead, store.SimRead{ID: id, Key: key, Kind: kind, Q: q}
}

// Reply decodes a store.SimReply.
func (Reference) Reply(m sim.Message) (uint64, store.Record, *store.OpError, bool) {
	r, ok := m.Body.(store.SimReply)
	if !ok || m.Kind != store.SimKindReply {
		return 0, store.Record{}, nil, false
	}
	return r.ID, r.Record, r.Err, true
}

// Dump is store.SimDump.
func (Reference) Dump(n *sim.Node) (map[string]store.Record, error) { return store.SimDump(n) }

// Stats is store.SimStats.
func (Reference) Stats(n *sim.Node) map[string]int64 { return store.SimStats(n) }
