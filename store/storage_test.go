package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// openTestEngine opens engine in a fresh dir.
func openTestEngine(t *testing.T, engine, dir string) Engine {
	t.Helper()
	e, err := openEngine(dir, engine, "always", zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// scanAll lists bucket from from on: "key=value" each.
func scanAll(t *testing.T, e Engine, bucket string, from []byte) []string {
	t.Helper()
	var out []string
	err := e.Scan(bucket, from, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every engine keeps buckets apart and in key order, tells an empty value from an absent key,
// applies a batch's writes in order (the last write to a key wins), and keeps it all across a
// close and reopen.
func TestEngineContract(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			e := openTestEngine(t, engine, dir)
			b := &Batch{Ops: []BatchOp{
				{Bucket: "a", Key: []byte("k2"), Value: []byte("2")},
				{Bucket: "a", Key: []byte("k1"), Value: []byte("1")},
				{Bucket: "a", Key: []byte("k3"), Value: []byte("3")},
				{Bucket: "a", Key: []byte("gone"), Value: []byte("x")},
				{Bucket: "a", Key: []byte("gone"), Delete: true},
				{Bucket: "ab", Key: []byte("k0"), Value: []byte("other bucket")},
				{Bucket: "b", Key: []byte("empty"), Value: []byte{}},
				{Bucket: "b", Key: []byte("twice"), Value: []byte("first")},
				{Bucket: "b", Key: []byte("twice"), Value: []byte("second")},
			}}
			if err := e.Apply(b, true); err != nil {
				t.Fatal(err)
			}
			check := func(e Engine) {
				t.Helper()
				if got, want := scanAll(t, e, "a", nil), []string{"k1=1", "k2=2", "k3=3"}; !slices.Equal(got, want) {
					t.Errorf("scan a: got %v, want %v", got, want)
				}
				if got, want := scanAll(t, e, "a", []byte("k2")), []string{"k2=2", "k3=3"}; !slices.Equal(got, want) {
					t.Errorf("scan a from k2: got %v, want %v", got, want)
				}
				if got := scanAll(t, e, "none", nil); len(got) != 0 {
					t.Errorf("scan of a bucket never written: got %v, want nothing", got)
				}
				if v, err := e.Get("b", []byte("empty")); err != nil || v == nil || len(v) != 0 {
					t.Errorf("get of an empty value: got %q (nil %v), %v; want a non-nil empty value", v, v == nil, err)
				}
				if v, err := e.Get("b", []byte("absent")); err != nil || v != nil {
					t.Errorf("get of an absent key: got %q, %v; want nil", v, err)
				}
				if v, _ := e.Get("b", []byte("twice")); string(v) != "second" {
					t.Errorf("get of a key written twice in a batch: got %q, want second", v)
				}
				if v, _ := e.Get("a", []byte("gone")); v != nil {
					t.Errorf("get of a key deleted in the batch: got %q, want nil", v)
				}
				var first []string
				e.Scan("a", nil, func(k, _ []byte) bool { first = append(first, string(k)); return false })
				if !slices.Equal(first, []string{"k1"}) {
					t.Errorf("scan stopped after one key: got %v, want [k1]", first)
				}
			}
			check(e)
			if err := e.Apply(&Batch{Ops: []BatchOp{{Bucket: "a", Key: []byte("k3"), Delete: true}}}, false); err != nil {
				t.Fatal(err)
			}
			if v, _ := e.Get("a", []byte("k3")); v != nil {
				t.Errorf("after delete: got %q, want nil", v)
			}
			if err := e.Apply(&Batch{Ops: []BatchOp{{Bucket: "a", Key: []byte("k3"), Value: []byte("3")}}}, true); err != nil {
				t.Fatal(err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e = openTestEngine(t, engine, dir)
			defer e.Close()
			check(e)
		})
	}
}

// openTestStorage opens the shell's storage in dir as a node of layout's settings would, with
// engine and fsync; its dones run on the committer (the test waits for them).
func openTestStorage(dir, engine, fsync string, layout Config) (*shellStorage, error) {
	cfg := layout
	cfg.DataDir, cfg.Engine, cfg.Fsync = dir, engine, fsync
	return openShellStorage(cfg, func(f func()) { f() }, zerolog.Nop())
}

// persistWait persists b and waits until it is as durable as the fsync policy asks.
func persistWait(s *shellStorage, b *Batch) error {
	done := make(chan error, 1)
	s.Persist(b, func(err error) { done <- err })
	return <-done
}

// putRecord persists rec as key's record.
func putRecord(s *shellStorage, key string, rec Record) error {
	enc, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return persistWait(s, &Batch{Ops: []BatchOp{{Bucket: string(bucketData), Key: []byte(key), Value: enc}}})
}

// A data dir keeps the engine it was written with: a node configured with the other engine
// refuses it, naming both, and the same engine opens it again.
func TestDataDirKeepsItsEngine(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			layout := Config{Mode: "leaderless", Consistency: LWW}
			s, err := openTestStorage(dir, engine, "always", layout)
			if err != nil {
				t.Fatal(err)
			}
			if err := putRecord(s, "k", Record{Kind: KindRegister, Sibs: []Sibling{{Value: "v", TS: 1, Node: "n1"}}}); err != nil {
				t.Fatal(err)
			}
			s.close()
			for _, other := range Engines() {
				if other == engine {
					continue
				}
				_, err := openTestStorage(dir, other, "always", layout)
				if err == nil || !errors.Is(err, errEngine) || !strings.Contains(err.Error(), "engine "+other) || !strings.Contains(err.Error(), "a "+engine+" store") {
					t.Errorf("open a %s dir with %s: got %v, want a refusal naming both engines", engine, other, err)
				}
			}
			s, err = openTestStorage(dir, engine, "always", layout)
			if err != nil {
				t.Fatalf("reopen with the same engine: %v", err)
			}
			defer s.close()
			v, err := s.Get(string(bucketData), []byte("k"))
			r, derr := decodeRecord(v)
			if err != nil || derr != nil || !slices.Equal(r.Values(), []string{"v"}) {
				t.Errorf("after reopen: got %v, %v, %v; want [v]", r.Values(), err, derr)
			}
		})
	}
}

