// Package faults plays a nemesis schedule (data, from nemesis.Generate) in a simulated world:
// each event runs at its virtual time as the matching World fault. Target adapts a World to
// nemesis.Target, so the nemesis's own heal logic (nemesis.HealAll, HealExecuted) works on a
// simulation unchanged; its methods act at once, in virtual time, and never block.
package faults

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/nemesis"
	"github.com/faultline/faultline/sim"
)

// Target is a World seen as the nemesis's target.
type Target struct {
	W *sim.World
}

var _ nemesis.Target = Target{}

// Kill crashes node.
func (t Target) Kill(_ context.Context, node string) error { return t.W.Crash(node) }

// Restart boots a crashed node.
func (t Target) Restart(_ context.Context, node string) error { return t.W.Restart(node) }

// Pause stops node.
func (t Target) Pause(_ context.Context, node string) error { return t.W.Pause(node) }

// Resume continues node.
func (t Target) Resume(_ context.Context, node string) error { return t.W.Resume(node) }

// Partition installs grudge (empty: none).
func (t Target) Partition(_ context.Context, grudge map[string][]string) error {
	return t.W.Partition(grudge)
}

// SetLinks replaces every link fault.
func (t Target) SetLinks(_ context.Context, links []nemesis.Link) error {
	out := make([]sim.LinkFault, len(links))
	for i, l := range links {
		out[i] = sim.LinkFault{From: l.From, To: l.To, Delay: l.Delay, Loss: l.Loss}
	}
	return t.W.SetLinks(out)
}

// SetClock sets node's clock offset, keeping its drift.
func (t Target) SetClock(_ context.Context, node string, offset time.Duration) error {
	n := t.W.Node(node)
	if n == nil {
		return fmt.Errorf("faults: clock: unknown node %q", node)
	}
	return t.W.SetClock(node, offset, n.Clock().DriftPPM())
}

// Heal lifts partitions and link faults and resumes paused nodes.
func (t Target) Heal(context.Context) error {
	t.W.Heal()
	return nil
}

// Play schedules every event of s on w at start+At. Each is recorded in rec (if not nil) as
// nemesis.Execute records it (process nemesis, type info, the event's f, node and detail, the
// action's error), and onEvent (if not nil) is told of it with the error. Delay and loss links
// are kept apart and merged on every change, as the nemesis's executor does, so both can be
// active at once although SetLinks replaces the whole set.
func Play(w *sim.World, s nemesis.Schedule, start time.Duration, rec nemesis.Recorder, onEvent func(nemesis.Event, error)) {
	p := &player{t: Target{W: w}}
	for _, e := range s.Events {
		w.At(start+e.At, "nemesis "+e.F, func() {
			err := p.apply(e)
			if rec != nil {
				op := history.Op{Process: history.NemesisProcess, Type: history.Info, F: e.F, Node: e.Node, Detail: e.Detail}
				if err != nil {
					op.Error = err.Error()
				}
				rec.Record(op)
			}
			if onEvent != nil {
				onEvent(e, err)
			}
		})
	}
}

type player struct {
	t           Target
	delay, loss []nemesis.Link
}

func (p *player) apply(e nemesis.Event) error {
	ctx := context.Background() // the sim's target never blocks
	switch e.F {
	case nemesis.FStartPartition:
		return p.t.Partition(ctx, e.Grudge)
	case nemesis.FStopPartition:
		return p.t.Partition(ctx, nil)
	case nemesis.FKill:
		return p.t.Kill(ctx, e.Node)
	case nemesis.FRestart:
		return p.t.Restart(ctx, e.Node)
	case nemesis.FPause:
		return p.t.Pause(ctx, e.Node)
	case nemesis.FResume:
		return p.t.Resume(ctx, e.Node)
	case nemesis.FClockBump, nemesis.FClockReset:
		return p.t.SetClock(ctx, e.Node, e.Offset)
	case nemesis.FStartDelay:
		p.delay = e.Links
	case nemesis.FStopDelay:
		p.delay = nil
	case nemesis.FStartLoss:
		p.loss = e.Links
	case nemesis.FStopLoss:
		p.loss = nil
	default:
		return fmt.Errorf("faults: unknown nemesis action %q", e.F)
	}
	return p.t.SetLinks(ctx, nemesis.MergeLinks(p.delay, p.loss))
}
