package store

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/faultline/faultline/sim"
	"github.com/rs/zerolog"
)

// The simulator's node: a sim.Program per store node that runs the same core as `faultline
// node` (newCore), over an Env made of the simulated network, disk, clock and randomness.
//
// Clients are sim nodes too. A client sends kind SimKindWrite with a SimWrite body, or
// SimKindRead with a SimRead; the node answers SimKindReply with a SimReply carrying the same
// ID. A node that crashes never answers: the client times out, as over HTTP.

// Message kinds between clients and store nodes.
const (
	SimKindWrite = "client/write"
	SimKindRead  = "client/read"
	SimKindReply = "client/reply"
)

// Message kinds between store nodes: an internal request is simRPCPrefix + its route.
const (
	simRPCPrefix = "rpc"
	simRPCReply  = "rpc-reply"
)

// SimWrite is a client's write: op on key with quorums Q (zero = the node's defaults).
type SimWrite struct {
	ID  uint64
	Key string
	Op  WriteOp
	Q   Quorums
}

// SimRead is a client's read of key as a kind (KindRegister, KindCounter, KindSet).
type SimRead struct {
	ID   uint64
	Key  string
	Kind string
	Q    Quorums
}

// SimReply answers the SimWrite or SimRead with the same ID: Err nil is an acknowledged write
// or a successful read (with Record); otherwise Err carries the status and the honest outcome.
type SimReply struct {
	ID     uint64
	Record Record
	Err    *OpError
}

// simCall is an internal request on the wire: its route and a copy of the request (simcopy.go),
// copied again into a fresh value at the receiver.
type simCall struct {
	ID    uint64
	Route string
	Body  simBody
}

// simAnswer answers a simCall: Body on success (Status 0), else the error answer.
type simAnswer struct {
	ID      uint64
	Body    simBody
	Status  int
	Outcome string
	Msg     string
}

// SimCheckConfig checks cfg as SimBoot will use it (for every node of cfg.Peers).
func SimCheckConfig(cfg Config) error {
	if len(cfg.Peers) == 0 {
		return errors.New("sim: the store config names no nodes (Peers is empty)")
	}
	_, err := simNodeConfig(cfg, firstID(cfg))
	return err
}

