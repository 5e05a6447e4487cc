package simrt

import (
	"encoding/json"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/sim"
	"github.com/faultline/faultline/store"
)

// toyStore is a stand-in store for the runtime's own tests, independent of the store's core:
// a coordinator applies a write to its disk (synced under fsync always), sends it to the other
// nodes without waiting, and acknowledges; a read answers from the coordinator's disk. It is
// not meant to be correct: it is meant to be deterministic and to react to crashes, pauses,
// partitions and clocks, so the harness half of a simulated run can be tested on its own.
type toyStore struct{}

type toyWrite struct {
	ID  uint64
	Key string
	Op  store.WriteOp
}

type toyRead struct {
	ID   uint64
	Key  string
	Kind string
}

type toyReply struct {
	ID  uint64
	Rec store.Record
	Err *store.OpError
}

type toyApply struct {
	Key string
	Rec store.Record
}

func (toyStore) Write(id uint64, key string, op store.WriteOp, _ store.Quorums) (string, any) {
	return "client/write", toyWrite{ID: id, Key: key, Op: op}
}

func (toyStore) Read(id uint64, key, kind string, _ store.Quorums) (string, any) {
	return "client/read", toyRead{ID: id, Key: key, Kind: kind}
}

func (toyStore) Reply(m sim.Message) (uint64, store.Record, *store.OpError, bool) {
	r, ok := m.Body.(toyReply)
	return r.ID, r.Rec, r.Err, ok
}

func (toyStore) Dump(n *sim.Node) (map[string]store.Record, error) {
	out := map[string]store.Record{}
	err := n.Disk().Iterate("kv", "", func(k string, v []byte) bool {
		var rec store.Record
		if json.Unmarshal(v, &rec) == nil {
			out[k] = rec
		}
		return true
	})
	return out, err
}

func (toyStore) Stats(*sim.Node) map[string]int64 { return nil }

func (toyStore) Boot(cfg store.Config, _ zerolog.Logger, events func(store.Event)) sim.Boot {
	return func(env *sim.Env) sim.Program {
		return &toyNode{env: env, cfg: cfg, events: events, peers: cfg.NodeIDs()}
	}
}

type toyNode struct {
	env    *sim.Env
	cfg    store.Config
	events func(store.Event)
	peers  []string
	seq    uint64
}

func (t *toyNode) get(key string) store.Record {
	var rec store.Record
	if b, ok, _ := t.env.Disk().Get("kv", key); ok {
		_ = json.Unmarshal(b, &rec)
	}
	return rec
}

func (t *toyNode) put(key string, rec store.Record, done func(error)) {
	b, _ := json.Marshal(rec)
	var batch sim.Batch
	batch.Put("kv", key, b)
	t.env.Persist(&batch, t.cfg.Fsync == "always", done)
}

// merge keeps the newer register version (by timestamp), adds counters and unions sets.
func (t *toyNode) merge(key string, in store.Record) store.Record {
	cur := t.get(key)
	switch {
	case cur.Empty():
		return in
	case in.Kind == store.KindRegister && len(cur.Sibs) > 0 && len(in.Sibs) > 0:
		if in.Sibs[0].TS >= cur.Sibs[0].TS {
			return in
		}
		t.events(store.Event{Time: t.env.Now().Sub(t.env.Now()), Node: t.env.ID(), Kind: "lww_discard", Key: key})
		return cur
	case in.Kind == store.KindCounter:
		if cur.P == nil {
			cur.P = map[string]int64{}
		}
		for n, v := range in.P {
			cur.P[n] = max(cur.P[n], v)
		}
		return cur
	case in.Kind == store.KindSet:
		cur.Elems = append(cur.Elems, in.Elems...)
		return cur
	}
	return in
}

func (t *toyNode) Receive(m sim.Message) {
	switch b := m.Body.(type) {
	case toyWrite:
		t.seq++
		rec := store.Record{Kind: b.Op.Kind}
		switch b.Op.Kind {
		case store.KindRegister:
			rec.Sibs = []store.Sibling{{Value: b.Op.Value, TS: t.env.Now().UnixNano(), Node: t.env.ID(), Seq: t.seq}}
		case store.KindCounter:
			cur := t.get(b.Key)
			rec.P = map[string]int64{t.env.ID(): cur.P[t.env.ID()] + b.Op.Delta}
		case store.KindSet:
			rec.Elems = []string{b.Op.Elem}
		}
		rec = t.merge(b.Key, rec)
		t.put(b.Key, rec, func(err error) {
			for _, p := range t.peers {
				if p != t.env.ID() {
					t.env.Send(p, "apply", toyApply{Key: b.Key, Rec: rec})
				}
			}
			reply := toyReply{ID: b.ID}
			if err != nil {
				reply.Err = &store.OpError{Status: 500, Outcome: "indeterminate", Msg: err.Error()}
			}
			t.env.Send(m.From, "client/reply", reply)
		})
	case toyApply:
		t.put(b.Key, t.merge(b.Key, b.Rec), nil)
	case toyRead:
		rec := t.get(b.Key)
		reply := toyReply{ID: b.ID, Rec: rec}
		if !rec.Empty() && rec.Kind != b.Kind {
			reply.Err = &store.OpError{Status: 409, Msg: "kind mismatch"}
			reply.Rec = store.Record{}
		}
		t.env.Send(m.From, "client/reply", reply)
	}
}
