package sim

import (
	"math"
	"math/rand/v2"
)

// Rand is a seeded, deterministic random stream. Every random choice in a simulation comes
// from one root Rand (the run's seed) split into named sub-streams: Split derives a child from
// the parent's key and the name alone, never from how much the parent has been drawn, so adding
// a consumer (a node, a link) leaves every other stream's values unchanged.
//
// The generator is PCG-DXSM (math/rand/v2's PCG, whose algorithm is fixed); the derivations
// (floats, bounded integers, exponential and normal variates) are our own and use only IEEE
// basic operations, so a seed gives the same values on every platform and Go version.
// A Rand is not safe for concurrent use; a simulation has one goroutine.
type Rand struct {
	key uint64 // names the stream; Split derives from it
	src rand.PCG
	// spare normal variate from the polar method, if any
	spare    float64
	hasSpare bool
}

// NewRand returns the root stream for seed.
func NewRand(seed uint64) *Rand { return newRand(mix64(seed ^ 0x6a09e667f3bcc909)) }

func newRand(key uint64) *Rand {
	r := &Rand{key: key}
	r.src.Seed(mix64(key+0x9e3779b97f4a7c15), mix64(key+0x3c6ef372fe94f82a))
	return r
}

// Split returns the sub-stream called name. The same parent key and name give the same stream,
// whatever was drawn from the parent before.
func (r *Rand) Split(name string) *Rand {
	return newRand(mix64(r.key ^ mix64(fnv64a(name))))
}

// Uint64 returns a uniformly distributed 64-bit value. Rand implements math/rand/v2's Source,
// so rand.New(r) works where a *rand.Rand is wanted (its derivations are then Go's).
func (r *Rand) Uint64() uint64 { return r.src.Uint64() }

// Float64 returns a uniform value in [0, 1).
func (r *Rand) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// IntN returns a uniform value in [0, n); it panics if n <= 0.
func (r *Rand) IntN(n int) int {
	if n <= 0 {
		panic("sim: Rand.IntN: n must be positive")
	}
	return int(r.uint64n(uint64(n)))
}

// uint64n is Lemire's nearly-divisionless bounded draw (unbiased).
func (r *Rand) uint64n(n uint64) uint64 {
	hi, lo := mul64(r.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = mul64(r.Uint64(), n)
		}
	}
	return hi
}

// Chance reports true with probability p (never for p <= 0, always for p >= 1; then nothing is
// drawn, so switching a probability between 0 and 1 and back does not shift the stream).
func (r *Rand) Chance(p float64) bool {
	switch {
	case p <= 0:
		return false
	case p >= 1:
		return true
	}
	return r.Float64() < p
}

// ExpFloat64 returns an exponentially distributed value with mean 1.
func (r *Rand) ExpFloat64() float64 {
	return -ln(1 - r.Float64()) // 1-u is in (0, 1]
}

// NormFloat64 returns a standard normal value (Marsaglia's polar method).
func (r *Rand) NormFloat64() float64 {
	if r.hasSpare {
		r.hasSpare = false
		return r.spare
	}
	for {
		u := float64(2*r.Float64()) - 1
		v := float64(2*r.Float64()) - 1
		s := float64(u*u) + float64(v*v)
		if s == 0 || s >= 1 {
			continue
		}
		m := math.Sqrt(float64(-2*ln(s)) / s) // Sqrt is correctly rounded everywhere
		r.spare, r.hasSpare = float64(v*m), true
		return float64(u * m)
	}
}

// Perm returns a random permutation of 0..n-1 (Fisher-Yates).
func (r *Rand) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

func mul64(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1, w2 := t&mask32, t>>32
	w1 += a0 * b1
	return a1*b1 + w2 + w1>>32, a * b
}

// mix64 is SplitMix64's finalizer: a bijection that scatters nearby inputs.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func fnv64a(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}
