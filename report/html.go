package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// More file names inside a run folder.
const (
	HTMLFile            = "report.html"          // the run report WriteHTML writes
	LinearizabilityFile = "linearizability.html" // the linearizability checker's visualization
)

// HTMLOptions bound the size of a report. The defaults keep a 100k-op run's report at a few
// hundred kilobytes.
type HTMLOptions struct {
	// MaxBars is how many operations the timeline draws one by one (each with a tooltip). A
	// history with more operations is drawn per pixel column instead: each column of a process
	// row takes the colour of the worst outcome in it (info over fail over ok).
	MaxBars int
	// Buckets is the number of time buckets of the latency and throughput charts.
	Buckets int
	// MaxRows is the number of timeline rows. With more client processes than that (crashed
	// clients are replaced by new process ids) rows are process mod the run's concurrency.
	MaxRows int
	// MaxListed caps the explanation lines per checker and the nemesis rows listed as text.
	MaxListed int
	_         struct{}
}

// DefaultHTMLOptions returns the sizes WriteHTML uses.
func DefaultHTMLOptions() HTMLOptions {
	return HTMLOptions{
		MaxBars:   2500, // individual bars with tooltips up to this many operations
		Buckets:   150,  // chart resolution: one bucket is (run time)/150
		MaxRows:   64,   // beyond this many processes, fold rows by process mod concurrency
		MaxListed: 200,  // text rows per list
	}
}

// Validate reports the first problem with o; it does not change o.
func (o HTMLOptions) Validate() error {
	switch {
	case o.MaxBars < 0:
		return fmt.Errorf("report: MaxBars (%d) must be >= 0", o.MaxBars)
	case o.Buckets < 1 || o.Buckets > 2000:
		return fmt.Errorf("report: Buckets (%d) must be in [1, 2000]", o.Buckets)
	case o.MaxRows < 1:
		return fmt.Errorf("report: MaxRows (%d) must be >= 1", o.MaxRows)
	case o.MaxListed < 1:
		return fmt.Errorf("report: MaxListed (%d) must be >= 1", o.MaxListed)
	}
	return nil
}

// WriteHTML writes report.html into the run folder dir, with the default options. It reads
// history.jsonl, results.json, config.json, nemesis.json and stats.json; any of them may be
// missing (an interrupted or old run) and the report says so.
func WriteHTML(dir string) error { return WriteHTMLOptions(dir, DefaultHTMLOptions()) }

// WriteHTMLOptions is WriteHTML with explicit options.
func WriteHTMLOptions(dir string, opt HTMLOptions) error {
	var buf bytes.Buffer
	if err := RenderHTML(&buf, dir, opt); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, HTMLFile), buf.Bytes())
}

// RenderHTML renders the report of the run folder dir to w (what WriteHTML saves; serve uses it
// for run folders that have no report.html). Links in the page are relative to the run folder.
func RenderHTML(w io.Writer, dir string, opt HTMLOptions) error {
	if err := opt.Validate(); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs) // results/latest names the run it points at
	}
	if err != nil {
		return fmt.Errorf("report: render %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("report: render %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("report: render %s: not a run folder", dir)
	}
	return render(w, loadRun(os.DirFS(abs), filepath.Base(filepath.Dir(abs)), filepath.Base(abs)), opt)
}

func render(w io.Writer, d *runData, opt HTMLOptions) error {
	if err := pageTemplate.Execute(w, buildPage(d, opt)); err != nil {
		return fmt.Errorf("report: render %s/%s: %w", d.name, d.base, err)
	}
	return nil
}

// runData is what a run folder holds, read leniently.
type runData struct {
	base     string    // the run folder's own name, a time stamp
	name     string    // <workload>-<nemesis>
	started  time.Time // from the folder name; zero when it does not parse
	config   []byte    // config.json, raw
	results  *resultsDoc
	nemesis  []map[string]any // nemesis.json
	stats    map[string]json.RawMessage
	ops      []history.Op
	problems []string // what could not be read
	files    []fileEntry
	visual   string       // the linearizability visualization's file name, "" if none
	events   []storeEvent // events.jsonl (simulated runs), nil without it
}

// resultsDoc is the part of results.json a report shows (report does not import checker).
type resultsDoc struct {
	Valid         json.RawMessage        `json:"valid"`
	Workload      string                 `json:"workload"`
	Model         string                 `json:"model"`
	Selected      []string               `json:"selected"`
	Checkers      map[string]*checkerDoc `json:"checkers"`
	Visualization string                 `json:"visualization"`
	Warnings      []string               `json:"warnings"`
}

type checkerDoc struct {
	Valid       json.RawMessage `json:"valid"`
	Decides     bool            `json:"decides"`
	Skipped     string          `json:"skipped"`
	Explanation []string        `json:"explanation"`
	Details     json.RawMessage `json:"details"`
}

type fileEntry struct {
	Name string // relative to the run folder, slash-separated
	Size int64
}

// verdictOf turns results.json's true, false or "unknown" into a word.
func verdictOf(raw json.RawMessage) string {
	switch strings.TrimSpace(string(raw)) {
	case "true":
		return "valid"
	case "false":
		return "invalid"
	case "":
		return "none"
	}
	return "unknown"
}

