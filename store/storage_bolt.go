package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltEngine is an Engine on one bbolt file: a bucket per bucket. A synced commit writes the
// changed pages and fsyncs, then writes the meta page and fsyncs again.
type boltEngine struct {
	db *bolt.DB
}

var _ Engine = (*boltEngine)(nil)

// openBolt opens (or creates) the bbolt file at path. noSync is the policy until the first
// Apply (each Apply then says whether it syncs).
func openBolt(path string, noSync bool) (*boltEngine, error) {
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: 5 * time.Second, NoSync: noSync, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	return &boltEngine{db: db}, nil
}

func (e *boltEngine) Get(bucket string, key []byte) ([]byte, error) {
	var out []byte
	err := e.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			if v := b.Get(key); v != nil {
				out = append([]byte{}, v...)
			}
		}
		return nil
	})
	return out, err
}

func (e *boltEngine) Scan(bucket string, from []byte, fn func(key, value []byte) bool) error {
	return e.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.First()
		if len(from) > 0 {
			k, v = c.Seek(from)
		}
		for ; k != nil; k, v = c.Next() {
			if !fn(k, v) {
				return nil
			}
		}
		return nil
	})
}

// Apply commits b in one bbolt transaction (Apply calls are serialized, so NoSync is set for
// the transaction alone).
func (e *boltEngine) Apply(b *Batch, sync bool) error {
	e.db.NoSync = !sync
	return e.db.Update(func(tx *bolt.Tx) error {
		var cur *bolt.Bucket
		var curName string
		for _, op := range b.Ops {
			if cur == nil || op.Bucket != curName {
				var err error
				if cur, err = tx.CreateBucketIfNotExists([]byte(op.Bucket)); err != nil {
					return fmt.Errorf("store: bucket %s: %w", op.Bucket, err)
				}
				curName = op.Bucket
			}
			var err error
			if op.Delete {
				err = cur.Delete(op.Key)
			} else {
				err = cur.Put(op.Key, op.Value)
			}
			if err != nil {
				return fmt.Errorf("store: writing %s/%q: %w", op.Bucket, op.Key, err)
			}
		}
		return nil
	})
}

func (e *boltEngine) Close() error { return e.db.Close() }
