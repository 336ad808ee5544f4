package gateway_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// authorized is the authorized amount of every payment in these tests.
const authorized = 1000

var allStatuses = []gateway.Status{
	gateway.StatusAuthorized,
	gateway.StatusCaptured,
	gateway.StatusSettled,
	gateway.StatusVoided,
	gateway.StatusDeclined,
	gateway.StatusFailed,
}

// payment builds a payment with every field set, so that comparisons catch a
// change to any of them.
func payment(status gateway.Status, captured, refunded int64) gateway.Payment {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := gateway.Payment{
		ID:               "PAY000000000001",
		AccountID:        "12345678",
		Environment:      gateway.Sandbox,
		Status:           status,
		Currency:         "USD",
		AuthorizedAmount: authorized,
		CapturedAmount:   captured,
		RefundedAmount:   refunded,
		OrderID:          "order-1",
		Card:             gateway.CardSummary{Brand: "visa", BIN: "424242", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Fingerprint: "fp"},
		Customer:         gateway.Customer{FirstName: "Ada", LastName: "Lovelace", Zip: "10001", Country: "US"},
		AVSCode:          "Y",
		CVVCode:          "M",
		Source:           "api",
		CreatedAt:        at,
		UpdatedAt:        at,
		Version:          7,
		Transactions: []gateway.Transaction{
			{ID: "PAY000000000001", PaymentID: "PAY000000000001", Operation: gateway.OpAuthorize, Result: gateway.ResultApproved, Amount: authorized},
		},
	}
	switch status {
	case gateway.StatusSettled:
		p.SettledAt = at.Add(24 * time.Hour)
		p.BatchID = "BATCH0000000001"
	case gateway.StatusDeclined:
		p.DeclineCode = "card-declined"
	case gateway.StatusFailed:
		p.DeclineCode = "processor-error"
	}
	return p
}

// boundaryAmounts are the amounts every operation is tried with: 0, 1,
// exactly authorized, authorized+1, the remaining refundable, remaining+1,
// and a few out-of-range values.
func boundaryAmounts(p gateway.Payment) []int64 {
	rem := p.RefundableAmount()
	return []int64{math.MinInt64, -1, 0, 1, p.CapturedAmount, authorized, authorized + 1, rem, rem + 1, math.MaxInt64}
}

type outcome struct {
	status             gateway.Status
	captured, refunded int64
}

type opCase struct {
	name   string
	p      gateway.Payment
	op     string // "capture", "refund" or "void"
	amount int64
	code   string  // expected error code; "" means success
	want   outcome // expected result on success
}

func apply(p gateway.Payment, op string, amount int64) (gateway.Payment, error) {
	switch op {
	case "capture":
		return p.Capture(amount)
	case "refund":
		return p.Refund(amount, gateway.DefaultMaxRefunds)
	case "void":
		return p.Void()
	}
	panic("unknown op " + op)
}

