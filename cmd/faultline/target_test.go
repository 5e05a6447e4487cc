package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/faultline/faultline/docker/dockertest"
)

// TestSuiteEtcd runs examples/etcd.yaml, the etcd calibration pair, on Docker with etcd's real
// server: linearizable reads stay valid under partitions, kills and pauses; serializable reads
// are found invalid under partitions. Every verdict must be the expected one.
func TestSuiteEtcd(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	dockertest.Require(t)
	dir := t.TempDir()
	junit := filepath.Join(dir, "junit.xml")
	out, errOut, code := runBinary(t, "--log-level", "warn", "suite", filepath.Join("..", "..", "examples", "etcd.yaml"),
		"--runtime", "docker", "--results", filepath.Join(dir, "results"), "--junit", junit)
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	if code != exitValid {
		t.Errorf("exit code: got %d, want %d (every verdict as expected)", code, exitValid)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit XML: %v\n%s", err, b)
	}
	if doc.Tests != 2 || doc.Failures != 0 || doc.Errors != 0 {
		t.Errorf("JUnit totals: got %d tests, %d failures, %d errors, want 2, 0, 0", doc.Tests, doc.Failures, doc.Errors)
	}
}
