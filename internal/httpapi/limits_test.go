package httpapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/server"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// limitClock is the limits' clock in these tests, so that refills need no
// sleeping.
type limitClock struct {
	mu sync.Mutex
	t  time.Time
}

func newLimitClock() *limitClock { return &limitClock{t: time.Now()} }

func (c *limitClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *limitClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limitsOnly turns on the limits given and nothing else.
func limitsOnly(c *limitClock, l web.Limits) *web.Limits {
	for _, r := range []*float64{&l.IPRate, &l.AccountRate, &l.AuthFailuresPerMinute} {
		if *r == 0 {
			*r = -1
		}
	}
	l.Now = c.Now
	return &l
}

const lookupUnknown = `{"payment_id":"AAAAAAAAAAAAAAA"}`

// apiWantRateLimited checks a 429 in the API's error format with a
// Retry-After of whole seconds, and returns that wait.
func apiWantRateLimited(t *testing.T, r apitest.Response, code string) time.Duration {
	t.Helper()
	apiWantError(t, r, http.StatusTooManyRequests, code)
	apiWantCommonHeaders(t, r)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After = %q, want whole seconds ≥ 1", r.Header.Get("Retry-After"))
	}
	if msg := r.String("error"); !strings.HasPrefix(msg, "429 - Too Many Requests. ") || !strings.Contains(msg, "retry after "+strconv.Itoa(secs)+" seconds") {
		t.Errorf("error = %q", msg)
	}
	return time.Duration(secs) * time.Second
}

func TestLimitPerIP(t *testing.T) {
	c := newLimitClock()
	s := apitest.Start(t, apitest.Options{Limits: limitsOnly(c, web.Limits{IPRate: 1, IPBurst: 3})})
	for i := 0; i < 3; i++ {
		apiWantError(t, s.Request(t, http.MethodGet, "/nope", "", nil), http.StatusNotFound, "not-found")
	}
	// Every surface counts: an unknown route, an API call, a wrong method.
	wait := apiWantRateLimited(t, s.Post(t, "/payment/lookup", lookupUnknown), "rate-limited")
	if wait != time.Second {
		t.Errorf("Retry-After %v, want 1s at 1 request/s", wait)
	}
	apiWantRateLimited(t, s.Request(t, http.MethodGet, "/payment/charge", "", nil), "rate-limited")
	apiWantRateLimited(t, s.Request(t, http.MethodGet, "/nope", "", nil), "rate-limited")

	// Health checks and metrics scrapes are exempt.
	for i := 0; i < 10; i++ {
		if r := s.Request(t, http.MethodGet, "/healthz", "", nil); r.Status != http.StatusOK {
			t.Fatalf("/healthz while limited: %d %s", r.Status, r.Raw)
		}
	}
	metrics := s.Request(t, http.MethodGet, "/metrics", "", nil)
	if metrics.Status != http.StatusOK {
		t.Fatalf("/metrics while limited: %d", metrics.Status)
	}
	if !strings.Contains(string(metrics.Raw), `cartgateway_http_requests_total{code="429",endpoint="rate-limited"} 3`) {
		t.Errorf("metrics do not count the refusals:\n%s", grepLines(string(metrics.Raw), "cartgateway_http_requests_total"))
	}

	// A spoofed X-Forwarded-For from an untrusted peer changes nothing.
	apiWantRateLimited(t, s.Request(t, http.MethodGet, "/nope", "", map[string]string{"X-Forwarded-For": "198.51.100.1"}), "rate-limited")

	// The bucket refills at the rate.
	c.Advance(wait)
	apiWantError(t, s.Post(t, "/payment/lookup", lookupUnknown), http.StatusBadRequest, "payment-not-found")
	apiWantRateLimited(t, s.Post(t, "/payment/lookup", lookupUnknown), "rate-limited")

	if !strings.Contains(s.Logs(), `"path":"rate-limited","status":429,"client_ip":"127.0.0.1"`) {
		t.Errorf("no log line of a refusal with the client IP:\n%s", s.Logs())
	}
}

