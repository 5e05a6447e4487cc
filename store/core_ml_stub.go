package store

import (
	"errors"

	"github.com/rs/zerolog"
)

// newMLCore is a placeholder until the multi-leader core exists (core_multileader.go replaces
// this file).
func newMLCore(Config, Env, *Stats, zerolog.Logger) (Core, error) {
	return nil, errors.New("store: the multi-leader core is not built yet")
}
