// Package checkout is the hosted checkout page surface: the page a
// merchant's customer opens at a checkout session's URL to pay it, rendered
// on the server from templates embedded in the binary, usable without
// JavaScript. It only translates between the browser and the payment
// service (service.Checkout, PayCheckout), which owns every rule; the
// sessions are created through the JSON API (internal/httpapi).
// docs/hosted-checkout.md describes the flow and the page's security.
package checkout

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// PathPrefix is where the pages of checkout sessions live.
const PathPrefix = "/checkout/"

// Path is the path of the page of the session with token.
func Path(token string) string { return PathPrefix + token }

// ProcessingRefresh is how often, in seconds, the page shown while a
// payment waits for the processor reloads itself (a meta refresh: no
// JavaScript needed).
const ProcessingRefresh = "2"

// maxFormBytes bounds a submitted form.
const maxFormBytes = 16 << 10

// Page is the hosted checkout surface.
type Page struct {
	Service *service.Service
	Log     *slog.Logger
	Web     *web.Plumbing

	csrf *http.CrossOriginProtection
}

// Mount registers the page's routes on mux, each guarded (web.Guard, with
// the page's own error pages) and logged under a fixed endpoint label that
// never contains a session's token.
func (pg *Page) Mount(mux *http.ServeMux) {
	pg.csrf = http.NewCrossOriginProtection()
	handle := func(pattern, label string, h http.HandlerFunc) {
		mux.Handle(pattern, pg.Web.Guard(pg.Fail, pg.Web.Instrument(label, h)))
	}
	handle("GET "+PathPrefix+"{token}", PathPrefix+"{token}", pg.show)
	handle("POST "+PathPrefix+"{token}", PathPrefix+"{token}", pg.pay)
	handle("GET "+PathPrefix+"{token}/processing", PathPrefix+"{token}/processing", pg.processing)
	handle("GET "+PathPrefix+"{$}", PathPrefix, func(w http.ResponseWriter, r *http.Request) {
		pg.Fail(w, r, gateway.ErrCheckoutNotFound)
	})
}

// show answers the session's page: the form while it can be paid.
func (pg *Page) show(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	v, err := pg.Service.Checkout(r.Context(), token)
	if err != nil {
		pg.Fail(w, r, err)
		return
	}
	cs := v.Session
	switch {
	case cs.Status == gateway.CheckoutPaid:
		pg.paid(w, v)
	case cs.Status == gateway.CheckoutPaying:
		pg.waiting(w, v, token)
	case v.Expired:
		pg.Fail(w, r, gateway.ErrCheckoutExpired)
	case cs.Attempts >= gateway.MaxCheckoutAttempts:
		pg.Fail(w, r, gateway.ErrCheckoutAttempts)
	default:
		p := pg.form(v, token)
		p.Countries = countries("")
		if a := v.LastAttempt; a != nil {
			p.Alert = "Your last payment attempt was not completed: " + attemptMessage(a.DeclineCode) + " Nothing was charged; you can try again."
		}
		render(w, http.StatusOK, "form", p)
	}
}

// form is the payment form of a session.
func (pg *Page) form(v service.CheckoutView, token string) *page {
	p := newPage(v)
	p.Action = Path(token)
	return p
}

