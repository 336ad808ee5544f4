package httpapi_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

func mtKey(key string) map[string]string { return map[string]string{"Idempotency-Key": key} }

// mtReplayed sends body with key twice more after first and checks that both
// are byte-identical replays of first.
func mtReplayed(t *testing.T, s *apitest.Server, path, body, key string, first apitest.Response) {
	t.Helper()
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the first answer is marked as a replay: %v", first.Header)
	}
	for i := 0; i < 2; i++ {
		again := s.Request(t, "POST", path, body, mtKey(key))
		if again.Status != first.Status || !bytes.Equal(again.Raw, first.Raw) {
			t.Errorf("replay %d differs:\n%d %s\nfirst: %d %s", i, again.Status, again.Raw, first.Status, first.Raw)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay %d: Idempotent-Replayed = %q", i, again.Header.Get("Idempotent-Replayed"))
		}
		if rid := again.Header.Get("X-Request-Id"); rid == "" || rid == first.Header.Get("X-Request-Id") {
			t.Errorf("replay %d: X-Request-Id %q should be the new request's id", i, rid)
		}
	}
}

func mtTransactions(t *testing.T, d map[string]any) []any {
	t.Helper()
	txs, _ := d["transactions"].([]any)
	return txs
}

func TestIdempotentReplay(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: time.Minute})

	tests := []struct {
		name  string
		path  string
		setup func(t *testing.T) (payment, body string)
		check func(t *testing.T, d map[string]any)
	}{
		{name: "charge", path: "/payment/charge", setup: func(t *testing.T) (string, string) {
			return "", apitest.PaymentBody(mtApproved, map[string]any{"amount": 2100})
		}, check: func(t *testing.T, d map[string]any) {
			mtAmounts(t, d, "captured", 2100, 2100, 0, 2100)
		}},
		{name: "authorize", path: "/payment/authorize", setup: func(t *testing.T) (string, string) {
			return "", apitest.PaymentBody(mtApproved, map[string]any{"amount": 2200})
		}, check: func(t *testing.T, d map[string]any) {
			mtAmounts(t, d, "authorized", 2200, 0, 0, 0)
		}},
		{name: "capture", path: "/payment/capture", setup: func(t *testing.T) (string, string) {
			id := mtPay(t, s, "authorize", 5000)
			return id, mtCaptureBody(id, 3000)
		}, check: func(t *testing.T, d map[string]any) {
			mtAmounts(t, d, "captured", 5000, 3000, 0, 3000)
		}},
		{name: "refund", path: "/payment/refund", setup: func(t *testing.T) (string, string) {
			id := mtPay(t, s, "charge", 4000)
			return id, mtRefundBody(id, 1000)
		}, check: func(t *testing.T, d map[string]any) {
			mtAmounts(t, d, "captured", 4000, 4000, 1000, 3000)
		}},
		{name: "void", path: "/payment/void", setup: func(t *testing.T) (string, string) {
			id := mtPay(t, s, "charge", 4000)
			return id, mtIDBody(id)
		}, check: func(t *testing.T, d map[string]any) {
			if d["status"] != "voided" {
				t.Errorf("status = %v, want voided", d["status"])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			payment, body := tc.setup(t)
			key := "replay-" + tc.name + "-" + gateway.NewID()
			first := s.Request(t, "POST", tc.path, body, mtKey(key))
			mustApprove(t, first)
			mtReplayed(t, s, tc.path, body, key, first)
			if payment == "" {
				payment = first.String("id")
			}
			d := mtLookup(t, s, payment)
			tc.check(t, d)
			txs := mtTransactions(t, d)
			want := 2
			if tc.path == "/payment/charge" || tc.path == "/payment/authorize" {
				want = 1
			}
			if len(txs) != want {
				t.Errorf("%d transactions after replays, want %d: %v", len(txs), want, txs)
			}
			last, _ := txs[len(txs)-1].(map[string]any)
			if last["id"] != first.String("id") {
				t.Errorf("the last transaction is %v, want the first answer's %s", last["id"], first.String("id"))
			}
		})
	}
}

