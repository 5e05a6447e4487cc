package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/faultline/faultline/client"
)

// StoreTransport is the NodeTransport of faultline's own store: it sets a node's delays through
// its admin API with the store client (client.SetFaults). It replaces the node's whole transport
// fault filter, so node transport drop and loss, which this runtime does in netfilter, stay off.
type StoreTransport struct {
	_ struct{}
}

// SetDelays implements NodeTransport.
func (StoreTransport) SetDelays(ctx context.Context, addr, token string, delays map[string]time.Duration) error {
	links := map[string]client.LinkFault{}
	for peer, d := range delays {
		links[peer] = client.LinkFault{Delay: d}
	}
	if err := client.New(addr, client.WithAdminToken(token)).SetFaults(ctx, client.Faults{Links: links}); err != nil {
		return fmt.Errorf("docker: setting transport delays on %s: %w", addr, err)
	}
	return nil
}
