package gateway_test

import (
	"testing"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// TestOperationsInFlight: while an operation waits for the processor, the
// payment refuses every other operation but further refunds; a claim that
// the processor did not carry out gives back exactly what it held.
func TestOperationsInFlight(t *testing.T) {
	captured := payment(gateway.StatusCaptured, authorized, 0)
	authorizedP := payment(gateway.StatusAuthorized, 0, 0)
	cases := []struct {
		name     string
		p        gateway.Payment
		inFlight gateway.Operation
		op       string
		wantCode string // "" allowed
	}{
		{"refund during a refund", captured, gateway.OpRefund, "refund", ""},
		{"void during a refund", captured, gateway.OpRefund, "void", "payment-operation-in-progress"},
		{"capture during a void", authorizedP, gateway.OpVoid, "capture", "payment-operation-in-progress"},
		{"refund during a capture", captured, gateway.OpCapture, "refund", "payment-operation-in-progress"},
		{"capture during a capture", authorizedP, gateway.OpCapture, "capture", "payment-operation-in-progress"},
		{"void during a charge", authorizedP, gateway.OpCharge, "void", "payment-operation-in-progress"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p.Claim(tc.inFlight)
			var err error
			switch tc.op {
			case "capture":
				_, err = p.Capture(100)
			case "refund":
				_, err = p.Refund(100, gateway.DefaultMaxRefunds)
			default:
				_, err = p.Void()
			}
			if got := code(err); got != tc.wantCode {
				t.Fatalf("%s: code %q; want %q", tc.op, got, tc.wantCode)
			}
		})
	}
	pending := payment(gateway.StatusPending, 0, 0).Claim(gateway.OpCharge)
	for _, op := range []func(gateway.Payment) error{
		func(p gateway.Payment) error { _, err := p.Capture(1); return err },
		func(p gateway.Payment) error { _, err := p.Refund(1, gateway.DefaultMaxRefunds); return err },
		func(p gateway.Payment) error { _, err := p.Void(); return err },
	} {
		if code(op(pending)) != "payment-operation-in-progress" {
			t.Errorf("an operation on a pending payment was not refused as in progress")
		}
		pending.InFlight = 0 // even without the count, a pending payment is not approved yet
		if code(op(pending)) != "payment-operation-in-progress" {
			t.Errorf("an operation on a pending payment without a count was not refused as in progress")
		}
		pending.InFlight = 1
	}
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return gateway.AsError(err).Code
}

// TestUndoGivesBackWhatTheClaimHeld: claim then undo is the identity (but
// for nothing), for every operation that a rule allowed.
func TestUndoGivesBackWhatTheClaimHeld(t *testing.T) {
	for _, before := range []gateway.Payment{
		payment(gateway.StatusAuthorized, 0, 0),
		payment(gateway.StatusCaptured, authorized, 0),
		payment(gateway.StatusCaptured, authorized, 300),
		payment(gateway.StatusSettled, authorized, 300),
	} {
		type step struct {
			op     gateway.Operation
			amount int64
			apply  func(gateway.Payment) (gateway.Payment, error)
		}
		for _, s := range []step{
			{gateway.OpCapture, 600, func(p gateway.Payment) (gateway.Payment, error) { return p.Capture(600) }},
			{gateway.OpRefund, 200, func(p gateway.Payment) (gateway.Payment, error) { return p.Refund(200, gateway.DefaultMaxRefunds) }},
			{gateway.OpVoid, 0, func(p gateway.Payment) (gateway.Payment, error) { return p.Void() }},
		} {
			after, err := s.apply(before)
			if err != nil {
				continue // the rule refused it: nothing was claimed
			}
			claimed := after.Claim(s.op)
			if claimed.InFlight != 1 || claimed.InFlightOp != s.op {
				t.Fatalf("%s on %s: claimed %d/%s", s.op, before.Status, claimed.InFlight, claimed.InFlightOp)
			}
			back := claimed.Undo(s.op, s.amount)
			if back.Status != before.Status || back.CapturedAmount != before.CapturedAmount ||
				back.RefundedAmount != before.RefundedAmount || back.InFlight != 0 || back.InFlightOp != "" {
				t.Errorf("%s on %s, undone: %s capt=%d ref=%d in flight %d; want it as before", s.op, before.Status,
					back.Status, back.CapturedAmount, back.RefundedAmount, back.InFlight)
			}
			done := claimed.Done()
			if done.Status != after.Status || done.InFlight != 0 || done.InFlightOp != "" {
				t.Errorf("%s on %s, done: %+v; want the rule's result", s.op, before.Status, done)
			}
		}
	}
}

