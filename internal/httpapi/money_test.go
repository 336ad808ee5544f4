package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// Helpers shared by money_test.go, concurrency_test.go, idempotency_test.go
// and carddata_test.go. They are prefixed "mt" to stay clear of other test
// files in this package.

// mtApproved is an approved test card with the default AVS/CVV results.
const mtApproved = "4242424242424242"

// mtPay sends an approved charge or authorization ("charge"/"authorize") of
// amount and returns its id.
func mtPay(t *testing.T, s *apitest.Server, op string, amount int64) string {
	t.Helper()
	r := s.Post(t, "/payment/"+op, apitest.PaymentBody(mtApproved, map[string]any{"amount": amount}))
	mustApprove(t, r)
	return r.String("id")
}

func mtCaptureBody(id string, amount int64) string {
	return fmt.Sprintf(`{"authorized_payment_id":%q,"amount":%d}`, id, amount)
}

func mtRefundBody(id string, amount int64) string {
	return fmt.Sprintf(`{"payment_id":%q,"amount":%d}`, id, amount)
}

func mtIDBody(id string) string { return fmt.Sprintf(`{"payment_id":%q}`, id) }

func mtCapture(t *testing.T, s *apitest.Server, id string, amount int64) apitest.Response {
	t.Helper()
	return s.Post(t, "/payment/capture", mtCaptureBody(id, amount))
}

func mtRefund(t *testing.T, s *apitest.Server, id string, amount int64) apitest.Response {
	t.Helper()
	return s.Post(t, "/payment/refund", mtRefundBody(id, amount))
}

func mtVoid(t *testing.T, s *apitest.Server, id string) apitest.Response {
	t.Helper()
	return s.Post(t, "/payment/void", mtIDBody(id))
}

// mtLookup looks the payment up by any of its transaction ids and returns
// lookup's data; the lookup must succeed.
func mtLookup(t *testing.T, s *apitest.Server, id string) map[string]any {
	t.Helper()
	r := s.Post(t, "/payment/lookup", mtIDBody(id))
	if r.Status != 200 || r.Number("success") != 1 {
		t.Fatalf("lookup %s: %d %s", id, r.Status, r.Raw)
	}
	return r.Data()
}

// mtWantError checks an error answer: status, machine code, success 0 and
// the code at the end of the SDK-read "error" text.
func mtWantError(t *testing.T, r apitest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.String("code") != code {
		t.Errorf("want %d %s, got %d %s", status, code, r.Status, r.Raw)
		return
	}
	if s, ok := r.Body["success"].(float64); !ok || s != 0 {
		t.Errorf("error answer without success 0: %s", r.Raw)
	}
	if e := r.String("error"); !strings.HasPrefix(e, fmt.Sprint(status)+" - ") || !strings.Contains(e, "("+code+")") {
		t.Errorf("error text %q does not follow the contract for %d %s", e, status, code)
	}
}

// mtInt reads an integer field of a decoded JSON object.
func mtInt(t *testing.T, d map[string]any, field string) int64 {
	t.Helper()
	v, ok := d[field].(float64)
	if !ok {
		t.Errorf("field %s missing or not a number in %v", field, d)
		return -1
	}
	if v != float64(int64(v)) {
		t.Errorf("field %s = %v is not an integer", field, v)
	}
	return int64(v)
}

// mtAmounts checks lookup's status and its amounts.
func mtAmounts(t *testing.T, d map[string]any, status string, authorized, captured, refunded, refundable int64) {
	t.Helper()
	if d["status"] != status {
		t.Errorf("status = %v, want %s", d["status"], status)
	}
	got := [4]int64{mtInt(t, d, "amount_authorized"), mtInt(t, d, "amount_captured"), mtInt(t, d, "amount_refunded"), mtInt(t, d, "amount_refundable")}
	want := [4]int64{authorized, captured, refunded, refundable}
	if got != want {
		t.Errorf("authorized/captured/refunded/refundable = %v, want %v", got, want)
	}
}

