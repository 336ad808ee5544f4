// Package storetest is the contract every gateway.Store backend must pass.
// A backend's test calls Run with a function that opens a fresh, empty,
// migrated store; the suite asserts outcomes only through the gateway
// interfaces, so that SQLite and PostgreSQL are held to the same rules.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Run runs the contract suite; open returns a fresh, empty, migrated store
// for each subtest (the caller registers cleanup).
func Run(t *testing.T, open func(t *testing.T) gateway.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s gateway.Store)
	}{
		{"accounts", testAccounts},
		{"keys", testKeys},
		{"payments", testPayments},
		{"update_payment_compare_and_set", testUpdatePaymentCAS},
		{"atomicity", testAtomicity},
		{"panic_rolls_back", testPanicRollsBack},
		{"idempotency_records", testIdempotencyRecords},
		{"find_duplicate", testFindDuplicate},
		{"ledger", testLedger},
		{"settle_captured", testSettleCaptured},
		{"concurrent_refunds", testConcurrentRefunds},
		{"view", testView},
		{"audit_log", testAuditLog},
		{"settle_during_refunds", testSettleDuringRefunds},
		{"lookups_see_writes", testLookupsSeeWrites},
		{"pending_transactions", testPendingTransactions},
		{"ledger_in_commit_order", testLedgerInCommitOrder},
		{"ledger_row_committing_late", testLedgerRowCommittingLate},
		{"idempotency_retention", testIdempotencyRetention},
		{"payment_listing", testPaymentListing},
		{"products", testProducts},
		{"checkout_sessions", testCheckoutSessions},
		{"checkout_session_compare_and_set", testCheckoutSessionCAS},
		{"processor_configs", testProcessorConfigs},
		{"users", testUsers},
		{"portal_sessions", testPortalSessions},
		{"account_settings", testAccountSettings},
		{"checkout_listing", testCheckoutListing},
		{"payment_days", testPaymentDays},
		{"payment_scan_limit", testPaymentScanLimit},
		{"webhook_endpoints", testWebhookEndpoints},
		{"webhook_deliveries", testWebhookDeliveries},
		{"webhook_cursor", testWebhookCursor},
		{"webhook_purge", testWebhookPurge},
		{"event_payments", testEventPayments},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			tc.fn(t, s)
		})
	}
}

// base is a fixed instant with microsecond precision in a zone other than
// UTC: stores keep microseconds and answer in UTC.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.FixedZone("UTC+2", 2*3600))

func at(d time.Duration) time.Time { return base.Add(d) }

const (
	acct1 = "10000001"
	acct2 = "10000002"
)

var errRollback = errors.New("storetest: deliberate rollback")

func update(t *testing.T, s gateway.Store, fn func(tx gateway.Tx) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Update(ctx, fn)
}

func mustUpdate(t *testing.T, s gateway.Store, fn func(ctx context.Context, tx gateway.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := update(t, s, func(tx gateway.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t *testing.T, s gateway.Store, fn func(ctx context.Context, tx gateway.ReadTx) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.View(ctx, func(tx gateway.ReadTx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// expectErr checks that err is target (ErrNotFound, ErrConflict).
func expectErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

func account(id, name string) gateway.Account {
	return gateway.Account{ID: id, Name: name, Currency: "USD", CreatedAt: at(0)}
}

func createAccounts(t *testing.T, s gateway.Store, ids ...string) {
	t.Helper()
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, id := range ids {
			if err := tx.CreateAccount(ctx, account(id, "Shop "+id)); err != nil {
				return err
			}
		}
		return nil
	})
}

// payment is a fully populated payment: every field differs from its zero
// value so that a column the store forgets shows up.
func payment(id, accountID string, env gateway.Environment) gateway.Payment {
	return gateway.Payment{
		ID:               id,
		AccountID:        accountID,
		Environment:      env,
		Status:           gateway.StatusAuthorized,
		Currency:         "USD",
		AuthorizedAmount: 4000,
		OrderID:          "order-" + id,
		Card: gateway.CardSummary{
			Brand: "visa", BIN: "411111", Last4: "1111", ExpMonth: 12, ExpYear: 2031,
			Fingerprint: "fp-" + id,
		},
		Customer: gateway.Customer{
			FirstName: "Zoë", LastName: "O'Brien", Email: "zoe@example.com", Phone: "+1 555 0100",
			Address: "1 Main St, Apt \"4\"", City: "Springfield", State: "IL", Zip: "62701", Country: "US",
		},
		AVSCode:           "Y",
		CVVCode:           "M",
		DeclineCode:       "",
		Source:            "ecommerce",
		ProcessorRef:      "pi_" + id,
		CheckoutSessionID: "cs_" + id,
		CheckoutReference: "ref-" + id,
		ThreeDS: gateway.ThreeDS{
			CAVV: "AAABBBCCC=", Validated: "true", TransactionID: "3ds-tx", ServerTransactionID: "3ds-server-tx",
			Version: "2.2.0", PaResStatus: "Y",
		},
		CreatedAt: at(time.Second),
		UpdatedAt: at(time.Second),
		Version:   1,
	}
}

func transaction(id string, p gateway.Payment, op gateway.Operation, amount int64, created time.Time) gateway.Transaction {
	return gateway.Transaction{
		ID: id, PaymentID: p.ID, AccountID: p.AccountID, Environment: p.Environment,
		Operation: op, Result: gateway.ResultApproved, Amount: amount, RequestID: "req-" + id, CreatedAt: created,
	}
}

// insert stores p with its transactions (p.Transactions, in that order).
func insert(t *testing.T, s gateway.Store, p gateway.Payment) {
	t.Helper()
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		q := p
		q.Transactions = nil
		if err := tx.InsertPayment(ctx, q); err != nil {
			return fmt.Errorf("InsertPayment: %w", err)
		}
		for _, tr := range p.Transactions {
			if err := tx.InsertTransaction(ctx, tr); err != nil {
				return fmt.Errorf("InsertTransaction %s: %w", tr.ID, err)
			}
		}
		return nil
	})
}

// simplePayment inserts a payment with its creating transaction.
func simplePayment(t *testing.T, s gateway.Store, p gateway.Payment) gateway.Payment {
	t.Helper()
	op := gateway.OpAuthorize
	if p.Status != gateway.StatusAuthorized {
		op = gateway.OpCharge
	}
	p.Transactions = []gateway.Transaction{transaction(p.ID, p, op, p.AuthorizedAmount, p.CreatedAt)}
	p.TransactionCount = 1
	insert(t, s, p)
	return p
}

func lookup(t *testing.T, s gateway.Store, accountID string, env gateway.Environment, txID string) gateway.Payment {
	t.Helper()
	var p gateway.Payment
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		var err error
		p, err = tx.PaymentByTransaction(ctx, accountID, env, txID)
		return err
	})
	return p
}

// --- accounts ---------------------------------------------------------------

