package card

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testNow is mid-March 2026 UTC; cards expiring 03/2026 are still valid.
var testNow = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

// withCheckDigit pads prefix with zeros to length-1 digits and appends the
// Luhn check digit, giving a Luhn-valid number of the given length.
func withCheckDigit(t testing.TB, prefix string, length int) string {
	t.Helper()
	body := prefix + strings.Repeat("0", length-1-len(prefix))
	for c := '0'; c <= '9'; c++ {
		if n := body + string(c); Luhn(n) {
			return n
		}
	}
	t.Fatalf("no check digit for %q", body)
	return ""
}

// describe prints every field of a Card, unmasked; only for test numbers.
func describe(c Card) string {
	return fmt.Sprintf("{Number:%q CVV:%q Brand:%q ExpMonth:%d ExpYear:%d}",
		c.Number, c.CVV, c.Brand, c.ExpMonth, c.ExpYear)
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"4242424242424242", true},
		{"79927398713", true},
		{"0", true},
		{"18", true},
		{"4242424242424241", false},
		{"79927398710", false},
		{"", false},
		{"4242 4242 4242 4242", false}, // Luhn itself takes digits only
		{"42a2", false},
		{"-18", false},
	}
	for _, tt := range tests {
		if got := Luhn(tt.in); got != tt.want {
			t.Errorf("Luhn(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestValidateBrands(t *testing.T) {
	tests := []struct {
		name   string
		number string
		cvv    string
		brand  Brand
	}{
		{"visa 4242", "4242424242424242", "123", Visa},
		{"visa 4111", "4111111111111111", "123", Visa},
		{"visa 4000 0002", "4000000000000002", "123", Visa},
		{"visa 13 digits", "4222222222222", "123", Visa},
		{"visa 19 digits", withCheckDigit(t, "4111", 19), "123", Visa},
		{"mastercard 5555", "5555555555554444", "123", Mastercard},
		{"mastercard 5105", "5105105105105100", "123", Mastercard},
		{"mastercard 2-series", "2223003122003222", "123", Mastercard},
		{"mastercard 2221 low bound", withCheckDigit(t, "2221", 16), "123", Mastercard},
		{"mastercard 2720 high bound", withCheckDigit(t, "2720", 16), "123", Mastercard},
		{"amex 378282", "378282246310005", "1234", Amex},
		{"amex 371449", "371449635398431", "1234", Amex},
		{"amex 34", withCheckDigit(t, "34", 15), "1234", Amex},
		{"discover 6011", "6011111111111117", "123", Discover},
		{"discover 6011 19 digits", withCheckDigit(t, "6011", 19), "123", Discover},
		{"discover 644", withCheckDigit(t, "644", 16), "123", Discover},
		{"discover 649", withCheckDigit(t, "649", 16), "123", Discover},
		{"discover 65", withCheckDigit(t, "65", 16), "123", Discover},
		{"discover 622126 low bound", withCheckDigit(t, "622126", 16), "123", Discover},
		{"discover 622925 high bound", withCheckDigit(t, "622925", 18), "123", Discover},
		{"diners 305693 (16)", "3056930009020004", "123", Diners},
		{"diners 36 (14)", "36227206271667", "123", Diners},
		{"diners 38", "38520000023237", "123", Diners},
		{"diners 300", withCheckDigit(t, "300", 19), "123", Diners},
		{"diners 39", withCheckDigit(t, "39", 16), "123", Diners},
		{"jcb 3566", "3566002020360505", "123", JCB},
		{"jcb 3530", "3530111333300000", "123", JCB},
		{"jcb 3528 low bound", withCheckDigit(t, "3528", 17), "123", JCB},
		{"jcb 3589 high bound", withCheckDigit(t, "3589", 19), "123", JCB},
		{"unionpay 62", "6200000000000005", "123", UnionPay},
		{"unionpay 622125 just below discover", withCheckDigit(t, "622125", 16), "123", UnionPay},
		{"unionpay 622926 just above discover", withCheckDigit(t, "622926", 19), "123", UnionPay},
		{"unknown 9, 12 digits", withCheckDigit(t, "9", 12), "123", Unknown},
		{"unknown 1, 19 digits, 4-digit cvv", withCheckDigit(t, "1", 19), "1234", Unknown},
		{"unknown 2720+1", withCheckDigit(t, "2721", 16), "123", Unknown},
		{"unknown 2220", withCheckDigit(t, "2220", 16), "123", Unknown},
		{"unknown 56", withCheckDigit(t, "56", 16), "123", Unknown},
		{"unknown 306 (not diners)", withCheckDigit(t, "306", 14), "123", Unknown},
		{"unknown 3527 (not jcb)", withCheckDigit(t, "3527", 16), "123", Unknown},
		{"unknown 6012 (not discover)", withCheckDigit(t, "6012", 16), "123", Unknown},
		{"unknown 643 (not discover)", withCheckDigit(t, "643", 16), "123", Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Number: tt.number, CVV: tt.cvv, ExpMonth: "12", ExpYear: "2030"}
			c, err := Validate(in, testNow)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want := Card{Number: tt.number, CVV: tt.cvv, Brand: tt.brand, ExpMonth: 12, ExpYear: 2030}
			if c != want {
				t.Errorf("Validate = %s, want %s", describe(c), describe(want))
			}
		})
	}
}

