package suite

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faultline/faultline/checker"
)

// Outcome is what running one test gave.
type Outcome struct {
	Verdict checker.Verdict
	Invalid []string // the deciding checkers that found an anomaly
	Dir     string   // the run folder
	Summary string   // a few lines for the report (verdict explanation, counts)
	Err     error    // the test could not be run; Verdict is then meaningless
}

// RunFunc runs one test.
type RunFunc func(ctx context.Context, t Test) Outcome

// Case is one test's result.
type Case struct {
	Test     Test
	Outcome  Outcome
	Duration time.Duration
}

// Passed reports whether the test ran and its verdict was the expected one.
func (c Case) Passed() bool { return c.Outcome.Err == nil && c.Outcome.Verdict == c.Test.Expect }

// Report is a suite's result.
type Report struct {
	Suite    *Suite
	Cases    []Case
	Started  time.Time
	Duration time.Duration
}

// Run runs the tests one after another. ctx cancellation stops before the next test; the
// tests not run are not in the report.
func Run(ctx context.Context, s *Suite, run RunFunc, progress io.Writer) *Report {
	r := &Report{Suite: s, Started: time.Now()}
	for i, t := range s.Tests {
		if ctx.Err() != nil {
			break
		}
		if progress != nil {
			fmt.Fprintf(progress, "[%d/%d] %s (expect %s)\n", i+1, len(s.Tests), t.Name, t.Expect)
		}
		start := time.Now()
		out := run(ctx, t)
		c := Case{Test: t, Outcome: out, Duration: time.Since(start)}
		r.Cases = append(r.Cases, c)
		if progress != nil {
			fmt.Fprintf(progress, "[%d/%d] %s: %s\n", i+1, len(s.Tests), t.Name, c.status())
		}
	}
	r.Duration = time.Since(r.Started)
	return r
}

// status is "PASS (invalid as expected)", "FAIL: got valid, want invalid" or "ERROR: ...".
func (c Case) status() string {
	switch {
	case c.Outcome.Err != nil:
		return "ERROR: " + c.Outcome.Err.Error()
	case c.Passed():
		return fmt.Sprintf("PASS (%s as expected)", c.Outcome.Verdict)
	}
	return fmt.Sprintf("FAIL: got %s, want %s", c.Outcome.Verdict, c.Test.Expect)
}

// Counts returns how many cases passed, failed (wrong verdict) and erred (could not run).
func (r *Report) Counts() (passed, failed, errored int) {
	for _, c := range r.Cases {
		switch {
		case c.Outcome.Err != nil:
			errored++
		case c.Passed():
			passed++
		default:
			failed++
		}
	}
	return
}

// OK reports whether every test of the suite ran and got its expected verdict.
func (r *Report) OK() bool {
	p, _, _ := r.Counts()
	return p == len(r.Suite.Tests)
}

// WriteSummary writes one line per test and a total.
func (r *Report) WriteSummary(w io.Writer) error {
	var b strings.Builder
	width := 0
	for _, c := range r.Cases {
		width = max(width, len(c.Test.Name))
	}
	for _, c := range r.Cases {
		fmt.Fprintf(&b, "%-*s  %-40s %6s  %s\n", width, c.Test.Name, c.status(), c.Duration.Round(100*time.Millisecond), c.Outcome.Dir)
	}
	p, f, e := r.Counts()
	notRun := len(r.Suite.Tests) - len(r.Cases)
	fmt.Fprintf(&b, "suite %s: %d passed, %d failed, %d could not run", r.Suite.Name, p, f, e)
	if notRun > 0 {
		fmt.Fprintf(&b, ", %d not run", notRun)
	}
	fmt.Fprintf(&b, " (%s)\n", r.Duration.Round(time.Second))
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit XML, as read by Jenkins, GitLab and GitHub test reporters.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the report as JUnit XML: one testcase per test, a failure for a wrong
// verdict, an error for a test that could not run, skipped for tests not reached.
func (r *Report) WriteJUnit(w io.Writer) error {
	_, f, e := r.Counts()
	name := r.Suite.Name
	if name == "" {
		name = "faultline"
	}
	js := junitSuite{Name: name, Tests: len(r.Suite.Tests), Failures: f, Errors: e,
		Skipped: len(r.Suite.Tests) - len(r.Cases), Time: seconds(r.Duration),
		Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05")}
	for _, c := range r.Cases {
		jc := junitCase{Name: c.Test.Name, Classname: "faultline." + name, Time: seconds(c.Duration)}
		out := []string{fmt.Sprintf("expect: %s", c.Test.Expect), "flags: " + strings.Join(c.Test.Args, " ")}
		if c.Outcome.Dir != "" {
			out = append(out, "run folder: "+c.Outcome.Dir)
		}
		if c.Outcome.Summary != "" {
			out = append(out, c.Outcome.Summary)
		}
		jc.SystemOut = &junitText{Text: strings.Join(out, "\n")}
		switch {
		case c.Outcome.Err != nil:
			jc.Error = &junitProblem{Message: c.Outcome.Err.Error(), Type: "could-not-run"}
		case !c.Passed():
			msg := fmt.Sprintf("got %s, want %s", c.Outcome.Verdict, c.Test.Expect)
			if len(c.Outcome.Invalid) > 0 {
				msg += " (invalid: " + strings.Join(c.Outcome.Invalid, ", ") + ")"
			}
			jc.Failure = &junitProblem{Message: msg, Type: "verdict", Text: c.Outcome.Summary}
		}
		js.Cases = append(js.Cases, jc)
	}
	for _, t := range r.Suite.Tests[len(r.Cases):] {
		js.Cases = append(js.Cases, junitCase{Name: t.Name, Classname: "faultline." + name, Time: "0.000",
			Skipped: &junitProblem{Message: "not run (the suite was interrupted)"}})
	}
	doc := junitSuites{Name: "faultline", Tests: js.Tests, Failures: f, Errors: e, Time: js.Time, Suites: []junitSuite{js}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("suite: junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("suite: junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("suite: junit: %w", err)
	}
	return nil
}
