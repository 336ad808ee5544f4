package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite" // also registers the "sqlite" driver
	"github.com/cartgateway/cartgateway/internal/sqlstore"
)

const (
	// seedBatch payments go in one database transaction: commits cost
	// nothing at that size, and SQLite's WAL stays modest.
	seedBatch = 20_000
	// seedProgress is how often progress is printed.
	seedProgress = 500_000
)

// seeded is one seeded payment and its charge transaction.
type seeded struct {
	p gateway.Payment
	t gateway.Transaction
}

// seedCmd fills a database with captured payments, for size tests. The
// store API creates and migrates the database and the account, and reads a
// seeded payment back at the end. On SQLite the rows themselves go in on a
// connection of our own, one statement per table and batch (fastSQLite):
// through the store API, which prepares and binds a statement per row under
// SQLite's small default cache, seeding managed about 5,000 payments/s, some
// 20 minutes for 5 million; this way it does over 30,000/s.
func seedCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cgbench seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "SQLite file (or postgres:// URL) to fill; created and migrated if needed (required)")
	n := fs.Int("payments", 0, "number of captured payments to insert, each with its charge transaction (required)")
	account := fs.String("account", benchAccountID, "account of the payments; created if absent ("+benchAccountID+" gets cgbench's fixed key)")
	seed := fs.Uint64("seed", 1, "seed of the amounts")
	days := fs.Int("days", 0, "spread the payments evenly over this many days before now (0: all made now), as a real account's history is")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" || *n <= 0 || *days < 0 || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("seed needs -db and a positive -payments")
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := ensureAccount(ctx, store, *account, stdout); err != nil {
		return err
	}

	insert := func(batch []seeded) error { return insertViaStore(ctx, store, batch) }
	var fast *fastSQLite
	if !postgres.IsURL(*db) {
		// Our connection is the only writer now: the store's writer
		// connection is idle, and would wait on SQLite's lock anyway.
		if fast, err = openFastSQLite(ctx, *db); err != nil {
			return err
		}
		defer fast.close()
		insert = func(batch []seeded) error { return fast.insert(ctx, batch) }
	}

	rng := rand.New(rand.NewPCG(*seed, 0))
	start := time.Now()
	// All the ids first, sorted: inserted in id order, the id indexes grow
	// at their end instead of at random places, and each commit writes a
	// few pages rather than a good part of every index (random order was
	// half as fast at 1 million payments, and slowing). Five million ids
	// take some 150 MB.
	ids := make([]string, *n)
	for i := range ids {
		ids[i] = gateway.NewID()
	}
	slices.Sort(ids)
	var last seeded
	batch := make([]seeded, 0, seedBatch)
	for done := 0; done < *n; {
		// Times are kept to the microsecond, as the store keeps them, so
		// that the final check compares like with like.
		now := time.Now().UTC().Truncate(time.Microsecond)
		batch = batch[:0]
		for i := done; i < min(done+seedBatch, *n); i++ {
			// Oldest first, as the ids are: the i-th of n is made
			// (n-1-i)/n of the period before now.
			at := now.Add(-time.Duration(float64(*days) * 24 * float64(time.Hour) * float64(*n-1-i) / float64(*n))).Truncate(time.Microsecond)
			batch = append(batch, seedPayment(*account, ids[i], i, 100+rng.Int64N(100_000-100+1), at))
		}
		if err := insert(batch); err != nil {
			return fmt.Errorf("after %d payments: %w", done, err)
		}
		last = batch[len(batch)-1]
		if (done+len(batch))/seedProgress > done/seedProgress {
			fmt.Fprintf(stdout, "%d payments, %s\n", done+len(batch), rates(done+len(batch), time.Since(start)))
		}
		done += len(batch)
	}
	elapsed := time.Since(start)
	if fast != nil {
		fast.close() // before the size is read: it folds the WAL in
	}
	if err := checkSeeded(ctx, store, last); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "inserted %d payments (%d rows with their transactions) in %s: %s\n",
		*n, 2**n, elapsed.Round(time.Millisecond), rates(*n, elapsed))
	if fi, err := os.Stat(*db); err == nil {
		fmt.Fprintf(stdout, "database file: %.1f MB\n", float64(fi.Size())/(1<<20))
	}
	return nil
}

func rates(payments int, d time.Duration) string {
	s := d.Seconds()
	return fmt.Sprintf("%.0f payments/s, %.0f rows/s", float64(payments)/s, float64(2*payments)/s)
}

func openStore(ctx context.Context, db string) (*sqlstore.DB, error) {
	if postgres.IsURL(db) {
		return postgres.Open(ctx, db, postgres.Options{})
	}
	return sqlite.Open(ctx, db)
}

