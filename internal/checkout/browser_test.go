package checkout_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/browsertest"
)

// The hosted page in a real browser: Debian's chromium, headless, driven
// with chromedp (internal/browsertest), against a real gateway on loopback
// (SQLite, or PostgreSQL with CARTGATEWAY_TEST_BACKEND=postgres). One
// browser serves every test of the package; each test opens its own tabs.

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

func tab(t *testing.T) context.Context { return browsertest.Tab(t) }

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, ctx, what, steps...)
}

func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	return browsertest.Run(t, ctx, what, a)
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.Screenshot(t, ctx, browsertest.Artifacts(t, "checkout-"+apitest.Backend()), name)
}

// merchant is the shop's own site, on another origin than the gateway: its
// success and cancel pages show what they were reached with.
func merchant(t *testing.T) *httptest.Server {
	t.Helper()
	m := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		id := "merchant-" + strings.Trim(r.URL.Path, "/")
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><p id=%q>%s</p>`, id, r.URL.RawQuery)
	}))
	t.Cleanup(m.Close)
	return m
}

// fill types the customer's details into the form, finding each input by
// its autocomplete token as a browser's autofill does.
func fill(t *testing.T, ctx context.Context, card string, billing bool) {
	t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	if billing {
		for _, kv := range [][2]string{{"email", "customer@example.com"}, {"cc-name", "Test Customer"}, {"given-name", "Test"},
			{"family-name", "Customer"}, {"address-line1", "6 Pheasant Run"}, {"postal-code", "07733"}} {
			steps = append(steps, chromedp.SendKeys(chromedp.CSS(`input[autocomplete="`+kv[0]+`"]`), kv[1]))
		}
		steps = append(steps, chromedp.SetValue(chromedp.CSS(`select[autocomplete="country"]`), "US"))
	}
	steps = append(steps,
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="cc-number"]`), card),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="cc-exp-month"]`), "10"),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="cc-exp-year"]`), "31"),
		chromedp.SendKeys(chromedp.CSS(`input[autocomplete="cc-csc"]`), "123"))
	do(t, ctx, "fill the form", steps...)
}

