package compare

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WriteText writes the table aligned for a terminal, with a legend.
func (t *Table) WriteText(w io.Writer) error {
	rows := [][]string{t.header()}
	for _, r := range t.Rows {
		rows = append(rows, t.cells(r))
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for ri, row := range rows {
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			pad := widths[i] - utf8.RuneCountInString(c)
			if leftAligned(i) {
				b.WriteString(c + strings.Repeat(" ", pad))
			} else {
				b.WriteString(strings.Repeat(" ", pad) + c)
			}
		}
		b.WriteString("\n")
		if ri == 0 {
			total := 0
			for _, wd := range widths {
				total += wd + 2
			}
			b.WriteString(strings.Repeat("-", total-2) + "\n")
		}
	}
	b.WriteString(t.legend())
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Table) legend() string {
	seeds := make([]string, len(t.Seeds))
	for i, s := range t.Seeds {
		seeds[i] = strconv.FormatInt(s, 10)
	}
	return fmt.Sprintf("%s workload, %d nodes, %s per run, seeds %s (every cell ran the same seeds, so the same fault schedule).\n"+
		"stale reads: share of ok reads behind an acknowledged write (staleness checker). PBS: C(N-W,R)/C(N,R), the chance a\n"+
		"read quorum misses the latest write (Bailis et al., VLDB 2012); vs PBS: beat = below it, matched = within two standard errors.\n"+
		"invalid seeds: runs whose verdict was invalid, of the runs decided valid or invalid (a checker that gave up counts in neither);\n"+
		"95%% CI: Wilson score interval, over seeds for invalid seeds (more with --repeat) and over reads for stale reads, which takes\n"+
		"reads as independent: reads of one run share its faults, so the true uncertainty is wider.\n"+
		"quorum: strict = W+R>N, partial = W+R<=N, sloppy = W+R>N but hinted writes count toward W. lost acked: acknowledged adds/increments lost.\n",
		t.Workload, t.Nodes, t.Time, strings.Join(seeds, ","))
}

