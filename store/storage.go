package store

import (
	"encoding/json"
	"errors"
	"fmt"
)

var (
	bucketData  = []byte("data")  // key -> Record JSON (keys this node replicates)
	bucketHints = []byte("hints") // key \x00 target -> Record JSON (writes held for an unreachable replica)
	bucketOwn   = []byte("own")   // key -> this node's own counter contribution {p, n}
	bucketMeta  = []byte("meta")  // "seq" -> sequence high-water mark; "layout" -> Config.DataLayout
)

const seqBlock = 1 << 16 // sequence numbers reserved per durable bump

// errLayout: the data dir was written under another Config.DataLayout.
var errLayout = errors.New("wrong data layout")

// errClosed is returned for writes after close.
var errClosed = errors.New("store: storage closed")

func decodeRecord(v []byte) (Record, error) {
	var r Record
	if v == nil {
		return r, nil
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("store: corrupt record: %w", err)
	}
	return r, nil
}

// mergeResult is what a merge did: the digests of the old and new encodings (0 = absent).
type mergeResult struct {
	OldDigest, NewDigest uint64
	Changed              bool
	Cur                  Record // the merged record
}

// hint is one stored hint.
type hint struct {
	Key, Target string
	Rec         Record
	raw         []byte
}
