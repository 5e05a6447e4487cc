package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/faultline/faultline/client"
)

// HeaderFrom names the sending node on every inter-node request, so the fault filter can act.
const HeaderFrom = "X-Faultline-From"

// replicaError is a peer call that failed; refused is true when the peer definitely did not
// apply the request (connection refused, or an error answer from the peer).
type replicaError struct {
	peer    string
	status  int    // HTTP status of an error answer, 0 otherwise
	outcome string // the error answer's outcome, if any
	msg     string // the error answer's message
	refused bool
	err     error
}

func (e *replicaError) Error() string { return fmt.Sprintf("store: calling %s: %v", e.peer, e.err) }
func (e *replicaError) Unwrap() error { return e.err }

func isRefused(err error) bool {
	var re *replicaError
	return errors.As(err, &re) && re.refused
}

var errLost = errors.New("message lost by the fault filter")

// transport sends internal requests to peers through the fault filter.
type transport struct {
	self   string
	secret string // the cluster secret, sent on every request ("" = none)
	peers  map[string]string
	hc     *http.Client
	faults *Faults
	stats  *Stats
}

func newTransport(cfg Config, faults *Faults, stats *Stats) *transport {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     60 * time.Second,
	}
	hc := &http.Client{
		Transport: tr,
		// A peer never redirects; following one would carry the secret somewhere else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &transport{self: cfg.ID, secret: cfg.ClusterSecret, peers: cfg.Peers, hc: hc, faults: faults, stats: stats}
}

func (t *transport) close() { t.hc.CloseIdleConnections() }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// filter applies the fault filter to one message to or from peer: a lost message waits for ctx
// to end (the sender sees a timeout, not a quick error).
func (t *transport) filter(ctx context.Context, peer, dir string) error {
	dropped, lost, delay := t.faults.verdict(peer, dir == "out")
	switch {
	case dropped:
		t.stats.Inc("fault_drop_" + dir)
		<-ctx.Done()
		return errLost
	case lost:
		t.stats.Inc("fault_loss")
		<-ctx.Done()
		return errLost
	case delay > 0:
		t.stats.Inc("fault_delay")
		return sleepCtx(ctx, delay)
	}
	return nil
}

// call POSTs in as JSON to peer's path and decodes the answer into out.
func (t *transport) call(ctx context.Context, peer, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return &replicaError{peer: peer, refused: true, err: err}
	}
	return t.callBody(ctx, peer, path, b, out)
}

// callBody POSTs the JSON body b to peer's path and decodes the answer into out (when not nil).
func (t *transport) callBody(ctx context.Context, peer, path string, b []byte, out any) error {
	addr, ok := t.peers[peer]
	if !ok {
		return &replicaError{peer: peer, refused: true, err: fmt.Errorf("unknown peer")}
	}
	if err := t.filter(ctx, peer, "out"); err != nil {
		return &replicaError{peer: peer, err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return &replicaError{peer: peer, refused: true, err: err}
	}
	req.Header.Set(HeaderFrom, t.self)
	if t.secret != "" {
		req.Header.Set(HeaderSecret, t.secret)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.hc.Do(req)
	if err != nil {
		var op *net.OpError
		refused := errors.As(err, &op) && op.Op == "dial"
		return &replicaError{peer: peer, refused: refused, err: err}
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return &replicaError{peer: peer, err: err}
	}
	// The response is a message from peer too.
	if err := t.filter(ctx, peer, "in"); err != nil {
		return &replicaError{peer: peer, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		var eb client.ErrorBody
		_ = json.Unmarshal(data, &eb)
		// Replicas answer errors before applying anything.
		return &replicaError{peer: peer, status: resp.StatusCode, outcome: eb.Outcome, msg: eb.Error, refused: true,
			err: fmt.Errorf("HTTP %d: %s", resp.StatusCode, eb.Error)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &replicaError{peer: peer, err: fmt.Errorf("decoding answer: %w", err)}
		}
	}
	return nil
}
