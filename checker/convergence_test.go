package checker

import (
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// TestConvergenceMissingReplica: a replica that lacks a key it must hold is dumped as null (the
// harness learns each key's replicas from the store) and is reported divergent by name; a node
// whose dump leaves the key out is not one of its replicas.
func TestConvergenceMissingReplica(t *testing.T) {
	// n=3 on 3 nodes: n3 is a replica of s and never got it.
	r := checkConvergence(history.Dumps{
		"n1": {"s": history.List(1)},
		"n2": {"s": history.List(1)},
		"n3": {"s": history.Nil()},
	}, true)
	if r.Valid != Invalid {
		t.Fatalf("missing replica: got %s, want invalid (%v)", r.Valid, r.Explanation)
	}
	d := r.Details.(*ConvergenceDetails)
	if d.Divergent != 1 || d.Missing != 1 {
		t.Errorf("divergent %d, missing %d: want 1 and 1", d.Divergent, d.Missing)
	}
	if len(d.DivergentKeys) != 1 || d.DivergentKeys[0].Key != "s" || !slices.Equal(d.DivergentKeys[0].Missing, []string{"n3"}) {
		t.Errorf("divergent keys: got %+v, want s missing on [n3]", d.DivergentKeys)
	}
	text := strings.Join(r.Explanation, "\n")
	if !strings.Contains(text, "key s") || !strings.Contains(text, "[n3] hold no value") {
		t.Errorf("explanation does not name key s and replica n3: %q", text)
	}

	// n=2 on 3 nodes: n3 is not a replica of s, its dump leaves s out.
	r = checkConvergence(history.Dumps{
		"n1": {"s": history.List(1), "t": history.Int(2)},
		"n2": {"s": history.List(1)},
		"n3": {"t": history.Int(2)},
	}, true)
	if r.Valid != Valid {
		t.Errorf("non-replica without the key: got %s, want valid (%v)", r.Valid, r.Explanation)
	}
	if d := r.Details.(*ConvergenceDetails); d.Missing != 0 || d.Partial != 0 {
		t.Errorf("non-replica: missing %d, partial %d, want 0 and 0", d.Missing, d.Partial)
	}

	// Every replica holds no value: nothing to diverge on.
	r = checkConvergence(history.Dumps{"n1": {"s": history.Nil()}, "n2": {"s": history.Nil()}}, true)
	if r.Valid != Valid {
		t.Errorf("all null: got %s, want valid (%v)", r.Valid, r.Explanation)
	}
}