// runStart parses a run folder's name (TimeLayout, maybe with a "-N" suffix).
func runStart(base string) (time.Time, bool) {
	if i := strings.LastIndexByte(base, '-'); i > 0 {
		base = base[:i]
	}
	t, err := time.ParseInLocation(TimeLayout, base, time.UTC)
	return t, err == nil
}

// readJSONFS decodes the named file of fsys into v.
func readJSONFS(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// loadRun reads the run folder fsys; name and base (the folder's parent's and its own name)
// label it.
func loadRun(fsys fs.FS, name, base string) *runData {
	d := &runData{base: base, name: name}
	d.started, _ = runStart(base)
	note := func(file string, err error) {
		if errors.Is(err, fs.ErrNotExist) {
			d.problems = append(d.problems, file+" is missing")
		} else {
			d.problems = append(d.problems, fmt.Sprintf("%s: %v", file, err))
		}
	}
	if b, err := fs.ReadFile(fsys, ConfigFile); err == nil {
		d.config = b
	} else {
		note(ConfigFile, err)
	}
	var res resultsDoc
	if err := readJSONFS(fsys, ResultsFile, &res); err == nil {
		d.results = &res
	} else {
		note(ResultsFile, err)
	}
	if err := readJSONFS(fsys, NemesisFile, &d.nemesis); err != nil && !errors.Is(err, fs.ErrNotExist) {
		note(NemesisFile, err)
	}
	if err := readJSONFS(fsys, StatsFile, &d.stats); err != nil && !errors.Is(err, fs.ErrNotExist) {
		note(StatsFile, err)
	}
	if f, err := readHistory(fsys); err == nil {
		d.ops = f.Ops
		for _, w := range f.Warnings {
			d.problems = append(d.problems, HistoryFile+": "+w)
		}
	} else {
		note(HistoryFile, err)
	}
	d.events = readEvents(fsys)
	d.files = listFiles(fsys)
	for _, f := range d.files {
		if f.Name == LinearizabilityFile {
			d.visual = f.Name
		}
	}
	if d.visual == "" && d.results != nil && d.results.Visualization != "" {
		// the checker records where it wrote the file; it lives in the run folder
		base := filepath.Base(d.results.Visualization)
		if _, err := fs.Stat(fsys, base); err == nil && fs.ValidPath(base) {
			d.visual = base
		}
	}
	return d
}

func readHistory(fsys fs.FS) (*history.File, error) {
	f, err := fsys.Open(HistoryFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return history.Decode(f, history.FormatJSONL, size)
}

// listFiles lists the run folder's files and those of its subfolders (nodes/), skipping
// hidden ones and the report itself.
func listFiles(fsys fs.FS) []fileEntry {
	var out []fileEntry
	var walk func(rel string, depth int)
	walk = func(rel string, depth int) {
		dir := rel
		if dir == "" {
			dir = "."
		}
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			name := e.Name()
			if strings.HasPrefix(name, ".") {
				continue
			}
			p := name
			if rel != "" {
				p = rel + "/" + name
			}
			if e.IsDir() {
				if depth < 2 {
					walk(p, depth+1)
				}
				continue
			}
			if !e.Type().IsRegular() || p == HTMLFile {
				continue
			}
			var size int64
			if info, err := e.Info(); err == nil {
				size = info.Size()
			}
			out = append(out, fileEntry{Name: p, Size: size})
		}
	}
	walk("", 0)
	sort.Slice(out, func(i, j int) bool {
		// top-level files first, then subfolders
		ci, cj := strings.Count(out[i].Name, "/"), strings.Count(out[j].Name, "/")
		if ci != cj {
			return ci < cj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// kv is one flattened configuration entry.
type kv struct {
	Key, Value string
}

// flattenJSON flattens a JSON object into dotted keys, in document order; arrays of scalars
// become comma lists.
func flattenJSON(b []byte) ([]kv, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out []kv
	var value func(prefix string) error
	value = func(prefix string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					key, _ := k.(string)
					if prefix != "" {
						key = prefix + "." + key
					}
					if err := value(key); err != nil {
						return err
					}
				}
				_, err := dec.Token() // '}'
				return err
			case '[':
				var items []string
				for dec.More() {
					var raw json.RawMessage
					if err := dec.Decode(&raw); err != nil {
						return err
					}
					var s string
					if json.Unmarshal(raw, &s) == nil {
						items = append(items, s)
					} else {
						items = append(items, string(compactJSON(raw)))
					}
				}
				if _, err := dec.Token(); err != nil { // ']'
					return err
				}
				out = append(out, kv{prefix, strings.Join(items, ", ")})
				return nil
			}
		case nil:
			out = append(out, kv{prefix, "null"})
		case string:
			out = append(out, kv{prefix, t})
		default:
			out = append(out, kv{prefix, fmt.Sprint(t)})
		}
		return nil
	}
	if err := value(""); err != nil {
		return out, fmt.Errorf("report: config: %w", err)
	}
	return out, nil
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func indentJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}
