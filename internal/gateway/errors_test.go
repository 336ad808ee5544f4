package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

func TestErrorf(t *testing.T) {
	tests := []struct {
		name     string
		kind     gateway.Kind
		code     string
		format   string
		args     []any
		wantMsg  string
		wantText string
	}{
		{"no args", gateway.KindInvalid, "invalid-amount", "The amount must be at least 1.", nil,
			"The amount must be at least 1.", "invalid-amount: The amount must be at least 1."},
		{"with args", gateway.KindInvalid, "capture-exceeds-authorized", "The capture amount %d exceeds the authorized amount %d.", []any{1001, 1000},
			"The capture amount 1001 exceeds the authorized amount 1000.", "capture-exceeds-authorized: The capture amount 1001 exceeds the authorized amount 1000."},
		{"string arg", gateway.KindNotFound, "not-found", "Payment %s was not found.", []any{"ABC"},
			"Payment ABC was not found.", "not-found: Payment ABC was not found."},
		{"declined", gateway.KindDeclined, "card-declined", "The card was declined.", nil,
			"The card was declined.", "card-declined: The card was declined."},
		{"rate limited", gateway.KindRateLimited, "rate-limited", "Too many requests.", nil,
			"Too many requests.", "rate-limited: Too many requests."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := gateway.Errorf(tc.kind, tc.code, tc.format, tc.args...)
			if e.Kind != tc.kind || e.Code != tc.code || e.Message != tc.wantMsg {
				t.Errorf("Errorf = {%v %q %q}; want {%v %q %q}", e.Kind, e.Code, e.Message, tc.kind, tc.code, tc.wantMsg)
			}
			if e.Error() != tc.wantText {
				t.Errorf("Error() = %q; want %q", e.Error(), tc.wantText)
			}
			if e.Payment != nil {
				t.Errorf("Payment = %+v; want nil", e.Payment)
			}
			if e.Unwrap() != nil {
				t.Errorf("Unwrap() = %v; want nil", e.Unwrap())
			}
			if gateway.ErrorKind(e) != tc.kind {
				t.Errorf("ErrorKind = %v; want %v", gateway.ErrorKind(e), tc.kind)
			}
			if gateway.AsError(e) != e {
				t.Error("AsError did not return the error itself")
			}
		})
	}
}

func TestInternal(t *testing.T) {
	cause := errors.New("database is locked: /var/lib/cartgateway/db.sqlite")
	e := gateway.Internal(cause)
	if e.Kind != gateway.KindInternal || e.Code != "internal-error" {
		t.Fatalf("Internal = kind %v code %q; want KindInternal internal-error", e.Kind, e.Code)
	}
	// The message is what answers show: it never leaks the cause.
	if e.Message == "" || strings.Contains(e.Message, "database") || strings.Contains(e.Message, "sqlite") {
		t.Errorf("Message %q: want a generic sentence", e.Message)
	}
	// The cause stays reachable for logs.
	if !errors.Is(e, cause) {
		t.Error("errors.Is(Internal(cause), cause) = false")
	}
	if !strings.Contains(e.Error(), cause.Error()) || !strings.HasPrefix(e.Error(), "internal-error: ") {
		t.Errorf("Error() = %q; want the code and the cause", e.Error())
	}
	if !errors.Is(gateway.Internal(fmt.Errorf("query: %w", context.DeadlineExceeded)), context.DeadlineExceeded) {
		t.Error("Internal loses a wrapped cause")
	}
}

