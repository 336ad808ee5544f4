package apidocs_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/cartgateway/cartgateway/internal/apidocs"
	"github.com/cartgateway/cartgateway/internal/apitest"
)

// chromium finds Debian's chromium; CI installs it (.ci/run), elsewhere the
// test is skipped without it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI must run the browser test: no chromium (.ci/run installs it)")
	}
	t.Skip("no chromium: the browser test needs Debian's chromium")
	return ""
}

// TestPageInABrowser opens /docs in headless Chromium, as a reader would:
// the page shows every operation of the document, its style applies under
// its Content-Security-Policy, nothing breaks that policy, and it loads
// nothing but itself.
func TestPageInABrowser(t *testing.T) {
	bin := chromium(t)
	s := apitest.Start(t, apitest.Options{})
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()

	if err := chromedp.Do(ctx); err != nil { // starts the browser and its tab
		t.Fatal(err)
	}
	var mu sync.Mutex
	var requests, problems []string
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *cdplog.EventEntryAdded: // CSP violations, failed loads
			problems = append(problems, string(e.Entry.Level)+": "+e.Entry.Text)
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/docs"), chromedp.WaitVisible(chromedp.CSS("article.operation"))); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("article.operation").length`))
	if err != nil {
		t.Fatal(err)
	}
	navPosition, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("nav")).position`))
	if err != nil {
		t.Fatal(err)
	}
	firstPath, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("article.operation code.path")))
	if err != nil {
		t.Fatal(err)
	}
	if shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(60)); err == nil {
		_ = os.WriteFile(filepath.Join(t.TempDir(), "docs.jpg"), shot, 0o644)
	}

	root, err := apidocs.ParseNode(apidocs.Document())
	if err != nil {
		t.Fatal(err)
	}
	if want := len(operations(root)); shown != want {
		t.Errorf("the page shows %d operations, the document has %d", shown, want)
	}
	if navPosition != "sticky" {
		t.Errorf("the page's style did not apply (nav position %q): did the Content-Security-Policy block it?", navPosition)
	}
	if firstPath != "/payment/authorize" {
		t.Errorf("first operation %q", firstPath)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 1 || requests[0] != s.URL+"/docs" {
		t.Errorf("the page made requests %v, want only itself", requests)
	}
	if len(problems) > 0 {
		t.Errorf("the browser reported: %v", problems)
	}
}
