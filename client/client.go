// Package client is the Go client of a faultline store node: the data API (registers, counters,
// sets) and the admin API (clock, fault filter, dump, stats). It imports nothing of the store.
//
// Outcomes are honest: a nil error means the node acknowledged; an error matching ErrFailed means
// the operation was definitely not applied; an error matching ErrIndeterminate means it may have
// been applied (the coordinator could not reach its quorum in time, or our own timeout expired
// after the request was sent).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// ErrIndeterminate: the operation may have been applied (coordinator timeout, or our HTTP timeout
// after the request was sent).
var ErrIndeterminate = errors.New("indeterminate")

// ErrFailed: the operation was definitely not applied.
var ErrFailed = errors.New("failed")

// Error is a non-2xx answer from the node, or a transport error classified by outcome.
// errors.Is(err, ErrFailed) and errors.Is(err, ErrIndeterminate) work on it.
type Error struct {
	Op      string // e.g. "put k1"
	Status  int    // HTTP status; 0 for a transport error
	Message string // the server's JSON error, or the transport error text
	Outcome string // OutcomeFailed or OutcomeIndeterminate
	Err     error  // underlying transport error, if any
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("client: %s: %s: %s", e.Op, e.Outcome, e.Message)
	}
	return fmt.Sprintf("client: %s: %s (HTTP %d): %s", e.Op, e.Outcome, e.Status, e.Message)
}

// Is matches ErrFailed or ErrIndeterminate by outcome.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrFailed:
		return e.Outcome == OutcomeFailed
	case ErrIndeterminate:
		return e.Outcome == OutcomeIndeterminate
	}
	return false
}

func (e *Error) Unwrap() error { return e.Err }

// Client talks to one node. It is safe for concurrent use.
type Client struct {
	addr    string
	token   string
	hc      *http.Client
	timeout time.Duration
	w, r    int // default quorums sent with every data request (0 = the node's default)
}

// Option configures a Client.
type Option func(*Client)

// WithAdminToken sets the bearer token for the admin API.
func WithAdminToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient replaces the HTTP client (default: a keep-alive client with many idle
// connections per host).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.hc = h } }

// WithTimeout sets the per-request timeout (default 5s), applied besides the ctx deadline.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// NewHTTPClient returns the HTTP client New uses by default: keep-alive, up to 256 idle
// connections per host. Share one between Clients of a cluster to share its connection pool.
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: tr}
}

// New returns a client for the node at addr ("host:port").
func New(addr string, opts ...Option) *Client {
	c := &Client{addr: addr, timeout: 5 * time.Second}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = NewHTTPClient()
	}
	return c
}

// Addr is the node address this client talks to.
func (c *Client) Addr() string { return c.addr }

// Versioned is a register's value: Values is empty when the key is absent and holds more than
// one value when concurrent writes left siblings (vclock). Context is the causal context to pass
// to the next Put that should supersede these values.
type Versioned struct {
	Values  []string
	Context string
}

// WithQuorums returns a copy of c that sends w and r with every data request: a read names
// its own r (its argument, when not 0) and w, a write its own w and r. abd needs both for every
// operation (a write's query phase reads R replicas; a read writes back to W), so a client of an
// abd cluster that uses non-default quorums should say both. 0 leaves a quorum to the node.
func (c *Client) WithQuorums(w, r int) *Client {
	cp := *c
	cp.w, cp.r = w, r
	return &cp
}

// quorums is the query string for a data request whose own quorum argument is w (writes) or r
// (reads); a 0 argument falls back to the client's default.
func (c *Client) quorums(w, r int) string {
	if w == 0 {
		w = c.w
	}
	if r == 0 {
		r = c.r
	}
	switch {
	case w > 0 && r > 0:
		return "?w=" + strconv.Itoa(w) + "&r=" + strconv.Itoa(r)
	case w > 0:
		return "?w=" + strconv.Itoa(w)
	case r > 0:
		return "?r=" + strconv.Itoa(r)
	}
	return ""
}

