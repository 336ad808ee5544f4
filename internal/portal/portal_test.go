package portal_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/webhook"
)

// The portal over real HTTP on loopback, as a browser without JavaScript
// uses it: forms, redirects and a cookie jar. The browser tests
// (browser_test.go) drive the same pages in chromium.

const password = "correct horse battery"

// client is a signed-in (or not) browser session.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, s *apitest.Server) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: s.URL, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status   int
	Body     string
	Location string
	Header   http.Header
}

func (c *client) do(req *http.Request) page {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return page{Status: resp.StatusCode, Body: string(b), Location: resp.Header.Get("Location"), Header: resp.Header}
}

func (c *client) get(path string) page {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form, with the session's CSRF token unless form has one.
func (c *client) post(path string, form url.Values, header ...string) page {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the session's form token, read from a page as a browser has it.
func (c *client) csrf() string {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(c.get("/portal/account").Body)
	if m == nil {
		c.t.Fatal("no CSRF token on the account page")
	}
	return m[1]
}

// form is a form with the session's CSRF token.
func (c *client) form(kv ...string) url.Values {
	f := url.Values{"csrf": {c.csrf()}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func (c *client) signIn(email, pw string) page {
	c.t.Helper()
	return c.post("/portal/signin", url.Values{"email": {email}, "password": {pw}})
}

// user creates a user of s's account (or account) with the test password.
func user(t *testing.T, s *apitest.Server, account, email string, role gateway.Role) gateway.User {
	t.Helper()
	if account == "" {
		account = s.AccountID
	}
	u, _, err := s.Service.CreateUser(context.Background(), service.NewUser{AccountID: account, Email: email, Role: role, Password: password})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// signedIn is a client of a new user of role, signed in.
func signedIn(t *testing.T, s *apitest.Server, account, email string, role gateway.Role) *client {
	t.Helper()
	user(t, s, account, email, role)
	c := newClient(t, s)
	if p := c.signIn(email, password); p.Status != http.StatusSeeOther || p.Location != "/portal/" {
		t.Fatalf("sign in %s: %d to %q: %s", email, p.Status, p.Location, p.Body)
	}
	return c
}

func charge(t *testing.T, s *apitest.Server, card string, overrides map[string]any) string {
	t.Helper()
	r := s.Post(t, "/payment/charge", apitest.PaymentBody(card, overrides))
	if r.String("id") == "" {
		t.Fatalf("charge: %d %s", r.Status, r.Raw)
	}
	return r.String("id")
}

// TestEveryPageRenders signs an admin in and opens every page, with data
// on each.
func TestEveryPageRenders(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	id := charge(t, s, "4242424242424242", map[string]any{"order_id": "SO-1", "email": "ann@example.com"})
	auth := s.Post(t, "/payment/authorize", apitest.PaymentBody("5555555555554444", map[string]any{"order_id": "SO-2"})).String("id")
	s.CreateCheckout(t, apitest.CheckoutBody(1500, "https://shop.example/ok"))
	c := signedIn(t, s, "", "admin@example.com", gateway.RoleAdmin)
	if p := c.post("/portal/sandbox/products", c.form("codename", "mug_blue", "name", "Blue mug", "price", "12.50")); p.Status != http.StatusSeeOther {
		t.Fatalf("add product: %d %s", p.Status, p.Body)
	}
	for _, path := range []string{"/portal/", "/portal/sandbox/payments", "/portal/live/payments", "/portal/sandbox/payments/" + id,
		"/portal/sandbox/payments/" + auth, "/portal/sandbox/checkouts", "/portal/sandbox/products", "/portal/sandbox/products/mug_blue/edit",
		"/portal/keys", "/portal/users", "/portal/settings", "/portal/audit", "/portal/account",
		"/portal/sandbox/payments?status=captured&from=2020-01-01&to=2099-12-31&min=1&max=100000&order_id=SO-1&email=ann@example.com&last4=4242&operation=charge"} {
		p := c.get(path)
		if p.Status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, p.Status, p.Body)
			continue
		}
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if strings.Contains(p.Body, "4242424242424242") || strings.Contains(p.Body, "5555555555554444") {
			t.Errorf("GET %s shows a card number", path)
		}
	}
	if p := c.get("/portal/sandbox/payments?last4=4242"); !strings.Contains(p.Body, id) || strings.Contains(p.Body, auth) {
		t.Errorf("filter by last 4: %s", p.Body)
	}
	if p := c.get("/portal/sandbox/payments?min=abc"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Give the amount") {
		t.Errorf("a bad amount filter: %d", p.Status)
	}
	if p := c.get("/portal/nowhere/payments"); p.Status != http.StatusNotFound {
		t.Errorf("an unknown environment: %d", p.Status)
	}
}

// TestRolesAndIsolation: staff gets 403 on admin pages and actions; a
// user of another account gets 404 for a foreign payment and never sees
// another account's data.
func TestRolesAndIsolation(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	id := charge(t, s, "4242424242424242", nil)
	staff := signedIn(t, s, "", "staff@example.com", gateway.RoleStaff)
	for _, path := range []string{"/portal/keys", "/portal/users", "/portal/settings", "/portal/audit"} {
		if p := staff.get(path); p.Status != http.StatusForbidden {
			t.Errorf("staff GET %s: %d, want 403", path, p.Status)
		}
	}
	for _, path := range []string{"/portal/keys", "/portal/users", "/portal/settings"} {
		if p := staff.post(path, staff.form("environment", "sandbox", "email", "x@example.com", "name", "Hacked")); p.Status != http.StatusForbidden {
			t.Errorf("staff POST %s: %d, want 403", path, p.Status)
		}
	}
	if p := staff.get("/portal/sandbox/payments/" + id); p.Status != http.StatusOK {
		t.Errorf("staff opens a payment: %d", p.Status)
	}
	if p := staff.get("/portal/"); strings.Contains(p.Body, "/portal/keys") {
		t.Error("staff's navigation links to the keys page")
	}

	otherAccount, _ := s.CreateAccount(t, service.NewAccount{Name: "Other shop", Environment: gateway.Sandbox})
	other := signedIn(t, s, otherAccount, "other@example.com", gateway.RoleAdmin)
	for _, path := range []string{"/portal/sandbox/payments/" + id, "/portal/live/payments/" + id} {
		if p := other.get(path); p.Status != http.StatusNotFound {
			t.Errorf("another account's user GET %s: %d, want 404", path, p.Status)
		}
	}
	if p := other.post("/portal/sandbox/payments/"+id+"/refund", other.form("amount", "1.00", "confirm", "yes", "key", gateway.NewID())); p.Status != http.StatusNotFound {
		t.Errorf("another account's user refunds a foreign payment: %d, want 404", p.Status)
	}
	if p := other.get("/portal/sandbox/payments"); strings.Contains(p.Body, id) {
		t.Error("another account's list shows the payment")
	}
	if p := other.get("/portal/keys"); strings.Contains(p.Body, s.AccountID) {
		t.Error("another account's keys page shows this account's id")
	}
	if lookup := s.Post(t, "/payment/lookup", `{"payment_id":"`+id+`"}`); lookup.Data()["amount_refunded"] != float64(0) {
		t.Errorf("after the foreign refund attempt: %s", lookup.Raw)
	}
}

// TestCSRF: a state-changing form without the session's token, with
// another session's, or from another site is refused and changes nothing.
func TestCSRF(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	c := signedIn(t, s, "", "admin@example.com", gateway.RoleAdmin)
	other := signedIn(t, s, "", "admin2@example.com", gateway.RoleAdmin)
	before := s.Count(t, "api_keys")
	for name, send := range map[string]func() page{
		"no token":          func() page { return c.post("/portal/keys", url.Values{"environment": {"sandbox"}}) },
		"another session's": func() page { return c.post("/portal/keys", other.form("environment", "sandbox")) },
		"a cross-site origin": func() page {
			return c.post("/portal/keys", c.form("environment", "sandbox"), "Origin", "https://evil.example")
		},
		"cross-site fetch": func() page {
			return c.post("/portal/keys", c.form("environment", "sandbox"), "Sec-Fetch-Site", "cross-site")
		},
	} {
		if p := send(); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "form has expired") {
			t.Errorf("%s: %d %s", name, p.Status, p.Body)
		}
	}
	if n := s.Count(t, "api_keys"); n != before {
		t.Errorf("%d keys after refused forms, want %d", n, before)
	}
	if p := c.post("/portal/keys", c.form("environment", "sandbox")); p.Status != http.StatusOK {
		t.Errorf("with the token: %d", p.Status)
	}
}

// TestSignIn: wrong passwords are refused, then throttled (even the right
// one); sign-out ends the session on the server; a one-time password must
// be changed first; an idle session ends.
func TestSignIn(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	now := time.Now()
	clock := func() time.Time { return now }
	s.Service.Now = func() time.Time { return clock() }
	s.Service.SignInLimits = service.SignInLimits{PerUser: limit.Config{Rate: 1.0 / 60, Burst: 3}, PerAddress: limit.Config{Rate: 1, Burst: 100}}
	user(t, s, "", "ann@example.com", gateway.RoleAdmin)
	c := newClient(t, s)
	if p := c.get("/portal/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/portal/signin") {
		t.Fatalf("signed out: %d to %s", p.Status, p.Location)
	}
	for i := range 3 {
		if p := c.signIn("ann@example.com", "wrong password"); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "not right") {
			t.Fatalf("wrong password %d: %d", i, p.Status)
		}
	}
	p := c.signIn("ann@example.com", password)
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures the right password: %d (Retry-After %q), want 429", p.Status, p.Header.Get("Retry-After"))
	}
	now = now.Add(61 * time.Second)
	if p := c.signIn("ANN@example.com ", password); p.Status != http.StatusSeeOther || p.Location != "/portal/" {
		t.Fatalf("a minute later: %d to %s", p.Status, p.Location)
	}
	if p := c.get("/portal/"); p.Status != http.StatusOK {
		t.Fatalf("dashboard: %d", p.Status)
	}
	// Idle for longer than the idle timeout: the session has ended.
	now = now.Add(service.DefaultPortalIdleTimeout + time.Second)
	if p := c.get("/portal/"); p.Status != http.StatusSeeOther {
		t.Fatalf("after the idle timeout: %d, want a redirect to sign in", p.Status)
	}
	c.signIn("ann@example.com", password)
	if p := c.post("/portal/signout", c.form()); p.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.Status)
	}
	if n := s.Count(t, "portal_sessions"); n != 0 {
		t.Errorf("%d sessions after sign-out", n)
	}

	// An invited user's one-time password leads to choosing a new one.
	_, otp, err := s.Service.CreateUser(context.Background(), service.NewUser{AccountID: s.AccountID, Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b := newClient(t, s)
	if p := b.signIn("bob@example.com", otp); p.Location != "/portal/signin/password" {
		t.Fatalf("one-time password: to %q", p.Location)
	}
	if p := b.get("/portal/"); p.Location != "/portal/signin/password" {
		t.Errorf("before a new password the dashboard sends to %q", p.Location)
	}
	m := csrfField.FindStringSubmatch(b.get("/portal/signin/password").Body)
	if p := b.post("/portal/signin/password", url.Values{"csrf": {m[1]}, "password": {"a new password 1"}, "confirm": {"a new password 1"}}); p.Location != "/portal/" {
		t.Fatalf("new password: %d to %q %s", p.Status, p.Location, p.Body)
	}
	if p := b.get("/portal/sandbox/payments"); p.Status != http.StatusOK {
		t.Errorf("staff after a new password: %d", p.Status)
	}
}

// TestOperations: refund, capture and void from the payment's page go
// through the payment service, with confirmation, once per form, recorded
// in the ledger as the user and in the audit log with the address.
func TestOperations(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	id := charge(t, s, "4242424242424242", map[string]any{"amount": 5000})
	c := signedIn(t, s, "", "ops@example.com", gateway.RoleStaff)
	path := "/portal/sandbox/payments/" + id + "/refund"
	p := c.post(path, c.form("amount", "12.50"))
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Yes, Refund") {
		t.Fatalf("refund asks to confirm: %d", p.Status)
	}
	key := regexp.MustCompile(`name="key" value="([A-Z0-9]+)"`).FindStringSubmatch(p.Body)[1]
	confirm := c.form("amount", "12.50", "confirm", "yes", "key", key)
	for range 2 { // a double submit refunds once
		if p := c.post(path, confirm); p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "?done=refund") {
			t.Fatalf("confirmed refund: %d %s", p.Status, p.Body)
		}
	}
	lookup := s.Post(t, "/payment/lookup", `{"payment_id":"`+id+`"}`)
	if lookup.Data()["amount_refunded"] != float64(1250) {
		t.Fatalf("after the refund: %s", lookup.Raw)
	}
	if p := c.post(path, c.form("amount", "100.00", "confirm", "yes", "key", gateway.NewID())); p.Status != http.StatusBadRequest ||
		!strings.Contains(html.UnescapeString(p.Body), "exceeds the refundable amount") {
		t.Errorf("a refund over the rest: %d", p.Status)
	}
	if p := c.post(path, c.form("amount", "1.234", "confirm", "yes", "key", gateway.NewID())); p.Status != http.StatusBadRequest {
		t.Errorf("a refund with three decimals: %d", p.Status)
	}
	auth := s.Post(t, "/payment/authorize", apitest.PaymentBody("4242424242424242", map[string]any{"amount": 3000})).String("id")
	if p := c.post("/portal/sandbox/payments/"+auth+"/capture", c.form("amount", "20", "confirm", "yes", "key", gateway.NewID())); p.Status != http.StatusSeeOther {
		t.Fatalf("capture: %d %s", p.Status, p.Body)
	}
	auth2 := s.Post(t, "/payment/authorize", apitest.PaymentBody("4242424242424242", map[string]any{"amount": 3000})).String("id")
	if p := c.post("/portal/sandbox/payments/"+auth2+"/void", c.form("confirm", "yes", "key", gateway.NewID())); p.Status != http.StatusSeeOther {
		t.Fatalf("void: %d %s", p.Status, p.Body)
	}
	if st := s.Post(t, "/payment/lookup", `{"payment_id":"`+auth2+`"}`).Data()["status"]; st != "voided" {
		t.Errorf("after void: %v", st)
	}
	actors := s.Column(t, "SELECT actor FROM transactions WHERE operation IN ('refund', 'capture', 'void')")
	for _, a := range actors {
		if !strings.HasPrefix(string(a), "user:") {
			t.Errorf("a portal operation's ledger actor is %q", a)
		}
	}
	if ips := s.Column(t, "SELECT client_ip FROM audit_log WHERE action = 'payment.refund_requested'"); len(ips) != 1 || string(ips[0]) != "127.0.0.1" {
		t.Errorf("the refund's audit entries' addresses: %q", ips)
	}
}

