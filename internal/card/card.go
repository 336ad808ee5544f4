// Package card validates and normalises payment card details.
//
// It is pure domain code: no I/O and no logging. A validated [Card] carries
// the full card number and CVV, which must never be logged or stored; its
// String, GoString, Format and MarshalJSON methods only ever expose a masked
// form so that accidental printing does not leak them.
package card

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Brand names used on the wire and in storage.
type Brand string

// Known brands. Every constant is explicitly typed so that all of them are
// of type Brand (an untyped constant in the same block would be a string).
const (
	Visa       Brand = "visa"
	Mastercard Brand = "mastercard"
	Amex       Brand = "amex"
	Discover   Brand = "discover"
	Diners     Brand = "diners"
	JCB        Brand = "jcb"
	UnionPay   Brand = "unionpay"
	Unknown    Brand = "unknown"
)

// Field names reported in [FieldError.Field].
const (
	FieldNumber   = "card_number"
	FieldCVV      = "card_cvv"
	FieldExpMonth = "card_expiry_month"
	FieldExpYear  = "card_expiry_year"
)

// Stable machine codes reported in [FieldError.Code].
const (
	CodeMissingNumber   = "missing-card-number"
	CodeInvalidNumber   = "invalid-card-number"
	CodeMissingCVV      = "missing-card-cvv"
	CodeInvalidCVV      = "invalid-card-cvv"
	CodeMissingExpMonth = "missing-card-expiry-month"
	CodeInvalidExpMonth = "invalid-card-expiry-month"
	CodeMissingExpYear  = "missing-card-expiry-year"
	CodeInvalidExpYear  = "invalid-card-expiry-year"
	CodeExpired         = "expired-card"
)

const (
	minNumberLen = 12
	maxNumberLen = 19
	// maxYearsAhead bounds the expiry year; anything further out is a typo.
	maxYearsAhead = 50
)

// Input is the raw text of the card fields as received from JSON: each may
// have come as a JSON number or string; the caller passes the raw digits
// text ("" = absent).
type Input struct {
	Number, CVV, ExpMonth, ExpYear string
}

// Card is a validated card.
//
// Number and CVV must never be logged or stored. String, GoString, Format
// and MarshalJSON print a masked form only (e.g. "visa ************4242"),
// so %v, %+v, %#v and JSON encoding of a Card (or *Card) never reveal them.
// Note that fmt cannot call methods on values held in unexported struct
// fields, so do not embed a Card in an unexported field of a printed value.
type Card struct {
	Number   string // digits only, separators removed
	CVV      string // digits only
	Brand    Brand
	ExpMonth int // 1..12
	ExpYear  int // four-digit year
}

// BIN returns the first 6 digits of the card number (the bank
// identification number), or "" if the number is shorter than that.
func (c Card) BIN() string {
	if len(c.Number) < 6 {
		return ""
	}
	return c.Number[:6]
}

// Last4 returns the last 4 digits of the card number, or "" if the number is
// shorter than that.
func (c Card) Last4() string {
	if len(c.Number) < 4 {
		return ""
	}
	return c.Number[len(c.Number)-4:]
}

// Masked returns the number with every digit but the last four replaced by
// '*', e.g. "************4242". Numbers of four digits or fewer are fully
// masked.
func (c Card) Masked() string {
	n := len(c.Number)
	if n <= 4 {
		return strings.Repeat("*", n)
	}
	return strings.Repeat("*", n-4) + c.Number[n-4:]
}

// String returns the brand and masked number, e.g. "visa ************4242".
func (c Card) String() string {
	b := c.Brand
	if b == "" {
		b = Unknown
	}
	return string(b) + " " + c.Masked()
}

// GoString returns a Go-syntax-like representation with the number masked
// and the CVV redacted; it is what %#v prints.
func (c Card) GoString() string {
	cvv := ""
	if c.CVV != "" {
		cvv = "***" // fixed width: do not reveal the CVV length either
	}
	return fmt.Sprintf("card.Card{Number:%q, CVV:%q, Brand:%q, ExpMonth:%d, ExpYear:%d}",
		c.Masked(), cvv, string(c.Brand), c.ExpMonth, c.ExpYear)
}

