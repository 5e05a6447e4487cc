package sim

import (
	"fmt"
	"time"
)

// Scheduler is a discrete-event loop in virtual time. Events are ordered by (time, sequence
// number): the sequence number is taken when an event is scheduled, so events due at the same
// instant fire in the order they were scheduled, whatever the platform or GOMAXPROCS. It runs
// on the caller's goroutine and starts none; it never reads the wall clock.
type Scheduler struct {
	now   time.Duration
	seq   uint64
	q     []*event
	trace *Trace
	fired uint64
	free  []*event // fired events, reused (a Timer tells them apart by seq)
}

type event struct {
	at    time.Duration
	seq   uint64
	index int // in the heap; -1 once fired or cancelled
	label Label
	fn    func()
}

// Timer identifies a scheduled event, for Cancel.
type Timer struct {
	e   *event
	seq uint64
}

// NewScheduler returns a scheduler at virtual time 0 writing fired events to trace (nil: none).
func NewScheduler(trace *Trace) *Scheduler {
	if trace == nil {
		trace = NewTrace(false)
	}
	return &Scheduler{trace: trace}
}

// Now is the current virtual time (since the start of the run).
func (s *Scheduler) Now() time.Duration { return s.now }

// Trace is the scheduler's trace.
func (s *Scheduler) Trace() *Trace { return s.trace }

// Fired is the number of events run so far.
func (s *Scheduler) Fired() uint64 { return s.fired }

// Pending is the number of events waiting.
func (s *Scheduler) Pending() int { return len(s.q) }

// At schedules fn at virtual time at (the present if at is in the past).
func (s *Scheduler) At(at time.Duration, l Label, fn func()) Timer {
	if at < s.now {
		at = s.now
	}
	s.seq++
	var e *event
	if k := len(s.free); k > 0 {
		e = s.free[k-1]
		s.free = s.free[:k-1]
		*e = event{at: at, seq: s.seq, label: l, fn: fn}
	} else {
		e = &event{at: at, seq: s.seq, label: l, fn: fn}
	}
	s.push(e)
	return Timer{e: e, seq: e.seq}
}

// After schedules fn d after now.
func (s *Scheduler) After(d time.Duration, l Label, fn func()) Timer {
	return s.At(s.now+d, l, fn)
}

// Cancel removes a pending event; false if it already fired or was cancelled.
func (s *Scheduler) Cancel(t Timer) bool {
	if t.e == nil || t.e.seq != t.seq || t.e.index < 0 {
		return false
	}
	s.remove(t.e.index)
	return true
}

// record writes a line for something decided now (not an event firing), under a fresh
// sequence number so lines stay in one total order.
func (s *Scheduler) record(l Label) {
	s.seq++
	s.trace.add(s.now, s.seq, l)
}

// Step fires the next event, advancing time to it; false when none is pending.
func (s *Scheduler) Step() bool {
	if len(s.q) == 0 {
		return false
	}
	e := s.q[0]
	s.remove(0)
	if e.at < s.now {
		panic(fmt.Sprintf("sim: event at %s before now %s", e.at, s.now))
	}
	s.now = e.at
	s.fired++
	s.trace.add(e.at, e.seq, e.label)
	fn := e.fn
	e.fn, e.label = nil, Label{}
	s.free = append(s.free, e)
	fn()
	return true
}

// Run fires every event due at or before until, then sets the time to until (if later). It
// returns the number of events fired.
func (s *Scheduler) Run(until time.Duration) int {
	n := 0
	for len(s.q) > 0 && s.q[0].at <= until {
		s.Step()
		n++
	}
	if until > s.now {
		s.now = until
	}
	return n
}

// RunSteps fires at most n events and returns how many it fired.
func (s *Scheduler) RunSteps(n int) int {
	i := 0
	for i < n && s.Step() {
		i++
	}
	return i
}

// The queue is a binary min-heap by (at, seq), typed to avoid container/heap's boxing.

func (s *Scheduler) less(i, j int) bool {
	a, b := s.q[i], s.q[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (s *Scheduler) swap(i, j int) {
	s.q[i], s.q[j] = s.q[j], s.q[i]
	s.q[i].index = i
	s.q[j].index = j
}

func (s *Scheduler) push(e *event) {
	e.index = len(s.q)
	s.q = append(s.q, e)
	s.up(e.index)
}

func (s *Scheduler) remove(i int) {
	n := len(s.q) - 1
	e := s.q[i]
	if i != n {
		s.swap(i, n)
	}
	s.q[n] = nil
	s.q = s.q[:n]
	if i != n {
		if !s.down(i) {
			s.up(i)
		}
	}
	e.index = -1
}

func (s *Scheduler) up(j int) {
	for j > 0 {
		i := (j - 1) / 2
		if !s.less(j, i) {
			break
		}
		s.swap(i, j)
		j = i
	}
}

func (s *Scheduler) down(i0 int) bool {
	i, n := i0, len(s.q)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && s.less(r, l) {
			j = r
		}
		if !s.less(j, i) {
			break
		}
		s.swap(i, j)
		i = j
	}
	return i > i0
}
