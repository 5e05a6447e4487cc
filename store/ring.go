package store

import (
	"hash/fnv"
	"sort"
	"strconv"
)

// Ring is a consistent-hash ring with virtual nodes. It is immutable and safe to share.
type Ring struct {
	tokens []uint64 // sorted
	owners []string // owners[i] owns tokens[i]
	nodes  []string
}

// hash64 is FNV-1a with a splitmix64 finalizer (FNV alone spreads similar strings poorly).
func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// NewRing places vnodes tokens per node.
func NewRing(nodes []string, vnodes int) *Ring {
	r := &Ring{nodes: append([]string{}, nodes...)}
	type tok struct {
		t uint64
		n string
	}
	toks := make([]tok, 0, len(nodes)*vnodes)
	for _, n := range nodes {
		for i := 0; i < vnodes; i++ {
			toks = append(toks, tok{hash64(n + "#" + strconv.Itoa(i)), n})
		}
	}
	sort.Slice(toks, func(i, j int) bool {
		if toks[i].t != toks[j].t {
			return toks[i].t < toks[j].t
		}
		return toks[i].n < toks[j].n
	})
	for _, t := range toks {
		r.tokens = append(r.tokens, t.t)
		r.owners = append(r.owners, t.n)
	}
	return r
}

// Nodes are the ring's members.
func (r *Ring) Nodes() []string { return append([]string{}, r.nodes...) }

// Walk lists every distinct node in ring order, starting at the first token at or after the key's
// hash. Its first N entries are the key's preference list; the rest are the fallbacks for hinted
// handoff, nearest first.
func (r *Ring) Walk(key string) []string {
	if len(r.tokens) == 0 {
		return nil
	}
	h := hash64(key)
	i := sort.Search(len(r.tokens), func(i int) bool { return r.tokens[i] >= h })
	out := make([]string, 0, len(r.nodes))
	seen := make(map[string]bool, len(r.nodes))
	for j := 0; j < len(r.tokens) && len(out) < len(r.nodes); j++ {
		n := r.owners[(i+j)%len(r.tokens)]
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// PrefList is the key's preference list: the first n distinct nodes of Walk.
func (r *Ring) PrefList(key string, n int) []string {
	w := r.Walk(key)
	if n < len(w) {
		w = w[:n]
	}
	return w
}

// IsReplica reports whether node is in key's preference list of n.
func (r *Ring) IsReplica(key string, n int, node string) bool {
	for _, x := range r.PrefList(key, n) {
		if x == node {
			return true
		}
	}
	return false
}
