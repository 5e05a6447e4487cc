package docker

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"strings"

	"github.com/docker/docker/api/types/network"
)

// candidateSubnets lists the /24s of pool in the order a run tries them: starting at an offset
// derived from the run id (so parallel runs start apart), wrapping around.
func candidateSubnets(pool netip.Prefix, runID string) []netip.Prefix {
	pool = pool.Masked()
	count := 1 << (24 - pool.Bits())
	h := fnv.New32a()
	h.Write([]byte(runID))
	first := int(h.Sum32() % uint32(count))
	base := pool.Addr().As4()
	out := make([]netip.Prefix, 0, count)
	for i := 0; i < count; i++ {
		k := (first + i) % count
		a := base
		a[1] += byte(k >> 8)
		a[2] += byte(k)
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(a), 24))
	}
	return out
}

// nodeIP is the fixed address of the i-th node (0-based): .10, .11, ... of the subnet.
func nodeIP(subnet netip.Prefix, i int) netip.Addr {
	a := subnet.Addr().As4()
	a[3] = byte(10 + i)
	return netip.AddrFrom4(a)
}

// gateway is the bridge's address in subnet: .1.
func gateway(subnet netip.Prefix) netip.Addr {
	a := subnet.Addr().As4()
	a[3] = 1
	return netip.AddrFrom4(a)
}

// usedPrefixes are the subnets of the engine's networks and, for a local engine, the host's own.
func (r *Runtime) usedPrefixes(ctx context.Context) ([]netip.Prefix, error) {
	nets, err := r.cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("docker: listing networks: %w", err)
	}
	var used []netip.Prefix
	for _, n := range nets {
		for _, c := range n.IPAM.Config {
			if p, err := netip.ParsePrefix(c.Subnet); err == nil {
				used = append(used, p)
			}
		}
	}
	if remote, _ := r.remote(); !remote {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					used = append(used, p)
				}
			}
		}
	}
	return used, nil
}

// createNetwork creates the run's bridge network on the first free candidate /24 and returns
// its name. A subnet taken between listing and creating (a parallel run) moves on to the next.
func (r *Runtime) createNetwork(ctx context.Context) (string, error) {
	pool, _ := netip.ParsePrefix(r.cfg.SubnetPool) // validated by New
	used, err := r.usedPrefixes(ctx)
	if err != nil {
		return "", err
	}
	name := "faultline-" + nameUnsafe.ReplaceAllString(r.spec.RunID, "_")
	tried := 0
	for _, sub := range candidateSubnets(pool, r.spec.RunID) {
		if overlapsAny(sub, used) {
			continue
		}
		tried++
		_, err := r.cli.NetworkCreate(ctx, name, network.CreateOptions{
			Driver: "bridge",
			IPAM: &network.IPAM{Config: []network.IPAMConfig{{
				Subnet:  sub.String(),
				Gateway: gateway(sub).String(),
			}}},
			Labels: r.labels("network", ""),
		})
		if err == nil {
			r.subnet = sub
			return name, nil
		}
		if !strings.Contains(err.Error(), "overlap") || tried >= 16 {
			return "", fmt.Errorf("docker: creating network %s on %s: %w", name, sub, err)
		}
		r.log.Debug().Str("subnet", sub.String()).Err(err).Msg("subnet taken; trying the next")
		used = append(used, sub)
	}
	return "", fmt.Errorf("docker: creating network %s: no free /24 left in %s", name, pool)
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if p.Overlaps(u) {
			return true
		}
	}
	return false
}
