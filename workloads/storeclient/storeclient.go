// Package storeclient adapts the store's Go client (package client) to workloads.Client, with
// fixed per-request write and read quorums.
package storeclient

import (
	"context"
	"errors"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/workloads"
)

// Client is a workloads.Client over one store node.
type Client struct {
	c    *client.Client
	w, r int
}

var _ workloads.Client = (*Client)(nil)

// New returns a workloads.Client that sends every write with quorum w and every read with
// quorum r (0 = the node's default) through c. An error matching client.ErrFailed also matches
// workloads.ErrFailed; every other error passes through unchanged (and counts as indeterminate).
func New(c *client.Client, w, r int) workloads.Client {
	// Both quorums ride on every request: abd uses W and R for reads and writes alike.
	return &Client{c: c.WithQuorums(w, r), w: w, r: r}
}

// failed marks a definitely-failed store error for the workload, keeping its text.
type failed struct{ err error }

func (f failed) Error() string        { return f.err.Error() }
func (f failed) Unwrap() error        { return f.err }
func (f failed) Is(target error) bool { return target == workloads.ErrFailed }

func wrap(err error) error {
	if err != nil && errors.Is(err, client.ErrFailed) {
		return failed{err}
	}
	return err
}

// Get reads a register.
func (c *Client) Get(ctx context.Context, key string) ([]string, string, error) {
	v, err := c.c.Get(ctx, key, c.r)
	return v.Values, v.Context, wrap(err)
}

// Put writes a register.
func (c *Client) Put(ctx context.Context, key, value, causal string) error {
	return wrap(c.c.Put(ctx, key, value, c.w, causal))
}

// Incr adds delta to a counter.
func (c *Client) Incr(ctx context.Context, key string, delta int64) error {
	return wrap(c.c.Incr(ctx, key, delta, c.w))
}

// Counter reads a counter.
func (c *Client) Counter(ctx context.Context, key string) (int64, error) {
	n, err := c.c.Counter(ctx, key, c.r)
	return n, wrap(err)
}

// SetAdd adds an element to a set.
func (c *Client) SetAdd(ctx context.Context, key, elem string) error {
	return wrap(c.c.SetAdd(ctx, key, elem, c.w))
}

// SetRead reads a set.
func (c *Client) SetRead(ctx context.Context, key string) ([]string, error) {
	elems, err := c.c.SetRead(ctx, key, c.r)
	return elems, wrap(err)
}
