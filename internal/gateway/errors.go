// Package gateway holds CartGateway's domain: payments and their money rules,
// accounts and keys, the error type, and the interfaces of the store and the
// processor. It does no I/O; the packages around it (sqlite, service, httpapi)
// do.
package gateway

import (
	"errors"
	"fmt"
)

// Kind classifies an error. Each kind maps to exactly one HTTP status, in
// httpapi; everything else about an error is its machine code and message.
type Kind int

const (
	KindInternal     Kind = iota // a bug or an outage; the message is never shown
	KindInvalid                  // the request is malformed or breaks a rule
	KindUnauthorized             // authentication failed
	KindNotFound                 // the object does not exist for this account
	KindDeclined                 // the processor declined the payment
	KindConflict                 // idempotency or duplicate conflict
	KindProcessor                // the processor failed; nothing moved
	KindTooLarge                 // request body too large
	KindRateLimited              // too many requests
	KindGone                     // the object existed but can no longer be used (an expired checkout)
	KindForbidden                // the request may not be made from where it came (a cross-origin form)
)

// Error is the one error type of the domain. Code is a stable machine code
// (e.g. "capture-exceeds-authorized"); Message is a sentence for the API user.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Field names the request field at fault (as the API spells it, e.g.
	// "card_number"), so that a form can show the message beside it.
	Field string
	// Payment carries the recorded attempt of a declined or failed payment, so
	// that the answer can name its id and AVS/CVV results.
	Payment *Payment
	// Transaction is the recorded attempt when it is not the payment's
	// first (a capture, refund or void the processor failed or left
	// pending).
	Transaction *Transaction
	err         error
}

func (e *Error) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.err }

// Errorf builds an Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error; its detail is logged, never answered.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Code: "internal-error", Message: "Something went wrong while processing the request.", err: err}
}

// ErrorKind returns the kind of err, KindInternal for foreign errors.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// AsError returns err as an *Error, wrapping foreign errors as internal ones.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Errors the store returns; callers compare with errors.Is.
var (
	ErrNotFound = Errorf(KindNotFound, "not-found", "The object was not found.")
	// ErrConflict means a compare-and-set lost a race or a unique key exists.
	ErrConflict = Errorf(KindConflict, "conflict", "The object was changed by another request; retry.")
)

// ErrWritesFailing is a store's health when it answers reads but its latest
// writes failed (a full disk, a read-only file system): the gateway should
// take no payments until a write succeeds again.
var ErrWritesFailing = errors.New("the database answers, but its latest writes failed")
