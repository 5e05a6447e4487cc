package store

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestRingPlacement(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	r := NewRing(nodes, 64)
	again := NewRing([]string{"n5", "n4", "n3", "n2", "n1"}, 64)
	counts := map[string]int{}
	for i := 0; i < 5000; i++ {
		key := fmt.Sprintf("key-%d", i)
		walk := r.Walk(key)
		if len(walk) != len(nodes) {
			t.Fatalf("Walk(%q): got %d nodes, want %d", key, len(walk), len(nodes))
		}
		seen := map[string]bool{}
		for _, n := range walk {
			if seen[n] {
				t.Fatalf("Walk(%q) = %v: node %s twice", key, walk, n)
			}
			seen[n] = true
		}
		if got := again.Walk(key); !slices.Equal(got, walk) {
			t.Fatalf("Walk(%q) depends on node order: got %v, want %v", key, got, walk)
		}
		if got := r.PrefList(key, 3); !slices.Equal(got, walk[:3]) {
			t.Fatalf("PrefList(%q, 3): got %v, want %v", key, got, walk[:3])
		}
		counts[walk[0]]++
	}
	// 5000 keys over 5 nodes with 64 vnodes: each node should own a fair share.
	for _, n := range nodes {
		if counts[n] < 600 || counts[n] > 1400 {
			t.Errorf("node %s is first for %d of 5000 keys, want 600..1400 (counts %v)", n, counts[n], counts)
		}
	}
	tests := []struct {
		nodes []string
		n     int
		want  int
	}{
		{[]string{"n1"}, 3, 1},
		{[]string{"n1", "n2", "n3"}, 3, 3},
		{[]string{"n1", "n2", "n3"}, 2, 2},
		{nodes, 3, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d nodes n=%d", len(tt.nodes), tt.n), func(t *testing.T) {
			if got := len(NewRing(tt.nodes, 8).PrefList("k", tt.n)); got != tt.want {
				t.Errorf("got %d replicas, want %d", got, tt.want)
			}
		})
	}
}

func TestQuorum(t *testing.T) {
	for _, tt := range []struct{ n, want int }{{1, 1}, {2, 2}, {3, 2}, {4, 3}, {5, 3}} {
		if got := Majority(tt.n); got != tt.want {
			t.Errorf("Majority(%d): got %d, want %d", tt.n, got, tt.want)
		}
	}
	for _, tt := range []struct {
		q, n int
		ok   bool
	}{{0, 3, true}, {1, 3, true}, {3, 3, true}, {4, 3, false}, {-1, 3, false}} {
		if got := CheckQuorum("w", tt.q, tt.n) == nil; got != tt.ok {
			t.Errorf("CheckQuorum(w, %d, %d) ok: got %v, want %v", tt.q, tt.n, got, tt.ok)
		}
	}
	decide := []struct {
		name string
		t    Tally
		w    int
		want Outcome
		done bool
	}{
		{"quorum reached", Tally{Acks: 2}, 2, OutcomeOK, true},
		{"still waiting", Tally{Acks: 1}, 2, OutcomeOK, false},
		{"all refused", Tally{Refused: 3, Finished: true}, 2, OutcomeFailed, true},
		{"one applied", Tally{Acks: 1, Refused: 2, Finished: true}, 2, OutcomeIndeterminate, true},
		{"no answer", Tally{Unknown: 3, TimedOut: true}, 2, OutcomeIndeterminate, true},
		{"refused but hinted", Tally{Refused: 3, Hinted: true, Finished: true}, 2, OutcomeIndeterminate, true},
		{"counter contribution is durable", Tally{Refused: 3, Deferred: true, Finished: true}, 1, OutcomeIndeterminate, true},
		{"timeout with a refusal and a silence", Tally{Refused: 1, Unknown: 1, TimedOut: true}, 1, OutcomeIndeterminate, true},
	}
	for _, tt := range decide {
		t.Run(tt.name, func(t *testing.T) {
			got, done := tt.t.Decide(tt.w)
			if got != tt.want || done != tt.done {
				t.Errorf("got %v done=%v, want %v done=%v", got, done, tt.want, tt.done)
			}
		})
	}
}

