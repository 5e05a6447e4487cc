package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Record kinds. A key holds one kind for its whole life.
const (
	KindRegister = "register"
	KindCounter  = "counter"
	KindSet      = "set"
)

// Consistency modes of the register.
const (
	LWW    = "lww"    // last writer wins by (timestamp from the coordinator's clock, node id, seq)
	VClock = "vclock" // dotted version vectors; concurrent writes kept as siblings
	ABD    = "abd"    // linearizable register: versions (counter, node, seq), quorum read phases
)

// VV is a version vector: node id -> highest sequence number seen from it.
type VV map[string]uint64

// Ordering is the result of comparing two version vectors.
type Ordering int

// Orderings of VV.Compare.
const (
	Equal Ordering = iota
	Before
	After
	Concurrent
)

func (o Ordering) String() string {
	return [...]string{"equal", "before", "after", "concurrent"}[o]
}

// Covers reports whether v has seen the event (node, seq).
func (v VV) Covers(node string, seq uint64) bool { return v[node] >= seq }

// Join returns the entry-wise maximum of v and o (a new map).
func (v VV) Join(o VV) VV {
	out := make(VV, len(v)+len(o))
	for k, x := range v {
		out[k] = x
	}
	for k, x := range o {
		if x > out[k] {
			out[k] = x
		}
	}
	return out
}

// Compare says whether v happened before, after, equal to or concurrently with o.
func (v VV) Compare(o VV) Ordering {
	less, greater := false, false
	for k, x := range v {
		if y := o[k]; x < y {
			less = true
		} else if x > y {
			greater = true
		}
	}
	for k, y := range o {
		if _, ok := v[k]; !ok && y > 0 {
			less = true
		}
	}
	switch {
	case less && greater:
		return Concurrent
	case less:
		return Before
	case greater:
		return After
	}
	return Equal
}

// String encodes v as the opaque causal context "n1:3,n2:5" (sorted; "" when empty).
func (v VV) String() string {
	keys := make([]string, 0, len(v))
	for k, x := range v {
		if x > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(v[k], 10))
	}
	return b.String()
}

// ParseContext decodes a causal context made by VV.String ("" = empty).
func ParseContext(s string) (VV, error) {
	v := VV{}
	if s == "" {
		return v, nil
	}
	for _, part := range strings.Split(s, ",") {
		node, num, ok := strings.Cut(part, ":")
		if !ok || node == "" {
			return nil, fmt.Errorf("bad causal context %q: entry %q is not node:counter", s, part)
		}
		x, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad causal context %q: entry %q: counter is not a number", s, part)
		}
		v[node] = x
	}
	return v, nil
}

// Sibling is one version of a register value.
type Sibling struct {
	Value string `json:"v"`
	// TS orders lww and abd versions: unix ns of the coordinator's clock (lww) or the abd
	// version counter. Ties break by Node, then Seq.
	TS   int64  `json:"t,omitempty"`
	Node string `json:"n"` // coordinator that made this version
	Seq  uint64 `json:"s"` // coordinator's unique sequence number; (Node, Seq) is the vclock dot
	Ctx  VV     `json:"c,omitempty"`
}

// newer reports whether s orders after o by (TS, Node, Seq).
func (s Sibling) newer(o Sibling) bool {
	if s.TS != o.TS {
		return s.TS > o.TS
	}
	if s.Node != o.Node {
		return s.Node > o.Node
	}
	return s.Seq > o.Seq
}

// Record is what a replica stores for one key: a register's siblings, a PN-counter, or an
// add-wins set. The zero Record (Kind "") is an absent key.
type Record struct {
	Kind  string           `json:"k,omitempty"`
	Sibs  []Sibling        `json:"r,omitempty"` // register versions (one, except vclock siblings)
	P     map[string]int64 `json:"p,omitempty"` // counter increments per coordinating node
	N     map[string]int64 `json:"m,omitempty"` // counter decrements per coordinating node
	Elems []string         `json:"e,omitempty"` // set elements, sorted
}

