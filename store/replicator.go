package store

// WriteOp is one client write, whatever its kind.
type WriteOp struct {
	Kind   string // KindRegister, KindCounter or KindSet
	Value  string // register value
	Causal VV     // register causal context (vclock; nil = none)
	Delta  int64  // counter increment (may be negative)
	Elem   string // set element
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