func stateMachineCases() []opCase {
	var cases []opCase
	add := func(p gateway.Payment, op string, amount int64, code string, want outcome) {
		name := fmt.Sprintf("%s(c%d,r%d)/%s", p.Status, p.CapturedAmount, p.RefundedAmount, op)
		if op != "void" {
			name += fmt.Sprintf("/%d", amount)
		}
		cases = append(cases, opCase{name: name, p: p, op: op, amount: amount, code: code, want: want})
	}

	// Capture of an authorized payment: 1..authorized, once.
	auth := payment(gateway.StatusAuthorized, 0, 0)
	for _, a := range []int64{math.MinInt64, -1, 0} {
		add(auth, "capture", a, "invalid-amount", outcome{})
	}
	for _, a := range []int64{1, 2, authorized - 1, authorized} {
		add(auth, "capture", a, "", outcome{gateway.StatusCaptured, a, 0})
	}
	for _, a := range []int64{authorized + 1, math.MaxInt64} {
		add(auth, "capture", a, "capture-exceeds-authorized", outcome{})
	}
	// Capturing again is refused whatever the amount, even when fully refunded.
	for _, p := range []gateway.Payment{
		payment(gateway.StatusCaptured, 800, 300),
		payment(gateway.StatusCaptured, 800, 0),
		payment(gateway.StatusCaptured, authorized, authorized),
		payment(gateway.StatusSettled, 800, 300),
		payment(gateway.StatusSettled, 800, 0),
	} {
		for _, a := range boundaryAmounts(p) {
			add(p, "capture", a, "already-captured", outcome{})
		}
	}

	// Refund: only captured money.
	for _, a := range boundaryAmounts(auth) {
		add(auth, "refund", a, "payment-not-captured", outcome{})
	}
	for _, s := range []gateway.Status{gateway.StatusCaptured, gateway.StatusSettled} {
		// 800 captured, 300 refunded: 500 remaining.
		p := payment(s, 800, 300)
		for _, a := range []int64{math.MinInt64, -1, 0} {
			add(p, "refund", a, "invalid-amount", outcome{})
		}
		add(p, "refund", 1, "", outcome{s, 800, 301})
		add(p, "refund", 499, "", outcome{s, 800, 799})
		add(p, "refund", 500, "", outcome{s, 800, 800})
		for _, a := range []int64{501, 800, authorized, authorized + 1, math.MaxInt64} {
			add(p, "refund", a, "refund-exceeds-captured", outcome{})
		}
		// Nothing refunded yet: the whole capture, not the authorization.
		p = payment(s, 800, 0)
		add(p, "refund", 800, "", outcome{s, 800, 800})
		add(p, "refund", 801, "refund-exceeds-captured", outcome{})
		add(p, "refund", authorized, "refund-exceeds-captured", outcome{})
		// Full capture.
		p = payment(s, authorized, 0)
		add(p, "refund", authorized, "", outcome{s, authorized, authorized})
		add(p, "refund", authorized+1, "refund-exceeds-captured", outcome{})
		// Fully refunded: nothing left.
		p = payment(s, 800, 800)
		add(p, "refund", 0, "invalid-amount", outcome{})
		add(p, "refund", 1, "refund-exceeds-captured", outcome{})
	}

	// Void.
	add(auth, "void", 0, "", outcome{gateway.StatusVoided, 0, 0})
	add(payment(gateway.StatusCaptured, 800, 0), "void", 0, "", outcome{gateway.StatusVoided, 800, 0})
	add(payment(gateway.StatusCaptured, authorized, 0), "void", 0, "", outcome{gateway.StatusVoided, authorized, 0})
	add(payment(gateway.StatusCaptured, 800, 1), "void", 0, "payment-has-refunds", outcome{})
	add(payment(gateway.StatusCaptured, 800, 800), "void", 0, "payment-has-refunds", outcome{})
	add(payment(gateway.StatusSettled, 800, 0), "void", 0, "payment-settled", outcome{})
	add(payment(gateway.StatusSettled, 800, 300), "void", 0, "payment-settled", outcome{})

	// Voided, declined and failed payments refuse every operation.
	for _, tc := range []struct {
		status gateway.Status
		code   string
	}{
		{gateway.StatusVoided, "payment-voided"},
		{gateway.StatusDeclined, "payment-not-approved"},
		{gateway.StatusFailed, "payment-not-approved"},
	} {
		for _, p := range []gateway.Payment{payment(tc.status, 0, 0), payment(tc.status, 800, 0)} {
			for _, a := range boundaryAmounts(p) {
				add(p, "capture", a, tc.code, outcome{})
				add(p, "refund", a, tc.code, outcome{})
			}
			add(p, "void", 0, tc.code, outcome{})
		}
	}
	return cases
}

