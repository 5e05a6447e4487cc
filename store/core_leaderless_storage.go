package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// The leaderless core's local storage, on Env.Get/Scan/Persist, in storage.go's layout (buckets
// data, hints, own, meta, dead_hints; the same keys and encodings), so a data dir written by
// the goroutine code reads the same here.
//
// Durability: every write goes through persist, which counts the keys it touches as pending
// until Env says the batch is done; settled(key, f) runs f once every write of key handed to
// Persist before it is done (later writes do not hold it up, so a busy key cannot starve its
// reads). A read that answers (a replica's data read, the coordinator's own) waits for that, so
// nobody sees a value a crash can take back.

// recordCache holds data records as decoded from their stored bytes, so that a read does not
// decode the same bytes again: an entry is dropped when a batch writing its key is handed to
// Persist (and again if that batch fails: its key's stored state is then unknown), so it
// always equals what Get would return and decode. It is volatile (a crash drops the core with
// it) and bounded: past recordCacheMax keys it starts over. Readers get a deep copy.
type recordCache map[string]cachedRecord

type cachedRecord struct {
	rec Record
	raw []byte
}

const recordCacheMax = 4096

// forget drops the cached records of the data keys b writes.
func (c *llCore) forget(b *Batch) {
	if len(c.recs) == 0 {
		return
	}
	for _, op := range b.Ops {
		if op.Bucket == string(bucketData) {
			delete(c.recs, string(op.Key))
		}
	}
}

// persist hands b to the Env, with keys (data keys whose record or hints b changes) pending
// until it is done.
func (c *llCore) persist(keys []string, b *Batch, done func(error)) {
	c.persistSeq++
	id := c.persistSeq
	for _, k := range keys {
		c.pending[k] = append(c.pending[k], id)
	}
	c.forget(b)
	c.env.Persist(b, func(err error) {
		if err != nil {
			c.forget(b)
		}
		for _, k := range keys {
			c.persisted(k, id)
		}
		if done != nil {
			done(err)
		}
	})
}

// persisted notes that write id of key is done and runs the waiters it was holding up.
func (c *llCore) persisted(key string, id uint64) {
	ids := c.pending[key]
	if i := slices.Index(ids, id); i >= 0 {
		ids = slices.Delete(ids, i, i+1)
	}
	if len(ids) == 0 {
		delete(c.pending, key)
	} else {
		c.pending[key] = ids
	}
	ws := c.waiters[key]
	var keep []keyWaiter
	var run []func()
	for _, w := range ws {
		if len(ids) == 0 || ids[0] > w.upTo {
			run = append(run, w.f)
		} else {
			keep = append(keep, w)
		}
	}
	if len(keep) == 0 {
		delete(c.waiters, key)
	} else {
		c.waiters[key] = keep
	}
	for _, f := range run {
		f()
	}
}

// keyWaiter waits for the writes of a key up to persist id upTo.
type keyWaiter struct {
	upTo uint64
	f    func()
}

// settled calls f once the writes of key handed to Persist so far are done: now if none is
// pending.
func (c *llCore) settled(key string, f func()) {
	ids := c.pending[key]
	if len(ids) == 0 {
		f()
		return
	}
	c.waiters[key] = append(c.waiters[key], keyWaiter{upTo: ids[len(ids)-1], f: f})
}

func put(bucket []byte, key, value []byte) BatchOp {
	return BatchOp{Bucket: string(bucket), Key: key, Value: value}
}

// getRecord reads key's record (zero when absent) and its stored bytes (not to be changed).
func (c *llCore) getRecord(key string) (Record, []byte, error) {
	if e, ok := c.recs[key]; ok {
		return cloneRecord(e.rec), e.raw, nil
	}
	raw, err := c.env.Get(string(bucketData), []byte(key))
	if err != nil {
		return Record{}, nil, err
	}
	r, err := decodeRecord(raw)
	if err != nil {
		return r, raw, err
	}
	if c.recs == nil || len(c.recs) >= recordCacheMax {
		c.recs = recordCache{}
	}
	c.recs[key] = cachedRecord{rec: cloneRecord(r), raw: raw}
	return r, raw, nil
}

// hintsFor returns every hint held for key, merged with each other.
func (c *llCore) hintsFor(key string) (Record, error) {
	var out Record
	var err error
	prefix := []byte(key + "\x00")
	serr := c.env.Scan(string(bucketHints), prefix, func(k, v []byte) bool {
		if !bytes.HasPrefix(k, prefix) {
			return false
		}
		var r Record
		if r, err = decodeRecord(v); err != nil {
			return false
		}
		if m, err := Merge(out, r, c.cfg.Consistency); err == nil {
			out = m
		}
		return true
	})
	return out, errors.Join(serr, err)
}

