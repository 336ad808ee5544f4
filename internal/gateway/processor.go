package gateway

import "context"

// Processor moves (or, in the sandbox, pretends to move) money at the card
// networks. The service never knows which implementation it has.
type Processor interface {
	Authorize(ctx context.Context, req AuthorizationRequest) (AuthorizationResult, error)
	// Capture, Refund and Void act on an approved authorization; an error
	// means the processor failed and the payment must not change.
	Capture(ctx context.Context, p Payment, amount int64) error
	Refund(ctx context.Context, p Payment, amount int64) error
	Void(ctx context.Context, p Payment) error
}

// AuthorizationRequest is what a processor sees of a charge or authorization.
// The card number and CVV live here for the duration of one request only.
type AuthorizationRequest struct {
	CardNumber string
	CVV        string
	Brand      string
	Amount     int64
	Currency   string
	Zip        string
	Address    string
}

// AuthorizationResult is the processor's answer. Declined attempts are not
// errors: they are recorded like approvals. An error return means the
// processor failed and nothing was authorized.
type AuthorizationResult struct {
	Approved    bool
	DeclineCode string // e.g. "card-declined", "insufficient-funds"
	Message     string // the decline sentence for the merchant
	AVSCode     string
	CVVCode     string
}

// ErrProcessor is returned by a processor that could not complete a request.
var ErrProcessor = Errorf(KindProcessor, "processor-error", "The payment processor could not complete the request; nothing was charged.")
