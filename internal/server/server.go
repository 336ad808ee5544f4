// Package server mounts the gateway's surfaces side by side over the shared
// plumbing of internal/web: the JSON API under /payment/ and
// /hosted/checkout/, the hosted checkout's pages under /checkout/, the
// operational endpoints /healthz and /metrics, the API's reference
// (/openapi.json and /docs), and the Merchant Portal under /portal/, each
// with its own error rendering, content types and Content-Security-Policy.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/cartgateway/cartgateway/internal/apidocs"
	"github.com/cartgateway/cartgateway/internal/checkout"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/httpapi"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/portal"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// Config is what a server is built from.
type Config struct {
	Service *service.Service
	Log     *slog.Logger
	Metrics *web.Metrics // web.NewMetrics() if nil
	// Ready reports whether the store answers reads and writes, for
	// /healthz: gateway.ErrWritesFailing when only writes fail.
	Ready func(context.Context) error
	// Limits are the abuse limits (the zero value is the defaults).
	Limits web.Limits
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed.
	TrustedProxies limit.Proxies
	// PublicURL is the scheme, host and optional path prefix under which
	// customers' browsers reach the server (e.g.
	// "https://pay.example.com"), for the URLs of hosted checkout pages;
	// empty: each create request's own scheme and host.
	PublicURL string
}

// New builds the server's handler.
func New(cfg Config) http.Handler {
	if cfg.Metrics == nil {
		cfg.Metrics = web.NewMetrics()
	}
	// Webhook events show a payment as the API's lookup does, and their
	// delivery is measured with the server's metrics.
	if svc := cfg.Service; svc != nil {
		if svc.PaymentJSON == nil {
			svc.PaymentJSON = httpapi.PaymentJSON
		}
		if svc.Webhooks.Observe == nil {
			svc.Webhooks.Observe, svc.Webhooks.ObserveBacklog = cfg.Metrics.WebhookObservers()
		}
	}
	limits := cfg.Limits.Build()
	plumbing := &web.Plumbing{Log: cfg.Log, Metrics: cfg.Metrics, TrustedProxies: cfg.TrustedProxies, IPLimit: limits.IP}
	api := &httpapi.API{Service: cfg.Service, Log: cfg.Log, Web: plumbing, Account: limits.Account, AuthFailures: limits.AuthFailures,
		CheckoutURL: httpapi.CheckoutURLFromBase(strings.TrimRight(cfg.PublicURL, "/"), checkout.Path)}
	page := &checkout.Page{Service: cfg.Service, Log: cfg.Log, Web: plumbing}
	merchants := &portal.Portal{Service: cfg.Service, Log: cfg.Log, Web: plumbing}

	mux := http.NewServeMux()
	api.Mount(mux)
	page.Mount(mux)
	merchants.Mount(mux)
	// Every route no surface knows answers in the API's format: it is the
	// surface of machines, which read JSON.
	mux.Handle("/", api.NotFound(mux))
	// Health checks and scrapes are outside the per-address limit: they
	// must keep working when the address they share with traffic (an
	// unconfigured proxy, a NAT) is limited, which is when they matter
	// most. Both are cheap and answer no secrets.
	mux.Handle("GET /healthz", plumbing.Recover(api.Fail, plumbing.Instrument("/healthz", healthz(cfg.Ready, cfg.Log))))
	mux.Handle("GET /livez", plumbing.Recover(api.Fail, plumbing.Instrument("/livez", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	}))))
	mux.Handle("GET /metrics", cfg.Metrics.Handler())
	// The API's reference: its OpenAPI document and the page rendered from
	// it, guarded and answered in the API's error format.
	for _, p := range apidocs.Paths {
		mux.Handle("GET "+p, plumbing.Guard(api.Fail, plumbing.Instrument(p, apidocs.Handler())))
	}
	return plumbing.Outer(onePath(mux, api.NotFound(nil)))
}

// onePath answers a path that is not in its clean form (with "." or ".."
// segments, or doubled slashes) as not found, in the API's format, logged
// and counted like any request: ServeMux would answer it with a redirect
// to the clean path, outside every surface's rules.
func onePath(next, notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p != cleanPath(p) {
			notFound.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath is ServeMux's idea of a clean path: path.Clean, keeping a
// trailing slash.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}

func healthz(ready func(context.Context) error, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ready != nil {
			if err := ready(r.Context()); err != nil {
				log.Error("health check failed", "err", err)
				status := "unavailable"
				if errors.Is(err, gateway.ErrWritesFailing) {
					status = "degraded"
				}
				httpapi.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": status})
				return
			}
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}
