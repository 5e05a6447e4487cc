package harness

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

// Expand expands the Launch templates args for one node. Besides the fields of LaunchVars, a
// template may call nodes FORMAT SEP, which formats every node with FORMAT ({id}, {ip}, {port}
// and {peer_port} replaced) and joins them with SEP, e.g. for etcd's --initial-cluster:
//
//	{{nodes "{id}=http://{ip}:{peer_port}" ","}}
func Expand(args []string, v LaunchVars) ([]string, error) {
	funcs := template.FuncMap{
		"nodes": func(format, sep string) string {
			parts := make([]string, len(v.Nodes))
			for i, n := range v.Nodes {
				parts[i] = strings.NewReplacer(
					"{id}", n.ID, "{ip}", n.IP,
					"{port}", strconv.Itoa(n.Port), "{peer_port}", strconv.Itoa(n.PeerPort),
				).Replace(format)
			}
			return strings.Join(parts, sep)
		},
	}
	out := make([]string, len(args))
	for i, a := range args {
		t, err := template.New("arg").Funcs(funcs).Option("missingkey=error").Parse(a)
		if err != nil {
			return nil, fmt.Errorf("harness: launch argument %q: %w", a, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, v); err != nil {
			return nil, fmt.Errorf("harness: launch argument %q: %w", a, err)
		}
		out[i] = b.String()
	}
	return out, nil
}

// Vars are the template variables of node i when nodes listen at ips with the given ports and
// data directory.
func Vars(ids, ips []string, ports, peerPorts []int, i int, data string) LaunchVars {
	v := LaunchVars{ID: ids[i], IP: ips[i], Port: ports[i], PeerPort: peerPorts[i], Data: data}
	peers := make([]string, len(ids))
	for j, id := range ids {
		v.Nodes = append(v.Nodes, LaunchNode{ID: id, IP: ips[j], Port: ports[j], PeerPort: peerPorts[j]})
		peers[j] = id + "=" + ips[j] + ":" + strconv.Itoa(ports[j])
	}
	v.Peers = strings.Join(peers, ",")
	return v
}
