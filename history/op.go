// Package history is the operation record of a faultline run: the Op type, whole histories, and
// their encodings (JSON Lines, Jepsen EDN, Jepsen text).
//
// It is a leaf package: everything else (workloads, nemesis, checkers, harness, reports) speaks
// in its types, and it imports nothing of the project.
package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Type is the kind of an operation record, as in Jepsen.
type Type string

// The four op types. An invocation is completed by exactly one of ok, fail or info.
const (
	Invoke Type = "invoke" // the client sent the request
	OK     Type = "ok"     // it definitely happened
	Fail   Type = "fail"   // it definitely did not happen
	Info   Type = "info"   // indeterminate: it may or may not have happened (timeouts, crashes)
)

// Valid reports whether t is one of the four op types.
func (t Type) Valid() bool {
	switch t {
	case Invoke, OK, Fail, Info:
		return true
	}
	return false
}

// Process identifies the logical client that issued an op. Client processes are numbered from
// 0; the nemesis is the special process NemesisProcess, encoded as "nemesis".
type Process int

// NemesisProcess is the process of fault-injection ops.
const NemesisProcess Process = -1

// IsNemesis reports whether p is the nemesis.
func (p Process) IsNemesis() bool { return p == NemesisProcess }

// String returns the process number, or "nemesis".
func (p Process) String() string {
	if p == NemesisProcess {
		return "nemesis"
	}
	return strconv.Itoa(int(p))
}

// MarshalJSON encodes client processes as numbers and the nemesis as "nemesis".
func (p Process) MarshalJSON() ([]byte, error) {
	if p == NemesisProcess {
		return []byte(`"nemesis"`), nil
	}
	return strconv.AppendInt(nil, int64(p), 10), nil
}

// UnmarshalJSON accepts a non-negative integer or "nemesis".
func (p *Process) UnmarshalJSON(b []byte) error {
	if string(b) == `"nemesis"` {
		*p = NemesisProcess
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("process %s: want a non-negative integer or \"nemesis\"", Clip(string(b)))
	}
	*p = Process(n)
	return nil
}

// Kind says which of its forms a Value holds.
type Kind uint8

// Value kinds.
const (
	KindNil  Kind = iota // no value: an absent register, or an op without an argument
	KindInt              // one integer: a register value, an increment, a counter read
	KindList             // a list of integers: a set read, cas [old new], siblings
)

// Value is an op's argument or result: nil, an integer, or a list of integers. Its JSON forms
// are null, 7 and [1,2,3]. The zero Value is nil.
type Value struct {
	Kind Kind
	Int  int64
	List []int64
}

// Nil returns the nil value.
func Nil() Value { return Value{} }

// Int returns an integer value.
func Int(i int64) Value { return Value{Kind: KindInt, Int: i} }

// List returns a list value (an empty list is not nil: it is a read of an empty set).
func List(xs ...int64) Value {
	if xs == nil {
		xs = []int64{}
	}
	return Value{Kind: KindList, List: xs}
}

// IsNil reports whether v holds no value.
func (v Value) IsNil() bool { return v.Kind == KindNil }

// Equal reports whether v and w hold the same value.
func (v Value) Equal(w Value) bool {
	if v.Kind != w.Kind {
		return false
	}
	switch v.Kind {
	case KindInt:
		return v.Int == w.Int
	case KindList:
		if len(v.List) != len(w.List) {
			return false
		}
		for i := range v.List {
			if v.List[i] != w.List[i] {
				return false
			}
		}
	}
	return true
}

// String renders v as in JSON.
func (v Value) String() string {
	b, _ := v.MarshalJSON()
	return string(b)
}

// MarshalJSON encodes v as null, an integer, or an array of integers.
func (v Value) MarshalJSON() ([]byte, error) {
	return v.AppendJSON(nil), nil
}

// AppendJSON appends v's JSON form to b.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.Kind {
	case KindInt:
		return strconv.AppendInt(b, v.Int, 10)
	case KindList:
		b = append(b, '[')
		for i, x := range v.List {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, x, 10)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

// UnmarshalJSON accepts null, an integer, or an array of integers.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*v = Value{}
		return nil
	case len(b) > 0 && b[0] == '[':
		var xs []int64
		if err := json.Unmarshal(b, &xs); err != nil {
			return fmt.Errorf("value %s: want null, an integer or a list of integers", Clip(string(b)))
		}
		*v = List(xs...)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("value %s: want null, an integer or a list of integers", Clip(string(b)))
	}
	*v = Int(n)
	return nil
}

// Op is one record of a history: an invocation or a completion of an operation, or a nemesis
// event. Its JSON Lines form is
//
//	{"index":0,"time":1234567,"process":3,"type":"invoke","f":"write","key":"k1","value":7,"node":"n2"}
type Op struct {
	Index   int64   `json:"index"`           // position in the history, from 0
	Time    int64   `json:"time"`            // nanoseconds since the run started
	Process Process `json:"process"`         // client process, or "nemesis"
	Type    Type    `json:"type"`            // invoke, ok, fail or info
	F       string  `json:"f"`               // operation: read, write, cas, add, incr, ... or a fault name
	Key     string  `json:"key,omitempty"`   // the key operated on ("" for single-register histories)
	Value   Value   `json:"value"`           // argument (invoke) or result (completion)
	Node    string  `json:"node,omitempty"`  // the node the client contacted, or the fault's target
	Error   string  `json:"error,omitempty"` // why an op failed or is indeterminate
	// Detail describes a nemesis op in words, e.g. "grudge n1,n2 | n3,n4,n5" or "n3 +2.5s".
	Detail string `json:"detail,omitempty"`
	// Line is where the op was read from (1-based line in its file), for error messages; 0 when
	// the op was not read from a file. It is not encoded.
	Line int `json:"-"`
}

// Common operation names used by the workloads and understood by the checkers.
const (
	FRead  = "read"  // register read (value: nil or int), set read (list), counter read (int)
	FWrite = "write" // register write (value: int)
	FCAS   = "cas"   // compare-and-set (value: [old new])
	FAdd   = "add"   // set add (value: the element)
	FIncr  = "incr"  // counter increment (value: the delta)
)
