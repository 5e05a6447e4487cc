package docker

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildContext(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "faultline")
	if err := os.WriteFile(bin, []byte("not really a binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := buildContext(dockerfile, "faultline", bin)
	if err != nil {
		t.Fatalf("buildContext: %v", err)
	}
	tr := tar.NewReader(r)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the context: %v", err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	if got["faultline"] != "not really a binary" {
		t.Errorf("got binary %q, want the file's bytes", got["faultline"])
	}
	if _, ok := got["data/"]; !ok {
		t.Errorf("got entries %v, want a data/ directory", got)
	}
	df := got["Dockerfile"]
	for _, want := range []string{"FROM scratch", "USER 65534", "--chown=65534:65534 data /data"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile %q: want it to contain %q", df, want)
		}
	}
}

func TestImageTagFollowsTheBinary(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("one"), 0o755)
	os.WriteFile(b, []byte("two"), 0o755)
	ta, err := ImageTag(a)
	if err != nil {
		t.Fatal(err)
	}
	ta2, _ := ImageTag(a)
	tb, _ := ImageTag(b)
	if ta != ta2 {
		t.Errorf("got tags %s and %s for one binary, want equal", ta, ta2)
	}
	if ta == tb {
		t.Errorf("got tag %s for two binaries, want different tags", ta)
	}
	if !strings.HasPrefix(ta, ImageRepo+":") {
		t.Errorf("got tag %s, want prefix %s:", ta, ImageRepo)
	}
}

func TestCheckStaticRejectsOtherBinaries(t *testing.T) {
	exe, err := os.Executable() // the test binary: not cmd/faultline
	if err != nil {
		t.Fatal(err)
	}
	if err := checkStatic(exe); err == nil {
		t.Errorf("checkStatic(test binary) = nil, want an error")
	}
}
