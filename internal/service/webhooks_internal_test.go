package service

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestPublicAddress(t *testing.T) {
	for addr, public := range map[string]bool{
		"93.184.215.14": true, "2606:4700::6810:85e5": true, "8.8.8.8": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "fc00::1": false, "0.0.0.0": false, "::": false,
		"100.64.0.1": false, "224.0.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "0.1.2.3": false,
	} {
		if got := publicAddress(netip.MustParseAddr(addr)); got != public {
			t.Errorf("publicAddress(%s) = %v; want %v", addr, got, public)
		}
	}
}

// TestWebhookClientChecksTheAddressItConnectsTo: the check is made on the
// address actually dialled, after name resolution (a name that resolves to
// an internal address is refused like the address itself), and redirects
// are never followed.
func TestWebhookClientChecksTheAddressItConnectsTo(t *testing.T) {
	redirected := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			redirected = true
		}
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
			t.Errorf("credentials sent: %v", r.Header)
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	s := &Service{Webhooks: WebhookConfig{Timeout: 2 * time.Second}}
	for _, url := range []string{srv.URL, "http://localhost:" + srv.URL[len("http://127.0.0.1:"):]} {
		_, err := s.webhookClient(true).Post(url, "application/json", nil)
		var refused *refusedAddressError
		if !errors.As(err, &refused) {
			t.Errorf("POST %s with private addresses refused: %v; want the address refused at connect time", url, err)
		}
	}
	resp, err := s.webhookClient(false).Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || redirected {
		t.Errorf("a redirect: status %d, followed %v; want 302, not followed", resp.StatusCode, redirected)
	}
}

func TestRetryDelay(t *testing.T) {
	var total time.Duration
	n := 0
	for total < WebhookRetryFor {
		n++
		d := retryDelay(n)
		base := 30 * time.Second << min(n-1, 10)
		base = min(base, 6*time.Hour)
		if d < base*8/10 || d > base*12/10 {
			t.Fatalf("retryDelay(%d) = %v; want %v ± 20 %%", n, d, base)
		}
		total += d
	}
	if n < 15 || n > 25 {
		t.Errorf("%d attempts fit in %v", n, WebhookRetryFor)
	}
}