// TestBrowserCheckout is the customer's whole way: the page, a declined
// card, an approved one, the success page with payment_id, validation,
// and the paid session that cannot be paid again.
func TestBrowserCheckout(t *testing.T) {
	ctx := tab(t)
	shop := merchant(t)
	s := apitest.Start(t, apitest.Options{})
	body := fmt.Sprintf(`{"reference":"SO-1042","success_url":%q,"cancel_url":%q,"products":[
		{"name":"Stoneware mug, blue","amount":1800,"codename":null,"quantity":2,"image_url":null},
		{"name":"Linen tea towel","amount":1250,"codename":null,"quantity":1,"image_url":null}],"tax_amount":427,"shipping_amount":590}`,
		shop.URL+"/ok?order=1042", shop.URL+"/cart")
	page := s.CreateCheckout(t, body)

	do(t, ctx, "open the page", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#pay-form")))
	if total := run(t, ctx, "total", chromedp.Text(chromedp.CSS(`[data-testid="total"]`))); total != "$58.67" {
		t.Errorf("total shown %q, want $58.67", total)
	}
	labelled := run(t, ctx, "labels", chromedp.Evaluate[bool](
		`[...document.querySelectorAll("#pay-form input, #pay-form select")].every(e => e.labels.length > 0 && e.labels[0].offsetParent !== null && e.labels[0].textContent.trim() !== "")`))
	if !labelled {
		t.Error("an input of the form has no visible label")
	}
	// Keyboard: from the email input, Tab goes on to the name on the card,
	// with a visible focus outline.
	do(t, ctx, "tab", chromedp.Focus(chromedp.CSS("#email")), chromedp.KeyEvent("\t"))
	if focused := run(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id + " " + getComputedStyle(document.activeElement).outlineStyle`)); focused != "cardholder_name solid" {
		t.Errorf("after Tab from email: focus on %q, want the name on card with an outline", focused)
	}
	screenshot(t, ctx, "desktop")

	// A second tab: a declined card shows the message, keeps the billing
	// details, has no card number anywhere in the page, and the session
	// stays payable.
	other, cancel := chromedp.NewContext(ctx)
	defer cancel()
	do(t, other, "open a second tab", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#pay-form")))
	fill(t, other, declinedCard, true)
	if v := run(t, other, "card number as typed", chromedp.Value(chromedp.CSS("#card_number"))); v != "4000 0000 0000 0002" {
		t.Errorf("the page's script (allowed by its hash) did not group the digits: %q", v)
	}
	do(t, other, "pay (declined)", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#form-alert")))
	alert := run(t, other, "alert", chromedp.Text(chromedp.CSS("#form-alert")))
	html := run(t, other, "page source", chromedp.OuterHTML(chromedp.CSS("html")))
	if !strings.Contains(alert, "not approved") || strings.Contains(html, declinedCard) || strings.Contains(html, "4000 0000 0000 0002") {
		t.Errorf("after a decline: alert %q; card number in the page: %t", alert, strings.Contains(html, "0002"))
	}
	if email := run(t, other, "email kept", chromedp.Value(chromedp.CSS("#email"))); email != "customer@example.com" {
		t.Errorf("billing not kept after a decline: email %q", email)
	}
	if v := run(t, other, "card emptied", chromedp.Value(chromedp.CSS("#card_number"))); v != "" {
		t.Errorf("the card number input was refilled: %q", v)
	}
	screenshot(t, other, "declined")

	// The first tab pays: the browser lands on the shop's success URL, its
	// query kept and payment_id added, through the page's own CSP.
	fill(t, ctx, approvedCard, true)
	do(t, ctx, "pay (approved)", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("#merchant-ok")))
	loc, err := url.Parse(run(t, ctx, "location", chromedp.Location()))
	if err != nil || loc.Query().Get("order") != "1042" || len(loc.Query().Get("payment_id")) != 15 || !strings.HasPrefix(loc.String(), shop.URL+"/ok?") {
		t.Fatalf("after approval the browser is at %v, want %s/ok?order=1042&payment_id=…", loc, shop.URL)
	}
	id := loc.Query().Get("payment_id")
	for _, want := range []string{"valid", "validated"} {
		if v := s.Post(t, "/hosted/checkout/validate", `{"payment_id":"`+id+`"}`); v.String("status") != want || v.Number("amount") != 5867 || v.String("reference") != "SO-1042" {
			t.Errorf("validate: want %s, got %s", want, v.Raw)
		}
	}

	// The second tab's form, sent again now, pays nothing: it shows the
	// order paid. Back in the first tab, and reloaded: paid, no form.
	fill(t, other, approvedCard, false)
	do(t, other, "pay again in the second tab", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("h1.big-ok")))
	do(t, ctx, "back", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS("h1.big-ok")), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1.big-ok")))
	screenshot(t, ctx, "paid")
	if n := len(s.Column(t, "SELECT id FROM payments WHERE status = 'captured'")); n != 1 {
		t.Errorf("%d approved payments, want 1", n)
	}
	noCardData(t, s)
}

// TestBrowserCancelAndPhone: "cancel" reaches the cancel URL, and on a
// 390 px wide phone the page needs no horizontal scrolling.
func TestBrowserCancelAndPhone(t *testing.T) {
	ctx := tab(t)
	shop := merchant(t)
	s := apitest.Start(t, apitest.Options{})
	body := fmt.Sprintf(`{"reference":"SO-1043","success_url":%q,"cancel_url":%q,"products":[
		{"name":"Stoneware mug, blue, with a rather long name that has to wrap on a phone","amount":1800,"quantity":2},
		{"name":"Linen tea towel","amount":1250}],"tax_amount":427,"shipping_amount":590}`, shop.URL+"/ok", shop.URL+"/cart?from=checkout")
	page := s.CreateCheckout(t, body)

	do(t, ctx, "open on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#pay-form")))
	overflow := run(t, ctx, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if overflow > 0 {
		t.Errorf("at 390 px the page is %d px wider than the screen", overflow)
	}
	screenshot(t, ctx, "phone")

	// An invalid card number: the error is announced next to its field.
	fill(t, ctx, "4242424242424241", true)
	do(t, ctx, "pay (invalid)", chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(`#card_number-error[role="alert"]`)))
	if d := run(t, ctx, "described", chromedp.Evaluate[string](`document.getElementById("card_number").getAttribute("aria-describedby")`)); d != "card_number-error" {
		t.Errorf("the card number input is not described by its error: %q", d)
	}

	do(t, ctx, "cancel", chromedp.Click(chromedp.CSS("a.cancel")), chromedp.WaitVisible(chromedp.CSS("#merchant-cart")))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != shop.URL+"/cart?from=checkout" {
		t.Errorf("cancel went to %s", loc)
	}
	if n := s.Count(t, "payments"); n != 0 {
		t.Errorf("%d payments after an invalid number and a cancel", n)
	}
}
