package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/faultline/faultline/compare"
)

// sweep runs `faultline compare` on the local runtime over 3 nodes under partitions (4 s cells,
// seed 3) with the given consistency and W, R lists plus extra flags, and returns its terminal
// output, its results and table folders, and compare.csv's rows as column -> value.
func sweep(t *testing.T, runtime, consistency, ws, rs string, extra ...string) (stdout, results, out string, rows []map[string]string) {
	t.Helper()
	results, out = t.TempDir(), t.TempDir()
	args := append([]string{"--log-level", "warn", "compare", "--runtime", runtime, "--nodes", "3",
		"--consistency", consistency, "--w", ws, "--r", rs, "--nemesis", "partition",
		"--time", "4s", "--nemesis-interval", "1s", "--rate", "100", "--keys", "2", "--concurrency", "6",
		"--seed", "3", "--results", results, "--out", out}, extra...)
	cmd := exec.Command(binary, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("compare: %v\nstderr:\n%s", err, se.String())
	}
	f, err := os.Open(filepath.Join(out, "compare.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("compare.csv: %v (%d lines)", err, len(recs))
	}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return so.String(), results, out, rows
}

// TestCompareQuorumTheory sweeps W,R over 1..3 at N=3 with abd under partitions on the local
// runtime: every strict quorum (W+R>N) must be linearizable, and the partial quorums whose
// reads a partitioned minority can serve alone (R=1: W=1 R=1, W=2 R=1) must not be.
//
// W=1 R=2 is a partial quorum too, but abd's write starts with a query of R=2 replicas and then
// sends to every replica it reaches, so under partitions alone a write acknowledged at W=1 has
// already reached a majority-side peer within a millisecond: any two replicas meet it except in
// that window. Its anomaly needs the write's messages lost after its query got through (loss or
// a partition starting between the two phases), which a 4 s run rarely draws; the cell is logged,
// not asserted, and its availability matches W=2 R=2 (both ride on R=2).
// TestComparePartialQuorumsWithoutQueryPhase asserts W+R<=N, W=1 R=2 included, on lww.
//
// It runs on the local runtime (real processes, real timing) and on the simulator, where the
// same seed gives the same verdicts on any machine: the two must agree (issue 11's agreement).
func TestCompareQuorumTheory(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	for _, rt := range []string{"local", "sim"} {
		t.Run(rt, func(t *testing.T) { quorumTheory(t, rt) })
	}
}

func quorumTheory(t *testing.T, runtime string) {
	stdout, results, out, rows := sweep(t, runtime, "abd", "1,2,3", "1,2,3")
	t.Logf("table:\n%s", stdout)

	lines := 0
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "abd W=") {
			lines++
		}
	}
	if lines != 9 {
		t.Errorf("terminal table: got %d rows, want 9", lines)
	}

	if len(rows) != 9 {
		t.Fatalf("compare.csv: got %d rows, want 9", len(rows))
	}
	for _, rec := range rows {
		w, _ := strconv.Atoi(rec["w"])
		r, _ := strconv.Atoi(rec["r"])
		runs, lin := rec["runs"], rec["linearizable"]
		name := "abd W=" + rec["w"] + " R=" + rec["r"]
		if runs != "1" {
			t.Errorf("%s: got %s runs with a verdict (errors %s), want 1", name, runs, rec["errors"])
			continue
		}
		switch {
		case w+r > 3 && lin != "1":
			// A failure here at W<R was the store's abd using the write quorum for the write's
			// query phase: a W=1 write picked a timestamp below the latest one and was lost.
			t.Errorf("%s: strict quorum with abd: got %s/1 runs linearizable, want 1/1 (see %s)", name, lin, results)
		case r == 1 && w < 3 && lin != "0":
			t.Errorf("%s: W+R<=N with R=1 under partitions: got %s/1 runs linearizable, want 0/1", name, lin)
		case w+r <= 3 && r > 1:
			t.Logf("%s: W+R<=N with a query phase of R=%d: %s/1 runs linearizable (either verdict is possible; see the test's comment)", name, r, lin)
		}
		wantPBS := map[[2]int]string{{1, 1}: "0.6667", {1, 2}: "0.3333", {2, 1}: "0.3333"}[[2]int{w, r}]
		if wantPBS == "" {
			wantPBS = "0.0000"
		}
		if got := rec["pbs"]; got != wantPBS {
			t.Errorf("%s: PBS got %s, want %s", name, got, wantPBS)
		}
	}

	// Every cell ran the same fault schedule.
	scheds, _ := filepath.Glob(filepath.Join(results, "*", "*", "schedule.json"))
	if len(scheds) != 9 {
		t.Errorf("got %d run folders with a schedule, want 9", len(scheds))
	}
	var first []byte
	for _, s := range scheds {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Errorf("%s differs from %s: the cells did not share the fault schedule", s, scheds[0])
		}
	}

	page, err := os.ReadFile(filepath.Join(out, "compare.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page, []byte("<svg")) || bytes.Contains(page, []byte("src=\"http")) || bytes.Contains(page, []byte("href=\"http")) {
		t.Errorf("compare.html: want an inline SVG chart and no network references")
	}
	if md, err := os.ReadFile(filepath.Join(out, "compare.md")); err != nil || !bytes.Contains(md, []byte("| abd W=2 R=2 partition |")) {
		t.Errorf("compare.md: missing or without the W=2 R=2 row (%v)", err)
	}
}

func TestCompareFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--w", "1,x"}, `--w "1,x": want a comma list of integers`},
		{[]string{"--w", "4", "--nodes", "3"}, "w (4) must be between 1 and n (3)"},
		{[]string{"--sloppy-quorum", "maybe"}, "--sloppy-quorum"},
		{[]string{"--nemesis", "partition/meteor"}, "--nemesis"},
		{[]string{"--consistency", "lww,strong"}, `consistency "strong"`},
		{[]string{"--repeat", "0"}, "repeat (0) must be at least 1"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := &appEnv{stdout: &out, stderr: &errOut}
			args := append([]string{"faultline", "compare", "--runtime", "local", "--results", t.TempDir()}, tc.args...)
			if code := runMain(env, args); code != exitCannotRun {
				t.Errorf("exit code: got %d, want %d", code, exitCannotRun)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr: got %q, want it to contain %q", errOut.String(), tc.want)
			}
		})
	}
}

// TestComparePartialQuorumsWithoutQueryPhase is the other half of the theory for the cells the
// abd sweep cannot assert: a plain Dynamo register (lww: a write is stored at once, no query
// phase) with W+R<=N loses linearizability under partitions at every such W,R, W=1 R=2 included:
// a write acknowledged by one replica cut off with its coordinator is missed by read quorums on
// the other side.
//
// It runs in the simulator: whether a 4 s run on real processes draws that interleaving depends
// on how loaded the machine is (W=1 R=2 came back linearizable once in CI under load), while a
// simulated run of a seed draws the same one everywhere. TestCompareQuorumTheory shows that the
// simulator and the local runtime agree on the cells both assert.
func TestComparePartialQuorumsWithoutQueryPhase(t *testing.T) {
	if binary == "" {
		t.Skip("builds and runs the binary")
	}
	_, results, _, rows := sweep(t, "sim", "lww", "1,2", "1,2")
	if len(rows) != 4 {
		t.Fatalf("compare.csv: got %d rows, want 4", len(rows))
	}
	for _, rec := range rows {
		w, _ := strconv.Atoi(rec["w"])
		r, _ := strconv.Atoi(rec["r"])
		if w+r > 3 {
			continue // lww at W+R>N is not linearizable in general either; not asserted
		}
		if lin := rec["linearizable"]; lin != "0" {
			t.Errorf("lww W=%d R=%d under partitions: got %s/1 runs linearizable, want 0/1 (see %s)", w, r, lin, results)
		}
	}
}

// TestCompareTargetFileQuorums: a sweep of a target file (whose store may take ?w= and ?r=)
// runs every cell with the run's default quorums, a majority of --n, not the 1 the swept
// flags are parsed with.
func TestCompareTargetFileQuorums(t *testing.T) {
	var sw compare.Config
	var swErr error
	app := &cli.App{Flags: compareFlags(), Action: func(c *cli.Context) error {
		sw, swErr = sweepFromFlags(c)
		return nil
	}}
	if err := app.Run([]string{"faultline", "--target", filepath.Join("..", "..", "examples", "targets", "faultline-node.yaml"),
		"--nodes", "3", "--nemesis", "kill/pause"}); err != nil {
		t.Fatal(err)
	}
	if swErr != nil {
		t.Fatal(swErr)
	}
	cells := sw.Cells()
	if len(cells) != 2 {
		t.Fatalf("got %d cells, want 2 (one per nemesis set)", len(cells))
	}
	for _, c := range cells {
		if cfg := c.Apply(sw.Base, 1); cfg.Store.W != 2 || cfg.Store.R != 2 {
			t.Errorf("%s: got W=%d R=%d, want 2 and 2 (a majority of 3)", c.Label(), cfg.Store.W, cfg.Store.R)
		}
	}
}
