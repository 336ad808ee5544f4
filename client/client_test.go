package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/client"
	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/web"
)

// The client's tests run against a real gateway on loopback (apitest),
// whose every exchange is also checked against the OpenAPI document.

func newClient(t *testing.T, s *apitest.Server, cfg client.Config) *client.Client {
	t.Helper()
	cfg.BaseURL, cfg.AccountID, cfg.PrivateKey = s.URL, s.AccountID, s.Key
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var orders atomic.Int64

func payment(card string) client.PaymentRequest {
	return client.PaymentRequest{
		Amount:  2000,
		OrderID: "order-" + time.Now().Format("150405.000000") + "-" + strings.Repeat("x", int(orders.Add(1)%3)),
		Card:    client.Card{Number: card, CVV: "123", ExpMonth: 10, ExpYear: 2031},
		Customer: client.Customer{FirstName: "Test", LastName: "User", Email: "user3@example.com",
			Address: "6 Pheasant Run", Zip: "07733", City: "Holmdel", State: "NJ", Country: "US"},
		Source: "client test",
	}
}

// TestPaymentLifecycle: every endpoint, typed answers.
func TestPaymentLifecycle(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	c := newClient(t, s, client.Config{Environment: "sandbox"})
	ctx := context.Background()
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	auth, err := c.Authorize(ctx, payment("6011111111111117"))
	if err != nil {
		t.Fatal(err)
	}
	if len(auth.ID) != 15 || auth.AVSCode != "Y" || auth.CVVCode != "M" || auth.RequestID == "" || auth.Replayed {
		t.Errorf("authorize: %+v", auth)
	}
	capture, err := c.Capture(ctx, client.CaptureRequest{PaymentID: auth.ID, Amount: 1500})
	if err != nil {
		t.Fatal(err)
	}
	if capture.AuthorizedPaymentID != auth.ID || capture.ID == auth.ID {
		t.Errorf("capture: %+v", capture)
	}
	refund, err := c.Refund(ctx, client.RefundRequest{PaymentID: auth.ID, Amount: 500})
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Lookup(ctx, refund.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != auth.ID || p.Status != client.StatusCaptured || p.Amount != 2000 || p.AmountCaptured != 1500 ||
		p.AmountRefunded != 500 || p.AmountRefundable != 1000 || p.Card.Brand != "discover" || p.Card.Last4 != "1117" ||
		p.Customer.Country != "US" || len(p.Transactions) != 3 || p.CreatedAt.IsZero() || p.Source != "client test" {
		t.Errorf("lookup: %+v", p)
	}
	charge, err := c.Charge(ctx, payment("4242424242424242"))
	if err != nil {
		t.Fatal(err)
	}
	void, err := c.Void(ctx, charge.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Lookup(ctx, charge.ID); err != nil || p.Status != client.StatusVoided || p.Transactions[1].ID != void.ID {
		t.Errorf("lookup after void: %+v, %v", p, err)
	}
}

// TestErrors: an *Error with the answer's status, code, message and request
// id, and the kinds errors.Is knows.
func TestErrors(t *testing.T) {
	s := apitest.Start(t, apitest.Options{DuplicateWindow: time.Minute})
	c := newClient(t, s, client.Config{})
	ctx := context.Background()

	_, err := c.Charge(ctx, payment("4000000000009995"), client.WithRequestID("declined-1"))
	var e *client.Error
	if !errors.As(err, &e) || !errors.Is(err, client.ErrDeclined) || errors.Is(err, client.ErrNotFound) {
		t.Fatalf("decline: %v", err)
	}
	if e.StatusCode != 400 || e.Code != "insufficient-funds" || e.RequestID != "declined-1" || len(e.PaymentID) != 15 ||
		!strings.Contains(e.Message, "insufficient funds") || e.AVSCode != "Y" {
		t.Errorf("decline: %+v", e)
	}
	if p, err := c.Lookup(ctx, e.PaymentID); err != nil || p.Status != client.StatusDeclined || p.DeclineCode != "insufficient-funds" {
		t.Errorf("the declined attempt: %+v %v", p, err)
	}

	_, err = c.Lookup(ctx, "AAAAAAAAAAAAAAA")
	if !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), "payment-not-found") {
		t.Errorf("lookup of nothing: %v", err)
	}

	// Duplicate detection applies to calls without an Idempotency-Key.
	req := payment("4242424242424242")
	if _, err := c.Charge(ctx, req, client.WithoutIdempotencyKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Charge(ctx, req, client.WithoutIdempotencyKey()); !errors.Is(err, client.ErrDuplicate) {
		t.Errorf("second charge without a key: %v", err)
	}
	// With keys, two calls are two payments.
	if _, err := c.Charge(ctx, req); err != nil {
		t.Errorf("charge with a key: %v", err)
	}

	bad := payment("4242424242424241")
	if _, err := c.Charge(ctx, bad); !errors.Is(err, client.ErrInvalidRequest) || !strings.Contains(err.Error(), "invalid-card-number") {
		t.Errorf("bad card: %v", err)
	}
	expired := payment("4242424242424242")
	expired.Card.ExpYear = 2020
	if _, err := c.Charge(ctx, expired); !errors.Is(err, client.ErrInvalidRequest) || errors.Is(err, client.ErrDeclined) {
		t.Errorf("expired card (invalid input): %v", err)
	}
	if _, err := c.Charge(ctx, payment("4000000000000069")); !errors.Is(err, client.ErrDeclined) {
		t.Errorf("expired card (a decline): %v", err)
	}
	if _, err := c.Refund(ctx, client.RefundRequest{PaymentID: e.PaymentID, Amount: 1}); !errors.Is(err, client.ErrRefused) {
		t.Errorf("refund of a decline: %v", err)
	}

	wrong, _ := client.New(client.Config{BaseURL: s.URL, AccountID: s.AccountID, PrivateKey: strings.Repeat("0", 40)})
	if _, err := wrong.Lookup(ctx, "AAAAAAAAAAAAAAA"); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("wrong key: %v", err)
	}
}

// TestIdempotencyKeys: every mutating call carries a key, the caller's own
// if given; lookups carry none.
func TestIdempotencyKeys(t *testing.T) {
	var mu sync.Mutex
	keys := map[string][]string{}
	s := apitest.Start(t, apitest.Options{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			keys[r.URL.Path] = append(keys[r.URL.Path], r.Header.Get("Idempotency-Key"))
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	}})
	c := newClient(t, s, client.Config{})
	ctx := context.Background()
	a, err := c.Authorize(ctx, payment("4242424242424242"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Capture(ctx, client.CaptureRequest{PaymentID: a.ID, Amount: 100}, client.WithIdempotencyKey("capture-order-1")); err != nil {
		t.Fatal(err)
	}
	ch, err := c.Charge(ctx, payment("4242424242424242"), client.WithoutIdempotencyKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Refund(ctx, client.RefundRequest{PaymentID: ch.ID, Amount: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if k := keys["/payment/authorize"]; len(k) != 1 || len(k[0]) < 20 {
		t.Errorf("authorize keys %q", k)
	}
	if k := keys["/payment/capture"]; len(k) != 1 || k[0] != "capture-order-1" {
		t.Errorf("capture keys %q", k)
	}
	if k := keys["/payment/charge"]; len(k) != 1 || k[0] != "" {
		t.Errorf("charge without a key: %q", k)
	}
	if k := keys["/payment/refund"]; len(k) != 1 || k[0] == "" || k[0] == keys["/payment/authorize"][0] {
		t.Errorf("refund keys %q", k)
	}
	if k := keys["/payment/lookup"]; len(k) != 1 || k[0] != "" {
		t.Errorf("lookup keys %q", k)
	}
}

// dropFirst is a network that loses the first answer to path: the gateway
// does the work, then the connection dies (drop) or the answer never comes
// (hang) until the client gives up.
func dropFirst(path string, hang bool, attempts *atomic.Int32) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != path || attempts.Add(1) > 1 {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r) // done, answer lost
			if hang {
				<-r.Context().Done() // the client timed out and hung up
				return
			}
			panic(http.ErrAbortHandler) // the connection breaks
		})
	}
}

// TestTimedOutChargeIsNotChargedTwice: the first answer of a charge is
// lost after the gateway charged; the client retries with the same key and
// body and gets the first charge's answer, replayed. One payment, one
// transaction.
func TestTimedOutChargeIsNotChargedTwice(t *testing.T) {
	for _, hang := range []bool{true, false} {
		name := map[bool]string{true: "answer never comes", false: "connection breaks"}[hang]
		t.Run(name, func(t *testing.T) {
			var attempts atomic.Int32
			s := apitest.Start(t, apitest.Options{DuplicateWindow: 10 * time.Minute, Wrap: dropFirst("/payment/charge", hang, &attempts)})
			c := newClient(t, s, client.Config{Timeout: 500 * time.Millisecond})
			a, err := c.Charge(context.Background(), payment("4242424242424242"))
			if err != nil {
				t.Fatal(err)
			}
			if attempts.Load() != 2 || !a.Replayed {
				t.Errorf("attempts %d, replayed %v", attempts.Load(), a.Replayed)
			}
			if n := s.Count(t, "payments"); n != 1 {
				t.Errorf("%d payments, want 1", n)
			}
			p, err := c.Lookup(context.Background(), a.ID)
			if err != nil || len(p.Transactions) != 1 || p.AmountCaptured != 2000 {
				t.Errorf("lookup: %+v %v", p, err)
			}
		})
	}
}

// TestNoRetryWithoutKey: a call without a key whose answer was lost is not
// sent again: it may have been done.
func TestNoRetryWithoutKey(t *testing.T) {
	var attempts atomic.Int32
	s := apitest.Start(t, apitest.Options{Wrap: dropFirst("/payment/charge", false, &attempts)})
	c := newClient(t, s, client.Config{})
	if _, err := c.Charge(context.Background(), payment("4242424242424242"), client.WithoutIdempotencyKey()); err == nil {
		t.Fatal("no error")
	}
	if attempts.Load() != 1 {
		t.Errorf("%d attempts, want 1", attempts.Load())
	}
	if n := s.Count(t, "payments"); n != 1 {
		t.Errorf("%d payments", n)
	}
}

// TestLookupRetried: a lookup changes nothing, so a lost answer is retried.
func TestLookupRetried(t *testing.T) {
	var attempts atomic.Int32
	s := apitest.Start(t, apitest.Options{Wrap: dropFirst("/payment/lookup", false, &attempts)})
	c := newClient(t, s, client.Config{})
	a, err := c.Charge(context.Background(), payment("4242424242424242"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.Lookup(context.Background(), a.ID); err != nil || p.ID != a.ID || attempts.Load() != 2 {
		t.Errorf("lookup: %v, %d attempts", err, attempts.Load())
	}
}

// TestRateLimitedRetriedAfterRetryAfter: a 429 ran nothing; the client
// waits the Retry-After the gateway asked for, then succeeds.
func TestRateLimitedRetriedAfterRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	s := apitest.Start(t, apitest.Options{
		Limits: &web.Limits{IPRate: -1, AccountRate: 1, AccountBurst: 1, AuthFailuresPerMinute: -1},
		Wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
				next.ServeHTTP(w, r)
			})
		}})
	c := newClient(t, s, client.Config{})
	ctx := context.Background()
	a, err := c.Charge(ctx, payment("4242424242424242"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(ctx, a.ID); err != nil { // limited at first, then served
		t.Fatal(err)
	}
	mu.Lock()
	seen := append([]time.Time(nil), times...)
	mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("%d requests, want 3 (charge, lookup limited, lookup retried)", len(seen))
	}
	if wait := seen[2].Sub(seen[1]); wait < 900*time.Millisecond {
		t.Errorf("retried after %v, before Retry-After (1 s)", wait)
	}

	// Without retries, or when Retry-After is longer than allowed, the 429
	// is the answer.
	impatient := newClient(t, s, client.Config{MaxRetries: -1})
	_, err = impatient.Lookup(ctx, a.ID)
	var e *client.Error
	if !errors.As(err, &e) || !errors.Is(err, client.ErrRateLimited) || e.RetryAfter < time.Second {
		t.Errorf("no retries: %v", err)
	}
	brief := newClient(t, s, client.Config{MaxRetryWait: 10 * time.Millisecond})
	if _, err := brief.Lookup(ctx, a.ID); !errors.Is(err, client.ErrRateLimited) {
		t.Errorf("short MaxRetryWait: %v", err)
	}
}

