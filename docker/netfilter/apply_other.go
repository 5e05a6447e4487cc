//go:build !linux

package netfilter

import "errors"

// ErrUnsupported is returned by Apply and List outside Linux.
var ErrUnsupported = errors.New("netfilter: nftables needs Linux")

// Apply is Linux-only; see apply_linux.go.
func Apply(Rules) error { return ErrUnsupported }

// List is Linux-only; see apply_linux.go.
func List() (int, error) { return 0, ErrUnsupported }

// ProbeNetem is Linux-only; see netem_linux.go.
func ProbeNetem() (bool, error) { return false, ErrUnsupported }
