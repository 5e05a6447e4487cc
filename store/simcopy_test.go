package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// wireSamples are values of every internal wire type, with full, empty and nil maps and slices.
func wireSamples() []any {
	reg := Record{Kind: KindRegister, Sibs: []Sibling{
		{Value: "a", TS: 5, Node: "n1", Seq: 2, Ctx: VV{"n1": 2, "n2": 1}},
		{Value: "b", Node: "n2", Seq: 1, Ctx: VV{}},
	}}
	cnt := Record{Kind: KindCounter, P: map[string]int64{"n1": 3}, N: map[string]int64{}}
	set := Record{Kind: KindSet, Elems: []string{"x", "y"}}
	return []any{
		&readReq{Key: "k"},
		readReq{Key: "k"},
		&writeReq{Key: "k", Record: reg, HintFor: "n3"},
		writeReq{Key: "k", Record: cnt},
		&coordinateReq{Key: "k", Value: "v", Context: "c", W: 2},
		&treeReq{Inner: []int{1, 2}},
		&treeReq{Inner: []int{}},
		&syncReq{Leaves: []int{3}, Records: map[string]Record{"a": reg, "b": set, "c": {}}, After: "a"},
		&syncReq{Leaves: []int{}, Records: map[string]Record{}},
		&syncReq{},
		&pingReq{},
		&mlApplyReq{Entries: []mlEntry{{Origin: "n1", Seq: 4, Key: "k", Rec: reg, Deps: VV{"n1": 3}, At: 9}, {Key: "j", Rec: set, Deps: VV{}}}},
		&mlApplyReq{Entries: []mlEntry{}},
		&mlApplyReq{},
		&readResp{Record: cnt},
		&readResp{},
		&treeResp{Inner: []uint64{7}, Leaves: map[int]uint64{1: 2}},
		&treeResp{Inner: []uint64{}, Leaves: map[int]uint64{}},
		&syncResp{Records: map[string]Record{"a": set}, Next: "b"},
		&syncResp{},
		&mlApplyResp{Applied: 2, Duplicates: 1},
	}
}

// TestCopyWireIsAJSONRoundTrip: the simulator's copy of each wire value equals what the shell's
// JSON encoding and decoding give (nil and empty maps and slices included), shares no memory
// with the original, and its size estimate is near the encoding's length.
func TestCopyWireIsAJSONRoundTrip(t *testing.T) {
	for i, v := range wireSamples() {
		got, size, ok := copyWire(v)
		if !ok {
			t.Fatalf("%d %T: no copy", i, v)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		want := reflect.New(reflect.TypeOf(got).Elem()).Interface()
		if err := json.Unmarshal(b, want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d %T: copy %#v, JSON round trip %#v", i, v, got, want)
		}
		if size < len(b)/2-16 || size > 3*len(b)+16 {
			t.Errorf("%d %T: size estimate %d, encoding %d bytes", i, v, size, len(b))
		}
	}
	// No shared memory: changing the copy leaves the original as it was.
	orig := wireSamples()[2].(*writeReq)
	c, _, _ := copyWire(orig)
	w := c.(*writeReq)
	w.Record.Sibs[0].Value = "changed"
	w.Record.Sibs[0].Ctx["n1"] = 99
	if orig.Record.Sibs[0].Value != "a" || orig.Record.Sibs[0].Ctx["n1"] != 2 {
		t.Fatalf("the original changed with its copy: %+v", orig.Record)
	}
	s := wireSamples()[7].(*syncReq)
	c, _, _ = copyWire(s)
	c.(*syncReq).Records["b"].Elems[0] = "changed"
	c.(*syncReq).Leaves[0] = 0
	if s.Records["b"].Elems[0] != "x" || s.Leaves[0] != 3 {
		t.Fatalf("the original changed with its copy: %+v", s)
	}
}

// TestSimBodyDeliveriesAreSeparate: each delivery of a message (a duplicate too) gets its own
// copy, and the copy made at send time does not follow the sender's later changes.
func TestSimBodyDeliveriesAreSeparate(t *testing.T) {
	req := &writeReq{Key: "k", Record: Record{Kind: KindSet, Elems: []string{"x"}}}
	b, err := newSimBody(req)
	if err != nil {
		t.Fatal(err)
	}
	req.Record.Elems[0] = "sender changed it"
	one, err := b.into(&writeReq{}, true)
	if err != nil {
		t.Fatal(err)
	}
	two, _ := b.into(&writeReq{}, true)
	one.(*writeReq).Record.Elems[0] = "receiver changed it"
	if got := two.(*writeReq).Record.Elems[0]; got != "x" {
		t.Fatalf("second delivery: %q, want x", got)
	}
	// A raw JSON body (a test's hand-made request) decodes strictly.
	raw := simBody{raw: []byte(`{"key":"k","extra":1}`)}
	if _, err := raw.into(&readReq{}, true); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("unknown field: got %v, want an error naming it", err)
	}
}