func TestValidateNormalisation(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want Card
	}{
		{
			name: "spaces",
			in:   Input{Number: "4242 4242 4242 4242", CVV: "123", ExpMonth: "12", ExpYear: "2030"},
			want: Card{Number: "4242424242424242", CVV: "123", Brand: Visa, ExpMonth: 12, ExpYear: 2030},
		},
		{
			name: "dashes",
			in:   Input{Number: "3782-822463-10005", CVV: "1234", ExpMonth: "1", ExpYear: "2027"},
			want: Card{Number: "378282246310005", CVV: "1234", Brand: Amex, ExpMonth: 1, ExpYear: 2027},
		},
		{
			name: "mixed separators and surrounding whitespace",
			in:   Input{Number: " 5555-5555 5555-4444\t", CVV: " 321 ", ExpMonth: " 7 ", ExpYear: " 2031 "},
			want: Card{Number: "5555555555554444", CVV: "321", Brand: Mastercard, ExpMonth: 7, ExpYear: 2031},
		},
		{
			name: "leading zero month",
			in:   Input{Number: "4111111111111111", CVV: "123", ExpMonth: "09", ExpYear: "2029"},
			want: Card{Number: "4111111111111111", CVV: "123", Brand: Visa, ExpMonth: 9, ExpYear: 2029},
		},
		{
			name: "two-digit year",
			in:   Input{Number: "4111111111111111", CVV: "123", ExpMonth: "9", ExpYear: "29"},
			want: Card{Number: "4111111111111111", CVV: "123", Brand: Visa, ExpMonth: 9, ExpYear: 2029},
		},
		{
			name: "leading zero CVV kept",
			in:   Input{Number: "4111111111111111", CVV: "007", ExpMonth: "12", ExpYear: "30"},
			want: Card{Number: "4111111111111111", CVV: "007", Brand: Visa, ExpMonth: 12, ExpYear: 2030},
		},
		{
			name: "expires this month",
			in:   Input{Number: "4242424242424242", CVV: "123", ExpMonth: "03", ExpYear: "2026"},
			want: Card{Number: "4242424242424242", CVV: "123", Brand: Visa, ExpMonth: 3, ExpYear: 2026},
		},
		{
			name: "expires this month, 2-digit year",
			in:   Input{Number: "4242424242424242", CVV: "123", ExpMonth: "3", ExpYear: "26"},
			want: Card{Number: "4242424242424242", CVV: "123", Brand: Visa, ExpMonth: 3, ExpYear: 2026},
		},
		{
			name: "exactly 50 years ahead",
			in:   Input{Number: "4242424242424242", CVV: "123", ExpMonth: "12", ExpYear: "2076"},
			want: Card{Number: "4242424242424242", CVV: "123", Brand: Visa, ExpMonth: 12, ExpYear: 2076},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Validate(tt.in, testNow)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got != tt.want {
				// %+v would print the masked form, so spell the fields out.
				t.Errorf("Validate = %s, want %s", describe(got), describe(tt.want))
			}
		})
	}
}

