package sim

import (
	"errors"
	"slices"
	"strings"
)

// ErrDiskDown is returned by a Disk between Crash and Recover.
var ErrDiskDown = errors.New("sim: disk is down (its node crashed)")

// Batch is a group of puts and deletes applied atomically: after a crash either all of a
// batch survives or none of it (a bbolt transaction, a pebble batch).
type Batch struct {
	ops []diskOp
}

type diskOp struct {
	bucket, key string
	value       []byte // nil for a delete
	del         bool
}

// Put sets bucket/key to a copy of value.
func (b *Batch) Put(bucket, key string, value []byte) {
	b.ops = append(b.ops, diskOp{bucket: bucket, key: key, value: slices.Clone(value)})
}

// Delete removes bucket/key.
func (b *Batch) Delete(bucket, key string) {
	b.ops = append(b.ops, diskOp{bucket: bucket, key: key, del: true})
}

// Len is the number of operations in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Disk is a node's storage with explicit durability, shaped as a key-value engine: named
// buckets of keys to bytes, written in atomic batches, read by Get and ordered iteration.
// A write is visible to reads at once (it sits in the page cache) and durable only after Sync.
// Crash loses every write not yet synced, or, with torn crashes, keeps a random prefix of the
// unsynced batches (the disk wrote some before the power went); Recover brings the disk back
// holding exactly what survived.
//
// It is meant to sit under a storage-engine interface (get, put, batch, iterate, delete, sync
// policy): an engine with fsync "always" is Write then Sync per batch, "never" is Write alone.
type Disk struct {
	live, durable *kv
	pending       []*Batch // written, not yet synced, in order
	down          bool
	torn          bool
	rng           *Rand
	stats         DiskStats
}

// DiskStats counts what a disk did.
type DiskStats struct {
	Batches     int64 // batches written
	Syncs       int64 // syncs that made something durable
	Crashes     int64
	LostBatches int64 // unsynced batches lost in crashes
	TornKept    int64 // unsynced batches that survived a torn crash
}

// NewDisk returns an empty disk; with torn, crashes keep a prefix of the unsynced batches drawn
// from rng (which may be nil when torn is false).
func NewDisk(torn bool, rng *Rand) *Disk {
	if torn && rng == nil {
		panic("sim: NewDisk: torn crashes need a Rand")
	}
	return &Disk{live: newKV(), durable: newKV(), torn: torn, rng: rng}
}

// Write applies a batch: visible at once, durable after the next Sync. The batch is copied.
func (d *Disk) Write(b *Batch) error {
	if d.down {
		return ErrDiskDown
	}
	if b == nil || len(b.ops) == 0 {
		return nil
	}
	c := &Batch{ops: slices.Clone(b.ops)}
	d.live.apply(c)
	d.pending = append(d.pending, c)
	d.stats.Batches++
	return nil
}

// Put writes one key as a batch of its own.
func (d *Disk) Put(bucket, key string, value []byte) error {
	var b Batch
	b.Put(bucket, key, value)
	return d.Write(&b)
}

// Delete removes one key as a batch of its own.
func (d *Disk) Delete(bucket, key string) error {
	var b Batch
	b.Delete(bucket, key)
	return d.Write(&b)
}

// Commit writes b and, with sync, makes it durable before returning: an engine's commit under
// fsync "always" (sync) or "never".
func (d *Disk) Commit(b *Batch, sync bool) error {
	if err := d.Write(b); err != nil || !sync {
		return err
	}
	return d.Sync()
}

// Sync makes every written batch durable.
func (d *Disk) Sync() error {
	if d.down {
		return ErrDiskDown
	}
	if len(d.pending) == 0 {
		return nil
	}
	for _, b := range d.pending {
		d.durable.apply(b)
	}
	d.pending = d.pending[:0]
	d.stats.Syncs++
	return nil
}

// Unsynced is the number of batches written since the last Sync.
func (d *Disk) Unsynced() int { return len(d.pending) }

