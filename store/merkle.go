package store

import (
	"encoding/binary"
	"hash/fnv"
)

// Merkle tree geometry: 1024 leaves (key ranges by key hash), 32 inner nodes of 32 leaves each,
// one root. Two replicas compare the root, then the inner nodes that differ, then the leaves
// under those, and exchange only the keys of the leaves that differ.
const (
	MerkleLeaves = 1024
	MerkleFan    = 32
)

// LeafOf is the Merkle leaf (key range) of a key.
func LeafOf(key string) int { return int(hash64("leaf:"+key) % MerkleLeaves) }

// keyHash is a key's contribution to its leaf: the leaf hash is the XOR of its keys' hashes, so
// a write updates it in O(1).
func keyHash(key string, r Record) uint64 { return keyHashDigest(key, r.Digest()) }

func keyHashDigest(key string, digest uint64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], digest)
	h.Write(b[:])
	return hash64(string(h.Sum(nil)))
}

// Merkle holds the leaf hashes of the keys one node shares with one peer. Not safe for
// concurrent use; the node guards it.
type Merkle struct {
	Leaves [MerkleLeaves]uint64
}

// Update replaces key's contribution: old is its previous record (zero if absent), cur its new.
func (m *Merkle) Update(key string, old, cur Record) {
	var od, cd uint64
	if !old.Empty() {
		od = old.Digest()
	}
	if !cur.Empty() {
		cd = cur.Digest()
	}
	m.UpdateDigests(key, od, cd)
}

// UpdateDigests is Update given the records' digests (0 = absent).
func (m *Merkle) UpdateDigests(key string, old, cur uint64) {
	l := LeafOf(key)
	if old != 0 {
		m.Leaves[l] ^= keyHashDigest(key, old)
	}
	if cur != 0 {
		m.Leaves[l] ^= keyHashDigest(key, cur)
	}
}

func hashWords(ws []uint64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for _, w := range ws {
		binary.LittleEndian.PutUint64(b[:], w)
		h.Write(b[:])
	}
	return h.Sum64()
}

// Inner returns the 32 inner-node hashes.
func (m *Merkle) Inner() []uint64 {
	out := make([]uint64, MerkleLeaves/MerkleFan)
	for i := range out {
		out[i] = hashWords(m.Leaves[i*MerkleFan : (i+1)*MerkleFan])
	}
	return out
}

// Root is the hash of the inner nodes.
func (m *Merkle) Root() uint64 { return hashWords(m.Inner()) }

// LeavesUnder returns the leaf hashes under the given inner nodes, keyed by leaf index.
func (m *Merkle) LeavesUnder(inner []int) map[int]uint64 {
	out := map[int]uint64{}
	for _, i := range inner {
		if i < 0 || i >= MerkleLeaves/MerkleFan {
			continue
		}
		for l := i * MerkleFan; l < (i+1)*MerkleFan; l++ {
			out[l] = m.Leaves[l]
		}
	}
	return out
}

// DiffIndexes returns the indexes where a and b differ (a missing index counts as 0).
func DiffIndexes(a, b []uint64) []int {
	var out []int
	n := max(len(a), len(b))
	for i := 0; i < n; i++ {
		var x, y uint64
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			out = append(out, i)
		}
	}
	return out
}
