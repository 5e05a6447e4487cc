package store

import (
	"context"
	"net/http"
)

// WriteOp is one client write, whatever its kind.
type WriteOp struct {
	Kind   string // KindRegister, KindCounter or KindSet
	Value  string // register value
	Causal VV     // register causal context (vclock; nil = none)
	Delta  int64  // counter increment (may be negative)
	Elem   string // set element
}

// Replicator is a replication mode: it coordinates client reads and writes across the cluster
// and serves its own internal API. Leaderless is the one built; a multi-leader mode plugs in
// beside it by implementing the same interface.
type Replicator interface {
	// Read returns the merged record of key as seen by a read quorum of r (r already
	// validated). A record of another kind than kind is an error with status 409.
	Read(ctx context.Context, key, kind string, r int) (Record, error)
	// Write applies op to key with write quorum w and returns nil only when acknowledged.
	// Errors are *OpError carrying the outcome.
	Write(ctx context.Context, key string, op WriteOp, w int) error
	// Internal registers the mode's /internal/... endpoints.
	Internal(mux *http.ServeMux)
	// Run runs the mode's background work (hint delivery, anti-entropy) until ctx ends, and
	// waits for the goroutines it started (async repairs included) before returning.
	Run(ctx context.Context)
}

// OpError is a client operation's failure with its HTTP status and honest outcome.
type OpError struct {
	Status  int
	Outcome string // client.OutcomeFailed or client.OutcomeIndeterminate; "" for 4xx
	Msg     string
}

func (e *OpError) Error() string { return e.Msg }

// Quorums are both quorums of a client request: the one the operation is named for (w of a
// write, r of a read) and the other one, which abd needs too (a write's query phase reads a
// quorum of R; a read's write-back writes a quorum of W). Clients may send both ?w= and ?r= on
// every data request; the node's defaults fill in what they leave out.
type Quorums struct{ W, R int }

type quorumsKey struct{}

// withQuorums attaches a request's quorums to its context (request-scoped data: the
// Replicator interface names only the operation's own quorum).
func withQuorums(ctx context.Context, q Quorums) context.Context {
	return context.WithValue(ctx, quorumsKey{}, q)
}

// quorumsFrom returns the request's quorums, or def when the request carried none (a caller
// inside the store, a test).
func quorumsFrom(ctx context.Context, def Quorums) Quorums {
	if q, ok := ctx.Value(quorumsKey{}).(Quorums); ok {
		return q
	}
	return def
}
