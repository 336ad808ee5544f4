package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/pgtest"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
	"github.com/cartgateway/cartgateway/internal/storetest"
)

func open(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestStoreContract runs the store contract suite that SQLite also passes.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gateway.Store { return open(t) })
}

func TestRebind(t *testing.T) {
	got := postgres.Dialect().Rebind("SELECT a FROM t WHERE b = ? AND c IN (?, ?)")
	if want := "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"; got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
}

// TestDeadlockIsRetried makes two transactions lock two payments in
// opposite orders. PostgreSQL aborts one with a deadlock (40P01); the store
// runs that transaction again, and both updates land.
func TestDeadlockIsRetried(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	ids := []string{gateway.NewID(), gateway.NewID()}
	err := db.Update(ctx, func(tx gateway.Tx) error {
		if err := tx.CreateAccount(ctx, gateway.Account{ID: "42", Name: "d", Currency: "USD", CreatedAt: now}); err != nil {
			return err
		}
		for _, id := range ids {
			p := gateway.Payment{ID: id, AccountID: "42", Environment: gateway.Sandbox, Status: gateway.StatusCaptured, Currency: "USD",
				AuthorizedAmount: 1000, CapturedAmount: 1000, OrderID: "o", CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := tx.InsertPayment(ctx, p); err != nil {
				return err
			}
			if err := tx.InsertTransaction(ctx, gateway.Transaction{ID: id, PaymentID: id, AccountID: "42", Environment: gateway.Sandbox,
				Operation: gateway.OpCharge, Result: gateway.ResultApproved, Amount: 1000, CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Both transactions hold their first lock before either asks for its
	// second; only first attempts wait, so a rerun goes straight through.
	var holding sync.WaitGroup
	holding.Add(2)
	var attempts atomic.Int32
	refundBoth := func(first, second string) error {
		firstAttempt := true
		return db.Update(ctx, func(tx gateway.Tx) error {
			attempts.Add(1)
			for i, id := range []string{first, second} {
				p, err := tx.PaymentByTransaction(ctx, "42", gateway.Sandbox, id)
				if err != nil {
					return err
				}
				if i == 0 && firstAttempt {
					firstAttempt = false
					holding.Done()
					holding.Wait()
				}
				if p, err = p.Refund(100, gateway.DefaultMaxRefunds); err != nil {
					return err
				}
				if err := tx.UpdatePayment(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- refundBoth(ids[0], ids[1]) }()
	go func() { errs <- refundBoth(ids[1], ids[0]) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("an update failed instead of being retried: %v", err)
		}
	}
	if attempts.Load() < 3 {
		t.Errorf("%d attempts: the deadlock did not happen, so the retry was not exercised", attempts.Load())
	}
	for _, id := range ids {
		var p gateway.Payment
		_ = db.View(ctx, func(tx gateway.ReadTx) error {
			var err error
			p, err = tx.PaymentByTransaction(ctx, "42", gateway.Sandbox, id)
			return err
		})
		if p.RefundedAmount != 200 {
			t.Errorf("payment %s refunded %d, want 200 (both updates)", id, p.RefundedAmount)
		}
	}
}

// TestAuditLogIsAppendOnly: PostgreSQL itself refuses to change, delete or
// truncate audit entries and ledger transactions.
func TestAuditLogIsAppendOnly(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Update(ctx, func(tx gateway.Tx) error { return storetest.WriteHistory(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	r, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, stmt := range []string{"UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log",
		"UPDATE transactions SET amount = 1", "DELETE FROM transactions", "TRUNCATE transactions"} {
		if _, err := r.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", stmt, err)
		}
	}
}

// TestHealthWhileWritesFail makes the database read-only under a running
// store: reads work, writes fail, and Health says so (degraded, not
// unavailable); once writes work again, Health recovers by itself, though
// the pool's sessions began read-only and would stay so.
func TestHealthWhileWritesFail(t *testing.T) {
	url := pgtest.URL(t)
	db, err := postgres.Open(context.Background(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	admin, err := sql.Open("pgx", os.Getenv(pgtest.EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := url[strings.LastIndex(url, "/")+1:]
	if i := strings.Index(name, "?"); i >= 0 {
		name = name[:i]
	}
	readOnly := func(on bool) {
		t.Helper()
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" SET default_transaction_read_only = "+map[bool]string{true: "on", false: "off"}[on]); err != nil {
			t.Fatal(err)
		}
		if !on {
			// Sessions that began read-only are left as they are, as an
			// operator would leave them: the store must replace them.
			return
		}
		// The setting reaches new sessions: end the store's.
		if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Health(ctx); err != nil {
		t.Fatalf("Health at first: %v", err)
	}
	readOnly(true)
	write := func() error {
		return db.Update(ctx, func(tx gateway.Tx) error {
			return tx.CreateAccount(ctx, gateway.Account{ID: "1" + gateway.NewAccountID()[1:], Name: "x", Currency: "USD", CreatedAt: time.Now()})
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	// The first attempts may meet a terminated connection; then the pool
	// holds sessions that began read-only.
	for err := write(); err == nil || !strings.Contains(err.Error(), "read-only transaction"); err = write() {
		if time.Now().After(deadline) {
			t.Fatalf("writes on a read-only database: %v", err)
		}
	}
	_ = db.Ping(ctx) // the pool finds its feet again
	if err := db.Health(ctx); !errors.Is(err, gateway.ErrWritesFailing) {
		t.Fatalf("Health while writes fail: %v; want ErrWritesFailing", err)
	}
	readOnly(false)
	deadline = time.Now().Add(10 * time.Second)
	for err := db.Health(ctx); err != nil; err = db.Health(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("Health after writes work again: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := write(); err != nil {
		t.Fatalf("a write after recovering: %v", err)
	}
}
