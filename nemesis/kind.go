package nemesis

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is a kind of fault.
type Kind string

// The fault kinds, in their canonical order.
const (
	Partition Kind = "partition" // network partitions (grudges)
	Kill      Kind = "kill"      // SIGKILL and restart
	Pause     Kind = "pause"     // SIGSTOP and SIGCONT
	Clock     Kind = "clock"     // clock bumps and strobes
	Delay     Kind = "delay"     // added link delay
	Loss      Kind = "loss"      // link packet loss
)

// AllKinds returns every fault kind in canonical order.
func AllKinds() []Kind { return []Kind{Partition, Kill, Pause, Clock, Delay, Loss} }

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(AllKinds(), k) }

const specHelp = "want none, all, or a comma list of partition,kill,pause,clock,delay,loss"

// ParseSpec parses a --nemesis value: "none" (no faults), "all", or a comma-separated list of
// kinds (case and spaces around items ignored, repeats allowed). The kinds come back distinct,
// in canonical order; "none" gives an empty, non-nil slice.
func ParseSpec(s string) ([]Kind, error) {
	spec := strings.ToLower(strings.TrimSpace(s))
	switch spec {
	case "":
		return nil, fmt.Errorf("nemesis: empty fault spec: %s", specHelp)
	case "none":
		return []Kind{}, nil
	case "all":
		return AllKinds(), nil
	}
	seen := map[Kind]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		k := Kind(strings.TrimSpace(item))
		switch {
		case k == "":
			return nil, fmt.Errorf("nemesis: fault spec %q has an empty item: %s", s, specHelp)
		case k == "none" || k == "all":
			return nil, fmt.Errorf("nemesis: fault spec %q: %q cannot be combined with other faults", s, string(k))
		case !k.Valid():
			return nil, fmt.Errorf("nemesis: fault spec %q: unknown fault %q: %s", s, string(k), specHelp)
		}
		seen[k] = true
	}
	var out []Kind
	for _, k := range AllKinds() {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out, nil
}

// FormatSpec is the inverse of ParseSpec: "none", "all", or the comma list.
func FormatSpec(kinds []Kind) string {
	if len(kinds) == 0 {
		return "none"
	}
	if slices.Equal(kinds, AllKinds()) {
		return "all"
	}
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}
