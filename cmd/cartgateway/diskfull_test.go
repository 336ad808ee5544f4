package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// TestHealthWhenTheDiskIsFull runs the gateway on a SQLite file in a small
// tmpfs, fills the file system, and checks that /healthz says degraded while
// writes fail (and payments answer a clean 500), and ok again once there is
// room, without a restart. Mounting needs root: CI runs as root; without it
// the test skips, unless CARTGATEWAY_REQUIRE_TOOLS is set.
func TestHealthWhenTheDiskIsFull(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		if os.Getenv("CARTGATEWAY_REQUIRE_TOOLS") != "" {
			t.Fatalf("mount a tmpfs: %v (CI runs as root)", err)
		}
		t.Skipf("mount a tmpfs: %v (needs root)", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	db := filepath.Join(dir, "gw.db")
	createCrashAccount(t, db)
	g := startKillable(t, db)
	defer g.stop(t)
	health := func() crashAnswer {
		resp, err := g.client.Get(g.url + "/healthz")
		if err != nil {
			return crashAnswer{err: err}
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		return crashAnswer{status: resp.StatusCode, raw: string(raw), err: err}
	}
	n := 0
	charge := func() crashAnswer {
		n++
		return g.send(&crashOp{path: "/payment/charge", body: apitest.PaymentBody("4242424242424242", map[string]any{"order_id": fmt.Sprintf("disk-%d", n)})})
	}
	if a := charge(); a.status != 200 {
		t.Fatalf("charge before filling the disk: %s", a)
	}
	if a := health(); a.status != 200 {
		t.Fatalf("healthz before filling the disk: %s", a)
	}

	filler := filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	_ = f.Close()
	// The WAL may still have room for a few writes; then they fail.
	failed := false
	for range 200 {
		a := charge()
		if a.status == 500 && a.field("code") == "internal-error" {
			failed = true
			break
		}
		if a.status != 200 {
			t.Fatalf("a charge on a full disk: %s; want 200 or a clean 500", a)
		}
	}
	if !failed {
		t.Fatal("200 charges on a full disk all succeeded")
	}
	if a := health(); a.status != 503 || !strings.Contains(a.raw, `"status":"degraded"`) {
		t.Fatalf("healthz while writes fail: %s; want 503 degraded", a)
	}
	if resp, err := g.client.Get(g.url + "/livez"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("livez while writes fail: %v %v", resp, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a := health(); a.status != 200; a = health() {
		if time.Now().After(deadline) {
			t.Fatalf("healthz after making room: %s; want it ok again", a)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if a := charge(); a.status != 200 {
		t.Fatalf("charge after making room: %s", a)
	}
}
