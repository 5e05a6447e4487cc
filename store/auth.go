package store

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"os"
	"time"
)

// HeaderSecret carries the cluster secret (Config.ClusterSecret) on every inter-node request.
const HeaderSecret = "X-Faultline-Secret"

// requireSecret lets through only internal requests that carry the cluster secret; others get
// a 401 that names the problem (never the secret) before their body is read, so they change
// nothing and cost nothing. With InsecureInternal every request passes.
func (n *Node) requireSecret(next http.Handler) http.Handler {
	if n.cfg.InsecureInternal {
		return next
	}
	// Both sides are hashed before the constant-time compare, so that not even the secret's
	// length leaks through timing.
	want := sha256.Sum256([]byte(n.cfg.ClusterSecret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Values(HeaderSecret)
		var msg string
		switch {
		case n.cfg.ClusterSecret == "":
			msg = "the internal API is closed: this node has no cluster secret (" + HeaderSecret + " cannot match)"
		case len(got) == 0:
			msg = "missing " + HeaderSecret + " header: internal requests carry the cluster secret"
		case len(got) > 1:
			msg = HeaderSecret + " given more than once"
		default:
			h := sha256.Sum256([]byte(got[0]))
			if subtle.ConstantTimeCompare(h[:], want[:]) == 1 {
				next.ServeHTTP(w, r)
				return
			}
			msg = "wrong cluster secret in " + HeaderSecret
		}
		n.stats.Inc("internal_unauthorized")
		writeError(w, http.StatusUnauthorized, "", msg)
	})
}

// withBodyDeadline bounds the time to read r's body by Config.BodyReadTimeout. The deadline
// is cleared once the body is read to its end: net/http keeps reading the connection in the
// background while the handler runs, and a deadline passing then would cancel the request's
// context (http.Server.ReadTimeout does exactly that, which is why it is not used).
func (n *Node) withBodyDeadline(w http.ResponseWriter, r *http.Request) *http.Request {
	if r.Body == nil || r.Body == http.NoBody {
		return r
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(n.cfg.BodyReadTimeout)); err != nil {
		return r // not a connection (a test's recorder): nothing to bound
	}
	r2 := r.WithContext(r.Context())
	r2.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	return r2
}

type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// isReadTimeout reports whether err is a body read cut by withBodyDeadline.
func isReadTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
