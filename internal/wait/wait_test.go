package wait

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	r := &recorder{TB: t}
	For(r, time.Minute, "the third call", func() (bool, string) {
		calls++
		return calls == 3, fmt.Sprintf("call %d", calls)
	})
	if r.failed != "" || calls != 3 {
		t.Errorf("got %d calls, failure %q; want 3 calls and no failure", calls, r.failed)
	}
}

func TestForFailsNamingWhatAndTheLastAnswer(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	For(r, 30*time.Millisecond, "n1 stores 3 hints", func() (bool, string) {
		calls++
		return false, fmt.Sprintf("hint_stored %d", calls)
	})
	for _, want := range []string{"waiting for n1 stores 3 hints", "not reached after", fmt.Sprintf("(last: hint_stored %d)", calls)} {
		if !strings.Contains(r.failed, want) {
			t.Errorf("failure %q: want it to contain %q", r.failed, want)
		}
	}
	if calls < 2 {
		t.Errorf("cond polled %d times in 30ms, want at least 2", calls)
	}
}

func TestUntilWithoutATest(t *testing.T) {
	if err := Until(nil, time.Millisecond, func() (bool, string) { return false, "" }); err == nil || strings.Contains(err.Error(), "last") {
		t.Errorf("got %v, want a timeout without a last answer", err)
	}
	if err := Until(nil, time.Millisecond, func() (bool, string) { return true, "" }); err != nil {
		t.Errorf("got %v, want nil", err)
	}
}
