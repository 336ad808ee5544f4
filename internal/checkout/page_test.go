package checkout_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
)

// The page over real HTTP, without a browser: the rules a browser test
// would take long to show (races, expiry, limits, headers). The browser
// tests are in browser_test.go.

const (
	approvedCard  = "4242424242424242"
	declinedCard  = "4000000000000002"
	processorFail = "4000000000000119"
	slowCard      = "4000000000000770"
)

// successLocation checks that r sends the browser to the success URL with
// payment_id and the URL's own query, and returns the payment id.
func successLocation(t *testing.T, r apitest.Response) string {
	t.Helper()
	loc, err := url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusSeeOther || err != nil || loc.Host != "shop.example" || loc.Query().Get("payment_id") == "" {
		t.Fatalf("want 303 to the success URL with payment_id, got %d Location %q: %.300s", r.Status, r.Header.Get("Location"), r.Raw)
	}
	return loc.Query().Get("payment_id")
}

// noCardData checks that no card number or CVV of the test is anywhere in
// the server's logs or stored data, nor in the HTML it answered.
func noCardData(t *testing.T, s *apitest.Server, pages ...apitest.Response) {
	t.Helper()
	stored, logs := s.StoredData(t), s.Logs()
	for _, number := range []string{approvedCard, declinedCard, processorFail, slowCard, "4242 4242 4242 4242"} {
		if strings.Contains(string(stored), number) || strings.Contains(logs, number) {
			t.Errorf("card number %s is in the store or the logs", number)
		}
		for _, p := range pages {
			if strings.Contains(string(p.Raw), number) {
				t.Errorf("card number %s is in a page", number)
			}
		}
	}
	for _, p := range pages {
		if strings.Contains(string(p.Raw), `value="123"`) || strings.Contains(string(p.Raw), `value="31"`) {
			t.Errorf("a page keeps the CVV or expiry: %s", p.Raw)
		}
	}
}

