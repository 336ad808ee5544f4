package portal

import (
	"bytes"
	"encoding/csv"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// TestSafeCell: cells that a spreadsheet would read as a formula get a
// leading quote; others are kept as they are.
func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+44 20": "'+44 20", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"": "", "SO-1042": "SO-1042", "a=b": "a=b", "ann@example.com": "ann@example.com", "'quoted": "'quoted",
	} {
		if got := safeCell(in); got != want {
			t.Errorf("safeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCSVQuoting: a row with commas, quotes, line breaks and formulas
// reads back as written (RFC 4180), amounts in major units.
func TestCSVQuoting(t *testing.T) {
	var buf bytes.Buffer
	w := newCSVWriter(&buf)
	if err := w.header(); err != nil {
		t.Fatal(err)
	}
	p := gateway.Payment{ID: "2SFLDILLXC64P5R", Environment: gateway.Sandbox, Status: gateway.StatusCaptured, Currency: "BHD",
		AuthorizedAmount: 1234567, CapturedAmount: 1234567, RefundedAmount: 5, OrderID: `SO "1", part 2`,
		Card: gateway.CardSummary{Brand: "visa", Last4: "4242"}, Customer: gateway.Customer{Email: "a@b.example", FirstName: "=cmd|' /C calc'!A0", LastName: "Lee\nJr"},
		CheckoutReference: "-ref", CreatedAt: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	if err := w.payment(p); err != nil {
		t.Fatal(err)
	}
	w.flush()
	if !strings.Contains(buf.String(), "\r\n") {
		t.Error("lines do not end in CRLF")
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%v, %d rows", err, len(rows))
	}
	r := rows[1]
	want := map[int]string{0: "2026-12-05T08:00:00Z", 4: `SO "1", part 2`, 5: "BHD", 6: "1234.567", 7: "1234.567", 8: "0.005",
		12: "'=cmd|' /C calc'!A0", 13: "Lee\nJr", 17: "'-ref"}
	for i, v := range want {
		if r[i] != v {
			t.Errorf("column %s = %q, want %q", csvColumns[i], r[i], v)
		}
	}
}

// TestParseAmount: major units to minor units exactly, or a clear refusal.
func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in, currency string
		want         int64
		ok           bool
	}{
		{"12.50", "USD", 1250, true}, {"12.5", "USD", 1250, true}, {"12", "USD", 1200, true}, {"1,234.56", "USD", 123456, true},
		{" 0.01 ", "USD", 1, true}, {".5", "USD", 50, true}, {"1000", "JPY", 1000, true}, {"1.234", "BHD", 1234, true},
		{"12.345", "USD", 0, false}, {"1.5", "JPY", 0, false}, {"-1", "USD", 0, false}, {"+1", "USD", 0, false}, {"1e3", "USD", 0, false},
		{"0", "USD", 0, false}, {"0.00", "USD", 0, false}, {"", "USD", 0, false}, {".", "USD", 0, false}, {"abc", "USD", 0, false},
		{"99999999999999999999", "USD", 0, false}, {"100000000000.01", "USD", 0, false}, {"１２", "USD", 0, false},
	} {
		got, err := parseAmount(tc.in, tc.currency)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d, ok %t", tc.in, tc.currency, got, err, tc.want, tc.ok)
		}
	}
}

// TestParseFilter: the list's query becomes the store's filter; the day
// range includes its last day.
func TestParseFilter(t *testing.T) {
	q := url.Values{"from": {"2026-12-01"}, "to": {"2026-12-05"}, "status": {"captured"}, "operation": {"refund"}, "min": {"10"},
		"max": {"20.50"}, "order_id": {" SO-1 "}, "email": {"Ann@Example.com"}, "last4": {"4242"}, "before": {"2026-12-05T08:00:00Z~2SFLDILLXC64P5R"}}
	_, f, err := parseFilter(q, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if !f.From.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !f.To.Equal(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)) ||
		f.Status != gateway.StatusCaptured || f.Operation != gateway.OpRefund || f.MinAmount != 1000 || f.MaxAmount != 2050 ||
		f.OrderID != "SO-1" || f.Email != "ann@example.com" || f.Last4 != "4242" || f.Before == nil || f.Before.ID != "2SFLDILLXC64P5R" {
		t.Errorf("filter: %+v", f)
	}
	for _, bad := range []url.Values{{"from": {"12/01/2026"}}, {"status": {"lost"}}, {"operation": {"steal"}}, {"last4": {"42"}},
		{"last4": {"abcd"}}, {"min": {"1.234"}}, {"before": {"yesterday"}}} {
		if _, _, err := parseFilter(bad, "USD"); err == nil {
			t.Errorf("parseFilter(%v) accepted", bad)
		}
	}
}
