package harness

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/faultline/faultline/history"
)

// flushEvery bounds how much of the history a killed harness can lose: the file is flushed at
// least this often while the run goes.
const flushEvery = 100 * time.Millisecond

// Recorder is the run's history: it stamps each op with its index and its time since the run
// started, keeps it in memory for the checkers and streams it to history.jsonl as the run goes.
// It is safe for concurrent use by the clients and the nemesis.
type Recorder struct {
	mu    sync.Mutex
	start time.Time
	ops   []history.Op
	n     int64           // ops recorded
	keep  bool            // keep ops in memory (off only in overhead benchmarks)
	buf   *bufio.Writer   // nil when not writing
	w     *history.Writer // encodes onto buf
	dirty bool
	err   error // first write error; recording goes on in memory
}

// NewRecorder starts a history at start. When out is non-nil every op is written to it as a
// JSON line (buffered; call Flush or run FlushLoop).
func NewRecorder(out io.Writer, start time.Time) *Recorder {
	r := &Recorder{start: start, keep: true}
	if out != nil {
		r.buf = bufio.NewWriterSize(out, 64<<10)
		r.w = history.NewWriter(r.buf)
	}
	return r
}

// NewDiscardRecorder stamps ops but neither keeps nor writes them: the baseline of the
// recording-overhead benchmark.
func NewDiscardRecorder(start time.Time) *Recorder { return &Recorder{start: start} }

// Len is the number of ops recorded so far.
func (r *Recorder) Len() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Start is when the run's clock started.
func (r *Recorder) Start() time.Time { return r.start }

// Record stamps op with the next index and the current time and appends it.
func (r *Recorder) Record(op history.Op) history.Op {
	r.mu.Lock()
	// Stamped under the lock, so the file's order is the order of the times (readers warn
	// when times go down). An invocation is recorded before its request is sent and a
	// completion after its answer came, so the stamps still bound the operation.
	op.Index = r.n
	r.n++
	op.Time = int64(time.Since(r.start))
	if r.keep {
		r.ops = append(r.ops, op)
	}
	if r.w != nil && r.err == nil {
		if err := r.w.Write(op); err != nil {
			r.err = fmt.Errorf("harness: write history: %w", err)
		}
		r.dirty = true
	}
	r.mu.Unlock()
	return op
}

// Ops returns the ops recorded so far (a copy of the slice header; do not modify the ops).
func (r *Recorder) Ops() []history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ops[:len(r.ops):len(r.ops)]
}

// Flush writes buffered ops out and returns the first write error so far.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.w != nil && r.dirty && r.err == nil {
		if err := r.w.Flush(); err == nil {
			err = r.buf.Flush()
			if err != nil {
				r.err = fmt.Errorf("harness: flush history: %w", err)
			}
		} else {
			r.err = fmt.Errorf("harness: flush history: %w", err)
		}
		r.dirty = false
	}
	return r.err
}

// FlushLoop flushes every flushEvery until ctx is done, then once more.
func (r *Recorder) FlushLoop(ctx context.Context) {
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = r.Flush()
			return
		case <-t.C:
			_ = r.Flush()
		}
	}
}