func TestValidateErrors(t *testing.T) {
	valid := Input{Number: "4242424242424242", CVV: "123", ExpMonth: "12", ExpYear: "2030"}
	with := func(f func(*Input)) Input {
		in := valid
		f(&in)
		return in
	}
	tests := []struct {
		name  string
		in    Input
		field string
		code  string
		msg   string // substring the message must contain, if set
	}{
		{"missing number", with(func(in *Input) { in.Number = "" }), FieldNumber, CodeMissingNumber, "required"},
		{"blank number", with(func(in *Input) { in.Number = "   " }), FieldNumber, CodeMissingNumber, ""},
		{"letters in number", with(func(in *Input) { in.Number = "4242x42424242424" }), FieldNumber, CodeInvalidNumber, "only digits"},
		{"dot in number", with(func(in *Input) { in.Number = "4242424242424242.0" }), FieldNumber, CodeInvalidNumber, ""},
		{"exponent number", with(func(in *Input) { in.Number = "4.242424242424242e15" }), FieldNumber, CodeInvalidNumber, ""},
		{"unicode digits", with(func(in *Input) { in.Number = "４２４２４２４２４２４２４２４２" }), FieldNumber, CodeInvalidNumber, ""},
		{"only separators", with(func(in *Input) { in.Number = "- -" }), FieldNumber, CodeInvalidNumber, "between 12 and 19"},
		{"too short", with(func(in *Input) { in.Number = withCheckDigit(t, "9", 11) }), FieldNumber, CodeInvalidNumber, "between 12 and 19"},
		{"too long", with(func(in *Input) { in.Number = withCheckDigit(t, "9", 20) }), FieldNumber, CodeInvalidNumber, "between 12 and 19"},
		{"luhn", with(func(in *Input) { in.Number = "4242424242424241" }), FieldNumber, CodeInvalidNumber, "not valid"},
		{"visa 14 digits", with(func(in *Input) { in.Number = withCheckDigit(t, "4", 14) }), FieldNumber, CodeInvalidNumber, "13, 16 or 19"},
		{"visa 12 digits", with(func(in *Input) { in.Number = withCheckDigit(t, "4", 12) }), FieldNumber, CodeInvalidNumber, "Visa"},
		{"mastercard 15", with(func(in *Input) { in.Number = withCheckDigit(t, "55", 15) }), FieldNumber, CodeInvalidNumber, "Mastercard card numbers must be 16"},
		{"mastercard 2-series 17", with(func(in *Input) { in.Number = withCheckDigit(t, "2223", 17) }), FieldNumber, CodeInvalidNumber, ""},
		{"amex 16", with(func(in *Input) { in.Number = withCheckDigit(t, "37", 16) }), FieldNumber, CodeInvalidNumber, "American Express card numbers must be 15"},
		{"discover 15", with(func(in *Input) { in.Number = withCheckDigit(t, "6011", 15) }), FieldNumber, CodeInvalidNumber, "16 to 19"},
		{"diners 13", with(func(in *Input) { in.Number = withCheckDigit(t, "36", 13) }), FieldNumber, CodeInvalidNumber, "14 to 19"},
		{"jcb 15", with(func(in *Input) { in.Number = withCheckDigit(t, "3566", 15) }), FieldNumber, CodeInvalidNumber, "JCB"},
		{"unionpay 15", with(func(in *Input) { in.Number = withCheckDigit(t, "62", 15) }), FieldNumber, CodeInvalidNumber, "UnionPay"},

		{"missing month", with(func(in *Input) { in.ExpMonth = "" }), FieldExpMonth, CodeMissingExpMonth, "required"},
		{"month 0", with(func(in *Input) { in.ExpMonth = "0" }), FieldExpMonth, CodeInvalidExpMonth, "1 to 12"},
		{"month 00", with(func(in *Input) { in.ExpMonth = "00" }), FieldExpMonth, CodeInvalidExpMonth, ""},
		{"month 13", with(func(in *Input) { in.ExpMonth = "13" }), FieldExpMonth, CodeInvalidExpMonth, ""},
		{"month 012", with(func(in *Input) { in.ExpMonth = "012" }), FieldExpMonth, CodeInvalidExpMonth, ""},
		{"month negative", with(func(in *Input) { in.ExpMonth = "-1" }), FieldExpMonth, CodeInvalidExpMonth, ""},
		{"month plus", with(func(in *Input) { in.ExpMonth = "+1" }), FieldExpMonth, CodeInvalidExpMonth, ""},
		{"month text", with(func(in *Input) { in.ExpMonth = "ab" }), FieldExpMonth, CodeInvalidExpMonth, ""},
		{"month float", with(func(in *Input) { in.ExpMonth = "1.0" }), FieldExpMonth, CodeInvalidExpMonth, ""},

		{"missing year", with(func(in *Input) { in.ExpYear = "" }), FieldExpYear, CodeMissingExpYear, "required"},
		{"year 1 digit", with(func(in *Input) { in.ExpYear = "7" }), FieldExpYear, CodeInvalidExpYear, "4-digit"},
		{"year 3 digits", with(func(in *Input) { in.ExpYear = "203" }), FieldExpYear, CodeInvalidExpYear, ""},
		{"year 5 digits", with(func(in *Input) { in.ExpYear = "20300" }), FieldExpYear, CodeInvalidExpYear, ""},
		{"year text", with(func(in *Input) { in.ExpYear = "20x0" }), FieldExpYear, CodeInvalidExpYear, ""},
		{"year 51 ahead", with(func(in *Input) { in.ExpYear = "2077" }), FieldExpYear, CodeInvalidExpYear, "50 years"},
		{"year far ahead", with(func(in *Input) { in.ExpYear = "9999" }), FieldExpYear, CodeInvalidExpYear, "50 years"},

		{"expired last month", with(func(in *Input) { in.ExpMonth = "02"; in.ExpYear = "2026" }), FieldExpYear, CodeExpired, "The card expired in 02/2026."},
		{"expired last month 2-digit", with(func(in *Input) { in.ExpMonth = "2"; in.ExpYear = "26" }), FieldExpYear, CodeExpired, "02/2026"},
		{"expired last year", with(func(in *Input) { in.ExpMonth = "12"; in.ExpYear = "2025" }), FieldExpYear, CodeExpired, "12/2025"},
		{"expired long ago", with(func(in *Input) { in.ExpMonth = "1"; in.ExpYear = "1999" }), FieldExpYear, CodeExpired, "01/1999"},

		{"missing cvv", with(func(in *Input) { in.CVV = "" }), FieldCVV, CodeMissingCVV, "required"},
		{"blank cvv", with(func(in *Input) { in.CVV = " " }), FieldCVV, CodeMissingCVV, ""},
		{"visa cvv 4 digits", with(func(in *Input) { in.CVV = "1234" }), FieldCVV, CodeInvalidCVV, "exactly 3 digits for Visa"},
		{"visa cvv 2 digits", with(func(in *Input) { in.CVV = "12" }), FieldCVV, CodeInvalidCVV, "3 digits"},
		{"cvv letters", with(func(in *Input) { in.CVV = "12a" }), FieldCVV, CodeInvalidCVV, "3 digits"},
		{"amex cvv 3 digits", with(func(in *Input) { in.Number = "378282246310005"; in.CVV = "123" }), FieldCVV, CodeInvalidCVV, "exactly 4 digits for American Express"},
		{"mastercard cvv 4", with(func(in *Input) { in.Number = "5555555555554444"; in.CVV = "1234" }), FieldCVV, CodeInvalidCVV, "Mastercard"},
		{"unknown cvv 5", with(func(in *Input) { in.Number = withCheckDigit(t, "9", 16); in.CVV = "12345" }), FieldCVV, CodeInvalidCVV, "3 or 4 digits"},
		{"unknown cvv 2", with(func(in *Input) { in.Number = withCheckDigit(t, "9", 16); in.CVV = "12" }), FieldCVV, CodeInvalidCVV, "3 or 4 digits"},

		// Validation order: number, month, year, expiry, CVV.
		{"order: number before month", Input{Number: "1", ExpMonth: "13"}, FieldNumber, CodeInvalidNumber, ""},
		{"order: month before year", with(func(in *Input) { in.ExpMonth = "13"; in.ExpYear = "x" }), FieldExpMonth, CodeInvalidExpMonth, ""},
		{"order: year before cvv", with(func(in *Input) { in.ExpYear = "x"; in.CVV = "" }), FieldExpYear, CodeInvalidExpYear, ""},
		{"order: expired before cvv", with(func(in *Input) { in.ExpYear = "2020"; in.CVV = "" }), FieldExpYear, CodeExpired, ""},
		{"order: all missing", Input{}, FieldNumber, CodeMissingNumber, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Validate(tt.in, testNow)
			if err == nil {
				t.Fatalf("Validate succeeded (%v), want %s", c, tt.code)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError", err)
			}
			if fe.Field != tt.field || fe.Code != tt.code {
				t.Errorf("got %s/%s (%q), want %s/%s", fe.Field, fe.Code, fe.Message, tt.field, tt.code)
			}
			if tt.msg != "" && !strings.Contains(fe.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", fe.Message, tt.msg)
			}
			if fe.Message == "" || !strings.HasSuffix(fe.Message, ".") {
				t.Errorf("message %q should be a sentence", fe.Message)
			}
			if got, want := fe.Error(), fe.Field+": "+fe.Message; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
			if c != (Card{}) {
				t.Errorf("Card on error is not zero")
			}
			assertNoLeak(t, tt.in, fe.Message)
			assertNoLeak(t, tt.in, fe.Error())
		})
	}
}

