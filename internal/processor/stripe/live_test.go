package stripe_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/processor/stripe/stripetest"
	"github.com/cartgateway/cartgateway/internal/service"
)

// The live connector end to end: the gateway's HTTP API with a live key,
// the Stripe connector, and Stripe played by stripe-mock (the shape of
// every request and answer) behind stripetest.Fake (state, idempotency,
// declines and faults).

var mockURL string

func TestMain(m *testing.M) { os.Exit(stripetest.RunWithMock(m.Run, &mockURL)) }

// testSecret looks like a Stripe test key; it never leaves loopback.
const testSecret = "sk_test_cartgatewayFakeKey0123456789"

// live is a gateway with one live account whose processor is Stripe at
// the Fake.
type live struct {
	srv     *apitest.Server
	fake    *stripetest.Fake
	account string
	key     string
	offset  atomic.Int64 // the service clock's advance
}

func startLive(t *testing.T) *live {
	t.Helper()
	if mockURL == "" {
		t.Skip(stripetest.ErrNoMock)
	}
	l := &live{fake: stripetest.NewFake(mockURL)}
	t.Cleanup(l.fake.Close)
	l.srv = apitest.Start(t, apitest.Options{ProcessorTimeout: 3 * time.Second,
		Now: func() time.Time { return time.Now().Add(time.Duration(l.offset.Load())) }})
	l.account, l.key = l.srv.CreateAccount(t, service.NewAccount{Name: "Live shop", Environment: gateway.Live})
	if _, err := l.srv.Service.SetProcessor(context.Background(), service.ProcessorSettings{
		AccountID: l.account, Processor: "stripe", Secret: testSecret, APIBase: l.fake.URL}); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *live) post(t *testing.T, path, body string) apitest.Response {
	t.Helper()
	return l.srv.Request(t, "POST", path, body, map[string]string{"CARTGATEWAY-ACCOUNT-ID": l.account,
		"Authorization": "Bearer " + l.key, "CARTGATEWAY-ENVIRONMENT": "live"})
}

func (l *live) charge(t *testing.T, op, cardNumber string, amount int) apitest.Response {
	t.Helper()
	return l.post(t, "/payment/"+op, apitest.PaymentBody(cardNumber, map[string]any{"amount": amount}))
}

func (l *live) change(t *testing.T, op, id string, amount int) apitest.Response {
	t.Helper()
	switch op {
	case "capture":
		return l.post(t, "/payment/capture", fmt.Sprintf(`{"authorized_payment_id":%q,"amount":%d}`, id, amount))
	case "refund":
		return l.post(t, "/payment/refund", fmt.Sprintf(`{"payment_id":%q,"amount":%d}`, id, amount))
	}
	return l.post(t, "/payment/void", fmt.Sprintf(`{"payment_id":%q}`, id))
}

// payment is the stored payment of id, with its processor reference.
func (l *live) payment(t *testing.T, id string) gateway.Payment {
	t.Helper()
	var p gateway.Payment
	err := l.srv.Service.Store.View(context.Background(), func(tx gateway.ReadTx) error {
		var err error
		p, err = tx.PaymentByTransaction(context.Background(), l.account, gateway.Live, id)
		return err
	})
	if err != nil {
		t.Fatalf("payment %s: %v", id, err)
	}
	return p
}

// intentOf is the Fake's confirmed PaymentIntent of a gateway reference
// (not a fence), and how many there are.
func (l *live) intentOf(ref string) (stripetest.Intent, int) {
	var found stripetest.Intent
	n := 0
	for _, pi := range l.fake.Intents() {
		if pi.Reference == ref && !pi.Fence {
			found = pi
			n++
		}
	}
	return found, n
}

// reconcile moves the clock past every lease and runs the reconciler once.
func (l *live) reconcile(t *testing.T) (int, error) {
	t.Helper()
	l.offset.Add(int64(time.Minute))
	return l.srv.Service.Reconcile(context.Background())
}

