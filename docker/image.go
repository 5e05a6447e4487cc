package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/rs/zerolog"
)

// Labels the runtime puts on what it creates.
const (
	LabelRun   = "faultline.run"   // on containers, networks and volumes: the run id
	LabelNode  = "faultline.node"  // on containers: the node id
	LabelRole  = "faultline.role"  // on containers: "node" or "netns" (the namespace holder)
	LabelImage = "faultline.image" // on images: "1"
)

// ImageRepo is the repository of the images EnsureImage builds; the tag is a hash of the binary.
const ImageRepo = "faultline"

// mainPackage is the import path of the faultline command.
const mainPackage = "github.com/faultline/faultline/cmd/faultline"

// dockerfile builds the image: the binary, an empty /data for the node user, no shell.
const dockerfile = `FROM scratch
COPY --chown=65534:65534 data /data
COPY faultline /faultline
USER 65534:65534
WORKDIR /data
ENTRYPOINT ["/faultline"]
`

// StaticBinary returns the path of a static linux faultline binary for the image. When the
// running executable is one (a faultline built with CGO_ENABLED=0 for linux), it is used as is.
// Otherwise (a test binary, a cgo build) it runs `go build` with CGO_ENABLED=0 GOOS=linux
// -trimpath -buildvcs=false on the faultline module found in the working directory or a parent,
// writing dir/faultline. That needs the Go toolchain and the module's source.
func StaticBinary(ctx context.Context, log zerolog.Logger, dir string) (string, error) {
	if exe, err := os.Executable(); err == nil {
		if err := checkStatic(exe); err == nil {
			log.Debug().Str("binary", exe).Msg("using the running faultline for the image")
			return exe, nil
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "faultline")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-o", out, "./cmd/faultline")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker: building a static faultline in %s: %w: %s", root, err, strings.TrimSpace(stderr.String()))
	}
	log.Info().Str("binary", out).Dur("took", time.Since(start)).Msg("built a static faultline for the image")
	return out, nil
}

// checkStatic returns nil when path is a faultline binary for linux with no dynamic loader.
func checkStatic(path string) error {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("docker: reading build info of %s: %w", path, err)
	}
	if bi.Path != mainPackage {
		return fmt.Errorf("docker: %s is %q, not %s", path, bi.Path, mainPackage)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("docker: %s is not a linux (ELF) binary: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("docker: %s is dynamically linked (build it with CGO_ENABLED=0)", path)
		}
	}
	return nil
}

// moduleRoot finds the faultline module's directory from the working directory upwards.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("docker: finding the faultline module: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/faultline/faultline\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("docker: no faultline module (go.mod) in %s or above: run from the source tree, or run a faultline built with CGO_ENABLED=0", dir)
		}
	}
}

// ImageTag is the tag EnsureImage gives the image of the binary at path: faultline:<hash>, the
// hash covering the binary and the Dockerfile.
func ImageTag(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("docker: hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	io.WriteString(h, dockerfile)
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("docker: hashing %s: %w", path, err)
	}
	return ImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// EnsureImage makes sure the image to run exists and returns its tag. With Config.Image set it
// only checks that the image exists. Otherwise it builds the image of Config.Binary unless an
// image with its tag exists (built is then false) or force is set (which also bypasses the
// builder's cache). After a build it removes faultline images older than a day that no container
// uses, so images of ever-changing binaries do not pile up.
func (r *Runtime) EnsureImage(ctx context.Context, force bool) (tag string, built bool, err error) {
	r.imageMu.Lock()
	defer r.imageMu.Unlock()
	if r.cfg.Image != "" {
		if _, err := r.cli.ImageInspect(ctx, r.cfg.Image); err != nil {
			return "", false, fmt.Errorf("docker: image %s: %w", r.cfg.Image, err)
		}
		r.image = r.cfg.Image
		return r.cfg.Image, false, nil
	}
	if err := checkStatic(r.cfg.Binary); err != nil {
		return "", false, err
	}
	tag, err = ImageTag(r.cfg.Binary)
	if err != nil {
		return "", false, err
	}
	if !force {
		_, err := r.cli.ImageInspect(ctx, tag)
		if err == nil {
			r.log.Debug().Str("image", tag).Msg("image exists; not rebuilding")
			r.image = tag
			return tag, false, nil
		}
		if !client.IsErrNotFound(err) {
			return "", false, fmt.Errorf("docker: inspecting image %s: %w", tag, err)
		}
	}
	start := time.Now()
	if err := r.buildImage(ctx, tag, force, dockerfile, "faultline", r.cfg.Binary); err != nil {
		return "", false, err
	}
	r.log.Info().Str("image", tag).Dur("took", time.Since(start)).Msg("built the faultline image")
	r.image = tag
	r.removeStaleImages(ctx, tag)
	return tag, true, nil
}

// staleImageAge is how old a faultline image must be before a new build removes it.
const staleImageAge = 24 * time.Hour

// removeStaleImages removes faultline images other than keep that were built more than
// staleImageAge ago and that no container uses (the engine refuses those), so that builds of
// ever-changing binaries do not pile up. Failures are only logged: this is housekeeping.
func (r *Runtime) removeStaleImages(ctx context.Context, keep string) {
	imgs, err := r.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelImage))})
	if err != nil {
		r.log.Debug().Err(err).Msg("listing faultline images to remove stale ones")
		return
	}
	cutoff := time.Now().Add(-staleImageAge).Unix()
	for _, im := range imgs {
		if im.Created > cutoff || slices.Contains(im.RepoTags, keep) {
			continue
		}
		if _, err := r.cli.ImageRemove(ctx, im.ID, image.RemoveOptions{PruneChildren: true}); err != nil {
			r.log.Debug().Err(err).Str("image", im.ID).Msg("keeping a stale faultline image")
			continue
		}
		r.log.Debug().Strs("tags", im.RepoTags).Msg("removed a stale faultline image")
	}
}

