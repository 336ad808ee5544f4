package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// The two-phase write path (ADR 11): pending transactions and their leases,
// the ledger in commit order, idempotency retention, payment listings.

// pendingPayment is a charge waiting for the processor: a pending payment
// with its pending transaction, leased until lease.
func pendingPayment(id string, lease time.Time) (gateway.Payment, gateway.Transaction) {
	p := payment(id, acct1, gateway.Sandbox)
	p.Status, p.AVSCode, p.CVVCode, p.ProcessorRef = gateway.StatusPending, "", "", ""
	p = p.Claim(gateway.OpCharge)
	t := transaction(id, p, gateway.OpCharge, p.AuthorizedAmount, p.CreatedAt)
	t.Result, t.LeaseUntil = gateway.ResultPending, lease
	return p, t
}

func testPendingTransactions(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	lease := at(time.Minute)
	p, pt := pendingPayment("PAY000000000001", lease)
	p.Transactions, p.TransactionCount = []gateway.Transaction{pt}, 1
	insert(t, s, p)
	done := simplePayment(t, s, payment("PAY000000000002", acct1, gateway.Sandbox))

	pending := func(at time.Time) []gateway.Transaction {
		var out []gateway.Transaction
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			var err error
			out, err = tx.PendingTransactions(ctx, at, 10)
			return err
		})
		return out
	}
	if got := pending(lease.Add(-time.Microsecond)); len(got) != 0 {
		t.Errorf("PendingTransactions before the lease ends = %+v; want none", got)
	}
	got := pending(lease)
	if len(got) != 1 {
		t.Fatalf("PendingTransactions at the lease's end = %+v; want the pending charge", got)
	}
	checkEqual(t, "pending transaction", got[0], pt)
	// Lookups show it pending, with the payment's in-flight state.
	looked := lookup(t, s, acct1, gateway.Sandbox, p.ID)
	checkEqual(t, "pending payment", looked, p)

	// One reconciler takes the lease; another, still holding the old end,
	// cannot.
	later := lease.Add(time.Minute)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.ExtendLease(ctx, pt.ID, lease, later) })
	err := update(t, s, func(tx gateway.Tx) error {
		return tx.ExtendLease(context.Background(), pt.ID, lease, later.Add(time.Minute))
	})
	expectErr(t, "ExtendLease(from a lease no longer held)", err, gateway.ErrConflict)
	if got := pending(lease); len(got) != 0 {
		t.Errorf("PendingTransactions after the lease moved = %+v; want none", got)
	}
	err = update(t, s, func(tx gateway.Tx) error {
		return tx.ExtendLease(context.Background(), done.ID, done.CreatedAt, later)
	})
	expectErr(t, "ExtendLease(a final transaction)", err, gateway.ErrConflict)

	// Finishing: the payment and the transaction change together, once.
	final := pt
	final.Result, final.Code, final.LeaseUntil = gateway.ResultDeclined, "card-declined", time.Time{}
	answered := p.Answered(gateway.OpCharge, gateway.AuthorizationResult{DeclineCode: "card-declined", AVSCode: "N", CVVCode: "M"}, nil)
	answered.Transactions = nil
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if err := tx.UpdatePayment(ctx, answered); err != nil {
			return err
		}
		return tx.FinishTransaction(ctx, final)
	})
	err = update(t, s, func(tx gateway.Tx) error { return tx.FinishTransaction(context.Background(), final) })
	expectErr(t, "FinishTransaction(twice)", err, gateway.ErrConflict)
	err = update(t, s, func(tx gateway.Tx) error { return tx.FinishTransaction(context.Background(), done.Transactions[0]) })
	expectErr(t, "FinishTransaction(a final transaction)", err, gateway.ErrConflict)
	if got := pending(later.Add(time.Hour)); len(got) != 0 {
		t.Errorf("PendingTransactions after the finish = %+v; want none", got)
	}
	answered.Version++
	answered.Transactions, answered.TransactionCount = []gateway.Transaction{final}, 1
	checkEqual(t, "finished payment", lookup(t, s, acct1, gateway.Sandbox, p.ID), answered)
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.Transaction(ctx, acct1, gateway.Sandbox, pt.ID)
		if err != nil {
			return err
		}
		checkEqual(t, "Transaction", got, final)
		_, err = tx.Transaction(ctx, acct1, gateway.Live, pt.ID)
		expectErr(t, "Transaction(other environment)", err, gateway.ErrNotFound)
		return nil
	})
}

