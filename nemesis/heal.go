package nemesis

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rs/zerolog"
)

// healDetail marks the ops HealAll and HealExecuted record.
const healDetail = "heal-all"

// active is the set of faults that may be in effect.
type active struct {
	partition, delay, loss bool
	killed, paused, skewed map[string]bool
}

func newActive() *active {
	return &active{killed: map[string]bool{}, paused: map[string]bool{}, skewed: map[string]bool{}}
}

// HealAll ends every fault s may have left active, whatever part of it ran: it heals the network
// and resumes paused nodes (Target.Heal), restarts every node s kills, and resets the clock of
// every node s skews. Each undo is recorded as a nemesis op (Detail "heal-all") for every fault
// s contains, active or not; HealExecuted records only what was still active. A schedule without
// events records nothing (Target.Heal is still called). Every step is tried even if an earlier
// one fails, and the errors are returned joined. It is idempotent: calling it again is safe.
func HealAll(ctx context.Context, s Schedule, t Target, rec Recorder, log zerolog.Logger) error {
	a := newActive()
	for _, e := range s.Events {
		if isStart(e) {
			a.mark(e, true)
		}
	}
	return heal(ctx, a, t, rec, log)
}

// HealExecuted is HealAll for the events Execute returned: it undoes, and records, only the
// faults those events left in effect (a start whose action failed counts as in effect, since it
// may have half-happened; a stop counts only if it succeeded). It always calls Target.Heal.
func HealExecuted(ctx context.Context, done []Executed, t Target, rec Recorder, log zerolog.Logger) error {
	a := newActive()
	for _, x := range done {
		a.mark(x.Event, x.Error == "")
	}
	return heal(ctx, a, t, rec, log)
}

// mark applies e to the active set; ok says whether its action succeeded.
func (a *active) mark(e Event, ok bool) {
	switch e.F {
	case FStartPartition:
		a.partition = true
	case FStopPartition:
		a.partition = a.partition && !ok
	case FStartDelay:
		a.delay = true
	case FStopDelay:
		a.delay = a.delay && !ok
	case FStartLoss:
		a.loss = true
	case FStopLoss:
		a.loss = a.loss && !ok
	case FKill:
		a.killed[e.Node] = true
	case FRestart:
		if ok {
			delete(a.killed, e.Node)
		}
	case FPause:
		a.paused[e.Node] = true
	case FResume:
		if ok {
			delete(a.paused, e.Node)
		}
	case FClockBump, FClockReset:
		if e.Offset != 0 {
			a.skewed[e.Node] = true
		} else if ok {
			delete(a.skewed, e.Node)
		}
	}
}

// isStart reports whether e starts a fault.
func isStart(e Event) bool {
	switch e.F {
	case FStartPartition, FStartDelay, FStartLoss, FKill, FPause:
		return true
	case FClockBump:
		return e.Offset != 0
	}
	return false
}

func heal(ctx context.Context, a *active, t Target, rec Recorder, log zerolog.Logger) error {
	if t == nil || rec == nil {
		return errors.New("nemesis: heal: target and recorder must not be nil")
	}
	var errs []error
	// Target.Heal's error is returned once, and recorded on each undo it stands for.
	err := t.Heal(ctx)
	if err != nil {
		log.Warn().Err(err).Msg("heal failed")
		errs = append(errs, fmt.Errorf("nemesis: heal: %w", err))
	}
	for _, f := range []struct {
		on  bool
		off string
	}{{a.partition, FStopPartition}, {a.delay, FStopDelay}, {a.loss, FStopLoss}} {
		if f.on {
			record(rec, Event{F: f.off, Detail: healDetail}, err)
		}
	}
	for _, n := range sortedKeys(a.paused) {
		record(rec, Event{F: FResume, Node: n, Detail: healDetail}, err)
	}
	// Restart before resetting clocks: a runtime may restore a node's offset on restart.
	for _, n := range sortedKeys(a.killed) {
		err := t.Restart(ctx, n)
		record(rec, Event{F: FRestart, Node: n, Detail: healDetail}, err)
		if err != nil {
			log.Warn().Err(err).Str("node", n).Msg("heal: restart failed")
			errs = append(errs, fmt.Errorf("nemesis: heal: restart %s: %w", n, err))
		}
	}
	for _, n := range sortedKeys(a.skewed) {
		err := t.SetClock(ctx, n, 0)
		record(rec, Event{F: FClockReset, Node: n, Detail: healDetail}, err)
		if err != nil {
			log.Warn().Err(err).Str("node", n).Msg("heal: clock reset failed")
			errs = append(errs, fmt.Errorf("nemesis: heal: reset clock of %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