// Get reads a register with read quorum r (0 = the node's default).
func (c *Client) Get(ctx context.Context, key string, r int) (Versioned, error) {
	var resp GetResponse
	if err := c.do(ctx, "get "+key, http.MethodGet, "/kv/"+url.PathEscape(key)+c.quorums(0, r), nil, &resp, false); err != nil {
		return Versioned{}, err
	}
	return Versioned{Values: resp.Values, Context: resp.Context}, nil
}

// Put writes a register with write quorum w (0 = node default). causal is the Context of an
// earlier Get ("" = none: under vclock the write becomes a sibling of whatever is there).
func (c *Client) Put(ctx context.Context, key, value string, w int, causal string) error {
	if err := checkUTF8("put "+key, "value", value); err != nil {
		return err
	}
	return c.do(ctx, "put "+key, http.MethodPut, "/kv/"+url.PathEscape(key)+c.quorums(w, 0), PutRequest{Value: value, Context: causal}, nil, false)
}

// Incr adds delta (may be negative) to the PN-counter at key.
func (c *Client) Incr(ctx context.Context, key string, delta int64, w int) error {
	return c.do(ctx, "incr "+key, http.MethodPost, "/counter/"+url.PathEscape(key)+c.quorums(w, 0), IncrRequest{Delta: delta}, nil, false)
}

// Counter reads the PN-counter at key (0 when absent).
func (c *Client) Counter(ctx context.Context, key string, r int) (int64, error) {
	var resp CounterResponse
	if err := c.do(ctx, "counter "+key, http.MethodGet, "/counter/"+url.PathEscape(key)+c.quorums(0, r), nil, &resp, false); err != nil {
		return 0, err
	}
	return resp.Value, nil
}

// SetAdd adds elem to the add-wins set at key.
func (c *Client) SetAdd(ctx context.Context, key, elem string, w int) error {
	if err := checkUTF8("add "+key, "element", elem); err != nil {
		return err
	}
	return c.do(ctx, "add "+key, http.MethodPost, "/set/"+url.PathEscape(key)+c.quorums(w, 0), SetAddRequest{Element: elem}, nil, false)
}

// SetRead reads the set at key, sorted (empty when absent).
func (c *Client) SetRead(ctx context.Context, key string, r int) ([]string, error) {
	var resp SetResponse
	if err := c.do(ctx, "read-set "+key, http.MethodGet, "/set/"+url.PathEscape(key)+c.quorums(0, r), nil, &resp, false); err != nil {
		return nil, err
	}
	sort.Strings(resp.Elements)
	return resp.Elements, nil
}

// Health returns nil when the node answers GET /health with status ok.
func (c *Client) Health(ctx context.Context) error {
	var resp HealthResponse
	if err := c.do(ctx, "health", http.MethodGet, "/health", nil, &resp, false); err != nil {
		return err
	}
	if resp.Status != "ok" {
		return &Error{Op: "health", Status: http.StatusOK, Message: "status " + resp.Status, Outcome: OutcomeFailed}
	}
	return nil
}

// Clock is a node's clock: real time + Offset + drift (DriftPPM parts per million of the real
// time elapsed since the drift was set). Now is the node's current time.
type Clock struct {
	Offset   time.Duration
	DriftPPM float64
	Now      time.Time
}

// Clock reads the node's clock (admin).
func (c *Client) Clock(ctx context.Context) (Clock, error) {
	var w ClockWire
	if err := c.do(ctx, "clock", http.MethodGet, "/admin/clock", nil, &w, true); err != nil {
		return Clock{}, err
	}
	return Clock{
		Offset:   time.Duration(w.OffsetMS * float64(time.Millisecond)),
		DriftPPM: w.DriftPPM,
		Now:      time.Unix(0, w.NowUnixNS),
	}, nil
}

// SetClock sets the node's clock offset and drift (admin).
func (c *Client) SetClock(ctx context.Context, offset time.Duration, driftPPM float64) error {
	body := ClockWire{OffsetMS: float64(offset) / float64(time.Millisecond), DriftPPM: driftPPM}
	return c.do(ctx, "set clock", http.MethodPut, "/admin/clock", body, nil, true)
}

// LinkFault is added delay and loss probability on every message exchanged with one peer.
type LinkFault struct {
	Delay time.Duration
	Loss  float64
}

