package store

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// engineEnv is an Env over a storage Engine, for the tests of the on-disk layout: persists
// apply at once (done right away), and there is no network.
type engineEnv struct {
	eng Engine
	rng *rand.Rand
}

func (e *engineEnv) Now() time.Time      { return time.Unix(1e9, 0) }
func (e *engineEnv) Mono() time.Duration { return 0 }
func (e *engineEnv) Rand() *rand.Rand    { return e.rng }
func (e *engineEnv) Call(peer string, _ Request, _ time.Duration, done func(any, error)) {
	done(nil, &replicaError{peer: peer, refused: true})
}
func (e *engineEnv) After(time.Duration, func()) func() { return func() {} }
func (e *engineEnv) Persist(b *Batch, done func(error)) {
	err := e.eng.Apply(b, true)
	if done != nil {
		done(err)
	}
}
func (e *engineEnv) Get(bucket string, key []byte) ([]byte, error) { return e.eng.Get(bucket, key) }
func (e *engineEnv) Scan(bucket string, from []byte, fn func(k, v []byte) bool) error {
	return e.eng.Scan(bucket, from, fn)
}
func (e *engineEnv) Event(Event) {}

// TestCoreReadsStorageLayout: a data dir written by storage (the goroutine code's) reads the
// same through the core (records, hints, counter contributions, sequence numbers, layout),
// and what the core writes, storage reads.
func TestCoreReadsStorageLayout(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			cfg := llTestConfig(3)
			cfg.ID = "n1"
			s, err := openStorage(dir, engine, "always", cfg.Consistency, cfg.DataLayout(), 0, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			rec := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "v", TS: 5, Node: "n2", Seq: 3}}}
			if _, err := s.merge("a", rec); err != nil {
				t.Fatal(err)
			}
			if err := s.storeHint("b", "n3", rec); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.addOwn("c", 7); err != nil {
				t.Fatal(err)
			}
			seq, err := s.nextSeq()
			if err != nil {
				t.Fatal(err)
			}
			if err := s.close(); err != nil {
				t.Fatal(err)
			}

			eng, err := openEngine(dir, engine, "always", zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			c, err := newLLCore(cfg, &engineEnv{eng: eng, rng: rand.New(rand.NewPCG(1, 2))}, newStats(), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			if got, _, err := c.getRecord("a"); err != nil || !got.Equal(rec) {
				t.Errorf("record a: got %+v (%v), want %+v", got, err, rec)
			}
			hs, err := c.hints()
			if err != nil || len(hs) != 1 || hs[0].Key != "b" || hs[0].Target != "n3" || !hs[0].Rec.Equal(rec) {
				t.Errorf("hints: got %+v (%v), want one for b to n3", hs, err)
			}
			var p int64
			c.addOwn("c", 1, func(pp, _ int64, err error) {
				if err != nil {
					t.Error(err)
				}
				p = pp
			})
			if p != 8 {
				t.Errorf("counter contribution after +1: got %d, want 8 (7 stored)", p)
			}
			var seq2 uint64
			c.nextSeq(func(x uint64, err error) { seq2 = x })
			if seq2 <= seq {
				t.Errorf("sequence number: got %d, want above %d (used before)", seq2, seq)
			}
			// The core's write, read back by storage.
			rec2 := Record{Kind: KindSet, Elems: []string{"x"}}
			c.merge("d", rec2, func(_ mergeResult, err error) {
				if err != nil {
					t.Error(err)
				}
			})
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = openStorage(dir, engine, "always", cfg.Consistency, cfg.DataLayout(), 0, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			if got, err := s.get("d"); err != nil || !got.Equal(rec2) {
				t.Errorf("storage reads the core's d: got %+v (%v)", got, err)
			}

			// Another layout is refused, naming both.
			other := cfg
			other.Consistency = VClock
			if _, err := newLLCore(other, &engineEnv{eng: s.eng}, newStats(), zerolog.Nop()); err == nil {
				t.Error("a data dir of another layout: no error")
			}
		})
	}
}
