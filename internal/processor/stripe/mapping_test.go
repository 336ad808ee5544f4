package stripe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	sg "github.com/stripe/stripe-go/v82"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

func TestDeclineCodes(t *testing.T) {
	for stripeCode, code := range declineCodes {
		if !gateway.IsDeclineCode(code) {
			t.Errorf("Stripe's %s maps to %s, which is no gateway decline code", stripeCode, code)
		}
	}
	for _, tc := range []struct {
		code, decline, want string
	}{
		{"card_declined", "insufficient_funds", "insufficient-funds"},
		{"card_declined", "generic_decline", "card-declined"},
		{"card_declined", "fraudulent", "card-declined"}, // never tell a customer "fraud"
		{"card_declined", "lost_card", "lost-card"},
		{"card_declined", "stolen_card", "stolen-card"},
		{"card_declined", "card_velocity_exceeded", "limit-exceeded"},
		{"card_declined", "call_issuer", "call-issuer"},
		{"card_declined", "currency_not_supported", "card-not-supported"},
		{"card_declined", "a_code_stripe_adds_later", "card-declined"},
		{"expired_card", "", "expired-card"},
		{"incorrect_cvc", "", "incorrect-cvv"},
		{"incorrect_number", "", "incorrect-number"},
		{"incorrect_zip", "", "incorrect-zip"},
		{"processing_error", "", "try-again-later"},
		{"authentication_required", "", "authentication-required"},
		{"card_declined", "", "card-declined"},
		{"", "", "card-declined"},
	} {
		e := &sg.Error{Type: sg.ErrorTypeCard, Code: sg.ErrorCode(tc.code), DeclineCode: sg.DeclineCode(tc.decline)}
		if got := declineCode(e); got != tc.want {
			t.Errorf("code %q decline_code %q -> %s; want %s", tc.code, tc.decline, got, tc.want)
		}
	}
	if r := declineResult(&sg.Error{Code: "incorrect_cvc"}, "pi_1"); r.CVVCode != "N" || r.ProcessorRef != "pi_1" || r.Approved {
		t.Errorf("incorrect CVC decline: %+v", r)
	}
}

