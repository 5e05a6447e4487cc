package store

// bucketDeadHints holds hints their target refused as invalid (key \x00 target \x00 seq ->
// deadHint JSON): set aside so that they no longer hold up handoff, and kept so that no write is
// silently lost. GET /admin/hints/dead lists them.
var bucketDeadHints = []byte("dead_hints")

// deadHint is a hint set aside: what it held and why its target refused it.
type deadHint struct {
	Key    string `json:"key"`
	Target string `json:"target"`
	Rec    Record `json:"record"`
	Error  string `json:"error"` // the refusal
	At     int64  `json:"at"`    // unix ns, this node's clock
}