// Format implements fmt.Formatter so that every verb, including %+v (which
// would otherwise print the raw fields), prints the masked form.
func (c Card) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = io.WriteString(f, c.GoString())
			return
		}
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, 's'), c.String())
	case 's', 'q':
		_, _ = fmt.Fprintf(f, fmt.FormatString(f, verb), c.String())
	default:
		// Mirror fmt's bad-verb output, but with the masked form only.
		_, _ = fmt.Fprintf(f, "%%!%c(card.Card=%s)", verb, c.String())
	}
}

// MarshalJSON encodes only non-sensitive data, so a Card accidentally passed
// to a JSON encoder (for example a structured logger) does not leak the
// number or CVV. It is deliberately not reversible.
func (c Card) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Brand    Brand  `json:"brand"`
		Masked   string `json:"masked"`
		ExpMonth int    `json:"exp_month"`
		ExpYear  int    `json:"exp_year"`
	}{c.Brand, c.Masked(), c.ExpMonth, c.ExpYear})
}

// FieldError says which input field is wrong; Code is a stable machine code.
// Message is an English sentence for the API user and never contains the
// card number or CVV.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

func (e *FieldError) Error() string {
	return e.Field + ": " + e.Message
}

func fieldErr(field, code, msg string) *FieldError {
	return &FieldError{Field: field, Code: code, Message: msg}
}

// Validate checks and normalises the card at time now (using now's UTC year
// and month). Surrounding whitespace is ignored in every field and a field
// holding only whitespace counts as absent. Fields are checked in the order
// number, expiry month, expiry year, expiry date, CVV; the first problem is
// returned as a *FieldError.
func Validate(in Input, now time.Time) (Card, error) {
	number, brand, err := validateNumber(in.Number)
	if err != nil {
		return Card{}, err
	}
	month, err := parseExpMonth(in.ExpMonth)
	if err != nil {
		return Card{}, err
	}
	now = now.UTC()
	year, err := parseExpYear(in.ExpYear, now.Year())
	if err != nil {
		return Card{}, err
	}
	// The card is valid through the last day of its expiry month.
	if year < now.Year() || (year == now.Year() && month < int(now.Month())) {
		return Card{}, fieldErr(FieldExpYear, CodeExpired,
			fmt.Sprintf("The card expired in %02d/%04d.", month, year))
	}
	cvv, err := validateCVV(in.CVV, brand)
	if err != nil {
		return Card{}, err
	}
	return Card{Number: number, CVV: cvv, Brand: brand, ExpMonth: month, ExpYear: year}, nil
}

func validateNumber(raw string) (string, Brand, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "", fieldErr(FieldNumber, CodeMissingNumber, "The card number is required.")
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == ' ' || c == '-':
			// Separators as printed on cards or typed by users.
		case isDigit(c):
			b.WriteByte(c)
		default:
			return "", "", fieldErr(FieldNumber, CodeInvalidNumber,
				"The card number must contain only digits, optionally separated by spaces or dashes.")
		}
	}
	digits := b.String()
	if len(digits) < minNumberLen || len(digits) > maxNumberLen {
		return "", "", fieldErr(FieldNumber, CodeInvalidNumber,
			"The card number must be between 12 and 19 digits long.")
	}
	brand := detectBrand(digits)
	if !brand.validLength(len(digits)) {
		return "", "", fieldErr(FieldNumber, CodeInvalidNumber,
			fmt.Sprintf("%s card numbers must be %s digits long.", brand.displayName(), brand.lengthHint()))
	}
	if !Luhn(digits) {
		return "", "", fieldErr(FieldNumber, CodeInvalidNumber,
			"The card number is not valid; please check it for typing mistakes.")
	}
	return digits, brand, nil
}

// detectBrand maps a digit string of at least 6 digits to its brand by IIN
// range. Order matters: the Discover range 622126-622925 lies inside
// UnionPay's 62.
func detectBrand(d string) Brand {
	p2, p3, p4, p6 := prefix(d, 2), prefix(d, 3), prefix(d, 4), prefix(d, 6)
	switch {
	case d[0] == '4':
		return Visa
	case p2 == 34 || p2 == 37:
		return Amex
	case (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720):
		return Mastercard
	case p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925):
		return Discover
	case p2 == 62:
		return UnionPay
	case p4 >= 3528 && p4 <= 3589:
		return JCB
	case (p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39:
		return Diners
	default:
		return Unknown
	}
}

