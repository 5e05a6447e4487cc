package nemesis

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/history"
)

// Target is what the nemesis acts through: the runtime for processes and the network, and the
// nodes' admin API for clocks. Every method is idempotent.
type Target interface {
	Kill(ctx context.Context, node string) error
	Restart(ctx context.Context, node string) error
	Pause(ctx context.Context, node string) error
	Resume(ctx context.Context, node string) error
	// Partition installs a grudge, replacing any earlier one (an empty grudge lifts it):
	// grudge[a] lists the peers node a must not hear.
	Partition(ctx context.Context, grudge map[string][]string) error
	// SetLinks installs delay and loss on directed links, replacing any earlier set.
	SetLinks(ctx context.Context, links []Link) error
	// SetClock sets a node's clock offset from real time.
	SetClock(ctx context.Context, node string, offset time.Duration) error
	// Heal lifts partitions and link faults and resumes paused nodes.
	Heal(ctx context.Context) error
}

// Recorder receives the nemesis ops of the history.
type Recorder interface {
	// Record stamps op with its Index and Time, appends it to the history and returns the
	// stamped op. It is safe for concurrent use.
	Record(op history.Op) history.Op
}

// actionTimeout bounds one Target call. Actions run on a context detached from the run's, so a
// fault that has started is carried out (and recorded) even when the run ends meanwhile.
const actionTimeout = 30 * time.Second

// clock is Execute's view of time; tests replace it.
type clock struct {
	now func() time.Time
	// sleepUntil waits until t; false if ctx ended first.
	sleepUntil func(ctx context.Context, t time.Time) bool
}

var realClock = clock{
	now: time.Now,
	sleepUntil: func(ctx context.Context, t time.Time) bool {
		d := time.Until(t)
		if d <= 0 {
			return ctx.Err() == nil
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-tm.C:
			return true
		}
	},
}

// Execute runs the events of s in order, each at start+At, until they are all done or ctx is
// done. Each event's action goes to t and is recorded as one op of the nemesis process (type
// info, f the event's F, Node the target node, Detail its description, Error if the action
// failed), and onEvent (if non-nil) is told of it. A failed action is logged and recorded, not
// fatal. Execute returns the events it ran with their actual times and errors; its error is
// non-nil only for unusable arguments: the end of ctx is the normal way to stop it.
func Execute(ctx context.Context, s Schedule, t Target, rec Recorder, start time.Time, onEvent func(Event), log zerolog.Logger) ([]Executed, error) {
	return execute(ctx, s, t, rec, start, onEvent, log, realClock)
}

func execute(ctx context.Context, s Schedule, t Target, rec Recorder, start time.Time, onEvent func(Event), log zerolog.Logger, clk clock) ([]Executed, error) {
	if t == nil || rec == nil {
		return nil, errors.New("nemesis: execute: target and recorder must not be nil")
	}
	x := &executor{t: t}
	done := make([]Executed, 0, len(s.Events))
	for _, e := range s.Events {
		if !clk.sleepUntil(ctx, start.Add(e.At)) {
			break
		}
		began := clk.now()
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), actionTimeout)
		err := x.apply(actx, e)
		cancel()
		ex := Executed{Event: e, Actual: began.Sub(start), Took: clk.now().Sub(began)}
		record(rec, e, err)
		if err != nil {
			ex.Error = err.Error()
			log.Warn().Err(err).Str("fault", e.String()).Msg("nemesis action failed")
		} else {
			log.Debug().Str("fault", e.String()).Dur("at", ex.Actual).Msg("nemesis")
		}
		done = append(done, ex)
		if onEvent != nil {
			onEvent(e)
		}
	}
	return done, nil
}

// record writes e's nemesis op.
func record(rec Recorder, e Event, err error) {
	op := history.Op{Process: history.NemesisProcess, Type: history.Info, F: e.F, Node: e.Node, Detail: e.Detail}
	if err != nil {
		op.Error = err.Error()
	}
	rec.Record(op)
}

// executor applies events, keeping the link faults of each kind so that delay and loss can be
// active at once although SetLinks replaces the whole set.
type executor struct {
	t           Target
	delay, loss []Link
}

func (x *executor) apply(ctx context.Context, e Event) error {
	switch e.F {
	case FStartPartition:
		return x.t.Partition(ctx, e.Grudge)
	case FStopPartition:
		return x.t.Partition(ctx, map[string][]string{})
	case FKill:
		return x.t.Kill(ctx, e.Node)
	case FRestart:
		return x.t.Restart(ctx, e.Node)
	case FPause:
		return x.t.Pause(ctx, e.Node)
	case FResume:
		return x.t.Resume(ctx, e.Node)
	case FClockBump, FClockReset:
		return x.t.SetClock(ctx, e.Node, e.Offset)
	case FStartDelay:
		x.delay = e.Links
	case FStopDelay:
		x.delay = nil
	case FStartLoss:
		x.loss = e.Links
	case FStopLoss:
		x.loss = nil
	default:
		return errors.New("nemesis: unknown action " + e.F)
	}
	return x.t.SetLinks(ctx, MergeLinks(x.delay, x.loss))
}

// MergeLinks combines delay links and loss links into one set, one entry per directed link
// (the larger delay and the larger loss of each), in first-seen order. Every executor of a
// schedule (the harness's and the simulator's) applies link faults through it.
func MergeLinks(delay, loss []Link) []Link {
	out := make([]Link, 0, len(delay)+len(loss))
	at := map[[2]string]int{}
	for _, set := range [][]Link{delay, loss} {
		for _, l := range set {
			k := [2]string{l.From, l.To}
			if i, ok := at[k]; ok {
				out[i].Delay = max(out[i].Delay, l.Delay)
				out[i].Loss = max(out[i].Loss, l.Loss)
				continue
			}
			at[k] = len(out)
			out = append(out, l)
		}
	}
	return out
}