// binaryDockerfile is the image of another static binary (a target's server): the binary as
// /<name>, an empty /data for the node user, no shell.
const binaryDockerfile = `FROM scratch
COPY --chown=65534:65534 data /data
COPY %[1]s /%[1]s
USER 65534:65534
WORKDIR /data
ENTRYPOINT ["/%[1]s"]
`

// EnsureBinaryImage makes sure a FROM-scratch image of the static linux binary at path exists,
// running it as /<name> with an empty /data, and returns its tag: faultline-<name>:<hash of the
// binary and the Dockerfile>. It builds the image only when no image has that tag. Targets use
// it for their servers (etcd); the nodes' namespace holders still run the faultline image.
func (r *Runtime) EnsureBinaryImage(ctx context.Context, name, path string) (string, error) {
	if !imageName.MatchString(name) {
		return "", fmt.Errorf("docker: image name %q: want lowercase letters, digits and dashes", name)
	}
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("docker: %s is not a linux (ELF) binary: %w", path, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			f.Close()
			return "", fmt.Errorf("docker: %s is dynamically linked (build it with CGO_ENABLED=0)", path)
		}
	}
	f.Close()
	df := fmt.Sprintf(binaryDockerfile, name)
	h := sha256.New()
	io.WriteString(h, df)
	bf, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("docker: hashing %s: %w", path, err)
	}
	_, err = io.Copy(h, bf)
	bf.Close()
	if err != nil {
		return "", fmt.Errorf("docker: hashing %s: %w", path, err)
	}
	tag := ImageRepo + "-" + name + ":" + hex.EncodeToString(h.Sum(nil))[:16]
	if _, err := r.cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	} else if !client.IsErrNotFound(err) {
		return "", fmt.Errorf("docker: inspecting image %s: %w", tag, err)
	}
	start := time.Now()
	if err := r.buildImage(ctx, tag, false, df, name, path); err != nil {
		return "", err
	}
	r.log.Info().Str("image", tag).Dur("took", time.Since(start)).Msg("built a target image")
	return tag, nil
}

// imageName is what EnsureBinaryImage accepts as a binary's name.
var imageName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// buildImage sends a tar context (Dockerfile, the binary as name, empty data dir) to the
// engine's builder.
func (r *Runtime) buildImage(ctx context.Context, tag string, noCache bool, dockerfile, name, binary string) error {
	tarball, err := buildContext(dockerfile, name, binary)
	if err != nil {
		return err
	}
	resp, err := r.cli.ImageBuild(ctx, tarball, build.ImageBuildOptions{
		Tags:        []string{tag},
		Remove:      true,
		ForceRemove: true,
		NoCache:     noCache, // a forced build redoes every step
		Labels:      map[string]string{LabelImage: "1"},
		Version:     build.BuilderV1, // works on every engine; BuildKit needs a session
	})
	if err != nil {
		return fmt.Errorf("docker: building image %s: %w", tag, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("docker: building image %s: reading the engine's output: %w", tag, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("docker: building image %s: %s", tag, msg.Error)
		}
		if s := strings.TrimSpace(msg.Stream); s != "" {
			r.log.Debug().Str("image", tag).Msg(s)
		}
	}
	if _, err := r.cli.ImageInspect(ctx, tag); err != nil {
		return fmt.Errorf("docker: image %s missing after its build: %w", tag, err)
	}
	return nil
}

// buildContext returns the tar build context: the Dockerfile, the binary as name and an empty
// data/.
func buildContext(dockerfile, name, binary string) (io.Reader, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("docker: reading %s: %w", binary, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Unix(0, 0)
	files := []struct {
		name string
		mode int64
		body []byte
		dir  bool
	}{
		{name: "Dockerfile", mode: 0o644, body: []byte(dockerfile)},
		{name: name, mode: 0o755, body: bin},
		{name: "data/", mode: 0o755, dir: true},
	}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: now, Typeflag: tar.TypeReg}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("docker: writing the build context: %w", err)
		}
		if _, err := tw.Write(f.body); err != nil {
			return nil, fmt.Errorf("docker: writing the build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("docker: writing the build context: %w", err)
	}
	return &buf, nil
}
