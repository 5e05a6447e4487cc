package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

var (
	bucketData  = []byte("data")  // key -> Record JSON (keys this node replicates)
	bucketHints = []byte("hints") // key \x00 target -> Record JSON (writes held for an unreachable replica)
	bucketOwn   = []byte("own")   // key -> this node's own counter contribution {p, n}
	bucketMeta  = []byte("meta")  // "seq" -> sequence high-water mark; "layout" -> Config.DataLayout
)

const seqBlock = 1 << 16 // sequence numbers reserved per durable bump

// storage is the node's data on its storage engine (Config.Engine). With fsync "always" every
// write is durable (its engine batch synced) before it returns; with "never" nothing is synced.
//
// Writes go through a group commit: a single committer applies one engine batch at a time
// holding every write queued while the previous one committed (and, under load, lingering
// briefly for more). An idle node commits at once; a busy one shares each fsync among many
// writes. Each write function runs in its own txn: it sees the writes of the functions before it
// in the group, and its own writes join the batch only if it returns nil, so one failing write
// does not spoil the others in its group.
type storage struct {
	eng    Engine
	engine string // Config.Engine
	sync   bool   // fsync "always"
	cons   string

	reqs    chan commitReq
	stop    chan struct{}
	stopped chan struct{}

	commits, committed atomic.Int64 // engine batches, and writes in them
	linger             time.Duration

	// The committer's own: buckets txn.Bucket knows (the others are created with
	// txn.CreateBucketIfNotExists), and the next NextSequence number of the buckets that used it.
	buckets map[string]bool
	nextID  map[string]uint64

	seqMu   sync.Mutex
	seq     uint64 // last sequence number handed out
	seqHigh uint64 // durable high-water: no number above it has been used
}

// openStorage opens (or creates) the node's store in dir with engine (Config.Engine). layout is
// Config.DataLayout: a new store records it, an existing one must carry the same. A dir written
// by another engine is refused.
func openStorage(dir, engine, fsync, cons, layout string, linger time.Duration, log zerolog.Logger) (*storage, error) {
	eng, err := openEngine(dir, engine, fsync, log)
	if err != nil {
		return nil, err
	}
	s, err := newStorage(eng, engine, fsync, cons, layout, linger)
	if errors.Is(err, errLayout) {
		return nil, fmt.Errorf("store: data dir %s: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: initializing %s: %w", dir, err)
	}
	return s, nil
}

// newStorage runs the store on eng (closed on error).
func newStorage(eng Engine, engine, fsync, cons, layout string, linger time.Duration) (*storage, error) {
	s := &storage{
		eng: eng, engine: engine, sync: fsync != "never", cons: cons,
		reqs: make(chan commitReq, 1024), stop: make(chan struct{}), stopped: make(chan struct{}), linger: linger,
		buckets: map[string]bool{}, nextID: map[string]uint64{},
	}
	for _, b := range [][]byte{bucketData, bucketHints, bucketOwn, bucketMeta} {
		s.buckets[string(b)] = true
	}
	if err := s.init(layout); err != nil {
		eng.Close()
		return nil, err
	}
	go s.committer()
	return s, nil
}

// init checks (or records) the layout and reads the sequence high-water mark.
func (s *storage) init(layout string) error {
	had, err := s.eng.Get(string(bucketMeta), []byte("layout"))
	if err != nil {
		return err
	}
	switch string(had) {
	case layout:
	case "":
		b := &Batch{Ops: []BatchOp{{Bucket: string(bucketMeta), Key: []byte("layout"), Value: []byte(layout)}}}
		if err := s.eng.Apply(b, s.sync); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: it holds data written with %s, and this node is configured with %s; start it with the flags it had, or give it a fresh data dir", errLayout, had, layout)
	}
	v, err := s.eng.Get(string(bucketMeta), []byte("seq"))
	if err != nil {
		return err
	}
	if len(v) == 8 {
		s.seqHigh = binary.BigEndian.Uint64(v)
	}
	// Everything up to the old high-water mark may have been used before a crash.
	s.seq = s.seqHigh
	return nil
}