func testAccounts(t *testing.T, s gateway.Store) {
	a1 := account(acct1, "First Shop")
	a2 := gateway.Account{ID: acct2, Name: "Second Shop", Currency: "EUR", CreatedAt: at(time.Minute)}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if err := tx.CreateAccount(ctx, a1); err != nil {
			return err
		}
		return tx.CreateAccount(ctx, a2)
	})

	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.Account(ctx, acct1)
		if err != nil {
			t.Fatalf("Account(%s): %v", acct1, err)
		}
		checkEqual(t, "Account", got, a1)

		list, err := tx.Accounts(ctx)
		if err != nil {
			t.Fatalf("Accounts: %v", err)
		}
		slices.SortFunc(list, func(a, b gateway.Account) int { return strings.Compare(a.ID, b.ID) })
		checkEqual(t, "Accounts", list, []gateway.Account{a1, a2})

		_, err = tx.Account(ctx, "99999999")
		expectErr(t, "Account(unknown)", err, gateway.ErrNotFound)
		return nil
	})

	err := update(t, s, func(tx gateway.Tx) error {
		return tx.CreateAccount(context.Background(), account(acct1, "Impostor"))
	})
	expectErr(t, "CreateAccount(duplicate id)", err, gateway.ErrConflict)

	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.Account(ctx, acct1)
		if err != nil {
			t.Fatalf("Account after duplicate: %v", err)
		}
		checkEqual(t, "Account after duplicate", got, a1)
		list, err := tx.Accounts(ctx)
		if err != nil {
			t.Fatalf("Accounts: %v", err)
		}
		if len(list) != 2 {
			t.Errorf("Accounts after duplicate: %d accounts, want 2", len(list))
		}
		return nil
	})
}

// --- keys -------------------------------------------------------------------

func testKeys(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	k1 := gateway.Key{ID: "KEY000000000001", AccountID: acct1, Environment: gateway.Sandbox,
		Hash: gateway.HashKey("secret-one"), Hint: "-one", CreatedAt: at(time.Second)}
	k2 := gateway.Key{ID: "KEY000000000002", AccountID: acct1, Environment: gateway.Live,
		Hash: gateway.HashKey("secret-two"), Hint: "-two", CreatedAt: at(2 * time.Second)}
	k3 := gateway.Key{ID: "KEY000000000003", AccountID: acct2, Environment: gateway.Live,
		Hash: gateway.HashKey("secret-three"), Hint: "hree", CreatedAt: at(3 * time.Second)}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, k := range []gateway.Key{k1, k2, k3} {
			if err := tx.AddKey(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})

	keys := func(accountID string) []gateway.Key {
		t.Helper()
		var out []gateway.Key
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			var err error
			out, err = tx.Keys(ctx, accountID)
			return err
		})
		slices.SortFunc(out, func(a, b gateway.Key) int { return strings.Compare(a.ID, b.ID) })
		return out
	}
	checkEqual(t, "Keys(acct1)", keys(acct1), []gateway.Key{k1, k2})
	checkEqual(t, "Keys(acct2)", keys(acct2), []gateway.Key{k3})
	for _, k := range keys(acct1) {
		if !k.RevokedAt.IsZero() {
			t.Errorf("active key %s has RevokedAt %v", k.ID, k.RevokedAt)
		}
	}

	dup := gateway.Key{ID: "KEY000000000004", AccountID: acct2, Environment: gateway.Sandbox,
		Hash: gateway.HashKey("secret-one"), Hint: "-one", CreatedAt: at(4 * time.Second)}
	err := update(t, s, func(tx gateway.Tx) error { return tx.AddKey(context.Background(), dup) })
	expectErr(t, "AddKey(duplicate hash)", err, gateway.ErrConflict)
	checkEqual(t, "Keys(acct2) after duplicate", keys(acct2), []gateway.Key{k3})

	// Revoking with the wrong account must not touch the key.
	err = update(t, s, func(tx gateway.Tx) error {
		return tx.RevokeKey(context.Background(), acct2, k1.ID, at(time.Hour))
	})
	expectErr(t, "RevokeKey(wrong account)", err, gateway.ErrNotFound)
	err = update(t, s, func(tx gateway.Tx) error {
		return tx.RevokeKey(context.Background(), acct1, "KEY999999999999", at(time.Hour))
	})
	expectErr(t, "RevokeKey(unknown key)", err, gateway.ErrNotFound)
	checkEqual(t, "Keys(acct1) after failed revokes", keys(acct1), []gateway.Key{k1, k2})

	revokedAt := at(time.Hour + 123456*time.Microsecond)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.RevokeKey(ctx, acct1, k1.ID, revokedAt)
	})
	r1 := k1
	r1.RevokedAt = revokedAt
	checkEqual(t, "Keys(acct1) after revoke (revoked keys are listed)", keys(acct1), []gateway.Key{r1, k2})

	err = update(t, s, func(tx gateway.Tx) error {
		return tx.RevokeKey(context.Background(), acct1, k1.ID, at(2*time.Hour))
	})
	expectErr(t, "RevokeKey(twice)", err, gateway.ErrNotFound)
	checkEqual(t, "Keys(acct1) after second revoke", keys(acct1), []gateway.Key{r1, k2})
}

// --- payments ---------------------------------------------------------------

