// Package portal is the Merchant Portal surface: the web application where
// a merchant's team signs in, finds its Account ID and keys, and runs its
// payments, products, users and settings. It is rendered on the server
// from templates embedded in the binary, with a stylesheet and a small
// script of its own (no third party), and only translates between the
// browser and the payment service, which owns every rule. docs/portal.md
// describes the pages and the security choices (ADR 17).
package portal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// Prefix is where the portal lives.
const Prefix = "/portal/"

// maxFormBytes bounds a submitted form.
const maxFormBytes = 32 << 10

// Portal is the Merchant Portal surface.
type Portal struct {
	Service *service.Service
	Log     *slog.Logger
	Web     *web.Plumbing

	csrf *http.CrossOriginProtection
}

// cookieName is the session cookie's name: with the __Host- prefix over
// HTTPS, which browsers accept only from a secure origin, for the whole
// host, without a Domain.
func cookieName(r *http.Request) string {
	if web.HTTPS(r.Context()) {
		return "__Host-cartgateway_portal"
	}
	return "cartgateway_portal"
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: web.HTTPS(r.Context()), SameSite: http.SameSiteLaxMode})
}

// request is one portal request: who makes it and in which environment.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context // names the user, address and request for the audit log
	p      service.Portal
	env    gateway.Environment // of a page of one environment's data
	client service.Client
}

// caller is the request's Caller in its environment.
func (q *request) caller() service.Caller {
	return service.PortalCaller(q.p, q.env, web.RequestID(q.r.Context()), q.client.IP)
}

// access says what a route needs.
type access struct {
	stage gateway.SessionStage // the stage a session must be in ("" for none: signed out)
	perm  gateway.Permission   // the role's permission ("" for any signed-in user)
	env   bool                 // the path has an {env}
}

