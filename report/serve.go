package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ServeConfig configures the results browser NewHandler returns.
type ServeConfig struct {
	Root string      // the results folder: results/<workload>-<nemesis>/<timestamp>/
	HTML HTMLOptions // for reports rendered on the fly (run folders without report.html)
	// OnError hears of requests that failed on the server's side (an unreadable folder, a
	// report that would not render); nil ignores them. Client mistakes (bad paths) are not
	// reported.
	OnError func(r *http.Request, err error)
	_       struct{}
}

// DefaultServeConfig returns the defaults: the results folder "results".
func DefaultServeConfig() ServeConfig {
	return ServeConfig{
		Root: "results",            // where faultline run saves runs by default
		HTML: DefaultHTMLOptions(), // the same sizes as the reports runs write
	}
}

// Validate reports the first problem with c; it does not change c.
func (c ServeConfig) Validate() error {
	if c.Root == "" {
		return errors.New("report: serve: Root must name the results folder")
	}
	return c.HTML.Validate()
}

// RunsPrefix is the URL path under which the results folder's files are served.
const RunsPrefix = "/runs/"

// RunInfo describes a saved run for listings.
type RunInfo struct {
	Path      string    // the run folder relative to the results root, slash-separated
	Name      string    // <workload>-<nemesis> (the parent folder's name)
	Started   time.Time // from the folder name, else the folder's modification time
	Verdict   string    // valid, invalid, unknown, or none (not checked)
	Summary   string    // the configuration in one line
	Ops       int       // client operations, from results.json (0 if unknown)
	HasReport bool      // report.html exists
	Latest    bool      // results/latest points here
}

// ListRuns finds the run folders under root (folders holding config.json or history.jsonl, at
// most four levels down, symlinks not followed), newest first.
func ListRuns(root string) ([]RunInfo, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("report: list runs: %w", err)
	}
	defer r.Close()
	return listRuns(r.FS())
}

func listRuns(fsys fs.FS) ([]RunInfo, error) {
	var runs []RunInfo
	latest := ""
	if rl, ok := fsys.(fs.ReadLinkFS); ok {
		if target, err := rl.ReadLink(LatestLink); err == nil && !path.IsAbs(target) {
			latest = path.Clean(filepath.ToSlash(target))
		}
	}
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // an unreadable folder is left out
		}
		if !e.IsDir() {
			return nil
		}
		if p != "." && strings.HasPrefix(e.Name(), ".") {
			return fs.SkipDir
		}
		if strings.Count(p, "/") > 3 {
			return fs.SkipDir
		}
		if !isRunDir(fsys, p) {
			return nil
		}
		runs = append(runs, runInfo(fsys, p, e, p == latest))
		return fs.SkipDir
	})
	if err != nil {
		return nil, fmt.Errorf("report: list runs: %w", err)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		if !runs[i].Started.Equal(runs[j].Started) {
			return runs[i].Started.After(runs[j].Started)
		}
		return runs[i].Path > runs[j].Path
	})
	return runs, nil
}

func isRunDir(fsys fs.FS, p string) bool {
	if p == "." {
		return false
	}
	for _, f := range []string{ConfigFile, HistoryFile} {
		if st, err := fs.Stat(fsys, path.Join(p, f)); err == nil && st.Mode().IsRegular() {
			return true
		}
	}
	return false
}

func runInfo(fsys fs.FS, p string, e fs.DirEntry, latest bool) RunInfo {
	ri := RunInfo{Path: p, Name: path.Base(path.Dir(p)), Verdict: "none", Latest: latest}
	if path.Dir(p) == "." {
		ri.Name = path.Base(p)
	}
	if t, ok := runStart(path.Base(p)); ok {
		ri.Started = t
	} else if info, err := e.Info(); err == nil {
		ri.Started = info.ModTime().UTC()
	}
	var res struct {
		Valid  json.RawMessage `json:"valid"`
		Counts struct {
			Operations int `json:"operations"`
		} `json:"counts"`
	}
	if readJSONFS(fsys, path.Join(p, ResultsFile), &res) == nil {
		ri.Verdict = verdictOf(res.Valid)
		ri.Ops = res.Counts.Operations
	}
	if b, err := fs.ReadFile(fsys, path.Join(p, ConfigFile)); err == nil {
		ri.Summary = configSummary(b)
	}
	if st, err := fs.Stat(fsys, path.Join(p, HTMLFile)); err == nil && st.Mode().IsRegular() {
		ri.HasReport = true
	}
	return ri
}

