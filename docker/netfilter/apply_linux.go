//go:build linux

package netfilter

import (
	"encoding/binary"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Apply replaces the table "faultline" of the current network namespace with r, in one atomic
// netlink batch. It needs CAP_NET_ADMIN. Applying empty Rules removes the table.
func Apply(r Rules) error {
	if err := r.Validate(); err != nil {
		return err
	}
	r = r.Normalize()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netfilter: opening netlink: %w", err)
	}
	// add + delete + add in one batch: the delete never fails (the table exists), and the
	// kernel commits the whole batch or none of it.
	t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
	c.AddTable(t)
	c.DelTable(t)
	if !r.Empty() {
		t = c.AddTable(&nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4})
		policy := nftables.ChainPolicyAccept
		ch := c.AddChain(&nftables.Chain{
			Name:     "input",
			Table:    t,
			Type:     nftables.ChainTypeFilter,
			Hooknum:  nftables.ChainHookInput,
			Priority: nftables.ChainPriorityFilter,
			Policy:   &policy,
		})
		for _, a := range r.Drop {
			ip, _ := parseIPv4(a) // validated above
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(saddrIs(ip.As4()),
				&expr.Verdict{Kind: expr.VerdictDrop})})
		}
		for _, l := range r.Loss {
			ip, _ := parseIPv4(l.Source)
			bound := make([]byte, 4)
			binary.BigEndian.PutUint32(bound, threshold(l.Probability))
			exprs := append(saddrIs(ip.As4()),
				&expr.Numgen{Register: 1, Modulus: LossScale, Type: unix.NFT_NG_RANDOM},
				// numgen writes host byte order; cmp compares bytes, so convert first.
				&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
				&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: bound},
				&expr.Verdict{Kind: expr.VerdictDrop},
			)
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: exprs})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("netfilter: installing %d drop and %d loss rules: %w", len(r.Drop), len(r.Loss), err)
	}
	return nil
}

// saddrIs matches packets whose IPv4 source address is ip.
func saddrIs(ip [4]byte) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip[:]},
	}
}

// List returns the rules currently in the table "faultline" as the number of rules in its input
// chain (0 when the table is absent). It is for tests and diagnostics.
func List() (int, error) {
	c, err := nftables.New()
	if err != nil {
		return 0, fmt.Errorf("netfilter: opening netlink: %w", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return 0, fmt.Errorf("netfilter: listing tables: %w", err)
	}
	for _, t := range tables {
		if t.Name != TableName {
			continue
		}
		rules, err := c.GetRules(t, &nftables.Chain{Name: "input", Table: t})
		if err != nil {
			return 0, fmt.Errorf("netfilter: listing rules: %w", err)
		}
		return len(rules), nil
	}
	return 0, nil
}
