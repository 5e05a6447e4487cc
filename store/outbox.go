package store

import (
	"encoding/binary"
)

// The multi-leader mode keeps its replication state in the node's storage, next to the data,
// so that a write, its sequence number and its place in every outbound queue commit together.
var (
	bucketMLMeta    = []byte("ml_meta")    // "seq" -> this node's last origin sequence number
	bucketMLApplied = []byte("ml_applied") // origin -> highest sequence number applied from it
	bucketMLVV      = []byte("ml_vv")      // key -> VV of the writes applied to it (conflict detection)
)

// outboxBucket is the persistent outbound log to one peer: local append number -> outEntry.
func outboxBucket(peer string) []byte { return []byte("ml_out_" + peer) }

// mlEntry is one replicated write: the record it merges in, stamped with its origin and the
// origin's sequence number (unique and increasing per origin, across restarts).
type mlEntry struct {
	Origin string `json:"o"`
	Seq    uint64 `json:"s"`
	Key    string `json:"k"`
	Rec    Record `json:"r"`
	Deps   VV     `json:"d,omitempty"` // the key's applied writes at the origin before this one
	// At is when the origin applied the write: unix ns of the origin's real clock (Config.Now,
	// not its skewable clock), for end-to-end lags. 0 (absent, as in entries queued by older
	// versions) means unknown: no lag is recorded for the entry.
	At int64 `json:"t,omitempty"`
}

// outEntry is an mlEntry queued for one peer, with the (real) time it was queued.
type outEntry struct {
	E   mlEntry `json:"e"`
	Enq int64   `json:"q"` // unix ns of the node's real clock when queued
}

// queued is one outbox entry read back, with its storage key.
type queued struct {
	id  []byte
	out outEntry
}

func u64key(x uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], x)
	return b[:]
}

func u64val(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}