// Mount registers the portal's routes on mux, each guarded with the
// portal's own error pages and logged under a fixed label.
func (pt *Portal) Mount(mux *http.ServeMux) {
	pt.csrf = http.NewCrossOriginProtection()
	signedIn := func(perm gateway.Permission) access { return access{stage: gateway.StageSignedIn, perm: perm} }
	inEnv := func(perm gateway.Permission) access {
		return access{stage: gateway.StageSignedIn, perm: perm, env: true}
	}
	routes := []struct {
		pattern string
		need    access
		h       func(*request)
	}{
		{"GET /portal/signin", access{}, pt.signInPage},
		{"POST /portal/signin", access{}, pt.signIn},
		{"GET /portal/signin/code", access{stage: gateway.StageTOTP}, pt.codePage},
		{"POST /portal/signin/code", access{stage: gateway.StageTOTP}, pt.code},
		{"GET /portal/signin/password", access{stage: gateway.StageNewPassword}, pt.newPasswordPage},
		{"POST /portal/signin/password", access{stage: gateway.StageNewPassword}, pt.newPassword},
		{"GET /portal/signin/enrol", access{stage: gateway.StageEnrol}, pt.enrolPage},
		{"POST /portal/signin/enrol", access{stage: gateway.StageEnrol}, pt.enrol},
		{"POST /portal/signout", access{stage: "any"}, pt.signOut},

		{"GET /portal/{$}", signedIn(gateway.PermViewPayments), pt.dashboard},
		{"GET /portal/{env}/payments", inEnv(gateway.PermViewPayments), pt.payments},
		{"GET /portal/{env}/payments.csv", inEnv(gateway.PermViewPayments), pt.paymentsCSV},
		{"GET /portal/{env}/payments/{id}", inEnv(gateway.PermViewPayments), pt.payment},
		{"POST /portal/{env}/payments/{id}/{op}", inEnv(gateway.PermOperate), pt.operate},
		{"GET /portal/{env}/checkouts", inEnv(gateway.PermViewPayments), pt.checkouts},
		{"GET /portal/{env}/products", inEnv(gateway.PermManageProducts), pt.products},
		{"POST /portal/{env}/products", inEnv(gateway.PermManageProducts), pt.addProduct},
		{"GET /portal/{env}/products/{codename}/edit", inEnv(gateway.PermManageProducts), pt.productPage},
		{"POST /portal/{env}/products/{codename}/edit", inEnv(gateway.PermManageProducts), pt.updateProduct},

		{"GET /portal/keys", signedIn(gateway.PermManageKeys), pt.keys},
		{"POST /portal/keys", signedIn(gateway.PermManageKeys), pt.createKey},
		{"POST /portal/keys/{id}/revoke", signedIn(gateway.PermManageKeys), pt.revokeKey},
		{"GET /portal/users", signedIn(gateway.PermManageUsers), pt.users},
		{"POST /portal/users", signedIn(gateway.PermManageUsers), pt.inviteUser},
		{"POST /portal/users/{id}/role", signedIn(gateway.PermManageUsers), pt.setRole},
		{"POST /portal/users/{id}/remove", signedIn(gateway.PermManageUsers), pt.removeUser},
		{"GET /portal/settings", signedIn(gateway.PermManageSettings), pt.settings},
		{"POST /portal/settings", signedIn(gateway.PermManageSettings), pt.saveSettings},
		{"POST /portal/settings/processor", signedIn(gateway.PermManageSettings), pt.setProcessor},
		{"GET /portal/{env}/webhooks", inEnv(gateway.PermManageWebhooks), pt.webhooks},
		{"POST /portal/{env}/webhooks", inEnv(gateway.PermManageWebhooks), pt.addWebhook},
		{"POST /portal/{env}/webhooks/{id}/{action}", inEnv(gateway.PermManageWebhooks), pt.changeWebhook},
		{"GET /portal/{env}/webhooks/events/{event}", inEnv(gateway.PermManageWebhooks), pt.webhookEvent},
		{"POST /portal/{env}/webhooks/events/{event}/resend", inEnv(gateway.PermManageWebhooks), pt.resendWebhookEvent},
		{"GET /portal/audit", signedIn(gateway.PermViewAudit), pt.audit},
		{"GET /portal/account", signedIn(""), pt.accountPage},
		{"POST /portal/account/password", signedIn(""), pt.changePassword},
		{"POST /portal/account/totp", signedIn(""), pt.beginTOTP},
		{"POST /portal/account/totp/confirm", signedIn(""), pt.confirmTOTP},
		{"POST /portal/account/totp/disable", signedIn(""), pt.disableTOTP},
	}
	for _, rt := range routes {
		label := rt.pattern[strings.IndexByte(rt.pattern, ' ')+1:]
		mux.Handle(rt.pattern, pt.Web.Guard(pt.Fail, pt.Web.Instrument(label, pt.handle(rt.need, rt.h))))
	}
	for _, name := range []string{"portal.css", "portal.js"} {
		path := "/portal/assets/" + name
		mux.Handle("GET "+path, pt.Web.Guard(pt.Fail, pt.Web.Instrument(path, http.HandlerFunc(pt.asset))))
	}
	mux.Handle("GET /portal", http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	mux.Handle(Prefix, pt.Web.Guard(pt.Fail, pt.Web.Instrument("/portal/*", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pt.Fail(w, r, errPageNotFound)
	}))))
}

var errPageNotFound = gateway.Errorf(gateway.KindNotFound, "page-not-found", "There is no such page in the portal.")

// errCSRF refuses a state-changing form without the session's token, or
// sent from another site.
var errCSRF = gateway.Errorf(gateway.KindForbidden, "invalid-csrf-token",
	"This form has expired or was not sent from the portal; go back, reload the page and try again.")