func TestPaymentStateMachine(t *testing.T) {
	for _, tc := range stateMachineCases() {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.p
			snapshot := clonePayment(tc.p)
			got, err := apply(tc.p, tc.op, tc.amount)

			// The receiver is a value: it never changes, whatever the outcome.
			if !reflect.DeepEqual(orig, snapshot) {
				t.Fatalf("receiver changed: %+v", orig)
			}
			if tc.code != "" {
				if err == nil {
					t.Fatalf("%s(%d) succeeded with %+v; want error %s", tc.op, tc.amount, got, tc.code)
				}
				e := gateway.AsError(err)
				if e.Code != tc.code || e.Kind != gateway.KindInvalid {
					t.Fatalf("error kind %v code %q (%v); want kind %v code %q", e.Kind, e.Code, err, gateway.KindInvalid, tc.code)
				}
				if e.Message == "" {
					t.Errorf("error %q has no message", e.Code)
				}
				if !reflect.DeepEqual(got, snapshot) {
					t.Errorf("failed %s returned a changed payment:\n got %+v\nwant %+v", tc.op, got, snapshot)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s(%d): unexpected error %v", tc.op, tc.amount, err)
			}
			gotOutcome := outcome{got.Status, got.CapturedAmount, got.RefundedAmount}
			if gotOutcome != tc.want {
				t.Fatalf("%s(%d) = %+v; want %+v", tc.op, tc.amount, gotOutcome, tc.want)
			}
			if got.AuthorizedAmount != snapshot.AuthorizedAmount {
				t.Errorf("authorized amount changed: %d → %d", snapshot.AuthorizedAmount, got.AuthorizedAmount)
			}
			// Nothing but status and amounts changes (and a refund counts).
			rest := got
			rest.Status, rest.CapturedAmount, rest.RefundedAmount = snapshot.Status, snapshot.CapturedAmount, snapshot.RefundedAmount
			if tc.op == "refund" {
				if got.RefundCount != snapshot.RefundCount+1 {
					t.Errorf("refund count %d → %d", snapshot.RefundCount, got.RefundCount)
				}
				rest.RefundCount = snapshot.RefundCount
			}
			if !reflect.DeepEqual(rest, snapshot) {
				t.Errorf("%s changed other fields:\n got %+v\nwant %+v", tc.op, got, snapshot)
			}
		})
	}
}

func clonePayment(p gateway.Payment) gateway.Payment {
	p.Transactions = append([]gateway.Transaction(nil), p.Transactions...)
	return p
}

func TestRefundableAmount(t *testing.T) {
	tests := []struct {
		name string
		p    gateway.Payment
		want int64
	}{
		{"authorized", payment(gateway.StatusAuthorized, 0, 0), 0},
		{"captured none refunded", payment(gateway.StatusCaptured, 800, 0), 800},
		{"captured partly refunded", payment(gateway.StatusCaptured, 800, 300), 500},
		{"captured fully refunded", payment(gateway.StatusCaptured, 800, 800), 0},
		{"captured in full", payment(gateway.StatusCaptured, authorized, 0), authorized},
		{"settled none refunded", payment(gateway.StatusSettled, 800, 0), 800},
		{"settled partly refunded", payment(gateway.StatusSettled, 800, 300), 500},
		{"settled fully refunded", payment(gateway.StatusSettled, 800, 800), 0},
		{"voided authorization", payment(gateway.StatusVoided, 0, 0), 0},
		{"voided capture", payment(gateway.StatusVoided, 800, 0), 0},
		{"declined", payment(gateway.StatusDeclined, 0, 0), 0},
		{"failed", payment(gateway.StatusFailed, 0, 0), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.RefundableAmount(); got != tc.want {
				t.Errorf("RefundableAmount() = %d; want %d", got, tc.want)
			}
		})
	}
	// Every status appears above.
	seen := map[gateway.Status]bool{}
	for _, tc := range tests {
		seen[tc.p.Status] = true
	}
	for _, s := range allStatuses {
		if !seen[s] {
			t.Errorf("status %s not covered", s)
		}
	}
}

