package httpapi_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apidocs"
	"github.com/cartgateway/cartgateway/internal/apitest"
)

// TestReferenceServed: the gateway serves its OpenAPI document as it is in
// the repository, and a page rendered from it, with the security headers of
// every answer and a policy of the page's own that still forbids framing.
func TestReferenceServed(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	doc := s.Request(t, http.MethodGet, "/openapi.json", "", nil)
	if doc.Status != http.StatusOK || !bytes.Equal(doc.Raw, apidocs.Document()) {
		t.Fatalf("/openapi.json: %d, %d bytes, want the document's %d", doc.Status, len(doc.Raw), len(apidocs.Document()))
	}
	if ct := doc.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("/openapi.json Content-Type %q", ct)
	}
	apiWantSecurityHeaders(t, "/openapi.json", doc.Header, false)

	page := s.Request(t, http.MethodGet, "/docs", "", nil)
	if page.Status != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs: %d %q", page.Status, page.Header.Get("Content-Type"))
	}
	for _, h := range []string{"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
		if got, want := page.Header.Get(h), securityHeaders[h]; got != want {
			t.Errorf("/docs: %s = %q, want %q", h, got, want)
		}
	}
	csp := page.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("/docs: Content-Security-Policy %q", csp)
	}
	html := string(page.Raw)
	for _, path := range []string{"/payment/authorize", "/payment/charge", "/payment/capture", "/payment/refund",
		"/payment/void", "/payment/lookup", "/healthz", "/livez", "/metrics", "/openapi.json", "/docs"} {
		if !strings.Contains(html, `<code class="path">`+path+`</code>`) {
			t.Errorf("/docs does not show %s", path)
		}
	}
	// Nothing is loaded from anywhere: no script, no remote URL in an
	// attribute.
	if strings.Contains(html, "<script") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(html) {
		t.Error("/docs loads something from elsewhere")
	}

	if r := s.Request(t, http.MethodHead, "/healthz", "", nil); r.Status != http.StatusOK || len(r.Raw) != 0 {
		t.Errorf("HEAD /healthz: %d %q", r.Status, r.Raw)
	}
	if r := s.Request(t, http.MethodPost, "/docs", "{}", nil); r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET" {
		t.Errorf("POST /docs: %d, Allow %q", r.Status, r.Header.Get("Allow"))
	}
}