// TestAnswered: the processor's answer to the charge or authorization that
// created a pending payment.
func TestAnswered(t *testing.T) {
	pending := payment(gateway.StatusPending, 0, 0)
	pending.AVSCode, pending.CVVCode = "", ""
	pending = pending.Claim(gateway.OpCharge)
	approved := gateway.AuthorizationResult{Approved: true, AVSCode: "Z", CVVCode: "N", ProcessorRef: "pi_1"}
	cases := []struct {
		name       string
		op         gateway.Operation
		res        gateway.AuthorizationResult
		err        error
		status     gateway.Status
		auth, capt int64
		decline    string
	}{
		{"charge approved", gateway.OpCharge, approved, nil, gateway.StatusCaptured, authorized, authorized, ""},
		{"authorize approved", gateway.OpAuthorize, approved, nil, gateway.StatusAuthorized, authorized, 0, ""},
		{"declined", gateway.OpCharge, gateway.AuthorizationResult{DeclineCode: "lost-card", AVSCode: "N", CVVCode: "M"}, nil, gateway.StatusDeclined, 0, 0, "lost-card"},
		{"failed", gateway.OpAuthorize, gateway.AuthorizationResult{}, gateway.ErrProcessor, gateway.StatusFailed, 0, 0, "processor-error"},
	}
	for _, tc := range cases {
		p := pending.Answered(tc.op, tc.res, tc.err)
		if p.Status != tc.status || p.AuthorizedAmount != tc.auth || p.CapturedAmount != tc.capt || p.DeclineCode != tc.decline ||
			p.InFlight != 0 || p.InFlightOp != "" {
			t.Errorf("%s: %+v", tc.name, p)
		}
		if tc.err == nil && (p.AVSCode != tc.res.AVSCode || p.CVVCode != tc.res.CVVCode) {
			t.Errorf("%s: AVS/CVV %s/%s", tc.name, p.AVSCode, p.CVVCode)
		}
		if tc.status == gateway.StatusCaptured && p.ProcessorRef != "pi_1" {
			t.Errorf("%s: processor ref %q", tc.name, p.ProcessorRef)
		}
	}
}

// TestRefundCountIsBounded: the refunds of one payment stop at the limit,
// and a refund given back (not done by the processor) frees its place.
func TestRefundCountIsBounded(t *testing.T) {
	p := payment(gateway.StatusCaptured, authorized, 0)
	var err error
	for i := range 3 {
		if p, err = p.Refund(1, 3); err != nil {
			t.Fatalf("refund %d: %v", i+1, err)
		}
	}
	if _, err := p.Refund(1, 3); code(err) != "too-many-refunds" {
		t.Fatalf("a fourth refund with a limit of 3: %v", err)
	}
	p = p.Claim(gateway.OpRefund).Undo(gateway.OpRefund, 1)
	if p.RefundCount != 2 || p.RefundedAmount != 2 {
		t.Fatalf("after giving one back: %d refunds, %d refunded", p.RefundCount, p.RefundedAmount)
	}
	if _, err := p.Refund(1, 3); err != nil {
		t.Fatalf("a refund in the freed place: %v", err)
	}
}
