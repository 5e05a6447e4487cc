package store

import (
	"errors"
	"slices"
	"testing"
)

// persistEnv is an Env whose Persist calls complete when the test says, in any order.
type persistEnv struct {
	Env   // nil: only Persist is used
	dones []func(error)
}

func (e *persistEnv) Persist(_ *Batch, done func(error)) { e.dones = append(e.dones, done) }

func TestMLDiskBarrierWaitsForEveryEarlierBatch(t *testing.T) {
	env := &persistEnv{}
	d := mlDisk{env: env}
	var log []string
	note := func(s string) func() { return func() { log = append(log, s) } }
	d.barrier(note("idle")) // nothing pending: at once
	d.persist(&Batch{}, func(error) { log = append(log, "A done") })
	d.persist(&Batch{}, func(error) { log = append(log, "B done") })
	d.barrier(note("after A,B"))
	d.persist(&Batch{}, func(error) { log = append(log, "C done") })
	d.barrier(note("after A,B,C"))
	env.dones[1](nil) // B first: A is still pending
	env.dones[0](nil)
	env.dones[2](nil)
	want := []string{"idle", "B done", "A done", "after A,B", "C done", "after A,B,C"}
	if !slices.Equal(log, want) {
		t.Fatalf("got %q, want %q", log, want)
	}
}

func TestMLTxnReadsItsOwnWrites(t *testing.T) {
	tx := newMLTxn(nil)
	tx.put("b", []byte("k"), []byte("v1"))
	tx.put("b", []byte("k"), []byte("v2"))
	if v, _ := tx.get("b", []byte("k")); string(v) != "v2" {
		t.Fatalf("get after two puts: %q, want v2", v)
	}
	tx.del("b", []byte("k"))
	if v, _ := tx.get("b", []byte("k")); v != nil {
		t.Fatalf("get after delete: %q, want nil", v)
	}
	if len(tx.b.Ops) != 3 || !tx.b.Ops[2].Delete {
		t.Fatalf("batch %+v, want put, put, delete in order", tx.b.Ops)
	}
}

// syncEnv is a persistEnv that is a Syncer: its syncs complete when the test says too.
type syncEnv struct {
	persistEnv
	syncs []func(error)
}

func (e *syncEnv) Sync(done func(error)) { e.syncs = append(e.syncs, done) }

// durable is a barrier under fsync always, and a sync after the earlier batches under fsync
// never (when the Env can sync); a failed sync is its error.
func TestMLDiskDurableSyncsUnderFsyncNever(t *testing.T) {
	env := &syncEnv{}
	d := newMLDisk(env, "always")
	var got []error
	d.persist(&Batch{}, func(error) {})
	d.durable(func(err error) { got = append(got, err) })
	if len(env.syncs) != 0 || len(got) != 0 {
		t.Fatalf("fsync always: %d syncs, %d calls before the batch is done; want 0, 0", len(env.syncs), len(got))
	}
	env.dones[0](nil)
	if len(got) != 1 || got[0] != nil {
		t.Fatalf("fsync always: got %v once the batch is done, want one nil", got)
	}

	env = &syncEnv{}
	d = newMLDisk(env, "never")
	got = nil
	d.persist(&Batch{}, func(error) {})
	d.durable(func(err error) { got = append(got, err) })
	env.dones[0](nil)
	if len(env.syncs) != 1 || len(got) != 0 {
		t.Fatalf("fsync never: %d syncs, %d calls once the batch is written; want 1 sync, no call yet", len(env.syncs), len(got))
	}
	failed := errors.New("disk gone")
	env.syncs[0](failed)
	if len(got) != 1 || got[0] != failed {
		t.Fatalf("fsync never: got %v after the sync failed, want its error", got)
	}

	// An Env that cannot sync: a barrier, as under fsync always.
	penv := &persistEnv{}
	d = newMLDisk(penv, "never")
	called := false
	d.durable(func(error) { called = true })
	if !called {
		t.Fatal("nothing pending and no Syncer: durable should run at once")
	}
}