// neverTwice: Stripe carried out no request twice under one key.
func (l *live) neverTwice(t *testing.T) {
	t.Helper()
	for key, n := range l.fake.Executed() {
		if n > 1 {
			t.Errorf("Stripe carried out %d requests with idempotency key %s", n, key)
		}
		if !strings.HasPrefix(key, "cartgateway-") {
			t.Errorf("idempotency key %q is not derived from a gateway transaction", key)
		}
	}
}

func wantStatus(t *testing.T, what string, r apitest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.String("code") != code {
		t.Fatalf("%s: %d %s; want %d %q", what, r.Status, r.Raw, status, code)
	}
}

func TestLiveOperations(t *testing.T) {
	l := startLive(t)

	// A charge is a PaymentIntent confirmed and captured at once.
	r := l.charge(t, "charge", "4242424242424242", 2000)
	wantStatus(t, "charge", r, 200, "")
	if r.String("avs_code") != "Y" || r.String("cvv_code") != "M" {
		t.Errorf("charge: avs %q cvv %q; want Y, M", r.String("avs_code"), r.String("cvv_code"))
	}
	charged := r.String("id")
	pi, n := l.intentOf(charged)
	if n != 1 || pi.Status != "succeeded" || pi.AmountReceived != 2000 || pi.CaptureMethod != "automatic" {
		t.Fatalf("charge at Stripe: %d intents, %+v", n, pi)
	}
	if p := l.payment(t, charged); p.ProcessorRef != pi.ID || p.Status != gateway.StatusCaptured {
		t.Errorf("payment: ref %q status %s; want %s, captured", p.ProcessorRef, p.Status, pi.ID)
	}

	// Partial refunds, repeated, up to the captured amount.
	wantStatus(t, "refund 500", l.change(t, "refund", charged, 500), 200, "")
	wantStatus(t, "refund 700", l.change(t, "refund", charged, 700), 200, "")
	wantStatus(t, "refund 900", l.change(t, "refund", charged, 900), 400, "refund-exceeds-captured")
	var refunded int64
	for _, re := range l.fake.Refunds(pi.ID) {
		refunded += re.Amount
	}
	if got := l.fake.Refunds(pi.ID); len(got) != 2 || refunded != 1200 {
		t.Errorf("refunds at Stripe: %+v; want 500 and 700", got)
	}

	// An authorization is held; a partial capture takes part of it.
	r = l.charge(t, "authorize", "4242424242424242", 3000)
	wantStatus(t, "authorize", r, 200, "")
	held := r.String("id")
	if pi, _ := l.intentOf(held); pi.Status != "requires_capture" || pi.AmountCapturable != 3000 || pi.CaptureMethod != "manual" {
		t.Fatalf("authorization at Stripe: %+v", pi)
	}
	wantStatus(t, "capture 2500", l.change(t, "capture", held, 2500), 200, "")
	if pi, _ := l.intentOf(held); pi.Status != "succeeded" || pi.AmountReceived != 2500 {
		t.Errorf("partial capture at Stripe: %+v", pi)
	}
	wantStatus(t, "second capture", l.change(t, "capture", held, 100), 400, "already-captured")
	wantStatus(t, "refund of the capture", l.change(t, "refund", held, 2500), 200, "")

	// A void of an authorization cancels the intent; of a capture not
	// yet settled, refunds it whole.
	r = l.charge(t, "authorize", "4242424242424242", 1500)
	voided := r.String("id")
	wantStatus(t, "void authorization", l.change(t, "void", voided, 0), 200, "")
	if pi, _ := l.intentOf(voided); pi.Status != "canceled" {
		t.Errorf("voided authorization at Stripe: %+v", pi)
	}
	r = l.charge(t, "charge", "4242424242424242", 1800)
	voidedCapture := r.String("id")
	wantStatus(t, "void capture", l.change(t, "void", voidedCapture, 0), 200, "")
	pi, _ = l.intentOf(voidedCapture)
	if re := l.fake.Refunds(pi.ID); len(re) != 1 || re[0].Amount != 1800 {
		t.Errorf("void of a capture at Stripe: refunds %+v; want one of 1800", re)
	}
	if p := l.payment(t, voidedCapture); p.Status != gateway.StatusVoided {
		t.Errorf("voided capture: %s", p.Status)
	}

	// Lookups see the live payments, with every transaction.
	look := l.post(t, "/payment/lookup", fmt.Sprintf(`{"payment_id":%q}`, charged))
	if look.Status != 200 || look.Data()["status"] != "captured" || look.Data()["amount_refunded"] != float64(1200) {
		t.Errorf("lookup: %d %s", look.Status, look.Raw)
	}
	l.neverTwice(t)
	if logs := l.srv.Logs(); strings.Contains(logs, testSecret) || strings.Contains(logs, "4242424242424242") {
		t.Error("the logs contain the Stripe secret key or a card number")
	}
}