// WriteMarkdown writes the table as a Markdown document.
func (t *Table) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# faultline compare\n\n")
	h := t.header()
	b.WriteString("| " + strings.Join(h, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(h)) + "\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(t.cells(r), " | ") + " |\n")
	}
	b.WriteString("\n")
	for _, line := range strings.Split(strings.TrimSpace(t.legend()), "\n") {
		b.WriteString(line + "\n")
	}
	b.WriteString("\n## Runs\n\n")
	for _, r := range t.Rows {
		for _, run := range r.RunList {
			status := run.Verdict.String()
			if run.Err != "" {
				status = "error: " + run.Err
			} else if len(run.Invalid) > 0 {
				status += " (" + strings.Join(run.Invalid, ", ") + ")"
			}
			fmt.Fprintf(&b, "- %s, seed %d: %s — `%s`\n", r.Label(), run.Seed, status, filepath.ToSlash(run.Dir))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// CSVHeader is compare.csv's first line: one column per figure, rates as fractions, latencies
// in milliseconds. For another target than the reference store, consistency holds the target and
// its read mode (e.g. "etcd reads=serializable") and the quorum columns (n, w, r, sloppy_quorum,
// read_repair) are empty: they are the reference store's settings.
func CSVHeader() []string {
	return []string{"consistency", "n", "w", "r", "sloppy_quorum", "read_repair", "nemesis", "quorum",
		"runs", "errors", "valid", "invalid", "decided", "invalid_share", "invalid_ci_lo", "invalid_ci_hi", "linearizable",
		"reads", "stale", "stale_rate", "stale_ci_lo", "stale_ci_hi", "pbs", "vs_pbs",
		"lost", "ok", "fail", "info", "ok_share", "fail_share", "info_share", "p50_ms", "p99_ms", "invalid_by"}
}

// WriteCSV writes the table as CSV (see CSVHeader).
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader()); err != nil {
		return fmt.Errorf("compare: csv: %w", err)
	}
	f := func(x float64) string {
		if math.IsNaN(x) {
			return ""
		}
		return strconv.FormatFloat(x, 'f', 4, 64)
	}
	for _, r := range t.Rows {
		ok, fail, info := r.Shares()
		lin := ""
		if r.LinChecked {
			lin = strconv.Itoa(r.Linearizable)
		}
		lost := ""
		if r.LostMeasured {
			lost = strconv.FormatInt(r.Lost, 10)
		}
		n, w, rq, sloppy, rr := strconv.Itoa(r.N), strconv.Itoa(r.W), strconv.Itoa(r.R), strconv.FormatBool(r.SloppyQuorum), strconv.FormatBool(r.ReadRepair)
		if r.Target != "" {
			n, w, rq, sloppy, rr = "", "", "", "", ""
		}
		rec := []string{r.Store(), n, w, rq, sloppy, rr, nemesisName(r.Nemesis), r.Quorum(),
			strconv.Itoa(r.Runs), strconv.Itoa(r.Errors), strconv.Itoa(r.Valid), strconv.Itoa(r.Invalid),
			strconv.Itoa(r.Decided), f(r.InvalidShare), f(r.InvalidLo), f(r.InvalidHi), lin,
			strconv.Itoa(r.Reads), strconv.Itoa(r.Stale), f(r.StaleRate), f(r.StaleLo), f(r.StaleHi), f(r.PBS), r.VsPBS,
			lost, strconv.FormatInt(r.OK, 10), strconv.FormatInt(r.Fail, 10), strconv.FormatInt(r.Info, 10),
			f(ok), f(fail), f(info),
			strconv.FormatFloat(float64(r.P50.Microseconds())/1000, 'f', 2, 64),
			strconv.FormatFloat(float64(r.P99.Microseconds())/1000, 'f', 2, 64),
			sortedInvalid(r.InvalidBy)}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("compare: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("compare: csv: %w", err)
	}
	return nil
}

// WriteJSON writes the table as a JSON array, one object per row with CSVHeader's fields
// (numbers as numbers, missing figures as null) plus the row's run folders.
func (t *Table) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	if err := t.WriteCSV(&buf); err != nil {
		return err
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		return fmt.Errorf("compare: json: %w", err)
	}
	rows := make([]map[string]any, 0, len(t.Rows))
	for i, rec := range recs[1:] {
		m := map[string]any{}
		for j, h := range recs[0] {
			v := rec[j]
			switch {
			case v == "":
				m[h] = nil
			case h == "consistency" || h == "nemesis" || h == "quorum" || h == "vs_pbs" || h == "invalid_by":
				m[h] = v
			case v == "true" || v == "false":
				m[h] = v == "true"
			default:
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					m[h] = v
				} else {
					m[h] = f
				}
			}
		}
		var dirs []string
		for _, r := range t.Rows[i].RunList {
			dirs = append(dirs, r.Dir)
		}
		m["runs_dirs"] = dirs
		rows = append(rows, m)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rows); err != nil {
		return fmt.Errorf("compare: json: %w", err)
	}
	return nil
}

// WriteFiles writes compare.md, compare.csv and compare.html into dir (created if missing).
func (t *Table) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	for name, write := range map[string]func(io.Writer) error{
		"compare.md": t.WriteMarkdown, "compare.csv": t.WriteCSV, "compare.html": t.WriteHTML,
	} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("compare: writing %s: %w", name, err)
		}
	}
	return nil
}

// chartBar is one cell in the chart; every coordinate is computed here, not in the template.
type chartBar struct {
	Label                  string
	LabelX, LabelY         float64
	BarX, PredX, BarW      float64
	MeasuredY, MeasuredH   float64
	PredictedY, PredictedH float64
	DotCX, DotCY           float64
	Measured, Predicted    string
	DotColor, Verdict      string
	// the measured rate's 95 % interval as a whisker (HasCI false without reads)
	HasCI                bool
	CIX, CICapL, CICapR  float64
	CILoY, CIHiY         float64
	StaleCI, InvalidSeed string
}

type chartTick struct {
	Y     float64
	Label string
}

// availBar is one cell's ok/fail/info shares as a stacked bar.
type availBar struct {
	X, W                float64
	OKY, OKH            float64
	FailY, FailH        float64
	InfoY, InfoH        float64
	Label, OK, Fail, In string
}

type chartData struct {
	Avail         []availBar
	AvailTop      float64
	AvailAxisY    float64
	AvailHeight   float64
	Title         string
	Header        []string
	Rows          [][]string
	Legend        []string
	Width, Height float64
	Left, AxisY   float64
	Bars          []chartBar
	Ticks         []chartTick
}