// TestPaymentLifecycle walks the documented lifecycles end to end.
func TestPaymentLifecycle(t *testing.T) {
	t.Run("authorize, capture part, refund in parts", func(t *testing.T) {
		p := payment(gateway.StatusAuthorized, 0, 0)
		p = mustOK(t)(p.Capture(600))
		if _, err := p.Capture(1); codeOf(err) != "already-captured" {
			t.Fatalf("second capture: %v; want already-captured", err)
		}
		for _, a := range []int64{100, 200, 300} {
			p = mustOK(t)(p.Refund(a, gateway.DefaultMaxRefunds))
		}
		if p.RefundedAmount != 600 || p.RefundableAmount() != 0 || p.Status != gateway.StatusCaptured {
			t.Fatalf("after refunds: %+v", p)
		}
		if _, err := p.Refund(1, gateway.DefaultMaxRefunds); codeOf(err) != "refund-exceeds-captured" {
			t.Fatalf("refund beyond capture: %v", err)
		}
		if _, err := p.Void(); codeOf(err) != "payment-has-refunds" {
			t.Fatalf("void after refunds: %v", err)
		}
	})
	t.Run("authorize, void, then nothing", func(t *testing.T) {
		p := mustOK(t)(payment(gateway.StatusAuthorized, 0, 0).Void())
		if p.Status != gateway.StatusVoided || p.RefundableAmount() != 0 {
			t.Fatalf("after void: %+v", p)
		}
		for _, op := range []string{"capture", "refund", "void"} {
			if _, err := apply(p, op, 1); codeOf(err) != "payment-voided" {
				t.Errorf("%s after void: %v; want payment-voided", op, err)
			}
		}
	})
	t.Run("capture, void before settlement", func(t *testing.T) {
		p := mustOK(t)(payment(gateway.StatusAuthorized, 0, 0).Capture(authorized))
		p = mustOK(t)(p.Void())
		if p.Status != gateway.StatusVoided || p.RefundableAmount() != 0 {
			t.Fatalf("after void: %+v", p)
		}
		if _, err := p.Refund(1, gateway.DefaultMaxRefunds); codeOf(err) != "payment-voided" {
			t.Errorf("refund after void: %v", err)
		}
	})
	t.Run("capture, settle, void refused, refund allowed", func(t *testing.T) {
		p := mustOK(t)(payment(gateway.StatusAuthorized, 0, 0).Capture(authorized))
		p.Status = gateway.StatusSettled
		if _, err := p.Void(); codeOf(err) != "payment-settled" {
			t.Fatalf("void after settlement: %v", err)
		}
		p = mustOK(t)(p.Refund(authorized, gateway.DefaultMaxRefunds))
		if p.Status != gateway.StatusSettled || p.RefundedAmount != authorized {
			t.Fatalf("after refund: %+v", p)
		}
	})
}

func mustOK(t *testing.T) func(gateway.Payment, error) gateway.Payment {
	t.Helper()
	return func(p gateway.Payment, err error) gateway.Payment {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return p
	}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	return gateway.AsError(err).Code
}

// randomPayment returns a consistent payment in a random status.
func randomPayment(r *rand.Rand) gateway.Payment {
	// Mostly payments that still accept operations.
	weighted := []gateway.Status{
		gateway.StatusAuthorized, gateway.StatusAuthorized, gateway.StatusAuthorized, gateway.StatusAuthorized,
		gateway.StatusCaptured, gateway.StatusCaptured, gateway.StatusCaptured,
		gateway.StatusSettled, gateway.StatusSettled,
		gateway.StatusVoided, gateway.StatusDeclined, gateway.StatusFailed,
	}
	s := weighted[r.IntN(len(weighted))]
	p := payment(s, 0, 0)
	p.AuthorizedAmount = gateway.MinimumPaymentAmount + r.Int64N(5000)
	switch s {
	case gateway.StatusCaptured, gateway.StatusSettled:
		p.CapturedAmount = 1 + r.Int64N(p.AuthorizedAmount)
		p.RefundedAmount = r.Int64N(p.CapturedAmount + 1)
	case gateway.StatusVoided:
		if r.IntN(2) == 0 {
			p.CapturedAmount = 1 + r.Int64N(p.AuthorizedAmount)
		}
	}
	return p
}

