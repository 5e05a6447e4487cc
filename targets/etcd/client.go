package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/faultline/faultline/workloads"
)

// conn is one etcd client talking to one member only (no endpoint sync, so it never fails
// over: what a partitioned member answers is what its processes see).
type conn struct {
	cli *clientv3.Client
}

func dial(addr string) (*conn, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{addr},
		DialTimeout: 2 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, err
	}
	return &conn{cli: cli}, nil
}

func (c *conn) close() error { return c.cli.Close() }

// all is every key of the member's local state (a serializable read).
func (c *conn) all(ctx context.Context) (map[string]string, error) {
	resp, err := c.cli.Get(ctx, "", clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out, nil
}

// Client is a workloads.Client over one member.
type Client struct {
	c            *conn
	serializable bool
	rmw          bool
}

var _ workloads.Client = (*Client)(nil)
var _ workloads.CASClient = (*Client)(nil)

// failed marks an op etcd certainly did not apply, keeping its error's text.
type failed struct{ err error }

func (f failed) Error() string        { return f.err.Error() }
func (f failed) Unwrap() error        { return f.err }
func (f failed) Is(target error) bool { return target == workloads.ErrFailed }

// errCompare is a Txn whose compare did not hold: nothing was written.
var errCompare = errors.New("etcd: compare failed, not written")

// classify turns a write's error into an outcome: fail only when etcd says the request was
// refused before it could be proposed (bad input, permissions, too large, too many requests);
// everything else, timeouts, a lost leader and an unreachable member included, may have been
// applied and is indeterminate.
func classify(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, rpctypes.ErrTooManyRequests), errors.Is(err, rpctypes.ErrRequestTooLarge),
		errors.Is(err, rpctypes.ErrTooManyOps), errors.Is(err, rpctypes.ErrEmptyKey),
		errors.Is(err, rpctypes.ErrPermissionDenied), errors.Is(err, rpctypes.ErrUserEmpty):
		return failed{err} // refused by the server before it proposed anything
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated:
			return failed{err}
		}
	}
	return err
}

// readErr marks a failed read as failed: a read changes nothing, so whatever happened to it, it
// did not take effect.
func readErr(err error) error {
	if err == nil {
		return nil
	}
	return failed{err}
}

func (c *Client) readOpts() []clientv3.OpOption {
	if c.serializable {
		return []clientv3.OpOption{clientv3.WithSerializable()}
	}
	return nil
}

// Get reads a register. For a read-modify-write set or counter the causal context is the key's
// mod revision ("rev:0" when absent), which the following Put compares.
func (c *Client) Get(ctx context.Context, key string) ([]string, string, error) {
	resp, err := c.c.cli.Get(ctx, key, c.readOpts()...)
	if err != nil {
		return nil, "", readErr(err)
	}
	var rev int64
	vals := []string{}
	if len(resp.Kvs) > 0 {
		vals = append(vals, string(resp.Kvs[0].Value))
		rev = resp.Kvs[0].ModRevision
	}
	causal := ""
	if c.rmw {
		causal = "rev:" + strconv.FormatInt(rev, 10)
	}
	return vals, causal, nil
}

// Put writes a register. With a causal context from Get (read-modify-write), it is a Txn that
// writes only if the key's mod revision is still the one read: a failed compare is a definite
// fail.
func (c *Client) Put(ctx context.Context, key, value, causal string) error {
	if !strings.HasPrefix(causal, "rev:") {
		_, err := c.c.cli.Put(ctx, key, value)
		return classify(err)
	}
	rev, err := strconv.ParseInt(strings.TrimPrefix(causal, "rev:"), 10, 64)
	if err != nil {
		return failed{fmt.Errorf("etcd: bad causal context %q", causal)}
	}
	cmp := clientv3.Compare(clientv3.ModRevision(key), "=", rev)
	if rev == 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	}
	resp, err := c.c.cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, value)).Commit()
	if err != nil {
		return classify(err)
	}
	if !resp.Succeeded {
		return failed{errCompare}
	}
	return nil
}

// CAS sets key to value if it holds old: a Txn comparing the value. A failed compare is a
// definite fail.
func (c *Client) CAS(ctx context.Context, key, old, value string) error {
	resp, err := c.c.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(key), "=", old)).
		Then(clientv3.OpPut(key, value)).Commit()
	if err != nil {
		return classify(err)
	}
	if !resp.Succeeded {
		return failed{errCompare}
	}
	return nil
}

// errNoCRDT is what the CRDT operations answer: etcd has none (Check refuses --crdt).
var errNoCRDT = failed{errors.New("etcd: no CRDTs; use the read-modify-write set or counter")}

// Incr is refused: etcd has no counter CRDT.
func (c *Client) Incr(context.Context, string, int64) error { return errNoCRDT }

// Counter is refused: etcd has no counter CRDT.
func (c *Client) Counter(context.Context, string) (int64, error) { return 0, errNoCRDT }

// SetAdd is refused: etcd has no set CRDT.
func (c *Client) SetAdd(context.Context, string, string) error { return errNoCRDT }

// SetRead is refused: etcd has no set CRDT.
func (c *Client) SetRead(context.Context, string) ([]string, error) { return nil, errNoCRDT }
