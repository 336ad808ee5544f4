package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/server"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// serveCmd runs the gateway. Each flag is one field: its tag holds its
// name, environment variable, default and help, which the help text, the
// docs test (docs_test.go) and --print-config all read.
type serveCmd struct {
	storeFlags `embed:""`

	Addr                 hostPort     `name:"addr" env:"CARTGATEWAY_ADDR" default:"127.0.0.1:8080" help:"Listen address."`
	DuplicateWindow      span         `name:"duplicate-window" env:"CARTGATEWAY_DUPLICATE_WINDOW" default:"10m" help:"Refuse a repeated charge/authorize (same order id, amount, card) without Idempotency-Key within this window; 0 disables."`
	AuthCacheTTL         span         `name:"auth-cache-ttl" env:"CARTGATEWAY_AUTH_CACHE_TTL" default:"${default_auth_cache}" help:"Remember a successful authentication this long; a revoked key keeps working at most this long; 0 disables."`
	LookupCache          span         `name:"lookup-cache" env:"CARTGATEWAY_LOOKUP_CACHE" default:"${default_lookup_cache}" help:"SQLite: answer repeated lookups from memory; changes by other processes (cartgateway settle from a shell) show within this time; 0 disables."`
	ProcessorTimeout     span         `name:"processor-timeout" env:"CARTGATEWAY_PROCESSOR_TIMEOUT" default:"${default_processor_timeout}" help:"How long one processor call may take; an operation whose call has not answered by then stays pending until the reconciler learns its outcome."`
	IdempotencyRetention span         `name:"idempotency-retention" env:"CARTGATEWAY_IDEMPOTENCY_RETENTION" default:"${default_idempotency_retention}" help:"How long an Idempotency-Key is kept; older keys are deleted hourly."`
	MaxRefunds           count        `name:"max-refunds-per-payment" env:"CARTGATEWAY_MAX_REFUNDS_PER_PAYMENT" default:"${default_max_refunds}" help:"The most refunds one payment may have; past it a refund answers 400 too-many-refunds."`
	SettleAt             cutoff       `name:"settle-at" env:"CARTGATEWAY_SETTLE_AT" default:"00:00" help:"Daily settlement cut-off, HH:MM in UTC, or off."`
	WebhookTimeout       span         `name:"webhook-timeout" env:"CARTGATEWAY_WEBHOOK_TIMEOUT" default:"${default_webhook_timeout}" help:"How long one webhook POST may take; a 2xx within it counts as delivered."`
	WebhookConcurrency   count        `name:"webhook-concurrency" env:"CARTGATEWAY_WEBHOOK_CONCURRENCY" default:"${default_webhook_concurrency}" help:"Webhook POSTs in flight to one endpoint from this process, at most."`
	WebhookRetention     span         `name:"webhook-retention" env:"CARTGATEWAY_WEBHOOK_RETENTION" default:"${default_webhook_retention}" help:"How long a webhook delivery and its attempts are kept after the event; older ones are deleted hourly."`
	WebhookAllowPrivate  bool         `name:"webhook-allow-private" env:"CARTGATEWAY_WEBHOOK_ALLOW_PRIVATE" default:"false" help:"Let live webhook endpoints reach private, loopback and link-local addresses (on-premises receivers)."`
	LogLevel             logLevel     `name:"log-level" env:"CARTGATEWAY_LOG_LEVEL" default:"info" help:"Log level: debug, info, warn or error."`
	PprofAddr            loopbackAddr `name:"pprof-addr" env:"CARTGATEWAY_PPROF_ADDR" placeholder:"HOST:PORT" help:"Serve Go's pprof profiles on this loopback address; off when empty."`
	RateIP               rate         `name:"rate-ip" env:"CARTGATEWAY_RATE_IP" default:"${default_rate_ip}" help:"Requests per second per client IP (IPv6: per /64), burst twice that; /healthz and /metrics are exempt; 0 disables."`
	RateAccount          rate         `name:"rate-account" env:"CARTGATEWAY_RATE_ACCOUNT" default:"${default_rate_acct}" help:"Requests per second per account, burst twice that; 0 disables."`
	AuthFailures         rate         `name:"auth-failures" env:"CARTGATEWAY_AUTH_FAILURES" default:"${default_auth_fail}" help:"Failed authentications per minute per client IP, burst twice that; past it the IP's API requests answer 429; 0 disables."`
	TrustedProxies       proxies      `name:"trusted-proxies" env:"CARTGATEWAY_TRUSTED_PROXIES" placeholder:"CIDRS" help:"Comma-separated CIDRs or addresses of reverse proxies whose X-Forwarded-For/-Proto are believed; default none."`
	PublicURL            publicURL    `name:"public-url" env:"CARTGATEWAY_PUBLIC_URL" placeholder:"URL" help:"Scheme, host and optional path prefix under which customers reach this server, e.g. https://pay.example.com: the base of hosted checkout URLs; default: each create request's own scheme and host."`
	CheckoutExpiry       span         `name:"checkout-expiry" env:"CARTGATEWAY_CHECKOUT_EXPIRY" default:"${default_checkout_expiry}" help:"How long a hosted checkout session can be paid after it is created."`
	PortalIdleTimeout    span         `name:"portal-idle-timeout" env:"CARTGATEWAY_PORTAL_IDLE_TIMEOUT" default:"${default_portal_idle}" help:"Merchant Portal: end a session unused for this long."`
	PortalSessionLife    span         `name:"portal-session-lifetime" env:"CARTGATEWAY_PORTAL_SESSION_LIFETIME" default:"${default_portal_life}" help:"Merchant Portal: end every session this long after sign-in, however active."`
	TLSCert              string       `name:"tls-cert" env:"CARTGATEWAY_TLS_CERT" placeholder:"FILE" help:"PEM certificate (chain) file: serve HTTPS; needs --tls-key."`
	TLSKey               string       `name:"tls-key" env:"CARTGATEWAY_TLS_KEY" placeholder:"FILE" help:"PEM private key file of --tls-cert."`
	PrintConfig          bool         `name:"print-config" help:"Print the effective configuration (secrets redacted) and exit."`
}

