package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
)

type ctxKey struct{}

// requestInfo travels in the request context: the request id for logs and
// answers, the client's address (for logs) and limit key (set by transport,
// before any handler runs), and the account once authenticated.
type requestInfo struct {
	id        string
	client    string
	clientKey string
	account   atomic.Pointer[string]
}

// clientKey is the key of the request's client in the per-IP limits.
func clientKey(ctx context.Context) string {
	if ri, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return ri.clientKey
	}
	return ""
}

func requestID(ctx context.Context) string {
	if ri, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return ri.id
	}
	return ""
}

func setAccount(ctx context.Context, id string) {
	if ri, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		ri.account.Store(&id)
	}
}

// validRequestID accepts a caller's X-Request-Id only if it is short and
// plain, so that it can go into logs and answers as it is.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// withRequestID gives every request an id (the caller's X-Request-Id when
// plain, else a fresh one), echoed in the X-Request-Id answer header.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = "req_" + gateway.NewID()
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), ctxKey{}, &requestInfo{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Security headers every answer carries. The Content-Security-Policy suits
// JSON, which loads nothing; an HTML page sets its own policy, one that lets
// it load its own styles and scripts, over this one.
var securityHeaders = fixedHeaders(
	"X-Content-Type-Options", "nosniff",
	"Referrer-Policy", "no-referrer",
	"X-Frame-Options", "DENY",
	"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'",
)

// headerValue is one header's name, canonical, and value.
type headerValue struct{ name, value string }

// fixedHeaders pairs names (already canonical) with values.
func fixedHeaders(kv ...string) []headerValue {
	out := make([]headerValue, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, headerValue{kv[i], kv[i+1]})
	}
	return out
}

// setFixed sets headers that every answer carries with one allocation for
// all of them, where Header.Set would canonicalise each name and allocate a
// slice for each. Each value gets a slice of its own, with no room to grow.
func setFixed(h http.Header, headers []headerValue) {
	values := make([]string, len(headers))
	for i, kv := range headers {
		values[i] = kv.value
		h[kv.name] = values[i : i+1 : i+1]
	}
}

// hsts is sent on every answer to a request that came over HTTPS.
const hsts = "max-age=63072000; includeSubDomains"

// transport names the client (the peer, or what a trusted proxy says the
// client is) and sets the security headers, with HSTS when the client came
// over HTTPS: to this server, or to a trusted proxy that says so in
// X-Forwarded-Proto.
func (h *Handler) transport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, viaProxy := h.TrustedProxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
		if ri, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok {
			ri.client, ri.clientKey = r.RemoteAddr, r.RemoteAddr
			if addr.IsValid() {
				ri.clientKey = limit.Key(addr)
				ri.client = ri.clientKey // an IPv4 address is its own key
				if addr.Is6() {
					ri.client = addr.String()
				}
			}
		}
		hdr := w.Header()
		setFixed(hdr, securityHeaders)
		if r.TLS != nil || viaProxy && forwardedHTTPS(r.Header.Values("X-Forwarded-Proto")) {
			hdr.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedHTTPS reads X-Forwarded-Proto; the last entry is the one the
// nearest (trusted) proxy wrote.
func forwardedHTTPS(values []string) bool {
	if len(values) == 0 {
		return false
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

// limitExempt are the paths outside the per-IP limit: a load balancer's
// health checks and a metrics scraper must keep working when the address
// they share with traffic (an unconfigured proxy, a NAT) is limited, which
// is when they matter most. Both are cheap and answer no secrets.
var limitExempt = map[string]bool{"/healthz": true, "/metrics": true}

// limitClients applies the per-IP limit to every route but limitExempt.
func (h *Handler) limitClients(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !limitExempt[r.URL.Path] {
			if ok, wait := h.limits.ip.Allow(clientKey(r.Context())); !ok {
				h.instrument("rate-limited", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.rateLimited(w, r, "rate-limited", "Too many requests from this address", wait)
				})).ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimited answers 429 with a Retry-After of whole seconds.
func (h *Handler) rateLimited(w http.ResponseWriter, r *http.Request, code, why string, wait time.Duration) {
	secs := limit.RetryAfterSeconds(wait)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	h.fail(w, r, gateway.Errorf(gateway.KindRateLimited, code, "%s; retry after %d seconds.", why, secs))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// instrument logs and counts each request under a fixed endpoint label.
func (h *Handler) instrument(endpoint string, next http.Handler) http.Handler {
	observe := h.Metrics.requestObserver(endpoint)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		observe(rec.status, elapsed)
		level := levelFor(rec.status)
		if !h.Log.Enabled(r.Context(), level) {
			return // at --log-level warn, most requests: build no log line
		}
		account, client := "", ""
		if ri, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok {
			if a := ri.account.Load(); a != nil {
				account = *a
			}
			client = ri.client
		}
		h.Log.LogAttrs(r.Context(), level, "request",
			slogString("request_id", requestID(r.Context())), slogString("method", r.Method),
			slogString("path", endpoint), slogInt("status", rec.status), slogString("client_ip", client),
			slogString("account_id", account), slogString("duration", strconv.FormatFloat(elapsed.Seconds()*1000, 'f', 3, 64)+"ms"))
	})
}
