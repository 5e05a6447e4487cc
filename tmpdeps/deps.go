package tmpdeps

import (
	_ "github.com/anishathalye/porcupine"
	_ "github.com/docker/docker/api/types/container"
	_ "github.com/docker/docker/api/types/network"
	_ "github.com/docker/docker/api/types/image"
	_ "github.com/docker/docker/api/types/build"
	_ "github.com/docker/docker/api/types/filters"
	_ "github.com/docker/docker/api/types"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/docker/pkg/stdcopy"
	_ "github.com/google/nftables"
	_ "github.com/google/nftables/expr"
	_ "github.com/rs/zerolog"
	_ "github.com/urfave/cli/v2"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/term"
	_ "gopkg.in/yaml.v3"
	_ "olympos.io/encoding/edn"
)
