package checker

import (
	"testing"

	"github.com/faultline/faultline/history"
)

// Every fault with a start and an end becomes one shaded interval in the visualization: the
// start-X/stop-X pairs, and kill/restart, pause/resume, clock-bump/clock-reset of one node
// (kills of two nodes overlap without closing each other); a lone op stays a point.
func TestNemesisAnnotationIntervals(t *testing.T) {
	nem := func(at int64, f, node string) history.Op {
		return history.Op{Time: at, Process: history.NemesisProcess, Type: history.Info, F: f, Node: node, Detail: node}
	}
	ops := []history.Op{
		nem(10, "start-partition", ""), nem(20, "stop-partition", ""),
		nem(30, "kill", "n1"), nem(35, "kill", "n2"), nem(40, "restart", "n2"), nem(45, "restart", "n1"),
		nem(50, "pause", "n3"), nem(60, "resume", "n3"),
		nem(70, "clock-bump", "n2"), nem(80, "clock-reset", "n2"),
		nem(90, "strobe", "n1"),
	}
	got := nemesisAnnotations(newPrepared(ops, nil))
	want := [][2]int64{{10, 20}, {30, 45}, {35, 40}, {50, 60}, {70, 80}, {90, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %d annotations %+v, want %d", len(got), got, len(want))
	}
	for i, a := range got {
		if a.Start != want[i][0] || a.End != want[i][1] {
			t.Errorf("annotation %d (%s): got [%d, %d], want [%d, %d]", i, a.Description, a.Start, a.End, want[i][0], want[i][1])
		}
	}
}