func TestErrorKind(t *testing.T) {
	invalid := gateway.Errorf(gateway.KindInvalid, "invalid-amount", "bad")
	tests := []struct {
		name string
		err  error
		want gateway.Kind
	}{
		{"nil", nil, gateway.KindInternal},
		{"foreign", errors.New("boom"), gateway.KindInternal},
		{"io.EOF", io.EOF, gateway.KindInternal},
		{"context canceled", context.Canceled, gateway.KindInternal},
		{"direct", invalid, gateway.KindInvalid},
		{"wrapped once", fmt.Errorf("capture: %w", invalid), gateway.KindInvalid},
		{"wrapped twice", fmt.Errorf("service: %w", fmt.Errorf("capture: %w", invalid)), gateway.KindInvalid},
		{"wrapped with %v loses the kind", fmt.Errorf("capture: %v", invalid), gateway.KindInternal},
		{"joined", errors.Join(errors.New("other"), invalid), gateway.KindInvalid},
		{"multi %w", fmt.Errorf("%w and %w", io.EOF, gateway.ErrConflict), gateway.KindConflict},
		{"ErrNotFound", gateway.ErrNotFound, gateway.KindNotFound},
		{"wrapped ErrNotFound", fmt.Errorf("payment %s: %w", "X", gateway.ErrNotFound), gateway.KindNotFound},
		{"ErrConflict", gateway.ErrConflict, gateway.KindConflict},
		{"ErrProcessor", gateway.ErrProcessor, gateway.KindProcessor},
		{"wrapped ErrProcessor", fmt.Errorf("authorize: %w", gateway.ErrProcessor), gateway.KindProcessor},
		{"Internal", gateway.Internal(errors.New("x")), gateway.KindInternal},
		{"Internal wrapping a domain error", gateway.Internal(invalid), gateway.KindInternal},
		{"unauthorized", gateway.Errorf(gateway.KindUnauthorized, "invalid-passed-privatekey", "no"), gateway.KindUnauthorized},
		{"declined", gateway.Errorf(gateway.KindDeclined, "card-declined", "no"), gateway.KindDeclined},
		{"too large", gateway.Errorf(gateway.KindTooLarge, "too-large", "no"), gateway.KindTooLarge},
		{"rate limited", fmt.Errorf("x: %w", gateway.Errorf(gateway.KindRateLimited, "rate-limited", "no")), gateway.KindRateLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gateway.ErrorKind(tc.err); got != tc.want {
				t.Errorf("ErrorKind(%v) = %v; want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestAsError(t *testing.T) {
	invalid := gateway.Errorf(gateway.KindInvalid, "invalid-amount", "The amount must be at least 1.")
	t.Run("domain errors come back as themselves", func(t *testing.T) {
		for _, err := range []error{
			invalid,
			fmt.Errorf("capture: %w", invalid),
			fmt.Errorf("service: %w", fmt.Errorf("capture: %w", invalid)),
			errors.Join(io.EOF, invalid),
		} {
			if got := gateway.AsError(err); got != invalid {
				t.Errorf("AsError(%v) = %v; want the wrapped *Error itself", err, got)
			}
		}
	})
	t.Run("sentinels", func(t *testing.T) {
		for _, s := range []*gateway.Error{gateway.ErrNotFound, gateway.ErrConflict, gateway.ErrProcessor} {
			got := gateway.AsError(fmt.Errorf("x: %w", s))
			if got != s {
				t.Errorf("AsError(wrapped %s) = %v", s.Code, got)
			}
			if !errors.Is(fmt.Errorf("x: %w", s), s) {
				t.Errorf("errors.Is(wrapped %s) = false", s.Code)
			}
		}
	})
	t.Run("foreign errors become internal", func(t *testing.T) {
		for _, cause := range []error{
			errors.New("disk full"),
			fmt.Errorf("query: %w", io.ErrUnexpectedEOF),
			fmt.Errorf("capture: %v", invalid), // %v keeps only the text
		} {
			got := gateway.AsError(cause)
			if got == nil {
				t.Fatalf("AsError(%v) = nil", cause)
			}
			if got.Kind != gateway.KindInternal || got.Code != "internal-error" {
				t.Errorf("AsError(%v) = kind %v code %q; want internal-error", cause, got.Kind, got.Code)
			}
			if got.Message == "" || strings.Contains(got.Message, cause.Error()) {
				t.Errorf("AsError(%v).Message = %q; want a generic sentence", cause, got.Message)
			}
			if !errors.Is(got, cause) {
				t.Errorf("AsError(%v) does not wrap its cause", cause)
			}
		}
	})
	t.Run("the carried payment survives wrapping", func(t *testing.T) {
		e := gateway.Errorf(gateway.KindDeclined, "card-declined", "The card was declined.")
		e.Payment = &gateway.Payment{ID: "ABCDEFGHIJKLMNO", Status: gateway.StatusDeclined, AVSCode: "Y", CVVCode: "M"}
		got := gateway.AsError(fmt.Errorf("charge: %w", e))
		if got.Payment == nil || got.Payment.ID != "ABCDEFGHIJKLMNO" || got.Kind != gateway.KindDeclined {
			t.Errorf("AsError lost the payment: %+v", got)
		}
	})
}