// handle checks the session, its stage, the role and, for a form, its
// origin and CSRF token, before h runs.
func (pt *Portal) handle(need access, h func(*request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &request{w: w, r: r, client: service.Client{IP: web.ClientIP(r.Context()), Key: web.ClientKey(r.Context())}}
		q.ctx = r.Context()
		if r.Method == http.MethodPost {
			if err := pt.csrf.Check(r); err != nil {
				pt.Fail(w, r, errCSRF)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				pt.Fail(w, r, gateway.Errorf(gateway.KindInvalid, "invalid-form", "The form could not be read; go back and try again."))
				return
			}
		}
		if need.stage != "" {
			c, err := r.Cookie(cookieName(r))
			token := ""
			if err == nil {
				token = c.Value
			}
			q.p, err = pt.Service.PortalSession(r.Context(), token)
			if err != nil {
				if errors.Is(err, service.ErrNoSession) {
					if token != "" {
						setSessionCookie(w, r, "", -1)
					}
					pt.toSignIn(w, r)
					return
				}
				pt.Fail(w, r, err)
				return
			}
			web.SetAccount(r.Context(), q.p.Account.ID)
			stage := q.p.Session.Stage
			if need.stage != "any" && stage != need.stage {
				http.Redirect(w, r, stagePath(stage), http.StatusSeeOther)
				return
			}
			if r.Method == http.MethodPost && !pt.Service.CheckCSRF(q.p, r.PostForm.Get("csrf")) {
				pt.Fail(w, r, errCSRF)
				return
			}
			if need.perm != "" && !q.p.User.Role.Allows(need.perm) {
				pt.Fail(w, r, gateway.ErrForbidden)
				return
			}
			q.ctx = service.WithRequest(r.Context(), "user:"+q.p.User.ID, q.client.IP, web.RequestID(r.Context()))
		} else {
			q.ctx = service.WithRequest(r.Context(), "", q.client.IP, web.RequestID(r.Context()))
		}
		if need.env {
			env, ok := gateway.ParseEnvironment(r.PathValue("env"))
			if !ok {
				pt.Fail(w, r, errPageNotFound)
				return
			}
			q.env = env
		}
		h(q)
	})
}

// stagePath is the page of a session's stage.
func stagePath(stage gateway.SessionStage) string {
	switch stage {
	case gateway.StageTOTP:
		return "/portal/signin/code"
	case gateway.StageNewPassword:
		return "/portal/signin/password"
	case gateway.StageEnrol:
		return "/portal/signin/enrol"
	}
	return Prefix
}

// toSignIn sends a browser without a session to the sign-in page, which
// brings it back to the page it asked for.
func (pt *Portal) toSignIn(w http.ResponseWriter, r *http.Request) {
	target := "/portal/signin"
	if r.Method == http.MethodGet && r.URL.Path != Prefix {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext is a sign-in's next page: a portal path only, never another
// site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

// Fail answers err with one of the portal's error pages; it is the
// portal's web.Renderer.
func (pt *Portal) Fail(w http.ResponseWriter, r *http.Request, err error) {
	e := gateway.AsError(err)
	v := &view{Title: "Something is wrong with this request", Message: e.Message}
	status := http.StatusBadRequest
	switch e.Kind {
	case gateway.KindNotFound:
		status, v.Title = http.StatusNotFound, "Not found"
		v.Message = "There is no such page, or it belongs to another account. Check the address, or start again from the dashboard."
	case gateway.KindForbidden:
		status, v.Title = http.StatusForbidden, "Not allowed"
	case gateway.KindUnauthorized:
		status, v.Title = http.StatusUnauthorized, "Please sign in"
	case gateway.KindRateLimited:
		status, v.Title = http.StatusTooManyRequests, "Too many requests"
	case gateway.KindConflict:
		status, v.Title = http.StatusConflict, "That could not be done now"
	case gateway.KindDeclined, gateway.KindProcessor:
		status, v.Title = http.StatusBadGateway, "The processor did not complete it"
	case gateway.KindInternal:
		if !errors.Is(err, context.Canceled) {
			pt.Log.Error("portal page failed", "request_id", web.RequestID(r.Context()), "path", r.URL.Path, "err", err)
		}
		status, v.Title = http.StatusInternalServerError, "Something went wrong"
		v.Message = "The page could not be shown. Please try again in a moment; if it keeps happening, give your operator this reference: " +
			web.RequestID(r.Context())
	}
	render(w, status, "message", v)
}