// ledgerIDs follows the ledger from after as a reader would and returns
// the ids it sees and the position it reaches.
func ledgerIDs(t *testing.T, s gateway.Store, after gateway.LedgerPosition) ([]string, gateway.LedgerPosition) {
	t.Helper()
	var ids []string
	for {
		var page []gateway.LedgerEntry
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			var err error
			page, err = tx.LedgerAfter(ctx, after, 2) // small pages: the cursor is exercised
			return err
		})
		if len(page) == 0 {
			return ids, after
		}
		for _, e := range page {
			if !positionAfter(e.Position, after) {
				t.Fatalf("LedgerAfter(%v) gave position %v, not after it", after, e.Position)
			}
			after = e.Position
			ids = append(ids, e.Transaction.ID)
		}
	}
}

// ledgerUntil follows the ledger from after until it has seen n rows, for
// at most 10 s: a store may withhold rows for a while (PostgreSQL, while
// any transaction of the cluster that began before them is still running),
// but not for ever.
func ledgerUntil(t *testing.T, s gateway.Store, after gateway.LedgerPosition, n int) ([]string, gateway.LedgerPosition) {
	t.Helper()
	var ids []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		more, pos := ledgerIDs(t, s, after)
		ids, after = append(ids, more...), pos
		if len(ids) >= n || time.Now().After(deadline) {
			return ids, after
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func positionAfter(a, b gateway.LedgerPosition) bool {
	return a.Epoch > b.Epoch || a.Epoch == b.Epoch && a.Seq > b.Seq
}

func testLedgerInCommitOrder(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	// A pending charge, then a final one: the reader sees only the final one.
	p1, t1 := pendingPayment("PAY000000000001", at(time.Minute))
	p1.Transactions = []gateway.Transaction{t1}
	insert(t, s, p1)
	simplePayment(t, s, payment("PAY000000000002", acct1, gateway.Sandbox))
	ids, pos := ledgerUntil(t, s, gateway.LedgerPosition{}, 1)
	if !slices.Equal(ids, []string{"PAY000000000002"}) {
		t.Fatalf("ledger = %v; want the final charge only", ids)
	}
	// Finishing the pending charge puts it after everything read so far.
	final := t1
	final.Result, final.LeaseUntil = gateway.ResultApproved, time.Time{}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.FinishTransaction(ctx, final) })
	simplePayment(t, s, payment("PAY000000000003", acct1, gateway.Sandbox))
	more, _ := ledgerUntil(t, s, pos, 2)
	if !slices.Equal(more, []string{"PAY000000000001", "PAY000000000003"}) {
		t.Fatalf("ledger after %v = %v; want the finished charge, then the new one", pos, more)
	}
	all, _ := ledgerUntil(t, s, gateway.LedgerPosition{}, 3)
	if !slices.Equal(all, []string{"PAY000000000002", "PAY000000000001", "PAY000000000003"}) {
		t.Errorf("the whole ledger = %v; want commit order", all)
	}
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.LedgerAfter(ctx, gateway.LedgerPosition{}, 1)
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Transaction.Result != gateway.ResultApproved || got[0].Transaction.ID != "PAY000000000002" {
			t.Errorf("LedgerAfter(limit 1) = %+v", got)
		}
		return nil
	})
}

