package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// lookupAnswerFor builds an answer whose every text field is one of texts,
// in turn, and whose numbers come from n, with or without the omitempty
// fields and transactions.
func lookupAnswerFor(texts []string, n int64, full bool) lookupAnswer {
	i := 0
	next := func() string { i++; return texts[i%len(texts)] }
	p := gateway.Payment{ID: next(), Status: gateway.Status(next()), Environment: gateway.Environment(next()), Currency: next(),
		AuthorizedAmount: n, CapturedAmount: n / 2, RefundedAmount: n / 3, OrderID: next(), Source: next(),
		Card:     gateway.CardSummary{Brand: next(), BIN: next(), Last4: next(), ExpMonth: int(n % 13), ExpYear: int(n % 3000)},
		Customer: gateway.Customer{FirstName: next(), LastName: next(), Email: next(), Phone: next(), Address: next(), City: next(), State: next(), Zip: next(), Country: next()},
		AVSCode:  next(), CVVCode: next(),
		ThreeDS:   gateway.ThreeDS{CAVV: next(), Validated: next(), TransactionID: next(), ServerTransactionID: next(), Version: next(), PaResStatus: next()},
		CreatedAt: time.Unix(n%4e9, 0), UpdatedAt: time.Unix(n%4e9+1, 0),
	}
	if full {
		p.DeclineCode, p.BatchID, p.SettledAt = next(), next(), time.Unix(n%4e9+2, 0)
		p.CheckoutSessionID, p.CheckoutReference = next()+"x", next()
		p.Transactions = []gateway.Transaction{
			{ID: next(), Operation: gateway.Operation(next()), Result: gateway.Result(next()), Amount: -n, CreatedAt: time.Unix(n%4e9, 0)},
			{ID: next(), Operation: gateway.Operation(next()), Result: gateway.Result(next()), Amount: n, Code: next()},
		}
	}
	return lookupAnswer{Success: int(n % 2), Message: next(), ID: next(), Data: newPaymentData(p)}
}

func checkLookupEncoding(t *testing.T, a lookupAnswer) {
	t.Helper()
	want, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := a.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("appendJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
}

func TestLookupAnswerEncoding(t *testing.T) {
	tests := []struct {
		name  string
		texts []string
	}{
		{"plain", []string{"TXN000000000001", "captured", "sandbox", "USD", "Test", "user@example.com", ""}},
		{"quotes and backslashes", []string{`a"b`, `c\d`, `"`, `\`}},
		{"control characters", []string{"a\nb", "\t", "\x00\x1f", "\b\f\r"}},
		{"HTML", []string{"<script>", "a&b", ">"}},
		{"unicode", []string{"Zoë", "東京", "a\u2028b\u2029", "emoji 🙂"}},
		{"invalid UTF-8", []string{"\xff", "a\xc3", "\xed\xa0\x80"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, full := range []bool{false, true} {
				checkLookupEncoding(t, lookupAnswerFor(tc.texts, 123456789, full))
			}
		})
	}
}

func FuzzLookupAnswerEncoding(f *testing.F) {
	f.Add("TXN000000000001", "a\"b<\x00é\xff", int64(1500), true)
	f.Add("", "\u2028", int64(-1), false)
	f.Fuzz(func(t *testing.T, a, b string, n int64, full bool) {
		checkLookupEncoding(t, lookupAnswerFor([]string{a, b, a + b}, n, full))
	})
}
