package nemesis

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rs/zerolog"
)

// healDetail marks the ops HealAll records.
const healDetail = "heal-all"

// HealAll ends every fault s may have left active, whatever part of it ran: it heals the network
// and resumes paused nodes (Target.Heal), restarts every node s kills, and resets the clock of
// every node s skews. Each undo is recorded as a nemesis op (Detail "heal-all") for the faults
// s contains; a schedule without events records nothing. Every step is tried even if an earlier
// one fails, and the errors are returned joined. It is idempotent: calling it again is safe.
func HealAll(ctx context.Context, s Schedule, t Target, rec Recorder, log zerolog.Logger) error {
	if t == nil || rec == nil {
		return errors.New("nemesis: heal: target and recorder must not be nil")
	}
	var errs []error
	note := func(e Event, err error) {
		e.Detail = healDetail
		record(rec, e, err)
		if err != nil {
			log.Warn().Err(err).Str("f", e.F).Str("node", e.Node).Msg("heal action failed")
			errs = append(errs, fmt.Errorf("nemesis: heal: %s %s: %w", e.F, e.Node, err))
		}
	}

	has := map[string]bool{}
	var killed, paused, skewed []string
	for _, e := range s.Events {
		has[e.F] = true
		switch e.F {
		case FKill:
			killed = append(killed, e.Node)
		case FPause:
			paused = append(paused, e.Node)
		case FClockBump:
			skewed = append(skewed, e.Node)
		}
	}
	// Target.Heal's error is returned once, and recorded on each undo it stands for.
	err := t.Heal(ctx)
	if err != nil {
		log.Warn().Err(err).Msg("heal failed")
		errs = append(errs, fmt.Errorf("nemesis: heal: %w", err))
	}
	for _, f := range []struct{ on, off string }{
		{FStartPartition, FStopPartition}, {FStartDelay, FStopDelay}, {FStartLoss, FStopLoss},
	} {
		if has[f.on] {
			record(rec, Event{F: f.off, Detail: healDetail}, err)
		}
	}
	for _, n := range distinct(paused) {
		record(rec, Event{F: FResume, Node: n, Detail: healDetail}, err)
	}
	for _, n := range distinct(killed) {
		note(Event{F: FRestart, Node: n}, t.Restart(ctx, n))
	}
	for _, n := range distinct(skewed) {
		note(Event{F: FClockReset, Node: n}, t.SetClock(ctx, n, 0))
	}
	return errors.Join(errs...)
}

func distinct(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