// prefix returns the integer value of the first n digits of d, which must
// be all ASCII digits and at least n long.
func prefix(d string, n int) int {
	v := 0
	for i := 0; i < n; i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

func (b Brand) validLength(n int) bool {
	switch b {
	case Visa:
		return n == 13 || n == 16 || n == 19
	case Mastercard:
		return n == 16
	case Amex:
		return n == 15
	case Discover, JCB, UnionPay:
		return n >= 16 && n <= 19
	case Diners:
		return n >= 14 && n <= 19
	default:
		return n >= minNumberLen && n <= maxNumberLen
	}
}

func (b Brand) lengthHint() string {
	switch b {
	case Visa:
		return "13, 16 or 19"
	case Mastercard:
		return "16"
	case Amex:
		return "15"
	case Discover, JCB, UnionPay:
		return "16 to 19"
	case Diners:
		return "14 to 19"
	default:
		return "12 to 19"
	}
}

func (b Brand) displayName() string {
	switch b {
	case Visa:
		return "Visa"
	case Mastercard:
		return "Mastercard"
	case Amex:
		return "American Express"
	case Discover:
		return "Discover"
	case Diners:
		return "Diners Club"
	case JCB:
		return "JCB"
	case UnionPay:
		return "UnionPay"
	default:
		return "Unknown"
	}
}

func parseExpMonth(raw string) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, fieldErr(FieldExpMonth, CodeMissingExpMonth, "The card expiry month is required.")
	}
	// One or two digits, so "9" and "09" are both accepted.
	if len(raw) > 2 || !allDigits(raw) {
		return 0, invalidMonth()
	}
	m, _ := strconv.Atoi(raw) // cannot fail: 1-2 ASCII digits
	if m < 1 || m > 12 {
		return 0, invalidMonth()
	}
	return m, nil
}

func invalidMonth() error {
	return fieldErr(FieldExpMonth, CodeInvalidExpMonth, "The card expiry month must be a number from 1 to 12.")
}

func parseExpYear(raw string, nowYear int) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, fieldErr(FieldExpYear, CodeMissingExpYear, "The card expiry year is required.")
	}
	if (len(raw) != 2 && len(raw) != 4) || !allDigits(raw) {
		return 0, fieldErr(FieldExpYear, CodeInvalidExpYear,
			"The card expiry year must be a 4-digit year such as 2030, or a 2-digit year such as 30.")
	}
	y, _ := strconv.Atoi(raw) // cannot fail: 2 or 4 ASCII digits
	if len(raw) == 2 {
		y += 2000
	}
	if y > nowYear+maxYearsAhead {
		return 0, fieldErr(FieldExpYear, CodeInvalidExpYear,
			"The card expiry year must not be more than 50 years in the future.")
	}
	return y, nil
}

func validateCVV(raw string, brand Brand) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fieldErr(FieldCVV, CodeMissingCVV, "The card security code (CVV) is required.")
	}
	var ok bool
	switch brand {
	case Amex:
		ok = len(raw) == 4
	case Unknown:
		ok = len(raw) == 3 || len(raw) == 4
	default:
		ok = len(raw) == 3
	}
	if !ok || !allDigits(raw) {
		var msg string
		switch brand {
		case Amex:
			msg = "The card security code (CVV) must be exactly 4 digits for American Express cards."
		case Unknown:
			msg = "The card security code (CVV) must be 3 or 4 digits."
		default:
			msg = fmt.Sprintf("The card security code (CVV) must be exactly 3 digits for %s cards.", brand.displayName())
		}
		return "", fieldErr(FieldCVV, CodeInvalidCVV, msg)
	}
	return raw, nil
}

// Luhn reports whether digits is a non-empty string of ASCII digits that
// passes the Luhn (mod 10) check.
func Luhn(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false // every second digit from the right is doubled
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if !isDigit(c) {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Fingerprint is a keyed fingerprint of the card number:
// hex(HMAC-SHA256(key, number)). Same number and key give the same value.
// Pass the normalised Card.Number so that formatting differences do not
// change the fingerprint; the key must be secret, since card numbers have
// too little entropy for an unkeyed hash to hide them.
func Fingerprint(key []byte, number string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(number)) // hash.Hash.Write never returns an error
	return hex.EncodeToString(m.Sum(nil))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
