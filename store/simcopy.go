package store

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Typed deep copies of the internal wire types, for the simulator: a message between two
// simulated nodes carries a copy of its request or answer, never memory either node holds, and
// the receiver gets a copy of its own (a duplicated message is delivered twice). The copies are
// what a JSON round trip of today's encoding gives (the shell's path), only cheaper: every map
// and slice is new, and an empty map or slice under an omitempty tag comes out nil, as JSON
// decoding leaves it. Types without a clone (none today) still go through JSON.
//
// Each copy also estimates the size of its JSON encoding (strings and fixed overheads, no
// escaping), so the receiver can apply the internal API's body limits without encoding.

// Per-item overheads of the estimate: quotes, separators and field names.
const (
	sizeField  = 8  // "xx": and a comma
	sizeNumber = 20 // a 64-bit number
)

func sizeString(s string) int { return len(s) + sizeField + 2 }

// cloneVV copies v; empty is nil (every VV on the wire is omitempty).
func cloneVV(v VV) (VV, int) {
	if len(v) == 0 {
		return nil, 0
	}
	out := make(VV, len(v))
	n := sizeField
	for k, x := range v {
		out[k] = x
		n += sizeString(k) + sizeNumber
	}
	return out, n
}

func cloneCounts(m map[string]int64) (map[string]int64, int) {
	if len(m) == 0 {
		return nil, 0
	}
	out := make(map[string]int64, len(m))
	n := sizeField
	for k, x := range m {
		out[k] = x
		n += sizeString(k) + sizeNumber
	}
	return out, n
}

// copyRecord is a deep copy of r as a JSON round trip makes it, and its estimated size.
func copyRecord(r Record) (Record, int) {
	out := Record{Kind: r.Kind}
	n := sizeString(r.Kind) + 2
	if len(r.Sibs) > 0 {
		out.Sibs = make([]Sibling, len(r.Sibs))
		for i, s := range r.Sibs {
			c, cn := cloneVV(s.Ctx)
			out.Sibs[i] = Sibling{Value: s.Value, TS: s.TS, Node: s.Node, Seq: s.Seq, Ctx: c}
			n += sizeString(s.Value) + sizeString(s.Node) + 2*sizeNumber + cn + 2
		}
	}
	var pn, nn int
	out.P, pn = cloneCounts(r.P)
	out.N, nn = cloneCounts(r.N)
	n += pn + nn
	if len(r.Elems) > 0 {
		out.Elems = make([]string, len(r.Elems))
		copy(out.Elems, r.Elems)
		for _, e := range r.Elems {
			n += len(e) + 3
		}
	}
	return out, n
}

// cloneRecord is a deep copy of r (a client never shares the core's maps).
func cloneRecord(r Record) Record {
	c, _ := copyRecord(r)
	return c
}

func cloneInts(s []int, omitEmpty bool) ([]int, int) {
	if s == nil || (omitEmpty && len(s) == 0) {
		return nil, 0
	}
	out := make([]int, len(s))
	copy(out, s)
	return out, sizeField + len(s)*(sizeNumber/2)
}

func cloneRecords(m map[string]Record) (map[string]Record, int) {
	if m == nil { // not omitempty: null stays nil, {} stays an empty map
		return nil, 0
	}
	out := make(map[string]Record, len(m))
	n := sizeField
	for k, r := range m {
		c, cn := copyRecord(r)
		out[k] = c
		n += sizeString(k) + cn
	}
	return out, n
}

