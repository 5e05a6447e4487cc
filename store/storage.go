package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketData  = []byte("data")  // key -> Record JSON (keys this node replicates)
	bucketHints = []byte("hints") // key \x00 target -> Record JSON (writes held for an unreachable replica)
	bucketOwn   = []byte("own")   // key -> this node's own counter contribution {p, n}
	bucketMeta  = []byte("meta")  // "seq" -> sequence high-water mark
)

const seqBlock = 1 << 16 // sequence numbers reserved per durable bump

// storage is the node's bbolt file. With fsync "always" every committed write is on disk before
// it returns (bbolt syncs on commit); with "never" bbolt skips fsync.
type storage struct {
	db   *bolt.DB
	cons string

	seqMu   sync.Mutex
	seq     uint64 // last sequence number handed out
	seqHigh uint64 // durable high-water: no number above it has been used
}

func openStorage(dir, fsync, cons string) (*storage, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: creating data dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, "node.bolt")
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: 5 * time.Second, NoSync: fsync == "never", NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	s := &storage{db: db, cons: cons}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketData, bucketHints, bucketOwn, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if v := tx.Bucket(bucketMeta).Get([]byte("seq")); len(v) == 8 {
			s.seqHigh = binary.BigEndian.Uint64(v)
		}
		// Everything up to the old high-water mark may have been used before a crash.
		s.seq = s.seqHigh
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: initializing %s: %w", path, err)
	}
	return s, nil
}

func (s *storage) close() error { return s.db.Close() }

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

// merge merges in into key's record durably and returns the old and new records.
// A kind mismatch leaves the record unchanged and returns a kindError.
func (s *storage) merge(key string, in Record) (old, cur Record, err error) {
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketData)
		o, err := decodeRecord(b.Get([]byte(key)))
		if err != nil {
			return err
		}
		c, err := Merge(o, in, s.cons)
		if err != nil {
			return err
		}
		old, cur = o, c
		if o.Equal(c) {
			return nil
		}
		enc, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), enc)
	})
	return old, cur, err
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
	return s.db.Batch(func(tx *bolt.Tx) error {
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
	return s.db.Batch(func(tx *bolt.Tx) error {
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
	err = s.db.Batch(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOwn)
		var cur [2]int64
		if v := b.Get([]byte(key)); v != nil {
			if err := json.Unmarshal(v, &cur); err != nil {
				return fmt.Errorf("store: corrupt counter contribution: %w", err)
			}
		}
		if delta >= 0 {
			cur[0] += delta
		} else {
			cur[1] -= delta
		}
		p, n = cur[0], cur[1]
		enc, _ := json.Marshal(cur)
		return b.Put([]byte(key), enc)
	})
	return p, n, err
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
