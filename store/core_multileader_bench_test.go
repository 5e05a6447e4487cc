package store

import "testing"

// BenchmarkSimMLDefaultRun is BenchmarkSimDefaultRun in multi-leader mode (lww, all-to-all):
// 5 leaders, 10 clients at 200 ops/s in all, a partition of a random pair every 5 s (healed
// after 2.5 s), 30 s of virtual time. It reports virtual seconds simulated per wall second.
func BenchmarkSimMLDefaultRun(b *testing.B) {
	benchSimDefaultRun(b, mlTestConfig(5, ConflictLWW, TopologyAll))
}
