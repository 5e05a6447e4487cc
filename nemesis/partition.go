package nemesis

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Partition shapes.
const (
	ShapeHalves  = "halves"  // two random halves cut from each other
	ShapeIsolate = "isolate" // one node cut from all others
	ShapeRing    = "ring"    // majorities ring: each node sees a majority, no two the same
	ShapeBridge  = "bridge"  // two halves that both see one bridge node
	ShapeOneWay  = "one-way" // one half cannot hear the other, which still hears it
)

// partition starts a grudge of a random shape at start and lifts it at stop.
func (g *generator) partition(start, stop time.Duration) {
	shapes := []string{ShapeHalves, ShapeIsolate, ShapeOneWay}
	if len(g.cfg.Nodes) >= 3 {
		shapes = append(shapes, ShapeRing, ShapeBridge)
	}
	grudge, detail := g.grudge(shapes[g.rng.IntN(len(shapes))])
	g.add(Event{At: start, Kind: Partition, F: FStartPartition, Grudge: grudge, Detail: detail})
	g.add(Event{At: stop, Kind: Partition, F: FStopPartition, Detail: detail})
}

// grudge builds a grudge of the given shape over a random ordering of the nodes.
func (g *generator) grudge(shape string) (map[string][]string, string) {
	nodes := g.shuffled()
	n := len(nodes)
	gr := map[string][]string{}
	switch shape {
	case ShapeIsolate:
		x, rest := nodes[0], sorted(nodes[1:])
		cut(gr, []string{x}, rest)
		cut(gr, rest, []string{x})
		return tidy(gr), "isolate " + x + " | " + strings.Join(rest, ",")
	case ShapeOneWay:
		a, b := sorted(nodes[:n/2]), sorted(nodes[n/2:])
		cut(gr, b, a) // b drops what a sends; a still hears b
		return tidy(gr), "one-way " + strings.Join(a, ",") + " -/-> " + strings.Join(b, ",")
	case ShapeBridge:
		bridge, rest := nodes[0], nodes[1:]
		a, b := sorted(rest[:len(rest)/2]), sorted(rest[len(rest)/2:])
		cut(gr, a, b)
		cut(gr, b, a)
		return tidy(gr), "bridge " + strings.Join(a, ",") + " <" + bridge + "> " + strings.Join(b, ",")
	case ShapeRing:
		return tidy(ring(nodes)), "majorities ring " + strings.Join(nodes, ",")
	}
	a, b := sorted(nodes[:n/2]), sorted(nodes[n/2:])
	cut(gr, a, b)
	cut(gr, b, a)
	return tidy(gr), "halves " + strings.Join(a, ",") + " | " + strings.Join(b, ",")
}

// ring returns the majorities-ring grudge of nodes in ring order: each node hears itself and
// the next majority-1 nodes around it (half on each side, the odd one after it).
func ring(nodes []string) map[string][]string {
	n := len(nodes)
	m := n/2 + 1
	k := (m - 1) / 2
	extra := (m - 1) % 2
	gr := map[string][]string{}
	for i, x := range nodes {
		hears := map[int]bool{}
		for d := -k; d <= k+extra; d++ {
			hears[((i+d)%n+n)%n] = true
		}
		for j, y := range nodes {
			if !hears[j] {
				gr[x] = append(gr[x], y)
			}
		}
	}
	return gr
}

// cut makes every node of from drop what the nodes of peers send.
func cut(gr map[string][]string, from, peers []string) {
	for _, a := range from {
		gr[a] = append(gr[a], peers...)
	}
}

// tidy sorts and deduplicates each grudge list and drops empty ones.
func tidy(gr map[string][]string) map[string][]string {
	for k, v := range gr {
		slices.Sort(v)
		v = slices.Compact(v)
		if len(v) == 0 {
			delete(gr, k)
			continue
		}
		gr[k] = v
	}
	return gr
}

func sorted(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