func TestLiveDeclinesAndChecks(t *testing.T) {
	l := startLive(t)
	for _, tc := range []struct {
		card, code, avs, cvv string
	}{
		{"4000000000000002", "card-declined", "", ""},
		{"4000000000009995", "insufficient-funds", "", ""},
		{"4000000000009987", "lost-card", "", ""},
		{"4000000000009979", "stolen-card", "", ""},
		{"4000000000000069", "expired-card", "", ""},
		{"4000000000000127", "incorrect-cvv", "", "N"},
		{"4000000000000119", "try-again-later", "", ""},
		{"4000000000003220", "authentication-required", "", ""},
		{"4000000000000101", "", "Y", "N"},
		{"4000000000000036", "", "A", "M"},
		{"4000000000000010", "", "N", "M"},
	} {
		r := l.charge(t, "charge", tc.card, 1000)
		if tc.code != "" {
			wantStatus(t, tc.card, r, 400, tc.code)
			p := l.payment(t, r.String("id"))
			if p.Status != gateway.StatusDeclined || p.DeclineCode != tc.code || p.CVVCode != tc.cvv {
				t.Errorf("%s: stored %s %s cvv %q", tc.card, p.Status, p.DeclineCode, p.CVVCode)
			}
			if _, n := l.intentOf(r.String("id")); n != 1 {
				t.Errorf("%s: %d intents at Stripe; want the declined one", tc.card, n)
			}
			continue
		}
		wantStatus(t, tc.card, r, 200, "")
		if r.String("avs_code") != tc.avs || r.String("cvv_code") != tc.cvv {
			t.Errorf("%s: avs %q cvv %q; want %q %q", tc.card, r.String("avs_code"), r.String("cvv_code"), tc.avs, tc.cvv)
		}
	}
	l.neverTwice(t)
}

// TestLostAnswersAreRetried: an answer lost once (the connection dropped
// after Stripe did the work) is asked again with the same key and
// replayed, for every operation; nothing is done twice.
func TestLostAnswersAreRetried(t *testing.T) {
	l := startLive(t)
	l.fake.Inject(stripetest.Fault{Method: "POST", Path: "/v1/payment_intents", Times: 1, When: stripetest.After, Do: stripetest.Drop})
	r := l.charge(t, "authorize", "4242424242424242", 2000)
	wantStatus(t, "authorize with a dropped answer", r, 200, "")
	id := r.String("id")
	l.fake.Inject(stripetest.Fault{Method: "POST", Path: "/v1/payment_intents/", Times: 1, When: stripetest.After, Do: stripetest.Fail500})
	wantStatus(t, "capture after a 500", l.change(t, "capture", id, 2000), 200, "")
	l.fake.Inject(stripetest.Fault{Method: "POST", Path: "/v1/refunds", Times: 1, When: stripetest.After, Do: stripetest.Drop})
	wantStatus(t, "refund with a dropped answer", l.change(t, "refund", id, 300), 200, "")
	pi, n := l.intentOf(id)
	if n != 1 || pi.AmountReceived != 2000 || len(l.fake.Refunds(pi.ID)) != 1 {
		t.Errorf("at Stripe: %d intents %+v, refunds %+v", n, pi, l.fake.Refunds(pi.ID))
	}
	l.neverTwice(t)
}

