package webhook_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/webhook"
)

const secret = "whsec_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

var body = []byte(`{"id":"evt_0B7Q3K2ZP4F9X1M","object":"event","type":"payment.captured","api_version":"2022-11-07",` +
	`"created":"2026-12-05T08:14:03.512345Z","account_id":"7769","environment":"sandbox","data":{"payment":{"id":"0B7Q3K2ZP4F9X1M"},` +
	`"transaction":{"id":"0B7Q3K2ZP4F9X1M","type":"charge","result":"approved","amount":2000,"created_at":"2026-12-05T08:14:03Z"}}}`)

func TestVerify(t *testing.T) {
	now := time.Unix(1796458443, 0)
	signed := webhook.Sign(body, now, secret)
	rotating := webhook.Sign(body, now, "whsec_new", secret)
	cases := []struct {
		name      string
		body      []byte
		header    string
		secret    string
		tolerance time.Duration
		at        time.Time
		want      error
	}{
		{"signed", body, signed, secret, time.Minute, now, nil},
		{"within the tolerance", body, signed, secret, 5 * time.Minute, now.Add(4 * time.Minute), nil},
		{"a clock behind", body, signed, secret, 5 * time.Minute, now.Add(-4 * time.Minute), nil},
		{"too old", body, signed, secret, 5 * time.Minute, now.Add(6 * time.Minute), webhook.ErrTooOld},
		{"from the future", body, signed, secret, 5 * time.Minute, now.Add(-6 * time.Minute), webhook.ErrTooOld},
		{"no tolerance check", body, signed, secret, 0, now.Add(1000 * time.Hour), nil},
		{"two secrets during a rotation: the old one", body, rotating, secret, time.Minute, now, nil},
		{"two secrets during a rotation: the new one", body, rotating, "whsec_new", time.Minute, now, nil},
		{"another secret", body, signed, "whsec_other", time.Minute, now, webhook.ErrSignatureInvalid},
		{"the secret without its prefix", body, signed, strings.TrimPrefix(secret, "whsec_"), time.Minute, now, webhook.ErrSignatureInvalid},
		{"a changed body", append([]byte(" "), body...), signed, secret, time.Minute, now, webhook.ErrSignatureInvalid},
		{"a changed timestamp", body, strings.Replace(signed, "t=1796458443", "t=1796458444", 1), secret, time.Minute, now, webhook.ErrSignatureInvalid},
		{"no header", body, "", secret, time.Minute, now, webhook.ErrNoSignature},
		{"no timestamp", body, signed[strings.Index(signed, ",")+1:], secret, time.Minute, now, webhook.ErrNoSignature},
		{"no v1", body, "t=1796458443,v0=abc", secret, time.Minute, now, webhook.ErrNoSignature},
		{"a timestamp that is not a number", body, strings.Replace(signed, "t=1796458443", "t=soon", 1), secret, time.Minute, now, webhook.ErrNoSignature},
		{"spaces around the parts", body, strings.ReplaceAll(signed, ",", " , "), secret, time.Minute, now, nil},
	}
	for _, c := range cases {
		if err := webhook.VerifyAt(c.body, c.header, c.secret, c.tolerance, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: VerifyAt = %v; want %v", c.name, err, c.want)
		}
	}
	if err := webhook.Verify(body, webhook.Sign(body, time.Now(), secret), secret, webhook.DefaultTolerance); err != nil {
		t.Errorf("Verify now: %v", err)
	}
}

// TestSignatureFormat pins the header to the documented form: the HMAC key
// is the secret as shown, the message "<t>.<body>".
func TestSignatureFormat(t *testing.T) {
	got := webhook.Sign([]byte("{}"), time.Unix(1700000000, 0), "whsec_test")
	// printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test
	want := "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
	if got != want {
		t.Fatalf("Sign = %q; want %q", got, want)
	}
}

func TestEventDecodes(t *testing.T) {
	var ev webhook.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_0B7Q3K2ZP4F9X1M" || ev.Type != "payment.captured" || ev.Object != "event" || ev.APIVersion != "2022-11-07" ||
		ev.AccountID != "7769" || ev.Environment != "sandbox" || !ev.Created.Equal(time.Date(2026, 12, 5, 8, 14, 3, 512345000, time.UTC)) ||
		!strings.HasPrefix(string(ev.Data), `{"payment":`) {
		t.Errorf("decoded %+v", ev)
	}
}

// FuzzVerify: any header parses without panicking, and only a signature
// of the body under the secret verifies.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1796458443, 0)
	f.Add([]byte("{}"), webhook.Sign([]byte("{}"), now, secret))
	f.Add(body, "t=1,v1=,v1=zz,,=,t=")
	f.Add([]byte{}, "v1="+strings.Repeat("0", 64))
	f.Fuzz(func(t *testing.T, b []byte, header string) {
		err := webhook.VerifyAt(b, header, secret, 0, now)
		if err == nil && !strings.Contains(header, webhook.Sign(b, now, secret)[len("t=1796458443,"):]) &&
			!strings.Contains(header, "v1=") {
			t.Errorf("header %q verified without a v1", header)
		}
		if err := webhook.VerifyAt(b, webhook.Sign(b, now, secret), secret, time.Minute, now); err != nil {
			t.Errorf("a fresh signature of %q does not verify: %v", b, err)
		}
	})
}
