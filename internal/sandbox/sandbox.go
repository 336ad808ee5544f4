// Package sandbox is the Testing Environment's processor: it never moves money
// and answers deterministically by test card number, ZIP code and CVV value
// (docs/testing.md has the table).
package sandbox

import (
	"context"
	"strconv"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Processor is the simulated processor. The zero value is ready to use.
type Processor struct {
	// SlowDelay is how long the slow card takes to answer (SlowCardDelay
	// if zero).
	SlowDelay time.Duration
}

var (
	_ gateway.Processor        = Processor{}
	_ gateway.InstantProcessor = Processor{}
)

// SlowCard is the test card whose every operation the sandbox answers only
// after SlowCardDelay (approved), so that integrators can test their
// timeouts and the gateway's behaviour under a slow processor shows from
// outside.
const SlowCard = "4000000000000770"

// SlowCardDelay is how long the slow card takes by default.
const SlowCardDelay = 3 * time.Second

type outcome struct {
	declineCode string // empty: approved
	avs, cvv    string // forced results, empty: from triggers or defaults
	fail        bool   // processor error
}

// cards is the test-card table; numbers not in it are approved.
var cards = map[string]outcome{
	"4000000000000002": {declineCode: "card-declined"},
	"4000000000009995": {declineCode: "insufficient-funds"},
	"4000000000009987": {declineCode: "lost-card"},
	"4000000000009979": {declineCode: "stolen-card"},
	"4000000000000069": {declineCode: "expired-card"},
	"4000000000000127": {declineCode: "incorrect-cvv", cvv: "N"},
	"4000000000000119": {fail: true},
	"4000000000000101": {cvv: "N"},
	"4000000000000036": {avs: "A"},
	"4000000000000010": {avs: "N"},
}

// zipAVS forces an AVS result by billing ZIP code.
var zipAVS = map[string]string{
	"99901": "A",
	"99902": "Z",
	"99903": "N",
	"99904": "U",
	"99905": "R",
	"99906": "S",
	"99907": "G",
	"99908": "W",
	"99909": "X",
	"99910": "E",
}

// cvvTrigger forces a CVV result by the CVV's numeric value (so "0901" on a
// 4-digit Amex CVV works like "901").
var cvvTrigger = map[int]string{900: "M", 901: "N", 902: "S", 903: "U", 904: "P"}

// answer is the sandbox's answer to an authorization of a card number.
func answer(req gateway.AuthorizationRequest) (gateway.AuthorizationResult, error) {
	o := cards[req.CardNumber]
	if o.fail {
		return gateway.AuthorizationResult{}, gateway.ErrProcessor
	}
	res := gateway.AuthorizationResult{Approved: o.declineCode == "", DeclineCode: o.declineCode, AVSCode: "Y", CVVCode: "M"}
	if !res.Approved {
		res.Message = gateway.DeclineMessage(o.declineCode)
	}
	if code, ok := zipAVS[req.Zip]; ok {
		res.AVSCode = code
	}
	if n, err := strconv.Atoi(req.CVV); err == nil {
		if code, ok := cvvTrigger[n]; ok {
			res.CVVCode = code
		}
	}
	if o.avs != "" {
		res.AVSCode = o.avs
	}
	if o.cvv != "" {
		res.CVVCode = o.cvv
	}
	return res, nil
}

// InstantAuthorize answers every card but the slow one at once.
func (Processor) InstantAuthorize(req gateway.AuthorizationRequest) (gateway.AuthorizationResult, bool, error) {
	if req.CardNumber == SlowCard {
		return gateway.AuthorizationResult{}, false, nil
	}
	res, err := answer(req)
	return res, true, err
}

// InstantChange approves every capture, refund and void at once, but those
// of a payment made with the slow card.
func (Processor) InstantChange(req gateway.ChangeRequest) (bool, error) {
	return !isSlow(req.Payment), nil
}

// Authorize answers by the test-card table and triggers; the slow card
// after the delay.
func (p Processor) Authorize(ctx context.Context, req gateway.AuthorizationRequest) (gateway.AuthorizationResult, error) {
	if req.CardNumber == SlowCard {
		if err := p.wait(ctx); err != nil {
			return gateway.AuthorizationResult{}, err
		}
	}
	return answer(req)
}

// Capture always succeeds in the sandbox (after the delay for the slow card).
func (p Processor) Capture(ctx context.Context, req gateway.ChangeRequest) error {
	return p.change(ctx, req)
}

// Refund always succeeds in the sandbox (after the delay for the slow card).
func (p Processor) Refund(ctx context.Context, req gateway.ChangeRequest) error {
	return p.change(ctx, req)
}

// Void always succeeds in the sandbox (after the delay for the slow card).
func (p Processor) Void(ctx context.Context, req gateway.ChangeRequest) error {
	return p.change(ctx, req)
}

func (p Processor) change(ctx context.Context, req gateway.ChangeRequest) error {
	if isSlow(req.Payment) {
		return p.wait(ctx)
	}
	return nil
}

// Resolve answers as the sandbox would have: only operations of the slow
// card are ever left pending (every other answer is instant and recorded
// in one transaction), and those are approved. The CVV is not stored, so a
// resolved authorization reports CVV "M" whatever CVV trigger it carried;
// the AVS result follows the stored ZIP code.
func (Processor) Resolve(_ context.Context, req gateway.ResolveRequest) (gateway.Resolution, error) {
	op := req.Transaction.Operation
	if op != gateway.OpAuthorize && op != gateway.OpCharge {
		return gateway.Resolution{Received: true}, nil
	}
	if !isSlow(req.Payment) {
		return gateway.Resolution{Received: false}, nil
	}
	res, err := answer(gateway.AuthorizationRequest{CardNumber: SlowCard, Zip: req.Payment.Customer.Zip})
	return gateway.Resolution{Received: true, Authorization: res}, err
}

// Reverse has nothing to undo: the sandbox moves no money.
func (Processor) Reverse(context.Context, gateway.ResolveRequest) error { return nil }

// isSlow tells a payment made with the slow card by what is stored of it.
func isSlow(p gateway.Payment) bool {
	return p.Card.BIN == SlowCard[:6] && p.Card.Last4 == SlowCard[len(SlowCard)-4:]
}

func (p Processor) wait(ctx context.Context) error {
	d := p.SlowDelay
	if d <= 0 {
		d = SlowCardDelay
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err() // the outcome is unknown to the caller
	}
}
