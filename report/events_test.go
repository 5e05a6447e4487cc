package report

import (
	"testing"
	"time"
)

// TestBuildEvents: beside anomalies, the events shown are those on an anomalous operation's key
// within a second of it; without anomalies, all of them; the counts cover every event.
func TestBuildEvents(t *testing.T) {
	s := int64(time.Second)
	evs := []storeEvent{
		{T: 1 * s, Node: "n1", Kind: "hint_stored", Key: "k1"},
		{T: 5 * s, Node: "n2", Kind: "lww_discard", Key: "k1", Kept: "b", Lost: "a"}, // beside the anomaly
		{T: 5 * s, Node: "n2", Kind: "lww_discard", Key: "k2"},                       // another key
		{T: 9 * s, Node: "n3", Kind: "read_repair", Key: "k1"},                       // too late
	}
	marks := []anomaly{{checker: "linearizable", key: "k1", call: 5*s + s/2, ret: 6 * s}}
	v := buildEvents(evs, marks, 10)
	if v.Total != 4 || len(v.Kinds) != 3 || v.Kinds[1].Key != "lww_discard" || v.Kinds[1].Value != "2" {
		t.Fatalf("counts: total %d, kinds %v; want 4 and hint_stored 1, lww_discard 2, read_repair 1", v.Total, v.Kinds)
	}
	if !v.Near || len(v.Rows) != 1 || v.Rows[0].Kind != "lww_discard" || v.Rows[0].Key != "k1" || v.Rows[0].Lost != "a" {
		t.Fatalf("beside the anomaly: near %v, rows %+v; want the one lww_discard of k1 at 5s", v.Near, v.Rows)
	}
	all := buildEvents(evs, nil, 3)
	if all.Near || len(all.Rows) != 3 || all.More != 1 {
		t.Fatalf("no anomaly: near %v, %d rows, %d more; want every event, 3 shown and 1 more", all.Near, len(all.Rows), all.More)
	}
	if buildEvents(nil, marks, 10) != nil {
		t.Fatal("no events.jsonl: want no section")
	}
}
