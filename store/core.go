package store

import (
	"fmt"

	"github.com/rs/zerolog"
)

// newCore builds the replication core of cfg.Mode on env (see env.go): the leaderless core
// (core_leaderless.go) or the multi-leader one.
func newCore(cfg Config, env Env, stats *Stats, log zerolog.Logger) (Core, error) {
	switch cfg.Mode {
	case "leaderless":
		return newLLCore(cfg, env, stats, log)
	case "multileader":
		return newMLCore(cfg, env, stats, log)
	}
	return nil, fmt.Errorf("store: Mode %q: want leaderless or multileader", cfg.Mode)
}