func TestVersionVectors(t *testing.T) {
	tests := []struct {
		a, b VV
		want Ordering
	}{
		{VV{}, VV{}, Equal},
		{VV{"n1": 1}, VV{"n1": 1}, Equal},
		{VV{"n1": 1}, VV{"n1": 2}, Before},
		{VV{"n1": 2}, VV{"n1": 1}, After},
		{VV{}, VV{"n2": 1}, Before},
		{VV{"n1": 1}, VV{"n2": 1}, Concurrent},
		{VV{"n1": 2, "n2": 1}, VV{"n1": 1, "n2": 2}, Concurrent},
		{VV{"n1": 2, "n2": 2}, VV{"n1": 1, "n2": 2}, After},
	}
	for _, tt := range tests {
		t.Run(tt.a.String()+"_vs_"+tt.b.String(), func(t *testing.T) {
			if got := tt.a.Compare(tt.b); got != tt.want {
				t.Errorf("Compare: got %v, want %v", got, tt.want)
			}
			j := tt.a.Join(tt.b)
			if j.Compare(tt.a) == Before || j.Compare(tt.b) == Before {
				t.Errorf("Join %v is before an input", j)
			}
			back, err := ParseContext(j.String())
			if err != nil || back.Compare(j) != Equal {
				t.Errorf("ParseContext(%q): got %v %v, want %v", j.String(), back, err, j)
			}
		})
	}
	for _, bad := range []string{"n1", "n1:x", ":3", "n1:1,,n2:2"} {
		if _, err := ParseContext(bad); err == nil {
			t.Errorf("ParseContext(%q): got no error, want one", bad)
		}
	}
}

func reg(cons string, sibs ...Sibling) Record { return Record{Kind: KindRegister, Sibs: sibs} }

func TestMerge(t *testing.T) {
	a := Sibling{Value: "a", TS: 10, Node: "n1", Seq: 1}
	b := Sibling{Value: "b", TS: 20, Node: "n2", Seq: 1}
	tieLow := Sibling{Value: "low", TS: 30, Node: "n1", Seq: 5}
	tieHigh := Sibling{Value: "high", TS: 30, Node: "n2", Seq: 1}
	// vclock: x and y concurrent; z written with a context that saw both.
	x := Sibling{Value: "x", Node: "n1", Seq: 1}
	y := Sibling{Value: "y", Node: "n2", Seq: 1}
	z := Sibling{Value: "z", Node: "n3", Seq: 1, Ctx: VV{"n1": 1, "n2": 1}}
	zOnlyX := Sibling{Value: "z", Node: "n3", Seq: 2, Ctx: VV{"n1": 1}}
	tests := []struct {
		name string
		cons string
		a, b Record
		want []string // register values, or counter value, or set elements
	}{
		{"lww newer wins", LWW, reg(LWW, a), reg(LWW, b), []string{"b"}},
		{"lww tie broken by node id", LWW, reg(LWW, tieHigh), reg(LWW, tieLow), []string{"high"}},
		{"lww with empty", LWW, Record{}, reg(LWW, a), []string{"a"}},
		{"abd higher version wins", ABD, reg(ABD, b), reg(ABD, a), []string{"b"}},
		{"vclock concurrent are siblings", VClock, reg(VClock, x), reg(VClock, y), []string{"x", "y"}},
		{"vclock context supersedes both", VClock, reg(VClock, x, y), reg(VClock, z), []string{"z"}},
		{"vclock partial context keeps the unseen", VClock, reg(VClock, x, y), reg(VClock, zOnlyX), []string{"y", "z"}},
		{"vclock same dot deduped", VClock, reg(VClock, x), reg(VClock, x), []string{"x"}},
		{"counter max per node", LWW,
			Record{Kind: KindCounter, P: map[string]int64{"n1": 5, "n2": 1}, N: map[string]int64{"n1": 1}},
			Record{Kind: KindCounter, P: map[string]int64{"n1": 3, "n2": 4}, N: map[string]int64{"n2": 2}},
			[]string{"6"}}, // 5+4 - (1+2)
		{"set union", LWW, Record{Kind: KindSet, Elems: []string{"a", "c"}}, Record{Kind: KindSet, Elems: []string{"b", "c"}}, []string{"a", "b", "c"}},
	}
	view := func(r Record) []string {
		switch r.Kind {
		case KindCounter:
			return []string{r.counterTotal().String()}
		case KindSet:
			return r.Elems
		}
		return r.Values()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ab, err := Merge(tt.a, tt.b, tt.cons)
			if err != nil {
				t.Fatal(err)
			}
			if got := view(ab); !slices.Equal(got, tt.want) {
				t.Errorf("Merge(a, b): got %v, want %v", got, tt.want)
			}
			ba, _ := Merge(tt.b, tt.a, tt.cons)
			if !ab.Equal(ba) {
				t.Errorf("not commutative: Merge(a,b)=%+v, Merge(b,a)=%+v", ab, ba)
			}
			abb, _ := Merge(ab, tt.b, tt.cons)
			if !abb.Equal(ab) {
				t.Errorf("not idempotent: got %+v, want %+v", abb, ab)
			}
		})
	}
	if _, err := Merge(Record{Kind: KindSet, Elems: []string{"a"}}, Record{Kind: KindCounter}, LWW); err == nil {
		t.Errorf("merging a set with a counter: got no error, want a kind error")
	}
	// A vclock read's context covers every sibling.
	r, _ := Merge(reg(VClock, x), reg(VClock, y), VClock)
	if got := r.Context().String(); got != "n1:1,n2:1" {
		t.Errorf("Context: got %q, want %q", got, "n1:1,n2:1")
	}
}

