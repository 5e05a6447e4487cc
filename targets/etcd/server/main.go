// Command etcd is etcd's own server, unchanged: faultline's etcd target builds it from the Go
// module proxy as a static binary for its FROM-scratch image. It lives in a module of its own so
// the faultline module does not take on the etcd server's dependency graph.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