// TestIdempotentChargeCreatesOnePayment: a replayed charge is not a second
// payment, even though duplicate detection would let a keyed charge through.
func TestIdempotentChargeCreatesOnePayment(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: time.Minute})
	order := "order-" + gateway.NewID()
	body := apitest.PaymentBody(mtApproved, map[string]any{"amount": 3100, "order_id": order})
	first := s.Request(t, "POST", "/payment/charge", body, mtKey("one-payment"))
	mustApprove(t, first)
	mtReplayed(t, s, "/payment/charge", body, "one-payment", first)

	// Refund the whole payment once; if a replay had made a second payment
	// of the same order, its money would still be refundable under it.
	mustApprove(t, mtRefund(t, s, first.String("id"), 3100))
	mtWantError(t, mtRefund(t, s, first.String("id"), 1), 400, "refund-exceeds-captured")
	if txs := mtTransactions(t, mtLookup(t, s, first.String("id"))); len(txs) != 2 {
		t.Errorf("want the charge and its refund, got %v", txs)
	}
	// Without a key the same charge is a duplicate of exactly that payment.
	dup := s.Post(t, "/payment/charge", body)
	mtWantError(t, dup, 409, "duplicate-transaction")
	if !strings.Contains(dup.String("error"), first.String("id")) {
		t.Errorf("duplicate error should name %s: %s", first.String("id"), dup.Raw)
	}
}

func TestIdempotencyKeyReused(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})

	t.Run("charge with another body", func(t *testing.T) {
		body := apitest.PaymentBody(mtApproved, map[string]any{"amount": 2000})
		first := s.Request(t, "POST", "/payment/charge", body, mtKey("reused-charge"))
		mustApprove(t, first)
		for _, other := range []string{
			apitest.PaymentBody(mtApproved, map[string]any{"amount": 2001}),
			strings.Replace(body, `"amount":2000`, `"amount": 2000`, 1), // other bytes, same data
			apitest.PaymentBody("4111111111111111", map[string]any{"amount": 2000}),
		} {
			if other == body {
				t.Fatal("test body did not change")
			}
			r := s.Request(t, "POST", "/payment/charge", other, mtKey("reused-charge"))
			mtWantError(t, r, 409, "idempotency-key-reused")
			if r.String("id") != "" || r.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("a refused reuse answers like a payment: %v %s", r.Header, r.Raw)
			}
		}
		// The key still replays its first answer.
		mtReplayed(t, s, "/payment/charge", body, "reused-charge", first)
	})

	t.Run("refund with another amount", func(t *testing.T) {
		sale := mtPay(t, s, "charge", 4000)
		mustApprove(t, s.Request(t, "POST", "/payment/refund", mtRefundBody(sale, 1000), mtKey("reused-refund")))
		mtWantError(t, s.Request(t, "POST", "/payment/refund", mtRefundBody(sale, 2000), mtKey("reused-refund")), 409, "idempotency-key-reused")
		mtAmounts(t, mtLookup(t, s, sale), "captured", 4000, 4000, 1000, 3000)
	})

	t.Run("another endpoint", func(t *testing.T) {
		auth := mtPay(t, s, "authorize", 5000)
		// One body that both capture and refund can read.
		body := fmt.Sprintf(`{"authorized_payment_id":%q,"payment_id":%q,"amount":1000}`, auth, auth)
		mustApprove(t, s.Request(t, "POST", "/payment/capture", body, mtKey("reused-endpoint")))
		mtWantError(t, s.Request(t, "POST", "/payment/refund", body, mtKey("reused-endpoint")), 409, "idempotency-key-reused")
		mtWantError(t, s.Request(t, "POST", "/payment/void", body, mtKey("reused-endpoint")), 409, "idempotency-key-reused")
		mtAmounts(t, mtLookup(t, s, auth), "captured", 5000, 1000, 0, 1000)
	})
}

