package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
)

// TestCardDataIsNeverKept sends approved, declined, failed and invalid
// payments with several test cards, as JSON numbers and as text, then reads
// the whole store file (with its WAL and shared-memory files), the server's
// logs and every answer: no full card number and no CVV may be in them.
func TestCardDataIsNeverKept(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: time.Minute})
	order := "order-carddata-" + gateway.NewID()

	type attempt struct {
		name   string
		path   string
		number any // json.Number (the SDK's form) or string
		cvv    any
		extra  map[string]any
		status int
		code   string // "" for an approval
	}
	num := func(s string) json.Number { return json.Number(s) }
	attempts := []attempt{
		{name: "visa number form", path: "charge", number: num("4242424242424242"), cvv: num("737"), status: 200},
		{name: "visa text form", path: "authorize", number: "4111111111111111", cvv: "918", status: 200},
		{name: "amex", path: "charge", number: num("378282246310005"), cvv: num("4791"), status: 200},
		{name: "amex text", path: "authorize", number: "378282246310005", cvv: "4791", status: 200},
		{name: "mastercard with spaces", path: "charge", number: "5555 5555 5555 4444", cvv: "737", status: 200},
		{name: "discover with dashes", path: "authorize", number: "6011-1111-1111-1117", cvv: num("918"), status: 200},
		{name: "avs trigger card", path: "charge", number: num("4000000000000036"), cvv: num("737"), status: 200},
		{name: "declined", path: "charge", number: num("4000000000000002"), cvv: num("737"), status: 400, code: "card-declined"},
		{name: "insufficient funds", path: "authorize", number: "4000000000009995", cvv: "918", status: 400, code: "insufficient-funds"},
		{name: "incorrect cvv", path: "charge", number: num("4000000000000127"), cvv: num("918"), status: 400, code: "incorrect-cvv"},
		{name: "processor error", path: "charge", number: num("4000000000000119"), cvv: num("737"), status: 500, code: "processor-error"},
		{name: "luhn invalid", path: "charge", number: num("4242424242424241"), cvv: num("737"), status: 400, code: "invalid-card-number"},
		{name: "luhn invalid amex", path: "authorize", number: "378282246310006", cvv: "4791", status: 400, code: "invalid-card-number"},
		{name: "too long", path: "charge", number: num("42424242424242424242"), cvv: num("737"), status: 400, code: "invalid-card-number"},
		{name: "expired", path: "charge", number: num("5105105105105100"), cvv: num("918"),
			extra: map[string]any{"card_expiry_year": 2020}, status: 400, code: "expired-card"},
		{name: "month 13", path: "authorize", number: "6011000990139424", cvv: "737",
			extra: map[string]any{"card_expiry_month": 13}, status: 400, code: "invalid-card-expiry-month"},
		{name: "3-digit cvv on amex", path: "charge", number: num("371449635398431"), cvv: num("737"), status: 400, code: "invalid-card-cvv"},
		{name: "4-digit cvv on visa", path: "charge", number: num("4012888888881881"), cvv: "4791", status: 400, code: "invalid-card-cvv"},
		{name: "2-digit cvv", path: "authorize", number: "5200828282828210", cvv: num("91"), status: 400, code: "invalid-card-cvv"},
		{name: "invalid country", path: "charge", number: num("4000056655665556"), cvv: num("737"),
			extra: map[string]any{"country": "Atlantis"}, status: 400, code: "invalid-country"},
		{name: "missing email", path: "charge", number: num("4242424242424242"), cvv: num("918"),
			extra: map[string]any{"email": nil}, status: 400, code: "missing-email"},
	}
	// Full numbers as sent, and as digits only.
	var pans []string
	for _, a := range attempts {
		var sent string
		switch v := a.number.(type) {
		case json.Number:
			sent = v.String()
		case string:
			sent = v
		}
		pans = append(pans, sent)
		if digits := strings.NewReplacer(" ", "", "-", "").Replace(sent); digits != sent {
			pans = append(pans, digits)
		}
	}

	var answers [][]byte
	var approved []string
	for i, a := range attempts {
		fields := map[string]any{"card_number": a.number, "card_cvv": a.cvv, "order_id": order, "amount": 2000 + i}
		for k, v := range a.extra {
			fields[k] = v
		}
		// The card fields replace PaymentBody's own: encode the number as given.
		body := apitest.PaymentBody("4242424242424242", fields)
		headers := map[string]string{}
		if i%2 == 0 { // half of them keep their answer under an Idempotency-Key
			headers["Idempotency-Key"] = "carddata-" + a.name
		}
		r := s.Request(t, "POST", "/payment/"+a.path, body, headers)
		answers = append(answers, r.Raw)
		if a.code == "" {
			mustApprove(t, r)
			approved = append(approved, r.String("id"))
		} else {
			mtWantError(t, r, a.status, a.code)
		}
		if i%2 == 0 { // and replay it
			answers = append(answers, s.Request(t, "POST", "/payment/"+a.path, body, headers).Raw)
		}
		// A duplicate of an approved payment is refused, naming only the payment.
		if a.code == "" {
			dup := s.Post(t, "/payment/"+a.path, body)
			mtWantError(t, dup, 409, "duplicate-transaction")
			answers = append(answers, dup.Raw)
		}
	}

	// Operations and lookups on what was recorded.
	for _, id := range approved {
		d := mtLookup(t, s, id)
		if d["status"] == "authorized" {
			answers = append(answers, mtCapture(t, s, id, 1500).Raw)
		}
		answers = append(answers, mtRefund(t, s, id, 500).Raw, s.Post(t, "/payment/lookup", mtIDBody(id)).Raw)
		card, _ := d["card"].(map[string]any)
		if len(card["bin"].(string)) != 6 || len(card["last4"].(string)) != 4 {
			t.Errorf("lookup card summary: %v", card)
		}
	}
	metrics := s.Request(t, "GET", "/metrics", "", nil)
	answers = append(answers, metrics.Raw)

	store := s.StoredData(t)
	logs := s.Logs()

	// The scans must see what the server wrote.
	if !bytes.Contains(store, []byte(order)) {
		t.Fatal("the store files do not hold the order id: the scan sees nothing")
	}
	if !strings.Contains(logs, "/payment/charge") {
		t.Fatal("the logs are empty: the scan sees nothing")
	}

	for _, pan := range pans {
		if bytes.Contains(store, []byte(pan)) {
			t.Errorf("the store files contain the card number %s", pan)
		}
		if strings.Contains(logs, pan) {
			t.Errorf("the logs contain the card number %s", pan)
		}
		for i, a := range answers {
			if bytes.Contains(a, []byte(pan)) {
				t.Errorf("answer %d contains the card number %s: %s", i, pan, a)
			}
		}
	}

	// A CVV as a JSON value or a bare number: not part of a longer word,
	// number, id or decimal (such as a duration "0.737ms").
	cvv := regexp.MustCompile(`(^|[^0-9A-Za-z._])(737|918|4791)([^0-9A-Za-z._]|$)`)
	if m := cvv.FindString(logs); m != "" {
		t.Errorf("the logs contain a CVV (%q):\n%s", m, logs)
	}
	for i, a := range answers {
		if m := cvv.Find(a); m != nil {
			t.Errorf("answer %d contains a CVV (%q): %s", i, m, a)
		}
	}
}

// TestIdempotencyHashIsKeyed: the stored identity of a charge sent with an
// Idempotency-Key is no plain hash of its body, which holds the card number
// and CVV: with the BIN and last 4 beside it, a plain hash could be
// brute-forced back to the number. It must depend on the server secret.
func TestIdempotencyHashIsKeyed(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	body := apitest.PaymentBody("4242424242424242", map[string]any{"card_cvv": "737"})
	if r := s.Request(t, "POST", "/payment/charge", body, map[string]string{"Idempotency-Key": "k-1"}); r.Status != 200 {
		t.Fatalf("charge: %d %s", r.Status, r.Raw)
	}
	stored := s.Column(t, "SELECT request_hash FROM idempotency_keys")
	if len(stored) != 1 {
		t.Fatalf("%d idempotency records, want 1", len(stored))
	}
	for _, plain := range []string{body, "/payment/charge\n" + body, "/payment/charge" + body, "/payment/charge\x00" + body} {
		sum := sha256.Sum256([]byte(plain))
		if bytes.Equal(stored[0], sum[:]) {
			t.Fatalf("the stored request hash is a plain SHA-256 of the body (%q…)", plain[:20])
		}
	}
}
