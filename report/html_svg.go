package report

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// Geometry of the SVG figures, in pixels.
const (
	svgWidth   = 1100
	plotLeft   = 96
	plotRight  = 14
	plotWidth  = svgWidth - plotLeft - plotRight
	axisHeight = 22
	laneHeight = 14
)

// axis maps history time (ns since the run started) to x.
type axis struct{ t0, t1 int64 }

func (a axis) x(t int64) float64 {
	if t < a.t0 {
		t = a.t0
	}
	if t > a.t1 {
		t = a.t1
	}
	return plotLeft + float64(t-a.t0)/float64(a.t1-a.t0)*plotWidth
}

// fmtDur renders a nanosecond duration for people: 850µs, 12.3ms, 4.21s.
func fmtDur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// niceStep returns a 1, 2 or 5 times a power of ten step giving about n ticks over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// timeAxis draws the x axis (seconds) at y, with grid lines up to top.
func timeAxis(b *strings.Builder, a axis, top, y float64) {
	secs := float64(a.t1-a.t0) / 1e9
	step := niceStep(secs, 10)
	fmt.Fprintf(b, `<line class="axis" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, plotLeft, y, plotLeft+plotWidth, y)
	for s := math.Ceil(float64(a.t0)/1e9/step) * step; s <= float64(a.t1)/1e9+1e-9; s += step {
		x := a.x(int64(s * 1e9))
		fmt.Fprintf(b, `<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, x, top, x, y)
		fmt.Fprintf(b, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%gs</text>`, x, y+14, round3(s))
	}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// shade draws the fault intervals as translucent bands from top to bottom.
func shade(b *strings.Builder, a axis, ivs []interval, top, bottom float64) {
	for _, iv := range ivs {
		x0 := a.x(iv.start)
		if iv.instant {
			fmt.Fprintf(b, `<line class="nm-%s instant" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/>`, cssName(iv.kind), x0, top, x0, bottom)
			continue
		}
		w := math.Max(a.x(iv.end)-x0, 1)
		fmt.Fprintf(b, `<rect class="shade nm-%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, cssName(iv.kind), x0, top, w, bottom-top)
	}
}

// subLanes assigns each interval a sub-lane of its kind's lane so that bars (with a little
// room for their text) do not overlap; at most 4 sub-lanes a kind, the last one takes the rest.
// It returns the sub-lane of each interval and the number of sub-lanes of each kind.
func subLanes(a axis, ivs []interval) ([]int, map[string]int) {
	const maxSubs = 4
	sub := make([]int, len(ivs))
	ends := map[string][]float64{}
	for i, iv := range ivs {
		x0, x1 := a.x(iv.start), math.Max(a.x(iv.end), a.x(iv.start)+2)+1
		e := ends[iv.kind]
		j := 0
		for j < len(e) && e[j] > x0 {
			j++
		}
		if j == maxSubs {
			j = maxSubs - 1
		}
		if j == len(e) {
			e = append(e, 0)
		}
		e[j] = math.Max(e[j], x1)
		ends[iv.kind] = e
		sub[i] = j
	}
	n := map[string]int{}
	for k, e := range ends {
		n[k] = len(e)
	}
	return sub, n
}

// fitText returns s cut to fit width pixels (about 6 px a character), "" if nothing useful fits.
func fitText(s string, width float64) string {
	n := int(width / 6)
	r := []rune(s)
	switch {
	case n < 3 || len(r) == 0:
		return ""
	case len(r) <= n:
		return s
	}
	return string(r[:n-1]) + "…"
}

// cssName maps a fault kind to a CSS class suffix: the known kinds, else "other".
func cssName(kind string) string {
	for _, k := range nemesisKinds() {
		if k == kind {
			return k
		}
	}
	return "other"
}

// rowMap assigns timeline rows to client processes.
type rowMap struct {
	rows   map[history.Process]int
	labels []string
	fold   int // > 0: rows are process mod fold
}

func (m rowMap) row(p history.Process) int {
	if m.fold > 0 {
		return int(p) % m.fold
	}
	return m.rows[p]
}

// lookup is row for a process that may have no row.
func (m rowMap) lookup(p history.Process) (int, bool) {
	if p < 0 {
		return 0, false
	}
	if m.fold > 0 {
		return int(p) % m.fold, true
	}
	r, ok := m.rows[p]
	return r, ok
}

func newRowMap(sp []span, maxRows, concurrency int) rowMap {
	set := map[history.Process]bool{}
	for i := range sp {
		set[sp[i].proc] = true
	}
	procs := make([]history.Process, 0, len(set))
	for p := range set {
		procs = append(procs, p)
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i] < procs[j] })
	if len(procs) <= maxRows {
		m := rowMap{rows: make(map[history.Process]int, len(procs))}
		for i, p := range procs {
			m.rows[p] = i
			m.labels = append(m.labels, "p"+p.String())
		}
		return m
	}
	fold := concurrency
	if fold <= 0 || fold > maxRows {
		fold = maxRows
	}
	m := rowMap{fold: fold}
	for i := 0; i < fold; i++ {
		m.labels = append(m.labels, fmt.Sprintf("p≡%d mod %d", i, fold))
	}
	return m
}

