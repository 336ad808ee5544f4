package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// fuzzNow is a fixed clock, so that a fuzz input means the same every run.
var fuzzNow = time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC)

// fuzzSDKBody returns an SDK fixture from the repository's
// testdata/sdk-requests (the PHP SDK's exact bodies).
func fuzzSDKBody(name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdk-requests", name))
	if err != nil {
		panic("SDK fixture: " + err.Error())
	}
	return []byte(strings.TrimSpace(string(b)))
}

// decodeAndValidate is what a charge body goes through before the service
// acts on it: the API's decoder, then the service's rules.
func decodeAndValidate(body []byte, now time.Time) (service.PaymentRequest, error) {
	in, err := decodePayment(body)
	if err != nil {
		return service.PaymentRequest{}, err
	}
	return service.ValidatePayment(in, now)
}

// fuzzOddBodies are inputs every decoder must survive.
var fuzzOddBodies = []string{
	"", " ", "null", "[]", `[{"amount":1}]`, "{}", "{", `{"a":}`, `"x"`, "2000", "\xff\xfe{", `{"amount":1}{}`,
	`{"card_number":{"nested":[1,2,{"x":null}]}}`, `{"card_number":[4242424242424242]}`,
	`{"amount":1e400,"card_number":1e400}`, `{"amount":-0,"payment_id":-0}`, `{"amount":"\u0000"}`,
	`{"payment_id":"\ud800","authorized_payment_id":"\u0007"}`, `{"payment_id":true,"amount":false}`,
	`{"amount":9223372036854775808,"payment_id":"x"}`, `{"amount":10000000000000,"payment_id":"x"}`,
	`{"amount":10000000000001,"payment_id":"x"}`, `{"amount":"+5","payment_id":" x "}`,
	`{"payment_id":"x","payment_id":null}`, `{"` + strings.Repeat("[", 100) + `":1}`,
	`{"card_number":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
}

func FuzzDecodePayment(f *testing.F) {
	for _, name := range []string{"charge.json", "authorize.json", "authorize-minimal.json"} {
		f.Add(fuzzSDKBody(name))
	}
	for _, s := range fuzzOddBodies {
		f.Add([]byte(s))
	}
	valid := `{"firstname":"Test","lastname":"User","email":"user3@example.com","address":"6 Pheasant Run","zip":"07733",` +
		`"amount":2000,"card_cvv":"123","card_expiry_month":"10","card_expiry_year":"2031","order_id":"o-1","country":"US",`
	for _, tail := range []string{
		`"card_number":"4242 4242 4242 4241"}`, // Luhn failure
		`"card_number":"4242-4242-4242-4242"}`,
		`"card_number":"4242424242424242x"}`,
		`"card_number":4242424242424242.0}`,
		`"card_number":-4242424242424242}`,
		`"card_number":"4242424242424242","country":"4242424242424242"}`,
		`"card_number":"4012888888881881123"}`,
		`"card_number":"42424242424242424242424242"}`,
		`"card_number":"378282246310005"}`, // Amex with a 3-digit CVV
		`"card_number":"4242424242424242","amount":"99"}`,
		`"card_number":"10000000000000","amount":"1e3"}`,
		`"card_number":"4242424242424242","card_expiry_month":"13"}`,
		`"card_number":"4242424242424242","card_expiry_year":"2020"}`,
		`"card_number":"4242424242424242","email":"Test <a@b.c>"}`,
		`"card_number":"4242424242424242","firstname":"` + strings.Repeat("é", 256) + `"}`,
		`"card_number":"４２４２４２４２４２４２４２４２"}`,
	} {
		f.Add([]byte(valid + tail))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeAndValidate(body, fuzzNow)
		number, numberText := fuzzCardNumber(body)
		if err != nil {
			e := fuzzWantInvalid(t, err)
			if len(number) >= 12 {
				// maxAmount's own digits are part of a message and no leak.
				msg := strings.ReplaceAll(e.Message, strconv.Itoa(maxAmount), "")
				for _, secret := range []string{number, numberText} {
					if secret != "" && strings.Contains(msg, secret) && !fuzzElsewhere(body, secret) {
						t.Fatalf("the error message shows the card number %q: %q", secret, e.Message)
					}
				}
			}
			return
		}
		// An accepted request is fully valid.
		if !card.Luhn(req.Card.Number) || len(req.Card.Number) < 12 || len(req.Card.Number) > 19 {
			t.Fatalf("accepted card number %q", req.Card.Number)
		}
		if req.Card.Number != number {
			t.Fatalf("card number %q decoded from %q", req.Card.Number, numberText)
		}
		if req.Card.ExpMonth < 1 || req.Card.ExpMonth > 12 || req.Card.CVV == "" || req.Card.Brand == "" {
			t.Fatalf("accepted card %#v", req.Card)
		}
		if exp := time.Date(req.Card.ExpYear, time.Month(req.Card.ExpMonth)+1, 1, 0, 0, 0, 0, time.UTC); !exp.After(fuzzNow) {
			t.Fatalf("accepted an expired card %02d/%d", req.Card.ExpMonth, req.Card.ExpYear)
		}
		if req.Amount < gateway.MinimumPaymentAmount || req.Amount > maxAmount {
			t.Fatalf("accepted amount %d", req.Amount)
		}
		if c := req.Customer.Country; c != "" && (len(c) != 2 || strings.ToUpper(c) != c) {
			t.Fatalf("accepted country %q", c)
		}
		if a, err := mail.ParseAddress(req.Customer.Email); err != nil || a.Address != req.Customer.Email {
			t.Fatalf("accepted email %q", req.Customer.Email)
		}
		cu := req.Customer
		for name, v := range map[string]string{"firstname": cu.FirstName, "lastname": cu.LastName, "address": cu.Address,
			"zip": cu.Zip, "order_id": req.OrderID} {
			if v == "" {
				t.Fatalf("accepted an empty %s", name)
			}
		}
		for name, v := range map[string]string{"firstname": cu.FirstName, "lastname": cu.LastName, "address": cu.Address,
			"zip": cu.Zip, "order_id": req.OrderID, "phone": cu.Phone, "city": cu.City, "state": cu.State, "source": req.Source,
			"threeds_cavv": req.ThreeDS.CAVV} {
			fuzzWantCleanText(t, name, v)
		}
	})
}

func FuzzDecodeChange(f *testing.F) {
	for _, name := range []string{"capture.json", "refund.json", "void.json", "lookup.json"} {
		b := fuzzSDKBody(name)
		f.Add(b, name == "capture.json", name == "capture.json" || name == "refund.json")
	}
	for _, s := range fuzzOddBodies {
		f.Add([]byte(s), false, true)
		f.Add([]byte(s), true, false)
	}
	f.Fuzz(func(t *testing.T, body []byte, capture, withAmount bool) {
		idField := "payment_id"
		if capture {
			idField = "authorized_payment_id"
		}
		id, amount, err := decodeChange(body, idField, withAmount)
		if err != nil {
			fuzzWantInvalid(t, err)
			return
		}
		if id == "" {
			t.Fatalf("accepted an empty %s", idField)
		}
		fuzzWantCleanText(t, idField, id)
		switch {
		case withAmount && (amount < 1 || amount > maxAmount):
			t.Fatalf("accepted amount %d", amount)
		case !withAmount && amount != 0:
			t.Fatalf("amount %d without an amount field", amount)
		}
	})
}

// fuzzWantInvalid checks that a decoder's error is an invalid-request
// *gateway.Error that renders as the API's JSON error.
func fuzzWantInvalid(t *testing.T, err error) *gateway.Error {
	t.Helper()
	var e *gateway.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not a *gateway.Error", err, err)
	}
	if e.Kind != gateway.KindInvalid || e.Code == "" || e.Message == "" || e.Payment != nil {
		t.Fatalf("error %#v: want KindInvalid with a code and message", e)
	}
	if !utf8.ValidString(e.Message) || strings.IndexFunc(e.Message, unicode.IsControl) >= 0 {
		t.Fatalf("error message %q is not clean text", e.Message)
	}
	status, body := renderError(err, "req_FUZZ")
	var m map[string]any
	if status != 400 || json.Unmarshal(body, &m) != nil || m["code"] != e.Code {
		t.Fatalf("renders as %d %s", status, body)
	}
	return e
}

func fuzzWantCleanText(t *testing.T, name, v string) {
	t.Helper()
	if utf8.RuneCountInString(v) > maxFieldLength || strings.IndexFunc(v, unicode.IsControl) >= 0 || strings.TrimSpace(v) != v {
		t.Fatalf("accepted %s %q", name, v)
	}
}

// fuzzCardNumber returns the digits of the body's card_number and its text
// as sent ("" when the body has none that can be read).
func fuzzCardNumber(body []byte) (digits, text string) {
	var f map[string]json.RawMessage
	if json.Unmarshal(body, &f) != nil {
		return "", ""
	}
	text = fuzzValueText(f["card_number"])
	var b strings.Builder
	for _, r := range text {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String(), strings.TrimSpace(text)
}

// fuzzElsewhere reports whether s occurs in a field other than card_number,
// whose value an error message may rightly quote.
func fuzzElsewhere(body []byte, s string) bool {
	var f map[string]json.RawMessage
	if json.Unmarshal(body, &f) != nil {
		return false
	}
	for k, v := range f {
		if k != "card_number" && strings.Contains(fuzzValueText(v), s) {
			return true
		}
	}
	return false
}

func fuzzValueText(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// FuzzParseAmount fuzzes the amount parser on its own, with any raw JSON
// value: it never panics, and what it takes is a whole number of minor units
// in [0, maxAmount], sent as an integer literal or a string of digits (never
// a fraction, an exponent or a sign).
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{
		"2000", `"2000"`, `" 2000 "`, "0", "-0", "-1", `"-1"`, "+5", `"+5"`, "1e3", `"1e3"`, "2000.0", `"20.5"`, "20.",
		"10000000000000", "10000000000001", `"10000000000000"`, "9223372036854775807", "9223372036854775808",
		"-9223372036854775808", "99999999999999999999", `"\u0032000"`, `"２０００"`, `"\u00a02000\u00a0"`, `"2,000"`,
		`"0x10"`, `"1_000"`, "00100", `"\t100\n"`, `"100\u0000"`, "null", "true", "false", `""`, `" "`, "[]", "[1]",
		"{}", "", " 1", "1 ", `"100`, "1 2", "\xff", `"\ud800"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := fields{"amount": json.RawMessage(raw)}.amount("amount")
		if err != nil {
			if e := fuzzWantInvalid(t, err); e.Code != "invalid-amount" && e.Code != "missing-amount" {
				t.Fatalf("amount %q: code %q", raw, e.Code)
			}
			if n != 0 {
				t.Fatalf("amount %q: %d with an error", raw, n)
			}
			return
		}
		if n < 0 || n > maxAmount {
			t.Fatalf("amount %q accepted as %d", raw, n)
		}
		text := string(raw)
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("amount %q accepted from a string that is not JSON", raw)
			}
			text = strings.TrimSpace(s)
		}
		if text == "" || strings.Trim(text, "0123456789") != "" {
			t.Fatalf("amount %q accepted (%d): not an integer literal or a string of digits", raw, n)
		}
		if want := strings.TrimLeft(text, "0"); strconv.FormatInt(n, 10) != want && !(n == 0 && want == "") {
			t.Fatalf("amount %q read as %d", raw, n)
		}
	})
}