// Empty reports whether r is an absent key.
func (r Record) Empty() bool { return r.Kind == "" }

// ErrKindMismatch is returned by Merge for records of different kinds.
type kindError struct{ have, got string }

func (e kindError) Error() string { return fmt.Sprintf("key holds a %s, not a %s", e.have, e.got) }

// Merge joins two replicas of a key. It is commutative, associative and idempotent, so replicas
// converge whatever order merges happen in. cons decides how register versions combine.
func Merge(a, b Record, cons string) (Record, error) {
	switch {
	case a.Empty():
		return b.normalized(cons), nil
	case b.Empty():
		return a.normalized(cons), nil
	case a.Kind != b.Kind:
		return a, kindError{have: a.Kind, got: b.Kind}
	}
	out := Record{Kind: a.Kind}
	switch a.Kind {
	case KindRegister:
		out.Sibs = append(append([]Sibling{}, a.Sibs...), b.Sibs...)
	case KindCounter:
		out.P, out.N = maxMerge(a.P, b.P), maxMerge(a.N, b.N)
	case KindSet:
		out.Elems = append(append([]string{}, a.Elems...), b.Elems...)
	}
	return out.normalized(cons), nil
}

func maxMerge(a, b map[string]int64) map[string]int64 {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := make(map[string]int64, len(a)+len(b))
	for k, x := range a {
		out[k] = x
	}
	for k, x := range b {
		if x > out[k] {
			out[k] = x
		}
	}
	return out
}

// normalized returns r in canonical form: lww/abd registers keep only the newest sibling;
// vclock registers drop siblings whose dot another sibling's context covers, dedupe by dot and
// sort; sets are sorted and deduplicated.
func (r Record) normalized(cons string) Record {
	switch r.Kind {
	case KindRegister:
		if len(r.Sibs) == 0 {
			return r
		}
		if cons != VClock {
			best := r.Sibs[0]
			for _, s := range r.Sibs[1:] {
				if s.newer(best) {
					best = s
				}
			}
			best.Ctx = nil
			r.Sibs = []Sibling{best}
			return r
		}
		keep := make([]Sibling, 0, len(r.Sibs))
		seen := map[[2]string]bool{}
		for i, s := range r.Sibs {
			dot := [2]string{s.Node, strconv.FormatUint(s.Seq, 10)}
			if seen[dot] {
				continue
			}
			covered := false
			for j, o := range r.Sibs {
				if i != j && o.Ctx.Covers(s.Node, s.Seq) {
					covered = true
					break
				}
			}
			if !covered {
				seen[dot] = true
				keep = append(keep, s)
			}
		}
		sort.Slice(keep, func(i, j int) bool {
			if keep[i].Node != keep[j].Node {
				return keep[i].Node < keep[j].Node
			}
			return keep[i].Seq < keep[j].Seq
		})
		r.Sibs = keep
	case KindSet:
		r.Elems = sortedUnique(r.Elems)
	}
	return r
}

func sortedUnique(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := append([]string{}, xs...)
	sort.Strings(out)
	w := 1
	for _, x := range out[1:] {
		if x != out[w-1] {
			out[w] = x
			w++
		}
	}
	return out[:w]
}

// Values are the register's sibling values, sorted and deduplicated (nil when absent).
func (r Record) Values() []string {
	vals := make([]string, 0, len(r.Sibs))
	for _, s := range r.Sibs {
		vals = append(vals, s.Value)
	}
	return sortedUnique(vals)
}

// Context is the causal context of a vclock register: the join of every sibling's context and
// dot. A write carrying it supersedes all current siblings.
func (r Record) Context() VV {
	v := VV{}
	for _, s := range r.Sibs {
		v = v.Join(s.Ctx)
		if s.Seq > v[s.Node] {
			v[s.Node] = s.Seq
		}
	}
	return v
}

// ErrCounterOverflow: a counter increment would take a node's entry, or the counter's value,
// out of int64 range; or a counter's value is out of int64 range and cannot be read as a number.
var ErrCounterOverflow = errors.New("counter overflow")

