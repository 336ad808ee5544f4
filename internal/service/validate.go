package service

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/country"
	"github.com/cartgateway/cartgateway/internal/gateway"
)

// PaymentInput is a charge or authorization as a surface received it: the
// text of each field as sent (trimmed or not), and the amount in minor
// units. The service validates it, so that the API, the hosted page and
// the portal apply the same rules with the same messages.
type PaymentInput struct {
	Card     card.Input
	Amount   int64
	OrderID  string
	Customer gateway.Customer // Country as sent: an ISO code or an English name
	Source   string
	ThreeDS  gateway.ThreeDS
	// CardholderName is the name on the card, when the surface asks for
	// it (the hosted page): the processor sees it; it is not stored.
	CardholderName string
	// CheckoutSessionID names the hosted checkout session the charge pays
	// (PayCheckout sets it): its claim locks the session and moves it on
	// in the same transactions as the payment.
	CheckoutSessionID string
}

// PaymentRequest is a validated charge or authorization.
type PaymentRequest struct {
	Card     card.Card
	Amount   int64
	OrderID  string
	Customer gateway.Customer
	Source   string
	ThreeDS  gateway.ThreeDS
	// CardholderName is never stored.
	CardholderName string
}

// MaxTextLength bounds every text field, in characters.
const MaxTextLength = 255

// fieldError is a rule broken by one request field; code is
// "<prefix>-<field with hyphens>".
func fieldError(field, prefix, format string, args ...any) *gateway.Error {
	e := gateway.Errorf(gateway.KindInvalid, prefix+"-"+strings.ReplaceAll(field, "_", "-"), format, args...)
	e.Field = field
	return e
}

// textChecker checks text fields one after another and keeps the first
// error, so that the rules read as a list of fields.
type textChecker struct{ err error }

// text trims s and checks it against the rules of every text field: at most
// MaxTextLength characters, no control characters, and present if required.
func (c *textChecker) text(field, s string, required bool) string {
	if c.err != nil {
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		c.err = fieldError(field, "missing", "%s is required.", field)
	case utf8.RuneCountInString(s) > MaxTextLength:
		c.err = fieldError(field, "invalid", "%s must be at most %d characters.", field, MaxTextLength)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		c.err = fieldError(field, "invalid", "%s must not contain control characters.", field)
	}
	return s
}

func (c *textChecker) email(field, s string) string {
	s = c.text(field, s, true)
	if c.err == nil {
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s || a.Name != "" {
			c.err = fieldError(field, "invalid", "%s must be an email address.", field)
		}
	}
	return s
}

// ValidatePayment applies the rules of a charge or authorization to in, as
// of now (card expiry).
func ValidatePayment(in PaymentInput, now time.Time) (PaymentRequest, error) {
	var c textChecker
	req := PaymentRequest{
		Customer: gateway.Customer{
			FirstName: c.text("firstname", in.Customer.FirstName, true),
			LastName:  c.text("lastname", in.Customer.LastName, true),
			Email:     c.email("email", in.Customer.Email),
			Address:   c.text("address", in.Customer.Address, true),
			Zip:       c.text("zip", in.Customer.Zip, true),
			Phone:     c.text("phone", in.Customer.Phone, false),
			City:      c.text("city", in.Customer.City, false),
			State:     c.text("state", in.Customer.State, false),
		},
		Amount:         in.Amount,
		OrderID:        c.text("order_id", in.OrderID, true),
		Source:         c.text("source", in.Source, false),
		CardholderName: c.text("cardholder_name", in.CardholderName, false),
		ThreeDS: gateway.ThreeDS{
			CAVV:                c.text("threeds_cavv", in.ThreeDS.CAVV, false),
			Validated:           c.text("threeds_validated", in.ThreeDS.Validated, false),
			TransactionID:       c.text("threeds_transaction_id", in.ThreeDS.TransactionID, false),
			ServerTransactionID: c.text("threeds_server_transaction_id", in.ThreeDS.ServerTransactionID, false),
			Version:             c.text("threeds_version", in.ThreeDS.Version, false),
			PaResStatus:         c.text("threeds_parres_status", in.ThreeDS.PaResStatus, false),
		},
	}
	countryText := c.text("country", in.Customer.Country, false)
	if c.err != nil {
		return req, c.err
	}
	if countryText != "" {
		code, ok := country.Normalize(countryText)
		if !ok {
			return req, fieldError("country", "invalid", "country %s is not an ISO 3166-1 alpha-2 code or English country name.", quote(countryText))
		}
		req.Customer.Country = code
	}
	if req.Amount < gateway.MinimumPaymentAmount {
		return req, fieldError("amount", "invalid", "amount must be at least %d minor units.", gateway.MinimumPaymentAmount)
	}
	cd, err := card.Validate(in.Card, now)
	if err != nil {
		if fe, ok := err.(*card.FieldError); ok {
			e := gateway.Errorf(gateway.KindInvalid, fe.Code, "%s", fe.Message)
			e.Field = fe.Field
			return req, e
		}
		return req, err
	}
	req.Card = cd
	return req, nil
}

// quote names a value the client sent in a message: quoted and truncated.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return strconv.Quote(s)
}
