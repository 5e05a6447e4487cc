package nemesis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// History op names of nemesis events (history.Op.F).
const (
	FStartPartition = "start-partition"
	FStopPartition  = "stop-partition"
	FKill           = "kill"
	FRestart        = "restart"
	FPause          = "pause"
	FResume         = "resume"
	FClockBump      = "clock-bump"
	FClockReset     = "clock-reset"
	FStartDelay     = "start-delay"
	FStopDelay      = "stop-delay"
	FStartLoss      = "start-loss"
	FStopLoss       = "stop-loss"
)

// Link is a fault on the directed link From -> To.
type Link struct {
	From, To string
	Delay    time.Duration // added one-way delay (0: none)
	Loss     float64       // probability in [0,1] that a message is dropped
}

// Event is one action of a schedule: a fault starting or stopping.
type Event struct {
	At     time.Duration       // when, since the run started
	Kind   Kind                // the fault family
	F      string              // the action, one of the F* names; also the history op's f
	Node   string              // target node (kill, restart, pause, resume, clock-*)
	Grudge map[string][]string // start-partition: grudge[a] = peers a must not hear
	Links  []Link              // start-delay, start-loss: the faulty links
	Offset time.Duration       // clock-bump: the node's clock offset (clock-reset: 0)
	Detail string              // readable description, e.g. "halves n1,n2 | n3,n4,n5"
}

// String describes e for a person, e.g. "kill n3" or "start-partition halves n1,n2 | n3,n4,n5".
func (e Event) String() string {
	switch {
	case e.Detail != "":
		return e.F + " " + e.Detail
	case e.Node != "":
		return e.F + " " + e.Node
	}
	return e.F
}

// Schedule is a planned sequence of events, sorted by At.
type Schedule struct {
	Seed     int64
	Nodes    []string
	Faults   []Kind
	Interval time.Duration
	Duration time.Duration
	Events   []Event
}

// Executed is an event as it ran: its actual time since the run started, how long the action
// took, and its error, if any.
type Executed struct {
	Event
	Actual time.Duration
	Took   time.Duration
	Error  string
}

// jsonDuration encodes a duration as Go's duration string ("1.5s"); it decodes that or a number
// of nanoseconds.
type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, time.Duration(d).String()), nil
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return fmt.Errorf("nemesis: duration %s: %w", b, err)
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("nemesis: duration %s: %w", b, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("nemesis: duration %s: want a string like \"1.5s\" or nanoseconds", b)
	}
	*d = jsonDuration(n)
	return nil
}

type linkJSON struct {
	From  string       `json:"from"`
	To    string       `json:"to"`
	Delay jsonDuration `json:"delay,omitempty"`
	Loss  float64      `json:"loss,omitempty"`
}

// MarshalJSON encodes l as {"from":"n1","to":"n2","delay":"100ms","loss":0.2}.
func (l Link) MarshalJSON() ([]byte, error) {
	return json.Marshal(linkJSON{l.From, l.To, jsonDuration(l.Delay), l.Loss})
}

// UnmarshalJSON decodes MarshalJSON's form.
func (l *Link) UnmarshalJSON(b []byte) error {
	var j linkJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = Link{From: j.From, To: j.To, Delay: time.Duration(j.Delay), Loss: j.Loss}
	return nil
}

type eventJSON struct {
	At     jsonDuration        `json:"at"`
	Kind   Kind                `json:"kind"`
	F      string              `json:"f"`
	Node   string              `json:"node,omitempty"`
	Grudge map[string][]string `json:"grudge,omitempty"`
	Links  []Link              `json:"links,omitempty"`
	Offset jsonDuration        `json:"offset,omitempty"`
	Detail string              `json:"detail,omitempty"`
}

func toEventJSON(e Event) eventJSON {
	return eventJSON{jsonDuration(e.At), e.Kind, e.F, e.Node, e.Grudge, e.Links, jsonDuration(e.Offset), e.Detail}
}

func (j eventJSON) event() Event {
	return Event{At: time.Duration(j.At), Kind: j.Kind, F: j.F, Node: j.Node, Grudge: j.Grudge,
		Links: j.Links, Offset: time.Duration(j.Offset), Detail: j.Detail}
}

// MarshalJSON encodes e with durations as strings, e.g.
// {"at":"5.5s","kind":"kill","f":"kill","node":"n3","detail":"n3"}.
func (e Event) MarshalJSON() ([]byte, error) { return json.Marshal(toEventJSON(e)) }

// UnmarshalJSON decodes MarshalJSON's form.
func (e *Event) UnmarshalJSON(b []byte) error {
	var j eventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = j.event()
	return nil
}

type executedJSON struct {
	eventJSON
	Actual jsonDuration `json:"actual"`
	Took   jsonDuration `json:"took"`
	Error  string       `json:"error,omitempty"`
}

// MarshalJSON encodes x as its event's fields plus "actual", "took" and "error".
func (x Executed) MarshalJSON() ([]byte, error) {
	return json.Marshal(executedJSON{toEventJSON(x.Event), jsonDuration(x.Actual), jsonDuration(x.Took), x.Error})
}

// UnmarshalJSON decodes MarshalJSON's form.
func (x *Executed) UnmarshalJSON(b []byte) error {
	var j executedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*x = Executed{Event: j.event(), Actual: time.Duration(j.Actual), Took: time.Duration(j.Took), Error: j.Error}
	return nil
}

type scheduleJSON struct {
	Seed     int64        `json:"seed"`
	Nodes    []string     `json:"nodes"`
	Faults   []Kind       `json:"faults"`
	Interval jsonDuration `json:"interval"`
	Duration jsonDuration `json:"duration"`
	Events   []Event      `json:"events"`
}

// MarshalJSON encodes s with durations as strings (the form of schedule.json).
func (s Schedule) MarshalJSON() ([]byte, error) {
	return json.Marshal(scheduleJSON{s.Seed, s.Nodes, s.Faults, jsonDuration(s.Interval), jsonDuration(s.Duration), s.Events})
}

// UnmarshalJSON decodes MarshalJSON's form.
func (s *Schedule) UnmarshalJSON(b []byte) error {
	var j scheduleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Schedule{Seed: j.Seed, Nodes: j.Nodes, Faults: j.Faults, Interval: time.Duration(j.Interval),
		Duration: time.Duration(j.Duration), Events: j.Events}
	return nil
}
