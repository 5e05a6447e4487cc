package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"
)

// Engine is the node's durable key-value store, the one thing the node's storage
// (shellStorage) needs from a disk: named buckets of byte keys kept in key order, read one key
// at a time or scanned, and written in atomic batches with explicit durability. bbolt and pebble
// implement it; a simulated disk can too (durable only once synced).
//
// Apply calls come one at a time (shellStorage's committer makes them); Get and Scan may run at
// any time, concurrently with Apply and with each other, and see a batch only once its Apply
// has returned: a reader never sees a write that is not yet as durable as its Apply asked.
type Engine interface {
	// Get returns a copy of the value of key in bucket, or nil if there is none (an empty value
	// is a non-nil empty slice).
	Get(bucket string, key []byte) ([]byte, error)
	// Scan calls fn with each key of bucket at or after from, in key order, on one consistent
	// view, until fn returns false. key and value are valid only during the call.
	Scan(bucket string, from []byte, fn func(key, value []byte) bool) error
	// Apply applies b atomically. With sync, it returns nil only once b (and every batch
	// applied before it) is durable: it survives a crash of the process or of the machine.
	// Without sync, b is applied and visible but may be lost in a machine crash.
	Apply(b *Batch, sync bool) error
	// Close releases the engine. Applied batches stay as durable as their Apply made them.
	Close() error
}

// Batch is an ordered list of writes applied atomically; a later write to a key wins.
type Batch struct {
	Ops []BatchOp
}

// BatchOp is one write of a Batch: a put of Value, or a delete when Delete is set.
type BatchOp struct {
	Bucket     string
	Key, Value []byte
	Delete     bool
}

// Storage engines (Config.Engine).
const (
	EngineBbolt  = "bbolt"  // one B+tree file, copy-on-write pages, two fsyncs per commit
	EnginePebble = "pebble" // LSM tree with a write-ahead log: one WAL append + fsync per commit
)

// Engines are the names Config.Engine takes.
func Engines() []string { return []string{EngineBbolt, EnginePebble} }

// errEngine: the data dir was written by another storage engine.
var errEngine = errors.New("wrong storage engine")

// engineFiles is where each engine keeps its files inside a data dir.
func engineFiles(dir, engine string) string {
	if engine == EnginePebble {
		return filepath.Join(dir, "pebble")
	}
	return filepath.Join(dir, "node.bolt")
}

// engineFileName is engineFiles' last element, as a person would name it.
func engineFileName(engine string) string {
	if engine == EnginePebble {
		return "its pebble/ directory"
	}
	return "its node.bolt file"
}

// openEngine opens (or creates) engine's files in dir, refusing a dir that holds another
// engine's files.
func openEngine(dir, engine string, fsync string, log zerolog.Logger) (Engine, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("store: creating data dir %s: %w", dir, err)
	}
	for _, other := range Engines() {
		if other == engine {
			continue
		}
		if _, err := os.Stat(engineFiles(dir, other)); err == nil {
			return nil, fmt.Errorf("store: data dir %s: %w: it holds a %s store (%s), and this node is configured with engine %s; start it with --engine %s, or give it a fresh data dir",
				dir, errEngine, other, engineFileName(other), engine, other)
		}
	}
	switch engine {
	case EngineBbolt:
		return openBolt(engineFiles(dir, engine), fsync == "never")
	case EnginePebble:
		return openPebble(engineFiles(dir, engine), nil, log)
	default:
		return nil, fmt.Errorf("store: unknown storage engine %q: want one of %v", engine, Engines())
	}
}
