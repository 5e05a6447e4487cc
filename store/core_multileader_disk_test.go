package store

import (
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
