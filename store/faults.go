package store

import (
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"time"

	"github.com/faultline/faultline/client"
)

// Faults is the node's transport fault filter. Drop: peers this node must not hear; requests to
// and from them are silently lost (the sender waits out its timeout; a held inbound request is
// not applied). Links: per peer, every message this node sends to it (its requests and its
// responses) is delayed by Delay and lost with probability Loss: a directed link, as netem on
// the sender's interface would be, so a harness link From->To goes on From's filter alone and a
// symmetric pair delays a round trip by twice Delay, not four times.
type Faults struct {
	mu    sync.Mutex
	drop  map[string]bool
	links map[string]client.LinkFault
	rng   *rand.Rand
}

func newFaults(seed int64) *Faults {
	return &Faults{drop: map[string]bool{}, links: map[string]client.LinkFault{}, rng: rand.New(rand.NewSource(seed))}
}

// Set replaces the whole filter. Unknown peer ids are rejected so a typo cannot silently heal,
// and so is self, the node the filter belongs to (it has no link to itself).
func (f *Faults) Set(w client.FaultsWire, peers map[string]string, self string) error {
	drop := map[string]bool{}
	for _, p := range w.Drop {
		if _, ok := peers[p]; !ok {
			return fmt.Errorf("drop: unknown peer %q", p)
		}
		if p == self {
			return fmt.Errorf("drop: %q is this node (a node is never partitioned from itself)", p)
		}
		drop[p] = true
	}
	links := map[string]client.LinkFault{}
	for p, l := range w.Links {
		if _, ok := peers[p]; !ok {
			return fmt.Errorf("links: unknown peer %q", p)
		}
		if l.Loss < 0 || l.Loss > 1 {
			return fmt.Errorf("links[%s].loss %v out of range 0..1", p, l.Loss)
		}
		if l.DelayMS < 0 || l.DelayMS > 600000 {
			return fmt.Errorf("links[%s].delay_ms %v out of range 0..600000", p, l.DelayMS)
		}
		if p == self {
			return fmt.Errorf("links: %q is this node (a link needs another node)", p)
		}
		links[p] = client.LinkFault{Delay: time.Duration(l.DelayMS * float64(time.Millisecond)), Loss: l.Loss}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop, f.links = drop, links
	return nil
}

// Wire returns the filter as its JSON form.
func (f *Faults) Wire() client.FaultsWire {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := client.FaultsWire{Drop: []string{}, Links: map[string]client.LinkWire{}}
	for p := range f.drop {
		w.Drop = append(w.Drop, p)
	}
	sort.Strings(w.Drop)
	for p, l := range f.links {
		w.Links[p] = client.LinkWire{DelayMS: float64(l.Delay) / float64(time.Millisecond), Loss: l.Loss}
	}
	return w
}

// active reports whether any fault applies to messages exchanged with peer.
func (f *Faults) active(peer string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, link := f.links[peer]
	return f.drop[peer] || link
}

// verdict decides the fate of one message exchanged with peer, sent by this node (out) or
// received from peer (in): lost (dropped or lost) and the delay to add. Drops act both ways;
// link faults only on what this node sends (peer's own filter handles what peer sends).
func (f *Faults) verdict(peer string, out bool) (dropped, lost bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.drop[peer] {
		return true, false, 0
	}
	if !out {
		return false, false, 0
	}
	l, ok := f.links[peer]
	if !ok {
		return false, false, 0
	}
	if l.Loss > 0 && f.rng.Float64() < l.Loss {
		return false, true, 0
	}
	return false, false, l.Delay
}