// TestTimeoutsArePendingThenReconciled: when every answer of a request is
// lost, the operation stays pending, and the reconciler learns from
// Stripe what was done, for every operation.
func TestTimeoutsArePendingThenReconciled(t *testing.T) {
	l := startLive(t)
	hang := func(path string) {
		l.fake.Inject(stripetest.Fault{Method: "POST", Path: path, When: stripetest.After, Do: stripetest.Hang})
	}

	// A charge Stripe made, whose answers were all lost.
	hang("/v1/payment_intents")
	r := l.charge(t, "charge", "4242424242424242", 2000)
	wantStatus(t, "charge timing out", r, 500, "processor-timeout")
	id := r.String("id")
	if p := l.payment(t, id); p.Status != gateway.StatusPending {
		t.Fatalf("after a timeout the payment is %s; want pending", p.Status)
	}
	l.fake.ClearFaults()
	l.fake.HideFromSearch(1) // Stripe's search lags behind its writes: the list decides
	if n, err := l.reconcile(t); n != 1 || err != nil {
		t.Fatalf("reconcile: %d, %v", n, err)
	}
	pi, _ := l.intentOf(id)
	if p := l.payment(t, id); p.Status != gateway.StatusCaptured || p.ProcessorRef != pi.ID || p.AVSCode != "Y" {
		t.Fatalf("reconciled charge: %s ref %q avs %q; want captured %s Y", p.Status, p.ProcessorRef, p.AVSCode, pi.ID)
	}

	// A capture, a refund and a void whose answers were lost.
	auth := l.charge(t, "authorize", "4242424242424242", 3000).String("id")
	hang("/v1/payment_intents/")
	wantStatus(t, "capture timing out", l.change(t, "capture", auth, 1000), 500, "processor-timeout")
	l.fake.ClearFaults()
	l.reconcileAll(t)
	if p := l.payment(t, auth); p.Status != gateway.StatusCaptured || p.CapturedAmount != 1000 || p.InFlight != 0 {
		t.Fatalf("reconciled capture: %+v", p)
	}
	hang("/v1/refunds")
	wantStatus(t, "refund timing out", l.change(t, "refund", auth, 400), 500, "processor-timeout")
	l.fake.ClearFaults()
	l.reconcileAll(t)
	if p := l.payment(t, auth); p.RefundedAmount != 400 || p.InFlight != 0 {
		t.Fatalf("reconciled refund: %+v", p)
	}
	other := l.charge(t, "authorize", "4242424242424242", 1200).String("id")
	hang("/v1/payment_intents/")
	wantStatus(t, "void timing out", l.change(t, "void", other, 0), 500, "processor-timeout")
	l.fake.ClearFaults()
	l.reconcileAll(t)
	if p := l.payment(t, other); p.Status != gateway.StatusVoided {
		t.Fatalf("reconciled void: %s", p.Status)
	}
	if pi, _ := l.intentOf(other); pi.Status != "canceled" {
		t.Errorf("voided at Stripe: %+v", pi)
	}
	l.neverTwice(t)
}

// reconcileAll reconciles until nothing is pending.
func (l *live) reconcileAll(t *testing.T) {
	t.Helper()
	for i := 0; i < 5; i++ {
		n, err := l.reconcile(t)
		if err == nil && n == 0 {
			return
		}
	}
	t.Fatal("operations still pending after 5 runs of the reconciler")
}

