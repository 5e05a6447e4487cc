package sim

import (
	"math"
	"testing"
)

func draws(r *Rand, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

func TestRandDeterministicAndSplitIndependent(t *testing.T) {
	a, b := NewRand(42), NewRand(42)
	if x, y := draws(a, 5), draws(b, 5); x[4] != y[4] || x[0] != y[0] {
		t.Fatalf("same seed: got %v and %v, want equal", x, y)
	}
	if x, y := draws(NewRand(1), 3), draws(NewRand(2), 3); x[0] == y[0] {
		t.Errorf("seeds 1 and 2 start alike: %v %v", x, y)
	}
	// A sub-stream does not depend on what the parent (or a sibling) drew.
	p1, p2 := NewRand(9), NewRand(9)
	draws(p2, 100)
	_ = p2.Split("other")
	if x, y := draws(p1.Split("node/n1"), 4), draws(p2.Split("node/n1"), 4); x[3] != y[3] {
		t.Errorf("split after draws: got %v, want %v", y, x)
	}
	if x, y := draws(p1.Split("node/n1"), 2), draws(p1.Split("node/n2"), 2); x[0] == y[0] {
		t.Errorf("sibling streams alike: %v %v", x, y)
	}
	if x, y := draws(p1.Split("a").Split("b"), 2), draws(p1.Split("b").Split("a"), 2); x[0] == y[0] {
		t.Errorf("a/b and b/a alike: %v %v", x, y)
	}
}

func TestRandGolden(t *testing.T) {
	// Fixed values: if these change, every simulation's trace changes (and so do the goldens).
	r := NewRand(1)
	if got, want := r.Uint64(), uint64(5295125376000149566); got != want {
		t.Errorf("NewRand(1).Uint64(): got %d, want %d", got, want)
	}
	if got, want := r.Split("x").Uint64(), uint64(15487727926533712732); got != want {
		t.Errorf("NewRand(1).Split(x).Uint64(): got %d, want %d", got, want)
	}
	if got, want := r.Float64(), 0.9545633925085077; got != want {
		t.Errorf("Float64: got %v, want %v", got, want)
	}
	if got, want := r.ExpFloat64(), 0.2428542890103347; got != want {
		t.Errorf("ExpFloat64: got %v, want %v", got, want)
	}
}

func TestRandDistributions(t *testing.T) {
	r := NewRand(3)
	const n = 200000
	var sumF, sumE, sumN, sumN2 float64
	counts := make([]int, 7)
	for i := 0; i < n; i++ {
		f := r.Float64()
		if f < 0 || f >= 1 {
			t.Fatalf("Float64 %v out of [0,1)", f)
		}
		sumF += f
		sumE += r.ExpFloat64()
		x := r.NormFloat64()
		sumN += x
		sumN2 += x * x
		counts[r.IntN(7)]++
	}
	check := func(name string, got, want, tol float64) {
		if math.Abs(got-want) > tol {
			t.Errorf("%s: got %.4f, want %.4f ± %.4f", name, got, want, tol)
		}
	}
	check("mean of Float64", sumF/n, 0.5, 0.005)
	check("mean of ExpFloat64", sumE/n, 1, 0.01)
	check("mean of NormFloat64", sumN/n, 0, 0.01)
	check("variance of NormFloat64", sumN2/n, 1, 0.015)
	for i, c := range counts {
		check("share of IntN(7)=="+string(rune('0'+i)), float64(c)/n, 1.0/7, 0.005)
	}
	if r.Chance(0) || !r.Chance(1) {
		t.Error("Chance(0) true or Chance(1) false")
	}
	p := r.Perm(10)
	seen := map[int]bool{}
	for _, v := range p {
		seen[v] = true
	}
	if len(seen) != 10 {
		t.Errorf("Perm(10): got %v, want a permutation", p)
	}
}