func TestLimitPerIPBehindTrustedProxy(t *testing.T) {
	c := newLimitClock()
	s := apitest.Start(t, apitest.Options{Limits: limitsOnly(c, web.Limits{IPRate: 1, IPBurst: 2}),
		TrustedProxies: limit.Proxies{mustPrefix(t, "127.0.0.1/32")}})
	from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": "203.0.113.66, " + ip} }
	for i := 0; i < 2; i++ {
		apiWantError(t, s.Request(t, http.MethodGet, "/nope", "", from("198.51.100.1")), http.StatusNotFound, "not-found")
	}
	apiWantRateLimited(t, s.Request(t, http.MethodGet, "/nope", "", from("198.51.100.1")), "rate-limited")
	// Another client behind the same proxy has its own bucket, whatever the
	// first one writes left of the proxy's entry.
	apiWantError(t, s.Request(t, http.MethodGet, "/nope", "", from("198.51.100.2")), http.StatusNotFound, "not-found")
	apiWantRateLimited(t, s.Request(t, http.MethodGet, "/nope", "", map[string]string{"X-Forwarded-For": "198.51.100.3, 198.51.100.1"}), "rate-limited")
	// IPv6 clients are limited by /64.
	for i := 0; i < 2; i++ {
		apiWantError(t, s.Request(t, http.MethodGet, "/nope", "", from("2001:db8:0:1::"+strconv.Itoa(i+1))), http.StatusNotFound, "not-found")
	}
	apiWantRateLimited(t, s.Request(t, http.MethodGet, "/nope", "", from("2001:db8:0:1::99")), "rate-limited")
	apiWantError(t, s.Request(t, http.MethodGet, "/nope", "", from("2001:db8:0:2::1")), http.StatusNotFound, "not-found")

	if !strings.Contains(s.Logs(), `"client_ip":"198.51.100.1"`) || !strings.Contains(s.Logs(), `"client_ip":"2001:db8:0:1::99"`) {
		t.Errorf("the log does not name the clients behind the proxy:\n%s", s.Logs())
	}
	if strings.Contains(s.Logs(), `"client_ip":"203.0.113.66"`) {
		t.Error("a client-written X-Forwarded-For entry was believed")
	}
}

func TestLimitPerAccount(t *testing.T) {
	c := newLimitClock()
	s := apitest.Start(t, apitest.Options{Limits: limitsOnly(c, web.Limits{AccountRate: 1, AccountBurst: 2})})
	other, otherKey := s.CreateAccount(t, service.NewAccount{Environment: gateway.Sandbox})
	asOther := map[string]string{"CARTGATEWAY-ACCOUNT-ID": other, "Authorization": "Bearer " + otherKey}

	for i := 0; i < 2; i++ {
		apiWantError(t, s.Post(t, "/payment/lookup", lookupUnknown), http.StatusBadRequest, "payment-not-found")
	}
	wait := apiWantRateLimited(t, s.Post(t, "/payment/lookup", lookupUnknown), "rate-limited")
	r := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil))
	apiWantRateLimited(t, r, "rate-limited")
	if !strings.Contains(r.String("error"), "for this account") {
		t.Errorf("error = %q", r.String("error"))
	}
	apiWantPayments(t, s, 0) // a refused charge is not recorded

	// The other account, from the same address, is not limited.
	for i := 0; i < 2; i++ {
		apiWantError(t, s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown, asOther), http.StatusBadRequest, "payment-not-found")
	}
	// Nor are unauthenticated requests counted against an account.
	for i := 0; i < 3; i++ {
		apiWantInvalidKey(t, s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown,
			map[string]string{"Authorization": "Bearer " + strings.Repeat("0", 40), "CARTGATEWAY-ACCOUNT-ID": other}))
	}
	apiWantRateLimited(t, s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown, asOther), "rate-limited")

	c.Advance(wait)
	apiWantApproved(t, s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil)))
	if !strings.Contains(s.Logs(), `"status":429,"client_ip":"127.0.0.1","account_id":"`+s.AccountID+`"`) {
		t.Errorf("the refusal's log line lacks the account:\n%s", s.Logs())
	}
}

