package gateway

import (
	"context"
	"errors"
)

// Processor moves (or, in the sandbox, pretends to move) money at the card
// networks. The service never knows which implementation it has: the
// sandbox for sandbox keys, and for live keys the connector an operator
// configured for the account (Connector; docs/processors.md is the guide
// for connector authors).
//
// The service calls a processor outside any store transaction, once per
// operation, after it has committed its claim (ADR 11). Every request
// carries a Reference, the id of the gateway transaction it belongs to,
// which never changes for that operation: a processor must use it as its
// idempotency key, so that a request sent again (after a timeout, or by the
// reconciler) can never move money twice.
type Processor interface {
	// Authorize holds (and, for a charge, captures) an amount on a card.
	// Declines are not errors. An error means nothing was authorized if it
	// is ErrProcessor (or wraps it); any other error means the outcome is
	// unknown (a timeout, a lost connection), and the reconciler asks
	// Resolve later.
	Authorize(ctx context.Context, req AuthorizationRequest) (AuthorizationResult, error)
	// Capture, Refund and Void act on an approved authorization. Errors
	// mean what they mean for Authorize: ErrProcessor, nothing happened;
	// anything else, unknown.
	Capture(ctx context.Context, req ChangeRequest) error
	Refund(ctx context.Context, req ChangeRequest) error
	Void(ctx context.Context, req ChangeRequest) error
	// Resolve tells what became of an operation whose answer the gateway
	// never recorded (it crashed or timed out between claim and finish).
	// It returns ErrUnresolvable if the processor cannot tell; the
	// reconciler then calls Reverse.
	Resolve(ctx context.Context, req ResolveRequest) (Resolution, error)
	// Reverse undoes whatever the operation may have done, so that it can
	// be recorded as not done: a void of an authorization, a reversal of a
	// capture or refund. It must be safe to call for an operation the
	// processor never received.
	Reverse(ctx context.Context, req ResolveRequest) error
}

// InstantProcessor is a processor whose answers are pure functions of the
// request, computed in process without I/O or side effects (the sandbox).
// For such answers the service needs no claim: it decides and records the
// operation in one store transaction, with the same rows, answers and
// events as the two-phase path. ok is false when a request needs the
// two-phase path after all (the sandbox's slow card).
type InstantProcessor interface {
	InstantAuthorize(req AuthorizationRequest) (res AuthorizationResult, ok bool, err error)
	InstantChange(req ChangeRequest) (ok bool, err error)
}

// AuthorizationRequest is what a processor sees of a charge or authorization.
// The card number and CVV live here for the duration of one request only.
type AuthorizationRequest struct {
	// Reference is the gateway transaction id: the idempotency key.
	Reference string
	// Capture asks for a sale (charge): authorize and capture at once.
	Capture    bool
	CardNumber string
	CVV        string
	// CardholderName is the name on the card when the customer gave it
	// (the hosted page); never stored.
	CardholderName string
	Brand          string
	ExpMonth       int
	ExpYear        int // four digits
	Amount         int64
	Currency       string
	// Zip and Address are the billing address's AVS fields (also in
	// Customer), which every processor checks.
	Zip     string
	Address string
	// Customer is the cardholder and billing address, for processors
	// that take more of it; OrderID is the merchant's order reference.
	Customer Customer
	OrderID  string
}

// AuthorizationResult is the processor's answer. Declined attempts are not
// errors: they are recorded like approvals.
type AuthorizationResult struct {
	Approved    bool
	DeclineCode string // one of DeclineCodes, e.g. "card-declined"
	Message     string // the decline sentence for the merchant
	AVSCode     string
	CVVCode     string
	// ProcessorRef is the processor's own id of the authorization, kept on
	// the payment for later captures, refunds and voids.
	ProcessorRef string
}

// ChangeRequest is a capture, refund or void of an approved authorization.
type ChangeRequest struct {
	// Reference is the id of the gateway transaction of this operation.
	Reference string
	Operation Operation
	// Payment is the payment before the operation; its ProcessorRef names
	// the authorization.
	Payment Payment
	Amount  int64
}

// ResolveRequest names an operation left pending: its transaction (whose id
// is the reference the processor was given) and its payment.
type ResolveRequest struct {
	Payment     Payment
	Transaction Transaction
}

// Resolution is what a processor knows of a pending operation.
type Resolution struct {
	// Received is false when the processor never carried the request out:
	// nothing moved, and the operation is recorded as failed.
	Received bool
	// Authorization is the answer to a charge or authorization it received
	// (Approved false: declined).
	Authorization AuthorizationResult
}

// ErrProcessor is returned by a processor that could not complete a request
// and is sure that nothing moved.
var ErrProcessor = Errorf(KindProcessor, "processor-error", "The payment processor could not complete the request; nothing was charged.")

// ErrProcessorTimeout answers a request whose processor outcome is not
// known yet: the operation stays pending until the reconciler learns it.
var ErrProcessorTimeout = Errorf(KindProcessor, "processor-timeout",
	"The payment processor did not answer in time; the operation is pending and will be resolved. Look the payment up, or retry with the same Idempotency-Key.")

// ErrUnresolvable is returned by Resolve when the processor cannot tell what
// became of an operation.
var ErrUnresolvable = errors.New("the processor cannot tell what became of the operation")

// IsDefiniteFailure reports whether a processor error says for sure that
// nothing moved; any other error leaves the outcome unknown.
func IsDefiniteFailure(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == ErrProcessor.Code
}
