// Package netfilter describes the packet filter a faultline node's network namespace gets from the
// Docker runtime, and installs it with nftables (github.com/google/nftables). The Docker runtime
// builds a Rules value on the host and sends it as JSON to `faultline container netfilter`, which
// runs as root inside the node's network namespace and calls Apply.
//
// Everything lives in one nftables table, "faultline" (family ip), with one input chain; Apply
// replaces the whole table in a single netlink batch, so a grudge changes atomically and no other
// table (Docker's own, say) is touched. Only packets whose source address is a peer node's are
// matched, so the harness, which reaches nodes from the bridge gateway or through published ports,
// is never cut off.
package netfilter

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
)

// TableName is the nftables table Apply owns and replaces.
const TableName = "faultline"

// LossScale is the resolution of Loss.Probability: the rule draws a random number in
// [0, LossScale) and drops the packet when it is below Probability*LossScale.
const LossScale = 10000

// Rules is the whole filter of one node: packets from Drop are all dropped; packets from a Loss
// source are dropped at random with its probability. The zero value removes every rule.
type Rules struct {
	// Drop lists source IPv4 addresses whose packets are dropped (a partition).
	Drop []string `json:"drop,omitempty"`
	// Loss lists sources whose packets are dropped at random.
	Loss []Loss `json:"loss,omitempty"`
}

// Loss drops packets from Source with Probability in [0,1].
type Loss struct {
	Source      string  `json:"source"`
	Probability float64 `json:"probability"`
}

// Empty reports whether r installs no rule.
func (r Rules) Empty() bool { return len(r.Drop) == 0 && len(r.Loss) == 0 }

// Validate checks that every address is IPv4 and every probability is in [0,1].
func (r Rules) Validate() error {
	for _, a := range r.Drop {
		if _, err := parseIPv4(a); err != nil {
			return err
		}
	}
	for _, l := range r.Loss {
		if _, err := parseIPv4(l.Source); err != nil {
			return err
		}
		if !(l.Probability >= 0 && l.Probability <= 1) {
			return fmt.Errorf("netfilter: loss probability %v for %s: want a value in [0,1]", l.Probability, l.Source)
		}
	}
	return nil
}

// Normalize returns r with sorted, de-duplicated drops, loss entries sorted by source, sources
// already dropped or with probability 0 removed. Two equal grudges normalize to equal Rules.
func (r Rules) Normalize() Rules {
	var out Rules
	drop := map[string]bool{}
	for _, a := range r.Drop {
		drop[a] = true
	}
	for a := range drop {
		out.Drop = append(out.Drop, a)
	}
	slices.Sort(out.Drop)
	seen := map[string]bool{}
	for _, l := range r.Loss {
		if drop[l.Source] || seen[l.Source] || l.Probability <= 0 {
			continue
		}
		seen[l.Source] = true
		if l.Probability >= 1 {
			out.Drop = append(out.Drop, l.Source)
			continue
		}
		out.Loss = append(out.Loss, l)
	}
	slices.Sort(out.Drop)
	slices.SortFunc(out.Loss, func(a, b Loss) int {
		switch {
		case a.Source < b.Source:
			return -1
		case a.Source > b.Source:
			return 1
		}
		return 0
	})
	return out
}

// Encode returns r as JSON.
func (r Rules) Encode() string {
	b, _ := json.Marshal(r) // a struct of strings and floats always marshals
	return string(b)
}

// Decode parses and validates JSON written by Encode.
func Decode(s string) (Rules, error) {
	var r Rules
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return Rules{}, fmt.Errorf("netfilter: decoding rules %q: %w", s, err)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// threshold is the numgen bound for a probability: drop when random mod LossScale < threshold.
func threshold(p float64) uint32 {
	t := uint32(p*LossScale + 0.5)
	if t > LossScale {
		t = LossScale
	}
	return t
}

func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("netfilter: address %q: want an IPv4 address", s)
	}
	return a, nil
}
