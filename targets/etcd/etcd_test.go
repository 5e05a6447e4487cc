package etcd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/faultline/faultline/harness"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/workloads"
)

// TestClassify: only errors etcd returns before proposing anything are definite fails; timeouts,
// a lost leader and an unreachable member are indeterminate.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		fail bool
	}{
		{"deadline", context.DeadlineExceeded, false},
		{"timeout", rpctypes.ErrTimeout, false},
		{"no leader", rpctypes.ErrNoLeader, false},
		{"leader changed", rpctypes.ErrLeaderChanged, false},
		{"unavailable", status.Error(codes.Unavailable, "connection refused"), false},
		{"too many requests", rpctypes.ErrTooManyRequests, true},
		{"too large", rpctypes.ErrRequestTooLarge, true},
		{"invalid argument", status.Error(codes.InvalidArgument, "bad"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := errors.Is(classify(tc.err), workloads.ErrFailed)
			if got != tc.fail {
				t.Errorf("fail: got %v, want %v", got, tc.fail)
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

func TestCheck(t *testing.T) {
	cfg := harness.DefaultConfig()
	cfg.Nodes = 3
	for _, tc := range []struct {
		name string
		edit func(*harness.Config)
		want string // "" = accepted
	}{
		{"default", func(*harness.Config) {}, ""},
		{"serializable", func(c *harness.Config) { c.TargetOptions = map[string]string{"reads": "serializable"} }, ""},
		{"crdt", func(c *harness.Config) { c.Workload, c.CRDT = "set", true }, "no CRDTs"},
		{"reads", func(c *harness.Config) { c.TargetOptions = map[string]string{"reads": "eventual"} }, `reads "eventual"`},
		{"option", func(c *harness.Config) { c.TargetOptions = map[string]string{"w": "1"} }, `option "w"`},
		{"nodes", func(c *harness.Config) { c.Nodes = 9 }, "nodes (9)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.edit(&c)
			err := Target{}.Check(c)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestLaunch: each member gets its name, URLs on its own address and the whole initial cluster.
func TestLaunch(t *testing.T) {
	spec, err := Target{Image: "img"}.Nodes(harness.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	l := spec.Launch
	v := harness.Vars([]string{"n1", "n2", "n3"}, []string{"10.0.0.2", "10.0.0.3", "10.0.0.4"},
		[]int{ClientPort, ClientPort, ClientPort}, []int{PeerPort, PeerPort, PeerPort}, 1, "/data")
	args, err := harness.Expand(l.Args, v)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"--name":                  "n2",
		"--data-dir":              "/data/etcd",
		"--listen-client-urls":    "http://10.0.0.3:2379",
		"--listen-peer-urls":      "http://10.0.0.3:2380",
		"--initial-cluster":       "n1=http://10.0.0.2:2380,n2=http://10.0.0.3:2380,n3=http://10.0.0.4:2380",
		"--advertise-client-urls": "http://10.0.0.3:2379",
	}
	for flag, val := range want {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) || args[i+1] != val {
			t.Errorf("%s: got %q, want %q", flag, args, val)
		}
	}
	if l.Image != "img" || l.Port != ClientPort || l.PeerPort != PeerPort {
		t.Errorf("launch: got %+v", l)
	}
}

func TestDumpValue(t *testing.T) {
	if got := dumpValue("register", "7"); !got.Equal(history.Int(7)) {
		t.Errorf("register: got %v", got)
	}
	if got := dumpValue("set", "3,1,3"); !got.Equal(history.List(1, 3)) {
		t.Errorf("set: got %v", got)
	}
	if got := dumpValue("counter", "12"); !got.Equal(history.Int(12)) {
		t.Errorf("counter: got %v", got)
	}
}
