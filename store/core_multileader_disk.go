package store

import "slices"

// mlTxn builds one Persist batch and reads through it: a read sees what the batch already
// writes, then what Env shows (every batch given to Persist so far). It is how one client write
// or one ml/apply request becomes one atomic batch, as it was one bbolt transaction.
type mlTxn struct {
	env  Env
	b    Batch
	over map[string][]byte // bucket "\x00" key -> value written by this batch (nil: deleted)
	// staged are the outbox entries the batch adds (mlCore.stage), counted once it persists.
	staged []mlStaged
}

func newMLTxn(env Env) *mlTxn { return &mlTxn{env: env, over: map[string][]byte{}} }

func txnKey(bucket string, key []byte) string { return bucket + "\x00" + string(key) }

// get returns key's value in bucket as it is once the batch is applied (nil if none).
func (t *mlTxn) get(bucket string, key []byte) ([]byte, error) {
	if v, ok := t.over[txnKey(bucket, key)]; ok {
		return v, nil
	}
	return t.env.Get(bucket, key)
}

func (t *mlTxn) put(bucket string, key, value []byte) {
	k, v := slices.Clone(key), slices.Clone(value)
	t.over[txnKey(bucket, k)] = v
	t.b.Ops = append(t.b.Ops, BatchOp{Bucket: bucket, Key: k, Value: v})
}

func (t *mlTxn) del(bucket string, key []byte) {
	k := slices.Clone(key)
	t.over[txnKey(bucket, k)] = nil
	t.b.Ops = append(t.b.Ops, BatchOp{Bucket: bucket, Key: k, Delete: true})
}

// mlDisk issues the core's Persist calls and knows which are still not durable, so that
// nothing is answered (an ack, a read, a delivery to a peer) before what it depends on is as
// durable as the node's fsync policy makes it. Env's Get and Scan see a batch at once; a
// barrier waits until every batch given to Persist before it is done.
type mlDisk struct {
	env Env
	// syncer, when set, makes what was persisted durable on demand: the node's fsync policy is
	// never, and what a node sends to a peer or acknowledges to one must still survive its
	// crash (mlDisk.durable).
	syncer  Syncer
	issued  uint64     // batches given to Persist so far
	pending []uint64   // the ones not yet done, in issue order
	waiters []mlWaiter // barriers, in call order
}

type mlWaiter struct {
	upTo uint64 // runs once every batch up to this one is done
	f    func()
}

// Syncer is an Env that can make every batch given to Persist so far durable whatever the
// node's fsync policy (with fsync never, Persist's done promises nothing across a crash). The
// simulator's Env is one; a shell should be one too (bbolt's DB.Sync, pebble's LogData with
// Sync). The multi-leader core needs it under fsync never: what a node sends to a peer, and
// what it acknowledges to a peer, must survive its crash, or a restarted node reuses sequence
// numbers its peers already hold (they then drop its new writes as duplicates) and a peer
// drops an entry the receiver lost; multi-leader has no anti-entropy to mend either. Without
// it, fsync never can leave multi-leader replicas apart after a crash.
type Syncer interface {
	// Sync calls done once every batch given to Persist before the call is durable.
	Sync(done func(error))
}

// newMLDisk is the core's disk on env; with fsync never it syncs through env when env can.
func newMLDisk(env Env, fsync string) mlDisk {
	d := mlDisk{env: env}
	if s, ok := env.(Syncer); ok && fsync == "never" {
		d.syncer = s
	}
	return d
}

// persist gives b to Env.Persist; done gets its result before any barrier it completes runs.
func (d *mlDisk) persist(b *Batch, done func(error)) {
	d.track(func(f func(error)) { d.env.Persist(b, f) }, done)
}

// durable runs f once every batch persisted so far is durable: at once, or after a sync, with
// its error (an error means nothing may be sent or acknowledged that depends on them). With
// fsync always that is a barrier; with fsync never, a sync of what was written so far.
func (d *mlDisk) durable(f func(error)) {
	if d.syncer == nil {
		d.barrier(func() { f(nil) })
		return
	}
	var serr error
	d.track(d.syncer.Sync, func(err error) { serr = err })
	d.barrier(func() { f(serr) })
}

// track issues one durable step (a Persist or a Sync) as a batch barriers wait for.
func (d *mlDisk) track(issue func(func(error)), done func(error)) {
	d.issued++
	id := d.issued
	d.pending = append(d.pending, id)
	issue(func(err error) {
		if i := slices.Index(d.pending, id); i >= 0 {
			d.pending = slices.Delete(d.pending, i, i+1)
		}
		done(err)
		d.fire()
	})
}

// barrier runs f once every batch persisted so far is done (at once if none is pending).
func (d *mlDisk) barrier(f func()) {
	if len(d.pending) == 0 {
		f()
		return
	}
	d.waiters = append(d.waiters, mlWaiter{upTo: d.issued, f: f})
}

// fire runs the barriers whose batches are all done, in the order they were set.
func (d *mlDisk) fire() {
	low := d.issued + 1 // the oldest batch still pending
	if len(d.pending) > 0 {
		low = d.pending[0]
	}
	var ready []func()
	keep := d.waiters[:0]
	for _, w := range d.waiters {
		if w.upTo < low {
			ready = append(ready, w.f)
		} else {
			keep = append(keep, w)
		}
	}
	d.waiters = keep
	for _, f := range ready {
		f()
	}
}