// pay runs the submitted form through the payment service.
func (pg *Page) pay(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := pg.csrf.Check(r); err != nil {
		pg.Fail(w, r, gateway.Errorf(gateway.KindForbidden, "cross-origin-request",
			"This payment form can only be sent from its own page; open the checkout link again."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		pg.Fail(w, r, gateway.Errorf(gateway.KindInvalid, "invalid-form", "The form could not be read; open the checkout link again."))
		return
	}
	f := r.PostForm
	kept := billing{Email: f.Get("email"), CardholderName: f.Get("cardholder_name"), FirstName: f.Get("firstname"),
		LastName: f.Get("lastname"), Address: f.Get("address"), Zip: f.Get("zip"), Country: f.Get("country")}
	in := service.PaymentInput{
		Customer: gateway.Customer{FirstName: kept.FirstName, LastName: kept.LastName, Email: kept.Email,
			Address: kept.Address, Zip: kept.Zip, Country: kept.Country},
		CardholderName: kept.CardholderName,
	}
	in.Card.Number, in.Card.CVV = f.Get("card_number"), f.Get("card_cvv")
	in.Card.ExpMonth, in.Card.ExpYear = f.Get("card_expiry_month"), f.Get("card_expiry_year")
	v, out, err := pg.Service.PayCheckout(r.Context(), token, in, web.RequestID(r.Context()))
	if err == nil {
		http.Redirect(w, r, successURL(v.Session.SuccessURL, out.Payment.ID), http.StatusSeeOther)
		return
	}
	e := gateway.AsError(err)
	switch {
	case errors.Is(err, gateway.ErrCheckoutPaid):
		http.Redirect(w, r, Path(token), http.StatusSeeOther) // shows that it is paid
		return
	case errors.Is(err, gateway.ErrCheckoutInProgress) || e.Code == gateway.ErrProcessorTimeout.Code:
		http.Redirect(w, r, Path(token)+"/processing", http.StatusSeeOther)
		return
	case v.Session.ID == "" || e.Kind == gateway.KindInternal || e.Kind == gateway.KindGone ||
		e.Kind == gateway.KindNotFound || e.Kind == gateway.KindRateLimited:
		pg.Fail(w, r, err)
		return
	}
	// The form again, with what was wrong, the billing details kept and
	// the card fields empty: still payable.
	p := pg.form(v, token)
	p.Form = kept
	p.Countries = countries(kept.Country)
	status := http.StatusBadRequest
	switch {
	case e.Kind == gateway.KindDeclined:
		status = http.StatusPaymentRequired
		p.Alert = "Payment not approved. " + gateway.DeclineMessage(e.Code) + " Check the details or use another card."
	case e.Kind == gateway.KindProcessor:
		status = http.StatusBadGateway
		p.Alert = attemptMessage(e.Code) + " Nothing was charged; please try again."
	case e.Field != "" && isFormField(e.Field):
		p.fieldError(e.Field, e.Message)
		p.Alert = "Please check the highlighted field."
	case e.Kind == gateway.KindConflict:
		status = http.StatusConflict
		p.Alert = e.Message
	default:
		p.Alert = e.Message
	}
	render(w, status, "form", p)
}

// formFields are the form's inputs, named as the API names the fields, so
// that the service's errors name the input they belong to.
var formFields = []string{"email", "cardholder_name", "card_number", "card_expiry_month", "card_expiry_year", "card_cvv",
	"firstname", "lastname", "address", "zip", "country"}

func isFormField(name string) bool {
	for _, f := range formFields {
		if f == name {
			return true
		}
	}
	return false
}

// attemptMessage says why an attempt did not go through, for the customer.
func attemptMessage(code string) string {
	switch code {
	case gateway.ErrProcessor.Code:
		return "The card processor could not complete the payment."
	case gateway.ErrProcessorTimeout.Code:
		return "The card processor did not answer in time."
	}
	return gateway.DeclineMessage(code)
}

// processing is where the browser waits for a payment in flight: it
// reloads itself until the payment is answered, then goes on to the
// merchant (paid) or back to the form (not paid).
func (pg *Page) processing(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	v, err := pg.Service.Checkout(r.Context(), token)
	if err != nil {
		pg.Fail(w, r, err)
		return
	}
	switch v.Session.Status {
	case gateway.CheckoutPaid:
		http.Redirect(w, r, successURL(v.Session.SuccessURL, v.Session.PaymentID), http.StatusSeeOther)
	case gateway.CheckoutPaying:
		pg.waiting(w, v, token)
	default:
		http.Redirect(w, r, Path(token), http.StatusSeeOther)
	}
}

func (pg *Page) waiting(w http.ResponseWriter, v service.CheckoutView, token string) {
	p := newPage(v)
	p.Title, p.Refresh = "Processing your payment", ProcessingRefresh+"; url="+Path(token)+"/processing"
	p.Heading = "Processing your payment…"
	p.Paragraphs = []string{"The card processor is taking a moment to answer. This page updates by itself; please do not pay again.",
		"Total " + p.Total + "."}
	render(w, http.StatusOK, "message", p)
}

func (pg *Page) paid(w http.ResponseWriter, v service.CheckoutView) {
	p := newPage(v)
	p.Title, p.Heading, p.OK = "Paid", "This order has been paid", true
	p.Paragraphs = []string{"Thank you: your payment of " + p.Total + " was received. There is nothing more to pay."}
	p.LinkURL, p.LinkText = successURL(v.Session.SuccessURL, v.Session.PaymentID), "Return to "+v.MerchantName
	render(w, http.StatusOK, "message", p)
}

// successURL is the merchant's success URL with payment_id added to its
// query, which is otherwise kept byte for byte (a signed URL stays valid).
func successURL(base, paymentID string) string {
	u, fragment, _ := strings.Cut(base, "#")
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
		if strings.HasSuffix(u, "?") || strings.HasSuffix(u, "&") {
			sep = ""
		}
	}
	u += sep + "payment_id=" + paymentID // ids are [0-9A-Z]: nothing to escape
	if fragment != "" {
		u += "#" + fragment
	}
	return u
}

// Fail answers err with one of the page's error pages; it is the page's
// web.Renderer.
func (pg *Page) Fail(w http.ResponseWriter, r *http.Request, err error) {
	e := gateway.AsError(err)
	p := newPage(service.CheckoutView{})
	status := http.StatusBadRequest
	p.Heading, p.Paragraphs = "Something is wrong with this request", []string{e.Message}
	switch e.Kind {
	case gateway.KindNotFound:
		status = http.StatusNotFound
		p.Heading = "Checkout not found"
		p.Paragraphs = []string{"This checkout link is not valid. Check that you copied the whole link, or return to the shop and start again."}
	case gateway.KindGone:
		status = http.StatusGone
		p.Heading = "This checkout has expired"
		p.Paragraphs = []string{"Checkout links are valid for a limited time and this one has run out. Nothing was charged. Return to the shop to start again."}
	case gateway.KindRateLimited:
		status = http.StatusTooManyRequests
		p.Heading = "Too many attempts"
	case gateway.KindForbidden:
		status = http.StatusForbidden
		p.Heading = "This form cannot be sent from here"
	case gateway.KindInternal:
		if !errors.Is(err, context.Canceled) {
			pg.Log.Error("checkout page failed", "request_id", web.RequestID(r.Context()), "err", err)
		}
		status = http.StatusInternalServerError
		p.Heading = "Something went wrong"
		p.Paragraphs = []string{"The checkout could not be shown or completed. Nothing was charged unless you were sent back to the shop. Please try again in a moment.",
			"Reference: " + web.RequestID(r.Context())}
	}
	p.Title = p.Heading
	render(w, status, "message", p)
}
