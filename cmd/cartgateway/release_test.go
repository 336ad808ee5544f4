package main

import (
	"debug/elf"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The release tests build what "make release" ships and check it as an
// operator would use it. They need tools besides Go (podman,
// systemd-analyze): without one they skip, unless CARTGATEWAY_REQUIRE_TOOLS
// is set, as scripts/test.sh sets it in CI, where .ci/run installs them.

func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CARTGATEWAY_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is not installed, and CARTGATEWAY_REQUIRE_TOOLS is set (.ci/run installs it)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return path
}

const releaseVersion = "v0.0.0-releasetest"

var releaseOnce struct {
	sync.Once
	dir string
	err error
}

// release runs scripts/release.sh once per test binary into a temporary
// folder laid out as the repository root is (dist/ and the Dockerfile).
func release(t *testing.T) string {
	t.Helper()
	releaseOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cartgateway-release")
		if err != nil {
			releaseOnce.err = err
			return
		}
		releaseOnce.dir = dir
		cmd := exec.Command("../../scripts/release.sh")
		cmd.Env = append(os.Environ(), "DIST="+filepath.Join(dir, "dist"), "VERSION="+releaseVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			releaseOnce.err = fmt.Errorf("scripts/release.sh: %v\n%s", err, out)
			return
		}
		b, err := os.ReadFile("../../Dockerfile")
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "Dockerfile"), b, 0o644)
		}
		releaseOnce.err = err
	})
	if releaseOnce.err != nil {
		t.Fatal(releaseOnce.err)
	}
	return releaseOnce.dir
}

// TestReleaseBinaries: make release gives a static binary per platform with
// checksums and the version stamped in; the amd64 one runs with no Go
// around; the benchmark's dependencies are not in it.
func TestReleaseBinaries(t *testing.T) {
	dist := filepath.Join(release(t), "dist")
	sums := exec.Command("sha256sum", "-c", "SHA256SUMS")
	sums.Dir = dist
	if out, err := sums.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 2 {
		t.Errorf("sha256sum -c SHA256SUMS: %v\n%s", err, out)
	}
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		path := filepath.Join(dist, "cartgateway-linux-"+arch)
		f, err := elf.Open(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if f.Machine != machine {
			t.Errorf("%s is for %v", path, f.Machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked (%v)", path, p.Type)
			}
		}
		f.Close()
		info, err := exec.Command("go", "version", "-m", path).CombinedOutput()
		if err != nil {
			t.Fatalf("go version -m: %v\n%s", err, info)
		}
		for _, bench := range []string{"tsenart/vegeta", "influxdata/tdigest", "rs/dnscache", "c2h5oh/datasize"} {
			if strings.Contains(string(info), bench) {
				t.Errorf("%s contains the benchmark's dependency %s", path, bench)
			}
		}
		if !strings.Contains(string(info), "CGO_ENABLED=0") {
			t.Errorf("%s was not built with CGO_ENABLED=0:\n%s", path, info)
		}
	}
	// No Go, no PATH: the binary stands alone.
	run := exec.Command(filepath.Join(dist, "cartgateway-linux-amd64"), "version")
	run.Env = []string{}
	out, err := run.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "cartgateway "+releaseVersion+"\n") {
		t.Errorf("cartgateway version: %v\n%s", err, out)
	}
	head, _ := exec.Command("git", "rev-parse", "HEAD").Output()
	if h := strings.TrimSpace(string(head)); h != "" && !strings.Contains(string(out), "commit: "+h) {
		t.Errorf("the version does not name the commit %s:\n%s", h, out)
	}
}

