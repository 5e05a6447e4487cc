// Package record keeps a simulated run's history in virtual time: it stamps each op with its
// index and the world's virtual time (nanoseconds since the run started, as harness.Recorder
// does with real time) and hashes the ops' JSON lines, so two runs of a seed can be compared
// byte for byte. It implements nemesis.Recorder; the clients of a simulation record through
// it too.
package record

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/sim"
)

// History is a run's ops in the order recorded.
type History struct {
	w   *sim.World
	ops []history.Op
	h   hash.Hash
	buf []byte
}

// New starts an empty history of w.
func New(w *sim.World) *History { return &History{w: w, h: sha256.New()} }

// Record stamps op with the next index and the current virtual time and appends it. (The
// simulation has one goroutine, so there is no lock; nemesis.Recorder asks for concurrent
// safety, which a single goroutine has trivially.)
func (h *History) Record(op history.Op) history.Op {
	op.Index = int64(len(h.ops))
	op.Time = int64(h.w.Now())
	h.ops = append(h.ops, op)
	h.buf = append(op.AppendJSON(h.buf[:0]), '\n')
	h.h.Write(h.buf)
	return op
}

// Ops returns the ops recorded so far (do not modify them).
func (h *History) Ops() []history.Op { return h.ops }

// Sum is the hex sha256 of the history as JSON lines (history.jsonl's bytes).
func (h *History) Sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// WriteJSONL writes the history as JSON lines, the format of history.jsonl.
func (h *History) WriteJSONL(w io.Writer) error {
	hw := history.NewWriter(w)
	for _, op := range h.ops {
		if err := hw.Write(op); err != nil {
			return err
		}
	}
	return hw.Flush()
}
