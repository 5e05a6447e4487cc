//go:build !unix

package simrt

import "time"

func cpuTime() time.Duration { return 0 } // not measured