// testLedgerRowCommittingLate holds one write transaction open while a
// later one commits: a reader following the ledger meanwhile must not move
// past the open one's row, and sees it once it commits.
func testLedgerRowCommittingLate(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	simplePayment(t, s, payment("PAY000000000001", acct1, gateway.Sandbox))
	before, pos := ledgerUntil(t, s, gateway.LedgerPosition{}, 1)
	if !slices.Equal(before, []string{"PAY000000000001"}) {
		t.Fatalf("the ledger before the test = %v", before)
	}

	inserted, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(context.Background(), func(tx gateway.Tx) error {
			p := payment("PAY000000000002", acct1, gateway.Sandbox)
			if err := tx.InsertPayment(context.Background(), p); err != nil {
				return err
			}
			if err := tx.InsertTransaction(context.Background(), transaction(p.ID, p, gateway.OpAuthorize, p.AuthorizedAmount, p.CreatedAt)); err != nil {
				return err
			}
			close(inserted)
			<-release // held open
			return nil
		})
	}()
	<-inserted
	// A later transaction commits (where the store allows two writers at
	// once; SQLite's single writer makes it wait for the first).
	second := make(chan error, 1)
	go func() {
		second <- s.Update(context.Background(), func(tx gateway.Tx) error {
			p := payment("PAY000000000003", acct1, gateway.Sandbox)
			if err := tx.InsertPayment(context.Background(), p); err != nil {
				return err
			}
			return tx.InsertTransaction(context.Background(), transaction(p.ID, p, gateway.OpAuthorize, p.AuthorizedAmount, p.CreatedAt))
		})
	}()
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("the later transaction: %v", err)
		}
	case <-time.After(500 * time.Millisecond): // waiting behind the first
	}
	seen, reached := ledgerIDs(t, s, pos)
	if len(seen) != 0 {
		t.Errorf("while an earlier transaction was open, the reader moved on to %v: it would skip that transaction's row", seen)
	}
	close(release)
	for _, c := range []chan error{first} {
		if err := <-c; err != nil {
			t.Fatalf("the held transaction: %v", err)
		}
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("the later transaction: %v", err)
		}
	default:
	}
	// Both rows, once each, whatever order the store committed them in.
	got, _ := ledgerUntil(t, s, reached, 2)
	slices.Sort(got)
	if !slices.Equal(got, []string{"PAY000000000002", "PAY000000000003"}) {
		t.Errorf("after both committed the reader saw %v; want each row once", got)
	}
}

func testIdempotencyRetention(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	p, pt := pendingPayment("PAY000000000001", at(time.Minute))
	p.Transactions = []gateway.Transaction{pt}
	insert(t, s, p)
	rec := func(key, txID string, created time.Duration) gateway.IdempotencyRecord {
		return gateway.IdempotencyRecord{AccountID: acct1, Environment: gateway.Sandbox, Key: key, RequestHash: []byte("h"),
			TransactionID: txID, CreatedAt: at(created)}
	}
	records := []gateway.IdempotencyRecord{
		rec("old-1", "TXN000000000001", 0), rec("old-2", "TXN000000000002", time.Second), rec("old-3", "TXN000000000003", 2*time.Second),
		rec("old-pending", pt.ID, 0), // its operation is still pending: kept
		rec("new", "TXN000000000004", time.Hour),
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, r := range records {
			if err := tx.SaveIdempotencyRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	deleteBefore := func(limit int) int {
		var n int
		mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
			var err error
			n, err = tx.DeleteIdempotencyRecords(ctx, at(time.Minute), limit)
			return err
		})
		return n
	}
	if n := deleteBefore(2); n != 2 {
		t.Errorf("DeleteIdempotencyRecords(limit 2) deleted %d", n)
	}
	if n := deleteBefore(10); n != 1 {
		t.Errorf("DeleteIdempotencyRecords(the rest) deleted %d; want 1", n)
	}
	for _, r := range records {
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			_, err := tx.IdempotencyRecord(ctx, acct1, gateway.Sandbox, r.Key)
			kept := r.Key == "new" || r.Key == "old-pending"
			if kept && err != nil || !kept && err == nil {
				t.Errorf("record %s: %v (kept: %v)", r.Key, err, kept)
			}
			return nil
		})
	}
}

