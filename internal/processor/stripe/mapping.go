package stripe

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	sg "github.com/stripe/stripe-go/v82"
)

// What Stripe's answers mean for the gateway: its decline codes, its card
// checks and its errors. Every table here is tested (mapping_test.go) and
// documented in docs/processors.md.

// declineCodes maps Stripe's decline codes (an error's decline_code, or
// its code when it has none) to the gateway's (gateway.DeclineMessage).
// Stripe asks not to tell a customer that a card is suspected of fraud or
// blocked by the merchant's rules: those read as a plain decline.
var declineCodes = map[string]string{
	"generic_decline":                   "card-declined",
	"card_declined":                     "card-declined",
	"do_not_honor":                      "card-declined",
	"do_not_try_again":                  "card-declined",
	"fraudulent":                        "card-declined",
	"merchant_blacklist":                "card-declined",
	"pickup_card":                       "card-declined",
	"restricted_card":                   "card-declined",
	"security_violation":                "card-declined",
	"stop_payment_order":                "card-declined",
	"revocation_of_all_authorizations":  "card-declined",
	"revocation_of_authorization":       "card-declined",
	"invalid_account":                   "card-declined",
	"new_account_information_available": "card-declined",
	"no_action_taken":                   "card-declined",
	"duplicate_transaction":             "card-declined",
	"invalid_amount":                    "card-declined",
	"invalid_expiry_month":              "card-declined",
	"invalid_expiry_year":               "card-declined",
	"incorrect_pin":                     "card-declined",
	"invalid_pin":                       "card-declined",
	"pin_try_exceeded":                  "card-declined",
	"offline_pin_required":              "card-declined",
	"online_or_offline_pin_required":    "card-declined",
	"testmode_decline":                  "card-declined",
	"insufficient_funds":                "insufficient-funds",
	"card_velocity_exceeded":            "limit-exceeded",
	"withdrawal_count_limit_exceeded":   "limit-exceeded",
	"lost_card":                         "lost-card",
	"stolen_card":                       "stolen-card",
	"expired_card":                      "expired-card",
	"incorrect_cvc":                     "incorrect-cvv",
	"invalid_cvc":                       "incorrect-cvv",
	"incorrect_number":                  "incorrect-number",
	"invalid_number":                    "incorrect-number",
	"incorrect_zip":                     "incorrect-zip",
	"card_not_supported":                "card-not-supported",
	"currency_not_supported":            "card-not-supported",
	"not_permitted":                     "card-not-supported",
	"service_not_allowed":               "card-not-supported",
	"transaction_not_allowed":           "card-not-supported",
	"authentication_required":           "authentication-required",
	"call_issuer":                       "call-issuer",
	"approve_with_id":                   "try-again-later",
	"issuer_not_available":              "try-again-later",
	"processing_error":                  "try-again-later",
	"reenter_transaction":               "try-again-later",
	"try_again_later":                   "try-again-later",
}

// declineCode is the gateway's decline code for a Stripe card error: by
// its decline code, else its code; anything Stripe adds later reads as a
// plain decline.
func declineCode(e *sg.Error) string {
	if c, ok := declineCodes[string(e.DeclineCode)]; ok {
		return c
	}
	if c, ok := declineCodes[string(e.Code)]; ok {
		return c
	}
	return "card-declined"
}

// avsCode turns Stripe's address checks (pass, fail, unavailable,
// unchecked, or absent) into the card networks' AVS letter. A part that
// was not verified is not a mismatch: B and P say which part matched.
func avsCode(line1, zip string) string {
	switch {
	case line1 == "pass" && zip == "pass":
		return "Y"
	case line1 == "pass" && zip == "fail":
		return "A"
	case line1 == "fail" && zip == "pass":
		return "Z"
	case line1 == "pass":
		return "B"
	case zip == "pass":
		return "P"
	case line1 == "fail" || zip == "fail":
		return "N"
	}
	return "U"
}

// cvvCode turns Stripe's cvc_check into the networks' CVV result letter.
func cvvCode(check string) string {
	switch check {
	case "pass":
		return "M"
	case "fail":
		return "N"
	case "unchecked":
		return "P"
	}
	return "U" // unavailable, or no check reported
}

// outcome is what a Stripe error says about whether the request did
// anything.
type outcome int

const (
	// unknown: it may have been carried out (a timeout, a lost
	// connection, a 5xx, a request with the same key still running).
	unknown outcome = iota
	// refused: Stripe answered that it did nothing (a 4xx).
	refused
	// declined: the card was declined (a card error); nothing moved.
	declined
)

// classify tells what an error from stripe-go means: a Stripe API error by
// its type and status, anything else (the network, a deadline) unknown.
func classify(err error) (outcome, *sg.Error) {
	var e *sg.Error
	if !errors.As(err, &e) {
		return unknown, nil
	}
	switch {
	case e.Type == sg.ErrorTypeCard:
		return declined, e
	case e.Type == sg.ErrorTypeIdempotency:
		// The key was used before with other parameters: something was
		// done under it; only the reconciler can tell what.
		return unknown, e
	case e.HTTPStatusCode == http.StatusConflict:
		// A request with the same key is still running at Stripe.
		return unknown, e
	case e.HTTPStatusCode >= 400 && e.HTTPStatusCode < 500:
		return refused, e
	}
	return unknown, e
}

// retryable tells a Stripe answer worth asking again with the same key:
// a 5xx (its outcome unknown), a 409 (a request with the key still
// running) or a 429 lock timeout. stripe-go itself retries only network
// errors and lock timeouts.
func retryable(err error) bool {
	var e *sg.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.HTTPStatusCode >= 500 || e.HTTPStatusCode == http.StatusConflict ||
		e.HTTPStatusCode == http.StatusTooManyRequests && e.Code == sg.ErrorCodeLockTimeout
}

// backoff is the wait before retry n (0-based): 0.5 s, 1 s, 2 s…, less
// up to a quarter at random so that many clients do not retry together.
func backoff(n int) time.Duration {
	d := retryDelay << n
	return d - time.Duration(rand.Int64N(int64(d/4)))
}

// retryDelay is the first retry's wait.
const retryDelay = 500 * time.Millisecond

// withRetries calls fn, and again (at most maxRetries times, with
// backoff, while ctx has time for the wait) after a retryable answer.
// fn sends the same request with the same idempotency key each time.
func withRetries[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	for n := 0; ; n++ {
		v, err := fn()
		if err == nil || n >= maxRetries || !retryable(err) {
			return v, err
		}
		wait := backoff(n)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return v, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, err
		case <-t.C:
		}
	}
}