// FuzzParseFields checks parseFields against encoding/json's own reading: a
// body is taken exactly when it is UTF-8 and one JSON object that names each
// field once, and then every field is there with its value as sent.
func FuzzParseFields(f *testing.F) {
	for _, name := range []string{"charge.json", "capture.json", "void.json"} {
		f.Add(fuzzSDKBody(name))
	}
	for _, s := range fuzzOddBodies {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"a":1,"a":1}`, `{"a":1,"\u0061":2}`, `{"a":{"b":1,"b":2}}`, `{"a":"x,\"a\":1"}`, `{"a":[1,{"a":2}],"b":"\\"}`,
		` {"a":1} `, "\u00a0{}\u00a0", `{"a":1,}`, `{,}`, `{"a" : 1 , "b" : [ ] }`, `{"\\":1,"\\\\":2}`,
		"{\"a\":\"\xff\"}", "\xef\xbb\xbf{}", `{"amount":1}{}`, `{"":1,"":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseFields(body)
		names, values, ok := fuzzObjectMembers(bytes.TrimSpace(body))
		unique := map[string]bool{}
		for _, n := range names {
			unique[n] = true
		}
		want := ok && len(unique) == len(names)
		if err != nil {
			if e := fuzzWantInvalid(t, err); e.Code != "invalid-json" {
				t.Fatalf("parseFields(%q): code %q", body, e.Code)
			}
			if want {
				t.Fatalf("parseFields(%q) refused a valid object: %v", body, err)
			}
			return
		}
		if !want {
			t.Fatalf("parseFields(%q) took it (ok %v, names %q)", body, ok, names)
		}
		if len(got) != len(names) {
			t.Fatalf("parseFields(%q) = %d fields, want %d", body, len(got), len(names))
		}
		for i, n := range names {
			if g, present := got[n]; !present || !bytes.Equal(g, values[i]) {
				t.Fatalf("parseFields(%q)[%q] = %q, want %q", body, n, g, values[i])
			}
		}
	})
}