func (s *storage) close() error {
	close(s.stop)
	<-s.stopped
	return s.eng.Close()
}

type commitReq struct {
	fn   func(*txn) error
	done chan error
}

// errLayout: the data dir was written under another Config.DataLayout.
var errLayout = errors.New("wrong data layout")

// errStopScan ends a forEachRaw early without an error.
var errStopScan = errors.New("stop scan")

// errClosed is returned for writes after close.
var errClosed = errors.New("store: storage closed")

// update runs fn in a group commit and returns once its writes are durable (per the fsync
// policy). If fn returns an error, none of its writes are applied.
func (s *storage) update(fn func(*txn) error) error {
	req := commitReq{fn: fn, done: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-s.stop:
		return errClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-s.stopped:
		select {
		case err := <-req.done:
			return err
		default:
			return errClosed
		}
	}
}

func (s *storage) committer() {
	defer close(s.stopped)
	prev := 1 // size of the last group: the load estimate
	for {
		var group []commitReq
		select {
		case r := <-s.reqs:
			group = append(group, r)
		case <-s.stop:
			return
		}
		// Under load (the last group shared its commit), linger up to s.linger for as many
		// writes as last time: one commit (one engine sync) then serves more writes. An idle
		// node commits at once.
		if prev > 1 && s.linger > 0 {
			t := time.NewTimer(s.linger)
		wait:
			for len(group) < prev {
				select {
				case r := <-s.reqs:
					group = append(group, r)
				case <-t.C:
					break wait
				}
			}
			t.Stop()
		}
	drain:
		for len(group) < 4096 {
			select {
			case r := <-s.reqs:
				group = append(group, r)
			default:
				break drain
			}
		}
		prev = len(group)
		s.commits.Add(1)
		s.committed.Add(int64(len(group)))
		fns := make([]func(*txn) error, len(group))
		for i, r := range group {
			fns[i] = r.fn
		}
		b, errs := s.run(fns)
		var err error
		if len(b.Ops) > 0 {
			err = s.eng.Apply(b, s.sync)
		}
		for i, r := range group {
			if err != nil {
				r.done <- err
			} else {
				r.done <- errs[i]
			}
		}
	}
}

// run runs a group's write functions in order, each in its own txn, and returns the batch of
// the writes of those that returned nil, and each one's error.
func (s *storage) run(fns []func(*txn) error) (*Batch, []error) {
	var all writeSet
	errs := make([]error, len(fns))
	for i, fn := range fns {
		t := &txn{s: s, group: &all}
		errs[i] = fn(t)
		if errs[i] == nil {
			errs[i] = t.err
		}
		if errs[i] == nil {
			for _, op := range t.own.ops {
				all.set(op)
			}
		}
	}
	return &Batch{Ops: all.ops}, errs
}

// writeSet is the writes of a txn or a group, one op per key, in first-write order.
type writeSet struct {
	idx map[wkey]int
	ops []BatchOp
}

type wkey struct{ bucket, key string }

func (w *writeSet) set(op BatchOp) {
	k := wkey{op.Bucket, string(op.Key)}
	if i, ok := w.idx[k]; ok {
		w.ops[i] = op
		return
	}
	if w.idx == nil {
		w.idx = map[wkey]int{}
	}
	w.idx[k] = len(w.ops)
	w.ops = append(w.ops, op)
}

func (w *writeSet) get(bucket string, key []byte) (BatchOp, bool) {
	i, ok := w.idx[wkey{bucket, string(key)}]
	if !ok {
		return BatchOp{}, false
	}
	return w.ops[i], true
}

// txn is one write function's view of the store inside a group commit: reads see the engine,
// the writes of the group's earlier functions and its own; its writes are kept apart until it
// returns nil.
type txn struct {
	s     *storage
	group *writeSet
	own   writeSet
	err   error // the first read error: it fails the function
}