// TestCSVExport: the export is exactly the filtered set, parses as CSV
// with a header, amounts in major units, and formula-looking text quoted.
func TestCSVExport(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	want := map[string]bool{}
	for i := range 3 {
		want[charge(t, s, "4242424242424242", map[string]any{"amount": 1050 + i, "order_id": "=HYPERLINK(\"x\")", "firstname": "@Ann"})] = true
	}
	charge(t, s, "5555555555554444", nil)
	c := signedIn(t, s, "", "csv@example.com", gateway.RoleStaff)
	p := c.get("/portal/sandbox/payments.csv?last4=4242")
	if p.Status != http.StatusOK || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(p.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", p.Status, p.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
	if err != nil {
		t.Fatalf("the export does not parse: %v", err)
	}
	if len(rows) != 4 || rows[0][0] != "created_at" || rows[0][6] != "amount" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	for _, r := range rows[1:] {
		if !want[r[1]] {
			t.Errorf("the export has %s, not in the filter", r[1])
		}
		if r[4] != `'=HYPERLINK("x")` || r[12] != "'@Ann" || r[5] != "USD" || !strings.HasPrefix(r[6], "10.5") || r[10] != "4242" {
			t.Errorf("row %v", r)
		}
	}
}

// TestKeysAndSettings: a key made in the portal works at once and stops
// at revocation; the business name reaches the hosted page; the 2FA
// requirement sends a user without it to enrolment.
func TestKeysAndSettings(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	c := signedIn(t, s, "", "admin@example.com", gateway.RoleAdmin)
	p := c.post("/portal/keys", c.form("environment", "sandbox"))
	m := regexp.MustCompile(`id="created-key" readonly value="([0-9a-f]{40})"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the new key is not shown: %s", p.Body)
	}
	key := m[1]
	hdr := map[string]string{"Authorization": "Bearer " + key}
	if r := s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil), hdr); r.Status != http.StatusOK {
		t.Fatalf("charge with the new key: %d %s", r.Status, r.Raw)
	}
	if strings.Contains(c.get("/portal/keys").Body, key) {
		t.Error("the keys page shows the full key again")
	}
	keys, _ := s.Service.Keys(context.Background(), s.AccountID)
	var keyID string
	for _, k := range keys {
		if k.Hint == key[36:] {
			keyID = k.ID
			if k.LastUsedAt.IsZero() {
				t.Error("the key's last use is not shown")
			}
		}
	}
	if p := c.post("/portal/keys/"+keyID+"/revoke", c.form("confirm", "yes")); p.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", p.Status, p.Body)
	}
	if r := s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil), hdr); r.Status != http.StatusUnauthorized {
		t.Errorf("charge with the revoked key: %d", r.Status)
	}

	if p := c.post("/portal/settings", c.form("name", "Blue Mug Shop", "window", "custom", "minutes", "5", "require_2fa", "on")); p.Status != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", p.Status, p.Body)
	}
	page := s.CreateCheckout(t, apitest.CheckoutBody(1500, "https://shop.example/ok"))
	if r := s.Get(t, page); !strings.Contains(string(r.Raw), "Blue Mug Shop") {
		t.Error("the hosted page does not show the new business name")
	}
	// The live processor: a malformed key is refused; a good one is kept
	// sealed, shown by its last 4 only, and recorded.
	if p := c.post("/portal/settings/processor", c.form("processor", "stripe", "secret_key", "pk_live_nope")); p.Status != http.StatusBadRequest {
		t.Errorf("a publishable key as the secret: %d", p.Status)
	}
	secret := "sk_test_portal0123456789abcd"
	if p := c.post("/portal/settings/processor", c.form("processor", "stripe", "secret_key", secret)); p.Status != http.StatusSeeOther {
		t.Fatalf("set the live processor: %d %s", p.Status, p.Body)
	}
	if p := c.get("/portal/settings"); !strings.Contains(p.Body, "…abcd") || strings.Contains(p.Body, secret) {
		t.Error("the settings page does not show the processor's key by its last 4 only")
	}
	if cfg, err := s.Service.ProcessorConfig(context.Background(), s.AccountID); err != nil || cfg.Processor != "stripe" {
		t.Errorf("the account's live processor: %+v %v", cfg, err)
	}

	user(t, s, "", "new@example.com", gateway.RoleStaff)
	n := newClient(t, s)
	if p := n.signIn("new@example.com", password); p.Location != "/portal/signin/enrol" {
		t.Errorf("with 2FA required, a user without it goes to %q", p.Location)
	}
}

// TestWebhooks: an admin adds an endpoint (its secret shown once), sees
// its deliveries and their attempts, sends an event again, rotates the
// secret, turns the endpoint off and removes it; every change is in the
// audit log; staff and other accounts cannot reach any of it.
func TestWebhooks(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	var mu sync.Mutex
	var received [][]byte
	var signatures []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		received, signatures = append(received, b), append(signatures, r.Header.Get("CartGateway-Signature"))
		mu.Unlock()
		_, _ = io.WriteString(w, "thanks")
	}))
	defer receiver.Close()
	got := func() int { mu.Lock(); defer mu.Unlock(); return len(received) }
	// deliver runs delivery until the receiver has want events (PostgreSQL
	// fans a ledger row out once no older transaction can still commit).
	deliver := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); got() < want; time.Sleep(50 * time.Millisecond) {
			if err := s.Service.DeliverWebhooksOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the receiver has %d events, want %d", got(), want)
			}
		}
	}

	c := signedIn(t, s, "", "admin@example.com", gateway.RoleAdmin)
	if p := c.post("/portal/sandbox/webhooks", c.form("url", "ftp://shop.example/hooks")); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `role="alert"`) {
		t.Errorf("an ftp URL: %d", p.Status)
	}
	form := c.form("url", receiver.URL+"/hooks")
	form["events"] = []string{gateway.EventPaymentCaptured, gateway.EventPaymentRefunded}
	p := c.post("/portal/sandbox/webhooks", form)
	secretField := regexp.MustCompile(`id="webhook-secret" readonly value="(whsec_[^"]+)"`)
	m := secretField.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("add endpoint: %d %s", p.Status, p.Body)
	}
	secret := m[1]
	if strings.Contains(c.get("/portal/sandbox/webhooks").Body, secret) {
		t.Error("the webhooks page shows the secret again")
	}
	if p := c.get("/portal/live/webhooks"); strings.Contains(p.Body, receiver.URL) {
		t.Error("the live page lists a sandbox endpoint")
	}

	id := charge(t, s, "4242424242424242", nil)
	deliver(1)
	mu.Lock()
	body, sig := received[0], signatures[0]
	mu.Unlock()
	if err := webhook.Verify(body, sig, secret, 5*time.Minute); err != nil {
		t.Fatalf("the event does not verify with the secret the portal showed: %v", err)
	}
	var event struct{ ID, Type string }
	if err := json.Unmarshal(body, &event); err != nil || event.Type != gateway.EventPaymentCaptured {
		t.Fatalf("event %s: %v", body, err)
	}
	list := c.get("/portal/sandbox/webhooks")
	if !strings.Contains(list.Body, event.ID) || !strings.Contains(list.Body, id) || !strings.Contains(list.Body, "delivered") {
		t.Errorf("the deliveries list does not show the event: %s", list.Body)
	}
	ev := c.get("/portal/sandbox/webhooks/events/" + event.ID)
	if ev.Status != http.StatusOK || !strings.Contains(ev.Body, "HTTP 200") || !strings.Contains(ev.Body, "thanks") {
		t.Errorf("the event's page: %d %s", ev.Status, ev.Body)
	}
	if p := c.post("/portal/sandbox/webhooks/events/"+event.ID+"/resend", c.form()); p.Status != http.StatusSeeOther {
		t.Fatalf("resend: %d %s", p.Status, p.Body)
	}
	deliver(2)
	mu.Lock()
	again := received[1]
	mu.Unlock()
	if !strings.Contains(string(again), event.ID) {
		t.Errorf("the resent event is another one: %s", again)
	}

	endpoints, _ := s.Service.WebhookEndpoints(context.Background(), s.AccountID)
	if len(endpoints) != 1 {
		t.Fatalf("endpoints: %+v", endpoints)
	}
	ep := "/portal/sandbox/webhooks/" + endpoints[0].ID
	if p := c.post(ep+"/rotate", c.form()); p.Status != http.StatusOK || !strings.Contains(p.Body, "Yes, rotate") || secretField.MatchString(p.Body) {
		t.Errorf("rotate asks first: %d", p.Status)
	}
	m = secretField.FindStringSubmatch(c.post(ep+"/rotate", c.form("confirm", "yes")).Body)
	if m == nil || m[1] == secret {
		t.Fatal("no new secret after the rotation")
	}
	if p := c.post(ep+"/disable", c.form()); p.Status != http.StatusSeeOther {
		t.Errorf("disable: %d", p.Status)
	}
	if e, _ := s.Service.WebhookEndpoints(context.Background(), s.AccountID); len(e) != 1 || e[0].Enabled {
		t.Errorf("after disable: %+v", e)
	}

	// Staff and another account's admin reach none of it.
	staff := signedIn(t, s, "", "staff@example.com", gateway.RoleStaff)
	if p := staff.get("/portal/sandbox/webhooks"); p.Status != http.StatusForbidden {
		t.Errorf("staff GET webhooks: %d", p.Status)
	}
	if p := staff.post(ep+"/remove", staff.form("confirm", "yes")); p.Status != http.StatusForbidden {
		t.Errorf("staff removes an endpoint: %d", p.Status)
	}
	otherAccount, _ := s.CreateAccount(t, service.NewAccount{Name: "Other shop", Environment: gateway.Sandbox})
	other := signedIn(t, s, otherAccount, "other@example.com", gateway.RoleAdmin)
	if p := other.get("/portal/sandbox/webhooks/events/" + event.ID); p.Status != http.StatusNotFound {
		t.Errorf("another account opens the event: %d", p.Status)
	}
	for _, action := range []string{"remove", "rotate", "enable"} {
		if p := other.post(ep+"/"+action, other.form("confirm", "yes")); p.Status != http.StatusNotFound {
			t.Errorf("another account's %s: %d", action, p.Status)
		}
	}
	if p := other.post("/portal/sandbox/webhooks/events/"+event.ID+"/resend", other.form()); p.Status != http.StatusNotFound {
		t.Errorf("another account resends the event: %d", p.Status)
	}
	if p := c.post("/portal/live/webhooks/"+endpoints[0].ID+"/remove", c.form("confirm", "yes")); p.Status != http.StatusNotFound {
		t.Errorf("a sandbox endpoint removed from the live page: %d", p.Status)
	}

	if p := c.post(ep+"/remove", c.form("confirm", "yes")); p.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", p.Status, p.Body)
	}
	if e, _ := s.Service.WebhookEndpoints(context.Background(), s.AccountID); len(e) != 0 {
		t.Errorf("after remove: %+v", e)
	}
	audit := c.get("/portal/audit").Body
	for _, action := range []string{"webhook.endpoint_added", "webhook.event_resent", "webhook.secret_rotated", "webhook.endpoint_updated", "webhook.endpoint_removed"} {
		if !strings.Contains(audit, action) {
			t.Errorf("the audit log has no %s", action)
		}
	}
	if strings.Contains(audit, secret) || strings.Contains(audit, m[1]) {
		t.Error("the audit log shows a signing secret")
	}
}
