package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

const apiInvalidKey = "401 - Unauthorized. The access token is not valid (invalid-passed-privatekey)."

// apiWantInvalidKey checks the one answer for every wrong credential.
func apiWantInvalidKey(t *testing.T, r apitest.Response) {
	t.Helper()
	apiWantError(t, r, http.StatusUnauthorized, "invalid-passed-privatekey")
	if got := r.String("error"); got != apiInvalidKey {
		t.Errorf("error = %q, want %q", got, apiInvalidKey)
	}
}

func TestAuthCredentials(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	body := apitest.PaymentBody("4242424242424242", nil)
	other, otherKey := s.CreateAccount(t, service.NewAccount{Environment: gateway.Sandbox})

	t.Run("missing Authorization", func(t *testing.T) {
		apiWantError(t, s.Request(t, http.MethodPost, "/payment/charge", body, map[string]string{"Authorization": ""}),
			http.StatusUnauthorized, "missing-privatekey")
		// HTTP trims the value to "Bearer": no key, or a wrong one.
		r := s.Request(t, http.MethodPost, "/payment/charge", body, map[string]string{"Authorization": "Bearer "})
		if code := r.String("code"); code != "missing-privatekey" && code != "invalid-passed-privatekey" {
			t.Errorf("empty Bearer: code %q", code)
		}
		apiWantError(t, r, http.StatusUnauthorized, r.String("code"))
	})
	t.Run("not a Bearer credential", func(t *testing.T) {
		for _, auth := range []string{"Basic " + s.Key, s.Key, "Bearer", "Token " + s.Key} {
			apiWantError(t, s.Request(t, http.MethodPost, "/payment/charge", body, map[string]string{"Authorization": auth}),
				http.StatusUnauthorized, "missing-privatekey")
		}
	})
	t.Run("the Bearer scheme is case-insensitive", func(t *testing.T) {
		for _, scheme := range []string{"bearer", "BEARER", "Bearer "} {
			r := s.Request(t, http.MethodPost, "/payment/lookup", `{"payment_id":"AAAAAAAAAAAAAAA"}`, map[string]string{"Authorization": scheme + " " + s.Key})
			apiWantError(t, r, http.StatusBadRequest, "payment-not-found")
		}
	})
	t.Run("missing account header", func(t *testing.T) {
		apiWantError(t, s.Request(t, http.MethodPost, "/payment/charge", body, map[string]string{"CARTGATEWAY-ACCOUNT-ID": ""}),
			http.StatusUnauthorized, "missing-account-id")
	})
	wrong := map[string]map[string]string{
		"wrong key":                    {"Authorization": "Bearer " + strings.Repeat("0", 40)},
		"key of another account":       {"Authorization": "Bearer " + otherKey},
		"account of another key":       {"CARTGATEWAY-ACCOUNT-ID": other},
		"unknown account":              {"CARTGATEWAY-ACCOUNT-ID": "999999999999"},
		"malformed account":            {"CARTGATEWAY-ACCOUNT-ID": "12a"},
		"account with a leading zero":  {"CARTGATEWAY-ACCOUNT-ID": "0" + s.AccountID},
		"key prefix":                   {"Authorization": "Bearer " + s.Key[:len(s.Key)-1]},
		"key with a character changed": {"Authorization": "Bearer " + s.Key[:len(s.Key)-1] + string(s.Key[len(s.Key)-1]^1)},
	}
	for name, headers := range wrong {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/payment/charge", "/payment/lookup", "/payment/void"} {
				apiWantInvalidKey(t, s.Request(t, http.MethodPost, path, body, headers))
			}
		})
	}
	apiWantPayments(t, s, 0)
	// Both accounts work with their own credentials.
	apiWantApproved(t, s.Post(t, "/payment/charge", body))
	apiWantApproved(t, s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil),
		map[string]string{"CARTGATEWAY-ACCOUNT-ID": other, "Authorization": "Bearer " + otherKey}))
	// The environment header is optional and any case of it works.
	apiWantApproved(t, s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil),
		map[string]string{"CARTGATEWAY-ENVIRONMENT": ""}))
	apiWantApproved(t, s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil),
		map[string]string{"CARTGATEWAY-ENVIRONMENT": "Sandbox"}))
}

func TestAuthRevokedKey(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	charge := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil))
	apiWantApproved(t, charge)

	// A second key of the same account keeps working after the first is revoked.
	_, second, err := s.Service.AddKey(ctx, s.AccountID, gateway.Sandbox, "")
	if err != nil {
		t.Fatal(err)
	}
	_, keys, err := s.Service.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for _, k := range keys[s.AccountID] {
		if k.Matches(s.Key) {
			first = k.ID
		}
	}
	if first == "" {
		t.Fatalf("the test key is not among the account's keys: %v", keys[s.AccountID])
	}
	if err := s.Service.RevokeKey(ctx, s.AccountID, first); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/payment/charge", "/payment/lookup"} {
		apiWantInvalidKey(t, s.Request(t, http.MethodPost, path, `{"payment_id":"`+charge.String("id")+`"}`, nil))
	}
	r := s.Request(t, http.MethodPost, "/payment/lookup", `{"payment_id":"`+charge.String("id")+`"}`,
		map[string]string{"Authorization": "Bearer " + second})
	if r.Status != http.StatusOK || r.Data()["id"] != charge.String("id") {
		t.Fatalf("the account's other key: %d %s", r.Status, r.Raw)
	}
}