func testPayments(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)

	// IDs sort opposite to time, and transactions are inserted out of
	// order, so that only ordering by time passes.
	p := payment("TXN000000000009", acct1, gateway.Live)
	p.Status = gateway.StatusSettled
	p.Currency = "EUR"
	p.AuthorizedAmount, p.CapturedAmount, p.RefundedAmount = 5000, 4500, 1200
	p.DeclineCode = "none-really"
	p.UpdatedAt = at(3 * time.Hour)
	p.SettledAt = at(2*time.Hour + 999999*time.Microsecond)
	p.BatchID = "BATCH0000000001"
	p.Version = 7
	auth := transaction(p.ID, p, gateway.OpAuthorize, 5000, at(time.Second))
	capture := transaction("TXN000000000005", p, gateway.OpCapture, 4500, at(time.Minute+1*time.Microsecond))
	refund := transaction("TXN000000000001", p, gateway.OpRefund, 1200, at(3*time.Hour))
	declined := transaction("TXN000000000003", p, gateway.OpRefund, 99999, at(3*time.Hour+time.Microsecond))
	declined.Result, declined.Code = gateway.ResultDeclined, "refund-exceeds-captured"
	p.Transactions = []gateway.Transaction{refund, auth, declined, capture}
	insert(t, s, p)

	// A payment of the same account in the other environment, and one of
	// the other account, to check that lookups do not cross over.
	sandbox := simplePayment(t, s, payment("TXN000000000020", acct1, gateway.Sandbox))
	other := simplePayment(t, s, payment("TXN000000000030", acct2, gateway.Live))

	want := p
	want.Transactions = []gateway.Transaction{auth, capture, refund, declined}
	want.TransactionCount = 4
	for _, id := range []string{p.ID, capture.ID, refund.ID, declined.ID} {
		got := lookup(t, s, acct1, gateway.Live, id)
		checkEqual(t, "PaymentByTransaction("+id+")", got, want)
	}
	checkEqual(t, "PaymentByTransaction(sandbox)", lookup(t, s, acct1, gateway.Sandbox, sandbox.ID), sandbox)
	checkEqual(t, "PaymentByTransaction(other account)", lookup(t, s, acct2, gateway.Live, other.ID), other)

	// The same lookups inside a read-write transaction.
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		got, err := tx.PaymentByTransaction(ctx, acct1, gateway.Live, capture.ID)
		if err != nil {
			return err
		}
		checkEqual(t, "PaymentByTransaction in Update", got, want)
		// PaymentForUpdate: the same payment, by any of its transactions,
		// without the transactions.
		bare := want
		bare.Transactions, bare.TransactionCount = nil, 0
		for _, id := range []string{p.ID, capture.ID, refund.ID} {
			got, err := tx.PaymentForUpdate(ctx, acct1, gateway.Live, id)
			if err != nil {
				return fmt.Errorf("PaymentForUpdate(%s): %w", id, err)
			}
			checkEqual(t, "PaymentForUpdate", got, bare)
		}
		for _, c := range []struct {
			account string
			env     gateway.Environment
			id      string
		}{{acct2, gateway.Live, p.ID}, {acct1, gateway.Sandbox, capture.ID}, {acct1, gateway.Live, "TXNUNKNOWN00000"}} {
			_, err := tx.PaymentForUpdate(ctx, c.account, c.env, c.id)
			expectErr(t, "PaymentForUpdate("+c.account+", "+string(c.env)+", "+c.id+")", err, gateway.ErrNotFound)
		}
		return nil
	})

	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		for _, c := range []struct {
			what    string
			account string
			env     gateway.Environment
			id      string
		}{
			{"other account", acct2, gateway.Live, p.ID},
			{"other account, by a later transaction", acct2, gateway.Live, refund.ID},
			{"other environment", acct1, gateway.Sandbox, p.ID},
			{"other environment, by a later transaction", acct1, gateway.Sandbox, capture.ID},
			{"sandbox payment looked up as live", acct1, gateway.Live, sandbox.ID},
			{"unknown account", "99999999", gateway.Live, p.ID},
			{"unknown id", acct1, gateway.Live, "TXNUNKNOWN00000"},
			{"empty id", acct1, gateway.Live, ""},
		} {
			_, err := tx.PaymentByTransaction(ctx, c.account, c.env, c.id)
			expectErr(t, "PaymentByTransaction("+c.what+")", err, gateway.ErrNotFound)
		}
		return nil
	})

	// A duplicate payment or transaction id is a conflict.
	err := update(t, s, func(tx gateway.Tx) error {
		q := payment(p.ID, acct1, gateway.Live)
		return tx.InsertPayment(context.Background(), q)
	})
	expectErr(t, "InsertPayment(duplicate id)", err, gateway.ErrConflict)
	err = update(t, s, func(tx gateway.Tx) error {
		return tx.InsertTransaction(context.Background(), transaction(capture.ID, p, gateway.OpCapture, 1, at(4*time.Hour)))
	})
	expectErr(t, "InsertTransaction(duplicate id)", err, gateway.ErrConflict)
	checkEqual(t, "PaymentByTransaction after duplicates", lookup(t, s, acct1, gateway.Live, p.ID), want)
}

// --- UpdatePayment ----------------------------------------------------------

func testUpdatePaymentCAS(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	p := simplePayment(t, s, payment("TXN000000000001", acct1, gateway.Live))
	stored := lookup(t, s, acct1, gateway.Live, p.ID)

	captured, err := stored.Capture(3000)
	if err != nil {
		t.Fatal(err)
	}
	captured.UpdatedAt = at(time.Hour)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.UpdatePayment(ctx, captured)
	})
	want := captured
	want.Version = stored.Version + 1
	got := lookup(t, s, acct1, gateway.Live, p.ID)
	checkEqual(t, "payment after UpdatePayment", got, want)

	// A writer that read the payment before the capture has a stale version.
	stale, err := stored.Void()
	if err != nil {
		t.Fatal(err)
	}
	stale.UpdatedAt = at(2 * time.Hour)
	err = update(t, s, func(tx gateway.Tx) error { return tx.UpdatePayment(context.Background(), stale) })
	expectErr(t, "UpdatePayment(stale version)", err, gateway.ErrConflict)
	checkEqual(t, "payment after stale UpdatePayment", lookup(t, s, acct1, gateway.Live, p.ID), want)

	// So does a version from the future.
	future := got
	future.Version = got.Version + 1
	future.Status = gateway.StatusVoided
	err = update(t, s, func(tx gateway.Tx) error { return tx.UpdatePayment(context.Background(), future) })
	expectErr(t, "UpdatePayment(future version)", err, gateway.ErrConflict)

	// The fresh version goes through again, and the versions keep counting.
	refunded, err := got.Refund(500, gateway.DefaultMaxRefunds)
	if err != nil {
		t.Fatal(err)
	}
	refunded.UpdatedAt = at(3 * time.Hour)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.UpdatePayment(ctx, refunded)
	})
	want = refunded
	want.Version = got.Version + 1
	checkEqual(t, "payment after second UpdatePayment", lookup(t, s, acct1, gateway.Live, p.ID), want)
}

// --- atomicity --------------------------------------------------------------

