package sim

import (
	"fmt"
	"time"
)

// MaxDriftPPM bounds a clock's drift; within it a node's monotonic clock always moves forward.
const MaxDriftPPM = 100000 // 10 %

// Clock is a node's clock in virtual time t (the scheduler's Now): the wall view is
// epoch + t + offset + drift, where drift accumulates from the moment it was set at DriftPPM
// parts per million, as store.Clock does with real time; Set replaces offset and drift
// together and restarts the drift's accumulation (the wall clock may jump, either way). The
// monotonic view is t plus every drift accumulated so far: it never jumps and never goes back,
// so offsets (a stepped clock) do not move it and drift (a fast or slow oscillator) does.
//
// A Clock holds no time itself: every reading takes t, so it is pure arithmetic.
type Clock struct {
	epoch    time.Time
	offset   time.Duration
	ppm      float64
	since    time.Duration // t when drift was last set
	monoBase time.Duration // monotonic reading at since
}

// NewClock returns a clock whose wall view reads epoch at virtual time 0.
func NewClock(epoch time.Time) *Clock { return &Clock{epoch: epoch} }

// driftOver is the drift accumulated over elapsed virtual time.
func (c *Clock) driftOver(elapsed time.Duration) time.Duration {
	if c.ppm == 0 {
		return 0
	}
	return time.Duration(float64(float64(elapsed) * float64(c.ppm/1e6)))
}

// Wall is the node's wall-clock reading at virtual time t.
func (c *Clock) Wall(t time.Duration) time.Time {
	return c.epoch.Add(t + c.offset + c.driftOver(t-c.since))
}

// Mono is the node's monotonic reading at virtual time t (0 at virtual time 0).
func (c *Clock) Mono(t time.Duration) time.Duration {
	e := t - c.since
	return c.monoBase + e + c.driftOver(e)
}

// Set replaces offset and drift at virtual time t (drift accumulates from t).
func (c *Clock) Set(t, offset time.Duration, driftPPM float64) error {
	if !(driftPPM >= -MaxDriftPPM && driftPPM <= MaxDriftPPM) {
		return fmt.Errorf("sim: clock drift %v ppm out of range -%d..%d", driftPPM, MaxDriftPPM, MaxDriftPPM)
	}
	c.monoBase = c.Mono(t)
	c.since = t
	c.offset, c.ppm = offset, driftPPM
	return nil
}

// Offset and DriftPPM are the current settings.
func (c *Clock) Offset() time.Duration { return c.offset }

// DriftPPM is the current drift in parts per million.
func (c *Clock) DriftPPM() float64 { return c.ppm }

// Virtual converts a duration measured on this clock (a node's timer) into virtual time at
// the current drift: a fast clock (positive drift) reaches d sooner. The result is rounded up
// so a timer never fires before its local duration has elapsed.
func (c *Clock) Virtual(d time.Duration) time.Duration {
	if c.ppm == 0 || d <= 0 {
		return d
	}
	v := float64(float64(d) / float64(1+float64(c.ppm/1e6)))
	out := time.Duration(v)
	for out+c.driftOver(out) < d {
		out++
	}
	return out
}