// TestRequestsThatNeverArrivedAreFencedOff: a charge whose requests never
// reached Stripe in time is recorded as failed, and when they arrive
// late, Stripe refuses them (the fence took their key): no money moves.
// A refund that never arrived is carried out by the reconciler instead.
func TestRequestsThatNeverArrivedAreFencedOff(t *testing.T) {
	l := startLive(t)
	l.fake.Inject(stripetest.Fault{Method: "POST", Path: "/v1/payment_intents", When: stripetest.Before, Do: stripetest.Hold})
	r := l.charge(t, "charge", "4242424242424242", 2500)
	wantStatus(t, "charge held back", r, 500, "processor-timeout")
	id := r.String("id")
	l.fake.ClearFaults()
	l.reconcileAll(t)
	if p := l.payment(t, id); p.Status != gateway.StatusFailed {
		t.Fatalf("a charge Stripe never received is %s; want failed", p.Status)
	}
	l.fake.Release() // the held requests reach Stripe now
	time.Sleep(200 * time.Millisecond)
	for _, pi := range l.fake.Intents() {
		if pi.Reference == id && (!pi.Fence || pi.Status != "canceled") {
			t.Errorf("after the fence, Stripe has %+v for the failed charge", pi)
		}
	}

	paid := l.charge(t, "charge", "4242424242424242", 900).String("id")
	l.fake.Inject(stripetest.Fault{Method: "POST", Path: "/v1/refunds", When: stripetest.Before, Do: stripetest.Drop})
	wantStatus(t, "refund never arriving", l.change(t, "refund", paid, 900), 500, "processor-timeout")
	l.fake.ClearFaults()
	l.reconcileAll(t)
	pi, _ := l.intentOf(paid)
	if p := l.payment(t, paid); p.RefundedAmount != 900 || len(l.fake.Refunds(pi.ID)) != 1 {
		t.Fatalf("a refund Stripe never received: payment refunded %d, Stripe has %+v", p.RefundedAmount, l.fake.Refunds(pi.ID))
	}
	l.neverTwice(t)
}

// TestNoDoubleChargeNoLostPayment: many charges at once, each with a
// fault drawn from every kind (none, answers dropped once, every answer
// lost, requests held back until after the reconciler, a 500), then the
// reconciler until nothing is pending. Every payment the gateway records
// as captured has exactly one captured intent at Stripe for its amount,
// every other payment none, and no request was carried out twice.
func TestNoDoubleChargeNoLostPayment(t *testing.T) {
	l := startLive(t)
	faults := []*stripetest.Fault{
		nil,
		{When: stripetest.After, Do: stripetest.Drop, Times: 1},
		{When: stripetest.After, Do: stripetest.Hang},
		{When: stripetest.Before, Do: stripetest.Hold},
		{When: stripetest.After, Do: stripetest.Fail500, Times: 1},
		{When: stripetest.Before, Do: stripetest.Drop, Times: 1},
		{When: stripetest.Before, Do: stripetest.Fail500}, // saved under the key
	}
	const rounds = 2
	var wg sync.WaitGroup
	ids := make([]string, len(faults)*rounds)
	for round := 0; round < rounds; round++ {
		for i, fault := range faults {
			// One fault at a time reaches the intents' endpoint in order,
			// so each charge meets its own.
			l.fake.ClearFaults()
			if fault != nil {
				f := *fault
				f.Method, f.Path = "POST", "/v1/payment_intents"
				l.fake.Inject(f)
			}
			k := round*len(faults) + i
			wg.Add(1)
			started := make(chan struct{})
			go func() {
				defer wg.Done()
				close(started)
				r := l.charge(t, "charge", "4242424242424242", 1000+k)
				ids[k] = r.String("id")
			}()
			<-started
			time.Sleep(300 * time.Millisecond) // its first request is at the Fake
		}
	}
	wg.Wait()
	l.fake.ClearFaults()
	l.reconcileAll(t)
	l.fake.Release()
	time.Sleep(200 * time.Millisecond)
	l.reconcileAll(t)

	captured := 0
	for k, id := range ids {
		if id == "" {
			t.Fatalf("charge %d answered no id", k)
		}
		p := l.payment(t, id)
		pi, n := l.intentOf(id)
		switch p.Status {
		case gateway.StatusCaptured:
			captured++
			if n != 1 || pi.Status != "succeeded" || pi.AmountReceived != p.CapturedAmount || p.ProcessorRef != pi.ID {
				t.Errorf("charge %d captured here (%d, %q) but at Stripe: %d intents, %+v", k, p.CapturedAmount, p.ProcessorRef, n, pi)
			}
		case gateway.StatusFailed:
			if n != 0 {
				t.Errorf("charge %d failed here but Stripe has %+v", k, pi)
			}
		default:
			t.Errorf("charge %d is %s after reconciliation", k, p.Status)
		}
	}
	if captured < len(ids)-rounds*2 {
		t.Errorf("only %d of %d charges captured", captured, len(ids))
	}
	l.neverTwice(t)
}