// walFS wraps the OS file system for pebble and watches its write-ahead log: every sync of a
// WAL file is counted and passes through onSync (when set) first.
type walFS struct {
	vfs.FS
	mu     sync.Mutex
	syncs  int
	onSync func()
}

func (fs *walFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &walFile{File: f, fs: fs}, nil
}

func (fs *walFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs *walFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(newname, f, err)
}

func (fs *walFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(name, f, err)
}

func (fs *walFS) synced() {
	fs.mu.Lock()
	fs.syncs++
	hook := fs.onSync
	fs.mu.Unlock()
	if hook != nil {
		hook()
	}
}

func (fs *walFS) count() int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.syncs
}

type walFile struct {
	vfs.File
	fs *walFS
}

func (f *walFile) Sync() error     { f.fs.synced(); return f.File.Sync() }
func (f *walFile) SyncData() error { f.fs.synced(); return f.File.SyncData() }
func (f *walFile) SyncTo(n int64) (bool, error) {
	f.fs.synced()
	return f.File.SyncTo(n)
}

// The fsync policy reaches the engine. bbolt: "always" commits with fsync, "never" sets NoSync.
// pebble: with "always" every write syncs the write-ahead log before it is acknowledged, with
// "never" no write syncs it. (A kill -9 test cannot tell the two apart: the page cache outlives
// the process.)
func TestFsyncPolicy(t *testing.T) {
	rec := Record{Kind: KindRegister, Sibs: []Sibling{{Value: "v", TS: 1, Node: "n1"}}}
	for _, fsync := range []string{"always", "never"} {
		t.Run(EngineBbolt+"/"+fsync, func(t *testing.T) {
			s, err := openTestStorage(t.TempDir(), EngineBbolt, fsync, Config{Mode: "leaderless", Consistency: LWW})
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()
			if err := putRecord(s, "k", rec); err != nil {
				t.Fatal(err)
			}
			if got, want := s.eng.(*boltEngine).db.NoSync, fsync == "never"; got != want {
				t.Errorf("bbolt NoSync after a write: got %v, want %v", got, want)
			}
		})
		t.Run(EnginePebble+"/"+fsync, func(t *testing.T) {
			fs := &walFS{FS: vfs.Default}
			eng, err := openPebble(filepath.Join(t.TempDir(), "pebble"), fs, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			s := newShellStorage(eng, fsync == "always", 0, func(f func()) { f() })
			defer s.close()
			for i := 0; i < 5; i++ {
				before := fs.count()
				if err := putRecord(s, fmt.Sprint("k", i), rec); err != nil {
					t.Fatal(err)
				}
				synced := fs.count() > before
				if want := fsync == "always"; synced != want {
					t.Errorf("write %d: WAL synced before the ack: got %v, want %v", i, synced, want)
				}
			}
		})
	}
}

// pebble makes a batch visible before its WAL sync completes; the engine must not: a reader
// during the sync sees the old value, and the new one once Apply has returned.
func TestPebbleReadersWaitForSync(t *testing.T) {
	fs := &walFS{FS: vfs.Default}
	e, err := openPebble(filepath.Join(t.TempDir(), "pebble"), fs, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	put := func(v string) *Batch {
		return &Batch{Ops: []BatchOp{{Bucket: "data", Key: []byte("k"), Value: []byte(v)}}}
	}
	if err := e.Apply(put("old"), true); err != nil {
		t.Fatal(err)
	}
	inSync, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	fs.mu.Lock()
	fs.onSync = func() {
		once.Do(func() {
			close(inSync)
			<-release
		})
	}
	fs.mu.Unlock()
	applied := make(chan error, 1)
	go func() { applied <- e.Apply(put("new"), true) }()
	<-inSync
	if v, err := e.Get("data", []byte("k")); err != nil || string(v) != "old" {
		t.Errorf("get during the WAL sync: got %q, %v; want old", v, err)
	}
	if got := scanAll(t, e, "data", nil); !slices.Equal(got, []string{"k=old"}) {
		t.Errorf("scan during the WAL sync: got %v, want [k=old]", got)
	}
	close(release)
	if err := <-applied; err != nil {
		t.Fatal(err)
	}
	if v, err := e.Get("data", []byte("k")); err != nil || string(v) != "new" {
		t.Errorf("get after Apply returned: got %q, %v; want new", v, err)
	}
}

// A data dir remembers the layout it was written under: a node started on it with another mode,
// consistency, conflict strategy or topology refuses it (naming both) instead of misreading its
// records or stranding its multi-leader queues; the same layout opens it again. On every engine.
func TestDataDirKeepsItsLayout(t *testing.T) {
	for _, engine := range Engines() {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			ml := Config{Mode: "multileader", Conflict: ConflictCRDT, Topology: TopologyRing}
			s, err := openTestStorage(dir, engine, "never", ml)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.close(); err != nil {
				t.Fatal(err)
			}
			for _, other := range []Config{
				{Mode: "leaderless", Consistency: LWW},
				{Mode: "multileader", Conflict: ConflictLWW, Topology: TopologyRing},
				{Mode: "multileader", Conflict: ConflictCRDT, Topology: TopologyAll},
			} {
				_, err := openTestStorage(dir, engine, "never", other)
				if err == nil || !strings.Contains(err.Error(), ml.DataLayout()) || !strings.Contains(err.Error(), other.DataLayout()) {
					t.Errorf("open as %q: got %v, want a refusal naming both layouts", other.DataLayout(), err)
				}
			}
			s, err = openTestStorage(dir, engine, "never", ml)
			if err != nil {
				t.Fatalf("reopen with the same layout: %v", err)
			}
			s.close()
		})
	}
}
