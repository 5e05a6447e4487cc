package store

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// mlEngineEnv is an Env over a storage Engine for the multi-leader layout test: persists apply
// at once, calls are refused, timers never fire.
type mlEngineEnv struct{ eng Engine }

func (e *mlEngineEnv) Now() time.Time      { return time.Unix(1e9, 0) }
func (e *mlEngineEnv) Mono() time.Duration { return 0 }
func (e *mlEngineEnv) Rand() *rand.Rand    { return rand.New(rand.NewPCG(1, 2)) }
func (e *mlEngineEnv) Call(peer string, _ Request, _ time.Duration, done func(any, error)) {
	done(nil, &replicaError{peer: peer, refused: true})
}
func (e *mlEngineEnv) After(time.Duration, func()) func() { return func() {} }
func (e *mlEngineEnv) Persist(b *Batch, done func(error)) {
	err := e.eng.Apply(b, true)
	if done != nil {
		done(err)
	}
}
func (e *mlEngineEnv) Get(bucket string, key []byte) ([]byte, error) { return e.eng.Get(bucket, key) }
func (e *mlEngineEnv) Scan(bucket string, from []byte, fn func(k, v []byte) bool) error {
	return e.eng.Scan(bucket, from, fn)
}
func (e *mlEngineEnv) Event(Event) {}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMLCoreReadsMultileaderDataDir: a data dir in the layout the goroutine Multileader wrote
// (outbox.go: the layout, records, counter contributions, ml_meta's sequence number, version
// vectors, one outbox per peer keyed by place) is read through the multi-leader core, which
// continues the sequence numbers and outbox places in the same encodings; another layout is
// refused.
func TestMLCoreReadsMultileaderDataDir(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			cfg := mlTestConfig(3, ConflictCRDT, TopologyAll)
			cfg.ID = "n1"
			eng, err := openEngine(dir, engine, "always", zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			// What the old Multileader left after writing a := v1 and cnt += 5, both queued.
			a := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "v1", TS: 7, Node: "n1", Seq: 1}}}
			cnt := Record{Kind: KindCounter, P: map[string]int64{"n1": 5}}
			ea := mlEntry{Origin: "n1", Seq: 1, Key: "a", Rec: a, Deps: VV{}, At: 7}
			ec := mlEntry{Origin: "n1", Seq: 2, Key: "cnt", Rec: cnt, Deps: VV{}, At: 8}
			put := func(bucket []byte, key, value []byte) BatchOp {
				return BatchOp{Bucket: string(bucket), Key: key, Value: value}
			}
			b := &Batch{Ops: []BatchOp{
				put(bucketMeta, []byte("layout"), []byte(cfg.DataLayout())),
				put(bucketMLMeta, []byte("seq"), u64key(2)),
				put(bucketData, []byte("a"), mustJSON(t, a)),
				put(bucketData, []byte("cnt"), mustJSON(t, cnt)),
				put(bucketMLVV, []byte("a"), mustJSON(t, VV{"n1": 1})),
				put(bucketMLVV, []byte("cnt"), mustJSON(t, VV{"n1": 2})),
				put(bucketOwn, []byte("cnt"), mustJSON(t, [2]int64{5, 0})),
			}}
			for _, p := range []string{"n2", "n3"} {
				b.Ops = append(b.Ops,
					put(outboxBucket(p), u64key(1), mustJSON(t, outEntry{E: ea, Enq: 7})),
					put(outboxBucket(p), u64key(2), mustJSON(t, outEntry{E: ec, Enq: 8})))
			}
			if err := eng.Apply(b, true); err != nil {
				t.Fatal(err)
			}
			defer eng.Close()

			core, err := newMLCore(cfg, &mlEngineEnv{eng: eng}, newStats(), zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			c := core.(*mlCore)
			for _, p := range []string{"n2", "n3"} {
				if q, next := c.peers[p].queued, c.peers[p].next; q != 2 || next != 3 {
					t.Errorf("outbox to %s: %d queued, next place %d; want 2 and 3", p, q, next)
				}
			}
			c.Read("a", KindRegister, Quorums{}, func(r Record, err error) {
				if err != nil || !r.Equal(a) {
					t.Errorf("read a: %+v (%v), want %+v", r, err, a)
				}
			})
			c.Write("cnt", incr(1), Quorums{}, func(err error) {
				if err != nil {
					t.Error(err)
				}
			})
			c.Read("cnt", KindCounter, Quorums{}, func(r Record, err error) {
				if v, verr := r.CounterValue(); err != nil || verr != nil || v != 6 {
					t.Errorf("read cnt: %d (%v %v), want 6 (5 written before, +1)", v, err, verr)
				}
			})
			if v, err := eng.Get(string(bucketMLMeta), []byte("seq")); err != nil || u64val(v) != 3 {
				t.Errorf("ml_meta seq: %d (%v), want 3", u64val(v), err)
			}
			var places []uint64
			var last outEntry
			err = eng.Scan(string(outboxBucket("n2")), nil, func(k, v []byte) bool {
				places = append(places, u64val(k))
				return json.Unmarshal(v, &last) == nil
			})
			if err != nil || len(places) != 3 || places[2] != 3 {
				t.Fatalf("outbox to n2 after the write: places %v (%v), want 1 2 3", places, err)
			}
			if e := last.E; e.Origin != "n1" || e.Seq != 3 || e.Key != "cnt" || e.Deps["n1"] != 2 {
				t.Errorf("the core's entry: %+v; want n1's seq 3 on cnt, after seq 2", e)
			}

			// Another layout is refused, naming the problem.
			other := cfg
			other.Topology = TopologyRing
			if _, err := newMLCore(other, &mlEngineEnv{eng: eng}, newStats(), zerolog.Nop()); !errors.Is(err, errLayout) {
				t.Errorf("a data dir of another topology: got %v, want the layout error", err)
			}
		})
	}
}