func testAtomicity(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	p := payment("TXN000000000001", acct1, gateway.Live)
	err := update(t, s, func(tx gateway.Tx) error {
		ctx := context.Background()
		if err := tx.InsertPayment(ctx, p); err != nil {
			return err
		}
		if err := tx.InsertTransaction(ctx, transaction(p.ID, p, gateway.OpAuthorize, p.AuthorizedAmount, p.CreatedAt)); err != nil {
			return err
		}
		if err := tx.SaveIdempotencyRecord(ctx, gateway.IdempotencyRecord{AccountID: acct1, Environment: gateway.Live,
			Key: "idem-1", RequestHash: []byte{1, 2, 3}, Status: 200, Body: []byte("{}"), CreatedAt: p.CreatedAt}); err != nil {
			return err
		}
		// The payment is visible inside its own transaction...
		if _, err := tx.PaymentByTransaction(ctx, acct1, gateway.Live, p.ID); err != nil {
			return fmt.Errorf("PaymentByTransaction inside the Update: %w", err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update returned %v, want fn's error %v", err, errRollback)
	}
	// ...and gone after the rollback.
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		_, err := tx.PaymentByTransaction(ctx, acct1, gateway.Live, p.ID)
		expectErr(t, "PaymentByTransaction after rollback", err, gateway.ErrNotFound)
		_, err = tx.IdempotencyRecord(ctx, acct1, gateway.Live, "idem-1")
		expectErr(t, "IdempotencyRecord after rollback", err, gateway.ErrNotFound)
		_, err = tx.FindDuplicate(ctx, gateway.DuplicateQuery{AccountID: acct1, Environment: gateway.Live,
			OrderID: p.OrderID, Amount: p.AuthorizedAmount, Fingerprint: p.Card.Fingerprint, Since: at(0)})
		expectErr(t, "FindDuplicate after rollback", err, gateway.ErrNotFound)
		ledger, err := tx.Ledger(ctx, gateway.AuditFilter{})
		if err != nil || len(ledger) != 0 {
			t.Errorf("Ledger after rollback = %+v, %v; want nothing", ledger, err)
		}
		return nil
	})
	// The rolled-back ids are free: the same writes now commit.
	insert(t, s, func() gateway.Payment {
		q := p
		q.Transactions = []gateway.Transaction{transaction(p.ID, p, gateway.OpAuthorize, p.AuthorizedAmount, p.CreatedAt)}
		return q
	}())
}

// testPanicRollsBack checks that a panicking fn does not leave its
// transaction open: the store must keep accepting writes afterwards.
func testPanicRollsBack(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("the panic in fn did not reach the caller of Update")
			}
		}()
		_ = s.Update(context.Background(), func(tx gateway.Tx) error {
			if err := tx.CreateAccount(context.Background(), account(acct2, "Panicky")); err != nil {
				return err
			}
			panic("storetest: deliberate panic")
		})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Update(ctx, func(tx gateway.Tx) error {
		_, err := tx.Account(ctx, acct2)
		expectErr(t, "Account created by the panicking Update", err, gateway.ErrNotFound)
		return tx.CreateAccount(ctx, account("10000003", "After the panic"))
	})
	if err != nil {
		t.Fatalf("Update after a panicking Update: %v (the panicking transaction was left open?)", err)
	}
}

// --- idempotency ------------------------------------------------------------

func testIdempotencyRecords(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	body := []byte("{\"id\":\"TXN\",\"note\":\"\u00e9\"}\x00\xff\xfe binary tail")
	r := gateway.IdempotencyRecord{
		AccountID: acct1, Environment: gateway.Live, Key: "order-42/charge",
		RequestHash: []byte{0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90,
			0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x00},
		Status:    201,
		Body:      body,
		CreatedAt: at(time.Minute + 42*time.Microsecond),
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.SaveIdempotencyRecord(ctx, r) })

	read := func(accountID string, env gateway.Environment, key string) (gateway.IdempotencyRecord, error) {
		var got gateway.IdempotencyRecord
		var err error
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			got, err = tx.IdempotencyRecord(ctx, accountID, env, key)
			return nil
		})
		return got, err
	}
	got, err := read(acct1, gateway.Live, r.Key)
	if err != nil {
		t.Fatalf("IdempotencyRecord: %v", err)
	}
	checkEqual(t, "IdempotencyRecord", got, r)
	if !bytes.Equal(got.Body, body) || !bytes.Equal(got.RequestHash, r.RequestHash) {
		t.Errorf("IdempotencyRecord bytes differ: body %q, hash %x", got.Body, got.RequestHash)
	}

	// The key is scoped by account and environment.
	for _, c := range []struct {
		what    string
		account string
		env     gateway.Environment
		key     string
	}{
		{"other account", acct2, gateway.Live, r.Key},
		{"other environment", acct1, gateway.Sandbox, r.Key},
		{"other key", acct1, gateway.Live, r.Key + "x"},
		{"key differing in case", acct1, gateway.Live, strings.ToUpper(r.Key)},
	} {
		_, err := read(c.account, c.env, c.key)
		expectErr(t, "IdempotencyRecord("+c.what+")", err, gateway.ErrNotFound)
	}

	dup := r
	dup.Status, dup.Body = 500, []byte("other")
	err = update(t, s, func(tx gateway.Tx) error { return tx.SaveIdempotencyRecord(context.Background(), dup) })
	expectErr(t, "SaveIdempotencyRecord(duplicate key)", err, gateway.ErrConflict)
	got, err = read(acct1, gateway.Live, r.Key)
	if err != nil {
		t.Fatalf("IdempotencyRecord after duplicate: %v", err)
	}
	checkEqual(t, "IdempotencyRecord after duplicate", got, r)

	// The same key in another account or environment is a different record.
	inSandbox := r
	inSandbox.Environment, inSandbox.Status, inSandbox.Body = gateway.Sandbox, 402, []byte(`{"error":"declined"}`)
	inOther := r
	inOther.AccountID, inOther.Status, inOther.Body = acct2, 200, []byte(`{"other":true}`)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if err := tx.SaveIdempotencyRecord(ctx, inSandbox); err != nil {
			return err
		}
		return tx.SaveIdempotencyRecord(ctx, inOther)
	})
	for _, want := range []gateway.IdempotencyRecord{r, inSandbox, inOther} {
		got, err := read(want.AccountID, want.Environment, want.Key)
		if err != nil {
			t.Errorf("IdempotencyRecord(%s, %s): %v", want.AccountID, want.Environment, err)
			continue
		}
		checkEqual(t, "IdempotencyRecord("+want.AccountID+", "+string(want.Environment)+")", got, want)
	}
}

// --- FindDuplicate ----------------------------------------------------------