// readLocalNow is this node's replica of key merged with the hints it holds for it, as stored
// now (durable or not).
func (c *llCore) readLocalNow(key string) (Record, error) {
	r, _, err := c.getRecord(key)
	if err != nil {
		return r, err
	}
	h, err := c.hintsFor(key)
	if err != nil || h.Empty() {
		return r, err
	}
	if m, err := Merge(r, h, c.cfg.Consistency); err == nil {
		return m, nil
	}
	return r, nil
}

// readLocal calls done with readLocalNow once every write of key is done.
func (c *llCore) readLocal(key string, done func(Record, error)) {
	c.settled(key, func() { done(c.readLocalNow(key)) })
}

// merge merges in into key's record: computed and handed to Env now (so the next merge sees
// it), done once durable. A kind mismatch changes nothing and is a kindError. An unchanged
// record is done once the writes of key before it are.
func (c *llCore) merge(key string, in Record, done func(mergeResult, error)) {
	o, raw, err := c.getRecord(key)
	var res mergeResult
	var enc []byte
	if err == nil {
		var m Record
		if m, err = Merge(o, in, c.cfg.Consistency); err == nil {
			enc, err = json.Marshal(m)
			res = mergeResult{NewDigest: digestBytes(enc), Cur: m}
		}
	}
	if err != nil {
		done(res, err)
		return
	}
	if raw != nil {
		res.OldDigest = digestBytes(raw)
	}
	c.explain(key, o, in, res.Cur)
	if bytes.Equal(raw, enc) {
		c.settled(key, func() { done(res, nil) })
		return
	}
	res.Changed = true
	// The trees follow the stored state at once (a crash rebuilds them from the disk).
	c.updateTrees(key, res.OldDigest, res.NewDigest)
	c.persist([]string{key}, &Batch{Ops: []BatchOp{put(bucketData, []byte(key), enc)}}, func(err error) { done(res, err) })
	c.remember(key, res.Cur, enc)
}

// remember caches r as key's record, stored as enc (just handed to Persist), when decoding
// enc gives r's copy back exactly: its strings are valid UTF-8 (JSON replaces invalid bytes).
func (c *llCore) remember(key string, r Record, enc []byte) {
	ok := utf8.ValidString(r.Kind)
	for _, s := range r.Sibs {
		ok = ok && utf8.ValidString(s.Value) && utf8.ValidString(s.Node)
		for n := range s.Ctx {
			ok = ok && utf8.ValidString(n)
		}
	}
	for _, m := range []map[string]int64{r.P, r.N} {
		for n := range m {
			ok = ok && utf8.ValidString(n)
		}
	}
	for _, e := range r.Elems {
		ok = ok && utf8.ValidString(e)
	}
	if !ok {
		return
	}
	if c.recs == nil || len(c.recs) >= recordCacheMax {
		c.recs = recordCache{}
	}
	c.recs[key] = cachedRecord{rec: cloneRecord(r), raw: enc}
}

// storeHint merges in into the hint for (key, target); done once durable.
func (c *llCore) storeHint(key, target string, in Record, done func(error)) {
	hk := []byte(key + "\x00" + target)
	raw, err := c.env.Get(string(bucketHints), hk)
	var enc []byte
	if err == nil {
		var o, m Record
		if o, err = decodeRecord(raw); err == nil {
			if m, err = Merge(o, in, c.cfg.Consistency); err == nil {
				enc, err = json.Marshal(m)
			}
		}
	}
	if err != nil {
		done(err)
		return
	}
	c.persist([]string{key}, &Batch{Ops: []BatchOp{put(bucketHints, hk, enc)}}, done)
}

// hints lists every stored hint, in stored order (key, then target).
func (c *llCore) hints() ([]hint, error) {
	var out []hint
	var derr error
	err := c.env.Scan(string(bucketHints), nil, func(k, v []byte) bool {
		key, target, ok := strings.Cut(string(k), "\x00")
		if !ok {
			return true
		}
		r, err := decodeRecord(v)
		if err != nil {
			derr = err
			return false
		}
		out = append(out, hint{Key: key, Target: target, Rec: r, raw: append([]byte{}, v...)})
		return true
	})
	return out, errors.Join(err, derr)
}

// deleteHint removes a delivered hint unless it changed since it was read.
func (c *llCore) deleteHint(h hint, done func(error)) {
	hk := []byte(h.Key + "\x00" + h.Target)
	cur, err := c.env.Get(string(bucketHints), hk)
	if err != nil || !bytes.Equal(cur, h.raw) {
		done(err)
		return
	}
	c.persist([]string{h.Key}, &Batch{Ops: []BatchOp{{Bucket: string(bucketHints), Key: hk, Delete: true}}}, done)
}

