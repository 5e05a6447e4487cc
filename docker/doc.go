// Package docker is the Docker runtime: it runs a faultline store cluster as containers on one
// Docker engine and injects real faults into it, all through the Engine API
// (github.com/docker/docker/client), never the docker CLI, so a remote engine (DOCKER_HOST) works
// the same as a local one.
//
// # Image
//
// The engine pulls nothing: EnsureImage builds an image FROM scratch holding only a static
// (CGO_ENABLED=0) faultline binary, an empty /data owned by the non-root user 65534, and no
// shell. Its tag carries a hash of the binary, so an unchanged binary is never rebuilt.
// StaticBinary finds or builds that binary.
//
// # Cluster
//
// A run gets one bridge network with a /24 chosen from Config.SubnetPool (deterministically from
// the run id, skipping subnets in use, retried on conflict) and, per node, two containers:
//
//   - a network holder ("<name>-net", command `faultline container hold`) that owns the node's
//     network namespace and fixed address and has CAP_NET_ADMIN and no other capability;
//   - the node itself (`faultline node --id ... --listen 0.0.0.0:PORT --peers ... --data /data`
//     plus ClusterSpec.NodeArgs), which joins the holder's namespace, runs as user 65534 with
//     every capability dropped, and keeps /data in its writable layer across kill and restart.
//
// Because the namespace belongs to the holder, the node's nftables rules survive the node being
// killed and started again: a restarted node never runs without its partition. Everything carries
// the label faultline.run=<run id>; Teardown and Prune remove it.
//
// # Faults
//
//   - Partition and loss: nftables rules in the node's namespace (package docker/netfilter),
//     installed by an exec of `faultline container netfilter` as root in the holder; each call
//     replaces the node's whole table atomically. Rules match the source addresses of peer nodes
//     only, so the harness keeps reaching every node.
//   - Delay: per-link delay goes through Config.Transport (the node's own transport delay, set
//     through its admin API; StoreTransport by default). The kernel's netem is probed (at Start,
//     or earlier with ProbeNetem) and reported by Mechanisms, but delay through netem is not
//     implemented yet: the machines this was built on have no netem.
//   - Crash: the engine's kill with SIGKILL, then start. Pause: the engine's pause (cgroup freezer).
//
// Clients reach a node at its bridge address when the engine is local, and at a port published
// on the engine's host when DOCKER_HOST points elsewhere (Config.Publish).
//
// # Remote engines
//
// The client is configured from the environment (DOCKER_HOST, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH, DOCKER_API_VERSION): a unix:// or tcp:// engine works; ssh:// needs the docker
// CLI's connection helper and is not supported. The image is built for the harness's own CPU
// architecture, which must match the engine's. Everything else, including the rules and probes,
// goes through the Engine API (exec, logs), so nothing but the API has to reach the engine.
package docker
