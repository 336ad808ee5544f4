package card

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
)

func FuzzValidate(f *testing.F) {
	seeds := []Input{
		{Number: "4242424242424242", CVV: "123", ExpMonth: "12", ExpYear: "2030"},
		{Number: "4242 4242-4242 4242", CVV: " 123 ", ExpMonth: "09", ExpYear: "29"},
		{Number: "378282246310005", CVV: "1234", ExpMonth: "3", ExpYear: "2026"},
		{Number: "6011111111111117", CVV: "202", ExpMonth: "1", ExpYear: "2020"},
		{Number: "6200000000000005", CVV: "abc", ExpMonth: "13", ExpYear: "2030"},
		{Number: "36227206271667", CVV: "12", ExpMonth: "0", ExpYear: "7"},
		{Number: "3566002020360505", CVV: "", ExpMonth: "", ExpYear: ""},
		{Number: "4242424242424241", CVV: "123", ExpMonth: "12", ExpYear: "2030"},
		{Number: "900000000001", CVV: "1234", ExpMonth: "12", ExpYear: "9999"},
		{Number: "4.242424242424242e15", CVV: "The", ExpMonth: "-1", ExpYear: "+30"},
		{Number: "", CVV: "", ExpMonth: "", ExpYear: ""},
		{Number: "\xff\xfe", CVV: "\u00a0123\u00a0", ExpMonth: "\t", ExpYear: "２０３０"},
	}
	for _, s := range seeds {
		f.Add(s.Number, s.CVV, s.ExpMonth, s.ExpYear)
	}
	f.Fuzz(func(t *testing.T, number, cvv, month, year string) {
		in := Input{Number: number, CVV: cvv, ExpMonth: month, ExpYear: year}
		c, err := Validate(in, testNow)

		// Validation may only look at the CVV's shape (empty, digits, length),
		// never at its digits, so a same-shape CVV must give the same result.
		altIn := in
		altIn.CVV = sameShape(cvv)
		altC, altErr := Validate(altIn, testNow)

		if err == nil {
			checkValidCard(t, in, c)
			if altErr != nil {
				t.Fatalf("same-shape CVV rejected: %v", altErr)
			}
			// Printing must not depend on the CVV at all.
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				if fmt.Sprintf(verb, c) != fmt.Sprintf(verb, altC) {
					t.Fatalf("%s output depends on the CVV", verb)
				}
			}
			return
		}

		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error %T (%v) is not a *FieldError", err, err)
		}
		if c != (Card{}) {
			t.Fatal("non-zero Card returned with an error")
		}
		checkFieldError(t, fe)

		var altFE *FieldError
		if !errors.As(altErr, &altFE) || *altFE != *fe {
			t.Fatalf("error depends on the CVV's digits: %v vs %v", err, altErr)
		}
		// Redundant given the equality above, but states the property
		// directly: a CVV found in the message must be there regardless of
		// the CVV supplied (e.g. "The" or "202" within "2026"), i.e. it is
		// part of the message text rather than copied from the input.
		if tc := strings.TrimSpace(cvv); len(tc) >= 3 && strings.Contains(fe.Message, tc) &&
			!strings.Contains(altFE.Message, tc) {
			t.Fatalf("message %q contains the CVV", fe.Message)
		}

		checkNumberNotLeaked(t, number, fe.Message)
		checkNumberNotLeaked(t, number, fe.Error())
	})
}

