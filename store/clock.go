package store

import (
	"sync"
	"time"
)

// Clock is a node's skewable clock: real time + offset + drift. Drift runs from the moment it was
// set: after d of real time the clock has gained d*DriftPPM/1e6. The host clock is only read.
type Clock struct {
	mu     sync.Mutex
	real   func() time.Time
	offset time.Duration
	drift  float64   // parts per million
	since  time.Time // real time when drift was last set
}

// NewClock returns a clock reading real (time.Now if nil) with no offset.
func NewClock(real func() time.Time) *Clock {
	if real == nil {
		real = time.Now
	}
	return &Clock{real: real, since: real()}
}

// Now is the node's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.real()
	d := time.Duration(float64(r.Sub(c.since)) * c.drift / 1e6)
	return r.Add(c.offset + d)
}

// Set replaces offset and drift; the drift starts accumulating now.
func (c *Clock) Set(offset time.Duration, driftPPM float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.drift, c.since = offset, driftPPM, c.real()
}

// Get returns offset and drift.
func (c *Clock) Get() (time.Duration, float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset, c.drift
}
