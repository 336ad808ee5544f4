// Package httpapi is the CartGateway Payment API surface: thin handlers that
// authenticate, decode the wire format, call the payment service and encode
// its answer as JSON, with the API's own error format. The plumbing every
// surface shares (request ids, client addresses, security headers, the
// per-address limit, metrics, the access log) is internal/web's;
// internal/server mounts this surface beside the others.
package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// API is the JSON API surface.
type API struct {
	Service *service.Service
	Log     *slog.Logger
	Web     *web.Plumbing
	// Account and AuthFailures are the API's own limits (nil: none): the
	// requests of one account, and the failed authentications of one
	// client address.
	Account, AuthFailures *limit.Limiter
	// CheckoutURL is the URL of the page of a checkout session's token,
	// as the customer's browser reaches it; "" when it cannot be told.
	CheckoutURL func(r *http.Request, token string) string

	payments *prometheus.CounterVec
}

// Mount registers the API's routes on mux, each guarded (web.Guard) and
// counted and logged under its own endpoint label, and its series on the
// plumbing's metrics.
func (h *API) Mount(mux *http.ServeMux) {
	h.payments = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cartgateway_payments_total", Help: "Payment operations by operation and outcome (approved, declined, refused, error, replayed, in-progress).",
	}, []string{"operation", "outcome"})
	h.Web.Metrics.MustRegister(h.payments)
	for _, op := range h.operations() {
		h.handle(mux, "POST /payment/"+op.name, h.serveOperation(op))
	}
	h.handle(mux, "POST /payment/lookup", http.HandlerFunc(h.lookup))
	h.handle(mux, "POST /hosted/checkout/create", http.HandlerFunc(h.createCheckout))
	h.handle(mux, "POST /hosted/checkout/validate", http.HandlerFunc(h.validateCheckout))
}

func (h *API) handle(mux *http.ServeMux, pattern string, handler http.Handler) {
	_, path, _ := strings.Cut(pattern, " ")
	mux.Handle(pattern, h.Web.Guard(h.Fail, h.Web.Instrument(path, handler)))
}

// NotFound answers every route mux does not know in the API's format: 405
// for a known path asked with another method, else 404. Mount it as mux's
// catch-all "/". With a nil mux it answers 404 to everything.
func (h *API) NotFound(mux *http.ServeMux) http.Handler {
	return h.Web.Guard(h.Fail, h.Web.Instrument("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The catch-all "/" matches every method, so the mux never answers
		// 405 itself: a known path asked with another method gets a JSON
		// 405 here.
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			if mux == nil {
				break
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); m != r.Method && pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "405 - Method Not Allowed. This endpoint accepts only " +
				strings.Join(allow, " or ") + " (method-not-allowed).", Code: "method-not-allowed", RequestID: web.RequestID(r.Context())})
			return
		}
		writeJSON(w, http.StatusNotFound, errorBody{Error: "404 - Not Found. There is no such endpoint; the reference is at /docs (not-found).",
			Code: "not-found", RequestID: web.RequestID(r.Context())})
	})))
}

// WriteJSON answers v as JSON with the API's headers (for the server's own
// JSON endpoints, such as /healthz).
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// begin authenticates a POST and reads its body; on failure it has answered.
// An address that failed authentication too often is refused before its
// credentials are checked; an authenticated account is rate limited.
func (h *API) begin(w http.ResponseWriter, r *http.Request) (service.Caller, []byte, bool) {
	client := web.ClientKey(r.Context())
	if ok, wait := h.AuthFailures.Check(client); !ok {
		h.Fail(w, r, web.LimitError(w, "too-many-failed-authentications", "Too many failed authentications from this address", wait))
		return service.Caller{}, nil, false
	}
	if name := repeatedHeader(r.Header); name != "" {
		h.Fail(w, r, invalid("duplicate-header", "The request carries the %s header more than once; send it once.", name))
		return service.Caller{}, nil, false
	}
	// The exact common value skips the parse, which allocates.
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			h.Fail(w, r, invalid("unsupported-content-type", "The request body must be JSON (Content-Type: application/json)."))
			return service.Caller{}, nil, false
		}
	}
	c, err := h.Service.Authenticate(r.Context(), strings.TrimSpace(r.Header.Get("CARTGATEWAY-ACCOUNT-ID")),
		bearerToken(r.Header.Get("Authorization")), strings.TrimSpace(r.Header.Get("CARTGATEWAY-ENVIRONMENT")))
	if err != nil {
		if gateway.ErrorKind(err) == gateway.KindUnauthorized {
			h.AuthFailures.Allow(client)
		}
		h.Fail(w, r, err)
		return c, nil, false
	}
	c.RequestID = web.RequestID(r.Context())
	web.SetAccount(r.Context(), c.Account.ID)
	if ok, wait := h.Account.Allow(c.Account.ID); !ok {
		h.Fail(w, r, web.LimitError(w, "rate-limited", "Too many requests for this account", wait))
		return c, nil, false
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.Fail(w, r, gateway.Errorf(gateway.KindTooLarge, "body-too-large", "The request body must be at most %d bytes.", MaxBodyBytes))
		} else {
			h.Fail(w, r, invalid("unreadable-body", "The request body could not be read."))
		}
		return c, nil, false
	}
	return c, body, true
}

// singleValued are the headers a request may carry once, with the names the
// documentation spells them by. Two values are ambiguous: a proxy may pass
// the first on while the gateway uses the last, or the other way round (two
// Idempotency-Keys, two keys), so the request is refused, as a body that
// names a field twice is.
var singleValued = []struct{ canonical, name string }{
	{"Authorization", "Authorization"},
	{"Cartgateway-Account-Id", "CARTGATEWAY-ACCOUNT-ID"},
	{"Cartgateway-Environment", "CARTGATEWAY-ENVIRONMENT"},
	{"Idempotency-Key", "Idempotency-Key"},
	{"Content-Type", "Content-Type"},
}

// repeatedHeader names the first single-valued header h carries more than
// once, or "".
func repeatedHeader(h http.Header) string {
	for _, s := range singleValued {
		if len(h[s.canonical]) > 1 {
			return s.name
		}
	}
	return ""
}

// readBody reads a request body of at most MaxBodyBytes. A small body of
// known length, as every SDK request has, is read into a buffer of that
// size in one go; io.ReadAll would start at 512 bytes and read once more
// for EOF. A larger one grows as it arrives, so that a Content-Length
// alone, with no body behind it, makes the server allocate nothing.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= maxPreallocatedBody {
		body := make([]byte, n)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
}

// maxPreallocatedBody bounds what readBody allocates before the bytes
// arrive.
const maxPreallocatedBody = 16 << 10

// statusClientClosed is nginx's 499: the client hung up before its answer.
const statusClientClosed = 499

// Fail answers err in the API's format; internal errors are logged with
// their detail. It is the API's web.Renderer.
func (h *API) Fail(w http.ResponseWriter, r *http.Request, err error) {
	id := web.RequestID(r.Context())
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// A read cut short because the client went away: nothing failed
		// here and nobody reads the answer. (Writes are never cut short.)
		h.Log.Info("client closed the request", "request_id", id, "path", r.URL.Path)
		w.WriteHeader(statusClientClosed)
		return
	}
	if gateway.ErrorKind(err) == gateway.KindInternal {
		h.Log.Error("request failed", "request_id", id, "path", r.URL.Path, "err", err)
	}
	status, body := renderError(err, id)
	writeRaw(w, status, body)
}

// bearerToken returns the credentials of an "Authorization: Bearer …"
// header (the scheme is case-insensitive, RFC 9110); "" for any other form.
func bearerToken(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