func TestMerkleDiff(t *testing.T) {
	var a, b Merkle
	recs := map[string]Record{}
	for i := 0; i < 200; i++ {
		k := fmt.Sprintf("k%d", i)
		recs[k] = Record{Kind: KindSet, Elems: []string{k}}
		a.Update(k, Record{}, recs[k])
		b.Update(k, Record{}, recs[k])
	}
	if a.Root() != b.Root() || len(DiffIndexes(a.Inner(), b.Inner())) != 0 {
		t.Fatalf("equal data: roots differ")
	}
	// b misses an update of k7 and lacks k300.
	newer := Record{Kind: KindSet, Elems: []string{"k7", "more"}}
	a.Update("k7", recs["k7"], newer)
	a.Update("k300", Record{}, recs["k7"])
	inner := DiffIndexes(a.Inner(), b.Inner())
	la, lb := a.LeavesUnder(inner), b.LeavesUnder(inner)
	var leaves []int
	for i, h := range la {
		if lb[i] != h {
			leaves = append(leaves, i)
		}
	}
	slices.Sort(leaves)
	want := []int{LeafOf("k7"), LeafOf("k300")}
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(leaves, want) {
		t.Errorf("divergent leaves: got %v, want %v", leaves, want)
	}
	// Undoing the changes restores equality: updates are order-independent XORs.
	a.Update("k300", recs["k7"], Record{})
	a.Update("k7", newer, recs["k7"])
	if a.Root() != b.Root() {
		t.Errorf("after undo: roots differ")
	}
}

func TestClock(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	now := base
	c := NewClock(func() time.Time { return now })
	tests := []struct {
		name    string
		offset  time.Duration
		drift   float64
		advance time.Duration
		want    time.Duration // node time - base after advance
	}{
		{"no skew", 0, 0, time.Second, time.Second},
		{"ahead 5s", 5 * time.Second, 0, time.Second, 6 * time.Second},
		{"behind 1h", -time.Hour, 0, 0, -time.Hour},
		{"drift +1000ppm over 10s", 0, 1000, 10 * time.Second, 10*time.Second + 10*time.Millisecond},
		{"drift -500ppm and offset", time.Second, -500, 20 * time.Second, 21*time.Second - 10*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = base
			c.Set(tt.offset, tt.drift)
			now = base.Add(tt.advance)
			if got := c.Now().Sub(base); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if off, d := c.Get(); off != tt.offset || d != tt.drift {
				t.Errorf("Get: got %v %v, want %v %v", off, d, tt.offset, tt.drift)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	good := DefaultConfig()
	good.ID, good.Peers, good.DataDir = "n1", map[string]string{"n1": "a:1", "n2": "b:1"}, "d"
	good.ClusterSecret = testSecret
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if got := good.EffectiveN(); got != 2 {
		t.Errorf("EffectiveN with 2 nodes: got %d, want 2", got)
	}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"id not in peers", func(c *Config) { c.ID = "n9" }},
		{"bad consistency", func(c *Config) { c.Consistency = "strong" }},
		{"w above n", func(c *Config) { c.W = 3 }},
		{"bad fsync", func(c *Config) { c.Fsync = "sometimes" }},
		{"unknown mode", func(c *Config) { c.Mode = "leaderful" }},
		{"no data dir", func(c *Config) { c.DataDir = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			c.Peers = map[string]string{"n1": "a:1", "n2": "b:1"}
			tt.mod(&c)
			if err := c.Validate(); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
}
