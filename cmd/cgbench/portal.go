package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/credentials"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	gateserver "github.com/cartgateway/cartgateway/internal/server"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// portalCmd times the Merchant Portal's pages on an existing database
// (filled by cgbench seed): each page is rendered by the real handler, in
// this process, for a signed-in admin of the account, and the median and
// slowest of -n renders are printed. In process, the figures are the
// server's own time (store, service, templates), without the network.
func portalCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cgbench portal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "SQLite file or postgres:// URL of a seeded database (required)")
	account := fs.String("account", benchAccountID, "account whose pages are timed")
	n := fs.Int("n", 10, "renders of each page")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" || *n < 1 || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("portal needs -db")
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	key := []byte("cgbench-portal-key-0123456789abcdef")
	box, err := credentials.New(key)
	if err != nil {
		return err
	}
	svc := &service.Service{Store: store, Processors: map[gateway.Environment]gateway.Processor{gateway.Sandbox: sandbox.Processor{}},
		FingerprintKey: key, Credentials: box, Now: time.Now}
	handler := gateserver.New(gateserver.Config{Service: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Limits: web.Limits{IPRate: -1, AccountRate: -1, AuthFailuresPerMinute: -1}})

	// A user of our own for the run, deleted at the end.
	email := "cgbench-" + strings.ToLower(gateway.NewID()) + "@example.com"
	const password = "cgbench portal password"
	u, _, err := svc.CreateUser(ctx, service.NewUser{AccountID: *account, Email: email, Role: gateway.RoleAdmin, Password: password})
	if err != nil {
		return fmt.Errorf("create a user of account %s: %w", *account, err)
	}
	defer func() {
		_ = store.Update(context.WithoutCancel(ctx), func(tx gateway.Tx) error { return tx.DeleteUser(ctx, u.ID) })
	}()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/portal/signin", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	handler.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) == 0 {
		return fmt.Errorf("sign in: %d %s", rec.Code, rec.Body.String())
	}

	caller := service.Caller{Account: gateway.Account{ID: *account}, Environment: gateway.Sandbox}
	newest, err := svc.Payments(ctx, caller, gateway.PaymentFilter{Limit: 1})
	if err != nil || len(newest) == 0 {
		return fmt.Errorf("account %s has no sandbox payments to show (cgbench seed -db %s -payments N): %v", *account, *db, err)
	}
	p := newest[0]
	today := time.Now().UTC().Format(time.DateOnly)
	pages := []struct{ name, path string }{
		{"dashboard", "/portal/"},
		{"payments, first page", "/portal/sandbox/payments"},
		{"payments, a page deep in the list", "/portal/sandbox/payments?before=" + url.QueryEscape(p.CreatedAt.AddDate(0, 0, -180).Format(time.RFC3339Nano)+"~"+p.ID)},
		{"payments by order id", "/portal/sandbox/payments?order_id=" + url.QueryEscape(p.OrderID)},
		{"payments by card last 4", "/portal/sandbox/payments?last4=" + p.Card.Last4},
		{"payments by email (1 in 10,000)", "/portal/sandbox/payments?email=" + url.QueryEscape(p.Customer.Email)},
		{"payments by an email nobody has", "/portal/sandbox/payments?email=nobody%40example.com"},
		{"payments by last 4 nobody has", "/portal/sandbox/payments?last4=0000"},
		{"payments by amount range", "/portal/sandbox/payments?min=500&max=510"},
		{"payments by status (voided: none)", "/portal/sandbox/payments?status=voided"},
		{"payments by operation (refund: none)", "/portal/sandbox/payments?operation=refund"},
		{"payments of today", "/portal/sandbox/payments?from=" + today + "&to=" + today},
		{"a payment", "/portal/sandbox/payments/" + p.ID},
		{"checkouts", "/portal/sandbox/checkouts"},
		{"products", "/portal/sandbox/products"},
		{"keys", "/portal/keys"},
		{"users", "/portal/users"},
		{"settings", "/portal/settings"},
		{"audit log", "/portal/audit"},
		{"CSV export of today", "/portal/sandbox/payments.csv?from=" + today + "&to=" + today},
	}
	fmt.Fprintf(stdout, "Merchant Portal pages of account %s (%s), %d renders each, in process:\n\n", *account, dbKind(*db), *n)
	fmt.Fprintf(stdout, "| page | median | slowest | status | bytes |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, pg := range pages {
		var times []time.Duration
		var status, size int
		for i := 0; i <= *n; i++ { // the first render warms caches and is not counted
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, pg.path, nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			start := time.Now()
			handler.ServeHTTP(rec, req)
			if i > 0 {
				times = append(times, time.Since(start))
			}
			status, size = rec.Code, rec.Body.Len()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		slices.Sort(times)
		fmt.Fprintf(stdout, "| %s | %s | %s | %d | %d |\n", pg.name, millis(times[len(times)/2]), millis(times[len(times)-1]), status, size)
		if status != http.StatusOK {
			return fmt.Errorf("%s: status %d", pg.path, status)
		}
	}
	return nil
}

func millis(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
