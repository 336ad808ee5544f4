// Package stripetest runs Stripe for tests, on loopback: stripe-mock,
// Stripe's own mock server (it checks every request against Stripe's
// OpenAPI specification and answers with objects of the real shape),
// behind Fake, a proxy that adds what stripe-mock does not do (it keeps
// no state) and injects faults. Connector tests reuse both
// (docs/processors.md).
package stripetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// MockVersion is the stripe-mock that .ci/run installs:
// go install github.com/stripe/stripe-mock@MockVersion.
const MockVersion = "v0.203.0"

// ErrNoMock is returned when stripe-mock is not installed.
var ErrNoMock = errors.New("stripe-mock is not installed: go install github.com/stripe/stripe-mock@" + MockVersion)

// Mock is a running stripe-mock.
type Mock struct {
	URL string // http://127.0.0.1:PORT
	cmd *exec.Cmd
}

// mockBinary finds stripe-mock on PATH or in Go's bin folder.
func mockBinary() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	dirs := []string{os.Getenv("GOBIN")}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "stripe-mock")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", ErrNoMock
}

var listening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// StartMock starts stripe-mock on free loopback ports (HTTP and the HTTPS
// it always opens) and waits until it listens. Stop it with Stop.
func StartMock() (*Mock, error) {
	bin, err := mockBinary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &Mock{cmd: cmd}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if g := listening.FindStringSubmatch(sc.Text()); g != nil {
				found <- g[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-found:
		m.URL = "http://" + addr
		return m, nil
	case <-time.After(60 * time.Second):
		m.Stop()
		return nil, fmt.Errorf("stripe-mock did not listen within 60 s")
	}
}

// Stop ends stripe-mock.
func (m *Mock) Stop() {
	if m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
	}
}

// Required reports whether tests must fail instead of skipping when
// stripe-mock is missing (CI sets CARTGATEWAY_REQUIRE_TOOLS).
func Required() bool { return os.Getenv("CARTGATEWAY_REQUIRE_TOOLS") != "" }

// RunWithMock is a TestMain body: it starts stripe-mock for the package's
// tests, sets *url to it, runs them and stops it. Without stripe-mock the
// tests that use it skip (fail in CI: Required).
func RunWithMock(run func() int, url *string) int {
	m, err := StartMock()
	if err != nil {
		if Required() || !errors.Is(err, ErrNoMock) {
			fmt.Fprintln(os.Stderr, "stripetest:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "stripetest:", err, "(tests against it skip)")
		return run()
	}
	defer m.Stop()
	*url = m.URL
	return run()
}

// sleep waits for ctx's end or d, whichever is first.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
