// Package browsertest drives a headless Chromium for tests of faultline's web pages: it loads
// a URL and returns the DOM after the page loaded, or a screenshot.
//
// Tests call Find, which skips the test when no Chromium is installed, unless the environment
// sets FAULTLINE_REQUIRE_CHROMIUM=1 (CI does): then a missing browser fails the test.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing Chromium into a failure.
const RequireEnv = "FAULTLINE_REQUIRE_CHROMIUM"

// Names are the executables looked for, in order (Debian's package installs chromium).
func Names() []string {
	return []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
}

// Browser is a Chromium executable with a profile folder of its own.
type Browser struct {
	Path    string
	Profile string        // --user-data-dir: a fresh one per browser so runs do not share state
	Timeout time.Duration // per page load (the process is killed past it)
}

// Find returns a Browser for the test, or skips the test when none is installed (fails it when
// FAULTLINE_REQUIRE_CHROMIUM=1).
func Find(t testing.TB) *Browser {
	t.Helper()
	for _, n := range Names() {
		if p, err := exec.LookPath(n); err == nil {
			return &Browser{Path: p, Profile: t.TempDir(), Timeout: 90 * time.Second}
		}
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("browsertest: no Chromium found (looked for %v) and %s=1", Names(), RequireEnv)
	}
	t.Skipf("browsertest: no Chromium installed (looked for %v); set %s=1 to make this a failure", Names(), RequireEnv)
	return nil
}

// args are the flags of every headless run: no GPU, no sandbox (CI runs as root in a
// container), and no traffic beyond loopback: background services are off and every other
// request goes to a proxy that does not exist (Chromium never proxies loopback addresses), so
// a page that needs the network fails to load what it needs.
func (b *Browser) args(extra ...string) []string {
	return append([]string{
		"--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--no-default-browser-check",
		"--disable-extensions", "--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
		"--no-pings", "--metrics-recording-only", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--proxy-server=http://127.0.0.1:9",
		"--user-data-dir=" + b.Profile,
	}, extra...)
}

func (b *Browser) run(ctx context.Context, args []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.Path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // children holding the pipes open must not hang the test
	if err := cmd.Run(); err != nil {
		tail := stderr.Bytes()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return nil, fmt.Errorf("browsertest: %s: %w\n%s", filepath.Base(b.Path), err, tail)
	}
	return stdout.Bytes(), nil
}

// DumpDOM loads url and returns the serialized DOM once the page has loaded.
func (b *Browser) DumpDOM(ctx context.Context, url string) (string, error) {
	out, err := b.run(ctx, b.args("--dump-dom", url))
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return "", errors.New("browsertest: empty DOM")
	}
	return string(out), nil
}

// Screenshot loads url in a window of width x height and saves a PNG to path.
func (b *Browser) Screenshot(ctx context.Context, url, path string, width, height int) error {
	if _, err := b.run(ctx, b.args(fmt.Sprintf("--window-size=%d,%d", width, height), "--screenshot="+path, url)); err != nil {
		return err
	}
	png, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		return fmt.Errorf("browsertest: screenshot %s is not a PNG", path)
	}
	return nil
}
