package report

import (
	"context"
	"html"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/browsertest"
)

// TestServeInChromium loads the results browser in a headless Chromium: the index lists the
// runs, a report opens from its link and renders (checked on a screenshot), and the report's
// link to the linearizability visualization works.
func TestServeInChromium(t *testing.T) {
	b := browsertest.Find(t)
	f := newServeFixture(t)
	srv := httptest.NewServer(f.h) // 127.0.0.1
	defer srv.Close()
	ctx := context.Background()

	index, err := b.DumpDOM(ctx, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	index = html.UnescapeString(index)
	var listed []string
	for _, m := range regexp.MustCompile(`<tr class="run" data-path="([^"]+)"`).FindAllStringSubmatch(index, -1) {
		listed = append(listed, m[1])
	}
	if want := []string{runInvalid, runValid, runInterrupted}; strings.Join(listed, " ") != strings.Join(want, " ") {
		t.Fatalf("runs in the browser's DOM: got %v, want %v", listed, want)
	}
	link := regexp.MustCompile(`<a href="(/runs/[^"]+/report\.html)">`).FindStringSubmatch(index)
	if link == nil {
		t.Fatal("index has no report link")
	}
	if got, want := link[1], "/runs/"+runInvalid+"/report.html"; got != want {
		t.Errorf("first report link: got %s, want %s", got, want)
	}

	reportURL := srv.URL + link[1]
	page, err := b.DumpDOM(ctx, reportURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`id="verdict">invalid<`, "Checker verdicts", `data-checker="linearizable"`, `class="timeline"`, `class="shade nm-partition"`} {
		if !strings.Contains(page, s) {
			t.Errorf("report DOM lacks %q", s)
		}
	}
	vis := regexp.MustCompile(`<a href="([^"]+)">Linearizability visualization`).FindStringSubmatch(page)
	if vis == nil {
		t.Fatal("report has no link to the visualization")
	}
	visDOM, err := b.DumpDOM(ctx, strings.TrimSuffix(reportURL, "report.html")+vis[1])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(visDOM, "porcupine visualization") {
		t.Errorf("the visualization link did not open the visualization: %.200s", visDOM)
	}

	// The screenshot shows the page styled: the invalid badge's red and the ok bars' green.
	shot := filepath.Join(t.TempDir(), "report.png")
	if err := b.Screenshot(ctx, reportURL, shot, 1200, 900); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("FAULTLINE_SCREENSHOT_DIR"); dir != "" { // to look at it
		if b, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "report.png"), b, 0o644)
		}
	}
	img := decodePNG(t, shot)
	for name, c := range map[string][3]uint8{"invalid badge": {0xc6, 0x28, 0x28}, "ok bar": {0x43, 0xa0, 0x47}} {
		if n := countColour(img, c); n < 20 {
			t.Errorf("screenshot: %d pixels of the %s colour, want at least 20", n, name)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// countColour counts pixels within a small distance of c.
func countColour(img image.Image, c [3]uint8) int {
	n := 0
	bounds := img.Bounds()
	near := func(a uint32, b uint8) bool {
		d := int(a>>8) - int(b)
		return d > -8 && d < 8
	}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r, c[0]) && near(g, c[1]) && near(bl, c[2]) {
				n++
			}
		}
	}
	return n
}
