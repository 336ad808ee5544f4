package httpapi_test

import (
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// withID puts a real transaction id into an SDK fixture in place of the
// SDK's example id.
func withID(body, id string) string { return strings.ReplaceAll(body, "AMB8PUM9HPLZ7NJ", id) }

func mustApprove(t *testing.T, r apitest.Response) {
	t.Helper()
	if r.Status != 200 || r.Number("success") != 1 || r.String("message") != "Approved and Completed" {
		t.Fatalf("want approval, got %d %s", r.Status, r.Raw)
	}
	if len(r.String("id")) != 15 {
		t.Fatalf("want a 15-character id, got %s", r.Raw)
	}
}

// TestPHPSDKFlows sends the PHP SDK's exact bodies and headers, with the
// SDK's published sandbox account imported by id and key, as its own tests
// do: charge, authorize → capture, charge → refund, charge → void, lookup.
// The SDK's tests reuse order 4242 with the same card and amount, so they
// run with duplicate detection off (docs/testing.md explains).
func TestPHPSDKFlows(t *testing.T) {
	s := apitest.Start(t, apitest.Options{AccountID: apitest.SDKAccountID, Key: apitest.SDKKey})

	charge := s.Post(t, "/payment/charge", apitest.SDKBody(t, "charge.json"))
	mustApprove(t, charge)
	if charge.String("avs_code") != "Y" || charge.String("cvv_code") != "M" {
		t.Errorf("Discover test card: want AVS Y, CVV M, got %s", charge.Raw)
	}

	for _, name := range []string{"authorize.json", "authorize-minimal.json"} {
		auth := s.Post(t, "/payment/authorize", apitest.SDKBody(t, name))
		mustApprove(t, auth)
		capture := s.Post(t, "/payment/capture", withID(apitest.SDKBody(t, "capture.json"), auth.String("id")))
		mustApprove(t, capture)
		if capture.String("authorized_payment_id") != auth.String("id") {
			t.Errorf("capture: authorized_payment_id = %q, want %q", capture.String("authorized_payment_id"), auth.String("id"))
		}
	}

	refund := s.Post(t, "/payment/refund", withID(apitest.SDKBody(t, "refund.json"), charge.String("id")))
	mustApprove(t, refund)

	sale := s.Post(t, "/payment/charge", apitest.SDKBody(t, "charge.json"))
	mustApprove(t, sale)
	void := s.Post(t, "/payment/void", withID(apitest.SDKBody(t, "void.json"), sale.String("id")))
	mustApprove(t, void)

	lookup := s.Post(t, "/payment/lookup", withID(apitest.SDKBody(t, "lookup.json"), charge.String("id")))
	if lookup.Status != 200 || lookup.Number("success") != 1 || lookup.String("id") != charge.String("id") {
		t.Fatalf("lookup: %d %s", lookup.Status, lookup.Raw)
	}
	d := lookup.Data()
	want := map[string]any{"status": "captured", "currency": "USD", "amount_authorized": 2000.0, "amount_captured": 2000.0,
		"amount_refunded": 1025.0, "amount_refundable": 975.0, "order_id": "4242", "source": "PHP SDK Test", "environment": "sandbox"}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("lookup data %s = %v, want %v", k, d[k], v)
		}
	}
	c, _ := d["card"].(map[string]any)
	if c["brand"] != "discover" || c["bin"] != "601111" || c["last4"] != "1117" {
		t.Errorf("lookup card = %v", c)
	}
	cust, _ := d["customer"].(map[string]any)
	if cust["country"] != "US" || cust["phone"] != "123456789" {
		t.Errorf("lookup customer = %v", cust)
	}
	if tx, _ := d["transactions"].([]any); len(tx) != 2 {
		t.Errorf("lookup transactions = %v, want charge and refund", d["transactions"])
	}
	if strings.Contains(string(lookup.Raw), "6011111111111117") || strings.Contains(string(lookup.Raw), `"123"`) {
		t.Errorf("lookup shows card data: %s", lookup.Raw)
	}
}
