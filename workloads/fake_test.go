package workloads

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/history"
)

// memStore is a correct in-memory store: registers (no siblings), counters and sets. With stale
// set, register reads return the value before the latest write, so read-modify-writes lose
// updates the way a store serving stale replicas makes them.
type memStore struct {
	mu    sync.Mutex
	regs  map[string][]string // every value written, latest last
	ctrs  map[string]int64
	sets  map[string]map[string]bool
	stale bool
}

func newMemStore() *memStore {
	return &memStore{regs: map[string][]string{}, ctrs: map[string]int64{}, sets: map[string]map[string]bool{}}
}

type memClient struct {
	s *memStore
	// fault, if set, is asked before each call; a non-nil error is returned instead of the call.
	fault func(call, key string) error
}

var _ Client = (*memClient)(nil)

func (c *memClient) check(call, key string) error {
	if c.fault != nil {
		return c.fault(call, key)
	}
	return nil
}

func (c *memClient) Get(_ context.Context, key string) ([]string, string, error) {
	if err := c.check("get", key); err != nil {
		return nil, "", err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	h := c.s.regs[key]
	i := len(h) - 1
	if c.s.stale {
		i--
	}
	if i < 0 {
		return nil, "", nil
	}
	return []string{h[i]}, "ctx" + strconv.Itoa(len(h)), nil
}

func (c *memClient) Put(_ context.Context, key, value, _ string) error {
	if err := c.check("put", key); err != nil {
		return err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.regs[key] = append(c.s.regs[key], value)
	return nil
}

func (c *memClient) Incr(_ context.Context, key string, delta int64) error {
	if err := c.check("incr", key); err != nil {
		return err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.ctrs[key] += delta
	return nil
}

func (c *memClient) Counter(_ context.Context, key string) (int64, error) {
	if err := c.check("counter", key); err != nil {
		return 0, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.ctrs[key], nil
}

func (c *memClient) SetAdd(_ context.Context, key, elem string) error {
	if err := c.check("setadd", key); err != nil {
		return err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.s.sets[key] == nil {
		c.s.sets[key] = map[string]bool{}
	}
	c.s.sets[key][elem] = true
	return nil
}

func (c *memClient) SetRead(_ context.Context, key string) ([]string, error) {
	if err := c.check("setread", key); err != nil {
		return nil, err
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var out []string
	for e := range c.s.sets[key] {
		out = append(out, e)
	}
	slices.Sort(out)
	return out, nil
}

// scriptClient answers Get with fixed values and errors and records Put calls.
type scriptClient struct {
	memClient
	vals   []string
	getErr error
	putErr error
	puts   []string // "key=value@causal"
}

func (c *scriptClient) Get(context.Context, string) ([]string, string, error) {
	return c.vals, "cc", c.getErr
}

func (c *scriptClient) Put(_ context.Context, key, value, causal string) error {
	c.puts = append(c.puts, key+"="+value+"@"+causal)
	return c.putErr
}

// recorder is a test Recorder; when limit is reached it calls stop once.
type recorder struct {
	mu    sync.Mutex
	start time.Time
	ops   []history.Op
	limit int
	stop  func()
	once  sync.Once
}

func newRecorder(limit int, stop func()) *recorder {
	return &recorder{start: time.Now(), limit: limit, stop: stop}
}

func (r *recorder) Record(op history.Op) history.Op {
	r.mu.Lock()
	op.Index = int64(len(r.ops))
	op.Time = int64(time.Since(r.start))
	r.ops = append(r.ops, op)
	n := len(r.ops)
	r.mu.Unlock()
	if r.limit > 0 && n >= r.limit && r.stop != nil {
		r.once.Do(r.stop)
	}
	return op
}

func (r *recorder) all() []history.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ops)
}

var errIndeterminate = errors.New("timed out")

// everyNth returns a fault hook that fails every nth call (counted across clients) with err.
func everyNth(n int64, err error) func(string, string) error {
	var calls atomic.Int64
	return func(string, string) error {
		if calls.Add(1)%n == 0 {
			return err
		}
		return nil
	}
}
