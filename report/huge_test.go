package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// TestHugeValuesInReport: one huge key, value, error and nemesis detail in a history do not
// fill report.html: each shows at most history.MaxShown bytes and says how much was cut. Lines
// of a results.json (from an older faultline) are bounded too.
func TestHugeValuesInReport(t *testing.T) {
	const size = 1 << 20
	dir := filepath.Join(t.TempDir(), "register-partition", "20261125T120000.000")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bigKey, bigErr, bigDetail := strings.Repeat("k", size), strings.Repeat("e", size), strings.Repeat("d", size)
	bigList := make([]int64, size/2)
	ops := []history.Op{
		{Time: 1, Process: history.NemesisProcess, Type: history.Info, F: "start-partition", Detail: bigDetail},
		{Time: 10, Process: 0, Type: history.Invoke, F: history.FWrite, Key: bigKey, Value: history.Int(1)},
		{Time: 20, Process: 0, Type: history.OK, F: history.FWrite, Key: bigKey, Value: history.Int(1)},
		{Time: 30, Process: 1, Type: history.Invoke, F: history.FWrite, Key: "k", Value: history.List(bigList...)},
		{Time: 40, Process: 1, Type: history.Info, F: history.FWrite, Key: "k", Error: bigErr},
		{Time: 50, Process: history.NemesisProcess, Type: history.Info, F: "stop-partition", Error: bigErr},
	}
	for i := range ops {
		ops[i].Index = int64(i)
	}
	if err := history.WriteFile(filepath.Join(dir, HistoryFile), ops, history.FormatJSONL); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"workload":"register","concurrency":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// a results.json of an older faultline, with a huge explanation, warning and details
	bigQ := strings.Repeat("q", size)
	results := `{"valid":false,"workload":"register","selected":["linearizable"],"warnings":["` + bigQ + `"],` +
		`"checkers":{"linearizable":{"valid":false,"decides":true,"explanation":["` + bigQ + `"],"details":{"x":"` + bigQ + `"}}}}`
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, filler := range []string{"k", "e", "d", "0,"} {
		if long := strings.Repeat(filler, 300/len(filler)); strings.Contains(page, long) {
			i := strings.Index(page, long)
			t.Errorf("report.html shows more than 300 bytes of a %q value: %q", filler, page[max(0, i-200):i+300])
		}
	}
	if long := strings.Repeat("q", 80<<10); strings.Contains(page, long) {
		t.Errorf("report.html shows more than %d bytes of a results.json line", len(long))
	}
	if !strings.Contains(page, " cut)") {
		t.Error("report.html: want it to say how much was cut")
	}
	t.Logf("report.html: %d KiB", len(b)>>10)
}
