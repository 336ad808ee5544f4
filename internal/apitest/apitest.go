// Package apitest starts a real gateway for tests: a real store file, the
// real service and HTTP handler, served over real HTTP on loopback, with its
// logs captured so that tests can read them.
package apitest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/credentials"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/pgtest"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/processor"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/server"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
	"github.com/cartgateway/cartgateway/internal/web"
)

// Server is a running test gateway with one sandbox account.
type Server struct {
	URL       string
	DBPath    string // the SQLite file; "" on PostgreSQL
	DBURL     string // the PostgreSQL database; "" on SQLite
	Service   *service.Service
	Store     *sqlstore.DB
	Handler   http.Handler // what the server serves, to call in-process (contract-checked unless AsServed)
	AccountID string
	Key       string
	logs      *LogBuffer
	client    *http.Client
	stopStore func() error
}

// Options adjust a test server.
type Options struct {
	DuplicateWindow time.Duration
	// AccountID and Key import fixed credentials (e.g. the SDK's 7769).
	AccountID, Key string
	Currency       string
	// Limits are the server's abuse limits; nil turns them all off, so that
	// tests of other things may send what they like.
	Limits *web.Limits
	// TrustedProxies are believed about X-Forwarded-* (test requests come
	// from 127.0.0.1).
	TrustedProxies limit.Proxies
	// MaxRefunds bounds the refunds of one payment (the default if 0).
	MaxRefunds int
	// PublicURL is the base of hosted checkout URLs (server.Config's).
	PublicURL string
	// CheckoutExpiry is how long a checkout session can be paid (the
	// service's default if zero).
	CheckoutExpiry time.Duration
	// SlowCardDelay is how long the sandbox's slow card takes (its
	// default if zero).
	SlowCardDelay time.Duration
	// ProcessorTimeout bounds processor calls (the service's default if
	// zero); Now is the service's clock (time.Now if nil), so that a test
	// can move past a pending operation's lease.
	ProcessorTimeout time.Duration
	Now              func() time.Time
	// AsServed configures the service and logs as `cartgateway serve`
	// runs them (authentications cached, no log line below warnings), for
	// benchmarks; tests keep every log line and authenticate every time.
	// It also leaves out the contract check, which would be most of what a
	// benchmark measures.
	AsServed bool
	// Wrap, if set, wraps the served handler (outside the contract check,
	// which still sees every exchange the gateway answers): a test can
	// delay or drop answers as a network would.
	Wrap func(http.Handler) http.Handler
}

// SDKAccountID and SDKKey are the PHP SDK's published sandbox credentials.
const (
	SDKAccountID = "7769"
	SDKKey       = "05bea34479dd7fc488c1ce774400e9a0bfea02b1"
)

// FingerprintKey is the test servers' card fingerprint key.
var FingerprintKey = []byte("test-fingerprint-key-0123456789abcdef")

// BackendEnv selects the store of test servers: "sqlite" (default) or
// "postgres" (a fresh database on the server of pgtest.EnvVar). The test
// script runs the HTTP-level suites once with each.
const BackendEnv = "CARTGATEWAY_TEST_BACKEND"