func TestMoneyCapture(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	tests := []struct {
		name    string
		amount  int64
		status  int
		code    string
		after   string
		capture int64
	}{
		{name: "full", amount: 5000, status: 200, after: "captured", capture: 5000},
		{name: "partial", amount: 3000, status: 200, after: "captured", capture: 3000},
		{name: "one cent", amount: 1, status: 200, after: "captured", capture: 1},
		{name: "more than authorized", amount: 5001, status: 400, code: "capture-exceeds-authorized", after: "authorized"},
		{name: "zero", amount: 0, status: 400, code: "invalid-amount", after: "authorized"},
		{name: "negative", amount: -100, status: 400, code: "invalid-amount", after: "authorized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			auth := mtPay(t, s, "authorize", 5000)
			mtAmounts(t, mtLookup(t, s, auth), "authorized", 5000, 0, 0, 0)
			r := mtCapture(t, s, auth, tc.amount)
			if tc.status != 200 {
				mtWantError(t, r, tc.status, tc.code)
				mtAmounts(t, mtLookup(t, s, auth), tc.after, 5000, 0, 0, 0)
				return
			}
			mustApprove(t, r)
			if r.String("authorized_payment_id") != auth || r.String("id") == auth {
				t.Errorf("capture answer: want a new id and authorized_payment_id %s, got %s", auth, r.Raw)
			}
			mtAmounts(t, mtLookup(t, s, auth), tc.after, 5000, tc.capture, 0, tc.capture)
		})
	}
}

func TestMoneyCaptureOnce(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})

	auth := mtPay(t, s, "authorize", 5000)
	mustApprove(t, mtCapture(t, s, auth, 2000))
	mtWantError(t, mtCapture(t, s, auth, 2000), 400, "already-captured")
	mtWantError(t, mtCapture(t, s, auth, 1000), 400, "already-captured")
	mtAmounts(t, mtLookup(t, s, auth), "captured", 5000, 2000, 0, 2000)

	sale := mtPay(t, s, "charge", 2000)
	mtWantError(t, mtCapture(t, s, sale, 2000), 400, "already-captured")
	mtAmounts(t, mtLookup(t, s, sale), "captured", 2000, 2000, 0, 2000)
}

// TestMoneyAnyTransactionIDNamesThePayment: capture, refund, void and lookup
// accept the id of any transaction of the payment.
func TestMoneyAnyTransactionIDNamesThePayment(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})

	auth := mtPay(t, s, "authorize", 5000)
	capture := mtCapture(t, s, auth, 4000)
	mustApprove(t, capture)
	capID := capture.String("id")

	refund := mtRefund(t, s, capID, 1000)
	mustApprove(t, refund)
	refID := refund.String("id")
	if len(map[string]bool{auth: true, capID: true, refID: true}) != 3 {
		t.Fatalf("transaction ids are not distinct: %s %s %s", auth, capID, refID)
	}

	for _, id := range []string{auth, capID, refID} {
		r := s.Post(t, "/payment/lookup", mtIDBody(id))
		if r.Status != 200 || r.String("id") != auth || r.Data()["id"] != auth {
			t.Errorf("lookup by %s: want payment %s, got %d %s", id, auth, r.Status, r.Raw)
		}
		mtAmounts(t, r.Data(), "captured", 5000, 4000, 1000, 3000)
	}

	mtWantError(t, mtCapture(t, s, capID, 100), 400, "already-captured")
	mtWantError(t, mtVoid(t, s, refID), 400, "payment-has-refunds")
	mustApprove(t, mtRefund(t, s, refID, 500))
	mtWantError(t, mtRefund(t, s, capID, 2501), 400, "refund-exceeds-captured")
	mtAmounts(t, mtLookup(t, s, capID), "captured", 5000, 4000, 1500, 2500)

	// Unknown ids and another account's ids are not found.
	mtWantError(t, mtRefund(t, s, "ZZZZZZZZZZZZZZZ", 100), 400, "payment-not-found")
	other, key := s.CreateAccount(t, service.NewAccount{Environment: gateway.Sandbox})
	as := map[string]string{"CARTGATEWAY-ACCOUNT-ID": other, "Authorization": "Bearer " + key}
	for _, id := range []string{auth, capID, refID} {
		mtWantError(t, s.Request(t, "POST", "/payment/lookup", mtIDBody(id), as), 400, "payment-not-found")
		mtWantError(t, s.Request(t, "POST", "/payment/refund", mtRefundBody(id, 100), as), 400, "payment-not-found")
		mtWantError(t, s.Request(t, "POST", "/payment/void", mtIDBody(id), as), 400, "payment-not-found")
	}
	mtAmounts(t, mtLookup(t, s, auth), "captured", 5000, 4000, 1500, 2500)
}

