package store

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// pebbleEngine is an Engine on a pebble LSM tree: a batch is one append to the write-ahead log
// (fsynced when Apply syncs) and an insert into the memtable; flushes and compactions run in the
// background. A bucket is a key prefix: one byte of length, then the bucket's name.
//
// pebble makes a committed batch visible before its WAL sync completes. Readers here go through a
// snapshot taken after each Apply returns instead, so they never see a write before it is durable.
type pebbleEngine struct {
	db *pebble.DB

	mu      sync.Mutex
	view    *pebbleView // what readers see: the state after the last Apply returned
	closed  bool
	reading sync.WaitGroup // Gets and Scans in progress: Close waits for them
}

// pebbleView is a snapshot shared by readers, closed when retired and no longer read.
type pebbleView struct {
	snap    *pebble.Snapshot
	readers int
	retired bool
}

var _ Engine = (*pebbleEngine)(nil)

// openPebble opens (or creates) a pebble store in dir, on fs (the OS's if nil).
func openPebble(dir string, fs vfs.FS, log zerolog.Logger) (*pebbleEngine, error) {
	if fs == nil {
		fs = vfs.Default
	}
	opts := &pebble.Options{
		FS:                 fs,
		FormatMajorVersion: pebble.FormatNewest,
		Logger:             pebbleLogger{log.With().Str("engine", EnginePebble).Logger()},
		// Every replica write reads its key first (a merge): fewer flushes (pebble grows the
		// memtable up to this as it fills) and Bloom filters keep those reads off sstables
		// that do not hold the key.
		MemTableSize: 32 << 20,
	}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("store: opening pebble store %s: %w", dir, err)
	}
	return &pebbleEngine{db: db, view: &pebbleView{snap: db.NewSnapshot()}}, nil
}

// pebbleKey is bucket's prefix followed by key.
func pebbleKey(bucket string, key []byte) []byte {
	k := make([]byte, 0, 1+len(bucket)+len(key))
	k = append(k, byte(len(bucket)))
	k = append(k, bucket...)
	return append(k, key...)
}

// pebbleBucketEnd is the first key after every key of bucket.
func pebbleBucketEnd(bucket string) []byte {
	end := pebbleKey(bucket, nil)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // unreachable: the length byte is below 0xff
}

func (e *pebbleEngine) acquire() (*pebbleView, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, errClosed
	}
	e.reading.Add(1)
	e.view.readers++
	return e.view, nil
}

func (e *pebbleEngine) release(v *pebbleView) {
	e.mu.Lock()
	v.readers--
	done := v.retired && v.readers == 0
	e.mu.Unlock()
	if done {
		v.snap.Close()
	}
	e.reading.Done()
}

func (e *pebbleEngine) Get(bucket string, key []byte) ([]byte, error) {
	v, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release(v)
	val, closer, err := v.snap.Get(pebbleKey(bucket, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: pebble get %s/%q: %w", bucket, key, err)
	}
	out := append([]byte{}, val...)
	closer.Close()
	return out, nil
}

func (e *pebbleEngine) Scan(bucket string, from []byte, fn func(key, value []byte) bool) error {
	v, err := e.acquire()
	if err != nil {
		return err
	}
	defer e.release(v)
	it, err := v.snap.NewIter(&pebble.IterOptions{LowerBound: pebbleKey(bucket, from), UpperBound: pebbleBucketEnd(bucket)})
	if err != nil {
		return fmt.Errorf("store: pebble scan %s: %w", bucket, err)
	}
	skip := 1 + len(bucket)
	for ok := it.First(); ok; ok = it.Next() {
		val, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return fmt.Errorf("store: pebble scan %s: %w", bucket, err)
		}
		if !fn(it.Key()[skip:], val) {
			break
		}
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("store: pebble scan %s: %w", bucket, err)
	}
	return nil
}

// Apply commits b as one pebble batch: one WAL record, synced before Commit returns when sync
// is set. Then readers move to a snapshot that includes it.
func (e *pebbleEngine) Apply(b *Batch, sync bool) error {
	pb := e.db.NewBatch()
	defer pb.Close()
	for _, op := range b.Ops {
		var err error
		if op.Delete {
			err = pb.Delete(pebbleKey(op.Bucket, op.Key), nil)
		} else {
			err = pb.Set(pebbleKey(op.Bucket, op.Key), op.Value, nil)
		}
		if err != nil {
			return fmt.Errorf("store: pebble batch %s/%q: %w", op.Bucket, op.Key, err)
		}
	}
	wo := pebble.NoSync
	if sync {
		wo = pebble.Sync
	}
	if err := pb.Commit(wo); err != nil {
		return fmt.Errorf("store: pebble commit: %w", err)
	}
	next := &pebbleView{snap: e.db.NewSnapshot()}
	e.mu.Lock()
	old := e.view
	e.view = next
	old.retired = true
	done := old.readers == 0
	e.mu.Unlock()
	if done {
		old.snap.Close()
	}
	return nil
}

func (e *pebbleEngine) Close() error {
	e.mu.Lock()
	e.closed = true
	v := e.view
	v.retired = true
	done := v.readers == 0
	e.mu.Unlock()
	if done {
		v.snap.Close()
	}
	e.reading.Wait() // the last reader closes v
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("store: closing pebble store: %w", err)
	}
	return nil
}

// pebbleLogger sends pebble's log lines to the node's logger (its routine messages at debug).
type pebbleLogger struct{ log zerolog.Logger }

func (l pebbleLogger) Infof(format string, args ...any)  { l.log.Debug().Msgf(format, args...) }
func (l pebbleLogger) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }
func (l pebbleLogger) Fatalf(format string, args ...any) {
	l.log.Error().Msgf(format, args...)
	panic(fmt.Sprintf(format, args...))
}