// copyWire copies v, a request or answer of the internal API (a value or a pointer), into a new
// pointer of its type; ok is false for a type it does not know.
func copyWire(v any) (out any, size int, ok bool) {
	switch r := v.(type) {
	case readReq:
		return copyWire(&r)
	case *readReq:
		return &readReq{Key: r.Key}, sizeString(r.Key) + 2, true
	case writeReq:
		return copyWire(&r)
	case *writeReq:
		rec, n := copyRecord(r.Record)
		return &writeReq{Key: r.Key, Record: rec, HintFor: r.HintFor}, sizeString(r.Key) + sizeString(r.HintFor) + n + 2, true
	case coordinateReq:
		return copyWire(&r)
	case *coordinateReq:
		c := *r
		return &c, sizeString(r.Key) + sizeString(r.Value) + sizeString(r.Context) + sizeNumber + 2, true
	case treeReq:
		return copyWire(&r)
	case *treeReq:
		in, n := cloneInts(r.Inner, true)
		return &treeReq{Inner: in}, n + 2, true
	case syncReq:
		return copyWire(&r)
	case *syncReq:
		lv, ln := cloneInts(r.Leaves, false)
		recs, rn := cloneRecords(r.Records)
		return &syncReq{Leaves: lv, Records: recs, After: r.After}, ln + rn + sizeString(r.After) + 2, true
	case pingReq, *pingReq:
		return &pingReq{}, 2, true
	case mlApplyReq:
		return copyWire(&r)
	case *mlApplyReq:
		var es []mlEntry
		n := sizeField + 2
		if r.Entries != nil {
			es = make([]mlEntry, len(r.Entries))
			for i, e := range r.Entries {
				rec, rn := copyRecord(e.Rec)
				deps, dn := cloneVV(e.Deps)
				es[i] = mlEntry{Origin: e.Origin, Seq: e.Seq, Key: e.Key, Rec: rec, Deps: deps, At: e.At}
				n += sizeString(e.Origin) + sizeString(e.Key) + 2*sizeNumber + rn + dn + 2
			}
		}
		return &mlApplyReq{Entries: es}, n, true
	case *readResp:
		rec, n := copyRecord(r.Record)
		return &readResp{Record: rec}, n + sizeField + 2, true
	case *treeResp:
		var in []uint64
		if len(r.Inner) > 0 {
			in = make([]uint64, len(r.Inner))
			copy(in, r.Inner)
		}
		var lv map[int]uint64
		if len(r.Leaves) > 0 {
			lv = make(map[int]uint64, len(r.Leaves))
			for k, x := range r.Leaves {
				lv[k] = x
			}
		}
		return &treeResp{Inner: in, Leaves: lv}, (len(r.Inner)+2*len(r.Leaves))*sizeNumber + 2, true
	case *syncResp:
		recs, n := cloneRecords(r.Records)
		return &syncResp{Records: recs, Next: r.Next}, n + sizeString(r.Next) + 2, true
	case *mlApplyResp:
		c := *r
		return &c, 2*sizeNumber + 2, true
	}
	return nil, 0, false
}

// simBody is a request or answer on the simulated wire: a copy made when it was sent (so the
// sender may change its own values afterwards), copied again for each delivery. Raw is the JSON
// encoding of a value copyWire does not know.
type simBody struct {
	v    any
	size int
	raw  []byte
}

// newSimBody copies v for the wire (nil stays nil).
func newSimBody(v any) (simBody, error) {
	if v == nil {
		return simBody{}, nil
	}
	if c, n, ok := copyWire(v); ok {
		return simBody{v: c, size: n}, nil
	}
	b, err := json.Marshal(v)
	return simBody{raw: b, size: len(b)}, err
}

// empty reports whether the body carries nothing.
func (b simBody) empty() bool { return b.v == nil && len(b.raw) == 0 }

// into stores a fresh copy of the body in dst (a pointer to a new zero value of its type).
// It returns dst itself, or the copy when it is of dst's type.
func (b simBody) into(dst any, strict bool) (any, error) {
	if b.v != nil {
		if reflect.TypeOf(b.v) == reflect.TypeOf(dst) {
			c, _, _ := copyWire(b.v)
			return c, nil
		}
		raw, err := json.Marshal(b.v)
		if err != nil {
			return dst, err
		}
		b.raw = raw
	}
	if !strict {
		return dst, json.Unmarshal(b.raw, dst)
	}
	dec := json.NewDecoder(bytes.NewReader(b.raw))
	dec.DisallowUnknownFields()
	return dst, dec.Decode(dst)
}

// String is the body's JSON encoding (for messages and tests).
func (b simBody) String() string {
	if b.v == nil {
		return string(b.raw)
	}
	raw, err := json.Marshal(b.v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(raw)
}
