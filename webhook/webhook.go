// Package webhook verifies the events a CartGateway server POSTs to a
// merchant's endpoint: the signature over the raw body, and its age.
//
// A handler reads the raw body (before any JSON decoding: the signature is
// over the exact bytes), checks it, then decodes the event:
//
//	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
//	if err := webhook.Verify(body, r.Header.Get(webhook.SignatureHeader), secret, webhook.DefaultTolerance); err != nil {
//		http.Error(w, "bad signature", http.StatusBadRequest)
//		return
//	}
//	var ev webhook.Event
//	_ = json.Unmarshal(body, &ev)
//	// Handle ev.Type once per ev.ID: an event may arrive more than once.
//	w.WriteHeader(http.StatusOK)
//
// The signature header is "t=<unix seconds>,v1=<hex HMAC-SHA256>", the
// HMAC keyed with the endpoint's signing secret exactly as shown when the
// endpoint was created (its "whsec_" prefix included), over "<t>.<body>".
// While a secret is being rotated the header carries one v1 per secret;
// any of them may match.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of every event POST.
const (
	SignatureHeader = "CartGateway-Signature"
	EventIDHeader   = "CartGateway-Event-Id"
)

// DefaultTolerance is how old (or how far in the future) a signature's
// timestamp may be: replays of a captured request are refused after it.
const DefaultTolerance = 5 * time.Minute

// Event is the envelope every POST carries. Data holds the payment as the
// Payment API's lookup shows it ("payment") and the ledger transaction the
// event announces ("transaction").
type Event struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"` // "event"
	Type        string          `json:"type"`
	APIVersion  string          `json:"api_version"`
	Created     time.Time       `json:"created"`
	AccountID   string          `json:"account_id"`
	Environment string          `json:"environment"`
	Data        json.RawMessage `json:"data"`
}

// Errors of Verify.
var (
	ErrNoSignature      = errors.New("webhook: no CartGateway-Signature header, or no t= and v1= in it")
	ErrSignatureInvalid = errors.New("webhook: no v1 signature matches the body and secret")
	ErrTooOld           = errors.New("webhook: the signature's timestamp is outside the tolerance")
)

// Verify checks a signature header against the raw body and the endpoint's
// secret, and that its timestamp is within tolerance of now (0: no check).
func Verify(body []byte, header, secret string, tolerance time.Duration) error {
	return VerifyAt(body, header, secret, tolerance, time.Now())
}

// VerifyAt is Verify at a given time.
func VerifyAt(body []byte, header, secret string, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	matched := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureInvalid
	}
	if tolerance > 0 {
		if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
			return ErrTooOld
		}
	}
	return nil
}

// Sign returns the signature header for body at time t, with one v1 per
// secret: what the gateway sends (and what a receiver's tests can send).
func Sign(body []byte, t time.Time, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}
