package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"time"
)

// Label says what an event is, for the trace. Its fields are plain values so that scheduling
// an event formats nothing; the trace writes them when the event fires.
type Label struct {
	Kind string // e.g. "deliver", "timer", "crash"
	Node string // the node it happens at ("" = the world)
	Peer string // the other end, for messages
	ID   uint64 // message or timer id
	Text string // anything else (a message kind, a timer name)
}

// Trace is the run's deterministic log: one line per fired event and per decision the world
// takes (a message sent, lost or dropped; a crash and what it lost), hashed as it is written.
// Two runs from the same seed and scenario produce the same bytes, so the same Sum.
//
// A line is "<virtual ns> <seq> <kind> <node> <peer> <id> <text>", "-" for empty fields.
type Trace struct {
	h     hash.Hash
	lines int64
	keep  bool
	kept  []byte
	buf   []byte
}

// NewTrace returns an empty trace; with keep it also retains the lines (Bytes), for debugging
// and golden files; without, only the hash and the line count.
func NewTrace(keep bool) *Trace { return &Trace{h: sha256.New(), keep: keep} }

// add writes one line.
func (t *Trace) add(at time.Duration, seq uint64, l Label) {
	b := t.buf[:0]
	b = strconv.AppendInt(b, int64(at), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, ' ')
	b = appendField(b, l.Kind)
	b = append(b, ' ')
	b = appendField(b, l.Node)
	b = append(b, ' ')
	b = appendField(b, l.Peer)
	b = append(b, ' ')
	b = strconv.AppendUint(b, l.ID, 10)
	b = append(b, ' ')
	b = appendField(b, l.Text)
	b = append(b, '\n')
	t.h.Write(b)
	if t.keep {
		t.kept = append(t.kept, b...)
	}
	t.buf = b
	t.lines++
}

func appendField(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return append(b, s...)
}

// Lines is the number of lines written.
func (t *Trace) Lines() int64 { return t.lines }

// Sum is the hex sha256 of everything written so far.
func (t *Trace) Sum() string { return hex.EncodeToString(t.h.Sum(nil)) }

// Bytes returns the retained lines (nil unless the trace keeps them).
func (t *Trace) Bytes() []byte { return t.kept }