func testFindDuplicate(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	created := at(time.Hour)
	mk := func(id string, status gateway.Status) gateway.Payment {
		p := payment(id, acct1, gateway.Live)
		p.OrderID, p.Card.Fingerprint, p.AuthorizedAmount = "order-1", "fp-1", 2500
		p.Status, p.CreatedAt, p.UpdatedAt = status, created, created
		switch status {
		case gateway.StatusCaptured:
			p.CapturedAmount = 2500
		case gateway.StatusDeclined:
			p.DeclineCode = "card-declined"
		case gateway.StatusFailed:
			p.DeclineCode = "processor-error"
		}
		return p
	}
	live := simplePayment(t, s, mk("TXN000000000001", gateway.StatusCaptured))
	// Payments that moved no money, or were cancelled, are never duplicates,
	// even created later than the live one.
	for i, st := range []gateway.Status{gateway.StatusDeclined, gateway.StatusFailed, gateway.StatusVoided} {
		p := mk(fmt.Sprintf("TXN00000000010%d", i), st)
		p.OrderID = "order-dead"
		simplePayment(t, s, p)
	}

	q := gateway.DuplicateQuery{AccountID: acct1, Environment: gateway.Live, OrderID: "order-1",
		Amount: 2500, Fingerprint: "fp-1", Since: created}
	find := func(q gateway.DuplicateQuery) (string, error) {
		var id string
		var err error
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			id, err = tx.FindDuplicate(ctx, q)
			return nil
		})
		return id, err
	}
	if id, err := find(q); err != nil || id != live.ID {
		t.Errorf("FindDuplicate(created_at == Since) = %q, %v; want %q", id, err, live.ID)
	}
	earlier := q
	earlier.Since = created.Add(-24 * time.Hour)
	if id, err := find(earlier); err != nil || id != live.ID {
		t.Errorf("FindDuplicate(Since a day earlier) = %q, %v; want %q", id, err, live.ID)
	}
	// Inside a read-write transaction as well.
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		id, err := tx.FindDuplicate(ctx, q)
		if err != nil || id != live.ID {
			t.Errorf("FindDuplicate in Update = %q, %v; want %q", id, err, live.ID)
		}
		return nil
	})

	for _, c := range []struct {
		what   string
		change func(q *gateway.DuplicateQuery)
	}{
		{"other account", func(q *gateway.DuplicateQuery) { q.AccountID = acct2 }},
		{"other environment", func(q *gateway.DuplicateQuery) { q.Environment = gateway.Sandbox }},
		{"other order id", func(q *gateway.DuplicateQuery) { q.OrderID = "order-2" }},
		{"other amount", func(q *gateway.DuplicateQuery) { q.Amount = 2501 }},
		{"other fingerprint", func(q *gateway.DuplicateQuery) { q.Fingerprint = "fp-2" }},
		{"created before Since", func(q *gateway.DuplicateQuery) { q.Since = created.Add(time.Microsecond) }},
		{"declined, failed and voided payments", func(q *gateway.DuplicateQuery) { q.OrderID = "order-dead" }},
	} {
		q2 := q
		c.change(&q2)
		id, err := find(q2)
		if !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("FindDuplicate(%s) = %q, %v; want ErrNotFound", c.what, id, err)
		}
	}

	// Each non-live status on its own.
	for i, st := range []gateway.Status{gateway.StatusDeclined, gateway.StatusFailed, gateway.StatusVoided} {
		p := mk(fmt.Sprintf("TXN00000000020%d", i), st)
		p.OrderID = "order-" + string(st)
		simplePayment(t, s, p)
		q2 := q
		q2.OrderID = p.OrderID
		if id, err := find(q2); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("FindDuplicate(%s payment) = %q, %v; want ErrNotFound", st, id, err)
		}
	}
	// An authorized payment is live.
	auth := mk("TXN000000000300", gateway.StatusAuthorized)
	auth.OrderID = "order-auth"
	simplePayment(t, s, auth)
	q2 := q
	q2.OrderID = auth.OrderID
	if id, err := find(q2); err != nil || id != auth.ID {
		t.Errorf("FindDuplicate(authorized payment) = %q, %v; want %q", id, err, auth.ID)
	}
}

// --- ledger -----------------------------------------------------------------

// testLedger reads transactions back as the audit trail of payment
// operations: by time and account, oldest first, with their actor; those
// without an actor (written before actors were recorded) are left out.
func testLedger(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	tr := func(id, accountID, actor string, d time.Duration) gateway.Transaction {
		p := payment(id, accountID, gateway.Sandbox)
		x := transaction(id, p, gateway.OpCharge, p.AuthorizedAmount, at(d))
		x.Actor = actor
		return x
	}
	ledger := []gateway.Transaction{
		tr("TXN000000000003", acct1, "key:K1", 3*time.Second),
		tr("TXN000000000001", acct1, "key:K1", time.Second),
		tr("TXN000000000002", acct2, "cli:ops", 2*time.Second),
		tr("TXN000000000004", acct1, "", 4*time.Second),
	}
	for _, x := range ledger {
		p := payment(x.PaymentID, x.AccountID, x.Environment)
		p.Transactions = []gateway.Transaction{x}
		insert(t, s, p)
	}
	ids := func(f gateway.AuditFilter) []string {
		var out []string
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			got, err := tx.Ledger(ctx, f)
			for _, x := range got {
				out = append(out, x.ID)
			}
			return err
		})
		return out
	}
	checkAuditFilters(t, "Ledger", ids, "TXN000000000001", "TXN000000000002", "TXN000000000003")
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.Ledger(ctx, gateway.AuditFilter{AccountID: acct2})
		if err != nil {
			return err
		}
		want := ledger[2]
		if len(got) != 1 || !got[0].CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("Ledger(acct2) = %+v", got)
		}
		got[0].CreatedAt = want.CreatedAt
		if got[0] != want {
			t.Errorf("round trip: got %+v, want %+v", got[0], want)
		}
		return nil
	})
}

// --- settlement -------------------------------------------------------------