// WriteHTML writes a self-contained page (no network needed): an inline SVG chart of each
// cell's measured stale-read rate beside its PBS prediction, with a dot coloured by how many
// runs were valid (green all, red none, amber some), then the table.
func (t *Table) WriteHTML(w io.Writer) error {
	const plotTop, plotH, left, slot = 30.0, 220.0, 130.0, 64.0
	axisY := plotTop + plotH
	d := chartData{
		Title:  fmt.Sprintf("faultline compare: %s workload, %d nodes", t.Workload, t.Nodes),
		Header: t.header(),
		Legend: strings.Split(strings.TrimSpace(t.legend()), "\n"),
		Left:   left,
		AxisY:  axisY,
		Width:  left + slot*float64(len(t.Rows)) + 20,
		Height: axisY + 130,
	}
	for _, r := range t.Rows {
		d.Rows = append(d.Rows, t.cells(r))
	}
	for i := 0; i <= 4; i++ {
		f := float64(i) / 4
		d.Ticks = append(d.Ticks, chartTick{Y: axisY - plotH*f, Label: fmt.Sprintf("%d%%", int(100*f))})
	}
	h := func(f float64) float64 {
		if math.IsNaN(f) {
			return 0
		}
		return plotH * math.Min(math.Max(f, 0), 1)
	}
	for i, r := range t.Rows {
		x := left + slot*float64(i)
		mh, ph := h(r.StaleRate), h(r.PBS)
		b := chartBar{
			Label:  r.Label(),
			LabelX: x + slot/2, LabelY: axisY + 14,
			BarX: x + 8, PredX: x + slot/2, BarW: slot/2 - 8,
			MeasuredY: axisY - mh, MeasuredH: mh,
			PredictedY: axisY - ph, PredictedH: ph,
			DotCX: x + slot/2, DotCY: plotTop - 14,
			Measured: pct(r.StaleRate), Predicted: pct(r.PBS),
		}
		if !math.IsNaN(r.StaleLo) {
			b.HasCI = true
			b.CIX = b.BarX + b.BarW/2
			b.CICapL, b.CICapR = b.CIX-4, b.CIX+4
			b.CILoY, b.CIHiY = axisY-h(r.StaleLo), axisY-h(r.StaleHi)
			b.StaleCI = interval(r.StaleLo, r.StaleHi)
		}
		b.InvalidSeed = "no decided runs"
		if r.Decided > 0 {
			b.InvalidSeed = fmt.Sprintf("%d/%d seeds invalid (95%% CI %s)", r.Invalid, r.Decided, interval(r.InvalidLo, r.InvalidHi))
		}
		valid := r.Valid
		if t.Workload == "register" && r.LinChecked {
			valid = r.Linearizable
		}
		b.Verdict = fmt.Sprintf("%d/%d", valid, r.Runs)
		switch {
		case r.Runs == 0:
			b.DotColor = "#999999"
		case valid == r.Runs:
			b.DotColor = "#2a9d4b"
		case valid == 0:
			b.DotColor = "#d0312d"
		default:
			b.DotColor = "#e69b00"
		}
		d.Bars = append(d.Bars, b)
		ok, fail, info := r.Shares()
		if math.IsNaN(ok) {
			ok, fail, info = 0, 0, 0
		}
		const ah = 120.0
		a := availBar{X: x + 12, W: slot - 24, Label: r.Label(), OK: pct(ok), Fail: pct(fail), In: pct(info)}
		a.OKH, a.FailH, a.InfoH = ah*ok, ah*fail, ah*info
		a.OKY = 20 + ah - a.OKH
		a.FailY = a.OKY - a.FailH
		a.InfoY = a.FailY - a.InfoH
		d.Avail = append(d.Avail, a)
	}
	d.AvailTop, d.AvailAxisY, d.AvailHeight = 20, 140, 160
	tmpl, err := template.New("compare").Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("compare: html template: %w", err)
	}
	if err := tmpl.Execute(w, d); err != nil {
		return fmt.Errorf("compare: html: %w", err)
	}
	return nil
}