func TestMoneyRefunds(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})

	t.Run("uncaptured", func(t *testing.T) {
		auth := mtPay(t, s, "authorize", 5000)
		mtWantError(t, mtRefund(t, s, auth, 100), 400, "payment-not-captured")
		mtAmounts(t, mtLookup(t, s, auth), "authorized", 5000, 0, 0, 0)
	})

	tests := []struct {
		name     string
		amount   int64 // charged, or authorized when capture > 0
		capture  int64
		refunds  []int64
		captured int64
	}{
		{name: "sale in three parts", amount: 1000, refunds: []int64{300, 300, 400}, captured: 1000},
		{name: "sale at once", amount: 1000, refunds: []int64{1000}, captured: 1000},
		{name: "sale cent by cent at the end", amount: 1000, refunds: []int64{998, 1, 1}, captured: 1000},
		{name: "partial capture", amount: 5000, capture: 700, refunds: []int64{200, 500}, captured: 700},
		{name: "full capture", amount: 5000, capture: 5000, refunds: []int64{2500, 2500}, captured: 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var id string
			status := "captured"
			if tc.capture > 0 {
				id = mtPay(t, s, "authorize", tc.amount)
				mustApprove(t, mtCapture(t, s, id, tc.capture))
			} else {
				id = mtPay(t, s, "charge", tc.amount)
			}
			// More than captured at once is refused before anything is refunded.
			mtWantError(t, mtRefund(t, s, id, tc.captured+1), 400, "refund-exceeds-captured")
			var refunded int64
			for _, amount := range tc.refunds {
				r := mtRefund(t, s, id, amount)
				mustApprove(t, r)
				if r.String("id") == id {
					t.Errorf("refund reuses the payment id: %s", r.Raw)
				}
				refunded += amount
				mtAmounts(t, mtLookup(t, s, id), status, tc.amount, tc.captured, refunded, tc.captured-refunded)
			}
			if refunded != tc.captured {
				t.Fatalf("test case refunds %d of %d", refunded, tc.captured)
			}
			mtWantError(t, mtRefund(t, s, id, 1), 400, "refund-exceeds-captured")
			mtWantError(t, mtRefund(t, s, id, 0), 400, "invalid-amount")
			mtAmounts(t, mtLookup(t, s, id), status, tc.amount, tc.captured, tc.captured, 0)
		})
	}
}

func TestMoneyVoid(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})

	tests := []struct {
		name     string
		setup    func(t *testing.T) string
		captured int64
		released int64 // the void transaction's amount
	}{
		{name: "authorized", setup: func(t *testing.T) string { return mtPay(t, s, "authorize", 5000) }, released: 5000},
		{name: "sale unsettled", setup: func(t *testing.T) string { return mtPay(t, s, "charge", 5000) }, captured: 5000, released: 5000},
		{name: "captured unsettled", setup: func(t *testing.T) string {
			id := mtPay(t, s, "authorize", 5000)
			mustApprove(t, mtCapture(t, s, id, 3000))
			return id
		}, captured: 3000, released: 3000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := tc.setup(t)
			void := mtVoid(t, s, id)
			mustApprove(t, void)
			d := mtLookup(t, s, id)
			if d["status"] != "voided" || mtInt(t, d, "amount_refundable") != 0 || mtInt(t, d, "amount_refunded") != 0 {
				t.Errorf("after void: %v", d)
			}
			txs, _ := d["transactions"].([]any)
			last, _ := txs[len(txs)-1].(map[string]any)
			if last["id"] != void.String("id") || last["type"] != "void" || mtInt(t, last, "amount") != tc.released {
				t.Errorf("void transaction = %v, want id %s, amount %d", last, void.String("id"), tc.released)
			}
			mtWantError(t, mtCapture(t, s, id, 100), 400, "payment-voided")
			mtWantError(t, mtRefund(t, s, id, 100), 400, "payment-voided")
			mtWantError(t, mtVoid(t, s, id), 400, "payment-voided")
			if d := mtLookup(t, s, id); d["status"] != "voided" || mtInt(t, d, "amount_refunded") != 0 {
				t.Errorf("refused operations changed the voided payment: %v", d)
			}
		})
	}

	t.Run("after a partial refund", func(t *testing.T) {
		id := mtPay(t, s, "charge", 5000)
		mustApprove(t, mtRefund(t, s, id, 1000))
		mtWantError(t, mtVoid(t, s, id), 400, "payment-has-refunds")
		mtAmounts(t, mtLookup(t, s, id), "captured", 5000, 5000, 1000, 4000)
		mustApprove(t, mtRefund(t, s, id, 4000)) // refunding the rest is the way out
	})
}

