package compare

import "math"

// Z95 is the standard normal quantile for a two-sided 95 % interval.
const Z95 = 1.959963984540054

// Wilson is the Wilson score interval for k successes in n independent trials at normal
// quantile z (Z95 for 95 %): unlike the normal approximation p ± z·sqrt(p(1-p)/n) it stays
// inside [0, 1] and is not empty at k = 0 or k = n, which is where a sweep's cells mostly are
// (no invalid seed of ten, every read fresh). Without trials (n <= 0) it is (NaN, NaN).
func Wilson(k, n int, z float64) (lo, hi float64) {
	if n <= 0 || k < 0 || k > n {
		return math.NaN(), math.NaN()
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	d := 1 + z2/nf
	c := (p + z2/(2*nf)) / d
	h := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / d
	lo, hi = math.Max(0, c-h), math.Min(1, c+h)
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return lo, hi
}