// Backend is the store test servers use.
func Backend() string {
	if os.Getenv(BackendEnv) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// OpenStore opens a fresh, empty store of the selected backend: a SQLite
// file (path) or a PostgreSQL database (url).
func OpenStore(t testing.TB) (db *sqlstore.DB, path, url string) {
	t.Helper()
	var err error
	if Backend() == "postgres" {
		url = pgtest.URL(t)
		db, err = postgres.Open(context.Background(), url, postgres.Options{})
	} else {
		path = filepath.Join(t.TempDir(), "gateway.db")
		db, err = sqlite.Open(context.Background(), path)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", Backend(), err)
	}
	return db, path, url
}

// Start starts a gateway on a fresh store (see Backend). Every exchange it
// serves is checked against the OpenAPI document (see CheckExchange).
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	db, path, url := OpenStore(t)
	logs := &LogBuffer{}
	box, err := credentials.New(FingerprintKey)
	if err != nil {
		t.Fatal(err)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	svc := &service.Service{
		Store:                db,
		Processors:           map[gateway.Environment]gateway.Processor{gateway.Sandbox: sandbox.Processor{SlowDelay: opt.SlowCardDelay}},
		Connectors:           processor.Connectors(),
		Credentials:          box,
		FingerprintKey:       FingerprintKey,
		DuplicateWindow:      opt.DuplicateWindow,
		ProcessorTimeout:     opt.ProcessorTimeout,
		Now:                  now,
		MaxRefundsPerPayment: opt.MaxRefunds,
		CheckoutExpiry:       opt.CheckoutExpiry,
	}
	level := slog.LevelDebug
	if opt.AsServed {
		svc.AuthCacheTTL, level = service.DefaultAuthCacheTTL, slog.LevelWarn
	}
	cfg := server.Config{Service: svc, Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})),
		Ready: db.Health, TrustedProxies: opt.TrustedProxies, PublicURL: opt.PublicURL}
	svc.Log = cfg.Log
	if opt.Limits != nil {
		cfg.Limits = *opt.Limits
	} else {
		cfg.Limits = web.Limits{IPRate: -1, AccountRate: -1, AuthFailuresPerMinute: -1}
	}
	routes := server.New(cfg)
	if !opt.AsServed {
		routes = checkingHandler(t, routes)
	}
	served := routes
	if opt.Wrap != nil {
		served = opt.Wrap(routes)
	}
	ts := httptest.NewServer(served)
	s := &Server{URL: ts.URL, DBPath: path, DBURL: url, Service: svc, Store: db, Handler: routes, logs: logs, client: ts.Client(),
		stopStore: sync.OnceValue(db.Close)}
	t.Cleanup(func() {
		ts.Close()
		_ = s.stopStore()
	})
	s.AccountID, s.Key = s.CreateAccount(t, service.NewAccount{ID: opt.AccountID, Key: opt.Key, Name: "Test merchant",
		Currency: opt.Currency, Environment: gateway.Sandbox})
	return s
}

// Twin starts a second gateway on s's database, with a store, service
// and HTTP server of its own, as another process would have: on
// PostgreSQL, a test of what several gateway processes on one database
// do. It shares s's account and key.
func (s *Server) Twin(t testing.TB, opt Options) *Server {
	t.Helper()
	var db *sqlstore.DB
	var err error
	if s.DBURL != "" {
		db, err = postgres.Open(context.Background(), s.DBURL, postgres.Options{})
	} else {
		db, err = sqlite.Open(context.Background(), s.DBPath)
	}
	if err != nil {
		t.Fatalf("open the twin's store: %v", err)
	}
	svc := &service.Service{
		Store:          db,
		Processors:     map[gateway.Environment]gateway.Processor{gateway.Sandbox: sandbox.Processor{SlowDelay: opt.SlowCardDelay}},
		FingerprintKey: FingerprintKey, DuplicateWindow: opt.DuplicateWindow, CheckoutExpiry: opt.CheckoutExpiry, Now: time.Now,
		MaxRefundsPerPayment: opt.MaxRefunds,
		Connectors:           s.Service.Connectors, Credentials: s.Service.Credentials, ProcessorTimeout: opt.ProcessorTimeout,
	}
	logs := &LogBuffer{}
	routes := server.New(server.Config{Service: svc, Log: slog.New(slog.NewJSONHandler(logs, nil)), Ready: db.Health, PublicURL: opt.PublicURL,
		Limits: web.Limits{IPRate: -1, AccountRate: -1, AuthFailuresPerMinute: -1}})
	if !opt.AsServed {
		routes = checkingHandler(t, routes)
	}
	ts := httptest.NewServer(routes)
	t.Cleanup(func() {
		ts.Close()
		_ = db.Close()
	})
	return &Server{URL: ts.URL, DBPath: s.DBPath, DBURL: s.DBURL, Service: svc, Store: db, Handler: routes, logs: logs, client: ts.Client(),
		AccountID: s.AccountID, Key: s.Key}
}