// configSummary puts a run's config.json on one line:
// "register · leaderless lww N3 W2 R2 · 5 nodes · partition · 30s · seed 42 · local".
func configSummary(b []byte) string {
	var c struct {
		Runtime       string            `json:"runtime"`
		Target        string            `json:"target"`
		TargetOptions map[string]string `json:"target_options"`
		Nodes         int               `json:"nodes"`
		Store         struct {
			Mode        string `json:"mode"`
			Consistency string `json:"consistency"`
			N, W, R     int
		} `json:"store"`
		Workload    string   `json:"workload"`
		Nemesis     []string `json:"nemesis"`
		Concurrency int      `json:"concurrency"`
		Time        string   `json:"time"`
		Seed        int64    `json:"seed"`
	}
	if json.Unmarshal(b, &c) != nil {
		return "(config.json does not parse)"
	}
	var parts []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	add(c.Workload)
	st := strings.TrimSpace(c.Store.Mode + " " + c.Store.Consistency)
	if c.Store.N > 0 {
		st += fmt.Sprintf(" N%d W%d R%d", c.Store.N, c.Store.W, c.Store.R)
	}
	if c.Target != "" && c.Target != "faultline" {
		// another target: the reference store's settings do not apply
		st = c.Target
		keys := make([]string, 0, len(c.TargetOptions))
		for k := range c.TargetOptions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			st += " " + k + "=" + c.TargetOptions[k]
		}
	}
	add(st)
	if c.Nodes > 0 {
		add(fmt.Sprintf("%d nodes", c.Nodes))
	}
	if len(c.Nemesis) > 0 {
		add("nemesis " + strings.Join(c.Nemesis, ","))
	}
	add(c.Time)
	if c.Seed != 0 {
		add(fmt.Sprintf("seed %d", c.Seed))
	}
	add(c.Runtime)
	return strings.Join(parts, " · ")
}

// NewHandler returns the read-only results browser: an index of the runs at "/", and the
// results folder's files under RunsPrefix, with a listing for folders and report.html rendered
// on the fly for runs that have none. No request reaches outside Root: paths with "." or ".."
// elements or empty elements are refused (400), symlinks leading outside are refused (403).
// Only GET and HEAD are served.
func NewHandler(cfg ServeConfig) (http.Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("report: serve %s: %w", cfg.Root, err)
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("report: serve: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("report: serve: %s is not a folder", cfg.Root)
	}
	return &server{root: root, cfg: cfg}, nil
}

type server struct {
	root string
	cfg  ServeConfig
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if s.cfg.OnError != nil {
		s.cfg.OnError(r, err)
	}
	http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "read-only: GET and HEAD only", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/":
		s.index(w, r)
	case p == strings.TrimSuffix(RunsPrefix, "/"):
		http.Redirect(w, r, RunsPrefix, http.StatusMovedPermanently)
	case strings.HasPrefix(p, RunsPrefix):
		s.file(w, r, strings.TrimPrefix(p, RunsPrefix))
	default:
		http.NotFound(w, r)
	}
}

// cleanRel checks a request path below RunsPrefix: slash-separated elements, none empty, "."
// or "..", no backslashes or NULs. dir reports a trailing slash.
func cleanRel(rel string) (clean string, dir bool, ok bool) {
	if rel == "" {
		return ".", true, true
	}
	dir = strings.HasSuffix(rel, "/")
	rel = strings.TrimSuffix(rel, "/")
	for _, el := range strings.Split(rel, "/") {
		if el == "" || el == "." || el == ".." || strings.ContainsAny(el, "\\\x00") {
			return "", false, false
		}
	}
	return rel, dir, true
}