// TestIdempotencyKeyScopedToAccount: another account's identical key and
// body is its own request.
func TestIdempotencyKeyScopedToAccount(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: time.Minute})
	body := apitest.PaymentBody(mtApproved, map[string]any{"amount": 2600})
	first := s.Request(t, "POST", "/payment/charge", body, mtKey("shared-key"))
	mustApprove(t, first)

	id, key := s.CreateAccount(t, service.NewAccount{Environment: gateway.Sandbox})
	other := map[string]string{"CARTGATEWAY-ACCOUNT-ID": id, "Authorization": "Bearer " + key, "Idempotency-Key": "shared-key"}
	second := s.Request(t, "POST", "/payment/charge", body, other)
	mustApprove(t, second)
	if second.String("id") == first.String("id") || second.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the other account got the first account's answer: %v %s", second.Header, second.Raw)
	}
	// Each account replays its own answer.
	again := s.Request(t, "POST", "/payment/charge", body, other)
	if !bytes.Equal(again.Raw, second.Raw) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("other account replay: %s, want %s", again.Raw, second.Raw)
	}
	mtReplayed(t, s, "/payment/charge", body, "shared-key", first)
	// A different body under the key in the other account is a reuse there only.
	mtWantError(t, s.Request(t, "POST", "/payment/charge", apitest.PaymentBody(mtApproved, nil), other), 409, "idempotency-key-reused")
	delete(other, "Idempotency-Key")
	lookup := s.Request(t, "POST", "/payment/lookup", mtIDBody(second.String("id")), other)
	if lookup.Status != 200 {
		t.Fatalf("lookup: %d %s", lookup.Status, lookup.Raw)
	}
	mtAmounts(t, lookup.Data(), "captured", 2600, 2600, 0, 2600)
	mtWantError(t, s.Request(t, "POST", "/payment/lookup", mtIDBody(first.String("id")), other), 400, "payment-not-found")
}

// TestIdempotentDeclineReplays: a declined or failed attempt is kept and
// replayed, with its id and request id.
func TestIdempotentDeclineReplays(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: time.Minute})
	for _, tc := range []struct {
		card, code string
		status     int
	}{
		{"4000000000000002", "card-declined", 400},
		{"4000000000009987", "lost-card", 400},
		{"4000000000000119", "processor-error", 500},
	} {
		t.Run(tc.code, func(t *testing.T) {
			body := apitest.PaymentBody(tc.card, nil)
			key := "decline-" + tc.code
			first := s.Request(t, "POST", "/payment/charge", body, mtKey(key))
			mtWantError(t, first, tc.status, tc.code)
			if len(first.String("id")) != 15 || first.String("request_id") != first.Header.Get("X-Request-Id") {
				t.Fatalf("decline answer: %v %s", first.Header, first.Raw)
			}
			mtReplayed(t, s, "/payment/charge", body, key, first)
			if txs := mtTransactions(t, mtLookup(t, s, first.String("id"))); len(txs) != 1 {
				t.Errorf("replays recorded more attempts: %v", txs)
			}
		})
	}
}

// TestIdempotencyRefusalsAreNotKept: answers that changed nothing are not
// kept, so the key can be used again with a corrected request.
func TestIdempotencyRefusalsAreNotKept(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	sale := mtPay(t, s, "charge", 4000)

	mtWantError(t, s.Request(t, "POST", "/payment/refund", mtRefundBody(sale, 5000), mtKey("fix-me")), 400, "refund-exceeds-captured")
	r := s.Request(t, "POST", "/payment/refund", mtRefundBody(sale, 1000), mtKey("fix-me"))
	mustApprove(t, r)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("corrected request answered as a replay: %s", r.Raw)
	}

	bad := apitest.PaymentBody("4242424242424241", nil) // fails the Luhn check
	mtWantError(t, s.Request(t, "POST", "/payment/charge", bad, mtKey("fix-card")), 400, "invalid-card-number")
	mustApprove(t, s.Request(t, "POST", "/payment/charge", apitest.PaymentBody(mtApproved, nil), mtKey("fix-card")))

	mtWantError(t, s.Request(t, "POST", "/payment/void", mtIDBody("ZZZZZZZZZZZZZZZ"), mtKey("fix-id")), 400, "payment-not-found")
	mustApprove(t, s.Request(t, "POST", "/payment/void", mtIDBody(mtPay(t, s, "authorize", 1000)), mtKey("fix-id")))

	long := strings.Repeat("k", 256)
	mtWantError(t, s.Request(t, "POST", "/payment/charge", apitest.PaymentBody(mtApproved, nil), mtKey(long)), 400, "invalid-idempotency-key")
	mustApprove(t, s.Request(t, "POST", "/payment/charge", apitest.PaymentBody(mtApproved, nil), mtKey(long[:255])))
}

