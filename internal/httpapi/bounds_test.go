package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// TestBoundsAmountCeiling: a charge or authorization above the account's
// maximum (99,999,999 minor units unless the operator sets another) is
// refused with a 400 that says the maximum, and records nothing.
func TestBoundsAmountCeiling(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	for _, op := range []string{"charge", "authorize"} {
		r := s.Post(t, "/payment/"+op, apitest.PaymentBody(mtApproved, map[string]any{"amount": gateway.DefaultMaxAmount + 1}))
		apiWantError(t, r, http.StatusBadRequest, "amount-too-large")
		if !strings.Contains(r.String("error"), "99999999") {
			t.Errorf("the refusal does not say the maximum: %s", r.Raw)
		}
	}
	apiWantPayments(t, s, 0)
	mustApprove(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": gateway.DefaultMaxAmount})))

	if err := s.Service.SetMaxAmount(context.Background(), s.AccountID, 500_000_000); err != nil {
		t.Fatal(err)
	}
	mustApprove(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": 400_000_000})))
	apiWantError(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": 500_000_001})),
		http.StatusBadRequest, "amount-too-large")
	// Another account keeps the default.
	other, key := s.CreateAccount(t, service.NewAccount{Name: "Other", Environment: gateway.Sandbox})
	r := s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": 400_000_000}),
		map[string]string{"CARTGATEWAY-ACCOUNT-ID": other, "Authorization": "Bearer " + key})
	apiWantError(t, r, http.StatusBadRequest, "amount-too-large")
}

// TestBoundsRefundsPerPayment: past the limit of refunds of one payment a
// refund is refused and records nothing; the money rules are untouched.
func TestBoundsRefundsPerPayment(t *testing.T) {
	s := apitest.Start(t, apitest.Options{MaxRefunds: 3})
	id := mtPay(t, s, "charge", 1000)
	for range 3 {
		mustApprove(t, mtRefund(t, s, id, 1))
	}
	apiWantError(t, mtRefund(t, s, id, 1), http.StatusBadRequest, "too-many-refunds")
	d := mtLookup(t, s, id)
	if d["amount_refunded"] != 3.0 || d["transaction_count"] != 4.0 {
		t.Errorf("after the refused refund: refunded %v, %v transactions", d["amount_refunded"], d["transaction_count"])
	}
	if d["amount_refundable"] != 997.0 {
		t.Errorf("refundable %v, want 997", d["amount_refundable"])
	}
}

// TestBoundsLookupOfAPaymentWithManyTransactions: a lookup lists the latest
// 100 transactions, oldest first, and says how many there are in all; the
// payment's own fields are whole.
func TestBoundsLookupOfAPaymentWithManyTransactions(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	id := mtPay(t, s, "charge", 100_000)
	var last string
	for range 150 {
		r := mtRefund(t, s, id, 1)
		mustApprove(t, r)
		last = r.String("id")
	}
	for _, by := range []string{id, last} {
		d := mtLookup(t, s, by)
		txs, _ := d["transactions"].([]any)
		if len(txs) != gateway.MaxLookupTransactions || d["transaction_count"] != 151.0 {
			t.Fatalf("lookup by %s: %d transactions listed, transaction_count %v; want 100 and 151", by, len(txs), d["transaction_count"])
		}
		first, _ := txs[0].(map[string]any)
		final, _ := txs[len(txs)-1].(map[string]any)
		if first["type"] != "refund" || final["id"] != last {
			t.Errorf("the list is not the latest 100, oldest first: first %v, last %v", first, final)
		}
		if d["amount"] != 100_000.0 || d["amount_refunded"] != 150.0 {
			t.Errorf("amounts: %v requested, %v refunded", d["amount"], d["amount_refunded"])
		}
	}
	// A payment with few transactions lists them all.
	small := mtPay(t, s, "charge", 2000)
	if d := mtLookup(t, s, small); d["transaction_count"] != 1.0 {
		t.Errorf("transaction_count of a plain charge: %v", d["transaction_count"])
	}
}

// TestBoundsRepeatedHeaders: a single-valued header sent twice is refused
// with a 400 that names it, before anything is done: two Idempotency-Keys
// could key the charge on one while a retry carries the other.
func TestBoundsRepeatedHeaders(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	for _, name := range []string{"Authorization", "CARTGATEWAY-ACCOUNT-ID", "CARTGATEWAY-ENVIRONMENT", "Idempotency-Key", "Content-Type"} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, s.URL+"/payment/charge", strings.NewReader(apitest.PaymentBody(mtApproved, nil)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+s.Key)
			req.Header.Set("CARTGATEWAY-ACCOUNT-ID", s.AccountID)
			req.Header.Set("CARTGATEWAY-ENVIRONMENT", "sandbox")
			req.Header.Set("Idempotency-Key", "k1")
			second := map[string]string{"Authorization": "Bearer wrong-key-0123456789abcdef", "CARTGATEWAY-ACCOUNT-ID": "1",
				"CARTGATEWAY-ENVIRONMENT": "live", "Idempotency-Key": "k2", "Content-Type": "application/json"}[name]
			req.Header.Add(name, second)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			raw, _ := io.ReadAll(resp.Body)
			_ = json.Unmarshal(raw, &body)
			if resp.StatusCode != http.StatusBadRequest || body["code"] != "duplicate-header" || !strings.Contains(body["error"].(string), name) {
				t.Fatalf("two %s headers: %d %s", name, resp.StatusCode, raw)
			}
		})
	}
	apiWantPayments(t, s, 0)
}

// TestBoundsPathsAreMatchedAsSent: a path with "." or ".." segments or
// doubled slashes is not redirected to its clean form: it is not found, in
// the API's format, and logged and counted like any request.
func TestBoundsPathsAreMatchedAsSent(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	for _, path := range []string{"/payment/../payment/charge", "/payment/./lookup", "//payment/lookup", "/payment//charge", "/payment/charge/.", "/./healthz"} {
		r := s.Request(t, http.MethodPost, path, apitest.PaymentBody(mtApproved, nil), nil)
		apiWantError(t, r, http.StatusNotFound, "not-found")
		if !strings.Contains(s.Logs(), `"status":404`) {
			t.Errorf("%s: no access log line", path)
		}
	}
	apiWantPayments(t, s, 0)
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `cartgateway_http_requests_total{code="404",endpoint="other"} 6`) {
		t.Errorf("the unclean paths are not counted:\n%s", grepLines(string(raw), "requests_total"))
	}
}

// TestBoundsLivenessAndReadiness: /livez answers while the process serves;
// /healthz while the store answers reads and writes.
func TestBoundsLivenessAndReadiness(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	for path, want := range map[string]string{"/livez": "alive", "/healthz": "ok"} {
		r := s.Request(t, http.MethodGet, path, "", nil)
		if r.Status != http.StatusOK || r.String("status") != want {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Raw)
		}
	}
}