func TestAuthLiveKeys(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	body := apitest.PaymentBody("4242424242424242", nil)
	liveAccount, liveKey := s.CreateAccount(t, service.NewAccount{Environment: gateway.Live})
	live := func(env string) map[string]string {
		return map[string]string{"CARTGATEWAY-ACCOUNT-ID": liveAccount, "Authorization": "Bearer " + liveKey, "CARTGATEWAY-ENVIRONMENT": env}
	}

	// A live key with the sandbox header is a key of the other environment:
	// refused like any wrong key, without telling that the key itself is right.
	r := s.Request(t, http.MethodPost, "/payment/charge", body, live("sandbox"))
	apiWantInvalidKey(t, r)
	for _, env := range []string{"", "live", "LIVE"} {
		t.Run("env "+env, func(t *testing.T) {
			for _, op := range []string{"charge", "authorize"} {
				apiWantError(t, s.Request(t, http.MethodPost, "/payment/"+op, body, live(env)), http.StatusBadRequest, "live-not-configured")
			}
		})
	}
	apiWantInvalidKey(t, s.Request(t, http.MethodPost, "/payment/charge", body, live("production")))
	// A sandbox key with the live header is refused the same way.
	apiWantInvalidKey(t, s.Request(t, http.MethodPost, "/payment/charge", body, map[string]string{"CARTGATEWAY-ENVIRONMENT": "live"}))
	apiWantPayments(t, s, 0)
}

// TestAuthEnvironmentsAndAccountsAreSeparate: sandbox payments are invisible to
// the same account's live key, and every account's payments to the others.
func TestAuthEnvironmentsAndAccountsAreSeparate(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	charge := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil))
	apiWantApproved(t, charge)
	auth := s.Post(t, "/payment/authorize", apitest.PaymentBody("4242424242424242", nil))
	apiWantApproved(t, auth)
	before := map[string]map[string]any{charge.String("id"): apiLookup(t, s, charge.String("id")), auth.String("id"): apiLookup(t, s, auth.String("id"))}

	_, liveKey, err := s.Service.AddKey(ctx, s.AccountID, gateway.Live, "")
	if err != nil {
		t.Fatal(err)
	}
	other, otherKey := s.CreateAccount(t, service.NewAccount{Environment: gateway.Sandbox})
	callers := map[string]map[string]string{
		"same account, live key":                        {"Authorization": "Bearer " + liveKey, "CARTGATEWAY-ENVIRONMENT": "live"},
		"same account, live key, no environment header": {"Authorization": "Bearer " + liveKey, "CARTGATEWAY-ENVIRONMENT": ""},
		"another account":                               {"Authorization": "Bearer " + otherKey, "CARTGATEWAY-ACCOUNT-ID": other},
	}
	for name, headers := range callers {
		t.Run(name, func(t *testing.T) {
			for _, id := range []string{charge.String("id"), auth.String("id")} {
				for _, req := range []struct{ path, body string }{
					{"/payment/lookup", `{"payment_id":"` + id + `"}`},
					{"/payment/capture", `{"authorized_payment_id":"` + id + `","amount":100}`},
					{"/payment/refund", `{"payment_id":"` + id + `","amount":100}`},
					{"/payment/void", `{"payment_id":"` + id + `"}`},
				} {
					r := s.Request(t, http.MethodPost, req.path, req.body, headers)
					apiWantError(t, r, http.StatusBadRequest, "payment-not-found")
				}
			}
		})
	}
	for id, d := range before {
		if after := apiLookup(t, s, id); fmt.Sprint(after) != fmt.Sprint(d) {
			t.Errorf("payment %s changed through another caller:\nbefore %v\nafter  %v", id, d, after)
		}
	}
	// The live key is refused the sandbox explicitly.
	apiWantInvalidKey(t, s.Request(t, http.MethodPost, "/payment/lookup", `{"payment_id":"`+charge.String("id")+`"}`,
		map[string]string{"Authorization": "Bearer " + liveKey, "CARTGATEWAY-ENVIRONMENT": "sandbox"}))
}