func (s *server) file(w http.ResponseWriter, r *http.Request, rel string) {
	rel, wantDir, ok := cleanRel(rel)
	if !ok {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	for _, el := range strings.Split(rel, "/") {
		if strings.HasPrefix(el, ".") && el != "." {
			http.NotFound(w, r) // hidden: temporary files
			return
		}
	}
	root, err := os.OpenRoot(s.root)
	if err != nil {
		s.fail(w, r, fmt.Errorf("report: serve: %w", err))
		return
	}
	defer root.Close()
	fsys := root.FS()
	f, err := root.Open(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if path.Base(rel) == HTMLFile && isRunDir(fsys, path.Dir(rel)) {
				s.renderReport(w, r, fsys, path.Dir(rel))
				return
			}
			http.NotFound(w, r)
			return
		}
		// os.Root refuses symlinks (and paths) that lead outside the results folder
		http.Error(w, "forbidden: outside the results folder", http.StatusForbidden)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st.IsDir() {
		if !wantDir && rel != "." {
			http.Redirect(w, r, RunsPrefix+rel+"/", http.StatusMovedPermanently)
			return
		}
		s.listing(w, r, fsys, rel)
		return
	}
	if wantDir {
		http.NotFound(w, r)
		return
	}
	if !st.Mode().IsRegular() {
		http.Error(w, "forbidden: not a regular file", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", contentType(rel))
	http.ServeContent(w, r, path.Base(rel), st.ModTime(), f)
}

// contentType picks the served type by extension; text formats show as text in a browser.
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html", ".htm":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".jsonl", ".ndjson", ".log", ".txt", ".edn", ".md", ".csv", ".yaml", ".yml":
		return "text/plain; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".xml":
		return "application/xml"
	}
	return "application/octet-stream"
}

func (s *server) renderReport(w http.ResponseWriter, r *http.Request, fsys fs.FS, rel string) {
	sub, err := fs.Sub(fsys, rel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := path.Base(path.Dir(rel))
	if path.Dir(rel) == "." {
		name = path.Base(rel)
	}
	base := path.Base(rel)
	if rel == LatestLink {
		// name the run latest points at
		if rl, ok := fsys.(fs.ReadLinkFS); ok {
			if t, err := rl.ReadLink(rel); err == nil {
				t = filepath.ToSlash(t)
				name, base = path.Base(path.Dir(t)), path.Base(t)
			}
		}
	}
	var buf bytes.Buffer
	if err := render(&buf, loadRun(sub, name, base), s.cfg.HTML); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, HTMLFile, time.Time{}, bytes.NewReader(buf.Bytes()))
}

type listEntry struct {
	Name, Href, Size string
	Dir              bool
}

func (s *server) listing(w http.ResponseWriter, r *http.Request, fsys fs.FS, rel string) {
	ents, err := fs.ReadDir(fsys, rel)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := struct {
		Path, Up  string
		Run       bool
		HasReport bool
		Entries   []listEntry
	}{Path: rel, Up: "../", Run: isRunDir(fsys, rel)}
	if rel == "." {
		data.Path, data.Up = "", "/"
	}
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		le := listEntry{Name: n, Href: n}
		if info, err := fs.Stat(fsys, path.Join(rel, n)); err == nil { // follows symlinks, inside only
			if info.IsDir() {
				le.Dir, le.Href, le.Name = true, n+"/", n+"/"
			} else {
				le.Size = humanSize(info.Size())
			}
		} else {
			continue // a symlink leading outside or nowhere
		}
		if n == HTMLFile {
			data.HasReport = true
		}
		data.Entries = append(data.Entries, le)
	}
	var buf bytes.Buffer
	if err := listingTemplate.Execute(&buf, data); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	root, err := os.OpenRoot(s.root)
	if err != nil {
		s.fail(w, r, fmt.Errorf("report: serve: %w", err))
		return
	}
	defer root.Close()
	runs, err := listRuns(root.FS())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := indexTemplate.Execute(&buf, struct {
		Root string
		Runs []RunInfo
	}{filepath.Base(s.root), runs}); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// indexTemplate lists the runs.
var indexTemplate = template.Must(template.New("index").Funcs(template.FuncMap{
	"verdictClass": verdictClass,
	"when":         func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"runs":         func(p string) string { return RunsPrefix + p + "/" },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>faultline runs</title>
<style>` + pageCSS + `</style></head>
<body><main>
<h1>faultline runs</h1>
<div class="sub">{{len .Runs}} runs in {{.Root}}/, newest first · <a href="/runs/">browse files</a></div>
{{if .Runs}}<table id="runs">
<tr><th>run</th><th>started (UTC)</th><th>configuration</th><th>verdict</th><th>ops</th><th></th></tr>
{{range .Runs}}<tr class="run" data-path="{{.Path}}"><td><a href="{{runs .Path}}report.html">{{.Name}}</a>{{if .Latest}} <i>(latest)</i>{{end}}</td>
<td>{{when .Started}}</td><td>{{.Summary}}</td><td><span class="badge {{verdictClass .Verdict}}">{{.Verdict}}</span></td>
<td class="num">{{if .Ops}}{{.Ops}}{{end}}</td>
<td><a href="{{runs .Path}}report.html">report</a>{{if not .HasReport}} <i>(rendered now)</i>{{end}} · <a href="{{runs .Path}}">files</a></td></tr>
{{end}}</table>{{else}}<p>No runs yet: <code>faultline run</code> saves them here.</p>{{end}}
</main></body></html>
`))

// listingTemplate lists a folder.
var listingTemplate = template.Must(template.New("listing").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>faultline /{{.Path}}</title>
<style>` + pageCSS + `</style></head>
<body><main>
<h1>/{{.Path}}</h1>
<div class="sub"><a href="/">all runs</a> · <a href="{{.Up}}">up</a></div>
{{if .Run}}<p><a id="report" href="report.html">report</a>{{if not .HasReport}} (rendered now: this run has no report.html){{end}}</p>{{end}}
<table>{{range .Entries}}<tr><td><a href="{{.Href}}">{{.Name}}</a></td><td class="num">{{.Size}}</td></tr>{{end}}</table>
</main></body></html>
`))
