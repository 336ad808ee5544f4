// Package browsertest runs a package's browser tests in Debian's chromium,
// headless, driven with chromedp: one browser per test package (started
// by Main), a tab per test, and screenshots kept as artifacts. Without
// chromium the browser tests are skipped, unless CARTGATEWAY_REQUIRE_TOOLS
// is set (CI), where they fail.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is the shared browser's context; nil when there is none.
var browser context.Context

// chromiumFlags keep a headless chromium from reaching for the network
// (this machine has none): no background services, updates, sync or QUIC.
var chromiumFlags = []string{"no-sandbox", "disable-gpu", "disable-quic", "no-first-run", "disable-background-networking",
	"disable-component-update", "disable-sync", "disable-default-apps", "disable-extensions", "disable-dev-shm-usage",
	"no-default-browser-check", "hide-scrollbars", "mute-audio"}

// Main runs a test package's tests with a shared browser, for TestMain:
// func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }.
func Main(m *testing.M) int {
	path := os.Getenv("CARTGATEWAY_CHROMIUM")
	if path == "" {
		path, _ = exec.LookPath("chromium")
	}
	if path == "" {
		if os.Getenv("CARTGATEWAY_REQUIRE_TOOLS") != "" {
			fmt.Fprintln(os.Stderr, "the browser tests need Debian's chromium (apt-get install chromium): CI must run them")
			return 1
		}
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "cartgateway-chromium-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		// Chromium's child processes may still write there for a moment.
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path), chromedp.Headless, chromedp.UserDataDir(dir), chromedp.WindowSize(1280, 900)}
	for _, f := range chromiumFlags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	// A page restored from the back/forward cache is not reloaded, and
	// chromedp loses track of its document; tests want to see what the
	// server answers.
	opts = append(opts, chromedp.Flag("disable-features", "BackForwardCache"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "start chromium:", err)
		return 1
	}
	browser = ctx
	return m.Run()
}

// Tab opens a new tab of the shared browser for one test, in a browser
// context of its own (its own cookies: another user's session), with three
// minutes for everything the test does in it (a guard against a hang).
func Tab(t *testing.T) context.Context {
	t.Helper()
	if browser == nil {
		t.Skip("no chromium (apt-get install chromium); CI runs these tests")
	}
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	return ctx
}

// Do runs steps in ctx's tab, failing the test with what was being done.
func Do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Run runs an action that answers a value.
func Run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Artifacts is where a suite leaves its screenshots: a folder per suite
// and backend under $CARTGATEWAY_ARTIFACTS or the temp folder, never in the
// repository (the docs' images are copies).
func Artifacts(t *testing.T, suite string) string {
	t.Helper()
	root := os.Getenv("CARTGATEWAY_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "cartgateway-artifacts")
	}
	dir := filepath.Join(root, suite)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Screenshot saves the whole page of ctx's tab as dir/name.png.
func Screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := Run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