// TestAuthLowerCaseHeaders sends the headers with lower-case names on the wire,
// as some HTTP clients (and the SDK for some of them) do.
func TestAuthLowerCaseHeaders(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	send := func(path, body string, headers [][2]string) (*http.Response, map[string]any) {
		t.Helper()
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var b strings.Builder
		fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nhost: %s\r\nconnection: close\r\ncontent-length: %d\r\n", path, u.Host, len(body))
		for _, h := range headers {
			fmt.Fprintf(&b, "%s: %s\r\n", h[0], h[1])
		}
		b.WriteString("\r\n" + body)
		if _, err := io.WriteString(conn, b.String()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("answer is not JSON: %s", raw)
		}
		return resp, m
	}
	headers := [][2]string{
		{"authorization", "Bearer " + s.Key},
		{"cartgateway-account-id", s.AccountID},
		{"cartgateway-environment", "sandbox"},
		{"cartgateway-version", "2022-11-07"},
		{"content-type", "application/json"},
		{"user-agent", "CartGateway-PHP/20221107"},
	}
	resp, m := send("/payment/charge", apitest.PaymentBody("4242424242424242", nil), headers)
	if resp.StatusCode != http.StatusOK || m["success"] != 1.0 {
		t.Fatalf("lower-case headers: %d %v", resp.StatusCode, m)
	}
	id, _ := m["id"].(string)
	resp, m = send("/payment/lookup", `{"payment_id":"`+id+`"}`, headers)
	if resp.StatusCode != http.StatusOK || m["id"] != id {
		t.Fatalf("lookup with lower-case headers: %d %v", resp.StatusCode, m)
	}
	// Mixed case, and a lower-case scheme name.
	mixed := [][2]string{{"AUTHORIZATION", "Bearer " + s.Key}, {"CartGateway-Account-Id", s.AccountID}, {"Content-Type", "application/json"}}
	if resp, m := send("/payment/lookup", `{"payment_id":"`+id+`"}`, mixed); resp.StatusCode != http.StatusOK {
		t.Fatalf("mixed-case headers: %d %v", resp.StatusCode, m)
	}
	// A wrong key in lower-case headers is still the one 401.
	bad := append([][2]string{}, headers...)
	bad[0][1] = "Bearer " + strings.Repeat("f", 40)
	if resp, m := send("/payment/lookup", `{"payment_id":"`+id+`"}`, bad); resp.StatusCode != http.StatusUnauthorized || m["error"] != apiInvalidKey {
		t.Fatalf("wrong key, lower-case headers: %d %v", resp.StatusCode, m)
	}
}

func TestAuthHealthAndMetrics(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	r := s.Request(t, http.MethodGet, "/healthz", "", map[string]string{"Authorization": "", "CARTGATEWAY-ACCOUNT-ID": ""})
	if r.Status != http.StatusOK || r.String("status") != "ok" || len(r.Body) != 1 {
		t.Fatalf("healthz: %d %s", r.Status, r.Raw)
	}
	apiWantCommonHeaders(t, r)

	apiWantApproved(t, s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil)))
	apiWantError(t, s.Post(t, "/payment/charge", apitest.PaymentBody("4000000000000002", nil)), http.StatusBadRequest, "card-declined")
	m := s.Request(t, http.MethodGet, "/metrics", "", map[string]string{"Authorization": "", "CARTGATEWAY-ACCOUNT-ID": ""})
	if m.Status != http.StatusOK {
		t.Fatalf("metrics: %d %s", m.Status, m.Raw)
	}
	text := string(m.Raw)
	for _, want := range []string{
		"cartgateway_http_requests_total",
		`cartgateway_http_requests_total{code="200",endpoint="/payment/charge"} 1`,
		`cartgateway_http_requests_total{code="400",endpoint="/payment/charge"} 1`,
		"cartgateway_payments_total",
		`cartgateway_payments_total{operation="charge",outcome="approved"} 1`,
		"cartgateway_http_request_duration_seconds",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "4242424242424242") || strings.Contains(text, s.Key) {
		t.Errorf("metrics show a card number or key")
	}
}

// TestAuthCacheForgetsRevokedKeys: with authentications cached, a key
// revoked through the service stops working at once, and one revoked behind
// the service's back (another process) within the cache's lifetime.
func TestAuthCacheForgetsRevokedKeys(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	s.Service.AuthCacheTTL = 300 * time.Millisecond
	body := `{"payment_id":"AAAAAAAAAAAAAAA"}`
	ctx := context.Background()
	if r := s.Post(t, "/payment/lookup", body); r.String("code") != "payment-not-found" {
		t.Fatalf("lookup with a good key: %s", r.Raw)
	}
	_, keys, err := s.Service.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Service.RevokeKey(ctx, s.AccountID, keys[s.AccountID][0].ID); err != nil {
		t.Fatal(err)
	}
	if r := s.Post(t, "/payment/lookup", body); r.Status != http.StatusUnauthorized {
		t.Fatalf("a key revoked through this service still works: %d %s", r.Status, r.Raw)
	}

	// Another key, cached, then revoked directly in the store.
	key, secret, err := s.Service.AddKey(ctx, s.AccountID, gateway.Sandbox, "")
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer " + secret}
	if r := s.Request(t, http.MethodPost, "/payment/lookup", body, auth); r.String("code") != "payment-not-found" {
		t.Fatalf("lookup with the new key: %s", r.Raw)
	}
	if err := s.Store.Update(ctx, func(tx gateway.Tx) error { return tx.RevokeKey(ctx, s.AccountID, key.ID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for s.Request(t, http.MethodPost, "/payment/lookup", body, auth).Status != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("a key revoked elsewhere still works after the cache lifetime")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