// setAsideHint moves h into the dead hints with the reason, unless it changed since it was
// read; moved says whether it did.
func (c *llCore) setAsideHint(h hint, reason string, done func(moved bool, err error)) {
	c.nextSeq(func(seq uint64, err error) {
		if err != nil {
			done(false, fmt.Errorf("store: setting a hint aside: %w", err))
			return
		}
		hk := []byte(h.Key + "\x00" + h.Target)
		cur, err := c.env.Get(string(bucketHints), hk)
		if err != nil || !bytes.Equal(cur, h.raw) {
			done(false, err)
			return
		}
		enc, err := json.Marshal(deadHint{Key: h.Key, Target: h.Target, Rec: h.Rec, Error: reason, At: c.env.Now().UnixNano()})
		if err != nil {
			done(false, fmt.Errorf("store: encoding a dead hint: %w", err))
			return
		}
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], seq)
		b := &Batch{Ops: []BatchOp{
			put(bucketDeadHints, append(append(append([]byte{}, hk...), 0), n[:]...), enc),
			{Bucket: string(bucketHints), Key: hk, Delete: true},
		}}
		c.persist([]string{h.Key}, b, func(err error) { done(err == nil, err) })
	})
}

// addOwn adds delta to this node's own contribution to counter key; done gets the new totals
// once durable.
func (c *llCore) addOwn(key string, delta int64, done func(p, n int64, err error)) {
	var cur [2]int64
	v, err := c.env.Get(string(bucketOwn), []byte(key))
	if err == nil && v != nil {
		if jerr := json.Unmarshal(v, &cur); jerr != nil {
			err = fmt.Errorf("store: corrupt counter contribution: %w", jerr)
		}
	}
	if err == nil {
		err = addContribution(&cur, delta)
	}
	if err != nil {
		done(0, 0, err)
		return
	}
	enc, _ := json.Marshal(cur)
	c.persist(nil, &Batch{Ops: []BatchOp{put(bucketOwn, []byte(key), enc)}}, func(err error) { done(cur[0], cur[1], err) })
}

// nextSeq hands out a sequence number never used before by this node, across crashes: numbers
// come from blocks of seqBlock whose high-water mark is persisted before any is used.
func (c *llCore) nextSeq(done func(uint64, error)) {
	if c.seq < c.seqHigh && len(c.seqWait) == 0 {
		c.seq++
		done(c.seq, nil)
		return
	}
	c.seqWait = append(c.seqWait, done)
	if c.seqReserving {
		return
	}
	c.seqReserving = true
	high := c.seqHigh + seqBlock
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], high)
	c.persist(nil, &Batch{Ops: []BatchOp{put(bucketMeta, []byte("seq"), b[:])}}, func(err error) {
		c.seqReserving = false
		waiting := c.seqWait
		c.seqWait = nil
		if err != nil {
			for _, f := range waiting {
				f(0, fmt.Errorf("store: reserving sequence numbers: %w", err))
			}
			return
		}
		c.seqHigh = high
		for i, f := range waiting {
			if c.seq >= c.seqHigh { // a block ran out: the rest wait for the next one
				for _, g := range waiting[i:] {
					c.nextSeq(g)
				}
				return
			}
			c.seq++
			f(c.seq, nil)
		}
	})
}

// loadMeta checks (or records) the data layout and reads the sequence high-water mark.
func (c *llCore) loadMeta() error {
	layout := c.cfg.DataLayout()
	had, err := c.env.Get(string(bucketMeta), []byte("layout"))
	if err != nil {
		return err
	}
	if c.newDir, err = layoutState(had, layout); err != nil { // Start records a new one
		return err
	}
	v, err := c.env.Get(string(bucketMeta), []byte("seq"))
	if err != nil {
		return err
	}
	if len(v) == 8 {
		c.seqHigh = binary.BigEndian.Uint64(v)
	}
	c.seq = c.seqHigh // everything up to the old mark may have been used before a crash
	return nil
}

// recordsIn lists this node's records in the given Merkle leaves that peer also replicates.
func (c *llCore) recordsIn(leaves []int, peer string) (map[string]Record, error) {
	want := map[int]bool{}
	for _, x := range leaves {
		want[x] = true
	}
	out := map[string]Record{}
	var derr error
	err := c.env.Scan(string(bucketData), nil, func(k, v []byte) bool {
		key := string(k)
		if !want[LeafOf(key)] || !c.ring.IsReplica(key, c.n, peer) {
			return true
		}
		r, err := decodeRecord(v)
		if err != nil {
			derr = err
			return false
		}
		out[key] = r
		return true
	})
	return out, errors.Join(err, derr)
}
