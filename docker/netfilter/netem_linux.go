//go:build linux

package netfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ProbeNetem reports whether the kernel offers the netem queueing discipline: it adds a netem
// qdisc to the loopback interface of the current network namespace and removes it again. It
// returns (false, nil) when the kernel answers that netem is unknown, and an error when it cannot
// ask (no CAP_NET_ADMIN, no netlink). Run it inside a node's namespace, never on the host.
func ProbeNetem() (bool, error) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return false, fmt.Errorf("netfilter: netem probe: finding lo: %w", err)
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		return false, fmt.Errorf("netfilter: netem probe: dialing rtnetlink: %w", err)
	}
	defer c.Close()

	ae := netlink.NewAttributeEncoder()
	ae.String(unix.TCA_KIND, "netem")
	opt := make([]byte, 24) // struct tc_netem_qopt: latency, limit, loss, gap, duplicate, jitter
	binary.NativeEndian.PutUint32(opt[4:], 1000)
	ae.Bytes(unix.TCA_OPTIONS, opt)
	attrs, err := ae.Encode()
	if err != nil {
		return false, fmt.Errorf("netfilter: netem probe: encoding: %w", err)
	}
	add := netlink.Message{
		Header: netlink.Header{
			Type:  unix.RTM_NEWQDISC,
			Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl,
		},
		Data: append(tcmsg(lo.Index), attrs...),
	}
	if _, err := c.Execute(add); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			return false, nil
		}
		return false, fmt.Errorf("netfilter: netem probe: adding a netem qdisc to lo: %w", err)
	}
	del := netlink.Message{
		Header: netlink.Header{Type: unix.RTM_DELQDISC, Flags: netlink.Request | netlink.Acknowledge},
		Data:   tcmsg(lo.Index),
	}
	if _, err := c.Execute(del); err != nil {
		return true, fmt.Errorf("netfilter: netem probe: removing the probe qdisc from lo: %w", err)
	}
	return true, nil
}

// tcmsg is struct tcmsg for the root qdisc of interface index.
func tcmsg(index int) []byte {
	b := make([]byte, 20) // family, pad[3], ifindex, handle, parent, info
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[12:], 0xFFFFFFFF) // TC_H_ROOT
	return b
}
