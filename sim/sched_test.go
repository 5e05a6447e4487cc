package sim

import (
	"strings"
	"testing"
	"time"
)

func TestSchedulerOrdersByTimeThenSequence(t *testing.T) {
	s := NewScheduler(NewTrace(true))
	var got []string
	add := func(at time.Duration, name string) Timer {
		return s.At(at, Label{Kind: "t", Text: name}, func() { got = append(got, name) })
	}
	add(20, "c")
	add(10, "a")
	add(20, "d") // same time as c, scheduled later: fires after c
	add(10, "b")
	cancelled := add(15, "x")
	if !s.Cancel(cancelled) {
		t.Error("cancel of a pending event: got false")
	}
	if s.Cancel(cancelled) {
		t.Error("second cancel: got true")
	}
	s.At(30, Label{Kind: "t", Text: "e"}, func() {
		got = append(got, "e")
		s.After(0, Label{Kind: "t", Text: "g"}, func() { got = append(got, "g") })
		s.At(5, Label{Kind: "t", Text: "f"}, func() { got = append(got, "f") }) // past: runs now, after g
	})
	if n := s.Run(25); n != 4 {
		t.Errorf("Run(25): fired %d, want 4", n)
	}
	if s.Now() != 25 {
		t.Errorf("now after Run(25): got %s, want 25ns", s.Now())
	}
	s.Run(100)
	if w := "a b c d e g f"; strings.Join(got, " ") != w {
		t.Errorf("order: got %q, want %q", strings.Join(got, " "), w)
	}
	if s.Pending() != 0 || s.Step() {
		t.Error("events left after Run")
	}
	wantTrace := "10 2 t - - 0 a\n10 4 t - - 0 b\n20 1 t - - 0 c\n20 3 t - - 0 d\n30 6 t - - 0 e\n30 7 t - - 0 g\n30 8 t - - 0 f\n"
	if got := string(s.Trace().Bytes()); got != wantTrace {
		t.Errorf("trace:\ngot\n%swant\n%s", got, wantTrace)
	}
}

func TestSchedulerHeapRandomized(t *testing.T) {
	// Many events with random times and random cancellations fire in (time, seq) order.
	r := NewRand(5)
	s := NewScheduler(nil)
	type key struct {
		at  time.Duration
		seq uint64
	}
	var fired []key
	var timers []Timer
	for i := 0; i < 5000; i++ {
		at := time.Duration(r.IntN(1000))
		var tm Timer
		tm = s.At(at, Label{}, func() { fired = append(fired, key{at, tm.seq}) })
		timers = append(timers, tm)
	}
	cancelled := 0
	for _, i := range r.Perm(len(timers))[:1000] {
		if s.Cancel(timers[i]) {
			cancelled++
		}
	}
	s.Run(time.Hour)
	if len(fired) != 5000-cancelled {
		t.Fatalf("fired %d, want %d", len(fired), 5000-cancelled)
	}
	for i := 1; i < len(fired); i++ {
		a, b := fired[i-1], fired[i]
		if a.at > b.at || a.at == b.at && a.seq > b.seq {
			t.Fatalf("event %d (%v) fired before %d (%v) out of order", i-1, a, i, b)
		}
	}
}
