package main

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// waitHealthy waits until a gateway answers /healthz, or fails the test.
func waitHealthy(t *testing.T, addr string, log *apitest.LogBuffer) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // go run may compile first
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not come up:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBinaryStopsOnSIGTERM: the built binary, as a service manager runs it,
// stops gracefully on SIGTERM and exits 0.
func TestBinaryStopsOnSIGTERM(t *testing.T) {
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), "serve", "--db", filepath.Join(t.TempDir(), "gw.db"), "--addr", addr, "--settle-at", "off")
	log := &apitest.LogBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	waitHealthy(t, addr, log)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), `"msg":"stopped"`) {
		t.Errorf("no graceful stop in the log:\n%s", log.String())
	}
}

// TestGoRunStopsOnCtrlC: the README's "go run ./cmd/cartgateway serve"
// stops on Ctrl-C, which a terminal sends as SIGINT to the whole
// foreground process group: go run and the gateway it built. (A SIGTERM to
// go run's process alone would end go run and leave the gateway running,
// as the README says; that is go run's behaviour.)
func TestGoRunStopsOnCtrlC(t *testing.T) {
	addr := freeAddr(t)
	cmd := exec.Command("go", "run", ".", "serve", "--db", filepath.Join(t.TempDir(), "gw.db"), "--addr", addr, "--settle-at", "off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log := &apitest.LogBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }()
	waitHealthy(t, addr, log)
	if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		t.Fatalf("go run did not stop on SIGINT:\n%s", log.String())
	}
	if !strings.Contains(log.String(), `"msg":"stopped"`) {
		t.Errorf("the gateway did not stop gracefully:\n%s", log.String())
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the gateway still answers after Ctrl-C")
	}
}
