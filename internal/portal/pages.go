package portal

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// ---- Sign-in ----

type signInData struct {
	Email, Next string
	SignedOut   bool
}

func (pt *Portal) signInPage(q *request) {
	if c, err := q.r.Cookie(cookieName(q.r)); err == nil {
		if p, err := pt.Service.PortalSession(q.r.Context(), c.Value); err == nil {
			http.Redirect(q.w, q.r, stagePath(p.Session.Stage), http.StatusSeeOther)
			return
		}
	}
	v := &view{Title: "Sign in", Data: signInData{Next: safeNext(q.r.URL.Query().Get("next")), SignedOut: q.r.URL.Query().Has("signed_out")}}
	render(q.w, http.StatusOK, "signin", v)
}

func (pt *Portal) signIn(q *request) {
	f := q.r.PostForm
	data := signInData{Email: f.Get("email"), Next: safeNext(f.Get("next"))}
	in, err := pt.Service.SignIn(q.ctx, f.Get("email"), f.Get("password"), q.client)
	if err != nil {
		e := gateway.AsError(err)
		status := http.StatusUnauthorized
		switch e.Kind {
		case gateway.KindRateLimited:
			status = http.StatusTooManyRequests
			q.w.Header().Set("Retry-After", e.Field)
		case gateway.KindUnauthorized:
		default:
			pt.Fail(q.w, q.r, err)
			return
		}
		render(q.w, status, "signin", &view{Title: "Sign in", Alert: e.Message, Data: data})
		return
	}
	setSessionCookie(q.w, q.r, in.Token, 0)
	next := stagePath(in.Stage)
	if in.Stage == gateway.StageSignedIn {
		next = data.Next
	}
	http.Redirect(q.w, q.r, next, http.StatusSeeOther)
}

func (pt *Portal) codePage(q *request) {
	render(q.w, http.StatusOK, "code", pt.view(q, "Two-factor sign-in", ""))
}

func (pt *Portal) code(q *request) {
	stage, err := pt.Service.VerifySignInCode(q.ctx, q.p, q.r.PostForm.Get("code"), q.client)
	if err != nil {
		e := gateway.AsError(err)
		v := pt.view(q, "Two-factor sign-in", "")
		v.Alert = e.Message
		status := http.StatusUnauthorized
		if e.Kind == gateway.KindRateLimited {
			status = http.StatusTooManyRequests
			q.w.Header().Set("Retry-After", e.Field)
		} else if e.Kind != gateway.KindUnauthorized {
			pt.Fail(q.w, q.r, err)
			return
		}
		render(q.w, status, "code", v)
		return
	}
	http.Redirect(q.w, q.r, stagePath(stage), http.StatusSeeOther)
}

func (pt *Portal) newPasswordPage(q *request) {
	render(q.w, http.StatusOK, "new-password", pt.view(q, "Choose your password", ""))
}

func (pt *Portal) newPassword(q *request) {
	f := q.r.PostForm
	if f.Get("password") != f.Get("confirm") {
		v := pt.view(q, "Choose your password", "")
		v.Alert = "The two passwords are not the same."
		render(q.w, http.StatusBadRequest, "new-password", v)
		return
	}
	stage, err := pt.Service.ChangePassword(q.ctx, q.p, "", f.Get("password"), q.client)
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		v := pt.view(q, "Choose your password", "")
		v.Alert = gateway.AsError(err).Message
		render(q.w, http.StatusBadRequest, "new-password", v)
		return
	}
	http.Redirect(q.w, q.r, stagePath(stage), http.StatusSeeOther)
}

// failed answers an error that is not the user's to correct in the form
// (a bug, an outage, a throttle) with an error page, and says so.
func failed(pt *Portal, q *request, err error) bool {
	switch gateway.ErrorKind(err) {
	case gateway.KindInternal, gateway.KindRateLimited, gateway.KindNotFound, gateway.KindForbidden:
		pt.Fail(q.w, q.r, err)
		return true
	}
	return false
}

