package docker

import (
	"net/netip"
	"testing"
)

func TestCandidateSubnets(t *testing.T) {
	pool := netip.MustParsePrefix("10.213.0.0/16")
	got := candidateSubnets(pool, "run-a")
	if len(got) != 256 {
		t.Fatalf("got %d candidates, want 256", len(got))
	}
	seen := map[netip.Prefix]bool{}
	for _, p := range got {
		if p.Bits() != 24 || !pool.Contains(p.Addr()) || seen[p] {
			t.Fatalf("candidate %s: want a new /24 inside %s", p, pool)
		}
		seen[p] = true
	}
	again := candidateSubnets(pool, "run-a")
	if again[0] != got[0] {
		t.Errorf("got first %s then %s for the same run, want the same", got[0], again[0])
	}
	if other := candidateSubnets(pool, "run-b"); other[0] == got[0] {
		t.Errorf("runs a and b both start at %s, want different starts", got[0])
	}
	small := candidateSubnets(netip.MustParsePrefix("192.168.7.0/24"), "x")
	if len(small) != 1 || small[0] != netip.MustParsePrefix("192.168.7.0/24") {
		t.Errorf("got %v for a /24 pool, want just the pool", small)
	}
}

func TestNodeIPAndGateway(t *testing.T) {
	sub := netip.MustParsePrefix("10.213.4.0/24")
	tests := []struct {
		i    int
		want string
	}{{0, "10.213.4.10"}, {1, "10.213.4.11"}, {4, "10.213.4.14"}}
	for _, tc := range tests {
		if got := nodeIP(sub, tc.i).String(); got != tc.want {
			t.Errorf("nodeIP(%s, %d) = %s, want %s", sub, tc.i, got, tc.want)
		}
	}
	if got := gateway(sub).String(); got != "10.213.4.1" {
		t.Errorf("gateway(%s) = %s, want 10.213.4.1", sub, got)
	}
}

func TestOverlapsAny(t *testing.T) {
	used := []netip.Prefix{netip.MustParsePrefix("10.213.0.0/20"), netip.MustParsePrefix("172.17.0.0/16")}
	tests := []struct {
		p    string
		want bool
	}{{"10.213.3.0/24", true}, {"10.213.16.0/24", false}, {"172.17.9.0/24", true}, {"10.0.0.0/8", true}}
	for _, tc := range tests {
		if got := overlapsAny(netip.MustParsePrefix(tc.p), used); got != tc.want {
			t.Errorf("overlapsAny(%s) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	base := DefaultConfig()
	base.Binary = "faultline"
	if err := base.Validate(); err != nil {
		t.Fatalf("default config with a binary: got %v, want nil", err)
	}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no binary or image", func(c *Config) { c.Binary = "" }},
		{"port 0", func(c *Config) { c.Port = 0 }},
		{"pool /25", func(c *Config) { c.SubnetPool = "10.0.0.0/25" }},
		{"pool ipv6", func(c *Config) { c.SubnetPool = "fd00::/64" }},
		{"pool /4", func(c *Config) { c.SubnetPool = "16.0.0.0/4" }},
		{"publish bad", func(c *Config) { c.Publish = "sometimes" }},
		{"no node command", func(c *Config) { c.NodeCommand = nil }},
		{"parallel 0", func(c *Config) { c.Parallel = 0 }},
		{"exec timeout 0", func(c *Config) { c.ExecTimeout = 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			before := c
			if err := c.Validate(); err == nil {
				t.Errorf("got nil, want an error")
			}
			if c.Port != before.Port || c.SubnetPool != before.SubnetPool || c.Publish != before.Publish {
				t.Errorf("Validate changed the config")
			}
		})
	}
}
