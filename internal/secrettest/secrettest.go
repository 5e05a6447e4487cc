// Package secrettest checks, for tests of every way nodes are started (processes, the local
// runtime, the Docker runtime), that a node's internal API refuses a request that lacks the
// cluster secret or carries a wrong one, and accepts the right one.
package secrettest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// RequireSecret sends /internal/ping to addr as peer "n1" with no secret, a wrong one and the
// right one, and fails t unless the answers are 401, 401 and 200.
func RequireSecret(ctx context.Context, t testing.TB, addr, secret string) {
	t.Helper()
	for _, tc := range []struct {
		name, secret string
		status       int
	}{
		{"no secret", "", http.StatusUnauthorized},
		{"a wrong secret", "not-the-cluster-secret", http.StatusUnauthorized},
		{"the secret", secret, http.StatusOK},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/internal/ping", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Faultline-From", "n1")
		if tc.secret != "" {
			req.Header.Set("X-Faultline-Secret", tc.secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("internal ping with %s: %v", tc.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("internal ping with %s: got %d %s, want %d", tc.name, resp.StatusCode, b, tc.status)
		}
	}
}