// ensureAccount creates the account if it is absent. The bench account
// gets the fixed key, so that "cgbench -db" then benchmarks the seeded
// database; another account gets a fresh key, printed once.
func ensureAccount(ctx context.Context, store *sqlstore.DB, id string, stdout io.Writer) error {
	err := store.View(ctx, func(tx gateway.ReadTx) error {
		_, err := tx.Account(ctx, id)
		return err
	})
	if !errors.Is(err, gateway.ErrNotFound) {
		return err // nil: it exists
	}
	key := ""
	if id == benchAccountID {
		key = benchKey
	}
	svc := &service.Service{Store: store, Now: time.Now}
	ctx = service.WithActor(ctx, "cli:cgbench") // for the audit log
	_, secret, err := svc.CreateAccount(ctx, service.NewAccount{ID: id, Name: "bench", Key: key, Environment: gateway.Sandbox})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created account %s (private key %s)\n", id, secret)
	return nil
}

// insertViaStore writes a batch in one store transaction (PostgreSQL).
func insertViaStore(ctx context.Context, store *sqlstore.DB, batch []seeded) error {
	return store.Update(ctx, func(tx gateway.Tx) error {
		for _, s := range batch {
			if err := tx.InsertPayment(ctx, s.p); err != nil {
				return err
			}
			if err := tx.InsertTransaction(ctx, s.t); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkSeeded reads a seeded payment back through the store: it proves that
// the rows written beside the store are rows the store reads as written.
func checkSeeded(ctx context.Context, store *sqlstore.DB, want seeded) error {
	var got gateway.Payment
	err := store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		got, err = tx.PaymentByTransaction(ctx, want.p.AccountID, want.p.Environment, want.p.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("check: read back payment %s: %w", want.p.ID, err)
	}
	w := want.p
	w.Transactions, w.TransactionCount = []gateway.Transaction{want.t}, 1
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", w); g != w {
		return fmt.Errorf("check: payment %s reads back as\n%s\nwant\n%s", want.p.ID, g, w)
	}
	return nil
}

// seedFingerprints stand in for the keyed card fingerprints: any 64 hex
// digits will do, and these do not depend on a server secret.
var seedFingerprints = func() map[string]string {
	m := map[string]string{}
	for _, number := range testCards {
		sum := sha256.Sum256([]byte("cgbench-seed:" + number))
		m[number] = hex.EncodeToString(sum[:])
	}
	return m
}()

// seedBrands are the brands of testCards, in the same order.
var seedBrands = [...]card.Brand{card.Visa, card.Mastercard, card.Discover, card.Visa}

// seedCustomers is how many customers (emails) the seeded payments come
// from: an email filter then matches one payment in that many, as a
// returning customer's would.
const seedCustomers = 10_000

// seedPayment is the i-th seeded payment: an approved sandbox charge, as the
// service records it (a payment's id is that of its first transaction).
func seedPayment(account, id string, i int, amount int64, at time.Time) seeded {
	number := testCards[i%len(testCards)]
	p := gateway.Payment{
		ID: id, AccountID: account, Environment: gateway.Sandbox, Status: gateway.StatusCaptured, Currency: "USD",
		AuthorizedAmount: amount, CapturedAmount: amount, OrderID: fmt.Sprintf("seed-%09d", i),
		Card: gateway.CardSummary{Brand: string(seedBrands[i%len(testCards)]), BIN: number[:6], Last4: number[len(number)-4:],
			ExpMonth: 10, ExpYear: expiryYear, Fingerprint: seedFingerprints[number]},
		Customer: gateway.Customer{FirstName: "Test", LastName: "User", Email: fmt.Sprintf("customer%d@example.com", i%seedCustomers),
			Address: "6 Pheasant Run", City: "Holmdel", State: "NJ", Zip: "07733", Country: "US"},
		AVSCode: "Y", CVVCode: "M", CreatedAt: at, UpdatedAt: at, Version: 1,
	}
	t := gateway.Transaction{ID: id, PaymentID: id, AccountID: account, Environment: gateway.Sandbox,
		Operation: gateway.OpCharge, Result: gateway.ResultApproved, Amount: amount, RequestID: "req_" + gateway.NewID(), CreatedAt: at}
	return seeded{p, t}
}

// fastSQLite inserts a batch with one statement per table: the fields that
// vary between seeded payments (seedRow) travel as one JSON array, read back
// with json_each, and the rest comes from the batch's first payment. Per-row
// prepared INSERTs were twice as slow: they spent as much time binding 39
// arguments (and in Go's allocator) as SQLite spent inserting. It writes the
// columns sqlstore writes, in its time format; checkSeeded catches a drift
// from the store's schema or encoding.
type fastSQLite struct {
	db *sql.DB
}

// openFastSQLite opens the migrated file for bulk loading: a 256 MB page
// cache, and synchronous=OFF. In WAL mode a crash of cgbench still loses
// nothing committed; only an OS crash or power cut while seeding could harm
// the file, which is acceptable for a bench database.
func openFastSQLite(ctx context.Context, path string) (*fastSQLite, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(OFF)", "cache_size(-262144)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // the page cache belongs to a connection: keep one
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &fastSQLite{db: db}, nil
}

// close folds the WAL into the database, so that the file's size is the
// database's, and closes; it may be called again.
func (f *fastSQLite) close() {
	if f.db == nil {
		return
	}
	_, _ = f.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	_ = f.db.Close()
	f.db = nil
}

// seedRow is what varies between the payments of a batch.
type seedRow struct {
	ID          string `json:"id"` // the payment's and its charge transaction's
	Authorized  int64  `json:"authorized"`
	Captured    int64  `json:"captured"`
	OrderID     string `json:"order"`
	Brand       string `json:"brand"`
	BIN         string `json:"bin"`
	Last4       string `json:"last4"`
	Fingerprint string `json:"fp"`
	Amount      int64  `json:"amount"` // the transaction's
	RequestID   string `json:"req"`
	Email       string `json:"email"`
	At          string `json:"at"` // created_at of the payment and its transaction
}

func (f *fastSQLite) insert(ctx context.Context, batch []seeded) error {
	rows := make([]seedRow, len(batch))
	for i, s := range batch {
		c := s.p.Card
		rows[i] = seedRow{ID: s.p.ID, Authorized: s.p.AuthorizedAmount, Captured: s.p.CapturedAmount, OrderID: s.p.OrderID,
			Brand: c.Brand, BIN: c.BIN, Last4: c.Last4, Fingerprint: c.Fingerprint, Amount: s.t.Amount, RequestID: s.t.RequestID,
			Email: s.p.Customer.Email, At: formatTime(s.p.CreatedAt)}
	}
	js, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	p, t := &batch[0].p, &batch[0].t
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, insertPaymentsSQL, p.AccountID, string(p.Environment), string(p.Status), p.Currency, p.RefundedAmount,
		p.Card.ExpMonth, p.Card.ExpYear,
		p.Customer.FirstName, p.Customer.LastName, p.Customer.Phone, p.Customer.Address,
		p.Customer.City, p.Customer.State, p.Customer.Zip, p.Customer.Country,
		p.AVSCode, p.CVVCode, p.DeclineCode, p.Source,
		p.ThreeDS.CAVV, p.ThreeDS.Validated, p.ThreeDS.TransactionID, p.ThreeDS.ServerTransactionID, p.ThreeDS.Version, p.ThreeDS.PaResStatus,
		p.Version, js); err != nil {
		return fmt.Errorf("insert payments: %w", err)
	}
	if _, err := tx.ExecContext(ctx, insertTransactionsSQL, t.AccountID, string(t.Environment), string(t.Operation), string(t.Result),
		t.Code, js); err != nil {
		return fmt.Errorf("insert transactions: %w", err)
	}
	return tx.Commit()
}

// formatTime is sqlstore's fixed-width UTC text form of times.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// Seeded payments are not settled: settled_at and batch_id are NULL.
const insertPaymentsSQL = `INSERT INTO payments (id, account_id, environment, status, currency,
	authorized_amount, captured_amount, refunded_amount, order_id,
	card_brand, card_bin, card_last4, card_exp_month, card_exp_year, card_fingerprint,
	first_name, last_name, email, phone, address, city, state, zip, country,
	avs_code, cvv_code, decline_code, source,
	threeds_cavv, threeds_validated, threeds_transaction_id, threeds_server_transaction_id, threeds_version, threeds_parres_status,
	created_at, updated_at, settled_at, batch_id, version)
	SELECT value->>'id', ?, ?, ?, ?,
	value->>'authorized', value->>'captured', ?, value->>'order',
	value->>'brand', value->>'bin', value->>'last4', ?, ?, value->>'fp',
	?, ?, value->>'email', ?, ?, ?, ?, ?, ?,
	?, ?, ?, ?,
	?, ?, ?, ?, ?, ?,
	value->>'at', value->>'at', NULL, NULL, ?
	FROM json_each(?)`

const insertTransactionsSQL = `INSERT INTO transactions (id, payment_id, account_id, environment, operation, result, amount, code, request_id, created_at)
	SELECT value->>'id', value->>'id', ?, ?, ?, ?, value->>'amount', ?, value->>'req', value->>'at'
	FROM json_each(?)`
