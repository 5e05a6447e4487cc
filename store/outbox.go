package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
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

// createMLBuckets creates the mode's buckets, one outbox per peer.
func createMLBuckets(tx *txn, peers []string) error {
	for _, b := range [][]byte{bucketMLMeta, bucketMLApplied, bucketMLVV} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	for _, p := range peers {
		if _, err := tx.CreateBucketIfNotExists(outboxBucket(p)); err != nil {
			return err
		}
	}
	return nil
}

// enqueue appends e to peer's outbox inside tx and returns its place (increasing per outbox).
func enqueue(tx *txn, peer string, e mlEntry, now int64) (uint64, error) {
	b := tx.Bucket(outboxBucket(peer))
	if b == nil {
		return 0, fmt.Errorf("store: no outbox for peer %q", peer)
	}
	id, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	enc, err := json.Marshal(outEntry{E: e, Enq: now})
	if err != nil {
		return 0, err
	}
	return id, b.Put(u64key(id), enc)
}

// peekOutbox returns up to max entries at the head of peer's outbox.
func (s *storage) peekOutbox(peer string, max int) ([]queued, error) {
	var out []queued
	err := s.forEachRaw(outboxBucket(peer), func(k, v []byte) error {
		if len(out) >= max {
			return errStopScan
		}
		var o outEntry
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("store: corrupt outbox entry for %s: %w", peer, err)
		}
		out = append(out, queued{id: append([]byte{}, k...), out: o})
		return nil
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return out, err
}

// outboxLen counts peer's outbox (a walk of the bucket: used once, at start).
func (s *storage) outboxLen(peer string) (n int, err error) {
	err = s.forEachRaw(outboxBucket(peer), func(_, _ []byte) error {
		n++
		return nil
	})
	return n, err
}

// outboxOldest returns the queue time of the oldest entry of peer's outbox (0 if empty).
func (s *storage) outboxOldest(peer string) (oldest int64, err error) {
	err = s.forEachRaw(outboxBucket(peer), func(_, v []byte) error {
		var o outEntry
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("store: corrupt outbox entry for %s: %w", peer, err)
		}
		oldest = o.Enq
		return errStopScan
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return oldest, err
}

// ackOutbox deletes delivered entries from peer's outbox.
func (s *storage) ackOutbox(peer string, done []queued) error {
	return s.update(func(tx *txn) error {
		b := tx.Bucket(outboxBucket(peer))
		if b == nil {
			return nil
		}
		for _, q := range done {
			if err := b.Delete(q.id); err != nil {
				return err
			}
		}
		return nil
	})
}

// getVV reads a JSON version vector from bucket b (empty if absent).
func getVV(b *bucket, key string) (VV, error) {
	v := VV{}
	raw := b.Get([]byte(key))
	if raw == nil {
		return v, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("store: corrupt version vector of %q: %w", key, err)
	}
	return v, nil
}