func testSettleCaptured(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	type row struct {
		p      gateway.Payment
		settle bool
	}
	mk := func(id, accountID string, env gateway.Environment, currency string, status gateway.Status, authorized, captured, refunded int64) gateway.Payment {
		p := payment(id, accountID, env)
		p.Currency, p.Status = currency, status
		p.AuthorizedAmount, p.CapturedAmount, p.RefundedAmount = authorized, captured, refunded
		p.Version = 3
		return p
	}
	rows := []row{
		{mk("TXN000000000001", acct1, gateway.Live, "USD", gateway.StatusCaptured, 4000, 4000, 0), true},
		{mk("TXN000000000002", acct1, gateway.Live, "USD", gateway.StatusCaptured, 3000, 2500, 1000), true},
		{mk("TXN000000000003", acct2, gateway.Live, "EUR", gateway.StatusCaptured, 700, 700, 0), true},
		{mk("TXN000000000004", acct2, gateway.Sandbox, "USD", gateway.StatusCaptured, 100, 100, 100), true},
		{mk("TXN000000000005", acct1, gateway.Live, "USD", gateway.StatusAuthorized, 9000, 0, 0), false},
		{mk("TXN000000000006", acct1, gateway.Live, "USD", gateway.StatusVoided, 8000, 0, 0), false},
		{mk("TXN000000000007", acct2, gateway.Live, "EUR", gateway.StatusVoided, 6000, 6000, 0), false},
		{mk("TXN000000000008", acct1, gateway.Live, "USD", gateway.StatusDeclined, 5000, 0, 0), false},
		{mk("TXN000000000009", acct1, gateway.Live, "JPY", gateway.StatusSettled, 5000, 5000, 0), false},
	}
	rows[8].p.SettledAt, rows[8].p.BatchID = at(time.Minute), "OLDBATCH0000001"
	for i := range rows {
		rows[i].p = simplePayment(t, s, rows[i].p)
	}

	// A payment changed after the run started waits for the next run; so
	// does one with an operation in flight.
	changedLater := mk("TXN000000000011", acct1, gateway.Live, "USD", gateway.StatusCaptured, 200, 200, 0)
	changedLater.UpdatedAt = at(5 * time.Hour)
	changedLater = simplePayment(t, s, changedLater)
	inFlight := mk("TXN000000000012", acct1, gateway.Live, "USD", gateway.StatusCaptured, 200, 200, 50).Claim(gateway.OpRefund)
	inFlight = simplePayment(t, s, inFlight)

	started, closed := at(4*time.Hour), at(5*time.Hour+7*time.Microsecond)
	batches := settleAll(t, s, "RUN000000000001", started, closed, 1)
	totals := map[gateway.SettlementGroup][2]int64{}
	for _, b := range batches {
		totals[b.Group] = [2]int64{b.Count, b.Total}
		if b.RunID != "RUN000000000001" || !b.ClosedAt.Equal(closed) {
			t.Errorf("batch %+v: run or time wrong", b)
		}
	}
	checkEqual(t, "batches by group", totals, map[gateway.SettlementGroup][2]int64{
		{AccountID: acct1, Environment: gateway.Live, Currency: "USD"}:    {2, 4000 + 1500},
		{AccountID: acct2, Environment: gateway.Live, Currency: "EUR"}:    {1, 700},
		{AccountID: acct2, Environment: gateway.Sandbox, Currency: "USD"}: {1, 0},
	})
	batchOf := map[gateway.SettlementGroup]string{}
	for _, b := range batches {
		batchOf[b.Group] = b.ID
	}
	for _, r := range append(rows, row{changedLater, false}, row{inFlight, false}) {
		got := lookup(t, s, r.p.AccountID, r.p.Environment, r.p.ID)
		want := r.p
		want.Transactions = got.Transactions
		want.TransactionCount = got.TransactionCount
		if r.settle {
			want.Status, want.SettledAt = gateway.StatusSettled, closed
			want.BatchID = batchOf[gateway.SettlementGroup{AccountID: r.p.AccountID, Environment: r.p.Environment, Currency: r.p.Currency}]
			want.Version = r.p.Version + 1
			want.UpdatedAt = closed
		}
		checkEqual(t, "payment "+r.p.ID+" ("+string(r.p.Status)+") after settlement", got, want)
	}
	// The run's batches read back as written.
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.SettlementBatches(ctx, "RUN000000000001")
		if err != nil {
			return err
		}
		if len(got) != len(batches) {
			t.Errorf("SettlementBatches = %d batches, want %d", len(got), len(batches))
		}
		return nil
	})

	// Nothing left: a second run settles nothing (the payment changed later
	// and the one in flight still wait).
	if again := settleAll(t, s, "RUN000000000002", started, at(6*time.Hour), 10); len(again) != 0 {
		t.Errorf("a second run made batches %+v", again)
	}

	// A settlement that is rolled back changes nothing.
	late := simplePayment(t, s, mk("TXN000000000010", acct1, gateway.Live, "USD", gateway.StatusCaptured, 300, 300, 0))
	err := update(t, s, func(tx gateway.Tx) error {
		g := gateway.SettlementGroup{AccountID: acct1, Environment: gateway.Live, Currency: "USD"}
		paid, err := tx.SettlePayments(context.Background(), g, started, "BATCH0000000003", at(7*time.Hour), 10)
		if err != nil {
			return err
		}
		if len(paid) != 1 || paid[0].ID != late.ID || paid[0].Net != 300 {
			t.Errorf("SettlePayments in a rolled-back Update: %+v", paid)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update returned %v, want %v", err, errRollback)
	}
	checkEqual(t, "captured payment after rolled-back settlement", lookup(t, s, acct1, gateway.Live, late.ID), late)

	// Runs: one per cut-off; the lease is a compare-and-set.
	run := gateway.SettlementRun{ID: "RUN000000000003", Cutoff: "daily:2025-03-15T00:00Z", Owner: "a", StartedAt: at(0), LeaseUntil: at(time.Minute)}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.InsertSettlementRun(ctx, run) })
	dup := run
	dup.ID, dup.Owner = "RUN000000000004", "b"
	expectErr(t, "InsertSettlementRun(same cut-off)", update(t, s, func(tx gateway.Tx) error {
		return tx.InsertSettlementRun(context.Background(), dup)
	}), gateway.ErrConflict)
	taken := run
	taken.Owner, taken.LeaseUntil = "b", at(2*time.Minute)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.UpdateSettlementRun(ctx, taken, run.LeaseUntil)
	})
	stale := run
	stale.DoneAt = at(3 * time.Minute)
	expectErr(t, "UpdateSettlementRun(a lease no longer held)", update(t, s, func(tx gateway.Tx) error {
		return tx.UpdateSettlementRun(context.Background(), stale, run.LeaseUntil)
	}), gateway.ErrConflict)
	var got gateway.SettlementRun
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		var err error
		got, err = tx.SettlementRun(ctx, run.Cutoff)
		return err
	})
	checkEqual(t, "SettlementRun", got, taken)
}

// settleAll settles what a run may, chunk by chunk as the service does, and
// returns the run's batches.
func settleAll(t *testing.T, s gateway.Store, runID string, before, at time.Time, chunk int) []gateway.SettlementBatch {
	t.Helper()
	var batches []gateway.SettlementBatch
	for {
		done := false
		mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
			g, err := tx.NextSettlementGroup(ctx, before)
			if errors.Is(err, gateway.ErrNotFound) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			b, err := tx.SettlementBatch(ctx, runID, g)
			if errors.Is(err, gateway.ErrNotFound) {
				b = gateway.SettlementBatch{ID: "B" + runID[1:] + fmt.Sprint(len(batches)), RunID: runID, Group: g, ClosedAt: at}
				batches = append(batches, b)
			} else if err != nil {
				return err
			}
			paid, err := tx.SettlePayments(ctx, g, before, b.ID, at, chunk)
			if err != nil {
				return err
			}
			if len(paid) == 0 {
				return fmt.Errorf("SettlePayments settled nothing of group %+v", g)
			}
			for _, p := range paid {
				b.Count++
				b.Total += p.Net
			}
			for i := range batches {
				if batches[i].ID == b.ID {
					batches[i] = b
				}
			}
			return tx.PutSettlementBatch(ctx, b)
		})
		if done {
			return batches
		}
	}
}

// --- concurrency ------------------------------------------------------------

