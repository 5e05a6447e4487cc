package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// bucketDeadHints holds hints their target refused as invalid (key \x00 target \x00 seq ->
// deadHint JSON): set aside so that they no longer hold up handoff, and kept so that no write is
// silently lost. GET /admin/hints/dead lists them.
var bucketDeadHints = []byte("dead_hints")

// deadHint is a hint set aside: what it held and why its target refused it.
type deadHint struct {
	Key    string `json:"key"`
	Target string `json:"target"`
	Rec    Record `json:"record"`
	Error  string `json:"error"` // the refusal
	At     int64  `json:"at"`    // unix ns, this node's clock
}

// setAsideHint moves h from the pending hints into the dead hints, with the reason, unless the
// hint changed since it was read (a newer write merged into it: it is offered again next
// round). It reports whether it moved the hint.
func (s *storage) setAsideHint(h hint, reason string, at time.Time) (bool, error) {
	// The suffix keeps several refusals of one key and target apart; nextSeq is unique on this
	// node across crashes (taken outside the write: it may write itself).
	seq, err := s.nextSeq()
	if err != nil {
		return false, fmt.Errorf("store: setting a hint aside: %w", err)
	}
	moved := false
	err = s.update(func(tx *txn) error {
		moved = false
		hk := []byte(h.Key + "\x00" + h.Target)
		hb := tx.Bucket(bucketHints)
		if string(hb.Get(hk)) != string(h.raw) {
			return nil
		}
		enc, err := json.Marshal(deadHint{Key: h.Key, Target: h.Target, Rec: h.Rec, Error: reason, At: at.UnixNano()})
		if err != nil {
			return fmt.Errorf("store: encoding a dead hint: %w", err)
		}
		db, err := tx.CreateBucketIfNotExists(bucketDeadHints)
		if err != nil {
			return fmt.Errorf("store: dead hints bucket: %w", err)
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], seq)
		if err := db.Put(append(append(hk, 0), n[:]...), enc); err != nil {
			return fmt.Errorf("store: setting a hint aside: %w", err)
		}
		moved = true
		return hb.Delete(hk)
	})
	return moved, err
}

// deadHints lists the hints set aside, oldest first per key and target.
func (s *storage) deadHints() ([]deadHint, error) {
	var out []deadHint
	err := s.forEachRaw(bucketDeadHints, func(k, v []byte) error {
		var d deadHint
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("store: corrupt dead hint %q: %w", k, err)
		}
		out = append(out, d)
		return nil
	})
	return out, err
}
