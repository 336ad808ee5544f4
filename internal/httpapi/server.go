// Package httpapi serves the CartGateway Payment API over HTTP: thin handlers
// that authenticate, decode, call the payment service and encode, plus the
// middleware every request passes (request id, panic recovery, logging,
// metrics, body limit).
package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Handler is the HTTP face of the gateway.
type Handler struct {
	Service *service.Service
	Log     *slog.Logger
	Metrics *Metrics
	// Ready reports whether the store answers, for /healthz.
	Ready func(context.Context) error
	Now   func() time.Time
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes returns the API's handler with its middleware.
func (h *Handler) Routes() http.Handler {
	mux := http.NewServeMux()
	for _, op := range h.operations() {
		mux.Handle("POST /payment/"+op.name, h.instrument("/payment/"+op.name, h.serveOperation(op)))
	}
	mux.Handle("POST /payment/lookup", h.instrument("/payment/lookup", http.HandlerFunc(h.lookup)))
	mux.Handle("GET /healthz", h.instrument("/healthz", http.HandlerFunc(h.healthz)))
	mux.Handle("GET /metrics", h.Metrics.Handler())
	mux.Handle("/", h.instrument("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.notFound(w, r, mux) })))
	return withRequestID(h.recoverPanics(mux))
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if h.Ready != nil {
		if err := h.Ready(r.Context()); err != nil {
			h.Log.Error("health check failed", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, mux *http.ServeMux) {
	// The catch-all "/" matches every method, so the mux never answers 405
	// itself: a known path asked with another method gets a JSON 405 here;
	// every other unknown route gets a JSON 404 in the API's error format.
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); m != r.Method && pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "405 - Method Not Allowed. This endpoint accepts only " +
			strings.Join(allow, " or ") + " (method-not-allowed).", Code: "method-not-allowed", RequestID: requestID(r.Context())})
		return
	}
	status := http.StatusNotFound
	body := errorBody{Error: "404 - Not Found. There is no such endpoint; see docs/api.md (not-found).", Code: "not-found", RequestID: requestID(r.Context())}
	writeJSON(w, status, body)
}

// begin authenticates a POST and reads its body; on failure it has answered.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) (service.Caller, []byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			h.fail(w, r, invalid("unsupported-content-type", "The request body must be JSON (Content-Type: application/json)."))
			return service.Caller{}, nil, false
		}
	}
	c, err := h.Service.Authenticate(r.Context(), strings.TrimSpace(r.Header.Get("CARTGATEWAY-ACCOUNT-ID")),
		bearerToken(r.Header.Get("Authorization")), strings.TrimSpace(r.Header.Get("CARTGATEWAY-ENVIRONMENT")))
	if err != nil {
		h.fail(w, r, err)
		return c, nil, false
	}
	c.RequestID = requestID(r.Context())
	setAccount(r.Context(), c.Account.ID)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.fail(w, r, gateway.Errorf(gateway.KindTooLarge, "body-too-large", "The request body must be at most %d bytes.", MaxBodyBytes))
		} else {
			h.fail(w, r, invalid("unreadable-body", "The request body could not be read."))
		}
		return c, nil, false
	}
	return c, body, true
}

// fail answers err; internal errors are logged with their detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := requestID(r.Context())
	if gateway.ErrorKind(err) == gateway.KindInternal {
		h.Log.Error("request failed", "request_id", id, "path", r.URL.Path, "err", err)
	}
	status, body := renderError(err, id)
	writeRaw(w, status, body)
}

// recoverPanics turns a panic into a 500 JSON answer and a log line; the
// process lives on.
func (h *Handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.Log.Error("panic", "request_id", requestID(r.Context()), "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				h.fail(w, r, gateway.Internal(errors.New("panic")))
			}
		}()
		next.ServeHTTP(w, r)
	})
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