func (serveCmd) Help() string {
	return `Runs the HTTP API on --addr with the database --db, which it creates (with a
secret file beside it) if it does not exist. On an empty database it creates a
sandbox account and prints its id and key once. SIGINT or SIGTERM stop it
gracefully. Every flag but --print-config has an environment variable ($NAME); a flag
wins over its variable.

Examples:
  cartgateway serve
  cartgateway serve --addr 127.0.0.1:9090 --db /var/lib/cartgateway/cartgateway.db
  CARTGATEWAY_DB=postgres://gw@db/cg CARTGATEWAY_SECRET=... cartgateway serve
  cartgateway serve --print-config`
}

func (c *serveCmd) Validate() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.ProcessorTimeout <= 0 || c.IdempotencyRetention <= 0 || c.CheckoutExpiry <= 0 || c.WebhookTimeout <= 0 || c.WebhookRetention <= 0 ||
		c.PortalIdleTimeout <= 0 || c.PortalSessionLife <= 0 {
		return errors.New("--processor-timeout, --idempotency-retention, --checkout-expiry, --webhook-timeout, --webhook-retention, --portal-idle-timeout and --portal-session-lifetime must be positive, e.g. 30s or 24h")
	}
	return nil
}

func (c *serveCmd) Run(e *env, kctx *kong.Context) error {
	ctx, stdout, stderr := e.ctx, e.stdout, e.stderr
	if c.PrintConfig {
		return printConfig(stdout, kctx)
	}
	tuneGC()
	tlsConfig, err := serverTLS(c.TLSCert, c.TLSKey)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: c.LogLevel.level}))

	sf := c.storeFlags
	sf.lookupCache = time.Duration(c.LookupCache)
	db, svc, err := sf.open(ctx, mayCreate)
	if err != nil {
		return err
	}
	defer db.Close()
	svc.DuplicateWindow = time.Duration(c.DuplicateWindow)
	svc.AuthCacheTTL = time.Duration(c.AuthCacheTTL)
	svc.ProcessorTimeout = time.Duration(c.ProcessorTimeout)
	svc.IdempotencyRetention = time.Duration(c.IdempotencyRetention)
	svc.MaxRefundsPerPayment = int(c.MaxRefunds)
	svc.CheckoutExpiry = time.Duration(c.CheckoutExpiry)
	svc.PortalIdleTimeout, svc.PortalSessionLife = time.Duration(c.PortalIdleTimeout), time.Duration(c.PortalSessionLife)
	svc.Log = log
	svc.Webhooks = service.WebhookConfig{Timeout: time.Duration(c.WebhookTimeout), Concurrency: int(c.WebhookConcurrency),
		AllowPrivate: c.WebhookAllowPrivate, Retention: time.Duration(c.WebhookRetention)}
	if err := bootstrap(ctx, svc, stdout, portalURL(string(c.PublicURL), string(c.Addr), tlsConfig != nil)); err != nil {
		return err
	}

	handler := server.New(server.Config{Service: svc, Log: log, Ready: db.Health, TrustedProxies: c.TrustedProxies.list, PublicURL: string(c.PublicURL),
		Limits: web.Limits{IPRate: flagRate(c.RateIP), AccountRate: flagRate(c.RateAccount), AuthFailuresPerMinute: flagRate(c.AuthFailures)}})
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if c.PprofAddr != "" {
		if err := servePprof(string(c.PprofAddr), log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", string(c.Addr))
	if err != nil {
		return err
	}
	log.Info("cartgateway listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "db", redactURL(c.DB), "settle_at", c.SettleAt.text,
		"duplicate_window", c.DuplicateWindow.String(), "rate_ip", float64(c.RateIP), "rate_account", float64(c.RateAccount), "auth_failures_per_minute", float64(c.AuthFailures),
		"trusted_proxies", c.TrustedProxies.list.String(), "public_url", string(c.PublicURL), "version", readBuildInfo().Version)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.SettleAt.at >= 0 {
		go settleDaily(ctx, svc, log, c.SettleAt.at)
	}
	// Operations whose processor answer was lost (a crash, a timeout) are
	// finished by the reconciler: at start, then every reconcileEvery.
	go svc.RunReconciler(ctx, reconcileEvery)
	go svc.RunIdempotencyPurge(ctx, time.Hour)
	go svc.RunWebhookPurge(ctx, time.Hour)
	go svc.RunKeyUseFlush(ctx, time.Minute)
	// Webhook events: fanned out from the ledger and delivered until the
	// server stops; the POSTs in flight then finish and are recorded.
	webhooksDone := make(chan struct{})
	go func() {
		defer close(webhooksDone)
		svc.RunWebhooks(ctx)
	}()
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, done := context.WithTimeout(context.Background(), 30*time.Second)
	defer done()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	cancel()
	select {
	case <-webhooksDone:
	case <-shutdownCtx.Done():
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// bootstrap gives an empty database one sandbox account and its first
// portal admin, so that a newcomer can send a request and sign in at once.
// The key and the one-time password are printed here, once, and never
// logged.
func bootstrap(ctx context.Context, svc *service.Service, stdout io.Writer, portal string) error {
	accounts, _, err := svc.Accounts(ctx)
	if err != nil || len(accounts) > 0 {
		return err
	}
	a, key, err := svc.CreateAccount(ctx, service.NewAccount{Name: "Sandbox merchant", Environment: gateway.Sandbox})
	if err != nil {
		return err
	}
	u, otp, err := svc.CreateUser(ctx, service.NewUser{AccountID: a.ID, Email: bootstrapAdmin, Role: gateway.RoleAdmin})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created a sandbox account on this empty database (the key is shown only now):\n"+
		"  CARTGATEWAY-ACCOUNT-ID: %s\n  Authorization: Bearer %s\n"+
		"To try the README's curl example, run in another shell:\n  export ACCOUNT_ID=%s KEY=%s\n"+
		"Merchant Portal: %s\n  sign in as %s with the one-time password %s (you choose your own at first sign-in)\n",
		a.ID, key, a.ID, key, portal, u.Email, otp)
	return nil
}

// bootstrapAdmin is the email of the first portal admin of a new
// database's sandbox account; invite real users in the portal, then
// remove it.
const bootstrapAdmin = "admin@localhost"

// portalURL is where the portal is reached: under --public-url, else on
// the listen address (a wildcard address as localhost).
func portalURL(public, addr string, https bool) string {
	if public != "" {
		return strings.TrimRight(public, "/") + "/portal/"
	}
	host, port, err := net.SplitHostPort(addr)
	if err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("localhost", port)
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return scheme + "://" + addr + "/portal/"
}

// reconcileEvery is how often serve looks for pending operations whose
// lease has ended.
const reconcileEvery = 5 * time.Second

// nextCutoff is the first cut-off strictly after now.
func nextCutoff(now time.Time, cutoff time.Duration) time.Time {
	now = now.UTC()
	next := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(cutoff)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// settleDaily settles at the cut-off each day. Several instances may run
// it: the run of a cut-off is one (service.Settle), so the others hear that
// it is taken, wait, and look again until it is done, taking it over if its
// process died.
func settleDaily(ctx context.Context, svc *service.Service, log *slog.Logger, cutoff time.Duration) {
	for {
		at := nextCutoff(time.Now(), cutoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(at)):
		}
		settleCutoff(ctx, svc, log, "daily:"+at.Format("2006-01-02T15:04Z"), time.Minute)
	}
}

// settleCutoff settles one cut-off, or waits for the instance that does,
// looking again every retry until the run is done. Only the instance that
// settled logs the run at info level.
func settleCutoff(ctx context.Context, svc *service.Service, log *slog.Logger, name string, retry time.Duration) {
	for {
		res, err := svc.Settle(ctx, name)
		switch {
		case err == nil:
			log.Info("settlement run finished", "run_id", res.Run.ID, "cutoff", name, "batches", len(res.Batches), "payments", res.Payments())
		case errors.Is(err, service.ErrAlreadySettled):
			log.Debug("settlement run already finished by another instance", "cutoff", name)
		case errors.Is(err, service.ErrSettlementInProgress):
			log.Debug("another instance is settling; looking again later", "cutoff", name)
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			continue
		default:
			log.Error("daily settlement failed", "cutoff", name, "err", err)
		}
		return
	}
}

// Garbage collector defaults for serving, when GOGC and GOMEMLIMIT are not
// set. The gateway's live heap is small (about 10 MB), so Go's default
// (collect when the heap doubles) collects thousands of times a minute
// under load; collecting at five times the live heap gave +20–40 % requests
// per second on 2 cores (docs/performance.md). The soft limit keeps a heap
// that grows for real (a full lookup cache, many connections) from taking
// 5×: with SQLite's memory outside the Go heap, it keeps RSS near 130 MB at
// most.
const (
	serveGCPercent   = 400
	serveMemoryLimit = 100 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}

// serverTLS loads --tls-cert and --tls-key; nil (plain HTTP) when neither is
// given. TLS 1.2 is the oldest version served.
func serverTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// flagRate turns a rate flag into httpapi.Limits' terms: there 0 is the
// default and a negative rate is off; on the command line 0 is off.
func flagRate(r rate) float64 {
	if r <= 0 {
		return -1
	}
	return float64(r)
}

// servePprof exposes Go's profiles for performance work, on a loopback
// address (loopbackAddr refuses others: profiles reveal memory contents).
func servePprof(addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("pprof listening", "addr", ln.Addr().String())
	go func() { _ = http.Serve(ln, mux) }()
	return nil
}