func TestLimitFailedAuthentication(t *testing.T) {
	c := newLimitClock()
	s := apitest.Start(t, apitest.Options{Limits: limitsOnly(c, web.Limits{AuthFailuresPerMinute: 60, AuthFailureBurst: 3}),
		TrustedProxies: limit.Proxies{mustPrefix(t, "127.0.0.1/32")}})
	wrong := map[string]string{"Authorization": "Bearer " + strings.Repeat("0", 40)}

	// Successes spend nothing.
	for i := 0; i < 5; i++ {
		apiWantError(t, s.Post(t, "/payment/lookup", lookupUnknown), http.StatusBadRequest, "payment-not-found")
	}
	for i := 0; i < 3; i++ {
		apiWantInvalidKey(t, s.Request(t, http.MethodPost, "/payment/charge", lookupUnknown, wrong))
	}
	// Now even the right key is refused from this address, before it is
	// checked, and so is any other guess.
	wait := apiWantRateLimited(t, s.Post(t, "/payment/lookup", lookupUnknown), "too-many-failed-authentications")
	if wait != time.Second {
		t.Errorf("Retry-After %v, want 1s at 60 failures/minute", wait)
	}
	apiWantRateLimited(t, s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown, wrong), "too-many-failed-authentications")
	apiWantRateLimited(t, s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil)), "too-many-failed-authentications")
	apiWantPayments(t, s, 0)
	// Routes without authentication still answer.
	apiWantError(t, s.Request(t, http.MethodGet, "/nope", "", nil), http.StatusNotFound, "not-found")

	// Another client (behind the trusted proxy) is not throttled.
	apiWantError(t, s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown, map[string]string{"X-Forwarded-For": "198.51.100.7"}),
		http.StatusBadRequest, "payment-not-found")

	// After Retry-After one more attempt is allowed: a guess spends it…
	c.Advance(wait)
	apiWantInvalidKey(t, s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown, wrong))
	apiWantRateLimited(t, s.Post(t, "/payment/lookup", lookupUnknown), "too-many-failed-authentications")
	// …the right key does not.
	c.Advance(wait)
	apiWantError(t, s.Post(t, "/payment/lookup", lookupUnknown), http.StatusBadRequest, "payment-not-found")
	apiWantError(t, s.Post(t, "/payment/lookup", lookupUnknown), http.StatusBadRequest, "payment-not-found")
}

// TestLimitFailedAuthenticationRealClock runs the throttle on the real
// clock once, with a Retry-After of one second.
func TestLimitFailedAuthenticationRealClock(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Limits: &web.Limits{IPRate: -1, AccountRate: -1, AuthFailuresPerMinute: 60, AuthFailureBurst: 2}})
	wrong := map[string]string{"Authorization": "Bearer " + strings.Repeat("0", 40)}
	for i := 0; i < 2; i++ {
		apiWantInvalidKey(t, s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown, wrong))
	}
	wait := apiWantRateLimited(t, s.Post(t, "/payment/lookup", lookupUnknown), "too-many-failed-authentications")
	time.Sleep(wait)
	apiWantError(t, s.Post(t, "/payment/lookup", lookupUnknown), http.StatusBadRequest, "payment-not-found")
}

func TestLimitsDefaultsAreGenerous(t *testing.T) {
	s := apitest.Start(t, apitest.Options{Limits: &web.Limits{}})
	for i := 0; i < 50; i++ {
		if r := s.Post(t, "/payment/lookup", lookupUnknown); r.Status != http.StatusBadRequest {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Raw)
		}
	}
}

var securityHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