// Faults is a node's transport fault filter: Drop lists peers whose messages (both directions)
// are silently lost; Links adds delay/loss per peer.
type Faults struct {
	Drop  []string
	Links map[string]LinkFault
}

// SetFaults replaces the node's whole fault filter (admin). Faults{} heals.
func (c *Client) SetFaults(ctx context.Context, f Faults) error {
	body := FaultsWire{Drop: f.Drop, Links: map[string]LinkWire{}}
	if body.Drop == nil {
		body.Drop = []string{}
	}
	for p, l := range f.Links {
		body.Links[p] = LinkWire{DelayMS: float64(l.Delay) / float64(time.Millisecond), Loss: l.Loss}
	}
	return c.do(ctx, "set faults", http.MethodPut, "/admin/faults", body, nil, true)
}

// DumpEntry is one key as a node stores it locally.
type DumpEntry struct {
	Kind     string   `json:"kind"`               // "register", "counter" or "set"
	Values   []string `json:"values,omitempty"`   // register siblings, sorted
	Counter  int64    `json:"counter,omitempty"`  // counter value
	Elements []string `json:"elements,omitempty"` // set elements, sorted
	Version  string   `json:"version"`            // opaque version; equal versions = equal state
}

// Dump is a node's local replica data, read without any quorum.
type Dump struct {
	Node string               `json:"node"`
	Keys map[string]DumpEntry `json:"keys"`
}

// Dump reads the node's local replica data (admin).
func (c *Client) Dump(ctx context.Context) (Dump, error) {
	var d Dump
	if err := c.do(ctx, "dump", http.MethodGet, "/admin/dump", nil, &d, true); err != nil {
		return Dump{}, err
	}
	if d.Keys == nil {
		d.Keys = map[string]DumpEntry{}
	}
	return d, nil
}

// Stats reads the node's counters (admin): one number per mechanism, see docs/API.md.
func (c *Client) Stats(ctx context.Context) (map[string]any, error) {
	var m map[string]any
	if err := c.do(ctx, "stats", http.MethodGet, "/admin/stats", nil, &m, true); err != nil {
		return nil, err
	}
	return m, nil
}

// checkUTF8 refuses a string that JSON cannot carry as sent: encoding/json would replace its
// invalid bytes with U+FFFD, and the store would then hold something other than what was asked.
// The request is never sent, so the outcome is failed.
func checkUTF8(op, what, s string) error {
	if utf8.ValidString(s) {
		return nil
	}
	off := 0
	for off < len(s) {
		r, size := utf8.DecodeRuneInString(s[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	return &Error{Op: op, Message: fmt.Sprintf("%s is not valid UTF-8 (first bad byte at offset %d); not sent", what, off), Outcome: OutcomeFailed}
}

// do sends one request and decodes a 2xx JSON answer into out (if non-nil).
func (c *Client) do(ctx context.Context, op, method, path string, in, out any, admin bool) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &Error{Op: op, Message: "encoding request: " + err.Error(), Outcome: OutcomeFailed, Err: err}
		}
		body = bytes.NewReader(b)
	}
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	})
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.addr+path, body)
	if err != nil {
		return &Error{Op: op, Message: "building request: " + err.Error(), Outcome: OutcomeFailed, Err: err}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		outcome := OutcomeIndeterminate
		if !wrote.Load() {
			outcome = OutcomeFailed // never sent: cannot have been applied
		}
		return &Error{Op: op, Message: err.Error(), Outcome: outcome, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &Error{Op: op, Status: resp.StatusCode, Message: "reading answer: " + err.Error(), Outcome: OutcomeIndeterminate, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error == "" {
			eb.Error = http.StatusText(resp.StatusCode) + ": " + string(bytes.TrimSpace(data))
		}
		outcome := eb.Outcome
		if outcome == "" {
			if resp.StatusCode/100 == 4 {
				outcome = OutcomeFailed // rejected before anything changed
			} else {
				outcome = OutcomeIndeterminate
			}
		}
		return &Error{Op: op, Status: resp.StatusCode, Message: eb.Error, Outcome: outcome}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &Error{Op: op, Status: resp.StatusCode, Message: "decoding answer: " + err.Error(), Outcome: OutcomeIndeterminate, Err: err}
		}
	}
	return nil
}
