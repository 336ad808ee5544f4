// Package web is the HTTP plumbing every surface shares: request ids, the
// client's address, security headers, panic recovery, the per-address
// limit, metrics and the access log. A surface (the JSON API, the hosted
// page, the portal) brings its own routes, error rendering, content types
// and Content-Security-Policy; internal/server mounts them side by side.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
)

// Plumbing is the shared middleware of one server.
type Plumbing struct {
	Log     *slog.Logger
	Metrics *Metrics
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed; from any other peer they are ignored.
	TrustedProxies limit.Proxies
	// IPLimit bounds the requests of one client address (nil: no limit).
	IPLimit *limit.Limiter
}

// Renderer answers an error in a surface's own format: JSON for the API, a
// page for HTML surfaces. The plumbing uses it for what it refuses itself
// (a panic, the per-address limit).
type Renderer func(w http.ResponseWriter, r *http.Request, err error)

type ctxKey struct{}

// requestInfo travels in the request context: the request id for logs and
// answers, the client's address (for logs) and limit key (set by Outer,
// before any handler runs), and the account once authenticated.
type requestInfo struct {
	id        string
	client    string
	clientKey string
	https     bool
	host      string // as the client asked for it (Host, or a trusted proxy's X-Forwarded-Host)
	account   atomic.Pointer[string]
}

func info(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(ctxKey{}).(*requestInfo)
	return ri
}

// RequestID is the request's id ("" outside Outer).
func RequestID(ctx context.Context) string {
	if ri := info(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// ClientKey is the key of the request's client in per-address limits.
func ClientKey(ctx context.Context) string {
	if ri := info(ctx); ri != nil {
		return ri.clientKey
	}
	return ""
}

// ClientIP is the client's address as logs show it.
func ClientIP(ctx context.Context) string {
	if ri := info(ctx); ri != nil {
		return ri.client
	}
	return ""
}

// HTTPS reports whether the client came over HTTPS, to this server or to a
// trusted proxy that says so.
func HTTPS(ctx context.Context) bool {
	if ri := info(ctx); ri != nil {
		return ri.https
	}
	return false
}

// Origin is the scheme and host the client used to reach the server, e.g.
// "https://pay.example.com": the request's Host, or, from a trusted proxy,
// its X-Forwarded-Host and X-Forwarded-Proto. "" when the host is not a
// plain host[:port] (a forged or missing Host header).
func Origin(ctx context.Context) string {
	ri := info(ctx)
	if ri == nil || !validHost(ri.host) {
		return ""
	}
	if ri.https {
		return "https://" + ri.host
	}
	return "http://" + ri.host
}

// validHost accepts a host name, IPv4 address or bracketed IPv6 address,
// with an optional port.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// SetAccount names the authenticated account in the request's log line.
func SetAccount(ctx context.Context, id string) {
	if ri := info(ctx); ri != nil {
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

// Security headers every answer carries. The Content-Security-Policy suits
// JSON, which loads nothing; an HTML surface sets its own policy over it,
// one that lets its pages load their own styles and still forbids framing.
var securityHeaders = FixedHeaders(
	"X-Content-Type-Options", "nosniff",
	"Referrer-Policy", "no-referrer",
	"X-Frame-Options", "DENY",
	"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'",
)

// HeaderValue is one header's name, canonical, and value.
type HeaderValue struct{ name, value string }

// FixedHeaders pairs names (already canonical) with values.
func FixedHeaders(kv ...string) []HeaderValue {
	out := make([]HeaderValue, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		out = append(out, HeaderValue{kv[i], kv[i+1]})
	}
	return out
}

// SetFixed sets headers that every answer of a kind carries with one
// allocation for all of them, where Header.Set would canonicalise each name
// and allocate a slice for each. Each value gets a slice of its own, with
// no room to grow, so that one answer's change never reaches another's.
func SetFixed(h http.Header, headers []HeaderValue) {
	values := make([]string, len(headers))
	for i, kv := range headers {
		values[i] = kv.value
		h[kv.name] = values[i : i+1 : i+1]
	}
}

// hsts is sent on every answer to a request that came over HTTPS.
const hsts = "max-age=63072000; includeSubDomains"

// Outer is the plumbing around the whole server: it gives every request an
// id (the caller's X-Request-Id when plain, else a fresh one, echoed in the
// X-Request-Id answer header), names the client (the peer, or what a
// trusted proxy says the client is) and sets the security headers, with
// HSTS when the client came over HTTPS.
func (p *Plumbing) Outer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = "req_" + gateway.NewID()
		}
		hdr := w.Header()
		hdr.Set("X-Request-Id", id)
		ri := &requestInfo{id: id}
		addr, viaProxy := p.TrustedProxies.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
		ri.client, ri.clientKey = r.RemoteAddr, r.RemoteAddr
		if addr.IsValid() {
			ri.clientKey = limit.Key(addr)
			ri.client = ri.clientKey // an IPv4 address is its own key
			if addr.Is6() {
				ri.client = addr.String()
			}
		}
		SetFixed(hdr, securityHeaders)
		ri.host = r.Host
		if viaProxy {
			if fh := lastEntry(r.Header.Values("X-Forwarded-Host")); fh != "" {
				ri.host = fh
			}
		}
		if r.TLS != nil || viaProxy && forwardedHTTPS(r.Header.Values("X-Forwarded-Proto")) {
			ri.https = true
			hdr.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri)))
	})
}