func testConcurrentRefunds(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	p := payment("TXN000000000001", acct1, gateway.Live)
	p.Status, p.CapturedAmount = gateway.StatusCaptured, 4000
	p = simplePayment(t, s, p)

	const workers, maxAttempts = 20, 50
	var succeeded, refused atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var err error
			for range maxAttempts {
				err = s.Update(ctx, func(tx gateway.Tx) error {
					cur, err := tx.PaymentByTransaction(ctx, acct1, gateway.Live, p.ID)
					if err != nil {
						return err
					}
					after, err := cur.Refund(1000, gateway.DefaultMaxRefunds)
					if err != nil {
						return err
					}
					now := at(time.Hour + time.Duration(i)*time.Microsecond)
					after.UpdatedAt = now
					if err := tx.UpdatePayment(ctx, after); err != nil {
						return err
					}
					return tx.InsertTransaction(ctx, transaction(fmt.Sprintf("REFUND%09d", i), cur, gateway.OpRefund, 1000, now))
				})
				if !errors.Is(err, gateway.ErrConflict) {
					break
				}
			}
			switch {
			case err == nil:
				succeeded.Add(1)
			case gateway.ErrorKind(err) == gateway.KindInvalid:
				refused.Add(1)
			default:
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()

	if got := succeeded.Load(); got != 4 {
		t.Errorf("%d refunds succeeded, want 4", got)
	}
	if got := refused.Load(); got != workers-4 {
		t.Errorf("%d refunds were refused by the rules, want %d", got, workers-4)
	}
	got := lookup(t, s, acct1, gateway.Live, p.ID)
	if got.RefundedAmount != 4000 {
		t.Errorf("RefundedAmount = %d, want 4000", got.RefundedAmount)
	}
	if got.Version != p.Version+4 {
		t.Errorf("Version = %d, want %d", got.Version, p.Version+4)
	}
	var refunds int64
	for _, tr := range got.Transactions {
		if tr.Operation == gateway.OpRefund {
			refunds += tr.Amount
		}
	}
	if len(got.Transactions) != 5 || refunds != 4000 {
		t.Errorf("%d transactions refunding %d in all, want 5 refunding 4000", len(got.Transactions), refunds)
	}
}

// --- View -------------------------------------------------------------------

func testView(t *testing.T, s gateway.Store) {
	// An empty store reads as empty.
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		list, err := tx.Accounts(ctx)
		if err != nil {
			return err
		}
		if len(list) != 0 {
			t.Errorf("Accounts of an empty store = %v", list)
		}
		return nil
	})

	createAccounts(t, s, acct1)
	p := simplePayment(t, s, payment("TXN000000000001", acct1, gateway.Live))
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		if _, err := tx.Account(ctx, acct1); err != nil {
			t.Errorf("Account after commit: %v", err)
		}
		got, err := tx.PaymentByTransaction(ctx, acct1, gateway.Live, p.ID)
		if err != nil {
			t.Errorf("PaymentByTransaction after commit: %v", err)
		} else {
			checkEqual(t, "PaymentByTransaction in View", got, p)
		}
		return nil
	})

	// A later commit is seen by a later View.
	captured, err := lookup(t, s, acct1, gateway.Live, p.ID).Capture(1000)
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.UpdatePayment(ctx, captured) })
	if got := lookup(t, s, acct1, gateway.Live, p.ID); got.Status != gateway.StatusCaptured || got.CapturedAmount != 1000 {
		t.Errorf("View after a second commit: status %s captured %d, want captured 1000", got.Status, got.CapturedAmount)
	}

	// View hands fn's error back unchanged.
	err = s.View(context.Background(), func(gateway.ReadTx) error { return errRollback })
	if !errors.Is(err, errRollback) {
		t.Errorf("View returned %v, want fn's error %v", err, errRollback)
	}
}

// --- comparison -------------------------------------------------------------

// checkEqual compares got with want field by field. Times compare as
// instants, and every non-zero time that the store returns must be in UTC.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	var diffs []string
	diff(&diffs, "", reflect.ValueOf(got), reflect.ValueOf(want))
	if len(diffs) > 0 {
		t.Errorf("%s differs:\n\t%s", what, strings.Join(diffs, "\n\t"))
	}
}

var timeType = reflect.TypeFor[time.Time]()

func diff(out *[]string, path string, got, want reflect.Value) {
	if len(*out) > 20 {
		return
	}
	if got.Type() == timeType {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		if !g.Equal(w) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, fmtTime(g), fmtTime(w)))
		} else if !g.IsZero() && g.Location() != time.UTC {
			*out = append(*out, fmt.Sprintf("%s: got %s in %s, want UTC", path, fmtTime(g), g.Location()))
		}
		return
	}
	switch got.Kind() {
	case reflect.Struct:
		for i := range got.NumField() {
			diff(out, path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))
		}
	case reflect.Slice:
		if got.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				*out = append(*out, fmt.Sprintf("%s: got %x, want %x", path, got.Bytes(), want.Bytes()))
			}
			return
		}
		if got.Len() != want.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements, want %d", path, got.Len(), want.Len()))
		}
		for i := range min(got.Len(), want.Len()) {
			diff(out, fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))
		}
	case reflect.Map:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, got.Interface(), want.Interface()))
		}
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, got.Interface(), want.Interface()))
		}
	}
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.Format(time.RFC3339Nano)
}

// testAuditLog appends entries and reads them back by account and time,
// oldest first; an entry in a rolled-back Update is not kept.
func testAuditLog(t *testing.T, s gateway.Store) {
	entry := func(id, accountID string, d time.Duration) gateway.AuditEntry {
		return gateway.AuditEntry{ID: id, At: at(d), Actor: "key:K" + id, Action: "payment.captured", AccountID: accountID,
			Environment: gateway.Sandbox, ObjectID: "P" + id, RequestID: "req_" + id, Detail: "amount=100"}
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, e := range []gateway.AuditEntry{entry("3", acct1, 3*time.Second), entry("1", acct1, time.Second), entry("2", acct2, 2*time.Second)} {
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	err := update(t, s, func(tx gateway.Tx) error {
		if err := tx.AppendAudit(context.Background(), entry("4", acct1, 4*time.Second)); err != nil {
			return err
		}
		return errRollback
	})
	expectErr(t, "rolled-back Update", err, errRollback)

	ids := func(f gateway.AuditFilter) []string {
		var out []string
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			entries, err := tx.AuditLog(ctx, f)
			for _, e := range entries {
				out = append(out, e.ID)
			}
			return err
		})
		return out
	}
	checkAuditFilters(t, "AuditLog", ids, "1", "2", "3")
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		entries, err := tx.AuditLog(ctx, gateway.AuditFilter{AccountID: acct2})
		if err != nil {
			return err
		}
		want := entry("2", acct2, 2*time.Second)
		if len(entries) != 1 || !entries[0].At.Equal(want.At) || entries[0].At.Location() != time.UTC {
			t.Fatalf("entries = %+v", entries)
		}
		entries[0].At = want.At
		if entries[0] != want {
			t.Errorf("round trip: got %+v, want %+v", entries[0], want)
		}
		return nil
	})
}

