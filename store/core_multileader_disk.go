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
	env     Env
	issued  uint64     // batches given to Persist so far
	pending []uint64   // the ones not yet done, in issue order
	waiters []mlWaiter // barriers, in call order
}

type mlWaiter struct {
	upTo uint64 // runs once every batch up to this one is done
	f    func()
}

// persist gives b to Env.Persist; done gets its result before any barrier it completes runs.
func (d *mlDisk) persist(b *Batch, done func(error)) {
	d.issued++
	id := d.issued
	d.pending = append(d.pending, id)
	d.env.Persist(b, func(err error) {
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
