package store

// The leaderless internal requests as Requests (env.go): each one's route on the internal API
// and the type of its answer. The JSON shapes are today's (leaderless.go, internal.go).

// pingReq is a probe of a suspected peer (/internal/ping); its body is "{}".
type pingReq struct{}

func (readReq) route() string       { return "/internal/read" }
func (writeReq) route() string      { return "/internal/write" }
func (coordinateReq) route() string { return "/internal/coordinate" }
func (treeReq) route() string       { return "/internal/ae/tree" }
func (syncReq) route() string       { return "/internal/ae/sync" }
func (pingReq) route() string       { return "/internal/ping" }

func (readReq) answer() any       { return new(readResp) }
func (writeReq) answer() any      { return nil }
func (coordinateReq) answer() any { return nil }
func (treeReq) answer() any       { return new(treeResp) }
func (syncReq) answer() any       { return new(syncResp) }
func (pingReq) answer() any       { return nil }

func (*pingReq) limit(*internalRules) int64 { return internalSmallBody }
func (*pingReq) check(*internalRules) error { return nil }

// leaderlessRequest returns a new zero value of the leaderless request served at route (a
// pointer, ready to decode a body into), or nil if route is not one of them.
func leaderlessRequest(route string) Request {
	switch route {
	case "/internal/read":
		return &readReq{}
	case "/internal/write":
		return &writeReq{}
	case "/internal/coordinate":
		return &coordinateReq{}
	case "/internal/ae/tree":
		return &treeReq{}
	case "/internal/ae/sync":
		return &syncReq{}
	case "/internal/ping":
		return &pingReq{}
	}
	return nil
}

var (
	_ Request = readReq{}
	_ Request = writeReq{}
	_ Request = coordinateReq{}
	_ Request = treeReq{}
	_ Request = syncReq{}
	_ Request = pingReq{}
)

// internalRequest returns a new zero value (a pointer) of the internal request served at
// route, or nil: what a shell or the simulator decodes a peer's request into.
func internalRequest(route string) Request {
	return leaderlessRequest(route)
}
