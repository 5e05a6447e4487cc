package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// junitDoc is what the suite tests read back from the JUnit XML.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Cases []struct {
			Name string `xml:"name,attr"`
			Time string `xml:"time,attr"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// runSuite runs `faultline suite examples/<file> --runtime rt` (flags after FILE, as the usage
// line shows them), fails t unless every verdict was the expected one (exit 0), and returns the
// JUnit XML it wrote, parsed.
func runSuite(t *testing.T, file, rt string) junitDoc {
	t.Helper()
	dir := t.TempDir()
	junit := filepath.Join(dir, "out", "junit.xml")
	out, errOut, code := runBinary(t, "--log-level", "warn", "suite", filepath.Join("..", "..", "examples", file),
		"--runtime", rt, "--results", filepath.Join(dir, "results"), "--junit", junit)
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	if code != exitValid {
		t.Errorf("exit code: got %d, want %d (every verdict as expected)", code, exitValid)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("JUnit XML: %v\n%s", err, b)
	}
	return doc
}

// TestSuiteCI runs examples/ci.yaml (the calibration pairs) on the local runtime: every verdict
// is the expected one and the JUnit XML parses.
func TestSuiteCI(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	doc := runSuite(t, "ci.yaml", "local")
	if doc.Tests != 4 || doc.Failures != 0 || doc.Errors != 0 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 4 {
		t.Errorf("JUnit totals: got %d tests, %d failures, %d errors, want 4, 0, 0", doc.Tests, doc.Failures, doc.Errors)
	}
}

func TestSuiteBadFile(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"yaml", "tests:\n  - name: a\n    expect: maybe\n", `line 3: expect "maybe"`},
		{"run flag", "tests:\n  - name: a\n    expect: valid\n  - name: b\n    expect: valid\n    flags: {w: 9}\n", `line 4: test "b": w (9) must be between 1 and n (3)`},
		{"unknown flag", "tests:\n  - name: a\n    expect: valid\n    args: [--colour, red]\n", `line 2: test "a": flag provided but not defined: -colour`},
		{"runtime", "tests:\n  - name: a\n    expect: valid\n    flags: {runtime: k8s}\n", `--runtime "k8s"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "s.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			env := &appEnv{stdout: &out, stderr: &errOut}
			if code := runMain(env, []string{"faultline", "suite", file}); code != exitCannotRun {
				t.Errorf("exit code: got %d, want %d", code, exitCannotRun)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr: got %q, want it to contain %q", errOut.String(), tc.want)
			}
		})
	}
}
