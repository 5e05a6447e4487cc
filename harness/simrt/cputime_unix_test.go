//go:build unix

package simrt

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time, which other load on a shared machine
// disturbs far less than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
