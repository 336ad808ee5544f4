package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is an answer of the gateway other than a success. Compare it with
// errors.Is against the kinds below, or branch on Code, the API's stable
// machine code; never on Message.
type Error struct {
	StatusCode int    // the HTTP status
	Code       string // e.g. "insufficient-funds"; "" when the answer was not the API's JSON (a proxy's page)
	Message    string // the answer's "error" text, e.g. "400 - Bad Request. The card has insufficient funds (insufficient-funds)."
	RequestID  string // the request's id; the gateway's log has the same
	// PaymentID names the payment a declined or failed charge or
	// authorization recorded (look it up), or a pending one.
	PaymentID  string
	AVSCode    string
	AVSMessage string
	CVVCode    string
	CVVMessage string
	// RetryAfter is the wait the gateway asked for (429, or a request with
	// the same Idempotency-Key in progress); 0 if none.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.RequestID != "" {
		return "cartgateway: " + msg + " (request " + e.RequestID + ")"
	}
	return "cartgateway: " + msg
}

// Is makes errors.Is(err, ErrDeclined) and the other kinds work.
func (e *Error) Is(target error) bool {
	if k, ok := codeKinds[e.Code]; ok && k == target {
		return true
	}
	switch target {
	case ErrDeclined:
		// expired-card is a decline when the processor gave it (the
		// attempt is recorded) and invalid input when the gateway did.
		return e.Code == "expired-card" && e.PaymentID != ""
	case ErrInvalidRequest:
		return e.Code == "expired-card" && e.PaymentID == ""
	case ErrServer:
		return (e.Code == "" || e.Code == "unavailable" || e.Code == "degraded") && e.StatusCode >= 500
	}
	return false
}

// The kinds of Error, for errors.Is. Every code the API documents has one
// kind (TestEveryCodeHasAKind).
var (
	// ErrDeclined: the processor declined the card; the attempt is
	// recorded (Error.PaymentID). Retrying the same card will not help.
	ErrDeclined = errors.New("cartgateway: declined")
	// ErrDuplicate: the same order, amount and card were paid moments ago
	// by a request without an Idempotency-Key.
	ErrDuplicate = errors.New("cartgateway: duplicate payment")
	// ErrNotFound: no such payment for this account and environment.
	ErrNotFound = errors.New("cartgateway: not found")
	// ErrRateLimited: a rate limit is spent; Error.RetryAfter says how
	// long to wait. The client has already waited and retried as far as
	// Config.MaxRetries and Config.MaxRetryWait allow.
	ErrRateLimited = errors.New("cartgateway: rate limited")
	// ErrInvalidRequest: the request is malformed or a field is invalid;
	// Code names the field.
	ErrInvalidRequest = errors.New("cartgateway: invalid request")
	// ErrRefused: the money rules refuse the operation (for example a
	// refund above what is left, or a void after settlement).
	ErrRefused = errors.New("cartgateway: refused by the money rules")
	// ErrUnauthorized: the account id or key is wrong.
	ErrUnauthorized = errors.New("cartgateway: unauthorized")
	// ErrConflict: the Idempotency-Key was used for another request, or
	// concurrent requests got in the way.
	ErrConflict = errors.New("cartgateway: conflict")
	// ErrProcessor: the processor failed or did not answer; nothing was
	// charged, or the payment is pending (Error.PaymentID).
	ErrProcessor = errors.New("cartgateway: processor failure")
	// ErrServer: the gateway (or a proxy before it) failed.
	ErrServer = errors.New("cartgateway: server error")
)

// codeKinds classifies the API's codes; the codes documented with a
// pattern (missing-*, invalid-*) are listed in full.
var codeKinds = func() map[string]error {
	k := map[string]error{
		"card-declined": ErrDeclined, "insufficient-funds": ErrDeclined, "lost-card": ErrDeclined,
		"stolen-card": ErrDeclined, "incorrect-cvv": ErrDeclined, "incorrect-number": ErrDeclined, "incorrect-zip": ErrDeclined,
		"limit-exceeded": ErrDeclined, "card-not-supported": ErrDeclined, "authentication-required": ErrDeclined,
		"call-issuer": ErrDeclined, "try-again-later": ErrDeclined,

		"duplicate-transaction": ErrDuplicate,

		"payment-not-found": ErrNotFound, "not-found": ErrNotFound,

		"rate-limited": ErrRateLimited, "too-many-failed-authentications": ErrRateLimited,

		"unsupported-content-type": ErrInvalidRequest, "invalid-json": ErrInvalidRequest,
		"unreadable-body": ErrInvalidRequest, "invalid-idempotency-key": ErrInvalidRequest,
		"body-too-large": ErrInvalidRequest, "method-not-allowed": ErrInvalidRequest,
		"duplicate-header": ErrInvalidRequest, "amount-too-large": ErrInvalidRequest,
		"amount-too-small": ErrInvalidRequest, "unknown-public-url": ErrInvalidRequest,
		"missing-products": ErrInvalidRequest, "invalid-products": ErrInvalidRequest,
		"too-many-products": ErrInvalidRequest, "unknown-product": ErrInvalidRequest,
		"ambiguous-product": ErrInvalidRequest, "not-a-checkout-payment": ErrRefused,
		"checkout-payment-not-approved": ErrRefused,

		"live-not-configured": ErrRefused, "payment-not-approved": ErrRefused, "payment-voided": ErrRefused,
		"already-captured": ErrRefused, "capture-exceeds-authorized": ErrRefused,
		"payment-not-captured": ErrRefused, "refund-exceeds-captured": ErrRefused, "payment-settled": ErrRefused,
		"payment-has-refunds": ErrRefused, "too-many-refunds": ErrRefused,

		"missing-privatekey": ErrUnauthorized, "missing-account-id": ErrUnauthorized,
		"invalid-passed-privatekey": ErrUnauthorized,

		"idempotency-key-reused": ErrConflict, "idempotency-key-in-progress": ErrConflict,
		"payment-operation-in-progress": ErrConflict, "conflict": ErrConflict,

		"processor-error": ErrProcessor, "processor-timeout": ErrProcessor,

		"internal-error": ErrServer,
	}
	for _, f := range []string{"firstname", "lastname", "email", "address", "zip", "order-id", "amount",
		"payment-id", "authorized-payment-id", "card-number", "card-cvv", "card-expiry-month", "card-expiry-year",
		"success-url", "cancel-url", "product-name", "product-amount"} {
		k["missing-"+f] = ErrInvalidRequest
	}
	for _, f := range []string{"firstname", "lastname", "email", "address", "zip", "phone", "city", "state",
		"order-id", "source", "threeds-cavv", "threeds-validated", "threeds-transaction-id",
		"threeds-server-transaction-id", "threeds-version", "threeds-parres-status", "country",
		"card-number", "card-cvv", "card-expiry-month", "card-expiry-year", "payment-id",
		"authorized-payment-id", "amount", "reference", "success-url", "cancel-url", "product-codename",
		"product-name", "product-amount", "product-quantity", "product-image-url", "tax-amount", "shipping-amount"} {
		k["invalid-"+f] = ErrInvalidRequest
	}
	return k
}()