// Bucket returns bucket name, or nil if it was never created.
func (t *txn) Bucket(name []byte) *bucket {
	if !t.s.buckets[string(name)] {
		return nil
	}
	return &bucket{t: t, name: string(name)}
}

// CreateBucketIfNotExists makes bucket name known (buckets are key spaces: nothing is written).
func (t *txn) CreateBucketIfNotExists(name []byte) (*bucket, error) {
	t.s.buckets[string(name)] = true
	return &bucket{t: t, name: string(name)}, nil
}

func (t *txn) get(bucket string, key []byte) []byte {
	if op, ok := t.own.get(bucket, key); ok {
		return op.Value
	}
	if op, ok := t.group.get(bucket, key); ok {
		return op.Value
	}
	v, err := t.s.eng.Get(bucket, key)
	if err != nil && t.err == nil {
		t.err = err
	}
	return v
}

// bucket is one bucket seen from a txn.
type bucket struct {
	t    *txn
	name string
}

// Get returns key's value, nil if absent. The caller must not change it.
func (b *bucket) Get(key []byte) []byte { return b.t.get(b.name, key) }

// Put sets key to value (both copied).
func (b *bucket) Put(key, value []byte) error {
	b.t.own.set(BatchOp{Bucket: b.name, Key: append([]byte{}, key...), Value: append([]byte{}, value...)})
	return nil
}

// Delete removes key.
func (b *bucket) Delete(key []byte) error {
	b.t.own.set(BatchOp{Bucket: b.name, Key: append([]byte{}, key...), Delete: true})
	return nil
}

// NextSequence returns a number for a new key of a bucket keyed by u64key, above every key in
// it (and above every number handed out before by this process).
func (b *bucket) NextSequence() (uint64, error) {
	next, ok := b.t.s.nextID[b.name]
	if !ok {
		next = 1
		err := b.t.s.eng.Scan(b.name, nil, func(k, _ []byte) bool {
			if x := u64val(k); x >= next {
				next = x + 1
			}
			return true
		})
		if err != nil {
			return 0, err
		}
	}
	b.t.s.nextID[b.name] = next + 1
	return next, nil
}

// nextSeq hands out a sequence number never used before by this node, across crashes.
func (s *storage) nextSeq() (uint64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.seq >= s.seqHigh {
		high := s.seqHigh + seqBlock
		err := s.update(func(tx *txn) error {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], high)
			return tx.Bucket(bucketMeta).Put([]byte("seq"), b[:])
		})
		if err != nil {
			return 0, fmt.Errorf("store: reserving sequence numbers: %w", err)
		}
		s.seqHigh = high
	}
	s.seq++
	return s.seq, nil
}

func decodeRecord(v []byte) (Record, error) {
	var r Record
	if v == nil {
		return r, nil
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("store: corrupt record: %w", err)
	}
	return r, nil
}

// get reads a key's record (zero when absent).
func (s *storage) get(key string) (Record, error) {
	v, err := s.eng.Get(string(bucketData), []byte(key))
	if err != nil {
		return Record{}, err
	}
	return decodeRecord(v)
}

// mergeResult is what a merge did: the digests of the old and new encodings (0 = absent).
type mergeResult struct {
	OldDigest, NewDigest uint64
	Changed              bool
	Cur                  Record // the merged record
}

// merge merges in into key's record durably. A kind mismatch leaves the record unchanged and
// returns a kindError.
func (s *storage) merge(key string, in Record) (mergeResult, error) {
	var res mergeResult
	err := s.update(func(tx *txn) error {
		b := tx.Bucket(bucketData)
		raw := b.Get([]byte(key))
		o, err := decodeRecord(raw)
		if err != nil {
			return err
		}
		c, err := Merge(o, in, s.cons)
		if err != nil {
			return err
		}
		enc, err := json.Marshal(c)
		if err != nil {
			return err
		}
		res = mergeResult{NewDigest: digestBytes(enc), Cur: c}
		if raw != nil {
			res.OldDigest = digestBytes(raw)
		}
		if bytes.Equal(raw, enc) {
			return nil
		}
		res.Changed = true
		return b.Put([]byte(key), enc)
	})
	return res, err
}

