package httpapi

import (
	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// decodePayment reads a charge or authorization body: the JSON types of its
// fields and the amount's integer form. The service applies the rules.
func decodePayment(body []byte) (service.PaymentInput, error) {
	f, err := parseFields(body)
	if err != nil {
		return service.PaymentInput{}, err
	}
	p := parser{f: f}
	in := service.PaymentInput{
		Customer: gateway.Customer{
			FirstName: p.value("firstname"),
			LastName:  p.value("lastname"),
			Email:     p.value("email"),
			Address:   p.value("address"),
			Zip:       p.value("zip"),
			Phone:     p.value("phone"),
			City:      p.value("city"),
			State:     p.value("state"),
		},
		Amount:  p.amount("amount"),
		OrderID: p.value("order_id"),
		Source:  p.value("source"),
		ThreeDS: gateway.ThreeDS{
			CAVV:                p.value("threeds_cavv"),
			Validated:           p.value("threeds_validated"),
			TransactionID:       p.value("threeds_transaction_id"),
			ServerTransactionID: p.value("threeds_server_transaction_id"),
			Version:             p.value("threeds_version"),
			PaResStatus:         p.value("threeds_parres_status"),
		},
	}
	in.Customer.Country = p.value("country")
	in.Card = card.Input{
		Number:   p.value("card_number"),
		CVV:      p.value("card_cvv"),
		ExpMonth: p.value("card_expiry_month"),
		ExpYear:  p.value("card_expiry_year"),
	}
	return in, p.err
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
