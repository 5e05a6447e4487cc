package history

import (
	"fmt"
	"math"
	"time"
)

// timesFromOrder gives every op its position as time when no client op carries a time
// (timed(i) reports whether op i has one; an absent time and time 0 are both none, as in a
// history written by hand or by a tool that records no times) and there are at least two
// client ops. With every op at time 0 a checker sees all ops as concurrent, and a sequential
// history that is not linearizable (write 1 ok; read nil ok) would pass. Nemesis times are
// replaced too, so all ops stay on one clock. It returns a warning, or "".
func timesFromOrder(ops []Op, timed func(i int) bool) string {
	clients := 0
	for i := range ops {
		if ops[i].Process.IsNemesis() {
			continue
		}
		if timed(i) {
			return ""
		}
		clients++
	}
	if clients < 2 {
		return ""
	}
	for i := range ops {
		ops[i].Time = int64(i)
	}
	return "no client op carries a time: times inferred from the record order (record i at time i), so real-time order is the line order"
}

// timeOrderWarning returns a warning when times go down in record order (an op stamped
// before an op recorded ahead of it), or "". The checkers order operations by their times, not
// by the record order. Small steps back are normal from a concurrent recorder that stamps an op
// before it takes the lock that writes it (two ops stamped microseconds apart can be written in
// either order; faultline's recorder stamps under its lock, so its histories do not warn).
// Large ones suggest edited or concatenated histories. Within one process times cannot go
// down; Pair rejects that.
func timeOrderWarning(ops []Op) string {
	n, worstAt := 0, -1
	var worst int64
	hi := int64(math.MinInt64)
	for i := range ops {
		t := ops[i].Time
		if t >= hi {
			hi = t
			continue
		}
		n++
		d := hi - t
		if d < 0 { // overflow
			d = math.MaxInt64
		}
		if worstAt < 0 || d > worst {
			worst, worstAt = d, i
		}
	}
	if n == 0 {
		return ""
	}
	where := fmt.Sprintf("op %d", worstAt)
	if ops[worstAt].Line > 0 {
		where = fmt.Sprintf("line %d", ops[worstAt].Line)
	}
	return fmt.Sprintf("times go down in record order at %d records (the largest step back is %s, at %s): the checkers order operations by their times, not by the record order (small steps are normal when concurrent clients are recorded; large ones suggest an edited or concatenated history)",
		n, time.Duration(worst), where)
}

// finishTimes applies timesFromOrder and timeOrderWarning to a history just read, appending
// their warnings.
func finishTimes(ops []Op, timed func(i int) bool, warnings []string) []string {
	if w := timesFromOrder(ops, timed); w != "" {
		warnings = append(warnings, w)
	}
	if w := timeOrderWarning(ops); w != "" {
		warnings = append(warnings, w)
	}
	return warnings
}
