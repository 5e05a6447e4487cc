package store

import (
	"sync"
	"sync/atomic"
)

// Stats counts every mechanism of the node. Names are the keys of GET /admin/stats.
type Stats struct {
	mu sync.RWMutex
	c  map[string]*atomic.Int64
}

func newStats() *Stats { return &Stats{c: map[string]*atomic.Int64{}} }

func (s *Stats) counter(name string) *atomic.Int64 {
	s.mu.RLock()
	c, ok := s.c[name]
	s.mu.RUnlock()
	if ok {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok = s.c[name]
	if !ok {
		c = new(atomic.Int64)
		s.c[name] = c
	}
	return c
}

// Add adds d to the named counter.
func (s *Stats) Add(name string, d int64) { s.counter(name).Add(d) }

// Inc adds one to the named counter.
func (s *Stats) Inc(name string) { s.counter(name).Add(1) }

// Get reads the named counter.
func (s *Stats) Get(name string) int64 { return s.counter(name).Load() }

// Snapshot copies every counter.
func (s *Stats) Snapshot() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.c))
	for k, v := range s.c {
		out[k] = v.Load()
	}
	return out
}

// Stat names, so that docs/API.md and the code agree.
var statNames = []string{
	"client_get", "client_put", "client_incr", "client_counter", "client_set_add", "client_set_read",
	"client_bad_request", "outcome_ok", "outcome_failed", "outcome_indeterminate",
	"replica_read", "replica_write", "replica_write_changed", "replica_kind_conflict",
	"read_repair", "read_repair_sync", "siblings_returned", "crdt_merge",
	"abd_query", "abd_write_back", "vclock_forward",
	"hint_stored", "hint_delivered", "hint_sloppy_ack", "hint_local", "replica_suspected_skip",
	"ae_round", "ae_divergent_leaves", "ae_keys_sent", "ae_keys_received", "ae_keys_repaired",
	"fault_drop_out", "fault_drop_in", "fault_loss", "fault_delay", "hint_pending",
	"internal_unauthorized", "ae_record_too_large",
}