func TestMoneySettlement(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	ctx := context.Background()

	sale := mtPay(t, s, "charge", 2500)
	auth := mtPay(t, s, "authorize", 3000)
	captured := mtPay(t, s, "authorize", 3000)
	mustApprove(t, mtCapture(t, s, captured, 2000))
	refunded := mtPay(t, s, "charge", 1500)
	mustApprove(t, mtRefund(t, s, refunded, 500))
	voided := mtPay(t, s, "charge", 1200)
	mustApprove(t, mtVoid(t, s, voided))
	declined := s.Post(t, "/payment/charge", apitest.PaymentBody("4000000000000002", nil))
	mtWantError(t, declined, 400, "card-declined")

	run, err := s.Service.Settle(ctx, "manual:first")
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	if len(run.Batches) != 1 || run.Batches[0].Count != 3 || run.Batches[0].Total != 2500+2000+1000 {
		t.Fatalf("batches = %+v, want one of the 3 captured payments, 5500 net", run.Batches)
	}
	batch := run.Batches[0]

	for _, id := range []string{sale, captured, refunded} {
		d := mtLookup(t, s, id)
		if d["status"] != "settled" || d["batch_id"] != batch.ID {
			t.Errorf("%s after settlement: status %v batch %v, want settled in %s", id, d["status"], d["batch_id"], batch.ID)
		}
		at, _ := d["settled_at"].(string)
		if ts, err := time.Parse(time.RFC3339, at); err != nil || ts.IsZero() {
			t.Errorf("%s: settled_at = %q", id, at)
		}
	}
	for _, id := range []string{auth, voided, declined.String("id")} {
		d := mtLookup(t, s, id)
		if d["status"] == "settled" || d["settled_at"] != nil || d["batch_id"] != nil {
			t.Errorf("%s was settled: %v", id, d)
		}
	}
	if d := mtLookup(t, s, auth); d["status"] != "authorized" {
		t.Errorf("the authorization is now %v", d["status"])
	}

	// A settled payment cannot be voided or captured again; it can be refunded.
	r := mtVoid(t, s, sale)
	mtWantError(t, r, 400, "payment-settled")
	if !strings.Contains(r.String("error"), "refund it instead") {
		t.Errorf("void of a settled payment should say to refund: %s", r.Raw)
	}
	mtWantError(t, mtCapture(t, s, sale, 100), 400, "already-captured")
	mustApprove(t, mtRefund(t, s, sale, 1000))
	mustApprove(t, mtRefund(t, s, refunded, 1000))
	mtWantError(t, mtRefund(t, s, refunded, 1), 400, "refund-exceeds-captured")
	mtWantError(t, mtRefund(t, s, sale, 1501), 400, "refund-exceeds-captured")
	d := mtLookup(t, s, sale)
	mtAmounts(t, d, "settled", 2500, 2500, 1000, 1500)
	if d["batch_id"] != batch.ID {
		t.Errorf("refund moved the payment out of its batch: %v", d["batch_id"])
	}
	mtAmounts(t, mtLookup(t, s, refunded), "settled", 1500, 1500, 1500, 0)

	// The authorization is still voidable; a later capture settles in the next batch.
	mustApprove(t, mtCapture(t, s, auth, 3000))
	again, err := s.Service.Settle(ctx, "manual:second")
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	if len(again.Batches) != 1 || again.Batches[0].ID == batch.ID || again.Batches[0].Count != 1 {
		t.Fatalf("second run's batches = %+v, want only the new capture", again.Batches)
	}
	next := again.Batches[0]
	if d := mtLookup(t, s, auth); d["status"] != "settled" || d["batch_id"] != next.ID {
		t.Errorf("late capture: %v", d)
	}
	if d := mtLookup(t, s, sale); d["batch_id"] != batch.ID {
		t.Errorf("a settled payment changed batch: %v", d["batch_id"])
	}
}