func firstID(cfg Config) string {
	ids := cfg.NodeIDs()
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// simNodeConfig is cfg for node id, with what the simulator does not use filled in (a data dir
// name, no cluster secret: the simulated network has no strangers), validated.
func simNodeConfig(cfg Config, id string) (Config, error) {
	cfg.ID = id
	for _, p := range cfg.NodeIDs() {
		if cfg.Peers[p] == "" { // addresses are not used: fill them in, on a copy
			peers := make(map[string]string, len(cfg.Peers))
			for q, addr := range cfg.Peers {
				peers[q] = cmp.Or(addr, "sim:"+q)
			}
			cfg.Peers = peers
			break
		}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "sim:" + id
	}
	if cfg.ClusterSecret == "" {
		cfg.InsecureInternal = true
	}
	if cfg.BodyReadTimeout < cfg.RequestTimeout {
		cfg.BodyReadTimeout = cfg.RequestTimeout
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("sim node %s: %w", id, err)
	}
	return cfg, nil
}

// SimBoot returns the sim.Boot of a store node of the cluster cfg (cfg.Peers names every node;
// their addresses are not used; cfg.ID is set from the sim node's id). events, if not nil,
// gets every decision a core reports, with Node and Time (virtual) filled in.
func SimBoot(cfg Config, log zerolog.Logger, events func(Event)) sim.Boot {
	return func(e *sim.Env) sim.Program {
		p := &simProgram{stats: newStats(), seen: map[simClientReq]struct{}{}}
		ncfg, err := simNodeConfig(cfg, e.ID())
		lg := log.With().Str("node", e.ID()).Logger()
		p.env = &simEnv{e: e, cfg: ncfg, rng: rand.New(e.Rand()), events: events, calls: map[uint64]*simPending{}, log: lg}
		if err == nil {
			p.core, err = newCore(ncfg, p.env, p.stats, lg)
		}
		if err != nil {
			lg.Error().Err(err).Msg("the store core did not start")
			p.err = err
			return p
		}
		p.ir = rulesFor(ncfg)
		p.core.Start()
		return p
	}
}

// simProgram is one incarnation of a store node.
type simProgram struct {
	env   *simEnv
	core  Core
	stats *Stats
	ir    *internalRules
	err   error // the core did not start: every request gets this
	// seen holds the client requests this incarnation took, by client and ID: the simulated
	// network may duplicate a message, TCP never duplicates an HTTP request, so a repeated
	// request is dropped (a duplicated increment would be applied twice).
	seen map[simClientReq]struct{}
}

// simClientReq names a client request: its client and ID.
type simClientReq struct {
	from  string
	write bool
	id    uint64
}

// repeated reports whether the request was seen before by this incarnation, and notes it.
func (p *simProgram) repeated(from string, write bool, id uint64) bool {
	k := simClientReq{from: from, write: write, id: id}
	if _, ok := p.seen[k]; ok {
		p.stats.Inc("client_duplicate_dropped")
		return true
	}
	p.seen[k] = struct{}{}
	return false
}

// SimStats returns the counters of node n's running incarnation (nil when it is down or not
// a store node). They start from zero at every boot, as a real node's do.
func SimStats(n *sim.Node) map[string]int64 {
	p, ok := n.Program().(*simProgram)
	if !ok {
		return nil
	}
	return p.stats.Snapshot()
}

// SimReplicas is the preference list of key in cluster cfg: the nodes that replicate it.
func SimReplicas(cfg Config, key string) []string {
	return NewRing(cfg.NodeIDs(), cfg.VNodes).PrefList(key, cfg.EffectiveN())
}

// SimDump reads the records on node n's disk (what it holds now, durable or not; after a
// crash, what survived), keyed by key.
func SimDump(n *sim.Node) (map[string]Record, error) {
	out := map[string]Record{}
	var derr error
	err := n.Disk().Iterate(string(bucketData), "", func(k string, v []byte) bool {
		r, err := decodeRecord(v)
		if err != nil {
			derr = fmt.Errorf("node %s: key %q: %w", n.ID(), k, err)
			return false
		}
		out[k] = r
		return true
	})
	return out, errors.Join(err, derr)
}

// SimHints lists the hints held on node n's disk as "key>target" (sorted).
func SimHints(n *sim.Node) ([]string, error) {
	var out []string
	err := n.Disk().Iterate(string(bucketHints), "", func(k string, _ []byte) bool {
		out = append(out, string(bytes.ReplaceAll([]byte(k), []byte{0}, []byte(">"))))
		return true
	})
	sort.Strings(out)
	return out, err
}

// Receive implements sim.Program.
func (p *simProgram) Receive(m sim.Message) {
	switch body := m.Body.(type) {
	case SimWrite:
		if !p.repeated(m.From, true, body.ID) {
			p.write(m.From, body)
		}
	case SimRead:
		if !p.repeated(m.From, false, body.ID) {
			p.read(m.From, body)
		}
	case simCall:
		p.handle(m.From, body)
	case simAnswer:
		p.env.answer(m.From, body)
	default:
		p.env.log.Warn().Str("from", m.From).Str("kind", m.Kind).Msg("unknown message")
	}
}

func (p *simProgram) replyTo(to string, r SimReply) { p.env.e.Send(to, SimKindReply, r) }

// clientErr makes a client's error answer of err.
func clientErr(err error) *OpError {
	var oe *OpError
	if errors.As(err, &oe) {
		c := *oe
		return &c
	}
	return &OpError{Status: statusInternal, Msg: err.Error()}
}

// checkClient validates a client request as the HTTP API does.
func (p *simProgram) checkClient(key string, q Quorums) *OpError {
	if p.err != nil {
		return &OpError{Status: statusUnavailable, Msg: p.err.Error()}
	}
	n := p.env.cfg.EffectiveN()
	for _, err := range []error{checkKey(key), CheckQuorum("w", q.W, n), CheckQuorum("r", q.R, n)} {
		if err != nil {
			return &OpError{Status: statusBadRequest, Msg: err.Error()}
		}
	}
	return nil
}

func (p *simProgram) write(from string, w SimWrite) {
	if oe := p.checkClient(w.Key, w.Q); oe != nil {
		p.stats.Inc("client_bad_request")
		p.replyTo(from, SimReply{ID: w.ID, Err: oe})
		return
	}
	op := w.Op
	if op.Causal != nil { // the body is shared with a duplicate delivery: copy the map
		cv := make(VV, len(op.Causal))
		for k, x := range op.Causal {
			cv[k] = x
		}
		op.Causal = cv
	}
	st, ok := map[string]string{KindRegister: "client_put", KindCounter: "client_incr", KindSet: "client_set_add"}[op.Kind]
	if !ok {
		p.stats.Inc("client_bad_request")
		p.replyTo(from, SimReply{ID: w.ID, Err: &OpError{Status: statusBadRequest, Msg: fmt.Sprintf("kind %q is not register, counter or set", op.Kind)}})
		return
	}
	p.stats.Inc(st)
	p.core.Write(w.Key, op, w.Q, func(err error) {
		r := SimReply{ID: w.ID}
		if err != nil {
			r.Err = clientErr(err)
		}
		p.replyTo(from, r)
	})
}

func (p *simProgram) read(from string, rd SimRead) {
	if oe := p.checkClient(rd.Key, rd.Q); oe != nil {
		p.stats.Inc("client_bad_request")
		p.replyTo(from, SimReply{ID: rd.ID, Err: oe})
		return
	}
	st, ok := map[string]string{KindRegister: "client_get", KindCounter: "client_counter", KindSet: "client_set_read"}[rd.Kind]
	if !ok {
		p.stats.Inc("client_bad_request")
		p.replyTo(from, SimReply{ID: rd.ID, Err: &OpError{Status: statusBadRequest, Msg: fmt.Sprintf("kind %q is not register, counter or set", rd.Kind)}})
		return
	}
	p.stats.Inc(st)
	p.core.Read(rd.Key, rd.Kind, rd.Q, func(rec Record, err error) {
		r := SimReply{ID: rd.ID}
		if err != nil {
			r.Err = clientErr(err)
		} else {
			r.Record = cloneRecord(rec)
		}
		p.replyTo(from, r)
	})
}

// handle serves an internal request from peer from: decoded and validated as the HTTP side
// does (size limit, known fields only, check), then Handle.
func (p *simProgram) handle(from string, c simCall) {
	fail := func(status int, msg string) {
		p.env.e.Send(from, simRPCReply, simAnswer{ID: c.ID, Status: status, Msg: msg})
	}
	if p.err != nil {
		fail(statusUnavailable, p.err.Error())
		return
	}
	req := internalRequest(c.Route)
	body, ok := req.(internalBody)
	if req == nil || !ok {
		fail(404, "no internal route "+c.Route)
		return
	}
	if !p.ir.isNode(from) {
		fail(statusBadRequest, fmt.Sprintf("sender %q is not a cluster node", from))
		return
	}
	if lim := body.limit(p.ir); int64(c.Body.size) > lim {
		fail(413, fmt.Sprintf("request body is about %d bytes, more than %d", c.Body.size, lim))
		return
	}
	got, err := c.Body.into(req, true)
	if err != nil {
		fail(statusBadRequest, "bad request body: "+err.Error())
		return
	}
	req = got.(Request)
	if body, ok = req.(internalBody); !ok {
		fail(statusInternal, "no checks for "+c.Route)
		return
	}
	if err := body.check(p.ir); err != nil {
		fail(statusBadRequest, err.Error())
		return
	}
	p.core.Handle(from, req, func(ans any, err error) {
		if err != nil {
			oe := clientErr(err)
			p.env.e.Send(from, simRPCReply, simAnswer{ID: c.ID, Status: oe.Status, Outcome: oe.Outcome, Msg: oe.Msg})
			return
		}
		b, err := newSimBody(ans)
		if err != nil {
			fail(statusInternal, "encoding answer: "+err.Error())
			return
		}
		p.env.e.Send(from, simRPCReply, simAnswer{ID: c.ID, Body: b})
	})
}

// simEnv is a core's Env in the simulator.
type simEnv struct {
	e      *sim.Env
	cfg    Config
	rng    *rand.Rand
	events func(Event)
	log    zerolog.Logger
	nextID uint64
	calls  map[uint64]*simPending
}

var _ Env = (*simEnv)(nil)

type simPending struct {
	peer   string
	req    Request
	done   func(any, error)
	cancel func()
}

func (s *simEnv) Now() time.Time      { return s.e.Now() }
func (s *simEnv) Mono() time.Duration { return s.e.Mono() }
func (s *simEnv) Rand() *rand.Rand    { return s.rng }

// Call sends req as a message carrying a copy of it; the answer (or the timeout, a sim
// timer) calls done once.
func (s *simEnv) Call(peer string, req Request, timeout time.Duration, done func(any, error)) {
	soon := func(err error) { s.After(0, func() { done(nil, err) }) }
	if peer == s.cfg.ID {
		soon(&replicaError{peer: peer, refused: true, err: errors.New("a node does not call itself")})
		return
	}
	if _, ok := s.cfg.Peers[peer]; !ok {
		soon(&replicaError{peer: peer, refused: true, err: errors.New("unknown peer")})
		return
	}
	b, err := newSimBody(req)
	if err != nil {
		soon(&replicaError{peer: peer, refused: true, err: err})
		return
	}
	s.nextID++
	id := s.nextID
	pc := &simPending{peer: peer, req: req, done: done}
	s.calls[id] = pc
	pc.cancel = s.After(timeout, func() {
		if s.calls[id] != pc {
			return
		}
		delete(s.calls, id)
		done(nil, &replicaError{peer: peer, err: fmt.Errorf("no answer within %s", timeout)})
	})
	s.e.Send(peer, simRPCPrefix+req.route(), simCall{ID: id, Route: req.route(), Body: b})
}

// answer matches a peer's answer with its call; a late or duplicate answer is dropped.
func (s *simEnv) answer(from string, a simAnswer) {
	pc := s.calls[a.ID]
	if pc == nil || pc.peer != from {
		return
	}
	delete(s.calls, a.ID)
	pc.cancel()
	if a.Status != 0 {
		pc.done(nil, &replicaError{peer: from, status: a.Status, outcome: a.Outcome, msg: a.Msg, refused: true,
			err: fmt.Errorf("status %d: %s", a.Status, a.Msg)})
		return
	}
	out := pc.req.answer()
	if out != nil && !a.Body.empty() {
		var err error
		if out, err = a.Body.into(out, false); err != nil {
			pc.done(nil, &replicaError{peer: from, err: fmt.Errorf("decoding answer: %w", err)})
			return
		}
	}
	pc.done(out, nil)
}

func (s *simEnv) After(d time.Duration, f func()) func() {
	t := s.e.After(d, "core", f)
	return func() { s.e.Cancel(t) }
}

func (s *simEnv) Persist(b *Batch, done func(error)) {
	var sb sim.Batch
	for _, op := range b.Ops {
		if op.Delete {
			sb.Delete(op.Bucket, string(op.Key))
		} else {
			sb.Put(op.Bucket, string(op.Key), op.Value)
		}
	}
	s.e.Persist(&sb, s.cfg.Fsync != "never", done)
}

// Sync implements Syncer: an empty batch written with a sync, which makes every batch
// written before it durable whatever the fsync policy.
func (s *simEnv) Sync(done func(error)) { s.e.Persist(&sim.Batch{}, true, done) }

var _ Syncer = (*simEnv)(nil)

func (s *simEnv) Get(bucket string, key []byte) ([]byte, error) {
	v, ok, err := s.e.Disk().Get(bucket, string(key))
	if err != nil || !ok {
		return nil, err
	}
	return v, nil
}

func (s *simEnv) Scan(bucket string, from []byte, fn func(key, value []byte) bool) error {
	return s.e.Disk().Iterate(bucket, string(from), func(k string, v []byte) bool { return fn([]byte(k), v) })
}

func (s *simEnv) Event(ev Event) {
	ev.Node = s.e.ID()
	ev.Time = s.e.Time()
	s.e.Note("event " + ev.Kind + " key=" + ev.Key + " peer=" + ev.Peer + " kept=" + ev.Kept + " lost=" + ev.Lost)
	if s.events != nil {
		s.events(ev)
	}
}
