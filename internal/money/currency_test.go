package money

import (
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestLookupCurrency(t *testing.T) {
	tests := []struct {
		in   string
		code string
		ok   bool
	}{
		{"USD", "USD", true},
		{"usd", "USD", true},
		{"Usd", "USD", true},
		{"uSd", "USD", true},
		{"EUR", "EUR", true},
		{"eur", "EUR", true},
		{"jpy", "JPY", true},
		{"GBP", "GBP", true},
		{"CHF", "CHF", true},
		{"XCD", "XCD", true},
		{"XAF", "XAF", true},
		{"XOF", "XOF", true},
		{"XPF", "XPF", true},
		{"XCG", "XCG", true},
		{"ZWG", "ZWG", true},
		{"SLE", "SLE", true},
		{"VES", "VES", true},
		{"VED", "VED", true},
		{"CLF", "CLF", true},
		{"UYW", "UYW", true},

		// Unknown, malformed or not active.
		{"ABC", "", false},
		{"", "", false},
		{"US", "", false},
		{"U", "", false},
		{"USDD", "", false},
		{" USD", "", false},
		{"USD ", "", false},
		{"U$D", "", false},
		{"123", "", false},
		{"ÜSD", "", false},
		{"\xffSD", "", false},
		{"XAU", "", false}, // precious metals
		{"XAG", "", false},
		{"XPT", "", false},
		{"XPD", "", false},
		{"XTS", "", false}, // testing
		{"XXX", "", false}, // no currency
		{"XBA", "", false}, // bond market units
		{"XBB", "", false},
		{"XBC", "", false},
		{"XBD", "", false},
		{"XDR", "", false}, // SDR
		{"XSU", "", false},
		{"XUA", "", false},
		{"XAD", "", false},
		{"HRK", "", false}, // withdrawn
		{"ANG", "", false},
		{"BGN", "", false},
		{"CUC", "", false},
		{"SLL", "", false},
		{"ZWL", "", false},
		{"DEM", "", false},
		{"VEF", "", false},
		{"MRO", "", false},
		{"STD", "", false},
	}
	for _, tt := range tests {
		c, ok := LookupCurrency(tt.in)
		if ok != tt.ok || c.Code != tt.code {
			t.Errorf("LookupCurrency(%q) = %+v, %v; want code %q, %v", tt.in, c, ok, tt.code, tt.ok)
		}
		if !ok && c != (Currency{}) {
			t.Errorf("LookupCurrency(%q) = %+v on failure; want zero Currency", tt.in, c)
		}
	}
}

func TestUSDVar(t *testing.T) {
	c, ok := LookupCurrency("usd")
	if !ok || c != USD {
		t.Fatalf("LookupCurrency(usd) = %+v, %v; want %+v", c, ok, USD)
	}
}

func TestExponents(t *testing.T) {
	tests := map[string]int{
		// Zero decimals.
		"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "UGX": 0, "PYG": 0,
		"BIF": 0, "DJF": 0, "GNF": 0, "KMF": 0, "RWF": 0, "VUV": 0, "UYI": 0,
		"XAF": 0, "XOF": 0, "XPF": 0,
		// Three decimals.
		"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "LYD": 3, "IQD": 3,
		// Four decimals.
		"CLF": 4, "UYW": 4,
		// Two decimals.
		"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CNY": 2, "INR": 2, "CAD": 2,
		"AUD": 2, "MXN": 2, "BRL": 2, "HUF": 2, "IDR": 2, "TWD": 2, "MGA": 2,
		"MRU": 2, "XCD": 2, "XCG": 2, "ZWG": 2, "COU": 2, "BOV": 2, "USN": 2,
	}
	for code, want := range tests {
		c, ok := LookupCurrency(code)
		if !ok {
			t.Errorf("LookupCurrency(%q) failed", code)
			continue
		}
		if c.Exponent != want {
			t.Errorf("%s exponent = %d, want %d", code, c.Exponent, want)
		}
	}
}

func TestTable(t *testing.T) {
	if len(currencies) != 164 {
		t.Errorf("currencies has %d entries, want 164", len(currencies))
	}
	for i, c := range currencies {
		if len(c.Code) != 3 || strings.ToUpper(c.Code) != c.Code || strings.Trim(c.Code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Errorf("bad code %q", c.Code)
		}
		if i > 0 && currencies[i-1].Code >= c.Code {
			t.Errorf("table not sorted at %s, %s", currencies[i-1].Code, c.Code)
		}
		switch c.Exponent {
		case 0, 2, 3, 4:
		default:
			t.Errorf("%s: unexpected exponent %d", c.Code, c.Exponent)
		}
		if c.Name == "" {
			t.Errorf("%s: empty name", c.Code)
		}
		got, ok := LookupCurrency(strings.ToLower(c.Code))
		if !ok || got != c {
			t.Errorf("LookupCurrency(%q) = %+v, %v; want %+v", strings.ToLower(c.Code), got, ok, c)
		}
	}
}

func TestFormat(t *testing.T) {
	jpy, _ := LookupCurrency("JPY")
	bhd, _ := LookupCurrency("BHD")
	clf, _ := LookupCurrency("CLF")
	tests := []struct {
		amount int64
		c      Currency
		want   string
	}{
		{123456, USD, "1234.56"},
		{-5, USD, "-0.05"},
		{1000, jpy, "1000"},
		{1, bhd, "0.001"},

		{0, USD, "0.00"},
		{1, USD, "0.01"},
		{-1, USD, "-0.01"},
		{10, USD, "0.10"},
		{99, USD, "0.99"},
		{100, USD, "1.00"},
		{-100, USD, "-1.00"},
		{101, USD, "1.01"},
		{-123456, USD, "-1234.56"},
		{0, jpy, "0"},
		{-1, jpy, "-1"},
		{-1000, jpy, "-1000"},
		{0, bhd, "0.000"},
		{-1, bhd, "-0.001"},
		{1000, bhd, "1.000"},
		{123456, bhd, "123.456"},
		{1, clf, "0.0001"},
		{12345, clf, "1.2345"},
		{-99999, clf, "-9.9999"},

		{math.MaxInt64, USD, "92233720368547758.07"},
		{math.MinInt64, USD, "-92233720368547758.08"},
		{math.MinInt64 + 1, USD, "-92233720368547758.07"},
		{math.MaxInt64, jpy, "9223372036854775807"},
		{math.MinInt64, jpy, "-9223372036854775808"},
		{math.MaxInt64, bhd, "9223372036854775.807"},
		{math.MinInt64, bhd, "-9223372036854775.808"},
		{math.MaxInt64, clf, "922337203685477.5807"},
		{math.MinInt64, clf, "-922337203685477.5808"},

		// Exponent wider than the number of digits, and out-of-range exponents.
		{math.MaxInt64, Currency{Code: "T19", Exponent: 19}, "0.9223372036854775807"},
		{math.MinInt64, Currency{Code: "T19", Exponent: 19}, "-0.9223372036854775808"},
		{5, Currency{Code: "T21", Exponent: 21}, "0.000000000000000000005"},
		{-5, Currency{Code: "NEG", Exponent: -2}, "-5"},
		{7, Currency{}, "7"},
	}
	for _, tt := range tests {
		if got := Format(tt.amount, tt.c); got != tt.want {
			t.Errorf("Format(%d, %s/%d) = %q, want %q", tt.amount, tt.c.Code, tt.c.Exponent, got, tt.want)
		}
	}
}

// TestFormatDigits checks, for every exponent in use, that removing the
// decimal point from Format's output gives back the integer amount.
func TestFormatDigits(t *testing.T) {
	amounts := []int64{0, 1, -1, 9, -9, 10, 99, 100, 1001, -12345, 1 << 40, -(1 << 53) - 1, math.MaxInt64, math.MinInt64}
	for _, exp := range []int{0, 1, 2, 3, 4} {
		c := Currency{Code: "TST", Exponent: exp}
		for _, a := range amounts {
			s := Format(a, c)
			if exp > 0 {
				i := strings.IndexByte(s, '.')
				if i < 0 || len(s)-i-1 != exp {
					t.Errorf("Format(%d, exp %d) = %q: want exactly %d fraction digits", a, exp, s, exp)
					continue
				}
				if whole := strings.TrimPrefix(s[:i], "-"); whole == "" || (len(whole) > 1 && whole[0] == '0') {
					t.Errorf("Format(%d, exp %d) = %q: malformed integer part", a, exp, s)
				}
			} else if strings.Contains(s, ".") {
				t.Errorf("Format(%d, exp 0) = %q: unexpected decimal point", a, s)
			}
			back, err := strconv.ParseInt(strings.Replace(s, ".", "", 1), 10, 64)
			if err != nil || back != a {
				t.Errorf("Format(%d, exp %d) = %q does not round-trip (%d, %v)", a, exp, s, back, err)
			}
		}
	}
}

func TestAddRefusesOverflow(t *testing.T) {
	for _, tc := range []struct {
		a, b, sum int64
		ok        bool
	}{
		{1, 2, 3, true}, {math.MaxInt64, 0, math.MaxInt64, true}, {math.MaxInt64, 1, 0, false},
		{math.MinInt64, -1, 0, false}, {-5, 3, -2, true}, {math.MaxInt64 - 10, 10, math.MaxInt64, true},
		{9_000_000_000_000_000_000, 1_000_000_000_000_000_000, 0, false}, // ~996,000 charges of 10^13, then one more batch
	} {
		if sum, ok := Add(tc.a, tc.b); sum != tc.sum || ok != tc.ok {
			t.Errorf("Add(%d, %d) = %d, %v; want %d, %v", tc.a, tc.b, sum, ok, tc.sum, tc.ok)
		}
	}
}
