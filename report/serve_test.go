package report

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const secret = "TOP-SECRET-OUTSIDE-THE-RESULTS-FOLDER"

// serveFixture is a results folder with the testdata runs, results/latest, and symlinks that
// lead outside it; errs collects what the handler reported through OnError.
type serveFixture struct {
	root string
	h    http.Handler
	errs []error
}

func newServeFixture(t *testing.T) *serveFixture {
	t.Helper()
	root := copyResults(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		LatestLink: filepath.FromSlash(runInvalid), // inside: allowed
		filepath.Join(filepath.FromSlash(runInvalid), "evil.txt"): filepath.Join(outside, "secret.txt"),
		"outside":  outside,
		"relative": filepath.Join("..", filepath.Base(outside)), // a relative way out
		filepath.Join(filepath.FromSlash(runValid), "up.txt"): filepath.Join("..", "..", "..", filepath.Base(outside), "secret.txt"),
	}
	for link, target := range links {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	f := &serveFixture{root: root}
	cfg := DefaultServeConfig()
	cfg.Root = root
	cfg.OnError = func(r *http.Request, err error) { f.errs = append(f.errs, err) }
	h, err := NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func (f *serveFixture) get(t *testing.T, method, target string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, "http://faultline.test/", nil)
	req.URL.Path = target // as sent: not cleaned
	req.RequestURI = target
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return html.UnescapeString(string(b)) // html/template writes "+" as "&#43;"
}

func TestServeIndex(t *testing.T) {
	f := newServeFixture(t)
	r := f.get(t, http.MethodGet, "/")
	page := body(t, r)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /: got %d, want 200", r.StatusCode)
	}
	if got := r.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("content type: got %q, want text/html; charset=utf-8", got)
	}
	rows := regexp.MustCompile(`<tr class="run" data-path="([^"]+)">.*?<span class="badge v-[a-z]+">([a-z]+)</span>`).FindAllStringSubmatch(strings.ReplaceAll(page, "\n", " "), -1)
	var got []string
	for _, m := range rows {
		got = append(got, m[1]+" "+m[2])
	}
	// newest first; latest is a symlink and not listed twice
	want := []string{runInvalid + " invalid", runValid + " valid", runInterrupted + " none"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("runs listed:\ngot  %q\nwant %q", got, want)
	}
	for _, s := range []string{
		"(latest)",
		"register · leaderless lww N3 W2 R2 · 3 nodes · nemesis partition,kill,clock · 3s · seed 42 · local",
		`<a href="/runs/` + runInvalid + `/report.html">report</a> <i>(rendered now)</i>`,
		`<a href="/runs/` + runValid + `/report.html">report</a> ·`, // has its own report.html
		"2026-11-25 10:00:00",
	} {
		if !strings.Contains(page, s) {
			t.Errorf("index lacks %q", s)
		}
	}
	if len(f.errs) > 0 {
		t.Errorf("server errors: %v", f.errs)
	}
}

func TestListRuns(t *testing.T) {
	f := newServeFixture(t)
	runs, err := ListRuns(f.root)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 {
		t.Fatalf("got %d runs, want 3: %+v", len(runs), runs)
	}
	r := runs[0]
	if r.Path != runInvalid || r.Name != "register-partition+kill+clock" || r.Verdict != "invalid" || r.Ops != 8 || !r.Latest || r.HasReport {
		t.Errorf("newest run: got %+v, want %s, invalid, 8 ops, latest, no report.html", r, runInvalid)
	}
	if !runs[1].HasReport || runs[1].Latest {
		t.Errorf("second run: got %+v, want a report.html and not latest", runs[1])
	}
	if _, err := ListRuns(filepath.Join(f.root, "missing")); err == nil {
		t.Error("ListRuns of a missing folder: got nil error, want one")
	}
}