// Get returns a copy of bucket/key's value and whether it exists.
func (d *Disk) Get(bucket, key string) ([]byte, bool, error) {
	if d.down {
		return nil, false, ErrDiskDown
	}
	v, ok := d.live.get(bucket, key)
	return slices.Clone(v), ok, nil
}

// Iterate calls fn for every key in bucket at or after from, in byte order, until fn returns
// false. fn must not write to the disk; the value is the disk's own copy (do not modify it).
func (d *Disk) Iterate(bucket, from string, fn func(key string, value []byte) bool) error {
	if d.down {
		return ErrDiskDown
	}
	bk := d.live.buckets[bucket]
	if bk == nil {
		return nil
	}
	i, _ := slices.BinarySearch(bk.keys, from)
	for ; i < len(bk.keys); i++ {
		k := bk.keys[i]
		if !fn(k, bk.m[k]) {
			break
		}
	}
	return nil
}

// Crash takes the disk down, dropping every unsynced batch (with torn crashes, all but a
// random prefix of them); it returns how many batches were lost. A crashed disk refuses
// every call until Recover.
func (d *Disk) Crash() (lost int) {
	if d.down {
		return 0
	}
	keep := 0
	if d.torn && len(d.pending) > 0 {
		keep = d.rng.IntN(len(d.pending) + 1)
	}
	for _, b := range d.pending[:keep] {
		d.durable.apply(b)
	}
	lost = len(d.pending) - keep
	d.stats.Crashes++
	d.stats.LostBatches += int64(lost)
	d.stats.TornKept += int64(keep)
	d.pending = nil
	d.live = d.durable.clone()
	d.down = true
	return lost
}

// Recover brings a crashed disk back with what survived.
func (d *Disk) Recover() { d.down = false }

// Down reports whether the disk is crashed.
func (d *Disk) Down() bool { return d.down }

// Stats returns the disk's counters.
func (d *Disk) Stats() DiskStats { return d.stats }

// kv is an ordered keyspace: per bucket a map and its sorted keys.
type kv struct {
	buckets map[string]*bucket
}

type bucket struct {
	m    map[string][]byte
	keys []string // sorted
}

func newKV() *kv { return &kv{buckets: map[string]*bucket{}} }

func (s *kv) get(bucket, key string) ([]byte, bool) {
	b := s.buckets[bucket]
	if b == nil {
		return nil, false
	}
	v, ok := b.m[key]
	return v, ok
}

func (s *kv) apply(b *Batch) {
	for _, op := range b.ops {
		bk := s.buckets[op.bucket]
		if bk == nil {
			if op.del {
				continue
			}
			bk = &bucket{m: map[string][]byte{}}
			s.buckets[op.bucket] = bk
		}
		_, had := bk.m[op.key]
		switch {
		case op.del && had:
			delete(bk.m, op.key)
			i, _ := slices.BinarySearch(bk.keys, op.key)
			bk.keys = slices.Delete(bk.keys, i, i+1)
		case !op.del:
			bk.m[op.key] = op.value // batches own their values; never modified
			if !had {
				i, _ := slices.BinarySearch(bk.keys, op.key)
				bk.keys = slices.Insert(bk.keys, i, op.key)
			}
		}
	}
}

func (s *kv) clone() *kv {
	out := newKV()
	for name, b := range s.buckets { // the result does not depend on the order
		nb := &bucket{m: make(map[string][]byte, len(b.m)), keys: slices.Clone(b.keys)}
		for k, v := range b.m {
			nb.m[k] = v
		}
		out.buckets[name] = nb
	}
	return out
}

// dump renders the whole keyspace in order, for tests.
func (s *kv) dump() string {
	names := make([]string, 0, len(s.buckets))
	for n := range s.buckets {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		bk := s.buckets[n]
		for _, k := range bk.keys {
			b.WriteString(n + "/" + k + "=" + string(bk.m[k]) + ";")
		}
	}
	return b.String()
}
