package harness_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/faultline/faultline/harness"
)

// fakeTarget takes the fault kinds it is given and nothing else.
type fakeTarget struct{ faults []string }

func (f fakeTarget) Name() string                   { return "fake" }
func (f fakeTarget) Faults() []string               { return f.faults }
func (f fakeTarget) Check(cfg harness.Config) error { return nil }
func (f fakeTarget) Nodes(harness.Config) (harness.NodeSpec, error) {
	return harness.NodeSpec{Launch: &harness.Launch{Args: []string{"x"}}}, nil
}
func (f fakeTarget) Open(context.Context, harness.Config, harness.ClusterSpec, []harness.Node) (harness.Cluster, error) {
	return nil, errors.New("not for running")
}

// TestCheckTargetRefusesFaults: a fault kind the target cannot take is refused with an error
// naming the kind and what the target takes; one it takes passes.
func TestCheckTargetRefusesFaults(t *testing.T) {
	cfg := harness.DefaultConfig()
	tg := fakeTarget{faults: []string{"partition", "kill"}}
	for _, tc := range []struct {
		nemesis []string
		want    string // "" = accepted
	}{
		{[]string{"partition", "kill"}, ""},
		{nil, ""},
		{[]string{"partition", "clock"}, "target fake cannot take clock faults (it takes: partition, kill)"},
		{[]string{"delay"}, "target fake cannot take delay faults"},
	} {
		t.Run(strings.Join(tc.nemesis, "+"), func(t *testing.T) {
			cfg.Nemesis = tc.nemesis
			err := harness.CheckTarget(cfg, tg, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("got %v, want accepted", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, harness.ErrUnsupportedFault)):
				t.Errorf("got %v, want an ErrUnsupportedFault containing %q", err, tc.want)
			}
		})
	}
}

// TestExpand: launch templates see the node's fields and the nodes helper.
func TestExpand(t *testing.T) {
	ids, ips := []string{"n1", "n2"}, []string{"10.0.0.2", "10.0.0.3"}
	v := harness.Vars(ids, ips, []int{2379, 2379}, []int{2380, 2380}, 1, "/data")
	got, err := harness.Expand([]string{
		"--name={{.ID}}", "http://{{.IP}}:{{.Port}}", "{{.Data}}/x", "{{.Peers}}",
		`{{nodes "{id}=http://{ip}:{peer_port}" ","}}`,
	}, v)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--name=n2", "http://10.0.0.3:2379", "/data/x", "n1=10.0.0.2:2379,n2=10.0.0.3:2379",
		"n1=http://10.0.0.2:2380,n2=http://10.0.0.3:2380"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := harness.Expand([]string{"{{.Nope}}"}, v); err == nil {
		t.Error("got no error for an unknown field, want one")
	}
}