func apiWantSecurityHeaders(t *testing.T, what string, h http.Header, wantHSTS bool) {
	t.Helper()
	for k, v := range securityHeaders {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	hsts := h.Get("Strict-Transport-Security")
	if wantHSTS && hsts != "max-age=63072000; includeSubDomains" {
		t.Errorf("%s: Strict-Transport-Security = %q", what, hsts)
	}
	if !wantHSTS && hsts != "" {
		t.Errorf("%s: Strict-Transport-Security %q over plain HTTP", what, hsts)
	}
}

func TestSecurityHeaders(t *testing.T) {
	c := newLimitClock()
	s := apitest.Start(t, apitest.Options{Limits: limitsOnly(c, web.Limits{AuthFailuresPerMinute: 1, AuthFailureBurst: 1}),
		TrustedProxies: limit.Proxies{mustPrefix(t, "127.0.0.1/32")}})
	answers := []struct {
		name   string
		r      apitest.Response
		status int
	}{
		{"200 charge", s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil)), http.StatusOK},
		{"200 healthz", s.Request(t, http.MethodGet, "/healthz", "", nil), http.StatusOK},
		{"400", s.Post(t, "/payment/lookup", lookupUnknown), http.StatusBadRequest},
		{"404", s.Request(t, http.MethodGet, "/nope", "", nil), http.StatusNotFound},
		{"405", s.Request(t, http.MethodGet, "/payment/charge", "", nil), http.StatusMethodNotAllowed},
		{"401", s.Request(t, http.MethodPost, "/payment/lookup", lookupUnknown, map[string]string{"Authorization": "Bearer x"}), http.StatusUnauthorized},
		{"429", s.Post(t, "/payment/lookup", lookupUnknown), http.StatusTooManyRequests},
	}
	for _, a := range answers {
		if a.r.Status != a.status {
			t.Fatalf("%s: status %d: %s", a.name, a.r.Status, a.r.Raw)
		}
		apiWantCommonHeaders(t, a.r)
		apiWantSecurityHeaders(t, a.name, a.r.Header, false)
	}
	m := s.Request(t, http.MethodGet, "/metrics", "", nil)
	apiWantSecurityHeaders(t, "metrics", m.Header, false)

	// HSTS when a trusted proxy says the client came over HTTPS.
	r := s.Request(t, http.MethodGet, "/healthz", "", map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.1"})
	apiWantSecurityHeaders(t, "behind a TLS proxy", r.Header, true)
	r = s.Request(t, http.MethodGet, "/healthz", "", map[string]string{"X-Forwarded-Proto": "http"})
	apiWantSecurityHeaders(t, "behind a plain proxy", r.Header, false)

	// Not when an untrusted peer says so.
	plain := apitest.Start(t, apitest.Options{})
	r = plain.Request(t, http.MethodGet, "/nope", "", map[string]string{"X-Forwarded-Proto": "https"})
	apiWantSecurityHeaders(t, "untrusted X-Forwarded-Proto", r.Header, false)
}

// TestHSTSOverTLS serves the handler over TLS: every answer carries HSTS.
// (cmd/cartgateway tests the serve command's own TLS.)
func TestHSTSOverTLS(t *testing.T) {
	db, _, _ := apitest.OpenStore(t)
	t.Cleanup(func() { _ = db.Close() })
	h := server.New(server.Config{Service: &service.Service{Store: db, FingerprintKey: apitest.FingerprintKey, Now: time.Now},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: db.Ping})
	ts := httptest.NewTLSServer(apitest.Checked(t, h))
	defer ts.Close()
	for _, tc := range []struct {
		method, path string
		status       int
	}{{"GET", "/healthz", 200}, {"GET", "/nope", 404}, {"GET", "/payment/charge", 405}, {"POST", "/payment/lookup", 401}} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader("{}"))
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		apiWantSecurityHeaders(t, tc.method+" "+tc.path, resp.Header, true)
	}
}

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	ps, err := limit.ParseProxies(s)
	if err != nil || len(ps) != 1 {
		t.Fatalf("ParseProxies(%q): %v", s, err)
	}
	return ps[0]
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