// TestContextAndHTTPClient: the caller's context ends a call, even while
// it waits to retry; the caller's *http.Client sends the requests.
func TestContextAndHTTPClient(t *testing.T) {
	var attempts atomic.Int32
	s := apitest.Start(t, apitest.Options{Wrap: dropFirst("/payment/lookup", true, &attempts)})
	var sent atomic.Int32
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := newClient(t, s, client.Config{HTTPClient: hc})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Lookup(ctx, "AAAAAAAAAAAAAAA")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("lookup past the context's deadline: %v", err)
	}
	if sent.Load() != 1 {
		t.Errorf("the caller's http.Client sent %d requests, want 1", sent.Load())
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCheckout: create a session, and validation of a payment that paid
// none (the page's payment is internal/checkout's to test).
func TestCheckout(t *testing.T) {
	s := apitest.Start(t, apitest.Options{PublicURL: "https://pay.example.com"})
	c := newClient(t, s, client.Config{})
	ctx := context.Background()
	co, err := c.CreateCheckout(ctx, client.CheckoutRequest{Reference: "order-77", SuccessURL: "https://shop.example/ok",
		CancelURL: "https://shop.example/cart", Products: []client.CheckoutProduct{{Name: "Mug", Amount: 1200, Quantity: 2}}, TaxAmount: 100})
	if err != nil {
		t.Fatal(err)
	}
	if co.Amount != 2500 || !strings.HasPrefix(co.URL, "https://pay.example.com/checkout/") || co.ExpiresAt.IsZero() {
		t.Errorf("checkout: %+v", co)
	}
	charge, err := c.Charge(ctx, payment("4242424242424242"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ValidateCheckout(ctx, charge.ID); !errors.Is(err, client.ErrRefused) || !strings.Contains(err.Error(), "not-a-checkout-payment") {
		t.Errorf("validate a payment API charge: %v", err)
	}
}

// TestConfig: what New refuses.
func TestConfig(t *testing.T) {
	for _, cfg := range []client.Config{
		{AccountID: "1"},
		{PrivateKey: "k"},
		{BaseURL: "ftp://x", AccountID: "1", PrivateKey: "k"},
		{BaseURL: "127.0.0.1:8080", AccountID: "1", PrivateKey: "k"},
	} {
		if _, err := client.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := client.New(client.Config{AccountID: "1", PrivateKey: "k"}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
