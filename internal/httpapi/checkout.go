package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// The hosted checkout's API endpoints: create a session, validate its
// payment. The page itself is internal/checkout's.

type checkoutCreatedAnswer struct {
	Success   int    `json:"success"`
	Message   string `json:"message"`
	ID        string `json:"id"`
	URL       string `json:"url"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	ExpiresAt string `json:"expires_at"`
}

type checkoutValidatedAnswer struct {
	Success   int    `json:"success"`
	Message   string `json:"message"`
	Status    string `json:"status"`
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
}

func (h *API) createCheckout(w http.ResponseWriter, r *http.Request) {
	c, body, ok := h.begin(w, r)
	if !ok {
		return
	}
	idem, ok := h.idempotency(w, r, body)
	if !ok {
		return
	}
	in, err := decodeCheckout(body)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	created, err := h.Service.CreateCheckout(r.Context(), c, in, idem)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	if created.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	pageURL := h.CheckoutURL(r, created.Token)
	if pageURL == "" {
		h.Fail(w, r, invalid("unknown-public-url",
			"The gateway cannot tell its public address from this request's Host header; its operator should set --public-url."))
		return
	}
	cs := created.Session
	writeJSON(w, http.StatusOK, checkoutCreatedAnswer{Success: 1, Message: "Checkout created", ID: cs.ID, URL: pageURL,
		Amount: cs.Amount, Currency: cs.Currency, ExpiresAt: rfc3339(cs.ExpiresAt)})
}

func (h *API) validateCheckout(w http.ResponseWriter, r *http.Request) {
	c, body, ok := h.begin(w, r)
	if !ok {
		return
	}
	id, _, err := decodeChange(body, "payment_id", false)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	v, err := h.Service.ValidateCheckout(r.Context(), c, id)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	status, msg := "validated", "The payment was validated before"
	if v.First {
		status, msg = "valid", "The payment is valid"
	}
	writeJSON(w, http.StatusOK, checkoutValidatedAnswer{Success: 1, Message: msg, Status: status, PaymentID: v.Payment.ID,
		Amount: v.Amount, Currency: v.Payment.Currency, Reference: v.Reference})
}

// idempotency reads the request's Idempotency-Key; on a malformed one it
// has answered.
func (h *API) idempotency(w http.ResponseWriter, r *http.Request, body []byte) (*service.Idempotency, bool) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return nil, true
	}
	if len(key) > 255 {
		h.Fail(w, r, invalid("invalid-idempotency-key", "The Idempotency-Key header must be at most 255 characters."))
		return nil, false
	}
	return &service.Idempotency{Key: key, Hash: h.Service.RequestHash(r.URL.Path, body)}, true
}

// decodeCheckout reads a create body as the SDK sends it: null for every
// field not set, numbers as JSON numbers or strings of digits. The service
// applies the rules.
func decodeCheckout(body []byte) (service.CheckoutInput, error) {
	f, err := parseFields(body)
	if err != nil {
		return service.CheckoutInput{}, err
	}
	p := parser{f: f}
	in := service.CheckoutInput{
		Reference:  p.value("reference"),
		SuccessURL: p.value("success_url"),
		CancelURL:  p.value("cancel_url"),
	}
	in.TaxAmount, _ = p.integer("tax_amount", "invalid-tax-amount")
	in.ShippingAmount, _ = p.integer("shipping_amount", "invalid-shipping-amount")
	if p.err != nil {
		return in, p.err
	}
	raw := bytes.TrimSpace(f["products"])
	if len(raw) == 0 || string(raw) == "null" {
		return in, nil // the service refuses a checkout without products
	}
	var items []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return in, invalid("invalid-products", "products must be an array of product objects.")
	}
	if len(items) > service.MaxCheckoutLines {
		return in, gateway.Errorf(gateway.KindInvalid, "too-many-products", "products may list at most %d lines.", service.MaxCheckoutLines)
	}
	for i, item := range items {
		pf, err := parseFields(item)
		if err != nil {
			return in, invalid("invalid-products", "products[%d] must be a JSON object.", i)
		}
		pp := parser{f: pf}
		line := service.CheckoutProductInput{
			Codename: pp.value("codename"),
			Name:     pp.value("name"),
			ImageURL: pp.value("image_url"),
		}
		line.Amount, line.HasAmount = pp.integer("amount", "invalid-product-amount")
		line.Quantity, line.HasQuantity = pp.integer("quantity", "invalid-product-quantity")
		if pp.err != nil {
			var e *gateway.Error
			if errors.As(pp.err, &e) {
				e.Message = fmt.Sprintf("products[%d]: %s", i, e.Message)
			}
			return in, pp.err
		}
		in.Products = append(in.Products, line)
	}
	return in, nil
}

// integer reads an optional whole number (a JSON integer or a string of
// digits; null or absent: not given), refusing anything else with code.
func (p *parser) integer(name, code string) (int64, bool) {
	if p.err != nil {
		return 0, false
	}
	s, ok, err := p.f.value(name)
	if err != nil {
		p.err = invalid(code, "%s must be a whole number.", name)
		return 0, false
	}
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s[0] < '0' || s[0] > '9' || n > maxAmount {
		p.err = invalid(code, "%s must be a whole number from 0 to %d, without sign, fraction or exponent.", name, int64(maxAmount))
		return 0, false
	}
	return n, true
}

// CheckoutURLFromBase builds a session page's URL from a fixed public
// base URL (--public-url), or, when base is empty, from the scheme and
// host the request came in with (web.Origin); path is the page's path for
// the token.
func CheckoutURLFromBase(base string, path func(token string) string) func(r *http.Request, token string) string {
	return func(r *http.Request, token string) string {
		origin := base
		if origin == "" {
			if origin = web.Origin(r.Context()); origin == "" {
				return ""
			}
		}
		return origin + path(token)
	}
}