// assertNoLeak checks that s contains neither the CVV nor the card number,
// raw or normalised, nor any 6-digit run of the number. The last check is
// sound because messages never contain a run of more than 4 digits (the
// only long run is a year), which is asserted as well.
func assertNoLeak(t testing.TB, in Input, s string) {
	t.Helper()
	if run := longestDigitRun(s); run > 4 {
		t.Errorf("%q contains a run of %d digits", s, run)
	}
	if cvv := strings.TrimSpace(in.CVV); len(cvv) >= 3 && strings.Contains(s, cvv) {
		t.Errorf("%q contains the CVV %q", s, cvv)
	}
	if n := strings.TrimSpace(in.Number); len(n) >= 6 && strings.Contains(s, n) {
		t.Errorf("%q contains the card number", s)
	}
	digits := strings.NewReplacer(" ", "", "-", "").Replace(in.Number)
	for i := 0; i+6 <= len(digits); i++ {
		if strings.Contains(s, digits[i:i+6]) {
			t.Errorf("%q contains part of the card number", s)
			break
		}
	}
}

func longestDigitRun(s string) int {
	longest, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			cur++
			longest = max(longest, cur)
		} else {
			cur = 0
		}
	}
	return longest
}

func TestValidateUsesUTC(t *testing.T) {
	in := Input{Number: "4242424242424242", CVV: "123", ExpMonth: "03", ExpYear: "2026"}

	// 1 April 01:00 at UTC+5 is still 31 March in UTC: a 03/2026 card is valid.
	east := time.FixedZone("UTC+5", 5*60*60)
	if _, err := Validate(in, time.Date(2026, time.April, 1, 1, 0, 0, 0, east)); err != nil {
		t.Errorf("card expiring this UTC month rejected: %v", err)
	}
	// 31 March 22:00 at UTC-5 is already 1 April in UTC: the card expired.
	west := time.FixedZone("UTC-5", -5*60*60)
	_, err := Validate(in, time.Date(2026, time.March, 31, 22, 0, 0, 0, west))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Code != CodeExpired || fe.Message != "The card expired in 03/2026." {
		t.Errorf("got %v, want expired-card 03/2026", err)
	}
	// Last instant of the expiry month is still fine; first of next is not.
	if _, err := Validate(in, time.Date(2026, time.March, 31, 23, 59, 59, 999999999, time.UTC)); err != nil {
		t.Errorf("last instant of expiry month rejected: %v", err)
	}
	if _, err := Validate(in, time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Errorf("first instant after expiry month accepted")
	}
}

