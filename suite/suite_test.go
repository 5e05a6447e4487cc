package suite

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/checker"
)

const good = `name: demo
defaults:
  flags: {nodes: 3, time: 4s}
tests:
  - name: stale
    args: [--w, "1", --r, "1"]
    expect: invalid
  - name: abd
    flags:
      consistency: abd
      nemesis: [partition, kill]
      read-repair: false
    expect: valid
`

func TestParse(t *testing.T) {
	s, err := Parse([]byte(good), "dir/ci.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "demo" {
		t.Errorf("name: got %q, want demo", s.Name)
	}
	if got, want := s.Args, []string{"--nodes=3", "--time=4s"}; !slices.Equal(got, want) {
		t.Errorf("defaults: got %q, want %q", got, want)
	}
	if len(s.Tests) != 2 {
		t.Fatalf("tests: got %d, want 2", len(s.Tests))
	}
	cases := []struct {
		name   string
		args   []string
		expect checker.Verdict
		line   int
	}{
		{"stale", []string{"--w", "1", "--r", "1"}, checker.Invalid, 5},
		{"abd", []string{"--consistency=abd", "--nemesis=partition,kill", "--read-repair=false"}, checker.Valid, 8},
	}
	for i, tc := range cases {
		got := s.Tests[i]
		if got.Name != tc.name || !slices.Equal(got.Args, tc.args) || got.Expect != tc.expect || got.Line != tc.line {
			t.Errorf("test %d: got %q %q %v line %d, want %q %q %v line %d", i, got.Name, got.Args, got.Expect, got.Line,
				tc.name, tc.args, tc.expect, tc.line)
		}
	}
	s2, err := Parse([]byte("tests:\n  - {name: a, expect: valid}\n"), "x/nightly.yml")
	if err != nil || s2.Name != "nightly" {
		t.Errorf("default name: got %v %v, want nightly", s2, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"not yaml", "tests: [", "ci.yaml"},
		{"scalar", "hello", "line 1: want a mapping"},
		{"no tests", "name: x\n", "line 1: no tests list"},
		{"empty tests", "tests: []\n", "tests: want a non-empty list"},
		{"unknown top", "tests:\n  - {name: a, expect: valid}\nextra: 1\n", `line 3: unknown field "extra"`},
		{"bad expect", "tests:\n  - name: a\n    expect: maybe\n", `line 3: expect "maybe": want valid or invalid`},
		{"no expect", "tests:\n  - name: a\n", `line 2: test "a": no expect`},
		{"no name", "tests:\n  - expect: valid\n", "line 2: a test without a name"},
		{"duplicate", "tests:\n  - {name: a, expect: valid}\n  - {name: a, expect: invalid}\n", `line 3: test "a": name already used on line 2`},
		{"unknown test field", "tests:\n  - name: a\n    expect: valid\n    timeout: 3\n", `line 4: unknown field "timeout"`},
		{"args not a list", "tests:\n  - name: a\n    expect: valid\n    args: --w 1\n", "line 4: args: want a list"},
		{"flags not a map", "tests:\n  - name: a\n    expect: valid\n    flags: [w]\n", "line 4: flags: want a mapping"},
		{"nested flag", "tests:\n  - name: a\n    expect: valid\n    flags: {w: {x: 1}}\n", "flag w: want a value or a list"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), "ci.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrBadSuite) {
				t.Errorf("got %v, want it to wrap ErrBadSuite", err)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	s, err := Parse([]byte(good), "ci.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Select([]string{"nope"}); err == nil || !strings.Contains(err.Error(), `no test "nope" (have stale, abd)`) {
		t.Errorf("got %v, want an error naming the tests", err)
	}
	if err := s.Select([]string{"abd"}); err != nil || len(s.Tests) != 1 || s.Tests[0].Name != "abd" {
		t.Errorf("got %v %v, want only abd", s.Names(), err)
	}
}

// junit mirrors the JUnit XML CI systems read.
type junit struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name    string `xml:"name,attr"`
		Skipped int    `xml:"skipped,attr"`
		Cases   []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
			Out     string    `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestRunAndJUnit(t *testing.T) {
	s, err := Parse([]byte(`name: demo
tests:
  - {name: pass, expect: invalid}
  - {name: wrong, expect: valid}
  - {name: broken, expect: valid}
  - {name: later, expect: valid}
`), "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := func(_ context.Context, tc Test) Outcome {
		switch tc.Name {
		case "pass":
			return Outcome{Verdict: checker.Invalid, Invalid: []string{"linearizable"}, Dir: "r/1", Summary: "a <stale> read ]]> here"}
		case "wrong":
			return Outcome{Verdict: checker.Invalid, Invalid: []string{"lost-updates"}}
		}
		cancel() // "broken" cannot run, then the suite is interrupted: "later" is not run
		return Outcome{Err: errors.New("no engine")}
	}
	var progress bytes.Buffer
	rep := Run(ctx, s, run, &progress)
	if p, f, e := rep.Counts(); p != 1 || f != 1 || e != 1 || len(rep.Cases) != 3 {
		t.Errorf("counts: got %d passed %d failed %d errors over %d cases, want 1 1 1 over 3", p, f, e, len(rep.Cases))
	}
	if rep.OK() {
		t.Errorf("OK: got true, want false")
	}
	var sum bytes.Buffer
	if err := rep.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL: got invalid, want valid", "ERROR: no engine", "1 passed, 1 failed, 1 could not run, 1 not run"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary: want %q in\n%s", want, sum.String())
		}
	}
	var out bytes.Buffer
	if err := rep.WriteJUnit(&out); err != nil {
		t.Fatal(err)
	}
	var doc junit
	if err := xml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit XML does not parse: %v\n%s", err, out.String())
	}
	if doc.Tests != 4 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 1 || doc.Suites[0].Skipped != 1 {
		t.Errorf("totals: got %+v, want 4 tests, 1 failure, 1 error, 1 skipped", doc)
	}
	cs := doc.Suites[0].Cases
	if len(cs) != 4 {
		t.Fatalf("testcases: got %d, want 4", len(cs))
	}
	if cs[0].Failure != nil || cs[0].Error != nil || !strings.Contains(cs[0].Out, "a <stale> read ]]> here") {
		t.Errorf("pass: got %+v, want no failure and the summary kept verbatim", cs[0])
	}
	if cs[1].Failure == nil || cs[2].Error == nil || cs[3].Skipped == nil {
		t.Errorf("got wrong=%v broken=%v later=%v, want a failure, an error and a skip", cs[1].Failure, cs[2].Error, cs[3].Skipped)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("tests:\n  - {name: a, expect: valid, flags: {w: [1, 2]}}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b, "f.yaml")
		if err != nil {
			if !errors.Is(err, ErrBadSuite) {
				t.Fatalf("error %v does not wrap ErrBadSuite", err)
			}
			return
		}
		if len(s.Tests) == 0 {
			t.Fatalf("parsed a suite without tests")
		}
		for _, tc := range s.Tests {
			if tc.Name == "" || (tc.Expect != checker.Valid && tc.Expect != checker.Invalid) {
				t.Fatalf("bad test %+v", tc)
			}
		}
	})
}