// hintsFor returns every hint held for key, merged with each other.
func (s *storage) hintsFor(key string) (Record, error) {
	var out Record
	var err error
	prefix := []byte(key + "\x00")
	serr := s.eng.Scan(string(bucketHints), prefix, func(k, v []byte) bool {
		if !bytes.HasPrefix(k, prefix) {
			return false
		}
		var r Record
		if r, err = decodeRecord(v); err != nil {
			return false
		}
		if m, err := Merge(out, r, s.cons); err == nil {
			out = m
		}
		return true
	})
	return out, errors.Join(serr, err)
}

// storeHint durably merges in into the hint for (key, target).
func (s *storage) storeHint(key, target string, in Record) error {
	return s.update(func(tx *txn) error {
		b := tx.Bucket(bucketHints)
		hk := []byte(key + "\x00" + target)
		o, err := decodeRecord(b.Get(hk))
		if err != nil {
			return err
		}
		c, err := Merge(o, in, s.cons)
		if err != nil {
			return err
		}
		enc, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return b.Put(hk, enc)
	})
}

// hint is one stored hint.
type hint struct {
	Key, Target string
	Rec         Record
	raw         []byte
}

// hints lists every stored hint.
func (s *storage) hints() ([]hint, error) {
	var out []hint
	err := s.forEachRaw(bucketHints, func(k, v []byte) error {
		key, target, ok := strings.Cut(string(k), "\x00")
		if !ok {
			return nil
		}
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		out = append(out, hint{Key: key, Target: target, Rec: r, raw: append([]byte{}, v...)})
		return nil
	})
	return out, err
}

// deleteHint removes a delivered hint unless it changed since it was read.
func (s *storage) deleteHint(h hint) error {
	return s.update(func(tx *txn) error {
		b := tx.Bucket(bucketHints)
		hk := []byte(h.Key + "\x00" + h.Target)
		if string(b.Get(hk)) == string(h.raw) {
			return b.Delete(hk)
		}
		return nil
	})
}

// addOwn durably adds delta to this node's own contribution to counter key and returns the new
// totals (increments, decrements).
func (s *storage) addOwn(key string, delta int64) (p, n int64, err error) {
	err = s.update(func(tx *txn) error {
		b := tx.Bucket(bucketOwn)
		var cur [2]int64
		if v := b.Get([]byte(key)); v != nil {
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("store: corrupt counter contribution: %w", err)
			}
		}
		if err := addContribution(&cur, delta); err != nil {
			return err
		}
		p, n = cur[0], cur[1]
		enc, _ := json.Marshal(cur)
		return b.Put([]byte(key), enc)
	})
	return p, n, err
}

// forEachDigest calls fn with every stored key and the digest of its record, without decoding.
func (s *storage) forEachDigest(fn func(key string, digest uint64)) error {
	return s.forEachRaw(bucketData, func(k, v []byte) error {
		fn(string(k), digestBytes(v))
		return nil
	})
}

// forEachWhere calls fn for every stored key that want accepts, decoding only those.
func (s *storage) forEachWhere(want func(key string) bool, fn func(key string, r Record) error) error {
	return s.forEachRaw(bucketData, func(k, v []byte) error {
		if !want(string(k)) {
			return nil
		}
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		return fn(string(k), r)
	})
}

// forEach calls fn for every stored key, in key order.
func (s *storage) forEach(fn func(key string, r Record) error) error {
	return s.forEachRaw(bucketData, func(k, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return err
		}
		return fn(string(k), r)
	})
}

// forEachRaw calls fn with every key and value of bucket in key order (valid during the call
// only), until fn returns an error, which it returns.
func (s *storage) forEachRaw(bucket []byte, fn func(k, v []byte) error) error {
	var err error
	serr := s.eng.Scan(string(bucket), nil, func(k, v []byte) bool {
		err = fn(k, v)
		return err == nil
	})
	if serr != nil {
		return serr
	}
	return err
}
