package harness_test

import (
	"testing"

	"github.com/faultline/faultline/checker"
	"github.com/faultline/faultline/harness"
)

// multileader is a 3-node multi-leader store with conflict strategy conflict, driven like
// faultline run --store multileader: writes acked by one leader, local reads.
func multileader(conflict string) func(*harness.Config) {
	return func(c *harness.Config) {
		c.Store.Mode, c.Store.Conflict, c.Store.Topology = "multileader", conflict, "all"
		c.Store.W, c.Store.R = 1, 1
		c.Checks = c.DefaultChecks()
	}
}

// TestMultileaderKnownBadAndGood runs the multi-leader calibration pairs: a read-modify-write
// counter under lww loses increments across a partition, and so do the store's own increments
// (lww replaces the whole counter); the CRDT counter keeps every one; and
// local reads make the register non-linearizable under partitions.
func TestMultileaderKnownBadAndGood(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clusters")
	}
	cases := []struct {
		name  string
		edit  func(*harness.Config)
		want  checker.Verdict
		check string
	}{
		{
			name: "multileader lww read-modify-write counter loses increments",
			edit: func(c *harness.Config) {
				c.Workload = "counter"
				c.Keys = 2
				c.Nemesis = []string{"partition"}
				multileader("lww")(c)
			},
			want: checker.Invalid, check: "lost-increments",
		},
		{
			name: "multileader lww counter loses concurrent increments even as store increments",
			edit: func(c *harness.Config) {
				c.Workload = "counter"
				c.CRDT = true
				c.Keys = 2
				c.Nemesis = []string{"partition"}
				multileader("lww")(c)
			},
			want: checker.Invalid, check: "lost-increments",
		},
		{
			name: "multileader crdt counter keeps every increment",
			edit: func(c *harness.Config) {
				c.Workload = "counter"
				c.CRDT = true
				c.Keys = 2
				c.Nemesis = []string{"partition"}
				multileader("crdt")(c)
			},
			want: checker.Valid, check: "lost-increments",
		},
		{
			name: "multileader register is not linearizable under partitions, by design",
			edit: func(c *harness.Config) {
				c.Nemesis = []string{"partition"}
				multileader("lww")(c)
				c.Checks = []string{"linearizable"}
			},
			want: checker.Invalid, check: "linearizable",
		},
	}
	runtimes := []struct {
		name string
		make func(t *testing.T) harness.Runtime
	}{
		{"local", func(t *testing.T) harness.Runtime { return newLocal(t) }},
		{"docker", newDocker},
	}
	for _, rtc := range runtimes {
		for _, tc := range cases {
			t.Run(rtc.name+"/"+tc.name, func(t *testing.T) {
				knownVerdict(t, rtc.make(t), tc.edit, tc.check, tc.want)
			})
		}
	}
}