func TestServeFiles(t *testing.T) {
	f := newServeFixture(t)
	inv := "/runs/" + runInvalid + "/"
	tests := []struct {
		name, method, path string
		status             int
		ctype              string // prefix
		contains           string
	}{
		{"rendered report", "GET", inv + "report.html", 200, "text/html", `id="verdict">invalid<`},
		{"saved report", "GET", "/runs/" + runValid + "/report.html", 200, "text/html", `id="old-report"`},
		{"interrupted run report", "GET", "/runs/" + runInterrupted + "/report.html", 200, "text/html", "results.json is missing"},
		{"report through latest", "GET", "/runs/latest/report.html", 200, "text/html", "register-partition+kill+clock"},
		{"history", "GET", inv + "history.jsonl", 200, "text/plain", `"f":"start-partition"`},
		{"results", "GET", inv + "results.json", 200, "application/json", `"valid": false`},
		{"visualization", "GET", inv + "linearizability.html", 200, "text/html", "porcupine"},
		{"node log", "GET", inv + "nodes/n1.log", 200, "text/plain", "n1 started"},
		{"run listing", "GET", inv, 200, "text/html", `href="report.html"`},
		{"latest listing", "GET", "/runs/latest/", 200, "text/html", `href="history.jsonl"`},
		{"root listing", "GET", "/runs/", 200, "text/html", `href="set-none/"`},
		{"head", "HEAD", inv + "config.json", 200, "application/json", ""},
		{"folder without slash", "GET", "/runs/latest", 301, "", ""},
		{"no report outside run folders", "GET", "/runs/set-none/report.html", 404, "", ""},
		{"missing", "GET", inv + "nope.json", 404, "", ""},
		{"hidden", "GET", "/runs/.tmp-x", 404, "", ""},
		{"unknown page", "GET", "/etc/passwd", 404, "", ""},
		{"file as folder", "GET", inv + "config.json/", 404, "", ""},
		// escapes
		{"dotdot", "GET", "/runs/../../etc/passwd", 400, "", ""},
		{"dotdot inside", "GET", inv + "../../../x", 400, "", ""},
		{"dot", "GET", "/runs/./latest/config.json", 400, "", ""},
		{"absolute", "GET", "/runs//etc/passwd", 400, "", ""},
		{"backslash", "GET", `/runs/latest/..\..\x`, 400, "", ""},
		{"symlinked file outside", "GET", inv + "evil.txt", 403, "", ""},
		{"relative symlink outside", "GET", "/runs/" + runValid + "/up.txt", 403, "", ""},
		{"symlinked folder outside", "GET", "/runs/outside/secret.txt", 403, "", ""},
		{"symlinked folder outside, listing", "GET", "/runs/outside/", 403, "", ""},
		{"relative folder link outside", "GET", "/runs/relative/secret.txt", 403, "", ""},
		// read-only
		{"post", "POST", "/", 405, "", ""},
		{"put", "PUT", inv + "results.json", 405, "", ""},
		{"delete", "DELETE", inv + "results.json", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.get(t, tc.method, tc.path)
			b := body(t, r)
			if r.StatusCode != tc.status {
				t.Fatalf("%s %s: got status %d, want %d (%s)", tc.method, tc.path, r.StatusCode, tc.status, strings.TrimSpace(b))
			}
			if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.ctype) {
				t.Errorf("content type: got %q, want %s...", got, tc.ctype)
			}
			if tc.contains != "" && !strings.Contains(b, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			if strings.Contains(b, secret) {
				t.Errorf("body shows the file outside the results folder")
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
			}
		})
	}
	// listings leave out what leads outside
	page := body(t, f.get(t, "GET", inv))
	if strings.Contains(page, "evil.txt") {
		t.Error("run listing shows evil.txt, a symlink leading outside")
	}
	if len(f.errs) > 0 {
		t.Errorf("server errors: %v", f.errs)
	}
	// serving never writes: the rendered report was not saved
	if _, err := os.Stat(filepath.Join(f.root, filepath.FromSlash(runInvalid), HTMLFile)); err == nil {
		t.Error("serve wrote report.html into the run folder; it must be read-only")
	}
}

func TestServeConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*ServeConfig)
		want string // error substring, "" = valid
	}{
		{"default", func(*ServeConfig) {}, ""},
		{"no root", func(c *ServeConfig) { c.Root = "" }, "Root"},
		{"bad html", func(c *ServeConfig) { c.HTML.MaxRows = 0 }, "MaxRows (0)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultServeConfig()
			tc.mod(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
	if _, err := NewHandler(ServeConfig{Root: filepath.Join(t.TempDir(), "missing"), HTML: DefaultHTMLOptions()}); err == nil {
		t.Error("NewHandler on a missing folder: got nil error, want one")
	}
}
