package sim

import (
	"math"
	"testing"
)

// ulps is the distance between a and b in units in the last place.
func ulps(a, b float64) int64 {
	d := int64(math.Float64bits(a)) - int64(math.Float64bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

func TestLnExpAgainstMath(t *testing.T) {
	r := NewRand(1)
	for i := 0; i < 200000; i++ {
		x := r.Float64()
		if x == 0 {
			continue
		}
		for _, v := range []float64{x, x * 1e-300, x * 1e300, 1 + x, 1 - x/1e9} {
			if got, want := ln(v), math.Log(v); ulps(got, want) > 1 {
				t.Fatalf("ln(%v): got %v, want %v (math.Log)", v, got, want)
			}
		}
		v := (x - 0.5) * 1400
		// math.Exp's amd64 assembly is itself a few ulps off the portable result.
		if got, want := exp(v), math.Exp(v); ulps(got, want) > 4 {
			t.Fatalf("exp(%v): got %v, want %v (math.Exp)", v, got, want)
		}
	}
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"ln(1)", ln(1), 0},
		{"ln(0)", ln(0), math.Inf(-1)},
		{"ln(+Inf)", ln(math.Inf(1)), math.Inf(1)},
		{"exp(0)", exp(0), 1},
		{"exp(-Inf)", exp(math.Inf(-1)), 0},
		{"exp(1000)", exp(1000), math.Inf(1)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if !math.IsNaN(ln(-1)) {
		t.Errorf("ln(-1): got %v, want NaN", ln(-1))
	}
}