// TestPageHeaders: the page's own Content-Security-Policy (no framing,
// its hashed style and script, the form's target), no caching, and the
// shared security headers.
func TestPageHeaders(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	body := `{"reference":"r1","success_url":"https://shop.example:8443/ok","cancel_url":"https://shop.example/cart",
		"products":[{"name":"Mug","amount":1000,"image_url":"https://img.example/mug.png"}]}`
	page := s.Get(t, s.CreateCheckout(t, body))
	h := page.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "style-src 'sha256-", "script-src 'sha256-",
		"img-src https://img.example;", "form-action 'self' https://shop.example:8443;", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "*") {
		t.Errorf("Content-Security-Policy allows too much: %q", csp)
	}
	if page.Status != 200 || h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("page: %d %v", page.Status, h)
	}
	html := string(page.Raw)
	for _, want := range []string{`autocomplete="cc-number"`, `autocomplete="cc-csc"`, `autocomplete="cc-exp-month"`, `autocomplete="cc-exp-year"`,
		`autocomplete="cc-name"`, `autocomplete="email"`, `autocomplete="given-name"`, `autocomplete="family-name"`,
		`autocomplete="address-line1"`, `autocomplete="postal-code"`, `autocomplete="country"`, "Test merchant", "$10.00",
		`<img src="https://img.example/mug.png"`, `href="https://shop.example/cart"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	for _, missing := range []string{"/checkout/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/checkout/short", "/checkout/"} {
		r := s.Get(t, s.URL+missing)
		if r.Status != 404 || !strings.Contains(string(r.Raw), "Checkout not found") || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: want the 404 page, got %d", missing, r.Status)
		}
	}
}

// TestPayOnce: 20 submits of one session at once, with a card answered at
// once and with the slow card (the two-phase path): exactly one payment.
// The submits are shared between two gateways on one database, as two
// processes behind a load balancer (on SQLite, two processes on one file).
func TestPayOnce(t *testing.T) {
	for _, card := range []string{approvedCard, slowCard} {
		t.Run(card, func(t *testing.T) {
			opt := apitest.Options{SlowCardDelay: 300 * time.Millisecond}
			s := apitest.Start(t, opt)
			twin := s.Twin(t, opt)
			page := s.CreateCheckout(t, apitest.CheckoutBody(1000, "https://shop.example/ok"))
			twinPage := strings.Replace(page, s.URL, twin.URL, 1)
			const n = 20
			answers := make([]apitest.Response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i%2 == 1 {
						answers[i] = twin.SubmitCheckout(t, twinPage, apitest.CheckoutForm(card))
						return
					}
					answers[i] = s.SubmitCheckout(t, page, apitest.CheckoutForm(card))
				}()
			}
			wg.Wait()
			paid := 0
			for _, r := range answers {
				loc := r.Header.Get("Location")
				switch {
				case r.Status == http.StatusSeeOther && strings.HasPrefix(loc, "https://shop.example/ok?payment_id="):
					paid++
				case r.Status == http.StatusSeeOther && strings.HasPrefix(loc, "/checkout/"):
					// already paid, or in progress: shown as such
				default:
					t.Errorf("submit: %d %s", r.Status, r.Raw)
				}
			}
			if paid != 1 || s.Count(t, "payments") != 1 {
				t.Errorf("%d submits were paid, %d payments recorded; want exactly 1", paid, s.Count(t, "payments"))
			}
			// Again, later: the page says it is paid, a submit pays nothing.
			shown := s.Get(t, page)
			again := s.SubmitCheckout(t, page, apitest.CheckoutForm(card))
			if !strings.Contains(string(shown.Raw), "This order has been paid") || again.Status != http.StatusSeeOther || s.Count(t, "payments") != 1 {
				t.Errorf("after payment: page %d, submit %d, %d payments", shown.Status, again.Status, s.Count(t, "payments"))
			}
			noCardData(t, s, answers...)
		})
	}
}

// TestDeclineKeepsBillingNotCard: a declined card shows why, keeps the
// billing details and never the card's, and the session stays payable;
// a processor error says to retry and records nothing as paid.
func TestDeclineKeepsBillingNotCard(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	page := s.CreateCheckout(t, apitest.CheckoutBody(1999, "https://shop.example/ok?a=1&b=2"))
	form := apitest.CheckoutForm(declinedCard)
	form.Set("address", `1 "Quoted" <Street>`)
	declined := s.SubmitCheckout(t, page, form)
	html := string(declined.Raw)
	if declined.Status != http.StatusPaymentRequired || !strings.Contains(html, `role="alert"`) || !strings.Contains(html, "not approved") ||
		!strings.Contains(html, `value="customer@example.com"`) || !strings.Contains(html, `value="1 &#34;Quoted&#34; &lt;Street&gt;"`) {
		t.Fatalf("decline: %d %s", declined.Status, html)
	}
	failed := s.SubmitCheckout(t, page, apitest.CheckoutForm(processorFail))
	if failed.Status != http.StatusBadGateway || !strings.Contains(string(failed.Raw), "try again") {
		t.Fatalf("processor error: %d %s", failed.Status, failed.Raw)
	}
	reshown := s.Get(t, page)
	if !strings.Contains(string(reshown.Raw), "Your last payment attempt was not completed") {
		t.Errorf("the page after a failed attempt does not say so")
	}
	invalid := s.SubmitCheckout(t, page, func() url.Values { f := apitest.CheckoutForm("4242424242424241"); return f }())
	if invalid.Status != 400 || !strings.Contains(string(invalid.Raw), `id="card_number-error" role="alert"`) ||
		!strings.Contains(string(invalid.Raw), `aria-describedby="card_number-error"`) {
		t.Errorf("a Luhn-invalid number: %d %s", invalid.Status, invalid.Raw)
	}
	id := successLocation(t, s.SubmitCheckout(t, page, apitest.CheckoutForm(approvedCard)))
	if r := s.Get(t, page); !strings.Contains(string(r.Raw), "payment_id="+id) {
		t.Errorf("the paid page does not link to the success URL with the payment")
	}
	if n := s.Count(t, "payments"); n != 3 {
		t.Errorf("%d payments recorded (decline, failure, approval), want 3", n)
	}
	noCardData(t, s, declined, failed, reshown, invalid)
}

// TestPageRefusals: an expired session (410), a form from another origin
// (403, nothing recorded), too many attempts (429).
func TestPageRefusals(t *testing.T) {
	s := apitest.Start(t, apitest.Options{CheckoutExpiry: 50 * time.Millisecond})
	page := s.CreateCheckout(t, apitest.CheckoutBody(1000, "https://shop.example/ok"))
	time.Sleep(100 * time.Millisecond)
	for _, r := range []apitest.Response{s.Get(t, page), s.SubmitCheckout(t, page, apitest.CheckoutForm(approvedCard))} {
		if r.Status != http.StatusGone || !strings.Contains(string(r.Raw), "This checkout has expired") {
			t.Errorf("expired: %d %s", r.Status, r.Raw)
		}
	}

	s = apitest.Start(t, apitest.Options{})
	page = s.CreateCheckout(t, apitest.CheckoutBody(1000, "https://shop.example/ok"))
	req, _ := http.NewRequest(http.MethodPost, page, strings.NewReader(apitest.CheckoutForm(approvedCard).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || s.Count(t, "payments") != 0 {
		t.Errorf("a cross-site form: %d, %d payments", resp.StatusCode, s.Count(t, "payments"))
	}

	for i := range gateway.MaxCheckoutAttempts {
		if r := s.SubmitCheckout(t, page, apitest.CheckoutForm(declinedCard)); r.Status != http.StatusPaymentRequired {
			t.Fatalf("attempt %d: %d", i+1, r.Status)
		}
	}
	if r := s.SubmitCheckout(t, page, apitest.CheckoutForm(approvedCard)); r.Status != http.StatusTooManyRequests || s.Count(t, "payments") != gateway.MaxCheckoutAttempts {
		t.Errorf("attempt past the limit: %d, %d payments", r.Status, s.Count(t, "payments"))
	}
}

// TestProcessingPage: a payment whose processor answer is late leaves the
// session paying; the browser waits on a page that reloads itself, and is
// sent on to the merchant once the reconciler has recorded the answer.
func TestProcessingPage(t *testing.T) {
	s := apitest.Start(t, apitest.Options{SlowCardDelay: 2 * time.Second})
	s.Service.ProcessorTimeout = 100 * time.Millisecond
	page := s.CreateCheckout(t, apitest.CheckoutBody(1000, "https://shop.example/ok"))
	r := s.SubmitCheckout(t, page, apitest.CheckoutForm(slowCard))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != strings.TrimPrefix(page, s.URL)+"/processing" {
		t.Fatalf("late answer: want 303 to the processing page, got %d %v", r.Status, r.Header)
	}
	for _, u := range []string{page + "/processing", page} {
		w := s.Get(t, u)
		if w.Status != 200 || !strings.Contains(string(w.Raw), `<meta http-equiv="refresh" content="2; url=/checkout/`) ||
			!strings.Contains(string(w.Raw), "Processing your payment") {
			t.Fatalf("GET %s while paying: %d %s", u, w.Status, w.Raw)
		}
	}
	if again := s.SubmitCheckout(t, page, apitest.CheckoutForm(approvedCard)); again.Status != http.StatusSeeOther || s.Count(t, "payments") != 1 {
		t.Errorf("a submit while paying: %d, %d payments", again.Status, s.Count(t, "payments"))
	}
	// The lease ends (processor timeout + margin): the reconciler asks the
	// sandbox, which approves the slow card.
	later := time.Now().Add(time.Minute)
	s.Service.Now = func() time.Time { return later }
	if n, err := s.Service.Reconcile(context.Background()); n != 1 || err != nil {
		t.Fatalf("reconcile: %d, %v", n, err)
	}
	id := successLocation(t, s.Get(t, page+"/processing"))
	if v := s.Post(t, "/hosted/checkout/validate", `{"payment_id":"`+id+`"}`); v.String("status") != "valid" {
		t.Errorf("validate after reconciliation: %s", v.Raw)
	}
}
