package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
)

// decodeInternal decodes an internal request body as strictly as a client one (size limit, known
// fields only, one JSON value), checks the sender header and validates the body (keys, records,
// node ids) against the rules routes put in the request's context. On bad input it has answered
// 400 (413 for an oversize body) and returns false; nothing was changed.
func decodeInternal(w http.ResponseWriter, r *http.Request, v internalBody) bool {
	if r.Header.Get(HeaderFrom) == "" {
		writeError(w, http.StatusBadRequest, "", "missing "+HeaderFrom+" header")
		return false
	}
	ir := rulesFrom(r.Context())
	if status, err := decodeStrict(w, r, v, v.limit(ir)); err != nil {
		writeError(w, status, "", err.Error())
		return false
	}
	if err := v.check(ir); err != nil {
		writeError(w, http.StatusBadRequest, "", err.Error())
		return false
	}
	return true
}

// ---- internal input validation ----

// Internal body limits.
//
// A record-carrying request (a replica write, read repair or hint: one record; an anti-entropy
// page; an ml/apply batch of up to mlBatch entries) carries at most recordBudget bytes of
// encoded records, keys and entries: senders cut their batches to it (packRecords,
// fitEntries). The budget is 16 times the client body limit: one client value at its worst
// JSON encoding (6 times longer: "<" becomes "\u003c") plus its key (<= 1024 bytes, <= 6 KiB
// encoded), with room for about ten more full-size values as vclock siblings or set elements.
// What surrounds the records (field names, Merkle leaf numbers, entry metadata) fits in
// internalSmallBody. With the default 1 MiB client limit a request is at most 16 MiB + 64 KiB
// (the limit was 256 MiB: three nodes each holding a few such bodies reached 1 GB RSS). A record
// larger than the budget does not replicate: anti-entropy skips it (ae_record_too_large), and a
// multi-leader queue stops at it (ml_send_failed grows).
const internalSmallBody = 64 << 10 // a key (<= 1024 bytes, <= 6 KiB encoded) or tree indexes

// recordBudget is the most bytes of encoded records one internal request carries.
func recordBudget(clientBody int64) int64 { return 16 * clientBody }

// maxInternalBody is the body limit of record-carrying internal requests.
func maxInternalBody(clientBody int64) int64 { return recordBudget(clientBody) + internalSmallBody }

// internalRules is what a node accepts from its peers.
type internalRules struct {
	self       string
	peers      map[string]string // the cluster's nodes; nil: any non-empty id
	clientBody int64             // Config.MaxBodyBytes
	// multileader entries are single writes: a register carries exactly one sibling.
	multileader bool
	// stamped: counters and sets are replaced whole by last-writer-wins and carry exactly
	// one sibling, the stamp (multi-leader --conflict lww); otherwise they carry none.
	stamped bool
}

func rulesFor(cfg Config) *internalRules {
	ml := cfg.Mode == "multileader"
	return &internalRules{self: cfg.ID, peers: cfg.Peers, clientBody: cfg.MaxBodyBytes,
		multileader: ml, stamped: ml && cfg.Conflict == ConflictLWW}
}

type rulesKey struct{}

// withInternalRules puts the node's internalRules in every internal request's context, where
// decodeInternal (shared by the replication modes) finds them.
func (n *Node) withInternalRules(next http.Handler) http.Handler {
	ir := rulesFor(n.cfg)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), rulesKey{}, ir)))
	})
}

func rulesFrom(ctx context.Context) *internalRules {
	if ir, ok := ctx.Value(rulesKey{}).(*internalRules); ok {
		return ir
	}
	return &internalRules{}
}

func (ir *internalRules) isNode(id string) bool {
	if ir.peers == nil {
		return id != ""
	}
	_, ok := ir.peers[id]
	return ok
}

// recordLimit is the body limit of record-carrying requests.
func (ir *internalRules) recordLimit() int64 { return maxInternalBody(ir.clientBody) }

// internalBody is an internal request body: its size limit and its validation.
type internalBody interface {
	limit(ir *internalRules) int64
	check(ir *internalRules) error
}

func (*readReq) limit(*internalRules) int64 { return internalSmallBody }
func (q *readReq) check(*internalRules) error {
	return checkKey(q.Key)
}

func (*writeReq) limit(ir *internalRules) int64 { return ir.recordLimit() }
func (q *writeReq) check(ir *internalRules) error {
	if err := checkKey(q.Key); err != nil {
		return err
	}
	if err := checkRecord(q.Record, ir); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	switch {
	case q.HintFor == "":
	case !ir.isNode(q.HintFor):
		return fmt.Errorf("hint_for %q is not a cluster node", q.HintFor)
	case q.HintFor == ir.self:
		return fmt.Errorf("hint_for %q is this node (a hint is for another replica)", q.HintFor)
	}
	return nil
}

func (*coordinateReq) limit(ir *internalRules) int64 { return 8*ir.clientBody + internalSmallBody }
func (q *coordinateReq) check(*internalRules) error {
	return checkKey(q.Key) // w, context and ownership are checked by the handler
}

