package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sqlite"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
	"github.com/cartgateway/cartgateway/internal/storetest"
)

// TestStoreContract runs the contract suite on the server's configuration
// (group commit) and on one transaction per Update.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gateway.Store {
		return open(t, filepath.Join(t.TempDir(), "cartgateway.db"))
	})
	t.Run("without group commit", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) gateway.Store {
			db, err := sqlite.OpenWith(context.Background(), filepath.Join(t.TempDir(), "cartgateway.db"), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		})
	})
}

// open opens path and closes it when the test ends.
func open(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openClose opens path, runs fn and closes the store.
func openClose(t *testing.T, path string, fn func(db *sqlstore.DB)) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	fn(db)
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// raw opens path with the driver alone, bypassing the store.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func knownMigrations(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(sqlite.Dialect().Migrations, "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migrations: %v, %d files", err, len(names))
	}
	return len(names)
}

var created = time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)

func createAccount(t *testing.T, db *sqlstore.DB, id string) {
	t.Helper()
	err := db.Update(context.Background(), func(tx gateway.Tx) error {
		return tx.CreateAccount(context.Background(), gateway.Account{ID: id, Name: "Shop " + id, Currency: "USD", CreatedAt: created})
	})
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
}

func readAccount(t *testing.T, db *sqlstore.DB, id string) (gateway.Account, error) {
	t.Helper()
	var a gateway.Account
	err := db.View(context.Background(), func(tx gateway.ReadTx) error {
		var err error
		a, err = tx.Account(context.Background(), id)
		return err
	})
	return a, err
}

func TestMigrationsAreIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartgateway.db")
	openClose(t, path, func(db *sqlstore.DB) { createAccount(t, db, "10000001") })
	for range 2 {
		openClose(t, path, func(db *sqlstore.DB) {
			a, err := readAccount(t, db, "10000001")
			if err != nil {
				t.Fatalf("account after reopening: %v", err)
			}
			if a.Name != "Shop 10000001" || !a.CreatedAt.Equal(created) {
				t.Errorf("account after reopening = %+v", a)
			}
		})
	}

	var rows, version int
	if err := raw(t, path).QueryRow("SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&rows, &version); err != nil {
		t.Fatal(err)
	}
	if n := knownMigrations(t); rows != n || version != n {
		t.Errorf("schema_migrations holds %d rows up to version %d, want %d rows up to %d", rows, version, n, n)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartgateway.db")
	openClose(t, path, func(db *sqlstore.DB) { createAccount(t, db, "10000001") })

	future := knownMigrations(t) + 1
	r := raw(t, path)
	if _, err := r.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", future, "2099-01-01T00:00:00.000000Z"); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()

	db, err := sqlite.Open(context.Background(), path)
	if err == nil {
		_ = db.Close()
		t.Fatal("Open accepted a database whose schema is newer than this binary knows")
	}
	msg := err.Error()
	for _, want := range []string{"version " + strconv.Itoa(future), "upgrade"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}

	// The refusal changed nothing: the data is still there for a newer binary.
	var n int
	if err := raw(t, path).QueryRow("SELECT COUNT(*) FROM accounts").Scan(&n); err != nil || n != 1 {
		t.Errorf("accounts after refusal: %d, %v; want 1", n, err)
	}
}

func TestFileIsOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartgateway.db")
	db := open(t, path)
	createAccount(t, db, "10000001")

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database file mode = %#o, want 0600", perm)
	}
	// SQLite's side files hold the same data; they must not be more open.
	for _, side := range []string{path + "-wal", path + "-shm"} {
		fi, err := os.Stat(side)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s mode = %#o, want no group or other access", filepath.Base(side), perm)
		}
	}
}

func TestEmptyPath(t *testing.T) {
	if db, err := sqlite.Open(context.Background(), ""); err == nil {
		_ = db.Close()
		t.Fatal("Open accepted an empty path")
	}
}

func TestCommittedWriteSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartgateway.db")
	ctx := context.Background()
	p := gateway.Payment{ID: "TXN000000000001", AccountID: "10000001", Environment: gateway.Live,
		Status: gateway.StatusCaptured, Currency: "USD", AuthorizedAmount: 1500, CapturedAmount: 1500,
		OrderID: "order-1", CreatedAt: created, UpdatedAt: created, Version: 1}
	openClose(t, path, func(db *sqlstore.DB) {
		createAccount(t, db, p.AccountID)
		err := db.Update(ctx, func(tx gateway.Tx) error {
			if err := tx.InsertPayment(ctx, p); err != nil {
				return err
			}
			return tx.InsertTransaction(ctx, gateway.Transaction{ID: p.ID, PaymentID: p.ID, AccountID: p.AccountID,
				Environment: p.Environment, Operation: gateway.OpCharge, Result: gateway.ResultApproved,
				Amount: 1500, CreatedAt: created})
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	})
	openClose(t, path, func(db *sqlstore.DB) {
		err := db.View(ctx, func(tx gateway.ReadTx) error {
			got, err := tx.PaymentByTransaction(ctx, p.AccountID, p.Environment, p.ID)
			if err != nil {
				return err
			}
			if got.Status != p.Status || got.CapturedAmount != p.CapturedAmount || got.Version != p.Version || len(got.Transactions) != 1 {
				t.Errorf("payment after reopening = %+v", got)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("payment after reopening: %v", err)
		}
	})
}

// TestGroupCommitIsolatesFailures sends many concurrent writes, some of
// which fail after writing: the failures leave nothing, the others all land.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "cartgateway.db"))
	ctx := context.Background()
	const n = 400
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- db.Update(ctx, func(tx gateway.Tx) error {
				id := strconv.Itoa(20000000 + i)
				if err := tx.CreateAccount(ctx, gateway.Account{ID: id, Name: "a", Currency: "USD", CreatedAt: time.Now()}); err != nil {
					return err
				}
				if i%3 == 0 {
					return errors.New("refused after writing")
				}
				return nil
			})
		}()
	}
	failed := 0
	for range n {
		if err := <-errs; err != nil {
			failed++
		}
	}
	var accounts []gateway.Account
	if err := db.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		accounts, err = tx.Accounts(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if failed != 134 || len(accounts) != n-134 {
		t.Fatalf("%d updates failed and %d accounts exist; want 134 and %d", failed, len(accounts), n-134)
	}
	for _, a := range accounts {
		if i, _ := strconv.Atoi(a.ID); (i-20000000)%3 == 0 {
			t.Errorf("account %s of a failed update was kept", a.ID)
		}
	}
}

// TestAuditLogIsAppendOnly: the database itself refuses to change or delete
// audit entries or ledger transactions, whatever connects to it.
func TestAuditLogIsAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cartgateway.db")
	db := open(t, path)
	ctx := context.Background()
	if err := db.Update(ctx, func(tx gateway.Tx) error { return storetest.WriteHistory(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, stmt := range []string{"UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log",
		"UPDATE transactions SET amount = 1", "DELETE FROM transactions"} {
		if _, err := r.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", stmt, err)
		}
	}
}

// TestLookupCacheLagsOtherProcesses: a change made by another process on the
// same file (the settle command from a shell) reaches the server's lookups
// once the lookup cache's watcher has looked (every lag).
func TestLookupCacheLagsOtherProcesses(t *testing.T) {
	const lag = 200 * time.Millisecond
	path := filepath.Join(t.TempDir(), "cartgateway.db")
	ctx := context.Background()
	opt := sqlite.DefaultOptions
	opt.LookupCache = lag
	server, err := sqlite.OpenWith(ctx, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Close() })
	shell, err := sqlite.OpenWith(ctx, path, sqlite.Options{}) // what the CLI opens
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shell.Close() })

	p := gateway.Payment{ID: "TXN000000000001", AccountID: "10000001", Environment: gateway.Live,
		Status: gateway.StatusCaptured, Currency: "USD", AuthorizedAmount: 1500, CapturedAmount: 1500,
		OrderID: "order-1", CreatedAt: created, UpdatedAt: created, Version: 1}
	createAccount(t, server, p.AccountID)
	err = server.Update(ctx, func(tx gateway.Tx) error {
		if err := tx.InsertPayment(ctx, p); err != nil {
			return err
		}
		return tx.InsertTransaction(ctx, gateway.Transaction{ID: p.ID, PaymentID: p.ID, AccountID: p.AccountID,
			Environment: p.Environment, Operation: gateway.OpCharge, Result: gateway.ResultApproved, Amount: 1500, CreatedAt: created})
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	status := func() gateway.Status {
		t.Helper()
		var s gateway.Status
		err := server.View(ctx, func(tx gateway.ReadTx) error {
			got, err := tx.PaymentByTransaction(ctx, p.AccountID, p.Environment, p.ID)
			s = got.Status
			return err
		})
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
		return s
	}
	if got := status(); got != gateway.StatusCaptured { // now cached
		t.Fatalf("status %s, want captured", got)
	}
	settled := time.Now()
	if err := shell.Update(ctx, func(tx gateway.Tx) error {
		g := gateway.SettlementGroup{AccountID: p.AccountID, Environment: p.Environment, Currency: p.Currency}
		_, err := tx.SettlePayments(ctx, g, created.Add(time.Hour), "BATCH0000000001", created.Add(time.Hour), 10)
		return err
	}); err != nil {
		t.Fatalf("settle: %v", err)
	}
	// The watcher looks every lag; give it that twice over, for a slow machine.
	for status() != gateway.StatusSettled {
		if time.Since(settled) > 2*lag {
			t.Fatalf("status still captured %v after another process settled it, want settled within %v", time.Since(settled), lag)
		}
		time.Sleep(lag / 20)
	}
	t.Logf("settled by another process: seen after %v", time.Since(settled).Round(time.Millisecond))
}