// TestSystemdUnits: the shipped units pass systemd-analyze verify without a
// warning, and the service's hardening rates as low exposure.
func TestSystemdUnits(t *testing.T) {
	analyze := needTool(t, "systemd-analyze")
	dir := t.TempDir()
	units, err := filepath.Glob("../../deploy/cartgateway*.[st]*")
	if err != nil || len(units) < 4 {
		t.Fatalf("units in deploy/: %v %v", units, err)
	}
	bin := binary(t)
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		// verify checks that ExecStart exists: point it at the test build.
		text := strings.ReplaceAll(string(b), "/usr/local/bin/cartgateway", bin)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(u)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"verify"}
	for _, u := range units {
		name := filepath.Base(u)
		if name == "cartgateway@.service" {
			name = "cartgateway@8081.service" // a template verifies as an instance
		}
		args = append(args, "./"+name)
	}
	cmd := exec.Command(analyze, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, unit := range []string{"cartgateway.service", "cartgateway@8081.service"} {
		cmd := exec.Command(analyze, "security", "--offline=true", "./"+unit)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(string(out))
		if m == nil {
			t.Errorf("systemd-analyze security %s:\n%s", unit, out)
			continue
		}
		if level, _ := strconv.ParseFloat(m[1], 64); level > 2.5 {
			t.Errorf("%s: exposure level %s, want 2.5 or less:\n%s", unit, m[1], out)
		}
	}
}

// TestContainerImage builds the image with podman from the release and
// runs the gateway in it, or, where this machine does not let containers
// run, from the image's exported filesystem.
func TestContainerImage(t *testing.T) {
	podman := needTool(t, "podman")
	dir := release(t)
	tag := "localhost/cartgateway-releasetest:" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command(podman, "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "-f", tag).Run() })
	inspect, err := exec.Command(podman, "image", "inspect", tag, "--format", "{{.Config.User}} {{.Config.Volumes}} {{.Config.Entrypoint}} {{.Config.Cmd}}").CombinedOutput()
	if want := "65532:65532 map[/var/lib/cartgateway:{}] [/usr/local/bin/cartgateway] [serve]"; err != nil || strings.TrimSpace(string(inspect)) != want {
		t.Errorf("image config: %v %q, want %q", err, inspect, want)
	}

	if out, err := exec.Command(podman, "run", "--rm", tag, "version").CombinedOutput(); err == nil {
		if !strings.Contains(string(out), releaseVersion) {
			t.Errorf("podman run … version: %s", out)
		}
		t.Log("containers run here")
	} else {
		t.Logf("containers cannot run here (%s); running the gateway from the exported image", strings.TrimSpace(string(out)))
	}

	cid, err := exec.Command(podman, "create", tag).Output()
	if err != nil {
		t.Fatalf("podman create: %v", err)
	}
	id := strings.TrimSpace(string(cid))
	defer func() { _ = exec.Command(podman, "rm", "-f", id).Run() }()
	root := t.TempDir()
	export := exec.Command("sh", "-c", podman+" export "+id+" | tar -x --numeric-owner -C "+root)
	if out, err := export.CombinedOutput(); err != nil {
		t.Fatalf("podman export: %v\n%s", err, out)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, "var/lib/cartgateway"), &st); err != nil || st.Uid != 65532 || st.Mode&0o777 != 0o700 {
		t.Errorf("/var/lib/cartgateway in the image: uid %d mode %o (%v), want 65532 and 0700", st.Uid, st.Mode&0o777, err)
	}
	for _, f := range []string{"etc/ssl/certs/ca-certificates.crt", "etc/passwd", "usr/local/bin/cartgateway"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("the image lacks /%s", f)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); !strings.Contains(string(b), "cartgateway:x:65532:65532:") {
		t.Errorf("/etc/passwd: %s", b)
	}

	// The image's binary serves, with an empty environment.
	addr := freeAddr(t)
	data := t.TempDir()
	gw := exec.Command(filepath.Join(root, "usr/local/bin/cartgateway"), "serve", "--addr", addr, "--db", filepath.Join(data, "gw.db"), "--settle-at", "off")
	gw.Env = []string{}
	var log strings.Builder
	gw.Stdout, gw.Stderr = &log, &log
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = gw.Process.Kill() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's gateway did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = gw.Process.Signal(syscall.SIGTERM)
	if err := gw.Wait(); err != nil {
		t.Errorf("the image's gateway stopped with %v", err)
	}
}
