package workloads

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/faultline/faultline/history"
)

// Client is what a workload needs from a store. Errors: an error wrapping ErrFailed means the
// op definitely did not happen (recorded as "fail"); any other error, a timeout included, means
// it may or may not have happened (recorded as "info").
//
// One Client serves one process, so it is never used by two goroutines at once.
type Client interface {
	// Get reads a register. More than one value means siblings; causal is the opaque causal
	// context to pass to a following Put ("" if the store has none).
	Get(ctx context.Context, key string) (values []string, causal string, err error)
	// Put writes a register, superseding the versions the causal context covers.
	Put(ctx context.Context, key, value, causal string) error
	// Incr adds delta to a counter CRDT.
	Incr(ctx context.Context, key string, delta int64) error
	// Counter reads a counter CRDT (0 if absent).
	Counter(ctx context.Context, key string) (int64, error)
	// SetAdd adds an element to a set CRDT.
	SetAdd(ctx context.Context, key, elem string) error
	// SetRead reads a set CRDT (empty if absent).
	SetRead(ctx context.Context, key string) ([]string, error)
}

// CASClient is an optional Client ability: compare-and-set of a register. A register workload
// with Config.CASShare > 0 needs it.
type CASClient interface {
	// CAS sets key to value if it holds old. A compare that did not hold is an error wrapping
	// ErrFailed (nothing was written).
	CAS(ctx context.Context, key, old, value string) error
}

// ErrFailed marks an op that definitely did not take effect. Clients wrap it.
var ErrFailed = errors.New("workloads: definitely not applied")

// Recorder receives the ops of the history.
type Recorder interface {
	// Record stamps op with its Index and Time, appends it to the history and returns the
	// stamped op. It is safe for concurrent use.
	Record(op history.Op) history.Op
}

// Counters are live op counts, for a progress bar. Run updates them; read them with Load.
type Counters struct {
	Invoked, OK, Fail, Info atomic.Int64
	// NextProcess is one above the highest process id Run has used so far. Set
	// Config.FinalProcess to it before FinalReads so final reads get fresh process ids.
	NextProcess atomic.Int64
}

// noteProcess raises NextProcess to p+1.
func (c *Counters) noteProcess(p int) {
	for {
		cur := c.NextProcess.Load()
		if int64(p) < cur || c.NextProcess.CompareAndSwap(cur, int64(p)+1) {
			return
		}
	}
}

// typeOf classifies a client error: ErrFailed means fail, anything else info.
func typeOf(err error) history.Type {
	switch {
	case err == nil:
		return history.OK
	case errors.Is(err, ErrFailed):
		return history.Fail
	}
	return history.Info
}
