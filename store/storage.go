package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketData  = []byte("data")  // key -> Record JSON (keys this node replicates)
	bucketHints = []byte("hints") // key \x00 target -> Record JSON (writes held for an unreachable replica)
	bucketOwn   = []byte("own")   // key -> this node's own counter contribution {p, n}
	bucketMeta  = []byte("meta")  // "seq" -> sequence high-water mark; "layout" -> Config.DataLayout
)

const seqBlock = 1 << 16 // sequence numbers reserved per durable bump

// storage is the node's bbolt file. With fsync "always" every committed write is on disk before
// it returns (bbolt syncs on commit); with "never" bbolt skips fsync.
//
// Writes go through a group commit: a single committer runs one transaction at a time holding
// every write queued while the previous one committed (and, under load, lingering briefly for
// more). An idle node commits at once; a busy one shares each fsync among many writes. Every write function returns its error
// before it changes anything, so one failing write does not spoil the others in its group.
type storage struct {
	db   *bolt.DB
	cons string

	reqs    chan commitReq
	stop    chan struct{}
	stopped chan struct{}

	commits, committed atomic.Int64 // transactions, and writes in them
	linger             time.Duration

	seqMu   sync.Mutex
	seq     uint64 // last sequence number handed out
	seqHigh uint64 // durable high-water: no number above it has been used
}

// openStorage opens (or creates) the node's bbolt file in dir. layout is Config.DataLayout: a
// new file records it, an existing one must carry the same.
func openStorage(dir, fsync, cons, layout string, linger time.Duration) (*storage, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: creating data dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "node.bolt")
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: 5 * time.Second, NoSync: fsync == "never", NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	s := &storage{db: db, cons: cons, reqs: make(chan commitReq, 1024), stop: make(chan struct{}), stopped: make(chan struct{}), linger: linger}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketData, bucketHints, bucketOwn, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch had := string(meta.Get([]byte("layout"))); had {
		case layout:
		case "":
			if err := meta.Put([]byte("layout"), []byte(layout)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: it holds data written with %s, and this node is configured with %s; start it with the flags it had, or give it a fresh data dir", errLayout, had, layout)
		}
		if v := meta.Get([]byte("seq")); len(v) == 8 {
			s.seqHigh = binary.BigEndian.Uint64(v)
		}
		// Everything up to the old high-water mark may have been used before a crash.
		s.seq = s.seqHigh
		return nil
	})
	if errors.Is(err, errLayout) {
		db.Close()
		return nil, fmt.Errorf("store: data dir %s: %w", dir, err)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: initializing %s: %w", path, err)
	}
	go s.committer()
	return s, nil
}

func (s *storage) close() error {
	close(s.stop)
	<-s.stopped
	return s.db.Close()
}

type commitReq struct {
	fn   func(*bolt.Tx) error
	done chan error
}

// errLayout: the data dir was written under another Config.DataLayout.
var errLayout = errors.New("wrong data layout")

// errClosed is returned for writes after close.
var errClosed = errors.New("store: storage closed")

// update runs fn in a group-committed transaction and returns once it is durable (per the
// fsync policy). fn must not change anything before returning an error.
func (s *storage) update(fn func(*bolt.Tx) error) error {
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
		// writes as last time: one commit (two fsyncs with bbolt) then serves more writes.
		// An idle node commits at once.
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
		errs := make([]error, len(group))
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, r := range group {
				errs[i] = r.fn(tx)
			}
			return nil
		})
		for i, r := range group {
			if err != nil {
				r.done <- err
			} else {
				r.done <- errs[i]
			}
		}
	}
}

// nextSeq hands out a sequence number never used before by this node, across crashes.
func (s *storage) nextSeq() (uint64, error) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.seq >= s.seqHigh {
		high := s.seqHigh + seqBlock
		err := s.db.Update(func(tx *bolt.Tx) error {
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
	var r Record
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = decodeRecord(tx.Bucket(bucketData).Get([]byte(key)))
		return err
	})
	return r, err
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
	err := s.update(func(tx *bolt.Tx) error {
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
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketHints).Cursor()
		prefix := []byte(key + "\x00")
		for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			if m, err := Merge(out, r, s.cons); err == nil {
				out = m
			}
		}
		return nil
	})
	return out, err
}

// storeHint durably merges in into the hint for (key, target).
func (s *storage) storeHint(key, target string, in Record) error {
	return s.update(func(tx *bolt.Tx) error {
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
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketHints).ForEach(func(k, v []byte) error {
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
	})
	return out, err
}

// deleteHint removes a delivered hint unless it changed since it was read.
func (s *storage) deleteHint(h hint) error {
	return s.update(func(tx *bolt.Tx) error {
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
	err = s.update(func(tx *bolt.Tx) error {
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
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketData).ForEach(func(k, v []byte) error {
			fn(string(k), digestBytes(v))
			return nil
		})
	})
}

// forEachWhere calls fn for every stored key that want accepts, decoding only those.
func (s *storage) forEachWhere(want func(key string) bool, fn func(key string, r Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketData).ForEach(func(k, v []byte) error {
			if !want(string(k)) {
				return nil
			}
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			return fn(string(k), r)
		})
	})
}

// forEach calls fn for every stored key, in key order.
func (s *storage) forEach(fn func(key string, r Record) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketData).ForEach(func(k, v []byte) error {
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			return fn(string(k), r)
		})
	})
}
