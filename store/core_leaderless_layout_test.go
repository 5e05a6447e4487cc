package store

import (
	"encoding/binary"
	"encoding/json"
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

// TestCoreReadsStorageLayout: a data dir in the layout the goroutine code's storage wrote
// (written here byte for byte, as storage.go did before the shell replaced it) reads the same
// through the core (records, hints, counter contributions, sequence numbers, layout), and what
// the core writes is in that layout.
func TestCoreReadsStorageLayout(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			cfg := llTestConfig(3)
			cfg.ID = "n1"
			rec := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "v", TS: 5, Node: "n2", Seq: 3}}}
			enc, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			// storage handed out sequence number 1 after reserving a block: the durable
			// high-water mark is seqBlock.
			const seq = 1
			var high [8]byte
			binary.BigEndian.PutUint64(high[:], seqBlock)
			eng, err := openEngine(dir, engine, "always", zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			old := &Batch{Ops: []BatchOp{
				{Bucket: string(bucketMeta), Key: []byte("layout"), Value: []byte(cfg.DataLayout())},
				{Bucket: string(bucketData), Key: []byte("a"), Value: enc},
				{Bucket: string(bucketHints), Key: []byte("b\x00n3"), Value: enc},
				{Bucket: string(bucketOwn), Key: []byte("c"), Value: []byte("[7,0]")},
				{Bucket: string(bucketMeta), Key: []byte("seq"), Value: high[:]},
			}}
			if err := eng.Apply(old, true); err != nil {
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
			// The core's write, in the same layout: the record as JSON under its key.
			rec2 := Record{Kind: KindSet, Elems: []string{"x"}}
			c.merge("d", rec2, func(_ mergeResult, err error) {
				if err != nil {
					t.Error(err)
				}
			})
			v, err := eng.Get(string(bucketData), []byte("d"))
			if got, derr := decodeRecord(v); err != nil || derr != nil || !got.Equal(rec2) {
				t.Errorf("the core's d on disk: got %+v (%v, %v)", got, err, derr)
			}

			// Another layout is refused, naming both.
			other := cfg
			other.Consistency = VClock
			if _, err := newLLCore(other, &engineEnv{eng: eng}, newStats(), zerolog.Nop()); err == nil {
				t.Error("a data dir of another layout: no error")
			}
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