type enrolData struct {
	QR             string // data: URL of the PNG
	Secret, Sealed string
	Action         string
}

func enrolView(pt *Portal, q *request, e service.TOTPEnrolment, action string) *view {
	v := pt.view(q, "Set up two-factor sign-in", "account")
	// Spaced in fours, as authenticator apps show secrets.
	var spaced []string
	for s := e.Secret; len(s) > 0; {
		n := min(4, len(s))
		spaced, s = append(spaced, s[:n]), s[n:]
	}
	v.Data = enrolData{QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG), Secret: strings.Join(spaced, " "),
		Sealed: e.Sealed, Action: action}
	return v
}

func (pt *Portal) enrolPage(q *request) {
	e, err := pt.Service.BeginTOTP(q.p)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	v := enrolView(pt, q, e, "/portal/signin/enrol")
	v.Flash = "Your account requires two-factor sign-in: set it up to continue."
	render(q.w, http.StatusOK, "enrol", v)
}

func (pt *Portal) enrol(q *request) { pt.confirmEnrolment(q, "/portal/signin/enrol") }

func (pt *Portal) confirmEnrolment(q *request, action string) {
	sealed := q.r.PostForm.Get("sealed")
	stage, err := pt.Service.ConfirmTOTP(q.ctx, q.p, sealed, q.r.PostForm.Get("code"))
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		e, ok := pt.Service.ResumeTOTP(q.p, sealed)
		if !ok {
			pt.Fail(q.w, q.r, err)
			return
		}
		v := enrolView(pt, q, e, action)
		v.Alert = gateway.AsError(err).Message
		render(q.w, http.StatusBadRequest, "enrol", v)
		return
	}
	if action == "/portal/signin/enrol" {
		http.Redirect(q.w, q.r, stagePath(stage), http.StatusSeeOther)
		return
	}
	http.Redirect(q.w, q.r, "/portal/account?done=totp-on", http.StatusSeeOther)
}

func (pt *Portal) signOut(q *request) {
	if err := pt.Service.SignOut(q.ctx, tokenOf(q.r)); err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	setSessionCookie(q.w, q.r, "", -1)
	http.Redirect(q.w, q.r, "/portal/signin?signed_out", http.StatusSeeOther)
}