const htmlTemplate = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:16px 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
th{background:#f3f3f3}
td:first-child{white-space:nowrap}
.legend{font-size:12px;color:#555;margin:2px 0}
.key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:middle}
svg text{font-size:11px;fill:#333}
</style></head><body>
<h1>{{.Title}}</h1>
<h2>Stale reads against the PBS prediction</h2>
<p class="key"><span style="background:#3b6fb6"></span>measured stale-read rate (whisker: 95% Wilson interval)<span style="background:#b9b9b9"></span>PBS prediction<span style="background:#2a9d4b;border-radius:6px"></span>all runs valid<span style="background:#e69b00;border-radius:6px"></span>some<span style="background:#d0312d;border-radius:6px"></span>none</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" role="img" aria-label="stale-read rate per configuration, measured and PBS-predicted">
{{range .Ticks}}<line x1="{{$.Left}}" x2="{{$.Width}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#e5e5e5"/><text x="{{$.Left}}" dx="-6" y="{{.Y}}" dy="4" text-anchor="end">{{.Label}}</text>
{{end}}{{range .Bars}}<g class="cell"><rect x="{{.BarX}}" y="{{.MeasuredY}}" width="{{.BarW}}" height="{{.MeasuredH}}" fill="#3b6fb6"><title>{{.Label}}: measured stale reads {{.Measured}}</title></rect>
{{if .HasCI}}<g class="ci" stroke="#1b2f52" stroke-width="1.5"><title>{{.Label}}: 95% CI {{.StaleCI}}</title><line x1="{{.CIX}}" x2="{{.CIX}}" y1="{{.CIHiY}}" y2="{{.CILoY}}"/><line x1="{{.CICapL}}" x2="{{.CICapR}}" y1="{{.CIHiY}}" y2="{{.CIHiY}}"/><line x1="{{.CICapL}}" x2="{{.CICapR}}" y1="{{.CILoY}}" y2="{{.CILoY}}"/></g>
{{end}}<rect x="{{.PredX}}" y="{{.PredictedY}}" width="{{.BarW}}" height="{{.PredictedH}}" fill="#b9b9b9"><title>{{.Label}}: PBS prediction {{.Predicted}}</title></rect>
<circle cx="{{.DotCX}}" cy="{{.DotCY}}" r="6" fill="{{.DotColor}}"><title>{{.Label}}: {{.Verdict}} runs valid; {{.InvalidSeed}}</title></circle>
<text x="{{.LabelX}}" y="{{.LabelY}}" text-anchor="end" transform="rotate(-35 {{.LabelX}} {{.LabelY}})">{{.Label}}</text></g>
{{end}}<line x1="{{.Left}}" x2="{{.Width}}" y1="{{.AxisY}}" y2="{{.AxisY}}" stroke="#333"/>
</svg>
<h2>Availability</h2>
<p class="key"><span style="background:#2a9d4b"></span>ok<span style="background:#d0312d"></span>fail<span style="background:#e69b00"></span>info (indeterminate)</p>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.AvailHeight}}" role="img" aria-label="ok, fail and info shares per configuration, in the same order as above">
<text x="{{.Left}}" dx="-6" y="{{.AvailTop}}" dy="4" text-anchor="end">100%</text><text x="{{.Left}}" dx="-6" y="{{.AvailAxisY}}" dy="4" text-anchor="end">0%</text>
{{range .Avail}}<g class="avail"><rect x="{{.X}}" y="{{.OKY}}" width="{{.W}}" height="{{.OKH}}" fill="#2a9d4b"><title>{{.Label}}: ok {{.OK}}</title></rect><rect x="{{.X}}" y="{{.FailY}}" width="{{.W}}" height="{{.FailH}}" fill="#d0312d"><title>{{.Label}}: fail {{.Fail}}</title></rect><rect x="{{.X}}" y="{{.InfoY}}" width="{{.W}}" height="{{.InfoH}}" fill="#e69b00"><title>{{.Label}}: info {{.In}}</title></rect></g>
{{end}}<line x1="{{.Left}}" x2="{{.Width}}" y1="{{.AvailAxisY}}" y2="{{.AvailAxisY}}" stroke="#333"/>
</svg>
<table><thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>
{{range .Legend}}<p class="legend">{{.}}</p>
{{end}}</body></html>
`
