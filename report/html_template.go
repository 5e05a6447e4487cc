package report

import "html/template"

// pageCSS styles the report and the serve pages; everything is inline so a report opens
// without a network.
const pageCSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
main{max-width:1140px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d9dde3;padding-bottom:4px}
.sub{color:#5b6573}
a{color:#1f5fbf}
table{border-collapse:collapse;background:#fff;margin:4px 0}
td,th{border:1px solid #dde1e6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-weight:600;color:#fff;background:#7a8594}
.v-valid{background:#2e7d32}.v-invalid{background:#c62828}.v-unknown{background:#ef8f00}.v-none{background:#7a8594}.v-reported{background:#546e7a}
.big{font-size:18px;padding:3px 14px}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:6px 12px;min-width:80px}
.card b{display:block;font-size:18px}
.figure{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:6px;overflow-x:auto}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-2px;margin-right:4px}
ul.expl{margin:2px 0 2px 18px;padding:0}
pre{background:#fff;border:1px solid #dde1e6;padding:8px;overflow:auto;max-height:420px;font-size:12px}
.problems{background:#fff4e5;border:1px solid #f0c27b;padding:6px 12px;border-radius:6px}
svg text{font:11px system-ui,sans-serif;fill:#3a4350}
svg .axis{stroke:#7a8594}svg .grid{stroke:#e3e6ea}
svg .stripe{fill:#f3f5f7}
.op.ok,.sw.ok{fill:#43a047;background:#43a047}.op.fail,.sw.fail{fill:#e53935;background:#e53935}.op.info,.sw.info{fill:#ffb300;background:#ffb300}
.series{fill:none;stroke-width:1.6}.dot{fill:#1f5fbf}.series.p50{stroke:#1f5fbf}.series.p99{stroke:#c2185b}.series.max{stroke:#9aa3ad;stroke-dasharray:3 2}
.shade{opacity:.16}.instant{stroke-width:1.5;stroke-dasharray:2 2}
.lane.open{stroke:#333;stroke-dasharray:3 2}.lane.failed{stroke:#c62828;stroke-width:1.5}
.nm-partition{fill:#7e57c2;stroke:#7e57c2;background:#7e57c2}.nm-kill{fill:#37474f;stroke:#37474f;background:#37474f}
.nm-pause{fill:#00897b;stroke:#00897b;background:#00897b}.nm-clock{fill:#1e88e5;stroke:#1e88e5;background:#1e88e5}
.nm-delay{fill:#8d6e63;stroke:#8d6e63;background:#8d6e63}.nm-loss{fill:#d81b60;stroke:#d81b60;background:#d81b60}
.nm-other{fill:#9e9e9e;stroke:#9e9e9e;background:#9e9e9e}
.lane{stroke:none}
.anomaly{fill:none;stroke:#b71c1c;stroke-width:2}.anomaly-sw{border:2px solid #b71c1c;width:9px;height:9px}
svg text.lanetext{fill:#fff;font-size:10px;pointer-events:none}
`

// pageTemplate is the run report.
var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{"verdictClass": verdictClass, "cssName": cssName}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>faultline {{.Name}} {{.Started}}: {{.Verdict}}</title>
<style>` + pageCSS + `</style></head>
<body><main>
<h1>{{.Name}} <span class="badge big {{verdictClass .Verdict}}" id="verdict">{{.Verdict}}</span></h1>
<div class="sub">{{with .Started}}started {{.}} · {{end}}{{.Duration}} of history{{with .Workload}} · workload {{.}}{{end}}{{with .Model}} · model {{.}}{{end}}</div>
{{with .Problems}}<div class="problems"><b>Incomplete run folder:</b><ul class="expl">{{range .}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
<div class="cards" id="counts">
<div class="card">operations<b id="n-ops">{{.Counts.Operations}}</b></div>
<div class="card">ok<b id="n-ok">{{.Counts.OK}}</b></div>
<div class="card">fail<b id="n-fail">{{.Counts.Fail}}</b></div>
<div class="card">info<b id="n-info">{{.Counts.Info}}</b></div>
<div class="card">unfinished<b id="n-unfinished">{{.Counts.Unfinished}}</b></div>
<div class="card">nemesis ops<b id="n-nemesis">{{.Counts.Nemesis}}</b></div>
<div class="card">processes<b>{{.Counts.Processes}}</b></div>
<div class="card">keys<b>{{.Counts.Keys}}</b></div>
<div class="card">records<b>{{.Counts.Records}}</b></div>
</div>

<h2 id="verdicts">Checker verdicts</h2>
{{if .Checkers}}<table class="checkers">
<tr><th>checker</th><th>verdict</th><th>decides</th><th>explanation</th></tr>
{{range .Checkers}}<tr class="checker" data-checker="{{.Name}}"><td>{{.Name}}</td><td><span class="badge {{verdictClass .Verdict}}">{{.Verdict}}</span></td><td>{{if .Decides}}yes{{else}}no{{end}}</td>
<td>{{with .Skipped}}<i>skipped: {{.}}</i>{{end}}<ul class="expl">{{range .Explanation}}<li>{{.}}</li>{{end}}</ul>
{{with .Folded}}<details><summary>{{len .}} more lines</summary><ul class="expl">{{range .}}<li>{{.}}</li>{{end}}</ul></details>{{end}}{{if .More}}<p><i>… {{.More}} more lines in results.json</i></p>{{end}}
{{with .Details}}<details><summary>details</summary><pre>{{.}}</pre></details>{{end}}</td></tr>
{{end}}</table>{{else}}<p>No results.json: the run was not checked (interrupted?). <code>faultline check</code> on this folder writes one.</p>{{end}}
{{with .ResultWarnings}}<ul class="expl">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{with .Visual}}<p id="visualization"><a href="{{.}}">Linearizability visualization</a> (porcupine: the operations of the invalid keys and the longest valid ordering).</p>{{end}}

{{with .Events}}<h2 id="events">Store decisions</h2>
<p class="sub">What the store's core decided, from events.jsonl (a simulated run: virtual time, the history's time base). {{.Total}} events:{{range .Kinds}} {{.Key}} {{.Value}};{{end}}
{{if .Near}} Below: the events on the keys of the anomalies ({{range $i, $k := .Keys}}{{if $i}}, {{end}}{{$k}}{{end}}), each from 1s before an anomalous operation on its key to 1s after it: why the anomaly happened.{{else}} Below: every event, in time order.{{end}}</p>
{{if .Rows}}<table class="events"><tr><th>at</th><th>node</th><th>kind</th><th>key</th><th>peer</th><th>kept</th><th>lost</th><th>why</th></tr>
{{range .Rows}}<tr class="event"><td class="num">{{.At}}</td><td>{{.Node}}</td><td>{{.Kind}}</td><td>{{.Key}}</td><td>{{.Peer}}</td><td>{{.Kept}}</td><td>{{.Lost}}</td><td>{{.Why}}</td></tr>
{{end}}</table>{{if .More}}<p>… {{.More}} more in events.jsonl</p>{{end}}{{else}}<p>No store decision on those keys in that window.</p>{{end}}
{{end}}
<h2 id="timeline">Timeline</h2>
<div class="legend"><span><i class="sw ok"></i>ok</span><span><i class="sw fail"></i>fail</span><span><i class="sw info"></i>info (indeterminate or never completed)</span>
{{range .Kinds}}<span><i class="sw nm-{{cssName .}}"></i>{{.}}</span>{{end}}{{if .Anomalies}}<span><i class="sw anomaly-sw"></i>evidence of an invalid verdict ({{.Anomalies}} operations named by the checkers)</span>{{end}}</div>
<p class="sub">One row per client process; bars run from invocation to completion. Fault intervals are shaded (start to stop; a dashed outline: never stopped in the history).
{{if .PerColumn}} This history is large: each pixel column of a row stacks the outcomes of the operations in it in proportion (ok at the bottom, then fail, then info), each present outcome at least one pixel high.{{else}} Hover a bar for the operation.{{end}}
{{if .Folded}} Processes are folded into {{.Folded}} rows by process number mod {{.Folded}}.{{end}}</p>
<div class="figure">{{.Timeline}}</div>

<h2 id="latency">Latency over time</h2>
<div class="legend"><span><i class="sw" style="background:#1f5fbf"></i>p50</span><span><i class="sw" style="background:#c2185b"></i>p99</span><span><i class="sw" style="background:#9aa3ad"></i>max</span> <span class="sub">of ok operations, by completion time, log scale</span></div>
<div class="figure">{{.Latency}}</div>

<h2 id="throughput">Throughput over time</h2>
<div class="legend"><span><i class="sw ok"></i>ok</span><span><i class="sw fail"></i>fail</span><span><i class="sw info"></i>info</span> <span class="sub">completions per second</span></div>
<div class="figure">{{.Throughput}}</div>

<h2 id="faults">Faults</h2>
{{if .Faults}}<table><tr><th>at</th><th>f</th><th>node</th><th>detail</th><th>took</th><th>error</th></tr>
{{range .Faults}}<tr class="fault"><td class="num">{{.At}}</td><td>{{.F}}</td><td>{{.Node}}</td><td>{{.Detail}}</td><td class="num">{{.Took}}</td><td>{{.Error}}</td></tr>
{{end}}</table>{{if .FaultsMore}}<p>… {{.FaultsMore}} more in nemesis.json</p>{{end}}{{else}}<p>No faults were injected.</p>{{end}}

<h2 id="config">Configuration</h2>
{{if .Config}}<table>{{range .Config}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>{{end}}</table>{{else}}<p>No config.json.</p>{{end}}

<h2 id="stats">Statistics</h2>
{{with .Harness}}<table>{{range .}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>{{end}}</table>{{end}}
{{with .NodeStats.Rows}}<details><summary>node counters (non-zero)</summary><table><tr><th>counter</th>{{range $.NodeStats.Nodes}}<th>{{.}}</th>{{end}}</tr>
{{range .}}<tr><td>{{.Name}}</td>{{range .Values}}<td class="num">{{.}}</td>{{end}}</tr>{{end}}</table></details>{{end}}
{{with .StatsRaw}}<details><summary>stats.json</summary><pre>{{.}}</pre></details>{{else}}<p>No stats.json.</p>{{end}}

<h2 id="files">Files</h2>
<table>{{range .Files}}<tr><td><a href="{{.Name}}">{{.Name}}</a></td><td class="num">{{.Size}}</td></tr>{{end}}</table>
</main></body></html>
`))
