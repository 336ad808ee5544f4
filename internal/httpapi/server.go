// Package httpapi serves the CartGateway Payment API over HTTP: thin handlers
// that authenticate, decode, call the payment service and encode, plus the
// middleware every request passes (request id, client address, security
// headers, abuse limits, panic recovery, logging, metrics, body limit).
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
	"github.com/cartgateway/cartgateway/internal/limit"
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
	// Limits are the abuse limits (the zero value is the defaults).
	Limits Limits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; from any other peer they are ignored.
	TrustedProxies limit.Proxies

	limits limiters // built by Routes; the zero value limits nothing
}

// The default abuse limits. Per-IP limits are coarse (one merchant's servers
// may share an address, and so may a NAT), so that one is generous; bursts
// are twice the rate unless set.
const (
	DefaultIPRate                = 1000 // requests per second per client IP
	DefaultAccountRate           = 500  // requests per second per account
	DefaultAuthFailuresPerMinute = 10   // failed authentications per minute per client IP
)

// Limits configure the abuse limits. A zero rate or burst takes the default;
// a negative rate turns that limit off.
type Limits struct {
	// IPRate (per second) and IPBurst bound the requests of one client IP
	// (IPv6: one /64) on every route but /healthz and /metrics.
	IPRate  float64
	IPBurst int
	// AccountRate (per second) and AccountBurst bound the authenticated
	// requests of one account.
	AccountRate  float64
	AccountBurst int
	// AuthFailuresPerMinute and AuthFailureBurst bound the failed
	// authentications of one client IP: once they are spent, that IP's
	// authenticated requests answer 429 before its credentials are checked,
	// so that guessing keys is slow.
	AuthFailuresPerMinute float64
	AuthFailureBurst      int
	// MaxKeys bounds the clients each limit tracks (limit.DefaultMaxKeys if 0).
	MaxKeys int
	// Now is the limits' clock (time.Now if nil).
	Now func() time.Time
}

type limiters struct {
	ip, account, authFailures *limit.Limiter
}

func (l Limits) build() limiters {
	cfg := func(perSecond, def float64, burst int) limit.Config {
		switch {
		case perSecond == 0:
			perSecond = def
		case perSecond < 0:
			perSecond = 0 // off
		}
		if burst <= 0 {
			burst = int(min(max(1, 2*perSecond+0.5), 1<<30))
		}
		return limit.Config{Rate: perSecond, Burst: burst, MaxKeys: l.MaxKeys, Now: l.Now}
	}
	auth := cfg(l.AuthFailuresPerMinute, DefaultAuthFailuresPerMinute, l.AuthFailureBurst)
	auth.Rate /= 60
	return limiters{
		ip:           limit.New(cfg(l.IPRate, DefaultIPRate, l.IPBurst)),
		account:      limit.New(cfg(l.AccountRate, DefaultAccountRate, l.AccountBurst)),
		authFailures: limit.New(auth),
	}
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Routes returns the API's handler with its middleware. The middleware
// wraps the whole mux, so every route, added now or later, gets the security
// headers and the per-IP limit.
func (h *Handler) Routes() http.Handler {
	h.limits = h.Limits.build()
	mux := http.NewServeMux()
	for _, op := range h.operations() {
		mux.Handle("POST /payment/"+op.name, h.instrument("/payment/"+op.name, h.serveOperation(op)))
	}
	mux.Handle("POST /payment/lookup", h.instrument("/payment/lookup", http.HandlerFunc(h.lookup)))
	mux.Handle("GET /healthz", h.instrument("/healthz", http.HandlerFunc(h.healthz)))
	mux.Handle("GET /metrics", h.Metrics.Handler())
	mux.Handle("/", h.instrument("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.notFound(w, r, mux) })))
	return withRequestID(h.transport(h.recoverPanics(h.limitClients(mux))))
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
// An address that failed authentication too often is refused before its
// credentials are checked; an authenticated account is rate limited.
func (h *Handler) begin(w http.ResponseWriter, r *http.Request) (service.Caller, []byte, bool) {
	client := clientKey(r.Context())
	if ok, wait := h.limits.authFailures.Check(client); !ok {
		h.rateLimited(w, r, "too-many-failed-authentications", "Too many failed authentications from this address", wait)
		return service.Caller{}, nil, false
	}
	// The exact common value skips the parse, which allocates.
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			h.fail(w, r, invalid("unsupported-content-type", "The request body must be JSON (Content-Type: application/json)."))
			return service.Caller{}, nil, false
		}
	}
	c, err := h.Service.Authenticate(r.Context(), strings.TrimSpace(r.Header.Get("CARTGATEWAY-ACCOUNT-ID")),
		bearerToken(r.Header.Get("Authorization")), strings.TrimSpace(r.Header.Get("CARTGATEWAY-ENVIRONMENT")))
	if err != nil {
		if gateway.ErrorKind(err) == gateway.KindUnauthorized {
			h.limits.authFailures.Allow(client)
		}
		h.fail(w, r, err)
		return c, nil, false
	}
	c.RequestID = requestID(r.Context())
	setAccount(r.Context(), c.Account.ID)
	if ok, wait := h.limits.account.Allow(c.Account.ID); !ok {
		h.rateLimited(w, r, "rate-limited", "Too many requests for this account", wait)
		return c, nil, false
	}
	body, err := readBody(w, r)
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

// fail answers err; internal errors are logged with their detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	id := requestID(r.Context())
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
