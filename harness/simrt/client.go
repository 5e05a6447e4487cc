package simrt

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/sim"
	"github.com/faultline/faultline/store"
	"github.com/faultline/faultline/workloads"
)

// clientNode is a harness client's process on the simulated network: it sends requests to store
// nodes and hands each answer to the callback waiting for its id. An answer nobody waits for
// any more (its op timed out, so its process was replaced) is dropped.
type clientNode struct {
	env     *sim.Env
	st      Store
	ids     *uint64 // the run's request ids, shared by every client node
	pending map[uint64]func(store.Record, *store.OpError)
}

func (c *clientNode) Receive(m sim.Message) {
	id, rec, err, ok := c.st.Reply(m)
	if !ok {
		return
	}
	if f := c.pending[id]; f != nil {
		delete(c.pending, id)
		f(rec, err)
	}
}

// call sends one request and waits for its answer.
func (c *clientNode) call(to string, msg func(id uint64) (string, any), done func(store.Record, *store.OpError)) {
	*c.ids++
	id := *c.ids
	kind, body := msg(id)
	c.pending[id] = done
	c.env.Send(to, kind, body)
}

// forget drops every pending answer: the node's process was replaced.
func (c *clientNode) forget() { clear(c.pending) }

// simClient is workloads.AsyncClient for one process: requests to one store node, at the run's
// quorums, with the store's answers classified as the HTTP client classifies them (an error of
// outcome failed, or a 4xx without an outcome, definitely did not apply; anything else is
// indeterminate).
type simClient struct {
	c      *clientNode
	to     string
	q      store.Quorums
	vclock bool // register reads carry a causal context
}

var _ workloads.AsyncClient = (*simClient)(nil)

// failed is an error that definitely did not take effect.
type failed struct{ err error }

func (f failed) Error() string        { return f.err.Error() }
func (f failed) Unwrap() error        { return f.err }
func (f failed) Is(target error) bool { return target == workloads.ErrFailed }

// opErr turns a store answer's error into the workload's error, with the same text as the HTTP
// client's (client.Error).
func opErr(op string, e *store.OpError) error {
	if e == nil {
		return nil
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = client.OutcomeIndeterminate
		if e.Status/100 == 4 {
			outcome = client.OutcomeFailed // rejected before anything changed
		}
	}
	err := &client.Error{Op: op, Status: e.Status, Message: e.Msg, Outcome: outcome}
	if outcome == client.OutcomeFailed {
		return failed{err}
	}
	return err
}

func (s *simClient) read(op, key, kind string, done func(store.Record, error)) {
	s.c.call(s.to, func(id uint64) (string, any) { return s.c.st.Read(id, key, kind, s.q) },
		func(rec store.Record, e *store.OpError) { done(rec, opErr(op, e)) })
}

func (s *simClient) write(op, key string, w store.WriteOp, done func(error)) {
	s.c.call(s.to, func(id uint64) (string, any) { return s.c.st.Write(id, key, w, s.q) },
		func(_ store.Record, e *store.OpError) { done(opErr(op, e)) })
}

func (s *simClient) Get(key string, done func([]string, string, error)) {
	s.read("get", key, store.KindRegister, func(rec store.Record, err error) {
		if err != nil {
			done(nil, "", err)
			return
		}
		cc := ""
		if s.vclock {
			cc = rec.Context().String()
		}
		done(rec.Values(), cc, nil)
	})
}

func (s *simClient) Put(key, value, causal string, done func(error)) {
	vv, err := store.ParseContext(causal)
	if err != nil {
		s.c.env.After(0, "bad-context", func() { done(failed{fmt.Errorf("client: put: %w", err)}) })
		return
	}
	if len(vv) == 0 {
		vv = nil
	}
	s.write("put", key, store.WriteOp{Kind: store.KindRegister, Value: value, Causal: vv}, done)
}

func (s *simClient) Incr(key string, delta int64, done func(error)) {
	s.write("incr", key, store.WriteOp{Kind: store.KindCounter, Delta: delta}, done)
}

func (s *simClient) Counter(key string, done func(int64, error)) {
	s.read("counter", key, store.KindCounter, func(rec store.Record, err error) {
		if err != nil {
			done(0, err)
			return
		}
		n, cerr := rec.CounterValue()
		if cerr != nil {
			done(0, failed{fmt.Errorf("client: counter: %w", cerr)})
			return
		}
		done(n, nil)
	})
}

func (s *simClient) SetAdd(key, elem string, done func(error)) {
	s.write("setadd", key, store.WriteOp{Kind: store.KindSet, Elem: elem}, done)
}

func (s *simClient) SetRead(key string, done func([]string, error)) {
	s.read("setread", key, store.KindSet, func(rec store.Record, err error) {
		if err != nil {
			done(nil, err)
			return
		}
		done(rec.Elems, nil)
	})
}

// loopClock is the event loop's time for workloads.Procs: virtual time, and timers on the
// harness node (which is never crashed, paused or skewed).
type loopClock struct {
	w   *sim.World
	env *sim.Env
}

func (l loopClock) Now() time.Duration { return l.w.Now() }

func (l loopClock) After(d time.Duration, f func()) func() {
	t := l.env.After(d, "harness", f)
	return func() { l.env.Cancel(t) }
}

// idle is a node program that ignores what it receives (the harness node).
type idle struct{}

func (idle) Receive(sim.Message) {}
