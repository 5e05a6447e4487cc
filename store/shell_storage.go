package store

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// shellStorage is the shell's side of Env.Persist, Get and Scan: a pipelined group commit over
// the node's Engine.
//
// Persist (on the core's loop) puts a batch into an in-memory overlay at once, so Get and Scan
// see it immediately, and queues it to a committer goroutine. The committer takes every batch
// queued since its last commit (under load lingering briefly for more, Config.CommitLinger),
// applies them to the engine as one batch, synced per the fsync policy, and then posts each
// batch's done to the loop, where the overlay entries that no later batch overwrote are retired
// (the engine holds them now). The loop never waits for an fsync: while one group syncs, the
// core keeps running and the next group gathers.
//
// Get and Scan are safe from any goroutine (the admin API reads storage from HTTP handlers);
// Persist and the retirement run on the loop only.
type shellStorage struct {
	eng    Engine
	sync   bool // fsync "always"
	linger time.Duration
	post   func(func()) // runs a function on the core's loop

	mu      sync.RWMutex
	overlay map[string]map[string]*ovEntry // bucket -> key -> newest write not yet retired
	seq     uint64                         // batches persisted so far (loop only, under mu)

	qmu     sync.Mutex
	queue   []pending // batches waiting for the committer
	closing bool
	wake    chan struct{} // cap 1: the queue grew or closing was set
	stopped chan struct{} // closed when the committer has exited

	commits, committed atomic.Int64 // engine batches, and Persist batches in them
}

// ovEntry is one key's newest write still in the overlay, and the batch that wrote it.
type ovEntry struct {
	value []byte
	del   bool
	seq   uint64
}

// pending is a Persist batch on its way to the engine.
type pending struct {
	b     *Batch
	seq   uint64
	done  func(error)
	force bool // sync this group whatever the fsync policy (Sync)
}

// openShellStorage opens (or creates) the node's storage in dir: cfg.Engine, checked against the
// data dir's engine and Config.DataLayout. post runs a function on the core's loop.
func openShellStorage(cfg Config, post func(func()), log zerolog.Logger) (*shellStorage, error) {
	eng, err := openEngine(cfg.DataDir, cfg.Engine, cfg.Fsync, log)
	if err != nil {
		return nil, err
	}
	sync := cfg.Fsync != "never"
	if err := checkLayout(eng, cfg.DataLayout(), sync); err != nil {
		eng.Close()
		return nil, fmt.Errorf("store: data dir %s: %w", cfg.DataDir, err)
	}
	return newShellStorage(eng, sync, cfg.CommitLinger, post), nil
}

// newShellStorage runs the group commit on eng and starts its committer (stopped by close).
func newShellStorage(eng Engine, sync bool, linger time.Duration, post func(func())) *shellStorage {
	s := &shellStorage{
		eng: eng, sync: sync, linger: linger, post: post,
		overlay: map[string]map[string]*ovEntry{},
		wake:    make(chan struct{}, 1), stopped: make(chan struct{}),
	}
	go s.committer()
	return s
}

// layoutState compares the layout a data dir recorded (had; nil or empty: none yet, a fresh
// dir) with the one the node is configured with: fresh says the layout is still to be recorded,
// and a different one is errLayout naming both. The shell checks it on open; the cores check it
// again when built on an Env.
func layoutState(had []byte, layout string) (fresh bool, err error) {
	switch string(had) {
	case layout:
		return false, nil
	case "":
		return true, nil
	}
	return false, fmt.Errorf("%w: it holds data written with %s, and this node is configured with %s; start it with the flags it had, or give it a fresh data dir", errLayout, had, layout)
}

// checkLayout records layout in a new store and refuses an existing store written under another
// one (errLayout).
func checkLayout(eng Engine, layout string, sync bool) error {
	had, err := eng.Get(string(bucketMeta), []byte("layout"))
	if err != nil {
		return err
	}
	fresh, err := layoutState(had, layout)
	if !fresh || err != nil {
		return err
	}
	b := &Batch{Ops: []BatchOp{{Bucket: string(bucketMeta), Key: []byte("layout"), Value: []byte(layout)}}}
	return eng.Apply(b, sync)
}

// Persist implements Env.Persist (on the loop): b is visible to Get and Scan at once, and done
// is posted to the loop once the engine holds b as durably as the fsync policy asks. b must not
// change afterwards; its keys and values are copied.
func (s *shellStorage) Persist(b *Batch, done func(error)) { s.persist(b, false, done) }

// Sync implements Syncer (on the loop): done is posted once every batch persisted so far is
// durable, whatever the fsync policy. It commits a one-key batch (bucketMeta "sync") with a
// sync: the engines sync only when they write, and a synced write makes every earlier write of
// the same engine durable too (pebble's WAL is sequential; bbolt's fdatasync covers the file).
func (s *shellStorage) Sync(done func(error)) {
	s.persist(&Batch{Ops: []BatchOp{{Bucket: string(bucketMeta), Key: []byte("sync"), Value: []byte{1}}}}, true, done)
}

