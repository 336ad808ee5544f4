package portal_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/browsertest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/service"
)

// The portal in a real browser: Debian's chromium, headless, against a
// real gateway on loopback (SQLite, or PostgreSQL with
// CARTGATEWAY_TEST_BACKEND=postgres), as a merchant's team uses it.
// Screenshots of every page are left in the artifacts folder; the ones in
// docs/images are copies.

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	browsertest.Do(t, ctx, what, steps...)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return browsertest.Run(t, ctx, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	browsertest.Screenshot(t, ctx, browsertest.Artifacts(t, "portal-"+apitest.Backend()), name)
}

// open navigates to a portal page and waits for its heading.
func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// submit clicks a form's submit button and waits for the next page: the
// page it leaves is marked, so that its own heading does not count.
func submit(t *testing.T, ctx context.Context, button string) {
	t.Helper()
	browsertest.Run(t, ctx, "mark the page", chromedp.Evaluate[string](`document.body.dataset.left = "yes"`))
	do(t, ctx, "submit "+button, chromedp.Click(chromedp.CSS(button)), chromedp.WaitNotPresent(chromedp.CSS("body[data-left]")), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

func signInAs(t *testing.T, ctx context.Context, base, email, pw string) {
	t.Helper()
	open(t, ctx, base+"/portal/signin")
	do(t, ctx, "sign in", chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), pw))
	submit(t, ctx, "main button[type=submit]")
}