func (*treeReq) limit(*internalRules) int64 { return internalSmallBody }
func (q *treeReq) check(*internalRules) error {
	for _, i := range q.Inner {
		if i < 0 || i >= MerkleLeaves/MerkleFan {
			return fmt.Errorf("inner node %d out of range 0..%d", i, MerkleLeaves/MerkleFan-1)
		}
	}
	return nil
}

func (*syncReq) limit(ir *internalRules) int64 { return ir.recordLimit() }
func (q *syncReq) check(ir *internalRules) error {
	if q.After != "" {
		if err := checkKey(q.After); err != nil {
			return fmt.Errorf("after: %w", err)
		}
	}
	for _, x := range q.Leaves {
		if x < 0 || x >= MerkleLeaves {
			return fmt.Errorf("leaf %d out of range 0..%d", x, MerkleLeaves-1)
		}
	}
	for key, rec := range q.Records {
		if err := checkKey(key); err != nil {
			return fmt.Errorf("records: %w", err)
		}
		if err := checkRecord(rec, ir); err != nil {
			return fmt.Errorf("records[%q]: %w", key, err)
		}
	}
	return nil
}

func (*mlApplyReq) limit(ir *internalRules) int64 { return ir.recordLimit() }
func (q *mlApplyReq) check(ir *internalRules) error {
	for i, e := range q.Entries {
		if err := checkEntry(e, ir); err != nil {
			return fmt.Errorf("entries[%d] (origin %q, seq %d): %w", i, e.Origin, e.Seq, err)
		}
	}
	return nil
}

func checkEntry(e mlEntry, ir *internalRules) error {
	if !ir.isNode(e.Origin) {
		return fmt.Errorf("origin %q is not a cluster node", e.Origin)
	}
	if e.Seq == 0 {
		return errors.New("seq is 0 (sequence numbers start at 1)")
	}
	if err := checkKey(e.Key); err != nil {
		return err
	}
	for node := range e.Deps {
		if !ir.isNode(node) {
			return fmt.Errorf("deps name %q, not a cluster node", node)
		}
	}
	if err := checkRecord(e.Rec, ir); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// checkRecord validates a record a peer sent: a known kind, only the fields of that kind,
// counter entries of cluster nodes and >= 0, siblings made by cluster nodes. It accepts
// everything a node itself makes and Merge can produce from that.
func checkRecord(rec Record, ir *internalRules) error {
	switch rec.Kind {
	case "":
		return errors.New("kind is missing (want register, counter or set)")
	case KindRegister, KindCounter, KindSet:
	default:
		return fmt.Errorf("kind %q is not register, counter or set", rec.Kind)
	}
	if rec.Kind != KindCounter && (len(rec.P) > 0 || len(rec.N) > 0) {
		return fmt.Errorf("a %s has counter entries (p, m)", rec.Kind)
	}
	if rec.Kind != KindSet && len(rec.Elems) > 0 {
		return fmt.Errorf("a %s has set elements (e)", rec.Kind)
	}
	for _, side := range []struct {
		name    string
		entries map[string]int64
	}{{"p", rec.P}, {"m", rec.N}} {
		for node, x := range side.entries {
			if !ir.isNode(node) {
				return fmt.Errorf("counter entry %s[%q]: not a cluster node", side.name, node)
			}
			if x < 0 {
				return fmt.Errorf("counter entry %s[%q] is %d, negative", side.name, node, x)
			}
		}
	}
	switch {
	case rec.Kind == KindRegister && ir.multileader && len(rec.Sibs) != 1:
		return fmt.Errorf("a replicated register write has %d siblings, not 1", len(rec.Sibs))
	case rec.Kind != KindRegister && ir.stamped && len(rec.Sibs) != 1:
		return fmt.Errorf("a %s under last-writer-wins has %d stamps (r), not 1", rec.Kind, len(rec.Sibs))
	case rec.Kind != KindRegister && !ir.stamped && len(rec.Sibs) > 0:
		return fmt.Errorf("a %s has register siblings (r)", rec.Kind)
	}
	for i, s := range rec.Sibs {
		if !ir.isNode(s.Node) {
			return fmt.Errorf("sibling %d: node %q is not a cluster node", i, s.Node)
		}
		if s.Seq == 0 {
			return fmt.Errorf("sibling %d: seq is 0 (sequence numbers start at 1)", i)
		}
		for node := range s.Ctx {
			if node == "" {
				return fmt.Errorf("sibling %d: context has an empty node id", i)
			}
		}
	}
	return nil
}

// fitEntries keeps the longest prefix of an ml/apply batch whose encoded entries fit the record
// budget of one request; it keeps at least one entry.
func fitEntries(batch []queued, budget int64) []queued {
	var used int64
	for i, q := range batch {
		size := encodedSize(q.out.E) + 1
		if i > 0 && used+size > budget {
			return batch[:i]
		}
		used += size
	}
	return batch
}

// encodedSize is the length of v's JSON encoding (the most an int64 holds if it has none).
func encodedSize(v any) int64 {
	b, err := json.Marshal(v)
	if err != nil {
		return math.MaxInt64 / 4
	}
	return int64(len(b))
}
