package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

type ctxKey struct{}

// requestInfo travels in the request context: the request id for logs and
// answers, and the account once authenticated.
type requestInfo struct {
	id      string
	account atomic.Pointer[string]
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		h.Metrics.observeRequest(endpoint, rec.status, elapsed)
		account := ""
		if ri, ok := r.Context().Value(ctxKey{}).(*requestInfo); ok {
			if a := ri.account.Load(); a != nil {
				account = *a
			}
		}
		h.Log.LogAttrs(r.Context(), levelFor(rec.status), "request",
			slogString("request_id", requestID(r.Context())), slogString("method", r.Method),
			slogString("path", endpoint), slogInt("status", rec.status),
			slogString("account_id", account), slogString("duration", strconv.FormatFloat(elapsed.Seconds()*1000, 'f', 3, 64)+"ms"))
	})
}