func TestDuplicateDetection(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: time.Minute})

	order := "order-" + gateway.NewID()
	base := map[string]any{"amount": 2700, "order_id": order}
	with := func(changes map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return m
	}
	first := s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, base))
	mustApprove(t, first)

	for _, tc := range []struct {
		name    string
		path    string
		card    string
		changes map[string]any
	}{
		{"same charge", "/payment/charge", mtApproved, nil},
		{"as an authorization", "/payment/authorize", mtApproved, nil},
		{"other expiry and CVV", "/payment/charge", mtApproved, map[string]any{"card_cvv": "321", "card_expiry_year": 2032}},
		{"card number as text", "/payment/charge", mtApproved, map[string]any{"card_number": mtApproved}},
		{"other customer", "/payment/charge", mtApproved, map[string]any{"firstname": "Other", "email": "other@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Post(t, tc.path, apitest.PaymentBody(tc.card, with(tc.changes)))
			mtWantError(t, r, 409, "duplicate-transaction")
			if r.String("id") != "" || !strings.Contains(r.String("error"), first.String("id")) {
				t.Errorf("duplicate answer should name %s and record nothing: %s", first.String("id"), r.Raw)
			}
		})
	}

	for _, tc := range []struct {
		name    string
		card    string
		changes map[string]any
		headers map[string]string
	}{
		{name: "other amount", card: mtApproved, changes: map[string]any{"amount": 2701}},
		{name: "other order", card: mtApproved, changes: map[string]any{"order_id": order + "-2"}},
		{name: "other card", card: "4111111111111111"},
		{name: "with an Idempotency-Key", card: mtApproved, headers: mtKey("dup-" + order)},
		{name: "with another Idempotency-Key", card: mtApproved, headers: mtKey("dup2-" + order)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Request(t, "POST", "/payment/charge", apitest.PaymentBody(tc.card, with(tc.changes)), tc.headers)
			mustApprove(t, r)
			if r.String("id") == first.String("id") {
				t.Errorf("got the first payment back: %s", r.Raw)
			}
		})
	}

	t.Run("another account", func(t *testing.T) {
		id, key := s.CreateAccount(t, service.NewAccount{Environment: gateway.Sandbox})
		mustApprove(t, s.Request(t, "POST", "/payment/charge", apitest.PaymentBody(mtApproved, base),
			map[string]string{"CARTGATEWAY-ACCOUNT-ID": id, "Authorization": "Bearer " + key}))
	})

	t.Run("order id as number and as text", func(t *testing.T) {
		m := with(map[string]any{"order_id": 4242})
		mustApprove(t, s.Post(t, "/payment/authorize", apitest.PaymentBody(mtApproved, m)))
		m["order_id"] = "4242"
		mtWantError(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, m)), 409, "duplicate-transaction")
		m["order_id"] = "04242"
		mustApprove(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, m)))
	})

	t.Run("a voided payment does not block a retry", func(t *testing.T) {
		m := with(map[string]any{"order_id": "void-" + order})
		r := s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, m))
		mustApprove(t, r)
		mtWantError(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, m)), 409, "duplicate-transaction")
		mustApprove(t, mtVoid(t, s, r.String("id")))
		mustApprove(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, m)))
	})

	t.Run("a declined attempt does not block a retry", func(t *testing.T) {
		for _, card := range []string{"4000000000000002", "4000000000000119"} {
			m := with(map[string]any{"order_id": "declined-" + card + "-" + order})
			body := apitest.PaymentBody(card, m)
			first := s.Post(t, "/payment/charge", body)
			second := s.Post(t, "/payment/charge", body)
			for _, r := range []apitest.Response{first, second} {
				if r.String("code") == "duplicate-transaction" || r.Status == 200 || len(r.String("id")) != 15 {
					t.Errorf("card %s: want a recorded refusal, got %d %s", card, r.Status, r.Raw)
				}
			}
			if first.String("id") == second.String("id") {
				t.Errorf("card %s: the retry was not attempted: %s", card, second.Raw)
			}
		}
		// A declined attempt with another card number for the same order
		// and amount does not block the approved retry either.
		m := with(map[string]any{"order_id": "retry-" + order})
		mtWantError(t, s.Post(t, "/payment/charge", apitest.PaymentBody("4000000000009995", m)), 400, "insufficient-funds")
		mustApprove(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, m)))
	})
}

func TestDuplicateDetectionOff(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: 0})
	body := apitest.PaymentBody(mtApproved, map[string]any{"amount": 2700, "order_id": "4242"})
	a := s.Post(t, "/payment/charge", body)
	b := s.Post(t, "/payment/charge", body)
	mustApprove(t, a)
	mustApprove(t, b)
	if a.String("id") == b.String("id") {
		t.Errorf("window 0: the same charge twice should make two payments, got %s twice", a.String("id"))
	}
}