func randomAmount(r *rand.Rand, p gateway.Payment) int64 {
	rem := p.CapturedAmount - p.RefundedAmount
	candidates := []int64{
		-1, 0, 1,
		p.AuthorizedAmount, p.AuthorizedAmount + 1, p.AuthorizedAmount - 1,
		rem, rem + 1, rem - 1,
		p.CapturedAmount, p.CapturedAmount + 1,
		math.MaxInt64,
	}
	switch r.IntN(3) {
	case 0:
		return candidates[r.IntN(len(candidates))]
	case 1:
		if rem > 0 {
			return 1 + r.Int64N(rem) // a partial refund that fits
		}
	}
	return r.Int64N(p.AuthorizedAmount + 2)
}

// TestPaymentInvariantsRandom applies random sequences of operations and checks
// the money rules after every step.
func TestPaymentInvariantsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(20250301, 42))
	const steps = 5000
	p := randomPayment(r)
	var succeeded, failed int
	for i := range steps {
		switch {
		case r.IntN(40) == 0, exhausted(p) && r.IntN(3) == 0:
			p = randomPayment(r)
			continue
		case r.IntN(15) == 0 && p.Status == gateway.StatusCaptured:
			// A batch close.
			p.Status = gateway.StatusSettled
			continue
		}
		before := clonePayment(p)
		op := []string{"capture", "refund", "void"}[r.IntN(3)]
		amount := randomAmount(r, p)
		got, err := apply(p, op, amount)
		step := fmt.Sprintf("step %d: %s(%d) on %s auth=%d cap=%d ref=%d", i, op, amount,
			before.Status, before.AuthorizedAmount, before.CapturedAmount, before.RefundedAmount)

		if err != nil {
			failed++
			if !reflect.DeepEqual(got, before) {
				t.Fatalf("%s: failed with %v but returned a changed payment %+v", step, err, got)
			}
			if k := gateway.ErrorKind(err); k != gateway.KindInvalid {
				t.Fatalf("%s: error kind %v; want KindInvalid", step, k)
			}
			continue
		}
		succeeded++
		if terminal(before.Status) {
			t.Fatalf("%s: succeeded on a %s payment", step, before.Status)
		}
		if op == "void" && before.Status == gateway.StatusSettled {
			t.Fatalf("%s: voided a settled payment", step)
		}
		if op == "capture" && before.Status != gateway.StatusAuthorized {
			t.Fatalf("%s: captured a %s payment", step, before.Status)
		}
		if op == "refund" && got.RefundedAmount != before.RefundedAmount+amount {
			t.Fatalf("%s: refunded %d → %d", step, before.RefundedAmount, got.RefundedAmount)
		}
		if got.AuthorizedAmount != before.AuthorizedAmount {
			t.Fatalf("%s: authorized amount changed to %d", step, got.AuthorizedAmount)
		}
		if got.CapturedAmount > got.AuthorizedAmount {
			t.Fatalf("%s: captured %d > authorized %d", step, got.CapturedAmount, got.AuthorizedAmount)
		}
		if got.RefundedAmount > got.CapturedAmount {
			t.Fatalf("%s: refunded %d > captured %d", step, got.RefundedAmount, got.CapturedAmount)
		}
		if got.CapturedAmount < 0 || got.RefundedAmount < 0 || got.AuthorizedAmount < 0 || got.RefundableAmount() < 0 {
			t.Fatalf("%s: negative amount in %+v", step, got)
		}
		p = got
	}
	t.Logf("%d operations succeeded, %d were refused", succeeded, failed)
	// The walk must exercise both outcomes to mean anything.
	if succeeded < steps/20 || failed < steps/20 {
		t.Fatalf("unbalanced walk: %d succeeded, %d failed", succeeded, failed)
	}
}

// exhausted reports whether p accepts no operation any more.
func exhausted(p gateway.Payment) bool {
	return terminal(p.Status) || p.Status == gateway.StatusSettled && p.RefundableAmount() == 0 ||
		p.Status == gateway.StatusCaptured && p.RefundableAmount() == 0 && p.RefundedAmount > 0
}

func terminal(s gateway.Status) bool {
	return s == gateway.StatusVoided || s == gateway.StatusDeclined || s == gateway.StatusFailed
}