// addContribution adds delta to a node's own contribution to a counter, {increments,
// decrements}. It refuses (ErrCounterOverflow, c unchanged) a delta of MinInt64, whose negation
// is not an int64, and a delta that would take either entry past MaxInt64: a node never makes
// an entry its replicas would refuse (entries are >= 0).
func addContribution(c *[2]int64, delta int64) error {
	switch {
	case c[0] < 0 || c[1] < 0:
		// Only a version that let an entry wrap wrote this; replicas refuse such entries.
		return fmt.Errorf("store: this node's contribution to the counter is negative (increments %d, decrements %d); its replicas refuse it", c[0], c[1])
	case delta == math.MinInt64:
		return fmt.Errorf("%w: delta %d has no int64 negation (the smallest delta is %d)", ErrCounterOverflow, delta, -math.MaxInt64)
	case delta >= 0 && c[0] > math.MaxInt64-delta:
		return fmt.Errorf("%w: this node's increments of the key would sum to more than %d (they are %d, the delta is %d)",
			ErrCounterOverflow, int64(math.MaxInt64), c[0], delta)
	case delta < 0 && c[1] > math.MaxInt64+delta:
		return fmt.Errorf("%w: this node's decrements of the key would sum to more than %d (they are %d, the delta is %d)",
			ErrCounterOverflow, int64(math.MaxInt64), c[1], delta)
	case delta >= 0:
		c[0] += delta
	default:
		c[1] -= delta
	}
	return nil
}

// counterTotal is sum(P) - sum(N), exactly.
func (r Record) counterTotal() *big.Int {
	var x big.Int
	var e big.Int
	for _, p := range r.P {
		x.Add(&x, e.SetInt64(p))
	}
	for _, n := range r.N {
		x.Sub(&x, e.SetInt64(n))
	}
	return &x
}

// CounterValue is sum(P) - sum(N). Entries of different nodes can sum past int64 (increments
// through several nodes, each accepted by a coordinator that had not seen the others): then it
// returns an error wrapping ErrCounterOverflow that names the exact value, never a wrapped one.
func (r Record) CounterValue() (int64, error) {
	x := r.counterTotal()
	if !x.IsInt64() {
		return 0, fmt.Errorf("%w: the counter's value %s (increments minus decrements) is out of int64 range", ErrCounterOverflow, x)
	}
	return x.Int64(), nil
}

// counterAfter checks that adding delta to the counter r leaves its value in int64 range (as far
// as r knows) and returns the new value.
func (r Record) counterAfter(delta int64) (int64, error) {
	x := r.counterTotal()
	x.Add(x, big.NewInt(delta))
	if !x.IsInt64() {
		return 0, fmt.Errorf("%w: delta %d would take the counter's value from %s to %s, out of int64 range",
			ErrCounterOverflow, delta, r.counterTotal(), x)
	}
	return x.Int64(), nil
}

// Digest is a hash of the canonical encoding: equal records have equal digests.
func (r Record) Digest() uint64 {
	b, _ := json.Marshal(r) // maps encode sorted; slices are canonical after normalized
	return digestBytes(b)
}

// digestBytes is Digest of a record's stored encoding (storage keeps json.Marshal output).
func digestBytes(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// Version is a short description of the record's version for dumps: "ts.node.seq" for lww and
// abd registers, the sibling dots for vclock, a digest for counters and sets.
func (r Record) Version(cons string) string {
	if r.Kind == KindRegister && len(r.Sibs) > 0 {
		if cons != VClock {
			s := r.Sibs[0]
			return fmt.Sprintf("%d.%s.%d", s.TS, s.Node, s.Seq)
		}
		dots := make([]string, len(r.Sibs))
		for i, s := range r.Sibs {
			dots[i] = fmt.Sprintf("%s.%d", s.Node, s.Seq)
		}
		return strings.Join(dots, ",")
	}
	return fmt.Sprintf("%016x", r.Digest())
}

// Equal reports whether a and b are the same state.
func (r Record) Equal(o Record) bool { return r.Digest() == o.Digest() }