func checkValidCard(t *testing.T, in Input, c Card) {
	t.Helper()
	if !allDigits(c.Number) || len(c.Number) < minNumberLen || len(c.Number) > maxNumberLen {
		t.Fatalf("Number %q is not 12-19 digits", c.Number)
	}
	if !Luhn(c.Number) {
		t.Fatalf("Number %q fails Luhn", c.Number)
	}
	if want := strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(in.Number)); c.Number != want {
		t.Fatalf("Number %q is not the input %q without separators", c.Number, in.Number)
	}
	switch c.Brand {
	case Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay, Unknown:
	default:
		t.Fatalf("unexpected Brand %q", c.Brand)
	}
	if c.Brand != detectBrand(c.Number) || !c.Brand.validLength(len(c.Number)) {
		t.Fatalf("Brand %q inconsistent with number %q", c.Brand, c.Number)
	}
	if !allDigits(c.CVV) || c.CVV != strings.TrimSpace(in.CVV) {
		t.Fatalf("CVV %q is not the digits-only input %q", c.CVV, in.CVV)
	}
	switch l := len(c.CVV); {
	case c.Brand == Amex && l != 4,
		c.Brand == Unknown && l != 3 && l != 4,
		c.Brand != Amex && c.Brand != Unknown && l != 3:
		t.Fatalf("CVV length %d invalid for %s", l, c.Brand)
	}
	if c.ExpMonth < 1 || c.ExpMonth > 12 {
		t.Fatalf("ExpMonth %d out of range", c.ExpMonth)
	}
	y, m := testNow.Year(), int(testNow.Month())
	if c.ExpYear < y || (c.ExpYear == y && c.ExpMonth < m) || c.ExpYear > y+maxYearsAhead {
		t.Fatalf("expiry %02d/%d accepted at %v", c.ExpMonth, c.ExpYear, testNow)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d"} {
		out := fmt.Sprintf(verb, c)
		// A digit run longer than 4 (last four or a year) would be part of
		// the number; this also rules out the BIN and the full number.
		if strings.Contains(out, c.Number) || longestDigitRun(out) > 4 {
			t.Fatalf("%s output %q reveals the card number", verb, out)
		}
	}
}

func checkFieldError(t *testing.T, fe *FieldError) {
	t.Helper()
	codes := map[string][]string{
		FieldNumber:   {CodeMissingNumber, CodeInvalidNumber},
		FieldExpMonth: {CodeMissingExpMonth, CodeInvalidExpMonth},
		FieldExpYear:  {CodeMissingExpYear, CodeInvalidExpYear, CodeExpired},
		FieldCVV:      {CodeMissingCVV, CodeInvalidCVV},
	}
	allowed, ok := codes[fe.Field]
	if !ok {
		t.Fatalf("unexpected Field %q", fe.Field)
	}
	found := false
	for _, code := range allowed {
		found = found || code == fe.Code
	}
	if !found {
		t.Fatalf("unexpected Code %q for Field %q", fe.Code, fe.Field)
	}
	if fe.Message == "" {
		t.Fatal("empty Message")
	}
}

// checkNumberNotLeaked asserts s reveals no part of the card number when the
// number has at least 6 digits. Messages never hold a run of more than 4
// digits (only a year is that long), so any 6 consecutive digits of the
// number cannot appear; the input itself is checked too when it looks like
// a card number (digits and separators only).
func checkNumberNotLeaked(t *testing.T, number, s string) {
	t.Helper()
	if run := longestDigitRun(s); run > 4 {
		t.Fatalf("%q contains a run of %d digits", s, run)
	}
	trimmed := strings.TrimSpace(number)
	digits := strings.NewReplacer(" ", "", "-", "").Replace(trimmed)
	if len(digits) < 6 || !allDigits(digits) {
		return
	}
	if strings.Contains(s, trimmed) || strings.Contains(s, digits) {
		t.Fatalf("%q contains the card number", s)
	}
}

// sameShape returns s with every digit changed and every other non-space
// rune replaced by a different non-space ASCII letter, keeping whitespace,
// so that it trims to empty, is all digits and (for all-digit strings) has
// the same length exactly when s does.
func sameShape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune('0' + (r-'0'+5)%10)
		case unicode.IsSpace(r):
			b.WriteRune(r)
		case r == 'x':
			b.WriteRune('y')
		default:
			b.WriteRune('x')
		}
	}
	return b.String()
}