// fuzzObjectMembers reads body with encoding/json's Decoder: ok when it is
// UTF-8 and exactly one JSON object, with its members' names (repeats kept)
// and values.
func fuzzObjectMembers(body []byte) (names []string, values []json.RawMessage, ok bool) {
	if !utf8.Valid(body) || !json.Valid(body) || len(body) == 0 || body[0] != '{' {
		return nil, nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil {
		return nil, nil, false
	}
	for dec.More() {
		tok, err := dec.Token()
		name, isString := tok.(string)
		if err != nil || !isString {
			return nil, nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false
		}
		names, values = append(names, name), append(values, v)
	}
	return names, values, true
}

// FuzzPlainString holds the unescaped-string shortcut to encoding/json: what
// it takes, json.Unmarshal reads as the same string.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`""`, `"a"`, `" x "`, `"a\"b"`, `"a"b"`, `"`, `"ab`, "\"\x01\"", "\"\xff\"", "\"\x7f\"", `"é"`, `"\u00e9"`, `x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := plainString(raw)
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatalf("plainString(%q) = %q, but it is not a JSON string: %v", raw, got, err)
		}
		if got != want {
			t.Fatalf("plainString(%q) = %q, want %q", raw, got, want)
		}
	})
}

// FuzzDecodeCheckout: any body decodes without a panic into an error with a
// code, or into a checkout of at most MaxCheckoutLines lines whose numbers
// are never negative; the service's rules then accept or refuse it with a
// code, never a panic or an internal error.
func FuzzDecodeCheckout(f *testing.F) {
	for _, name := range []string{"hosted-checkout-create-amounts.json", "hosted-checkout-create-codenames.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sdk-requests", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"products":[{"name":"x","amount":"100","quantity":"0"}],"tax_amount":-1}`))
	f.Add([]byte(`{"products":{},"success_url":"https://a.example/?payment_id=1"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeCheckout(body)
		if err != nil {
			if e := gateway.AsError(err); e.Kind != gateway.KindInvalid || e.Code == "" {
				t.Fatalf("decode error %v is not a coded refusal", err)
			}
			return
		}
		if len(in.Products) > service.MaxCheckoutLines || in.TaxAmount < 0 || in.ShippingAmount < 0 {
			t.Fatalf("decoded %+v", in)
		}
		for _, p := range in.Products {
			if p.Amount < 0 || p.Quantity < 0 {
				t.Fatalf("decoded a negative number: %+v", p)
			}
		}
		if err := service.CheckCheckout(in); err != nil {
			if e := gateway.AsError(err); e.Kind != gateway.KindInvalid || e.Code == "" {
				t.Fatalf("rule error %v is not a coded refusal", err)
			}
		}
	})
}
