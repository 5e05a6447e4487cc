package report

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"slices"
	"strconv"
	"time"
)

// EventsFile is the store's internal decisions in a simulated run (--runtime sim): one JSON
// object a line (store.Event: t_ns, node, kind, key, peer, kept, lost, why), in virtual time,
// the history's time base.
const EventsFile = "events.jsonl"

// eventsMargin widens the anomalies' time window: a decision shortly before the first
// anomalous operation (a write discarded, a repair) is often its cause.
const eventsMargin = time.Second

// storeEvent is one line of events.jsonl (report does not import store).
type storeEvent struct {
	T    int64  `json:"t_ns"`
	Node string `json:"node"`
	Kind string `json:"kind"`
	Key  string `json:"key"`
	Peer string `json:"peer"`
	Kept string `json:"kept"`
	Lost string `json:"lost"`
	Why  string `json:"why"`
}

// eventRow is a store event as the report shows it.
type eventRow struct{ At, Node, Kind, Key, Peer, Kept, Lost, Why string }

// eventsView is the report's section on the store's decisions: counts by kind, and the events on
// the keys of the anomalies within their time window (all events when there is no anomaly).
type eventsView struct {
	Total int
	Kinds []kv
	Near  bool // Rows are the events beside the anomalies
	Keys  []string
	Rows  []eventRow
	More  int
}

// readEvents reads events.jsonl leniently (a bad line is skipped); nil without the file.
func readEvents(fsys fs.FS) []storeEvent {
	f, err := fsys.Open(EventsFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []storeEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var e storeEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// buildEvents picks the events to show beside marks (the anomalous operations).
func buildEvents(evs []storeEvent, marks []anomaly, limit int) *eventsView {
	if evs == nil {
		return nil
	}
	v := &eventsView{Total: len(evs)}
	counts := map[string]int{}
	for _, e := range evs {
		counts[e.Kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		v.Kinds = append(v.Kinds, kv{Key: k, Value: strconv.Itoa(counts[k])})
	}
	// Each anomalous operation's window: from eventsMargin before its call to eventsMargin after
	// its return (or its call, if it never returned), on its key.
	type window struct{ lo, hi int64 }
	wins := map[string][]window{}
	for _, m := range marks {
		if m.key == "" {
			continue
		}
		hi := max(m.ret, m.call) + int64(eventsMargin)
		wins[m.key] = append(wins[m.key], window{m.call - int64(eventsMargin), hi})
	}
	sel := evs
	if len(wins) > 0 {
		v.Near = true
		for k := range wins {
			v.Keys = append(v.Keys, k)
		}
		slices.Sort(v.Keys)
		sel = nil
		for _, e := range evs {
			for _, w := range wins[e.Key] {
				if e.T >= w.lo && e.T <= w.hi {
					sel = append(sel, e)
					break
				}
			}
		}
	}
	for i, e := range sel {
		if i == limit {
			v.More = len(sel) - limit
			break
		}
		v.Rows = append(v.Rows, eventRow{At: time.Duration(e.T).String(), Node: e.Node, Kind: e.Kind, Key: e.Key,
			Peer: e.Peer, Kept: e.Kept, Lost: e.Lost, Why: e.Why})
	}
	return v
}
