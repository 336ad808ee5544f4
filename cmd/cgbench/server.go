package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cartgateway/cartgateway/client"
)

// The bench account and server secret are fixed so that runs are
// reproducible and a -db kept from an earlier run (or filled by "cgbench
// seed") works again. They guard nothing: benchmarks use sandbox data only.
const (
	benchAccountID = "900001"
	benchKey       = "cb0e7c4d9a12f3b5e6d8c0a1b2c3d4e5f6a7b8c9"
	benchSecret    = "cgbench-fixed-server-secret-0123456789abcdef"
)

// childEnv gives every cartgateway the bench secret, so that no secret file
// is written beside the database and card fingerprints are stable.
func childEnv() []string {
	return append(os.Environ(), "CARTGATEWAY_SECRET="+benchSecret)
}

// buildServer builds ./cmd/cartgateway of the module cgbench runs in.
func buildServer(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("cannot find the module to build cartgateway from (run in the repository or pass -bin): %v", err)
	}
	bin := filepath.Join(dir, "cartgateway")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/cartgateway")
	cmd.Dir = filepath.Dir(gomod)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/cartgateway: %w", err)
	}
	return bin, nil
}

// createAccount creates a bench account with the operator CLI, the way an
// operator would. An account left by an earlier run on the same -db is
// reused: it has the same fixed key.
func createAccount(ctx context.Context, bin, db, id, key string) error {
	cmd := exec.CommandContext(ctx, bin, "accounts", "create", "--db", db, "--name", "bench "+id, "--id", id, "--key", key)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil && !bytes.Contains(out, []byte("account-exists")) {
		return fmt.Errorf("cartgateway accounts create: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// server is a cartgateway serve child process.
type server struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{} // closed when the process has been waited for
	err    error         // its exit status, once exited is closed
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// startServer starts cartgateway serve on a free loopback port and waits
// until /healthz answers. Duplicate detection and the settlement timer are
// off: charges in a benchmark are all distinct, and a batch close in the
// middle of a run would measure something else. The per-IP and per-account
// rate limits stay on, so that their cost is measured, but at a rate no run
// reaches: all of cgbench's traffic is one IP and one account.
func startServer(ctx context.Context, bin, db string, extra []string, stderr io.Writer) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--db", db, "--addr", addr, "--log-level", "warn",
		"--duplicate-window", "0", "--settle-at", "off", "--rate-ip", "1e9", "--rate-account", "1e9"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv()
	// Its stdout too goes to stderr: cgbench's stdout holds only the report
	// (it may be JSON).
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, url: "http://" + addr, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitHealthy(ctx, 60*time.Second); err != nil {
		_ = s.stop()
		return nil, err
	}
	return s, nil
}

// freeLoopbackAddr asks the kernel for a free port. Another process could
// take it before the server binds it; the server would then fail to start
// and say so.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (s *server) waitHealthy(ctx context.Context, limit time.Duration) error {
	api, err := client.New(client.Config{BaseURL: s.url, AccountID: benchAccountID, PrivateKey: benchKey,
		Timeout: time.Second, MaxRetries: -1})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(limit)
	for {
		if api.Health(ctx) == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("cartgateway serve exited before it was healthy: %v", s.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cartgateway serve not healthy after %s", limit)
		}
	}
}

// stop sends SIGTERM, the graceful shutdown, and waits; it kills the server
// if it has not exited after 30 s. Calling it again returns the same result.
func (s *server) stop() error {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			return errors.New("cartgateway serve did not stop within 30s of SIGTERM; killed")
		}
	}
	if s.err != nil {
		return fmt.Errorf("cartgateway serve: %w", s.err)
	}
	return nil
}

// procStatusBytes reads a "kB" field of /proc/PID/status (VmRSS, VmHWM) in
// bytes; 0 when unknown (no pid, not Linux, process gone).
func procStatusBytes(pid int, field string) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) == 0 {
			return 0
		}
		kb, _ := strconv.ParseInt(fields[0], 10, 64)
		return kb << 10
	}
	return 0
}

// sampleProcess samples the process's VmRSS every 100 ms until the returned
// function is called, which gives the peak and the CPU time (user and
// system) the process used meanwhile. CPU per request is the figure that a
// shared, noisy machine disturbs least: other programs slow the server
// down, but do not make its requests cost more.
func sampleProcess(pid int) (stop func() (peakRSS int64, cpu time.Duration)) {
	if pid <= 0 {
		return func() (int64, time.Duration) { return 0, 0 }
	}
	cpu0 := procCPU(pid)
	done := make(chan struct{})
	peak := make(chan int64)
	go func() {
		top := procStatusBytes(pid, "VmRSS")
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				top = max(top, procStatusBytes(pid, "VmRSS"))
			case <-done:
				peak <- max(top, procStatusBytes(pid, "VmRSS"))
				return
			}
		}
	}()
	return func() (int64, time.Duration) {
		close(done)
		return <-peak, procCPU(pid) - cpu0
	}
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat's times:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procCPU is the user and system CPU time the process has used so far.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields count from after it.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	return time.Duration(utime+stime) * time.Second / clockTicks
}
