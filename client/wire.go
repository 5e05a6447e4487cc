package client

// Wire types of the node's HTTP/JSON API (docs/API.md). The store imports them so that the server
// and this client cannot drift apart.

// Outcome values carried by an error body.
const (
	OutcomeFailed        = "failed"        // definitely not applied
	OutcomeIndeterminate = "indeterminate" // may have been applied
)

// ErrorBody is the JSON body of every non-2xx answer.
type ErrorBody struct {
	Error   string `json:"error"`
	Outcome string `json:"outcome,omitempty"` // OutcomeFailed or OutcomeIndeterminate; empty on 4xx
}

// GetResponse answers GET /kv/{key}.
type GetResponse struct {
	Key     string   `json:"key"`
	Values  []string `json:"values"`  // empty when absent; more than one = siblings (vclock)
	Context string   `json:"context"` // opaque causal context; pass it back on the next put
}

// PutRequest is the body of PUT /kv/{key}.
type PutRequest struct {
	Value   string `json:"value"`
	Context string `json:"context,omitempty"`
}

// IncrRequest is the body of POST /counter/{key}.
type IncrRequest struct {
	Delta int64 `json:"delta"`
}

// CounterResponse answers GET /counter/{key}.
type CounterResponse struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

// SetAddRequest is the body of POST /set/{key}.
type SetAddRequest struct {
	Element string `json:"element"`
}

// SetResponse answers GET /set/{key}.
type SetResponse struct {
	Key      string   `json:"key"`
	Elements []string `json:"elements"`
}

// OKResponse answers a successful write.
type OKResponse struct {
	OK bool `json:"ok"`
}

// HealthResponse answers GET /health.
type HealthResponse struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// ClockWire is the body of GET and PUT /admin/clock (NowUnixNS is ignored on PUT).
type ClockWire struct {
	OffsetMS  float64 `json:"offset_ms"`
	DriftPPM  float64 `json:"drift_ppm"`
	NowUnixNS int64   `json:"now_unix_ns,omitempty"`
}

// LinkWire is one peer's link fault in FaultsWire.
type LinkWire struct {
	DelayMS float64 `json:"delay_ms"`
	Loss    float64 `json:"loss"`
}

// FaultsWire is the body of GET and PUT /admin/faults.
type FaultsWire struct {
	Drop  []string            `json:"drop"`
	Links map[string]LinkWire `json:"links"`
}
