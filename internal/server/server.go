// Package server mounts the gateway's surfaces side by side over the shared
// plumbing of internal/web: the JSON API under /payment/, the operational
// endpoints /healthz and /metrics, and (as they come) the hosted checkout
// and the Merchant Portal, each with its own error rendering, content
// types and Content-Security-Policy.
package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/cartgateway/cartgateway/internal/httpapi"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// Config is what a server is built from.
type Config struct {
	Service *service.Service
	Log     *slog.Logger
	Metrics *web.Metrics // web.NewMetrics() if nil
	// Ready reports whether the store answers, for /healthz.
	Ready func(context.Context) error
	// Limits are the abuse limits (the zero value is the defaults).
	Limits web.Limits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed.
	TrustedProxies limit.Proxies
}

// New builds the server's handler.
func New(cfg Config) http.Handler {
	if cfg.Metrics == nil {
		cfg.Metrics = web.NewMetrics()
	}
	limits := cfg.Limits.Build()
	plumbing := &web.Plumbing{Log: cfg.Log, Metrics: cfg.Metrics, TrustedProxies: cfg.TrustedProxies, IPLimit: limits.IP}
	api := &httpapi.API{Service: cfg.Service, Log: cfg.Log, Web: plumbing, Account: limits.Account, AuthFailures: limits.AuthFailures}

	mux := http.NewServeMux()
	api.Mount(mux)
	// Every route no surface knows answers in the API's format: it is the
	// surface of machines, which read JSON.
	mux.Handle("/", api.NotFound(mux))
	// Health checks and scrapes are outside the per-address limit: they
	// must keep working when the address they share with traffic (an
	// unconfigured proxy, a NAT) is limited, which is when they matter
	// most. Both are cheap and answer no secrets.
	mux.Handle("GET /healthz", plumbing.Recover(api.Fail, plumbing.Instrument("/healthz", healthz(cfg.Ready, cfg.Log))))
	mux.Handle("GET /metrics", cfg.Metrics.Handler())
	return plumbing.Outer(mux)
}

func healthz(ready func(context.Context) error, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			if err := ready(r.Context()); err != nil {
				log.Error("health check failed", "err", err)
				httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
				return
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
