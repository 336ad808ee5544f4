// Package sandbox is the Testing Environment's processor: it never moves money
// and answers deterministically by test card number, ZIP code and CVV value
// (docs/testing.md has the table).
package sandbox

import (
	"context"
	"strconv"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Processor is the simulated processor. The zero value is ready to use.
type Processor struct{}

var _ gateway.Processor = Processor{}

type outcome struct {
	declineCode string // empty: approved
	message     string
	avs, cvv    string // forced results, empty: from triggers or defaults
	fail        bool   // processor error
}

// cards is the test-card table; numbers not in it are approved.
var cards = map[string]outcome{
	"4000000000000002": {declineCode: "card-declined", message: "The card was declined."},
	"4000000000009995": {declineCode: "insufficient-funds", message: "The card has insufficient funds."},
	"4000000000009987": {declineCode: "lost-card", message: "The card was declined: it is reported lost."},
	"4000000000009979": {declineCode: "stolen-card", message: "The card was declined: it is reported stolen."},
	"4000000000000069": {declineCode: "expired-card", message: "The card was declined: it has expired."},
	"4000000000000127": {declineCode: "incorrect-cvv", message: "The card was declined: the CVV is incorrect.", cvv: "N"},
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

// Authorize answers by the test-card table and triggers.
func (Processor) Authorize(_ context.Context, req gateway.AuthorizationRequest) (gateway.AuthorizationResult, error) {
	o := cards[req.CardNumber]
	if o.fail {
		return gateway.AuthorizationResult{}, gateway.ErrProcessor
	}
	res := gateway.AuthorizationResult{Approved: o.declineCode == "", DeclineCode: o.declineCode, Message: o.message, AVSCode: "Y", CVVCode: "M"}
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

// Capture always succeeds in the sandbox.
func (Processor) Capture(context.Context, gateway.Payment, int64) error { return nil }

// Refund always succeeds in the sandbox.
func (Processor) Refund(context.Context, gateway.Payment, int64) error { return nil }

// Void always succeeds in the sandbox.
func (Processor) Void(context.Context, gateway.Payment) error { return nil }