// stackHeights splits h pixels among the ok, fail and info counts n in proportion, giving each
// present outcome at least one pixel; all zero when n is.
func stackHeights(n [3]int32, h int) [3]int {
	total := n[0] + n[1] + n[2]
	var out [3]int
	if total == 0 {
		return out
	}
	rest := h
	for i := 2; i >= 1; i-- { // fail and info first: they must show
		if n[i] > 0 {
			out[i] = max(1, int(math.Round(float64(n[i])/float64(total)*float64(h))))
			out[i] = min(out[i], rest-btoi(n[0] > 0)-btoi(i == 2 && n[1] > 0))
			rest -= out[i]
		}
	}
	if n[0] > 0 {
		out[0] = rest
	} else if rest > 0 { // no ok: the others fill the column
		if n[1] > 0 {
			out[1] += rest
		} else {
			out[2] += rest
		}
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// severity numbers outcomes: 1 ok, 2 fail, 3 info (indeterminate or never completed).
func severity(s *span) uint8 { return s.sev }

// severityClass is the CSS class of a severity.
func severityClass(sev uint8) string {
	switch sev {
	case 1:
		return "ok"
	case 2:
		return "fail"
	case 3:
		return "info"
	}
	return ""
}

// timelineSVG draws the fault lanes and one row per client process.
func timelineSVG(a axis, ops []history.Op, sp []span, ivs []interval, marks []anomaly, rm rowMap, maxBars int) (svg string, perColumn bool) {
	kinds := kindsOf(ivs)
	rowH := 14.0
	if len(rm.labels) > 24 {
		rowH = 9
	}
	// fault lanes: one per kind, split into sub-lanes where its intervals overlap (two nodes
	// killed at once)
	lanesTop := 4.0
	sub, subs := subLanes(a, ivs)
	laneTop := map[string]float64{}
	y := lanesTop
	for _, k := range kinds {
		laneTop[k] = y
		y += float64(subs[k]) * laneHeight
	}
	rowsTop := y + 6
	rowsBottom := rowsTop + float64(len(rm.labels))*rowH
	height := rowsBottom + axisHeight + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 %d %.0f" width="%d" height="%.0f">`, svgWidth, height, svgWidth, height)
	for _, k := range kinds {
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%.1f" text-anchor="end">%s</text>`, plotLeft-6, laneTop[k]+laneHeight-4, html.EscapeString(k))
	}
	for i, iv := range ivs {
		y := laneTop[iv.kind] + float64(sub[i])*laneHeight + 1
		x0 := a.x(iv.start)
		tip := iv.label + " at " + fmtDur(iv.start)
		switch {
		case iv.instant:
		case iv.open:
			tip += ", never stopped"
		default:
			tip += " → " + iv.stopLabel + " at " + fmtDur(iv.end) + " (" + fmtDur(iv.end-iv.start) + ")"
		}
		if iv.err != "" {
			tip += "; error: " + iv.err
		}
		w := math.Max(a.x(iv.end)-x0, 2)
		cls := "lane nm-" + cssName(iv.kind)
		if iv.open {
			cls += " open"
		}
		if iv.err != "" {
			cls += " failed"
		}
		fmt.Fprintf(&b, `<g><title>%s</title><rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%d"/>`,
			html.EscapeString(tip), cls, x0, y, w, laneHeight-2)
		if text := fitText(iv.detail, w-6); text != "" {
			fmt.Fprintf(&b, `<text class="lanetext" x="%.1f" y="%.1f">%s</text>`, x0+3, y+laneHeight-5, html.EscapeString(text))
		}
		b.WriteString(`</g>`)
	}
	// process rows
	for i, l := range rm.labels {
		y := rowsTop + float64(i)*rowH
		if i%2 == 1 {
			fmt.Fprintf(&b, `<rect class="stripe" x="%d" y="%.1f" width="%d" height="%.1f"/>`, plotLeft, y, plotWidth, rowH)
		}
		if rowH >= 12 || i%2 == 0 {
			fmt.Fprintf(&b, `<text class="label" x="%d" y="%.1f" text-anchor="end">%s</text>`, plotLeft-6, y+rowH-3, html.EscapeString(l))
		}
	}
	// grid and shading behind the bars
	timeAxis(&b, a, rowsTop, rowsBottom+2)
	shade(&b, a, ivs, rowsTop, rowsBottom)
	perColumn = len(sp) > maxBars
	if !perColumn {
		for i := range sp {
			s := &sp[i]
			x0 := a.x(s.call)
			w := math.Max(a.x(s.ret)-x0, 1)
			y := rowsTop + float64(rm.row(s.proc))*rowH + 1
			fmt.Fprintf(&b, `<rect class="op %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
				severityClass(severity(s)), x0, y, w, rowH-2, html.EscapeString(opTip(s, ops)))
		}
	} else {
		// per pixel column of each row: how many operations of each outcome overlap it; drawn
		// as a stacked column (ok, fail, info from the bottom), every present outcome at least
		// one pixel high, so rare failures show without painting the whole column
		cols := make([][][3]int32, len(rm.labels))
		for i := range cols {
			cols[i] = make([][3]int32, plotWidth)
		}
		for i := range sp {
			s := &sp[i]
			c0 := int(a.x(s.call)) - plotLeft
			c1 := int(a.x(s.ret)) - plotLeft
			c0, c1 = min(max(c0, 0), plotWidth-1), min(max(c1, 0), plotWidth-1)
			row, sev := cols[rm.row(s.proc)], severity(s)-1
			for c := c0; c <= c1; c++ {
				row[c][sev]++
			}
		}
		barH := int(rowH) - 2
		for r, row := range cols {
			y := rowsTop + float64(r)*rowH + 1
			heights := make([][3]int, len(row))
			for c, n := range row {
				heights[c] = stackHeights(n, barH)
			}
			for c := 0; c < len(row); {
				e := c + 1
				for e < len(row) && heights[e] == heights[c] {
					e++
				}
				top := y + float64(barH)
				for sev := 0; sev < 3; sev++ {
					h := heights[c][sev]
					if h == 0 {
						continue
					}
					top -= float64(h)
					fmt.Fprintf(&b, `<rect class="op %s" x="%d" y="%.1f" width="%d" height="%d"/>`,
						severityClass(uint8(sev+1)), plotLeft+c, top, e-c, h)
				}
				c = e
			}
		}
	}
	// the operations checkers name as evidence, outlined on top
	for _, m := range marks {
		r, ok := rm.lookup(m.process)
		if !ok {
			continue
		}
		y := rowsTop + float64(r)*rowH
		ret := m.ret
		if ret <= m.call {
			ret = a.t1
		}
		x0 := a.x(m.call)
		w := math.Max(a.x(ret)-x0, 3)
		fmt.Fprintf(&b, `<rect class="anomaly" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s</title></rect>`,
			x0-1, y, w+2, rowH, html.EscapeString(m.tip()))
	}
	b.WriteString(`</svg>`)
	return b.String(), perColumn
}

func opTip(s *span, ops []history.Op) string {
	inv := &ops[s.inv]
	var b strings.Builder
	fmt.Fprintf(&b, "p%s %s", s.proc, history.Clip(inv.F))
	if inv.Key != "" {
		b.WriteString(" " + history.Clip(inv.Key))
	}
	if !inv.Value.IsNil() {
		b.WriteString(" " + inv.Value.Short())
	}
	if !s.done {
		b.WriteString(" → never completed")
	} else {
		c := &ops[s.comp]
		b.WriteString(" → " + string(c.Type))
		if c.Type == history.OK && (inv.F == history.FRead || !c.Value.IsNil()) {
			b.WriteString(" " + c.Value.Short())
		}
		b.WriteString(" in " + fmtDur(s.ret-s.call))
		if c.Error != "" {
			b.WriteString(" (" + history.Clip(c.Error) + ")")
		}
	}
	if inv.Node != "" {
		b.WriteString(" via " + history.Clip(inv.Node))
	}
	fmt.Fprintf(&b, " [index %d, t=%s]", inv.Index, fmtDur(s.call))
	return b.String()
}

// bucketOf returns the chart bucket of time t.
func bucketOf(a axis, t int64, n int) int {
	i := int(float64(t-a.t0) / float64(a.t1-a.t0) * float64(n))
	return min(max(i, 0), n-1)
}

// latencySVG charts p50, p99 and max latency of ok operations per time bucket (by completion
// time), on a log scale.
func latencySVG(a axis, sp []span, ivs []interval, n int) string {
	lat := make([][]float64, n)
	for i := range sp {
		s := &sp[i]
		if s.done && s.sev == 1 {
			b := bucketOf(a, s.ret, n)
			lat[b] = append(lat[b], math.Max(float64(s.ret-s.call)/1e6, 0.001))
		}
	}
	type pt struct{ p50, p99, max float64 }
	pts := make([]*pt, n)
	lo, hi := math.Inf(1), 0.0
	for i, l := range lat {
		if len(l) == 0 {
			continue
		}
		sort.Float64s(l)
		q := func(p float64) float64 { return l[min(int(p*float64(len(l))), len(l)-1)] }
		pts[i] = &pt{q(0.5), q(0.99), l[len(l)-1]}
		lo, hi = math.Min(lo, pts[i].p50), math.Max(hi, pts[i].max)
	}
	const top, h = 8.0, 170.0
	height := top + h + axisHeight + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %.0f" width="%d" height="%.0f">`, svgWidth, height, svgWidth, height)
	shade(&b, a, ivs, top, top+h)
	if hi == 0 {
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%.1f">no completed ok operations</text>`, plotLeft+10, top+h/2)
	} else {
		l0, l1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
		if l1 <= l0 {
			l1 = l0 + 1
		}
		y := func(ms float64) float64 { return top + h - (math.Log10(ms)-l0)/(l1-l0)*h }
		for e := l0; e <= l1; e++ {
			yy := y(math.Pow(10, e))
			fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, plotLeft, yy, plotLeft+plotWidth, yy)
			fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`, plotLeft-6, yy+4, msLabel(math.Pow(10, e)))
		}
		bw := float64(plotWidth) / float64(n)
		for _, series := range []struct {
			cls string
			get func(*pt) float64
		}{{"max", func(p *pt) float64 { return p.max }}, {"p99", func(p *pt) float64 { return p.p99 }}, {"p50", func(p *pt) float64 { return p.p50 }}} {
			fmt.Fprintf(&b, `<path class="series %s" d="`, series.cls)
			pen := false
			for i, p := range pts {
				if p == nil {
					pen = false
					continue
				}
				cmd := "L"
				if !pen {
					cmd = "M"
				}
				fmt.Fprintf(&b, "%s%.1f %.1f", cmd, plotLeft+(float64(i)+0.5)*bw, y(series.get(p)))
				pen = true
			}
			b.WriteString(`"/>`)
		}
		if filled := n - countNil(pts); filled < 60 { // sparse: mark the points too
			for i, p := range pts {
				if p != nil {
					fmt.Fprintf(&b, `<circle class="dot" cx="%.1f" cy="%.1f" r="2.5"/>`, plotLeft+(float64(i)+0.5)*bw, y(p.p50))
				}
			}
		}
	}
	timeAxis(&b, a, top, top+h)
	b.WriteString(`</svg>`)
	return b.String()
}

func countNil[T any](xs []*T) int {
	n := 0
	for _, x := range xs {
		if x == nil {
			n++
		}
	}
	return n
}

func msLabel(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%gs", ms/1000)
	case ms >= 1:
		return fmt.Sprintf("%gms", ms)
	}
	return fmt.Sprintf("%gµs", ms*1000)
}

// throughputSVG charts completions per second per time bucket, stacked ok, fail, info.
func throughputSVG(a axis, sp []span, ivs []interval, n int) string {
	counts := make([][4]int, n)
	for i := range sp {
		s := &sp[i]
		if s.done {
			counts[bucketOf(a, s.ret, n)][severity(s)]++
		}
	}
	secs := float64(a.t1-a.t0) / 1e9 / float64(n)
	peak := 0.0
	for _, c := range counts {
		peak = math.Max(peak, float64(c[1]+c[2]+c[3])/secs)
	}
	const top, h = 8.0, 140.0
	height := top + h + axisHeight + 4
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %d %.0f" width="%d" height="%.0f">`, svgWidth, height, svgWidth, height)
	shade(&b, a, ivs, top, top+h)
	if peak == 0 {
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%.1f">no completed operations</text>`, plotLeft+10, top+h/2)
	} else {
		step := niceStep(peak, 4)
		yMax := math.Ceil(peak/step) * step
		y := func(v float64) float64 { return top + h - v/yMax*h }
		for v := 0.0; v <= yMax+1e-9; v += step {
			fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>`, plotLeft, y(v), plotLeft+plotWidth, y(v))
			fmt.Fprintf(&b, `<text class="tick" x="%d" y="%.1f" text-anchor="end">%g/s</text>`, plotLeft-6, y(v)+4, v)
		}
		bw := float64(plotWidth) / float64(n)
		for i, c := range counts {
			base := 0.0
			for sev := 1; sev <= 3; sev++ {
				if c[sev] == 0 {
					continue
				}
				v := float64(c[sev]) / secs
				fmt.Fprintf(&b, `<rect class="op %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %d %s (%.0f/s)</title></rect>`,
					severityClass(uint8(sev)), plotLeft+float64(i)*bw, y(base+v), math.Max(bw-0.5, 0.5), y(base)-y(base+v),
					fmtDur(int64(float64(i)*secs*1e9)+a.t0), c[sev], severityClass(uint8(sev)), v)
				base += v
			}
		}
	}
	timeAxis(&b, a, top, top+h)
	b.WriteString(`</svg>`)
	return b.String()
}
