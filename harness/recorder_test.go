package harness_test

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
)

// Ops recorded from many goroutines at once come out in time order, with indexes in file order
// (history readers warn when times go down, and none should on our own runs).
func TestRecorderTimesFollowFileOrder(t *testing.T) {
	var buf bytes.Buffer
	rec := harness.NewRecorder(&buf, time.Now())
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				rec.Record(history.Op{Process: history.Process(p), Type: history.Invoke, F: history.FRead, Key: "k"})
			}
		}()
	}
	wg.Wait()
	ops := rec.Ops()
	if len(ops) != 16000 {
		t.Fatalf("got %d ops, want 16000", len(ops))
	}
	for i := 1; i < len(ops); i++ {
		if ops[i].Index != int64(i) || ops[i].Time < ops[i-1].Time {
			t.Fatalf("op %d: index %d time %d after time %d: want indexes in order and times not going down", i, ops[i].Index, ops[i].Time, ops[i-1].Time)
		}
	}
}