// forwardedHTTPS reads X-Forwarded-Proto; the last entry is the one the
// nearest (trusted) proxy wrote.
func forwardedHTTPS(values []string) bool {
	return strings.EqualFold(lastEntry(values), "https")
}

// lastEntry is the last entry of a comma-separated header's values: the
// one the nearest proxy wrote.
func lastEntry(values []string) string {
	if len(values) == 0 {
		return ""
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// Guard is the plumbing around one surface's routes: panic recovery and
// the per-address limit, each answered by the surface's renderer.
func (p *Plumbing) Guard(render Renderer, next http.Handler) http.Handler {
	return p.Recover(render, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := p.IPLimit.Allow(ClientKey(r.Context())); !ok {
			p.Instrument("rate-limited", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				render(w, r, LimitError(w, "rate-limited", "Too many requests from this address", wait))
			})).ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// Recover turns a panic into the surface's answer to an internal error and
// a log line with the stack; the process lives on.
func (p *Plumbing) Recover(render Renderer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				p.Log.Error("panic", "request_id", RequestID(r.Context()), "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				render(w, r, gateway.Internal(errors.New("panic")))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// LimitError is the answer to a spent limit: 429 in the surface's format,
// with a Retry-After header of whole seconds.
func LimitError(w http.ResponseWriter, code, why string, wait time.Duration) error {
	secs := limit.RetryAfterSeconds(wait)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return gateway.Errorf(gateway.KindRateLimited, code, "%s; retry after %d seconds.", why, secs)
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

// Unwrap lets http.ResponseController reach the connection (flushing a
// streamed answer).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Instrument logs and counts each request under a fixed endpoint label.
func (p *Plumbing) Instrument(endpoint string, next http.Handler) http.Handler {
	observe := p.Metrics.requestObserver(endpoint)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		observe(rec.status, elapsed)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		if !p.Log.Enabled(r.Context(), level) {
			return // at --log-level warn, most requests: build no log line
		}
		account, client := "", ""
		if ri := info(r.Context()); ri != nil {
			if a := ri.account.Load(); a != nil {
				account = *a
			}
			client = ri.client
		}
		p.Log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", RequestID(r.Context())), slog.String("method", r.Method),
			slog.String("path", endpoint), slog.Int("status", rec.status), slog.String("client_ip", client),
			slog.String("account_id", account), slog.String("duration", strconv.FormatFloat(elapsed.Seconds()*1000, 'f', 3, 64)+"ms"))
	})
}