// history fills the account with a month of payments written straight to
// the store, so that the dashboard's chart has something to show.
func history(t *testing.T, s *apitest.Server) {
	t.Helper()
	now := time.Now().UTC()
	err := s.Store.Update(context.Background(), func(tx gateway.Tx) error {
		for day := 29; day >= 1; day-- {
			for i := range 1 + (day*7)%5 {
				at := now.AddDate(0, 0, -day).Add(time.Duration(i) * time.Hour)
				id := gateway.NewID()
				amount := int64(1500 + (day*i*977)%9000)
				status, captured := gateway.StatusCaptured, amount
				if (day+i)%9 == 0 {
					status, captured, amount = gateway.StatusDeclined, 0, 0
				}
				p := gateway.Payment{ID: id, AccountID: s.AccountID, Environment: gateway.Sandbox, Status: status, Currency: "USD",
					AuthorizedAmount: amount, CapturedAmount: captured, OrderID: fmt.Sprintf("SO-%d-%d", day, i),
					Card:     gateway.CardSummary{Brand: "visa", BIN: "424242", Last4: "4242", ExpMonth: 10, ExpYear: 2031},
					Customer: gateway.Customer{FirstName: "Past", LastName: "Customer", Email: "past@example.com"}, CreatedAt: at, UpdatedAt: at, Version: 1}
				if err := tx.InsertPayment(context.Background(), p); err != nil {
					return err
				}
				if err := tx.InsertTransaction(context.Background(), gateway.Transaction{ID: id, PaymentID: id, AccountID: s.AccountID,
					Environment: gateway.Sandbox, Operation: gateway.OpCharge, Result: gateway.ResultApproved, Amount: amount, CreatedAt: at, Actor: "key:seed"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBrowserPortal is an admin's and a staff member's day: sign-in
// (refused, throttled), the Account ID, a key made, used and revoked, TOTP
// enrolment and sign-in with a code, finding a payment by last 4 and by
// order id, a partial refund seen through the API, the CSV export, roles,
// isolation and CSRF, with a screenshot of every page.
func TestBrowserPortal(t *testing.T) {
	ctx := browsertest.Tab(t)
	s := apitest.Start(t, apitest.Options{})
	var offset atomic.Int64 // the service's clock runs ahead of the wall's by this (TOTP steps)
	s.Service.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s.Service.SignInLimits = service.SignInLimits{PerUser: limit.Config{Rate: 1.0 / 600, Burst: 3}, PerAddress: limit.Config{Rate: 1, Burst: 50}}
	history(t, s)
	id := charge(t, s, "4242424242424242", map[string]any{"amount": 4200, "order_id": "SO-1042", "email": "ann@example.com", "firstname": "Ann", "lastname": "Lee"})
	charge(t, s, "5555555555554444", map[string]any{"amount": 1999, "order_id": "SO-1043"})
	charge(t, s, "4000000000000002", map[string]any{"amount": 800, "order_id": "SO-1044"})
	s.CreateCheckout(t, apitest.CheckoutBody(2400, "https://shop.example/ok"))
	user(t, s, "", "admin@example.com", gateway.RoleAdmin)
	base := s.URL

	// Sign-in: a wrong password is refused; after three, even the right
	// one is throttled.
	open(t, ctx, base+"/portal/")
	shot(t, ctx, "signin")
	for range 3 {
		signInAs(t, ctx, base, "nobody@example.com", "wrong password")
	}
	if a := text(t, ctx, "#page-alert"); !strings.Contains(a, "not right") {
		t.Errorf("a wrong password: alert %q", a)
	}
	signInAs(t, ctx, base, "nobody@example.com", "wrong password")
	if a := text(t, ctx, "#page-alert"); !strings.Contains(a, "Too many failed sign-in attempts") {
		t.Errorf("the fourth wrong password: alert %q", a)
	}
	shot(t, ctx, "signin-throttled")

	signInAs(t, ctx, base, "admin@example.com", password)
	if h := text(t, ctx, "main h1"); h != "Dashboard" {
		t.Fatalf("after sign-in: %q", h)
	}
	shot(t, ctx, "dashboard")

	// The Account ID, and a key: made, used against the API, revoked.
	open(t, ctx, base+"/portal/keys")
	if got := browsertest.Run(t, ctx, "account id", chromedp.Value(chromedp.CSS("#account-id"))); got != s.AccountID {
		t.Errorf("the keys page shows account %q, want %s", got, s.AccountID)
	}
	do(t, ctx, "create a key", chromedp.SetValue(chromedp.CSS("#environment"), "sandbox"))
	submit(t, ctx, `form[action="/portal/keys"] button[type=submit]`)
	key := browsertest.Run(t, ctx, "new key", chromedp.Value(chromedp.CSS("#created-key")))
	shot(t, ctx, "key-created")
	hdr := map[string]string{"Authorization": "Bearer " + key}
	if r := s.Request(t, http.MethodPost, "/payment/lookup", `{"payment_id":"`+id+`"}`, hdr); r.Status != http.StatusOK {
		t.Fatalf("lookup with the new key: %d %s", r.Status, r.Raw)
	}
	open(t, ctx, base+"/portal/keys")
	submit(t, ctx, `form[action^="/portal/keys/"] button[type=submit]`)
	// The newest key is listed first: the one just made.
	if txt := text(t, ctx, "main"); !strings.Contains(txt, "…"+key[36:]) {
		t.Errorf("the revoke confirmation does not name the key …%s: %s", key[36:], txt)
	}
	shot(t, ctx, "key-revoke")
	submit(t, ctx, "main form button.danger")
	if r := s.Request(t, http.MethodPost, "/payment/lookup", `{"payment_id":"`+id+`"}`, hdr); r.Status != http.StatusUnauthorized {
		t.Errorf("lookup with the revoked key: %d, want 401", r.Status)
	}
	shot(t, ctx, "keys")

	// TOTP: enrol, sign out, sign in with password and code.
	open(t, ctx, base+"/portal/account")
	shot(t, ctx, "account")
	submit(t, ctx, `form[action="/portal/account/totp"] button`)
	secret := strings.ReplaceAll(text(t, ctx, "#totp-secret"), " ", "")
	shot(t, ctx, "totp-enrol")
	code, err := totp.GenerateCode(secret, s.Service.Now())
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "enter the code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	submit(t, ctx, "main form button")
	if f := text(t, ctx, ".flash"); !strings.Contains(f, "Two-factor sign-in is on") {
		t.Errorf("after enrolment: %q", f)
	}
	submit(t, ctx, `form[action="/portal/signout"] button`)
	signInAs(t, ctx, base, "admin@example.com", password)
	if h := text(t, ctx, "main h1"); h != "Two-factor sign-in" {
		t.Fatalf("with TOTP on, sign-in asks for %q", h)
	}
	shot(t, ctx, "signin-code")
	do(t, ctx, "a used code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	submit(t, ctx, "main form button")
	if a := text(t, ctx, "#page-alert"); !strings.Contains(a, "used already") {
		t.Errorf("the enrolment's code again: %q", a)
	}
	offset.Store(int64(30 * time.Second)) // the next time step
	code, _ = totp.GenerateCode(secret, s.Service.Now())
	do(t, ctx, "the next code", chromedp.SendKeys(chromedp.CSS("#code"), code))
	submit(t, ctx, "main form button")
	if h := text(t, ctx, "main h1"); h != "Dashboard" {
		t.Fatalf("after the code: %q", h)
	}

	// Find the payment by last 4, then by order id; refund part of it.
	open(t, ctx, base+"/portal/sandbox/payments")
	shot(t, ctx, "payments")
	do(t, ctx, "filter by last 4", chromedp.Click(chromedp.CSS("details.filters summary")), chromedp.SendKeys(chromedp.CSS("#last4"), "4242"))
	submit(t, ctx, ".filter-form button[type=submit]")
	if txt := text(t, ctx, "table.list tbody"); !strings.Contains(txt, id) || strings.Contains(txt, "SO-1043") {
		t.Errorf("by last 4: %s", txt)
	}
	shot(t, ctx, "payments-filtered")
	open(t, ctx, base+"/portal/sandbox/payments?order_id=SO-1042")
	if n := browsertest.Run(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll("table.list tbody tr").length`)); n != 1 {
		t.Errorf("by order id: %d rows", n)
	}
	open(t, ctx, base+"/portal/sandbox/payments?from="+time.Now().UTC().Format(time.DateOnly))
	shot(t, ctx, "payments-today")
	do(t, ctx, "open the payment", chromedp.Click(chromedp.CSS(`a[href$="/payments/`+id+`"]`)), chromedp.WaitVisible(chromedp.CSS("#refund-amount")))
	shot(t, ctx, "payment")
	browsertest.Run(t, ctx, "clear the amount", chromedp.Evaluate[string](`document.querySelector("#refund-amount").value = ""`))
	do(t, ctx, "refund 15.00", chromedp.SendKeys(chromedp.CSS("#refund-amount"), "15.00"))
	submit(t, ctx, `form[action$="/refund"] button`)
	shot(t, ctx, "refund-confirm")
	submit(t, ctx, "main form button[type=submit]")
	if f := text(t, ctx, ".flash"); !strings.Contains(f, "refund was made") {
		t.Errorf("after the refund: %q", f)
	}
	shot(t, ctx, "payment-refunded")
	lookup := s.Post(t, "/payment/lookup", `{"payment_id":"`+id+`"}`)
	if lookup.Data()["amount_refunded"] != float64(1500) || lookup.Data()["status"] != "captured" {
		t.Errorf("the API's lookup after the portal's refund: %s", lookup.Raw)
	}

	// The CSV export of the filtered set, downloaded with the browser's
	// session (its cookie is HttpOnly: read through the DevTools protocol).
	open(t, ctx, base+"/portal/sandbox/payments?last4=4242&order_id=SO-1042")
	href := browsertest.Run(t, ctx, "export link", chromedp.Evaluate[string](`document.querySelector("a[download]").href`))
	cookies := browsertest.Run(t, ctx, "cookies", func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
		return res.Cookies, err
	})
	req, _ := http.NewRequest(http.MethodGet, href, nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][1] != id || rows[1][6] != "42.00" || rows[1][8] != "15.00" {
		t.Errorf("the export: %v %q", err, rows)
	}

	// The other pages, for the record.
	for _, p := range []struct{ path, name string }{
		{"/portal/sandbox/checkouts", "checkouts"}, {"/portal/settings", "settings"}, {"/portal/audit", "audit"},
	} {
		open(t, ctx, base+p.path)
		shot(t, ctx, p.name)
	}
	open(t, ctx, base+"/portal/sandbox/products")
	do(t, ctx, "add a product", chromedp.SendKeys(chromedp.CSS("#codename"), "mug_blue"), chromedp.SendKeys(chromedp.CSS("#pname"), "Stoneware mug, blue"),
		chromedp.SendKeys(chromedp.CSS("#price"), "18.00"))
	submit(t, ctx, `form[action$="/products"] button`)
	shot(t, ctx, "products")
	open(t, ctx, base+"/portal/sandbox/products/mug_blue/edit")
	shot(t, ctx, "product-edit")
	open(t, ctx, base+"/portal/users")
	do(t, ctx, "invite", chromedp.SendKeys(chromedp.CSS("#iemail"), "staff@example.com"), chromedp.SetValue(chromedp.CSS("#irole"), "staff"))
	submit(t, ctx, `form[action="/portal/users"] button`)
	otp := browsertest.Run(t, ctx, "one-time password", chromedp.Value(chromedp.CSS("#otp")))
	shot(t, ctx, "users")

	// A POST whose CSRF token was tampered with is refused.
	open(t, ctx, base+"/portal/settings")
	do(t, ctx, "tamper", chromedp.SetValue(chromedp.CSS(`main input[name="csrf"]`), "forged"))
	submit(t, ctx, "main form button[type=submit]")
	if h := text(t, ctx, "main h1"); h != "Not allowed" {
		t.Errorf("a forged CSRF token: %q", h)
	}
	shot(t, ctx, "csrf-refused")

	// Phone: no sideways scrolling on the busiest pages.
	phone, cancel := chromedp.NewContext(ctx)
	defer cancel()
	do(t, phone, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []struct{ path, name string }{{"/portal/", "phone-dashboard"}, {"/portal/sandbox/payments?from=" + time.Now().UTC().Format(time.DateOnly), "phone-payments"},
		{"/portal/sandbox/payments/" + id, "phone-payment"}} {
		open(t, phone, base+p.path)
		if over := browsertest.Run(t, phone, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); over > 0 {
			t.Errorf("%s on a phone is %d px too wide", p.path, over)
		}
		shot(t, phone, p.name)
	}

	// Staff: no keys page; another account: no foreign payment.
	staff := browsertest.Tab(t)
	signInAs(t, staff, base, "staff@example.com", otp)
	do(t, staff, "new password", chromedp.SendKeys(chromedp.CSS("#password"), "staff password 1"), chromedp.SendKeys(chromedp.CSS("#confirm"), "staff password 1"))
	submit(t, staff, "main form button")
	open(t, staff, base+"/portal/keys")
	if h := text(t, staff, "main h1"); h != "Not allowed" {
		t.Errorf("staff on the keys page: %q", h)
	}
	shot(t, staff, "staff-forbidden")
	otherAccount, _ := s.CreateAccount(t, service.NewAccount{Name: "Other shop", Environment: gateway.Sandbox})
	user(t, s, otherAccount, "other@example.com", gateway.RoleAdmin)
	other := browsertest.Tab(t)
	signInAs(t, other, base, "other@example.com", password)
	open(t, other, base+"/portal/sandbox/payments/"+id)
	if h := text(t, other, "main h1"); h != "Not found" {
		t.Errorf("another account's user on the payment: %q", h)
	}
	shot(t, other, "not-found")

	// Every page has labelled inputs and one main heading.
	open(t, ctx, base+"/portal/sandbox/payments")
	unlabelled := browsertest.Run(t, ctx, "labels", chromedp.Evaluate[int](
		`[...document.querySelectorAll("input:not([type=hidden]), select")].filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).length`))
	if unlabelled != 0 {
		t.Errorf("%d inputs without a label", unlabelled)
	}
}

// TestBrowserWebhooks: an admin adds a webhook endpoint (its secret shown
// once), an event is delivered to it, and its page shows the attempt; the
// webhooks page fits a phone.
func TestBrowserWebhooks(t *testing.T) {
	ctx := browsertest.Tab(t)
	s := apitest.Start(t, apitest.Options{})
	user(t, s, "", "admin@example.com", gateway.RoleAdmin)
	base := s.URL
	signInAs(t, ctx, base, "admin@example.com", password)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"received":true}`)
	}))
	defer receiver.Close()
	open(t, ctx, base+"/portal/sandbox/webhooks")
	do(t, ctx, "add an endpoint", chromedp.SendKeys(chromedp.CSS("#webhook-url"), receiver.URL+"/cartgateway"),
		chromedp.Click(chromedp.CSS(`input[value="payment.captured"]`)), chromedp.Click(chromedp.CSS(`input[value="payment.refunded"]`)))
	submit(t, ctx, `form[action$="/webhooks"] button`)
	if secret := browsertest.Run(t, ctx, "signing secret", chromedp.Value(chromedp.CSS("#webhook-secret"))); !strings.HasPrefix(secret, "whsec_") {
		t.Errorf("the signing secret shown: %q", secret)
	}
	shot(t, ctx, "webhook-added")
	hooked := charge(t, s, "4242424242424242", map[string]any{"order_id": "SO-HOOK"})
	// Delivery runs until the new charge's event has arrived (PostgreSQL
	// fans a ledger row out once no older transaction can still commit).
	var event string
	for deadline := time.Now().Add(15 * time.Second); event == ""; time.Sleep(50 * time.Millisecond) {
		if err := s.Service.DeliverWebhooksOnce(context.Background()); err != nil || time.Now().After(deadline) {
			t.Fatalf("the event of %s was not delivered: %v", hooked, err)
		}
		ds, err := s.Service.WebhookDeliveries(context.Background(), gateway.WebhookDeliveryFilter{AccountID: s.AccountID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.PaymentID == hooked && d.Status == gateway.DeliveryDelivered {
				event = d.EventID
			}
		}
	}
	open(t, ctx, base+"/portal/sandbox/webhooks")
	shot(t, ctx, "webhooks")
	do(t, ctx, "open the event", chromedp.Click(chromedp.CSS(`a[href$="/webhooks/events/`+event+`"]`)), chromedp.WaitVisible(chromedp.CSS("main section h2")))
	if got := text(t, ctx, "main"); !strings.Contains(got, "HTTP 200") || !strings.Contains(got, `{"received":true}`) {
		t.Errorf("the event's page: %s", got)
	}
	shot(t, ctx, "webhook-event")

	phone, cancel := chromedp.NewContext(ctx)
	defer cancel()
	do(t, phone, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	open(t, phone, base+"/portal/sandbox/webhooks")
	if over := browsertest.Run(t, phone, "width", chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`)); over > 0 {
		t.Errorf("the webhooks page on a phone is %d px too wide", over)
	}
	shot(t, phone, "phone-webhooks")
}
