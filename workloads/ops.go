package workloads

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline/faultline/history"
)

// read runs a read of key k for the workload.
func (w *worker) read(ctx context.Context, k int) opResult {
	return readKey(ctx, w.cfg, w.client, w.keys[k], &w.causal[k])
}

// readKey reads key with c as the workload reads it; a register read's causal context is
// stored in *causal.
func readKey(ctx context.Context, cfg *Config, c Client, key string, causal *string) opResult {
	switch {
	case cfg.Workload == Register:
		vals, cc, err := c.Get(ctx, key)
		if err != nil {
			return result(history.Nil(), err)
		}
		*causal = cc
		return parsed(registerValue(vals))
	case cfg.Workload == Set && cfg.CRDT:
		elems, err := c.SetRead(ctx, key)
		if err != nil {
			return result(history.Nil(), err)
		}
		return parsed(setValue(elems))
	case cfg.Workload == Set:
		vals, _, err := c.Get(ctx, key)
		if err != nil {
			return result(history.Nil(), err)
		}
		return parsed(rmwSet(vals))
	case cfg.CRDT: // counter
		n, err := c.Counter(ctx, key)
		return result(history.Int(n), err)
	default: // read-modify-write counter
		vals, _, err := c.Get(ctx, key)
		if err != nil {
			return result(history.Nil(), err)
		}
		n, perr := rmwCounter(vals)
		return parsed(history.Int(n), perr)
	}
}

// parsed is the result of a read that reached the store: ok, or info if the store answered
// something the workload never wrote (we cannot tell what was read).
func parsed(v history.Value, err error) opResult {
	if err != nil {
		return opResult{typ: history.Info, err: err}
	}
	return opResult{typ: history.OK, value: v}
}

// update runs the workload's update of key k with argument arg.
func (w *worker) update(ctx context.Context, k int, arg history.Value) opResult {
	c, key := w.client, w.keys[k]
	switch {
	case w.cfg.Workload == Register:
		return result(arg, c.Put(ctx, key, strconv.FormatInt(arg.Int, 10), w.causal[k]))
	case w.cfg.Workload == Set && w.cfg.CRDT:
		return result(arg, c.SetAdd(ctx, key, strconv.FormatInt(arg.Int, 10)))
	case w.cfg.CRDT: // counter
		return result(arg, c.Incr(ctx, key, arg.Int))
	}

	// Read-modify-write: read the register, change the value, write it back with the read's
	// causal context. Until the write is sent nothing has changed, so any failure of the read
	// step, indeterminate ones included, makes the op fail.
	vals, causal, err := c.Get(ctx, key)
	if err != nil {
		return fail("read step: %w", err)
	}
	var next string
	if w.cfg.Workload == Set {
		cur, err := rmwSet(vals)
		if err != nil {
			return fail("read step: %w", err)
		}
		elems := append(cur.List, arg.Int)
		slices.Sort(elems)
		next = joinInts(elems)
	} else {
		// Siblings of a counter are merged by taking the largest: concurrent increments that
		// made them are lost. This is on purpose: it is what a naive client does, and what the
		// counter checker must catch (CRDT counters do not lose them).
		n, err := rmwCounter(vals)
		if err != nil {
			return fail("read step: %w", err)
		}
		next = strconv.FormatInt(n+arg.Int, 10)
	}
	if err := c.Put(ctx, key, next, causal); err != nil {
		return result(arg, fmt.Errorf("write step: %w", err))
	}
	return result(arg, nil)
}

// registerValue is a register read's history value: nil if absent, the integer, or the sorted
// siblings.
func registerValue(vals []string) (history.Value, error) {
	switch len(vals) {
	case 0:
		return history.Nil(), nil
	case 1:
		n, err := parseInt(vals[0])
		return history.Int(n), err
	}
	xs := make([]int64, len(vals))
	for i, s := range vals {
		n, err := parseInt(s)
		if err != nil {
			return history.Nil(), err
		}
		xs[i] = n
	}
	slices.Sort(xs)
	return history.List(xs...), nil
}

// setValue is a set CRDT read's history value: the sorted, distinct elements.
func setValue(elems []string) (history.Value, error) {
	xs := make([]int64, len(elems))
	for i, s := range elems {
		n, err := parseInt(s)
		if err != nil {
			return history.Nil(), err
		}
		xs[i] = n
	}
	slices.Sort(xs)
	return history.List(slices.Compact(xs)...), nil
}

// rmwSet decodes a read-modify-write set register: each sibling is a comma-separated list, and
// siblings are merged by union (the application merge a sibling-returning store expects).
func rmwSet(vals []string) (history.Value, error) {
	xs := []int64{}
	for _, v := range vals {
		if v == "" {
			continue
		}
		for s := range strings.SplitSeq(v, ",") {
			n, err := parseInt(s)
			if err != nil {
				return history.Nil(), err
			}
			xs = append(xs, n)
		}
	}
	slices.Sort(xs)
	return history.List(slices.Compact(xs)...), nil
}

// rmwCounter decodes a read-modify-write counter register: 0 if absent, the largest sibling
// otherwise.
func rmwCounter(vals []string) (int64, error) {
	var best int64
	for i, v := range vals {
		n, err := parseInt(v)
		if err != nil {
			return 0, err
		}
		if i == 0 || n > best {
			best = n
		}
	}
	return best, nil
}

func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("workloads: store returned %q, not a value this workload writes", s)
	}
	return n, nil
}

func joinInts(xs []int64) string {
	b := make([]byte, 0, len(xs)*4)
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, x, 10)
	}
	return string(b)
}

// cas runs a compare-and-set of key k from old to v. A client without CAS fails it (nothing
// was sent).
func (w *worker) cas(ctx context.Context, k int, old, v int64) opResult {
	c, ok := w.client.(CASClient)
	if !ok {
		return fail("workloads: the client has no compare-and-set")
	}
	arg := history.List(old, v)
	return result(arg, c.CAS(ctx, w.keys[k], strconv.FormatInt(old, 10), strconv.FormatInt(v, 10)))
}
