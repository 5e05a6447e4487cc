package storeclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faultline/faultline/client"
	"github.com/faultline/faultline/workloads"
)

// fakeNode answers the store's HTTP API: the query string is echoed in the values so tests can
// see the quorum sent, and keys starting with "fail" or "indet" answer with that outcome.
func fakeNode(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasPrefix(key, "fail"):
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(client.ErrorBody{Error: "no quorum", Outcome: client.OutcomeFailed})
			return
		case strings.HasPrefix(key, "indet"):
			w.WriteHeader(http.StatusGatewayTimeout)
			_ = json.NewEncoder(w).Encode(client.ErrorBody{Error: "timeout", Outcome: client.OutcomeIndeterminate})
			return
		}
		var out any = client.OKResponse{OK: true}
		if r.Method == http.MethodGet {
			switch {
			case strings.HasPrefix(r.URL.Path, "/kv/"):
				out = client.GetResponse{Key: key, Values: []string{r.URL.RawQuery}, Context: "c1"}
			case strings.HasPrefix(r.URL.Path, "/counter/"):
				out = client.CounterResponse{Key: key, Value: 7}
			case strings.HasPrefix(r.URL.Path, "/set/"):
				out = client.SetResponse{Key: key, Elements: []string{"2", "1"}}
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAdapter(t *testing.T) {
	srv := fakeNode(t)
	c := New(client.New(strings.TrimPrefix(srv.URL, "http://")), 2, 3)
	ctx := context.Background()

	vals, causal, err := c.Get(ctx, "k1")
	// Both quorums ride on every request (abd needs W for a read's write-back).
	if err != nil || len(vals) != 1 || vals[0] != "w=2&r=3" || causal != "c1" {
		t.Fatalf("Get: got %v %q %v, want [w=2&r=3] \"c1\" nil", vals, causal, err)
	}
	if n, err := c.Counter(ctx, "k1"); n != 7 || err != nil {
		t.Fatalf("Counter: got %d %v, want 7 nil", n, err)
	}
	if elems, err := c.SetRead(ctx, "k1"); strings.Join(elems, ",") != "1,2" || err != nil {
		t.Fatalf("SetRead: got %v %v, want [1 2] nil", elems, err)
	}

	tests := []struct {
		name       string
		key        string
		wantFailed bool
	}{
		{"failed", "fail1", true},
		{"indeterminate", "indet1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := map[string]error{
				"put":    c.Put(ctx, tt.key, "1", ""),
				"incr":   c.Incr(ctx, tt.key, 1),
				"setadd": c.SetAdd(ctx, tt.key, "1"),
			}
			_, _, calls["get"] = c.Get(ctx, tt.key)
			_, calls["counter"] = c.Counter(ctx, tt.key)
			_, calls["setread"] = c.SetRead(ctx, tt.key)
			for name, err := range calls {
				if err == nil {
					t.Fatalf("%s: got nil error, want one", name)
				}
				if got := errors.Is(err, workloads.ErrFailed); got != tt.wantFailed {
					t.Errorf("%s: errors.Is(err, workloads.ErrFailed) = %v, want %v (%v)", name, got, tt.wantFailed, err)
				}
				if !strings.HasPrefix(err.Error(), "client: ") {
					t.Errorf("%s: got error text %q, want the store client's", name, err)
				}
			}
		})
	}
}