// testSettleDuringRefunds closes batches while refunds run on the captured
// payments: no close fails, each settled payment is in exactly one batch,
// the batch counts add up, and each batch's total is its payments' net
// amount at the close (no refund half counted).
func testSettleDuringRefunds(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	const payments = 40
	var ids []string
	for i := range payments {
		p := payment(fmt.Sprintf("SETTLE%09d", i), acct1, gateway.Live)
		p.Status, p.CapturedAmount = gateway.StatusCaptured, 4000
		ids = append(ids, simplePayment(t, s, p).ID)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			<-start
			ctx := context.Background()
			for i := w; i < payments*3; i += 8 {
				id := ids[i%payments]
				_ = refund100(ctx, s, id, fmt.Sprintf("RS%013d", i), at(time.Hour))
			}
		})
	}
	var batches []gateway.SettlementBatch
	wg.Go(func() {
		<-start
		for i := range 5 {
			batches = append(batches, settleAll(t, s, fmt.Sprintf("RUN%012d", i), at(2*time.Hour), at(time.Duration(i)*time.Minute), 7)...)
		}
	})
	close(start)
	wg.Wait()

	var settled int64
	for _, b := range batches {
		settled += b.Count
	}
	var inBatches int64
	for _, id := range ids {
		p := lookup(t, s, acct1, gateway.Live, id)
		if p.Status == gateway.StatusSettled {
			inBatches++
			if p.BatchID == "" {
				t.Errorf("settled payment %s has no batch", id)
			}
		}
	}
	if settled != inBatches {
		t.Errorf("batches count %d payments, %d payments are settled", settled, inBatches)
	}
	for _, b := range batches {
		if b.Total <= 0 || b.Total > b.Count*4000 {
			t.Errorf("batch %s total %d for %d payments", b.ID, b.Total, b.Count)
		}
	}
}

// testLookupsSeeWrites checks that a lookup made after a write has returned
// (when its caller hears of it) sees that write, while other lookups of the
// same payments run all the time: a store may keep what lookups read (the
// SQLite lookup cache) only as long as this holds. A settlement changes
// payments it does not name; lookups see that too.
func testLookupsSeeWrites(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	const payments, refunds = 6, 12
	ids := make([]string, payments)
	for i := range ids {
		p := payment(fmt.Sprintf("TXN%012d", i+1), acct1, gateway.Live)
		p.Status, p.AuthorizedAmount, p.CapturedAmount = gateway.StatusCaptured, 10000, 10000
		ids[i] = simplePayment(t, s, p).ID
	}
	view := func(id string) (gateway.Payment, error) {
		var p gateway.Payment
		err := s.View(context.Background(), func(tx gateway.ReadTx) error {
			var err error
			p, err = tx.PaymentByTransaction(context.Background(), acct1, gateway.Live, id)
			return err
		})
		return p, err
	}

	stop := make(chan struct{})
	var readers, writers sync.WaitGroup
	for r := range 4 {
		readers.Go(func() {
			for n := r; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := view(ids[n%payments]); err != nil {
					t.Errorf("lookup: %v", err)
					return
				}
			}
		})
	}
	for i, id := range ids {
		writers.Go(func() {
			ctx := context.Background()
			for n := 1; n <= refunds; n++ {
				err := refund100(ctx, s, id, fmt.Sprintf("R%02d%013d", n, i), at(time.Duration(n)*time.Second))
				if err != nil {
					t.Errorf("refund %d of %s: %v", n, id, err)
					return
				}
				got, err := view(id)
				if err != nil || got.RefundedAmount != int64(n)*100 || len(got.Transactions) != n+1 {
					t.Errorf("lookup after refund %d of %s: refunded %d with %d transactions (err %v), want %d with %d",
						n, id, got.RefundedAmount, len(got.Transactions), err, n*100, n+1)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()

	b := settleAll(t, s, "RUN000000000001", at(time.Hour), at(time.Hour), 100)[0]
	for _, id := range ids {
		if got := lookup(t, s, acct1, gateway.Live, id); got.Status != gateway.StatusSettled || got.BatchID != b.ID {
			t.Errorf("lookup of %s after the settlement: status %s, batch %q; want settled in %s", id, got.Status, got.BatchID, b.ID)
		}
	}
}

// checkAuditFilters checks a listing that filters as AuditLog and Ledger do,
// over three entries: first and third of acct1 at 1 s and 3 s, second of
// acct2 at 2 s.
// refund100 refunds 100 minor units of acct1's live payment with
// transaction id, in one Update, recording the refund as refundID.
func refund100(ctx context.Context, s gateway.Store, id, refundID string, created time.Time) error {
	return s.Update(ctx, func(tx gateway.Tx) error {
		cur, err := tx.PaymentByTransaction(ctx, acct1, gateway.Live, id)
		if err != nil {
			return err
		}
		after, err := cur.Refund(100, gateway.DefaultMaxRefunds)
		if err != nil {
			return err
		}
		if err := tx.UpdatePayment(ctx, after); err != nil {
			return err
		}
		return tx.InsertTransaction(ctx, transaction(refundID, cur, gateway.OpRefund, 100, created))
	})
}

func checkAuditFilters(t *testing.T, what string, list func(gateway.AuditFilter) []string, first, second, third string) {
	t.Helper()
	for _, tc := range []struct {
		f    gateway.AuditFilter
		want []string
	}{
		{gateway.AuditFilter{}, []string{first, second, third}},
		{gateway.AuditFilter{AccountID: acct1}, []string{first, third}},
		{gateway.AuditFilter{Since: at(2 * time.Second)}, []string{second, third}},
		{gateway.AuditFilter{Limit: 2}, []string{first, second}},
		{gateway.AuditFilter{NewestFirst: true}, []string{third, second, first}},
		{gateway.AuditFilter{Limit: 2, NewestFirst: true}, []string{third, second}},
		{gateway.AuditFilter{AccountID: acct1, Limit: 1, NewestFirst: true}, []string{third}},
		{gateway.AuditFilter{AccountID: "nobody"}, nil},
	} {
		if got := list(tc.f); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s(%+v) = %v, want %v", what, tc.f, got, tc.want)
		}
	}
}

// WriteHistory writes one row of each append-only table, for the backends'
// tests that the database itself refuses to change them: an audit entry,
// and a ledger transaction (with its account and payment).
func WriteHistory(ctx context.Context, tx gateway.Tx) error {
	now := time.Now()
	if err := tx.CreateAccount(ctx, gateway.Account{ID: "1", Name: "m", Currency: "USD", CreatedAt: now}); err != nil {
		return err
	}
	p := gateway.Payment{ID: "P1", AccountID: "1", Environment: gateway.Sandbox, Status: gateway.StatusCaptured, Currency: "USD",
		AuthorizedAmount: 100, CapturedAmount: 100, OrderID: "o", CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := tx.InsertPayment(ctx, p); err != nil {
		return err
	}
	if err := tx.InsertTransaction(ctx, gateway.Transaction{ID: "P1", PaymentID: "P1", AccountID: "1", Environment: gateway.Sandbox,
		Operation: gateway.OpCharge, Result: gateway.ResultApproved, Amount: 100, Actor: "key:K", CreatedAt: now}); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, gateway.AuditEntry{ID: "A1", At: now, Actor: "cli:test", Action: "key.revoked", AccountID: "1", ObjectID: "K"})
}