func testPaymentListing(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	var all []gateway.Payment
	for i := range 12 {
		p := payment(fmt.Sprintf("PAY%012d", i), acct1, gateway.Sandbox)
		p.CreatedAt = at(time.Duration(i/2) * time.Second) // pairs share a time: the id breaks the tie
		p.UpdatedAt = p.CreatedAt
		p.AuthorizedAmount = int64(1000 + 100*i)
		p.Customer.Email = fmt.Sprintf("c%d@example.com", i%3)
		p.Card.Last4 = fmt.Sprintf("%04d", i%2)
		if i%4 == 0 {
			p.Status, p.CapturedAmount = gateway.StatusCaptured, p.AuthorizedAmount
		}
		all = append(all, simplePayment(t, s, p))
	}
	simplePayment(t, s, payment("PAYOTHERACCOUNT", acct2, gateway.Sandbox))
	simplePayment(t, s, payment("PAYOTHERENVIRON", acct1, gateway.Live))
	// A refund on one of them, for the operation filter.
	refunded := all[4]
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.InsertTransaction(ctx, transaction("TXNREFUND000001", refunded, gateway.OpRefund, 100, at(time.Hour)))
	})

	list := func(f gateway.PaymentFilter) []string {
		f.AccountID, f.Environment = acct1, gateway.Sandbox
		if f.Limit == 0 {
			f.Limit = gateway.MaxPaymentPage
		}
		var ids []string
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			got, err := tx.Payments(ctx, f)
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			return err
		})
		return ids
	}
	newestFirst := func(keep func(p gateway.Payment) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	everything := newestFirst(func(gateway.Payment) bool { return true })
	if got := list(gateway.PaymentFilter{}); !slices.Equal(got, everything) {
		t.Errorf("Payments() = %v; want %v", got, everything)
	}
	// Pages of 5 by keyset cursor add up to the whole list.
	var paged []string
	var cursor *gateway.PaymentCursor
	for range 10 {
		var page []gateway.Payment
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			var err error
			page, err = tx.Payments(ctx, gateway.PaymentFilter{AccountID: acct1, Environment: gateway.Sandbox, Before: cursor, Limit: 5})
			return err
		})
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			paged = append(paged, p.ID)
		}
		last := page[len(page)-1]
		cursor = &gateway.PaymentCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if !slices.Equal(paged, everything) {
		t.Errorf("pages = %v; want %v", paged, everything)
	}
	cases := []struct {
		name string
		f    gateway.PaymentFilter
		keep func(p gateway.Payment) bool
	}{
		{"status", gateway.PaymentFilter{Status: gateway.StatusCaptured}, func(p gateway.Payment) bool { return p.Status == gateway.StatusCaptured }},
		{"from", gateway.PaymentFilter{From: at(3 * time.Second)}, func(p gateway.Payment) bool { return !p.CreatedAt.Before(at(3 * time.Second)) }},
		{"to", gateway.PaymentFilter{To: at(3 * time.Second)}, func(p gateway.Payment) bool { return p.CreatedAt.Before(at(3 * time.Second)) }},
		{"amount range", gateway.PaymentFilter{MinAmount: 1300, MaxAmount: 1600}, func(p gateway.Payment) bool {
			return p.AuthorizedAmount >= 1300 && p.AuthorizedAmount <= 1600
		}},
		{"order id", gateway.PaymentFilter{OrderID: "order-PAY000000000007"}, func(p gateway.Payment) bool { return p.ID == "PAY000000000007" }},
		{"email", gateway.PaymentFilter{Email: "c1@example.com"}, func(p gateway.Payment) bool { return p.Customer.Email == "c1@example.com" }},
		{"last 4", gateway.PaymentFilter{Last4: "0001"}, func(p gateway.Payment) bool { return p.Card.Last4 == "0001" }},
		{"operation", gateway.PaymentFilter{Operation: gateway.OpRefund}, func(p gateway.Payment) bool { return p.ID == refunded.ID }},
	}
	for _, c := range cases {
		if got, want := list(c.f), newestFirst(c.keep); !slices.Equal(got, want) {
			t.Errorf("Payments(%s) = %v; want %v", c.name, got, want)
		}
	}
	if got := list(gateway.PaymentFilter{Limit: 3}); !slices.Equal(got, everything[:3]) {
		t.Errorf("Payments(limit 3) = %v", got)
	}
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		if _, err := tx.Payments(ctx, gateway.PaymentFilter{AccountID: acct1, Environment: gateway.Sandbox}); err == nil {
			t.Error("Payments without a limit was accepted")
		}
		return nil
	})
}
