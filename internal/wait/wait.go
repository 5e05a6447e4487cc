// Package wait is the one poll-until-deadline loop of faultline's tests.
//
// A test that starts asynchronous work (a hint stored after the ack, a read repair, an outbox
// delivery, a process coming up) must wait for its effect, not read it right away nor sleep a
// guessed time. For polls a condition until it holds and fails the test, naming what it waited
// for and what it saw last, when a generous deadline passes. The deadline bounds a liveness
// wait; it is not a speed target (benchmarks hold those).
package wait

import (
	"fmt"
	"testing"
	"time"
)

// Poll intervals: start short (most waits end within milliseconds), back off to Max.
const (
	firstInterval = 5 * time.Millisecond
	maxInterval   = 100 * time.Millisecond
	// deadlineMargin is left before the test binary's own -timeout, so a wait that cannot end
	// fails with its message instead of the test binary panicking.
	deadlineMargin = 5 * time.Second
)

// Cond reports whether the awaited condition holds and, when it does not, what it saw (shown if
// the wait fails; "" for nothing to add).
type Cond func() (ok bool, saw string)

// For polls cond until it holds, and fails t (t.Fatalf) if it still does not after timeout,
// naming what ("n1 stores 3 hints") and cond's last answer. cond runs on the test's goroutine,
// so it may itself call t.Fatal for an error that waiting cannot cure.
func For(t testing.TB, timeout time.Duration, what string, cond Cond) {
	t.Helper()
	if err := Until(t, timeout, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// Until is For without the failure: it returns nil once cond holds, or an error naming the
// timeout and cond's last answer. t only bounds the wait by the test's deadline; it may be nil.
func Until(t testing.TB, timeout time.Duration, cond Cond) error {
	if t != nil {
		t.Helper()
	}
	start := time.Now()
	deadline := start.Add(timeout)
	if d, ok := testDeadline(t); ok && d.Add(-deadlineMargin).Before(deadline) {
		deadline = d.Add(-deadlineMargin)
	}
	interval := firstInterval
	for {
		ok, saw := cond()
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			if saw == "" {
				return fmt.Errorf("not reached after %s", time.Since(start).Round(time.Millisecond))
			}
			return fmt.Errorf("not reached after %s (last: %s)", time.Since(start).Round(time.Millisecond), saw)
		}
		time.Sleep(min(interval, time.Until(deadline)+time.Millisecond))
		interval = min(2*interval, maxInterval)
	}
}

// testDeadline is the test binary's -timeout deadline, where t knows it.
func testDeadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}
