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
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/httpapi"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", envOr("CARTGATEWAY_ADDR", "127.0.0.1:8080"), "listen address (env CARTGATEWAY_ADDR)")
	dupWindow := fs.Duration("duplicate-window", envDuration("CARTGATEWAY_DUPLICATE_WINDOW", 10*time.Minute),
		"refuse a repeated charge/authorize (same order id, amount, card) without Idempotency-Key within this window; 0 disables (env CARTGATEWAY_DUPLICATE_WINDOW)")
	authCacheTTL := fs.Duration("auth-cache-ttl", envDuration("CARTGATEWAY_AUTH_CACHE_TTL", service.DefaultAuthCacheTTL),
		"remember a successful authentication this long; a revoked key keeps working at most this long; 0 disables (env CARTGATEWAY_AUTH_CACHE_TTL)")
	fs.DurationVar(&sf.lookupCache, "lookup-cache", envDuration("CARTGATEWAY_LOOKUP_CACHE", sqlite.DefaultLookupCache),
		"SQLite: answer repeated lookups from memory, checking this often for changes by other processes (cartgateway settle from a shell), which show within this time; 0 disables (env CARTGATEWAY_LOOKUP_CACHE)")
	settleAt := fs.String("settle-at", envOr("CARTGATEWAY_SETTLE_AT", "00:00"), "daily batch close time, HH:MM UTC, or \"off\" (env CARTGATEWAY_SETTLE_AT)")
	logLevel := fs.String("log-level", envOr("CARTGATEWAY_LOG_LEVEL", "info"), "debug, info, warn or error (env CARTGATEWAY_LOG_LEVEL)")
	pprofAddr := fs.String("pprof-addr", os.Getenv("CARTGATEWAY_PPROF_ADDR"), "serve Go's pprof profiles on this address (loopback only; off when empty) (env CARTGATEWAY_PPROF_ADDR)")
	rateIP := fs.Float64("rate-ip", envFloat("CARTGATEWAY_RATE_IP", httpapi.DefaultIPRate),
		"requests per second per client IP (IPv6: per /64), burst twice that; /healthz and /metrics are exempt; 0 disables (env CARTGATEWAY_RATE_IP)")
	rateAccount := fs.Float64("rate-account", envFloat("CARTGATEWAY_RATE_ACCOUNT", httpapi.DefaultAccountRate),
		"requests per second per account, burst twice that; 0 disables (env CARTGATEWAY_RATE_ACCOUNT)")
	authFailures := fs.Float64("auth-failures", envFloat("CARTGATEWAY_AUTH_FAILURES", httpapi.DefaultAuthFailuresPerMinute),
		"failed authentications per minute per client IP, burst twice that; past it the IP's API requests answer 429; 0 disables (env CARTGATEWAY_AUTH_FAILURES)")
	trusted := fs.String("trusted-proxies", envOr("CARTGATEWAY_TRUSTED_PROXIES", ""),
		"comma-separated CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed, e.g. 127.0.0.1/32; default none (env CARTGATEWAY_TRUSTED_PROXIES)")
	tlsCert := fs.String("tls-cert", envOr("CARTGATEWAY_TLS_CERT", ""), "PEM certificate (chain) file: serve HTTPS; needs --tls-key (env CARTGATEWAY_TLS_CERT)")
	tlsKey := fs.String("tls-key", envOr("CARTGATEWAY_TLS_KEY", ""), "PEM private key file of --tls-cert (env CARTGATEWAY_TLS_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	proxies, err := limit.ParseProxies(*trusted)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	tuneGC()
	tlsConfig, err := serverTLS(*tlsCert, *tlsKey)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	cutoff, err := parseCutoff(*settleAt)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	db, svc, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc.DuplicateWindow = *dupWindow
	svc.AuthCacheTTL = *authCacheTTL
	if err := bootstrap(ctx, svc, stdout); err != nil {
		return err
	}

	h := &httpapi.Handler{Service: svc, Log: log, Metrics: httpapi.NewMetrics(), Ready: db.Ping, TrustedProxies: proxies,
		Limits: httpapi.Limits{IPRate: flagRate(*rateIP), AccountRate: flagRate(*rateAccount), AuthFailuresPerMinute: flagRate(*authFailures)}}
	srv := &http.Server{
		Handler:           h.Routes(),
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("cartgateway listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil, "db", redactURL(sf.db), "settle_at", *settleAt,
		"duplicate_window", dupWindow.String(), "rate_ip", *rateIP, "rate_account", *rateAccount, "auth_failures_per_minute", *authFailures,
		"trusted_proxies", proxies.String())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cutoff >= 0 {
		go settleDaily(ctx, svc, log, cutoff)
	}
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
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// bootstrap gives an empty database one sandbox account, so that a newcomer
// can send a request at once. Its key is printed here, once, and never logged.
func bootstrap(ctx context.Context, svc *service.Service, stdout io.Writer) error {
	accounts, _, err := svc.Accounts(ctx)
	if err != nil || len(accounts) > 0 {
		return err
	}
	a, key, err := svc.CreateAccount(ctx, service.NewAccount{Name: "Sandbox merchant", Environment: gateway.Sandbox})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created a sandbox account on this empty database (the key is shown only now):\n"+
		"  CARTGATEWAY-ACCOUNT-ID: %s\n  Authorization: Bearer %s\n"+
		"To try the README's curl example, run in another shell:\n  export ACCOUNT_ID=%s KEY=%s\n", a.ID, key, a.ID, key)
	return nil
}

// parseCutoff reads HH:MM (UTC) as a duration after midnight; -1 for "off".
func parseCutoff(s string) (time.Duration, error) {
	if strings.EqualFold(s, "off") {
		return -1, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("--settle-at %q: want HH:MM (UTC) or off", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// nextCutoff is the first cut-off strictly after now.
func nextCutoff(now time.Time, cutoff time.Duration) time.Time {
	now = now.UTC()
	next := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(cutoff)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// settleDaily closes the batch at the cut-off each day. Several instances
// may run it: a close finds only what is still captured, so the second one
// closes nothing.
func settleDaily(ctx context.Context, svc *service.Service, log *slog.Logger, cutoff time.Duration) {
	for {
		wait := time.Until(nextCutoff(time.Now(), cutoff))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		b, err := svc.Settle(ctx)
		if err != nil {
			log.Error("daily settlement failed", "err", err)
			continue
		}
		log.Info("settlement batch closed", "batch_id", b.ID, "payments", b.Count, "totals", b.Totals)
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
func flagRate(r float64) float64 {
	if r <= 0 {
		return -1
	}
	return r
}

func envFloat(name string, fallback float64) float64 {
	if v, err := strconv.ParseFloat(envOr(name, ""), 64); err == nil {
		return v
	}
	return fallback
}

func envDuration(name string, fallback time.Duration) time.Duration {
	if v, err := time.ParseDuration(envOr(name, "")); err == nil {
		return v
	}
	return fallback
}

// redactURL hides a password in a database URL, in its user part or its
// query, before it is logged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return s
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// servePprof exposes Go's profiles for performance work. It refuses
// anything but a loopback address: profiles reveal memory contents.
func servePprof(addr string, log *slog.Logger) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof-addr %q: must be a loopback address such as 127.0.0.1:6060", addr)
	}
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
