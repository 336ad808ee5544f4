package httpapi

import (
	"time"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/country"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// decodePayment reads a charge or authorization body.
func decodePayment(body []byte, now time.Time) (service.PaymentRequest, error) {
	f, err := parseFields(body)
	if err != nil {
		return service.PaymentRequest{}, err
	}
	p := parser{f: f}
	req := service.PaymentRequest{
		Customer: gateway.Customer{
			FirstName: p.required("firstname"),
			LastName:  p.required("lastname"),
			Email:     p.email("email"),
			Address:   p.required("address"),
			Zip:       p.required("zip"),
			Phone:     p.optional("phone"),
			City:      p.optional("city"),
			State:     p.optional("state"),
		},
		Amount:  p.amount("amount"),
		OrderID: p.required("order_id"),
		Source:  p.optional("source"),
		ThreeDS: gateway.ThreeDS{
			CAVV:                p.optional("threeds_cavv"),
			Validated:           p.optional("threeds_validated"),
			TransactionID:       p.optional("threeds_transaction_id"),
			ServerTransactionID: p.optional("threeds_server_transaction_id"),
			Version:             p.optional("threeds_version"),
			PaResStatus:         p.optional("threeds_parres_status"),
		},
	}
	countryText := p.optional("country")
	in := card.Input{
		Number:   p.optional("card_number"),
		CVV:      p.optional("card_cvv"),
		ExpMonth: p.optional("card_expiry_month"),
		ExpYear:  p.optional("card_expiry_year"),
	}
	if p.err != nil {
		return req, p.err
	}
	if countryText != "" {
		code, ok := country.Normalize(countryText)
		if !ok {
			return req, invalid("invalid-country", "country %s is not an ISO 3166-1 alpha-2 code or English country name.", describe(countryText))
		}
		req.Customer.Country = code
	}
	if req.Amount < gateway.MinimumPaymentAmount {
		return req, invalid("invalid-amount", "amount must be at least %d minor units.", gateway.MinimumPaymentAmount)
	}
	c, err := card.Validate(in, now)
	if err != nil {
		if fe, ok := err.(*card.FieldError); ok {
			return req, invalid(fe.Code, "%s", fe.Message)
		}
		return req, err
	}
	req.Card = c
	return req, nil
}

// decodeChange reads the payment id and, when withAmount, the amount of a
// capture, refund or void.
func decodeChange(body []byte, idField string, withAmount bool) (string, int64, error) {
	if !withAmount {
		if id, ok := onlyPlainMember(body, idField); ok {
			return id, 0, nil
		}
	}
	return decodeChangeFields(body, idField, withAmount)
}

// decodeChangeFields is decodeChange without the shortcut.
func decodeChangeFields(body []byte, idField string, withAmount bool) (string, int64, error) {
	f, err := parseFields(body)
	if err != nil {
		return "", 0, err
	}
	p := parser{f: f}
	id := p.required(idField)
	var amount int64
	if withAmount {
		amount = p.amount("amount")
		if p.err == nil && amount < 1 {
			p.err = invalid("invalid-amount", "amount must be at least 1 minor unit.")
		}
	}
	return id, amount, p.err
}

// onlyPlainMember returns the value of body when body is exactly
// {"name":"value"}, the value printable ASCII without quotes, backslashes
// or spaces and at most maxFieldLength long: what the SDK sends to look up
// or void a payment. For such a body the general decoder gives the same
// value (FuzzOnlyPlainMember), only slower: it builds a map of raw fields
// and decodes the value a second time.
func onlyPlainMember(body []byte, name string) (string, bool) {
	n := len(name)
	if len(body) < n+7 || body[0] != '{' || body[1] != '"' || string(body[2:2+n]) != name ||
		body[2+n] != '"' || body[3+n] != ':' || body[4+n] != '"' ||
		body[len(body)-2] != '"' || body[len(body)-1] != '}' {
		return "", false
	}
	value := body[5+n : len(body)-2]
	if len(value) == 0 || len(value) > maxFieldLength {
		return "", false
	}
	for _, c := range value {
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(value), true
}