// CloseStore closes the gateway's store under it: from then on it answers
// as it does when its database is gone.
func (s *Server) CloseStore() { _ = s.stopStore() }

// CreateAccount creates another account and returns its id and key.
func (s *Server) CreateAccount(t testing.TB, in service.NewAccount) (string, string) {
	t.Helper()
	if in.Name == "" {
		in.Name = "Another merchant"
	}
	a, key, err := s.Service.CreateAccount(context.Background(), in)
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	return a.ID, key
}

// rawDB opens a connection of the test's own to the server's database,
// beside the store, to check what is really stored.
func (s *Server) rawDB(t testing.TB) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if s.DBURL != "" {
		db, err = sql.Open("pgx", s.DBURL)
	} else {
		db, err = sql.Open("sqlite", "file:"+s.DBPath+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Count returns the number of rows in a table of the server's database.
func (s *Server) Count(t testing.TB, table string) int {
	t.Helper()
	db := s.rawDB(t)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// Column returns the first column of every row query selects, as bytes.
func (s *Server) Column(t testing.TB, query string) [][]byte {
	t.Helper()
	db := s.rawDB(t)
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// StoredData returns everything the database holds, as bytes to search: the
// SQLite file with its WAL and shared-memory files, or every row of every
// PostgreSQL table as text.
func (s *Server) StoredData(t testing.TB) []byte {
	t.Helper()
	if s.DBURL == "" {
		var out []byte
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(s.DBPath + suffix)
			if err != nil && !(suffix != "" && os.IsNotExist(err)) {
				t.Fatalf("read store: %v", err)
			}
			out = append(out, b...)
		}
		return out
	}
	db := s.rawDB(t)
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var out bytes.Buffer
	for _, table := range tables {
		// Each row as PostgreSQL's text form; bytea columns as their text
		// too, since a card number would be stored as text if at all.
		var dump sql.NullString
		q := "SELECT string_agg(t::text, E'\\n') FROM " + table + " t"
		if err := db.QueryRowContext(ctx, q).Scan(&dump); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		out.WriteString(dump.String)
		out.WriteByte('\n')
	}
	if err := dumpByteaAsText(ctx, db, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// dumpByteaAsText adds the idempotency records' bodies (bytea) decoded, so
// that a search sees their JSON text.
func dumpByteaAsText(ctx context.Context, db *sql.DB, out *bytes.Buffer) error {
	rows, err := db.QueryContext(ctx, "SELECT body FROM idempotency_keys")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		out.Write(b)
		out.WriteByte('\n')
	}
	return rows.Err()
}

// Logs returns everything the server logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// Response is an answer as the client saw it.
type Response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// String returns the field as text ("" when absent).
func (r Response) String(field string) string {
	v, _ := r.Body[field].(string)
	return v
}

// Number returns a numeric field (JSON numbers decode as float64 here; test
// amounts are far below 2^53).
func (r Response) Number(field string) int64 {
	v, _ := r.Body[field].(float64)
	return int64(v)
}

// Data returns lookup's "data" object.
func (r Response) Data() map[string]any {
	v, _ := r.Body["data"].(map[string]any)
	return v
}

// Request sends an SDK-style request: the SDK's headers, this server's
// account and key unless headers override them ("" deletes one). A
// "Transfer-Encoding: chunked" header sends the body chunked, without a
// Content-Length.
func (s *Server) Request(t testing.TB, method, path, body string, headers map[string]string) Response {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if headers["Transfer-Encoding"] == "chunked" {
		req.ContentLength, req.TransferEncoding = -1, []string{"chunked"}
		req.Body, req.GetBody = io.NopCloser(strings.NewReader(body)), nil
		delete(headers, "Transfer-Encoding")
	}
	h := map[string]string{
		"User-Agent":              "CartGateway-PHP/20221107",
		"Accept":                  "application/json",
		"Content-Type":            "application/json",
		"CARTGATEWAY-VERSION":     "2022-11-07",
		"CARTGATEWAY-ACCOUNT-ID":  s.AccountID,
		"CARTGATEWAY-ENVIRONMENT": "sandbox",
		"Authorization":           "Bearer " + s.Key,
	}
	for k, v := range headers {
		h[k] = v
	}
	for k, v := range h {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && method != http.MethodHead {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return r
}

// Post sends a POST with the SDK's headers.
func (s *Server) Post(t testing.TB, path, body string) Response {
	t.Helper()
	return s.Request(t, http.MethodPost, path, body, nil)
}

// SDKBody reads a fixture from testdata/sdk-requests: the PHP SDK's exact
// request bodies, kept in the repository so that a clone stands alone.
func SDKBody(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "testdata", "sdk-requests", name))
	if err != nil {
		t.Fatalf("SDK fixture: %v", err)
	}
	return string(bytes.TrimSpace(b))
}

func moduleRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// PaymentBody builds a charge/authorize body with the given card and
// overrides (a nil value removes the field).
func PaymentBody(cardNumber string, overrides map[string]any) string {
	m := map[string]any{
		"firstname": "Test", "lastname": "User", "email": "user3@example.com",
		"address": "6 Pheasant Run", "zip": "07733", "amount": 2000,
		"card_number": json.Number(cardNumber), "card_cvv": 123, "card_expiry_month": 10, "card_expiry_year": 2031,
		"order_id": "order-" + gateway.NewID(), "city": "Holmdel", "state": "NJ", "country": "US",
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// LogBuffer is a buffer that a server may write (its log) while a test
// reads it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// CreateCheckout creates a checkout session through the API with body and
// returns the page's URL, failing the test unless the answer is 200.
func (s *Server) CreateCheckout(t testing.TB, body string) string {
	t.Helper()
	r := s.Post(t, "/hosted/checkout/create", body)
	if r.Status != http.StatusOK || r.String("url") == "" {
		t.Fatalf("create checkout: %d %s", r.Status, r.Raw)
	}
	return r.String("url")
}

// CheckoutBody is a create body with one line of the merchant's own of
// amount (quantity 1) and the given success URL.
func CheckoutBody(amount int64, successURL string) string {
	b, _ := json.Marshal(map[string]any{"reference": "order-" + gateway.NewID(), "success_url": successURL,
		"cancel_url": "https://shop.example/cart", "tax_amount": nil, "shipping_amount": nil,
		"products": []map[string]any{{"name": "Blue mug", "amount": amount, "codename": nil, "quantity": 1, "image_url": nil}}})
	return string(b)
}

// CheckoutForm is a filled-in payment form of the hosted page with card.
func CheckoutForm(card string) url.Values {
	return url.Values{"email": {"customer@example.com"}, "cardholder_name": {"Test Customer"}, "card_number": {card},
		"card_expiry_month": {"10"}, "card_expiry_year": {"31"}, "card_cvv": {"123"}, "firstname": {"Test"},
		"lastname": {"Customer"}, "address": {"6 Pheasant Run"}, "zip": {"07733"}, "country": {"US"}}
}

// SubmitCheckout posts form to a checkout page as a browser would (no
// redirect followed) and returns the answer with its body.
func (s *Server) SubmitCheckout(t testing.TB, pageURL string, form url.Values) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, pageURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.do(t, req)
}

// Get fetches a URL of the server as a browser would (no redirect
// followed).
func (s *Server) Get(t testing.TB, pageURL string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, pageURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, req)
}

func (s *Server) do(t testing.TB, req *http.Request) Response {
	t.Helper()
	client := *s.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
}
