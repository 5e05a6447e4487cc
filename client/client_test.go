package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestErrorOutcomes(t *testing.T) {
	tests := []struct {
		name                string
		status              int
		body                string
		wantFailed, wantInd bool
	}{
		{"ok", 200, `{"ok":true}`, false, false},
		{"bad request", 400, `{"error":"w 7 out of range 1..3"}`, true, false},
		{"coordinator failed", 503, `{"error":"no replica reachable","outcome":"failed"}`, true, false},
		{"coordinator timeout", 504, `{"error":"1 of 2 acks","outcome":"indeterminate"}`, false, true},
		{"bare 500", 500, `oops`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := New(srv.Listener.Addr().String())
			err := c.Put(context.Background(), "k", "v", 0, "")
			if got := errors.Is(err, ErrFailed); got != tt.wantFailed {
				t.Errorf("errors.Is(%v, ErrFailed): got %v, want %v", err, got, tt.wantFailed)
			}
			if got := errors.Is(err, ErrIndeterminate); got != tt.wantInd {
				t.Errorf("errors.Is(%v, ErrIndeterminate): got %v, want %v", err, got, tt.wantInd)
			}
			var ce *Error
			if err != nil && (!errors.As(err, &ce) || ce.Status != tt.status) {
				t.Errorf("got %#v, want *Error with status %d", err, tt.status)
			}
		})
	}
}

func TestTransportOutcomes(t *testing.T) {
	// A refused connection was never sent: failed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = New(addr).Put(context.Background(), "k", "v", 0, "")
	if !errors.Is(err, ErrFailed) {
		t.Errorf("refused: got %v, want ErrFailed", err)
	}

	// A server that reads the request and never answers: our deadline passing after sending is
	// indeterminate. The deadline passes once the server holds the request (a fixed 100 ms could
	// pass before a loaded machine sent it, and that is a failed op, rightly).
	block := make(chan struct{})
	received := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(received) })
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	ctx := newExpiring()
	go func() {
		select {
		case <-received:
			ctx.expire()
		case <-block:
		}
	}()
	err = New(srv.Listener.Addr().String(), WithTimeout(time.Minute)).Put(ctx, "k", "v", 0, "")
	if !errors.Is(err, ErrIndeterminate) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline passed after send: got %v, want ErrIndeterminate from context.DeadlineExceeded", err)
	}
}

// TestInvalidUTF8NotSent: JSON would turn invalid bytes into U+FFFD, so the store would hold
// something other than what was asked. The client refuses such a value before sending anything.
func TestInvalidUTF8NotSent(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
	}))
	defer srv.Close()
	c := New(srv.Listener.Addr().String())
	for name, err := range map[string]error{
		"put":     c.Put(context.Background(), "k", "ok\xff\xfe", 0, ""),
		"set add": c.SetAdd(context.Background(), "k", "\xff", 0),
	} {
		if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("%s: got %v, want a failed error naming invalid UTF-8", name, err)
		}
	}
	if err := c.Put(context.Background(), "k", "snow \u2603 \ufffd", 0, ""); err != nil {
		t.Errorf("valid UTF-8 (a literal U+FFFD included): %v", err)
	}
	if n := got.Load(); n != 1 {
		t.Errorf("the server saw %d requests, want 1 (only the valid put)", n)
	}
}

// expiring is a context whose deadline passes when the test calls expire.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (e *expiring) Done() <-chan struct{} { return e.done }

func (e *expiring) Err() error {
	select {
	case <-e.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (e *expiring) expire() { e.once.Do(func() { close(e.done) }) }