func TestAVSAndCVVCodes(t *testing.T) {
	for _, tc := range []struct{ line1, zip, want string }{
		{"pass", "pass", "Y"},
		{"pass", "fail", "A"},
		{"fail", "pass", "Z"},
		{"fail", "fail", "N"},
		{"pass", "unavailable", "B"},
		{"pass", "unchecked", "B"},
		{"pass", "", "B"},
		{"unavailable", "pass", "P"},
		{"", "pass", "P"},
		{"fail", "unchecked", "N"},
		{"unavailable", "fail", "N"},
		{"unavailable", "unavailable", "U"},
		{"unchecked", "unchecked", "U"},
		{"", "", "U"},
	} {
		got := avsCode(tc.line1, tc.zip)
		if got != tc.want {
			t.Errorf("line1 %q zip %q -> %s; want %s", tc.line1, tc.zip, got, tc.want)
		}
		if gateway.AVSMessage(got) == "" {
			t.Errorf("AVS code %s has no message", got)
		}
	}
	for _, tc := range []struct{ check, want string }{
		{"pass", "M"}, {"fail", "N"}, {"unchecked", "P"}, {"unavailable", "U"}, {"", "U"},
	} {
		got := cvvCode(tc.check)
		if got != tc.want || gateway.CVVMessage(got) == "" {
			t.Errorf("cvc_check %q -> %s; want %s (with a message)", tc.check, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	netErr := &url.Error{Op: "Post", URL: "https://api.stripe.com/v1/payment_intents", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}
	for _, tc := range []struct {
		name      string
		err       error
		want      outcome
		retryable bool
	}{
		{"card declined", &sg.Error{Type: sg.ErrorTypeCard, HTTPStatusCode: 402, Code: "card_declined"}, declined, false},
		{"invalid request", &sg.Error{Type: sg.ErrorTypeInvalidRequest, HTTPStatusCode: 400, Code: "parameter_invalid_integer"}, refused, false},
		{"bad API key", &sg.Error{Type: sg.ErrorTypeInvalidRequest, HTTPStatusCode: 401}, refused, false},
		{"restricted key lacks permission", &sg.Error{Type: sg.ErrorTypeInvalidRequest, HTTPStatusCode: 403}, refused, false},
		{"no such intent", &sg.Error{Type: sg.ErrorTypeInvalidRequest, HTTPStatusCode: 404, Code: "resource_missing"}, refused, false},
		{"rate limited", &sg.Error{Type: sg.ErrorTypeInvalidRequest, HTTPStatusCode: 429, Code: "rate_limit"}, refused, false},
		{"lock timeout", &sg.Error{Type: sg.ErrorTypeInvalidRequest, HTTPStatusCode: 429, Code: sg.ErrorCodeLockTimeout}, refused, true},
		{"key in use", &sg.Error{Type: sg.ErrorTypeInvalidRequest, HTTPStatusCode: 409, Code: "idempotency_key_in_use"}, unknown, true},
		{"key reused with other parameters", &sg.Error{Type: sg.ErrorTypeIdempotency, HTTPStatusCode: 400}, unknown, false},
		{"server error", &sg.Error{Type: sg.ErrorTypeAPI, HTTPStatusCode: 500}, unknown, true},
		{"bad gateway", &sg.Error{Type: sg.ErrorTypeAPI, HTTPStatusCode: 502}, unknown, true},
		{"connection reset", netErr, unknown, false},
		{"deadline", context.DeadlineExceeded, unknown, false},
		{"wrapped card error", fmt.Errorf("x: %w", &sg.Error{Type: sg.ErrorTypeCard, HTTPStatusCode: 402}), declined, false},
	} {
		got, _ := classify(tc.err)
		if got != tc.want {
			t.Errorf("%s: %v; want %v", tc.name, got, tc.want)
		}
		if r := retryable(tc.err); r != tc.retryable {
			t.Errorf("%s: retryable %v; want %v", tc.name, r, tc.retryable)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{"sk_live_51Habcdefghijklmnop", true},
		{"sk_test_51Habcdefghijklmnop", true},
		{"rk_live_51Habcdefghijklmnop", true},
		{"pk_live_51Habcdefghijklmnop", false},
		{"sk_live_", false},
		{"sk_live_51Habc defghijklmnop", false},
		{"whsec_abcdefghijklmnop", false},
		{"", false},
	} {
		err := CheckSecret(tc.secret)
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v; want ok %v", tc.secret, err, tc.ok)
		}
		if err != nil && gateway.AsError(err).Code != "invalid-processor-secret" {
			t.Errorf("%q: %v; want invalid-processor-secret", tc.secret, err)
		}
	}
}

func TestWithRetriesBacksOffWithinTheDeadline(t *testing.T) {
	calls := 0
	fail := &sg.Error{Type: sg.ErrorTypeAPI, HTTPStatusCode: 503}
	start := time.Now()
	_, err := withRetries(context.Background(), func() (int, error) { calls++; return 0, fail })
	if calls != 1+maxRetries || !errors.Is(err, fail) {
		t.Errorf("5xx: %d calls, %v; want %d", calls, err, 1+maxRetries)
	}
	if d := time.Since(start); d < retryDelay {
		t.Errorf("retried after %s; want backoff of at least %s", d, retryDelay)
	}
	calls = 0
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _ = withRetries(ctx, func() (int, error) { calls++; return 0, fail })
	if calls != 1 {
		t.Errorf("with no time left for a backoff: %d calls; want 1", calls)
	}
	calls = 0
	_, _ = withRetries(context.Background(), func() (int, error) {
		calls++
		return 0, &sg.Error{Type: sg.ErrorTypeCard, HTTPStatusCode: 402}
	})
	if calls != 1 {
		t.Errorf("a decline was retried: %d calls", calls)
	}
}
