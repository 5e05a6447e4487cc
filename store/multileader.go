package store

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Conflict strategies of the multi-leader mode.
const (
	ConflictLWW      = "lww"      // last writer wins by the origin's clock, ties by node id; counters and sets replaced whole
	ConflictCRDT     = "crdt"     // PN-counters, add-wins sets, LWW registers
	ConflictSiblings = "siblings" // registers: version vectors, concurrent versions kept; counters, sets: CRDTs
)

// Topologies of the multi-leader mode.
const (
	TopologyAll  = "all"  // every leader sends its writes to every other
	TopologyRing = "ring" // each leader sends to the next one (sorted ids), which forwards
	TopologyStar = "star" // leaders send to the hub (first id), which forwards to the others
)

const (
	mlBatch   = 256                    // entries per delivery request
	mlIdle    = 250 * time.Millisecond // an empty queue is re-checked this often (besides wake-ups)
	mlBackoff = 20 * time.Millisecond  // first retry delay; doubles up to mlMaxBack
	mlMaxBack = time.Second
	mlLags    = 4096 // delivery lags kept per peer, and end-to-end lags per origin, for percentiles
	mlRecent  = 32   // recent conflicts kept for /admin/stats
)

// mlE2E are the end-to-end lags of one origin's writes on this node: from the origin applying
// a write to this node applying it, over every hop of the topology. The core's loop owns it.
type mlE2E struct {
	lags    lagWindow
	last    time.Duration
	samples int64 // lags recorded since the node started
}

// lagWindow keeps the last mlLags durations (a ring) for percentiles.
type lagWindow struct {
	buf  []time.Duration
	next int
}

func (w *lagWindow) add(d time.Duration) {
	if len(w.buf) < mlLags {
		w.buf = append(w.buf, d)
		return
	}
	w.buf[w.next] = d
	w.next = (w.next + 1) % mlLags
}

// percentiles returns the window's p50 and p99 (0, 0 when empty).
func (w *lagWindow) percentiles() (p50, p99 time.Duration) {
	if len(w.buf) == 0 {
		return 0, 0
	}
	s := slices.Clone(w.buf)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}

// MLConflict is one conflict a multi-leader node saw: a write that arrived concurrent with what
// the node held for the key (neither had seen the other), and how it was resolved.
type MLConflict struct {
	Key        string    `json:"key"`
	Origin     string    `json:"origin"` // node the incoming write came from
	Seq        uint64    `json:"seq"`
	Resolution string    `json:"resolution"` // lww-local-won, lww-incoming-won, siblings-kept, merged
	Kept       []string  `json:"kept,omitempty"`
	Lost       []string  `json:"lost,omitempty"` // register values that lost (lww): gone for good
	At         time.Time `json:"at"`
}

// Internal wire types of the mode.
type (
	mlApplyReq struct {
		Entries []mlEntry `json:"entries"`
	}
	mlApplyResp struct {
		Applied    int `json:"applied"`
		Duplicates int `json:"duplicates"`
	}
)

// MLTargets are the peers node self sends a write from origin to, in topology over ids (sorted):
// all-to-all sends only its own writes, to everyone; a ring sends to the next node unless that
// is the origin; a star's hub (ids[0]) sends to every leaf but the origin, a leaf only its own
// writes to the hub. Following them from any origin reaches every node exactly once.
func MLTargets(topology string, ids []string, self, origin string) []string {
	var out []string
	switch topology {
	case TopologyRing:
		i := slices.Index(ids, self)
		if i < 0 || len(ids) < 2 {
			return nil
		}
		if next := ids[(i+1)%len(ids)]; next != origin {
			out = append(out, next)
		}
	case TopologyStar:
		if len(ids) < 2 {
			return nil
		}
		hub := ids[0]
		if self == hub {
			for _, p := range ids[1:] {
				if p != origin {
					out = append(out, p)
				}
			}
		} else if origin == self {
			out = append(out, hub)
		}
	default: // all
		if origin == self {
			for _, p := range ids {
				if p != self {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// MLOutPeers are every peer self may send to in topology: the union of MLTargets over origins.
func MLOutPeers(topology string, ids []string, self string) []string {
	set := map[string]bool{}
	for _, o := range ids {
		for _, p := range MLTargets(topology, ids, self, o) {
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// mlLag is one end-to-end lag sample of a write from origin.
type mlLag struct {
	origin string
	lag    time.Duration
}

func sameDot(a, b Sibling) bool { return a.Node == b.Node && a.Seq == b.Seq }

// describe is a record's value for conflict reports.
func describe(r Record) []string {
	switch r.Kind {
	case KindCounter:
		return []string{r.counterTotal().String()}
	case KindSet:
		return []string{"[" + strings.Join(r.Elems, " ") + "]"}
	}
	return r.Values()
}

// MLPeerStats is the state of one outbound queue in /admin/stats ("ml_peers").
type MLPeerStats struct {
	Queue        int64   `json:"queue"`         // entries not yet acknowledged by the peer
	OldestAgeMS  float64 `json:"oldest_age_ms"` // age of the oldest undelivered entry (0 = empty)
	LastLagMS    float64 `json:"last_lag_ms"`   // queue-to-ack time of the last delivered entry
	LagP50MS     float64 `json:"lag_p50_ms"`    // over the last 4096 delivered entries
	LagP99MS     float64 `json:"lag_p99_ms"`    // over the last 4096 delivered entries
	Delivered    int64   `json:"delivered"`     // entries delivered since the node started
	SendFailures int64   `json:"send_failures"` // delivery attempts that failed (then retried)
}

// MLE2EStats are the end-to-end lags of one origin's writes on this node in /admin/stats
// ("ml_e2e", by origin): from the origin applying a write to this node applying it, through
// every hop of the topology (the origin's and this node's real clocks are compared).
type MLE2EStats struct {
	LastMS  float64 `json:"last_ms"` // of the last write from the origin applied here
	P50MS   float64 `json:"p50_ms"`  // over the last 4096 writes from the origin applied here
	P99MS   float64 `json:"p99_ms"`  // over the last 4096 writes from the origin applied here
	Samples int64   `json:"samples"` // writes from the origin applied here with a lag, since start
}

func mlMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