func tokenOf(r *http.Request) string {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// ---- Your account ----

var doneMessages = map[string]string{
	"password":        "Your password has been changed; your other sessions were signed out.",
	"totp-on":         "Two-factor sign-in is on: from now on you sign in with a code from your authenticator app too.",
	"totp-off":        "Two-factor sign-in is off.",
	"capture":         "The payment was captured.",
	"refund":          "The refund was made.",
	"void":            "The payment was voided.",
	"revoked":         "The key was revoked: the API refuses it from now on.",
	"role":            "The role was changed.",
	"removed":         "The user was removed and signed out.",
	"settings":        "The settings were saved.",
	"processor":       "The live processor was saved: live payments of this account go to it from now on.",
	"product":         "The product was saved.",
	"deactivated":     "The product was deactivated: new checkouts can no longer name it.",
	"webhook-enable":  "The endpoint is on: new events are sent to it.",
	"webhook-disable": "The endpoint is off: no events are sent to it until it is turned on again.",
	"webhook-remove":  "The endpoint was removed with its deliveries.",
	"resent":          "The event is queued to be sent again; its attempts show here as they are made.",
}

func flash(q *request) string { return doneMessages[q.r.URL.Query().Get("done")] }

func (pt *Portal) accountPage(q *request) {
	v := pt.view(q, "Your account", "account")
	v.Flash = flash(q)
	render(q.w, http.StatusOK, "account", v)
}

func (pt *Portal) changePassword(q *request) {
	f := q.r.PostForm
	v := pt.view(q, "Your account", "account")
	if f.Get("password") != f.Get("confirm") {
		v.Alert = "The two new passwords are not the same."
		render(q.w, http.StatusBadRequest, "account", v)
		return
	}
	if _, err := pt.Service.ChangePassword(q.ctx, q.p, f.Get("current_password"), f.Get("password"), q.client); err != nil {
		if failed(pt, q, err) {
			return
		}
		v.Alert = gateway.AsError(err).Message
		render(q.w, http.StatusBadRequest, "account", v)
		return
	}
	http.Redirect(q.w, q.r, "/portal/account?done=password", http.StatusSeeOther)
}

func (pt *Portal) beginTOTP(q *request) {
	e, err := pt.Service.BeginTOTP(q.p)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	render(q.w, http.StatusOK, "enrol", enrolView(pt, q, e, "/portal/account/totp/confirm"))
}

func (pt *Portal) confirmTOTP(q *request) { pt.confirmEnrolment(q, "/portal/account/totp/confirm") }

func (pt *Portal) disableTOTP(q *request) {
	if err := pt.Service.DisableTOTP(q.ctx, q.p); err != nil {
		if failed(pt, q, err) {
			return
		}
		v := pt.view(q, "Your account", "account")
		v.Alert = gateway.AsError(err).Message
		render(q.w, http.StatusBadRequest, "account", v)
		return
	}
	http.Redirect(q.w, q.r, "/portal/account?done=totp-off", http.StatusSeeOther)
}

// ---- Dashboard ----

type dashboardData struct {
	Environments []dashboardEnv
	Currency     string
}

type dashboardEnv struct {
	service.EnvironmentFigures
	Chart chart
}

func (pt *Portal) dashboard(q *request) {
	figures, err := pt.Service.Dashboard(q.ctx, q.p.Account)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	v := pt.view(q, "Dashboard", "dashboard")
	d := dashboardData{Currency: q.p.Account.Currency}
	for _, f := range figures {
		d.Environments = append(d.Environments, dashboardEnv{EnvironmentFigures: f, Chart: newChart(f, q.p.Account.Currency)})
	}
	v.Data = d
	render(q.w, http.StatusOK, "dashboard", v)
}

// ---- Payments ----

// pageSize is the rows of one page of a listing.
const pageSize = 50

type paymentsData struct {
	Filter   filterForm
	Payments []gateway.Payment
	Next     string // the next page's URL, "" on the last
	// SearchedTo is how far back a bounded search looked (zero: all of
	// the window, or the page is full).
	SearchedTo time.Time
	CSV        string
	Currency   string
}

func (pt *Portal) payments(q *request) {
	v := pt.view(q, envName(q.env)+" payments", "payments")
	form, f, err := parseFilter(q.r.URL.Query(), q.p.Account.Currency)
	d := paymentsData{Filter: form, Currency: q.p.Account.Currency}
	v.Data = &d
	if err != nil {
		v.Alert = gateway.AsError(err).Message
		render(q.w, http.StatusBadRequest, "payments", v)
		return
	}
	f.Limit = pageSize + 1
	page, err := pt.Service.FindPayments(q.ctx, q.caller(), f)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	list := page.Payments
	next := q.r.URL.Query()
	switch {
	case len(list) > pageSize:
		list = list[:pageSize]
		last := list[len(list)-1]
		next.Set("before", formatCursor(last.CreatedAt, last.ID))
		d.Next = q.r.URL.Path + "?" + next.Encode()
	case page.SearchedTo != nil:
		// A bounded search stopped before the page was full: it goes on
		// from where it stopped.
		next.Set("before", formatCursor(page.SearchedTo.CreatedAt, page.SearchedTo.ID))
		d.Next = q.r.URL.Path + "?" + next.Encode()
		d.SearchedTo = page.SearchedTo.CreatedAt
	}
	d.Payments = list
	csvQuery := q.r.URL.Query()
	csvQuery.Del("before")
	d.CSV = "/portal/" + string(q.env) + "/payments.csv?" + csvQuery.Encode()
	render(q.w, http.StatusOK, "payments", v)
}

func (pt *Portal) paymentsCSV(q *request) {
	_, f, err := parseFilter(q.r.URL.Query(), q.p.Account.Currency)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	f.Before = nil // the export is the whole filtered set
	h := q.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="payments-`+string(q.env)+"-"+time.Now().UTC().Format("20060102-150405")+`.csv"`)
	cw := newCSVWriter(q.w)
	if err := cw.header(); err != nil {
		return
	}
	err = pt.Service.EachPayment(q.ctx, q.caller(), f, cw.payment)
	cw.flush()
	if err != nil {
		// Too late for an error page: the answer has begun. Cut the
		// connection, so that the file is seen to be incomplete.
		pt.Log.Error("payments export failed", "request_id", web.RequestID(q.r.Context()), "err", err)
		panic(http.ErrAbortHandler)
	}
}

type paymentData struct {
	Payment    gateway.Payment
	Refundable int64
	AVS, CVV   string
	Actions    bool
}

func (pt *Portal) payment(q *request) {
	pt.showPayment(q, http.StatusOK, "")
}

func (pt *Portal) showPayment(q *request, status int, alert string) {
	p, err := pt.Service.Lookup(q.ctx, q.caller(), q.r.PathValue("id"))
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	v := pt.view(q, "Payment "+p.ID, "payments")
	v.Flash, v.Alert = flash(q), alert
	v.Data = paymentData{Payment: p, Refundable: p.RefundableAmount(), AVS: gateway.AVSMessage(p.AVSCode), CVV: gateway.CVVMessage(p.CVVCode),
		Actions: q.p.User.Role.Allows(gateway.PermOperate)}
	render(q.w, status, "payment", v)
}

type confirmData struct {
	Payment     gateway.Payment
	Op, OpLabel string
	Amount      int64
	AmountText  string // as entered, sent back with the confirmation
	Key         string
}

// operate runs a capture, refund or void from the payment's page: the
// first POST asks for confirmation, the second (confirm=yes) does it,
// through the same service method, money rules and audit as the API, with
// the form's key as its Idempotency-Key (a double submit does it once).
func (pt *Portal) operate(q *request) {
	op := gateway.Operation(q.r.PathValue("op"))
	if op != gateway.OpCapture && op != gateway.OpRefund && op != gateway.OpVoid {
		pt.Fail(q.w, q.r, errPageNotFound)
		return
	}
	c := q.caller()
	id := q.r.PathValue("id")
	p, err := pt.Service.Lookup(q.ctx, c, id)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	f := q.r.PostForm
	var amount int64
	if op != gateway.OpVoid {
		if amount, err = parseAmount(f.Get("amount"), p.Currency); err != nil {
			pt.showPayment(q, http.StatusBadRequest, gateway.AsError(err).Message)
			return
		}
	}
	if f.Get("confirm") != "yes" {
		v := pt.view(q, "Confirm", "payments")
		v.Data = confirmData{Payment: p, Op: string(op), OpLabel: opLabel(op), Amount: amount, AmountText: f.Get("amount"), Key: gateway.NewID()}
		render(q.w, http.StatusOK, "confirm", v)
		return
	}
	key := f.Get("key")
	if !gateway.ValidID(key) {
		pt.Fail(q.w, q.r, gateway.Errorf(gateway.KindInvalid, "invalid-form", "The confirmation form is incomplete; go back and try again."))
		return
	}
	idem := &service.Idempotency{Key: "portal-" + key,
		Hash: pt.Service.RequestHash(q.r.URL.Path, []byte(strconv.FormatInt(amount, 10)))}
	switch op {
	case gateway.OpCapture:
		_, err = pt.Service.Capture(q.ctx, c, p.ID, amount, idem)
	case gateway.OpRefund:
		_, err = pt.Service.Refund(q.ctx, c, p.ID, amount, idem)
	default:
		_, err = pt.Service.Void(q.ctx, c, p.ID, idem)
	}
	if err != nil {
		if gateway.ErrorKind(err) == gateway.KindInternal {
			pt.Fail(q.w, q.r, err)
			return
		}
		pt.showPayment(q, statusOf(err), opLabel(op)+" was not done: "+gateway.AsError(err).Message)
		return
	}
	http.Redirect(q.w, q.r, paymentPath(q.env, p.ID)+"?done="+string(op), http.StatusSeeOther)
}

func statusOf(err error) int {
	switch gateway.ErrorKind(err) {
	case gateway.KindConflict:
		return http.StatusConflict
	case gateway.KindDeclined, gateway.KindProcessor:
		return http.StatusBadGateway
	}
	return http.StatusBadRequest
}

func opLabel(op gateway.Operation) string {
	switch op {
	case gateway.OpCapture:
		return "Capture"
	case gateway.OpRefund:
		return "Refund"
	}
	return "Void"
}

func paymentPath(env gateway.Environment, id string) string {
	return "/portal/" + string(env) + "/payments/" + id
}

// ---- Hosted checkouts ----

type checkoutsData struct {
	Sessions []checkoutRow
	Next     string
}

type checkoutRow struct {
	gateway.CheckoutSession
	State string // open, paying, paid or expired
}

func (pt *Portal) checkouts(q *request) {
	before, err := parseCursor(q.r.URL.Query().Get("before"))
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	list, err := pt.Service.CheckoutSessions(q.ctx, q.caller(), before, pageSize+1)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	d := checkoutsData{}
	if len(list) > pageSize {
		list = list[:pageSize]
		last := list[len(list)-1]
		d.Next = q.r.URL.Path + "?before=" + url.QueryEscape(formatCursor(last.CreatedAt, last.ID))
	}
	now := time.Now()
	for _, cs := range list {
		state := string(cs.Status)
		if cs.Expired(now) {
			state = "expired"
		}
		d.Sessions = append(d.Sessions, checkoutRow{CheckoutSession: cs, State: state})
	}
	v := pt.view(q, envName(q.env)+" hosted checkouts", "checkouts")
	v.Data = d
	render(q.w, http.StatusOK, "checkouts", v)
}

// ---- Products ----

type productsData struct {
	Products []gateway.Product
	Form     productForm
}

type productForm struct {
	Codename, Name, Price, ImageURL string
	Active                          bool
}

func (pt *Portal) products(q *request) { pt.showProducts(q, http.StatusOK, productForm{}, "") }

func (pt *Portal) showProducts(q *request, status int, form productForm, alert string) {
	list, err := pt.Service.Products(q.ctx, q.p.Account.ID, q.env)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	v := pt.view(q, envName(q.env)+" products", "products")
	v.Flash, v.Alert = flash(q), alert
	v.Data = productsData{Products: list, Form: form}
	render(q.w, status, "products", v)
}

func productFormOf(f url.Values) productForm {
	return productForm{Codename: strings.TrimSpace(f.Get("codename")), Name: f.Get("name"), Price: f.Get("price"),
		ImageURL: f.Get("image_url"), Active: f.Get("active") == "on"}
}

func (pt *Portal) addProduct(q *request) {
	form := productFormOf(q.r.PostForm)
	price, err := parseAmount(form.Price, q.p.Account.Currency)
	if err != nil {
		pt.showProducts(q, http.StatusBadRequest, form, gateway.AsError(err).Message)
		return
	}
	image := strings.TrimSpace(form.ImageURL)
	_, err = pt.Service.AddProduct(q.ctx, q.p.Account.ID, q.env, service.ProductInput{Codename: form.Codename, Name: form.Name, Price: price, ImageURL: &image})
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		pt.showProducts(q, statusOf(err), form, gateway.AsError(err).Message)
		return
	}
	http.Redirect(q.w, q.r, "/portal/"+string(q.env)+"/products?done=product", http.StatusSeeOther)
}

type productData struct {
	Product gateway.Product
	Form    productForm
}

func (pt *Portal) findProduct(q *request) (gateway.Product, bool) {
	list, err := pt.Service.Products(q.ctx, q.p.Account.ID, q.env)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return gateway.Product{}, false
	}
	for _, p := range list {
		if p.Codename == q.r.PathValue("codename") {
			return p, true
		}
	}
	pt.Fail(q.w, q.r, errPageNotFound)
	return gateway.Product{}, false
}

func (pt *Portal) productPage(q *request) {
	p, ok := pt.findProduct(q)
	if !ok {
		return
	}
	v := pt.view(q, "Edit "+p.Name, "products")
	v.Data = productData{Product: p, Form: productForm{Codename: p.Codename, Name: p.Name, Price: majorUnits(p.Price, q.p.Account.Currency),
		ImageURL: p.ImageURL, Active: p.Active}}
	render(q.w, http.StatusOK, "product", v)
}

func (pt *Portal) updateProduct(q *request) {
	p, ok := pt.findProduct(q)
	if !ok {
		return
	}
	back := "/portal/" + string(q.env) + "/products"
	if q.r.PostForm.Get("action") == "deactivate" {
		if _, err := pt.Service.DeactivateProduct(q.ctx, q.p.Account.ID, q.env, p.Codename); err != nil {
			pt.Fail(q.w, q.r, err)
			return
		}
		http.Redirect(q.w, q.r, back+"?done=deactivated", http.StatusSeeOther)
		return
	}
	form := productFormOf(q.r.PostForm)
	form.Codename = p.Codename
	fail := func(err error) {
		v := pt.view(q, "Edit "+p.Name, "products")
		v.Alert = gateway.AsError(err).Message
		v.Data = productData{Product: p, Form: form}
		render(q.w, http.StatusBadRequest, "product", v)
	}
	price, err := parseAmount(form.Price, q.p.Account.Currency)
	if err != nil {
		fail(err)
		return
	}
	image := strings.TrimSpace(form.ImageURL)
	name := strings.TrimSpace(form.Name)
	if name == "" {
		fail(formError("The product needs a name."))
		return
	}
	_, err = pt.Service.UpdateProduct(q.ctx, q.p.Account.ID, q.env, service.ProductInput{Codename: p.Codename, Name: name, Price: price,
		ImageURL: &image, Active: &form.Active})
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		fail(formError(gateway.AsError(err).Message))
		return
	}
	http.Redirect(q.w, q.r, back+"?done=product", http.StatusSeeOther)
}

// ---- API keys ----

type keysData struct {
	Keys    map[gateway.Environment][]gateway.Key
	Created string // the full key, shown once
	Env     gateway.Environment
}

func (pt *Portal) keys(q *request) { pt.showKeys(q, http.StatusOK, keysData{}) }

func (pt *Portal) showKeys(q *request, status int, d keysData) {
	keys, err := pt.Service.Keys(q.ctx, q.p.Account.ID)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	d.Keys = map[gateway.Environment][]gateway.Key{}
	for i := len(keys) - 1; i >= 0; i-- { // newest first
		d.Keys[keys[i].Environment] = append(d.Keys[keys[i].Environment], keys[i])
	}
	v := pt.view(q, "API keys", "keys")
	v.Flash = flash(q)
	v.Data = d
	render(q.w, status, "keys", v)
}

func (pt *Portal) createKey(q *request) {
	env, ok := gateway.ParseEnvironment(q.r.PostForm.Get("environment"))
	if !ok {
		pt.Fail(q.w, q.r, gateway.Errorf(gateway.KindInvalid, "invalid-environment", "The environment must be sandbox or live."))
		return
	}
	_, secret, err := pt.Service.AddKey(q.ctx, q.p.Account.ID, env, "")
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	pt.showKeys(q, http.StatusOK, keysData{Created: secret, Env: env})
}

type revokeData struct{ Key gateway.Key }

func (pt *Portal) revokeKey(q *request) {
	id := q.r.PathValue("id")
	keys, err := pt.Service.Keys(q.ctx, q.p.Account.ID)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	var key *gateway.Key
	for i := range keys {
		if keys[i].ID == id && keys[i].RevokedAt.IsZero() {
			key = &keys[i]
		}
	}
	if key == nil {
		pt.Fail(q.w, q.r, errPageNotFound)
		return
	}
	if q.r.PostForm.Get("confirm") != "yes" {
		v := pt.view(q, "Revoke a key", "keys")
		v.Data = revokeData{Key: *key}
		render(q.w, http.StatusOK, "revoke", v)
		return
	}
	if err := pt.Service.RevokeKey(q.ctx, q.p.Account.ID, id); err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	http.Redirect(q.w, q.r, "/portal/keys?done=revoked", http.StatusSeeOther)
}

// ---- Users ----

type usersData struct {
	Users   []gateway.User
	Invited *gateway.User
	OTP     string
	Form    struct{ Email, Role string }
	Remove  *gateway.User // asking to confirm removal
}

func (pt *Portal) users(q *request) { pt.showUsers(q, http.StatusOK, usersData{}, "") }

func (pt *Portal) showUsers(q *request, status int, d usersData, alert string) {
	list, err := pt.Service.Users(q.ctx, q.p.Account.ID)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	d.Users = list
	pt.show(q, status, "users", "Users", "users", d, alert)
}

func (pt *Portal) inviteUser(q *request) {
	f := q.r.PostForm
	d := usersData{}
	d.Form.Email, d.Form.Role = f.Get("email"), f.Get("role")
	u, otp, err := pt.Service.CreateUser(q.ctx, service.NewUser{AccountID: q.p.Account.ID, Email: f.Get("email"), Role: gateway.Role(f.Get("role"))})
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		pt.showUsers(q, statusOf(err), d, gateway.AsError(err).Message)
		return
	}
	pt.showUsers(q, http.StatusOK, usersData{Invited: &u, OTP: otp}, "")
}

func (pt *Portal) setRole(q *request) {
	err := pt.Service.SetUserRole(q.ctx, q.p.Account.ID, q.r.PathValue("id"), gateway.Role(q.r.PostForm.Get("role")))
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		pt.showUsers(q, statusOf(err), usersData{}, gateway.AsError(err).Message)
		return
	}
	http.Redirect(q.w, q.r, "/portal/users?done=role", http.StatusSeeOther)
}

func (pt *Portal) removeUser(q *request) {
	id := q.r.PathValue("id")
	if q.r.PostForm.Get("confirm") != "yes" {
		list, err := pt.Service.Users(q.ctx, q.p.Account.ID)
		if err != nil {
			pt.Fail(q.w, q.r, err)
			return
		}
		for i := range list {
			if list[i].ID == id {
				pt.showUsers(q, http.StatusOK, usersData{Remove: &list[i]}, "")
				return
			}
		}
		pt.Fail(q.w, q.r, errPageNotFound)
		return
	}
	if err := pt.Service.RemoveUser(q.ctx, q.p.Account.ID, id); err != nil {
		if failed(pt, q, err) {
			return
		}
		pt.showUsers(q, statusOf(err), usersData{}, gateway.AsError(err).Message)
		return
	}
	http.Redirect(q.w, q.r, "/portal/users?done=removed", http.StatusSeeOther)
}

// ---- Settings ----

type settingsData struct {
	Name          string
	Window        string // "default", "off" or "custom"
	Minutes       string
	Require2FA    bool
	ServerDefault string
	// The live processor: the account's configuration (nil: none), the
	// connectors this build has, and the form's values after an error.
	Processor              *gateway.ProcessorConfig
	Connectors             []string
	ProcessorName, APIBase string
}

// withProcessor fills in the live processor's part of the settings page.
func (pt *Portal) withProcessor(q *request, d *settingsData) error {
	for name := range pt.Service.Connectors {
		d.Connectors = append(d.Connectors, name)
	}
	slices.Sort(d.Connectors)
	cfg, err := pt.Service.ProcessorConfig(q.ctx, q.p.Account.ID)
	switch {
	case err == nil:
		d.Processor = &cfg
	case !errors.Is(err, gateway.ErrNotFound):
		return err
	}
	return nil
}

func (pt *Portal) settings(q *request) {
	a := q.p.Account
	d := settingsData{Name: a.Name, Window: "default", Require2FA: a.Require2FA, ServerDefault: windowLabel(pt.Service.DuplicateWindow)}
	switch {
	case a.DuplicateWindow < 0:
		d.Window = "off"
	case a.DuplicateWindow > 0:
		d.Window, d.Minutes = "custom", strconv.FormatInt(int64(a.DuplicateWindow/time.Minute), 10)
	}
	pt.showSettings(q, http.StatusOK, d, "")
}

func (pt *Portal) showSettings(q *request, status int, d settingsData, alert string) {
	if err := pt.withProcessor(q, &d); err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	pt.show(q, status, "settings", "Settings", "settings", d, alert)
}

// setProcessor sets the account's live processor and its secret key
// (stored sealed, never shown again), through the service's SetProcessor,
// which checks the key's form and records the change.
func (pt *Portal) setProcessor(q *request) {
	f := q.r.PostForm
	_, err := pt.Service.SetProcessor(q.ctx, service.ProcessorSettings{AccountID: q.p.Account.ID, Processor: f.Get("processor"),
		Secret: f.Get("secret_key"), APIBase: strings.TrimSpace(f.Get("api_base"))})
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		a := q.p.Account
		d := settingsData{Name: a.Name, Window: "default", Require2FA: a.Require2FA, ServerDefault: windowLabel(pt.Service.DuplicateWindow),
			ProcessorName: f.Get("processor"), APIBase: f.Get("api_base")}
		pt.showSettings(q, statusOf(err), d, gateway.AsError(err).Message)
		return
	}
	http.Redirect(q.w, q.r, "/portal/settings?done=processor", http.StatusSeeOther)
}

func windowLabel(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " minutes"
	}
	return d.String()
}

func (pt *Portal) saveSettings(q *request) {
	f := q.r.PostForm
	d := settingsData{Name: f.Get("name"), Window: f.Get("window"), Minutes: f.Get("minutes"), Require2FA: f.Get("require_2fa") == "on",
		ServerDefault: windowLabel(pt.Service.DuplicateWindow)}
	in := service.Settings{Name: d.Name, Require2FA: d.Require2FA}
	var err error
	switch d.Window {
	case "off":
		in.DuplicateWindow = -1
	case "custom":
		n, perr := strconv.ParseInt(strings.TrimSpace(d.Minutes), 10, 64)
		if perr != nil || n < 1 || n > int64(service.MaxDuplicateWindow/time.Minute) {
			err = formError("The custom window is a whole number of minutes from 1 to 10080 (7 days).")
		}
		in.DuplicateWindow = time.Duration(n) * time.Minute
	}
	if err == nil {
		_, err = pt.Service.UpdateSettings(q.ctx, q.p.Account.ID, in)
	}
	if err != nil {
		if failed(pt, q, err) {
			return
		}
		pt.showSettings(q, http.StatusBadRequest, d, gateway.AsError(err).Message)
		return
	}
	http.Redirect(q.w, q.r, "/portal/settings?done=settings", http.StatusSeeOther)
}

// ---- Audit log ----

type auditData struct {
	Entries []auditRow
}

type auditRow struct {
	gateway.AuditEntry
	Who string
}

// auditLimit is how many of the newest entries the audit page shows.
const auditLimit = 200

func (pt *Portal) audit(q *request) {
	entries, err := pt.Service.AccountAudit(q.ctx, q.p.Account.ID, auditLimit)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	users, err := pt.Service.Users(q.ctx, q.p.Account.ID)
	if err != nil {
		pt.Fail(q.w, q.r, err)
		return
	}
	emails := map[string]string{}
	for _, u := range users {
		emails["user:"+u.ID] = u.Email
	}
	d := auditData{}
	for _, e := range entries {
		who := e.Actor
		if email, ok := emails[e.Actor]; ok {
			who = email
		}
		d.Entries = append(d.Entries, auditRow{AuditEntry: e, Who: who})
	}
	v := pt.view(q, "Audit log", "audit")
	v.Data = d
	render(q.w, http.StatusOK, "audit", v)
}