func TestCardAccessors(t *testing.T) {
	tests := []struct {
		number, bin, last4, masked string
	}{
		{"4242424242424242", "424242", "4242", "************4242"},
		{"378282246310005", "378282", "0005", "***********0005"},
		{"36227206271667", "362272", "1667", "**********1667"},
		{"4111111111111111110", "411111", "1110", "***************1110"},
		{"", "", "", ""},
		{"123", "", "", "***"},
	}
	for _, tt := range tests {
		c := Card{Number: tt.number}
		if got := c.BIN(); got != tt.bin {
			t.Errorf("BIN(%q) = %q, want %q", tt.number, got, tt.bin)
		}
		if got := c.Last4(); got != tt.last4 {
			t.Errorf("Last4(%q) = %q, want %q", tt.number, got, tt.last4)
		}
		if got := c.Masked(); got != tt.masked {
			t.Errorf("Masked(%q) = %q, want %q", tt.number, got, tt.masked)
		}
	}
}

func TestCardFormattingMasks(t *testing.T) {
	c, err := Validate(Input{Number: "4242 4242 4242 4242", CVV: "737", ExpMonth: "12", ExpYear: "2030"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "visa ************4242"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	wantGo := `card.Card{Number:"************4242", CVV:"***", Brand:"visa", ExpMonth:12, ExpYear:2030}`
	if got := c.GoString(); got != wantGo {
		t.Errorf("GoString() = %q, want %q", got, wantGo)
	}

	type wrapper struct {
		Card  Card
		Ptr   *Card
		Cards []Card
	}
	w := wrapper{Card: c, Ptr: &c, Cards: []Card{c}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10v", "%-30s", "%#q", "%+q"} {
		for _, v := range []any{c, &c, w, &w, []Card{c}, map[string]Card{"k": c}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, c.Number) || strings.Contains(out, c.BIN()) || strings.Contains(out, c.CVV) {
				t.Errorf("fmt %s of %T leaks card data: %s", verb, v, out)
			}
		}
	}
	for verb, want := range map[string]string{
		"%v":    "visa ************4242",
		"%+v":   "visa ************4242",
		"%s":    "visa ************4242",
		"%q":    `"visa ************4242"`,
		"%#v":   wantGo,
		"%d":    "%!d(card.Card=visa ************4242)",
		"%25v":  "    visa ************4242",
		"%-25s": "visa ************4242    ",
	} {
		if got := fmt.Sprintf(verb, c); got != want {
			t.Errorf("Sprintf(%q) = %q, want %q", verb, got, want)
		}
	}
	if got := fmt.Sprint(c); got != "visa ************4242" {
		t.Errorf("Sprint = %q", got)
	}
	if got := fmt.Sprintf("%v", Card{}); got != "unknown " {
		t.Errorf("zero Card %%v = %q", got)
	}
	if got := fmt.Sprintf("%v", (*Card)(nil)); got != "<nil>" {
		t.Errorf("nil *Card %%v = %q", got)
	}

	// JSON encoding (e.g. by a structured logger) is masked too.
	for _, v := range []any{c, &c, w} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.Contains(s, c.Number) || strings.Contains(s, c.BIN()) || strings.Contains(s, c.CVV) {
			t.Errorf("json of %T leaks card data: %s", v, s)
		}
	}
	b, _ := json.Marshal(c)
	if got, want := string(b), `{"brand":"visa","masked":"************4242","exp_month":12,"exp_year":2030}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
}

func TestFingerprint(t *testing.T) {
	key1 := []byte("key-one")
	key2 := []byte("key-two")
	a := Fingerprint(key1, "4242424242424242")
	if a != Fingerprint(key1, "4242424242424242") {
		t.Error("fingerprint not deterministic")
	}
	if len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("fingerprint %q is not 64 lowercase hex chars", a)
	}
	if a == Fingerprint(key2, "4242424242424242") {
		t.Error("fingerprint does not depend on the key")
	}
	if a == Fingerprint(key1, "4111111111111111") {
		t.Error("fingerprint does not depend on the number")
	}
	// RFC 4231 test case 2: HMAC-SHA256 of "what do ya want for nothing?" with key "Jefe".
	const want = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	if got := Fingerprint([]byte("Jefe"), "what do ya want for nothing?"); got != want {
		t.Errorf("Fingerprint RFC 4231 vector = %s, want %s", got, want)
	}
}