// TestMoneyNotApproved: declined and failed attempts are recorded but refuse
// capture, refund and void.
func TestMoneyNotApproved(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	tests := []struct {
		card   string
		status int
		code   string
		after  string
	}{
		{card: "4000000000000002", status: 400, code: "card-declined", after: "declined"},
		{card: "4000000000009995", status: 400, code: "insufficient-funds", after: "declined"},
		{card: "4000000000000127", status: 400, code: "incorrect-cvv", after: "declined"},
		{card: "4000000000000119", status: 500, code: "processor-error", after: "failed"},
	}
	for _, tc := range tests {
		for _, op := range []string{"charge", "authorize"} {
			t.Run(op+" "+tc.card, func(t *testing.T) {
				r := s.Post(t, "/payment/"+op, apitest.PaymentBody(tc.card, nil))
				mtWantError(t, r, tc.status, tc.code)
				id := r.String("id")
				if len(id) != 15 {
					t.Fatalf("a refused attempt is recorded with an id: %s", r.Raw)
				}
				d := mtLookup(t, s, id)
				if d["status"] != tc.after || mtInt(t, d, "amount_captured") != 0 || mtInt(t, d, "amount_refundable") != 0 {
					t.Errorf("lookup: %v", d)
				}
				mtWantError(t, mtCapture(t, s, id, 100), 400, "payment-not-approved")
				mtWantError(t, mtRefund(t, s, id, 100), 400, "payment-not-approved")
				mtWantError(t, mtVoid(t, s, id), 400, "payment-not-approved")
				if d := mtLookup(t, s, id); d["status"] != tc.after || len(d["transactions"].([]any)) != 1 {
					t.Errorf("refused operations changed the attempt: %v", d)
				}
			})
		}
	}
}

func TestMoneyLookupTransactions(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})

	type step struct {
		typ    string
		amount int64
		id     string
	}
	auth := mtPay(t, s, "authorize", 5000)
	steps := []step{{"authorize", 5000, auth}}
	capture := mtCapture(t, s, auth, 4000)
	mustApprove(t, capture)
	steps = append(steps, step{"capture", 4000, capture.String("id")})
	for _, amount := range []int64{1000, 500} {
		r := mtRefund(t, s, auth, amount)
		mustApprove(t, r)
		steps = append(steps, step{"refund", amount, r.String("id")})
	}

	sale := mtPay(t, s, "charge", 2000)
	void := mtVoid(t, s, sale)
	mustApprove(t, void)

	for _, tc := range []struct {
		id    string
		steps []step
	}{
		{auth, steps},
		{sale, []step{{"charge", 2000, sale}, {"void", 2000, void.String("id")}}},
	} {
		d := mtLookup(t, s, tc.id)
		txs, _ := d["transactions"].([]any)
		if len(txs) != len(tc.steps) {
			t.Fatalf("lookup %s: %d transactions, want %d: %v", tc.id, len(txs), len(tc.steps), txs)
		}
		prev := ""
		for i, want := range tc.steps {
			got, _ := txs[i].(map[string]any)
			if got["id"] != want.id || got["type"] != want.typ || mtInt(t, got, "amount") != want.amount || got["result"] != "approved" {
				t.Errorf("transaction %d = %v, want %s %d %s", i, got, want.typ, want.amount, want.id)
			}
			at, _ := got["created_at"].(string)
			if at == "" || at < prev {
				t.Errorf("transaction %d created_at %q is before %q", i, at, prev)
			}
			prev = at
		}
	}
	mtAmounts(t, mtLookup(t, s, auth), "captured", 5000, 4000, 1500, 2500)
}

