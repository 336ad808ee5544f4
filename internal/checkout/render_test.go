package checkout

import (
	"strings"
	"testing"
)

func TestSuccessURL(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"https://shop.example/ok", "https://shop.example/ok?payment_id=P1"},
		{"https://shop.example/ok?order=42", "https://shop.example/ok?order=42&payment_id=P1"},
		{"https://shop.example/ok?b=2&a=%20x", "https://shop.example/ok?b=2&a=%20x&payment_id=P1"},
		{"https://shop.example/ok?", "https://shop.example/ok?payment_id=P1"},
		{"https://shop.example/ok?a=1&", "https://shop.example/ok?a=1&payment_id=P1"},
		{"https://shop.example/ok?a=1#top", "https://shop.example/ok?a=1&payment_id=P1#top"},
		{"http://127.0.0.1:9999/ok#x?y", "http://127.0.0.1:9999/ok?payment_id=P1#x?y"},
	} {
		if got := successURL(tc.base, "P1"); got != tc.want {
			t.Errorf("successURL(%q) = %q, want %q", tc.base, got, tc.want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		amount int64
		code   string
		want   string
	}{
		{3309, "USD", "$33.09"},
		{100, "USD", "$1.00"},
		{123456789, "USD", "$1,234,567.89"},
		{1000, "JPY", "¥1,000"},
		{1234567, "BHD", "1,234.567 BHD"},
		{5, "EUR", "€0.05"},
		{10_000_000_000_000, "USD", "$100,000,000,000.00"},
	} {
		if got := formatMoney(tc.amount, tc.code); got != tc.want {
			t.Errorf("formatMoney(%d, %s) = %q, want %q", tc.amount, tc.code, got, tc.want)
		}
	}
}

// TestCountries: the kept country is selected, and only a real code is.
func TestCountries(t *testing.T) {
	if got := string(countries("DE")); !strings.Contains(got, `<option value="DE" selected>Germany</option>`) || strings.Contains(countryOptions, "selected") {
		t.Error("DE is not selected, or the shared list changed")
	}
	for _, code := range []string{"", "XX", `US"><script>`} {
		if got := string(countries(code)); got != countryOptions {
			t.Errorf("countries(%q) changed the list", code)
		}
	}
}