func (s *shellStorage) persist(b *Batch, force bool, done func(error)) {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	own := &Batch{Ops: make([]BatchOp, len(b.Ops))}
	for i, op := range b.Ops {
		op.Key = bytes.Clone(op.Key)
		if op.Delete {
			op.Value = nil
		} else {
			op.Value = bytes.Clone(op.Value)
			if op.Value == nil {
				op.Value = []byte{}
			}
		}
		own.Ops[i] = op
		m := s.overlay[op.Bucket]
		if m == nil {
			m = map[string]*ovEntry{}
			s.overlay[op.Bucket] = m
		}
		m[string(op.Key)] = &ovEntry{value: op.Value, del: op.Delete, seq: seq}
	}
	s.mu.Unlock()

	s.qmu.Lock()
	if s.closing {
		s.qmu.Unlock()
		s.post(func() { s.retire(own, seq); done(errClosed) })
		return
	}
	s.queue = append(s.queue, pending{b: own, seq: seq, done: done, force: force})
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// retire drops the overlay entries of batch seq that no later batch overwrote (on the loop).
func (s *shellStorage) retire(b *Batch, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range b.Ops {
		m := s.overlay[op.Bucket]
		if e, ok := m[string(op.Key)]; ok && e.seq == seq {
			delete(m, string(op.Key))
			if len(m) == 0 {
				delete(s.overlay, op.Bucket)
			}
		}
	}
}

// Get implements Env.Get: the overlay over the engine.
func (s *shellStorage) Get(bucket string, key []byte) ([]byte, error) {
	s.mu.RLock()
	e, ok := s.overlay[bucket][string(key)]
	s.mu.RUnlock()
	if ok {
		if e.del {
			return nil, nil
		}
		return bytes.Clone(e.value), nil // overlay values are never nil (see Persist)
	}
	return s.eng.Get(bucket, key)
}

// Scan implements Env.Scan: the engine's keys merged in key order with the overlay's, an
// overlay entry replacing (or, deleted, hiding) the engine's value of its key.
func (s *shellStorage) Scan(bucket string, from []byte, fn func(key, value []byte) bool) error {
	type kv struct {
		key string
		e   *ovEntry
	}
	var ov []kv
	s.mu.RLock()
	for k, e := range s.overlay[bucket] {
		if k >= string(from) {
			ov = append(ov, kv{k, e})
		}
	}
	s.mu.RUnlock()
	if len(ov) == 0 {
		return s.eng.Scan(bucket, from, fn)
	}
	slices.SortFunc(ov, func(a, b kv) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	i := 0
	stopped := false
	// emit passes one overlay entry to fn, unless it is a delete.
	emit := func(x kv) bool {
		if x.e.del {
			return true
		}
		return fn([]byte(x.key), x.e.value)
	}
	err := s.eng.Scan(bucket, from, func(k, v []byte) bool {
		for i < len(ov) && ov[i].key < string(k) {
			if !emit(ov[i]) {
				stopped = true
				return false
			}
			i++
		}
		if i < len(ov) && ov[i].key == string(k) {
			x := ov[i]
			i++
			if !emit(x) {
				stopped = true
				return false
			}
			return true
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil || stopped {
		return err
	}
	for ; i < len(ov); i++ {
		if !emit(ov[i]) {
			break
		}
	}
	return nil
}

// committer applies the queued batches to the engine, a group at a time, until close.
func (s *shellStorage) committer() {
	defer close(s.stopped)
	prev := 1 // batches in the last group: the load estimate
	for {
		s.qmu.Lock()
		for len(s.queue) == 0 && !s.closing {
			s.qmu.Unlock()
			<-s.wake
			s.qmu.Lock()
		}
		if len(s.queue) == 0 { // closing, and nothing left
			s.qmu.Unlock()
			return
		}
		closing := s.closing
		s.qmu.Unlock()
		// Under load (the last group shared its commit), linger up to s.linger for as many
		// batches as last time: one engine sync then serves more of them. An idle node commits
		// at once.
		if prev > 1 && s.linger > 0 && !closing {
			deadline := time.NewTimer(s.linger)
		wait:
			for {
				s.qmu.Lock()
				n, c := len(s.queue), s.closing
				s.qmu.Unlock()
				if n >= prev || c {
					break
				}
				select {
				case <-s.wake:
				case <-deadline.C:
					break wait
				}
			}
			deadline.Stop()
		}
		s.qmu.Lock()
		group := s.queue
		s.queue = nil
		s.qmu.Unlock()
		prev = len(group)
		s.commit(group)
	}
}

// commit applies group as one engine batch and posts each batch's retirement and done.
func (s *shellStorage) commit(group []pending) {
	var b *Batch
	if len(group) == 1 {
		b = group[0].b
	} else {
		n := 0
		for _, p := range group {
			n += len(p.b.Ops)
		}
		b = &Batch{Ops: make([]BatchOp, 0, n)}
		for _, p := range group {
			b.Ops = append(b.Ops, p.b.Ops...)
		}
	}
	sync := s.sync
	for _, p := range group {
		sync = sync || p.force
	}
	var err error
	if len(b.Ops) > 0 {
		err = s.eng.Apply(b, sync)
	}
	s.commits.Add(1)
	s.committed.Add(int64(len(group)))
	s.post(func() {
		for _, p := range group {
			s.retire(p.b, p.seq)
		}
		for _, p := range group {
			p.done(err)
		}
	})
}

// close stops the committer once every batch queued so far is applied (their dones are posted),
// and closes the engine. Persist after close answers errClosed.
func (s *shellStorage) close() error {
	s.qmu.Lock()
	s.closing = true
	s.qmu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	<-s.stopped
	return s.eng.Close()
}