func TestMoneyCurrency(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	usd := mtPay(t, s, "charge", 2000)
	if d := mtLookup(t, s, usd); d["currency"] != "USD" {
		t.Errorf("default account currency = %v, want USD", d["currency"])
	}

	id, key := s.CreateAccount(t, service.NewAccount{Currency: "EUR", Environment: gateway.Sandbox})
	eur := map[string]string{"CARTGATEWAY-ACCOUNT-ID": id, "Authorization": "Bearer " + key}
	r := s.Request(t, "POST", "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": 1999}), eur)
	mustApprove(t, r)
	l := s.Request(t, "POST", "/payment/lookup", mtIDBody(r.String("id")), eur)
	if l.Status != 200 {
		t.Fatalf("lookup: %d %s", l.Status, l.Raw)
	}
	if d := l.Data(); d["currency"] != "EUR" || mtInt(t, d, "amount_captured") != 1999 {
		t.Errorf("EUR account payment: %v", d)
	}
	mustApprove(t, s.Request(t, "POST", "/payment/refund", mtRefundBody(r.String("id"), 999), eur))
	if d := s.Request(t, "POST", "/payment/lookup", mtIDBody(r.String("id")), eur).Data(); d["currency"] != "EUR" || mtInt(t, d, "amount_refunded") != 999 {
		t.Errorf("EUR payment after refund: %v", d)
	}
	// Each account sees only its own payments.
	mtWantError(t, s.Request(t, "POST", "/payment/lookup", mtIDBody(usd), eur), 400, "payment-not-found")
	mtWantError(t, s.Post(t, "/payment/lookup", mtIDBody(r.String("id"))), 400, "payment-not-found")
}

// TestMoneyAmountsAreIntegers: amounts go out as JSON integers and only whole
// minor units come in.
func TestMoneyAmountsAreIntegers(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	auth := mtPay(t, s, "authorize", 5000)
	mustApprove(t, mtCapture(t, s, auth, 4321))
	mustApprove(t, mtRefund(t, s, auth, 1234))

	r := s.Post(t, "/payment/lookup", mtIDBody(auth))
	dec := json.NewDecoder(bytes.NewReader(r.Raw))
	dec.UseNumber()
	var body struct {
		Data map[string]any `json:"data"`
	}
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	isInt := func(where string, v any, want int64) {
		t.Helper()
		n, ok := v.(json.Number)
		if !ok || strings.ContainsAny(n.String(), ".eE") {
			t.Errorf("%s = %v (%T), want a JSON integer", where, v, v)
			return
		}
		if got, err := n.Int64(); err != nil || got != want {
			t.Errorf("%s = %s, want %d", where, n, want)
		}
	}
	isInt("amount_authorized", body.Data["amount_authorized"], 5000)
	isInt("amount_captured", body.Data["amount_captured"], 4321)
	isInt("amount_refunded", body.Data["amount_refunded"], 1234)
	isInt("amount_refundable", body.Data["amount_refundable"], 4321-1234)
	txs, _ := body.Data["transactions"].([]any)
	for i, want := range []int64{5000, 4321, 1234} {
		if i >= len(txs) {
			t.Fatalf("transactions: %v", txs)
		}
		tx, _ := txs[i].(map[string]any)
		isInt(fmt.Sprintf("transactions[%d].amount", i), tx["amount"], want)
	}

	// Digits as text are whole minor units too (clients other than the SDK).
	mustApprove(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": "2000"})))
	mustApprove(t, s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": 100})))

	for _, bad := range []any{json.Number("20.5"), json.Number("2000.0"), json.Number("2e3"), "20.00", "2,000", -2000, 99, 0, true} {
		r := s.Post(t, "/payment/charge", apitest.PaymentBody(mtApproved, map[string]any{"amount": bad}))
		mtWantError(t, r, 400, "invalid-amount")
	}
	sale := mtPay(t, s, "charge", 2000)
	for _, bad := range []string{"1.5", "100.0", "1e2", `"ten"`, "null"} {
		mtWantError(t, s.Post(t, "/payment/refund", fmt.Sprintf(`{"payment_id":%q,"amount":%s}`, sale, bad)), 400,
			map[bool]string{true: "missing-amount", false: "invalid-amount"}[bad == "null"])
		mtWantError(t, s.Post(t, "/payment/capture", fmt.Sprintf(`{"authorized_payment_id":%q,"amount":%s}`, auth, bad)), 400,
			map[bool]string{true: "missing-amount", false: "invalid-amount"}[bad == "null"])
	}
	mtAmounts(t, mtLookup(t, s, sale), "captured", 2000, 2000, 0, 2000)
}
