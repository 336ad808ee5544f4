package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Webhooks (issue 17): endpoints, the fan-out cursor, deliveries.

func endpoint(id, accountID string) gateway.WebhookEndpoint {
	return gateway.WebhookEndpoint{ID: id, AccountID: accountID, Environment: gateway.Sandbox, URL: "https://shop.example/hooks/" + id,
		Events: []string{gateway.EventPaymentCaptured, gateway.EventPaymentRefunded}, Enabled: true,
		SealedSecret: []byte{1, 2, 3, 0, 255}, CreatedAt: at(0), UpdatedAt: at(0)}
}

func testWebhookEndpoints(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	e1, e2, e3 := endpoint("we_1", acct1), endpoint("we_2", acct1), endpoint("we_3", acct2)
	e2.CreatedAt, e2.Events, e2.Enabled = at(time.Second), nil, false
	e3.CreatedAt = at(2 * time.Second)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, e := range []gateway.WebhookEndpoint{e1, e2, e3} {
			if err := tx.InsertWebhookEndpoint(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	list := func(account string) []gateway.WebhookEndpoint {
		var out []gateway.WebhookEndpoint
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			var err error
			out, err = tx.WebhookEndpoints(ctx, account)
			return err
		})
		return out
	}
	checkEqual(t, "WebhookEndpoints(acct1)", list(acct1), []gateway.WebhookEndpoint{e1, e2})
	checkEqual(t, "WebhookEndpoints(all)", list(""), []gateway.WebhookEndpoint{e1, e2, e3})

	// A rotation: the previous secret and its end are kept.
	e1.SealedPrevious, e1.PreviousUntil = e1.SealedSecret, at(24*time.Hour)
	e1.SealedSecret, e1.Enabled, e1.URL, e1.UpdatedAt = []byte("new"), false, "https://shop.example/v2", at(time.Hour)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.UpdateWebhookEndpoint(ctx, e1) })
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.WebhookEndpoint(ctx, e1.ID)
		checkEqual(t, "WebhookEndpoint after an update", got, e1)
		_, missing := tx.WebhookEndpoint(ctx, "we_none")
		expectErr(t, "WebhookEndpoint(unknown)", missing, gateway.ErrNotFound)
		return err
	})
	err := update(t, s, func(tx gateway.Tx) error {
		return tx.UpdateWebhookEndpoint(context.Background(), endpoint("we_none", acct1))
	})
	expectErr(t, "UpdateWebhookEndpoint(unknown)", err, gateway.ErrNotFound)

	// Removing an endpoint removes its deliveries.
	gone := delivery("evt_A", e3.ID, "PAY1", 0)
	gone.AccountID = acct2
	createDeliveries(t, s, gone)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.DeleteWebhookEndpoint(ctx, e3.ID) })
	err = update(t, s, func(tx gateway.Tx) error { return tx.DeleteWebhookEndpoint(context.Background(), e3.ID) })
	expectErr(t, "DeleteWebhookEndpoint(twice)", err, gateway.ErrNotFound)
	checkEqual(t, "WebhookEndpoints(acct2) after the removal", list(acct2), []gateway.WebhookEndpoint(nil))
	if got := deliveries(t, s, gateway.WebhookDeliveryFilter{AccountID: acct2, Limit: 10}); len(got) != 0 {
		t.Errorf("deliveries of a removed endpoint: %+v", got)
	}
}

func delivery(eventID, endpointID, paymentID string, due time.Duration) gateway.WebhookDelivery {
	return gateway.WebhookDelivery{EventID: eventID, EndpointID: endpointID, AccountID: acct1, Environment: gateway.Sandbox,
		EventType: gateway.EventPaymentCaptured, PaymentID: paymentID, Transaction: []byte(`{"id":"` + eventID + `"}`),
		EventAt: at(0), Status: gateway.DeliveryPending, NextAttemptAt: at(due), GiveUpAt: at(72 * time.Hour)}
}

func createDeliveries(t *testing.T, s gateway.Store, ds ...gateway.WebhookDelivery) {
	t.Helper()
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, d := range ds {
			added, err := tx.InsertWebhookDelivery(ctx, d)
			if err != nil {
				return err
			}
			if !added {
				t.Errorf("InsertWebhookDelivery(%s, %s) added nothing", d.EventID, d.EndpointID)
			}
		}
		return nil
	})
}

func deliveries(t *testing.T, s gateway.Store, f gateway.WebhookDeliveryFilter) []gateway.WebhookDelivery {
	t.Helper()
	var out []gateway.WebhookDelivery
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		var err error
		out, err = tx.WebhookDeliveries(ctx, f)
		return err
	})
	return out
}

func claim(t *testing.T, s gateway.Store, endpointID string, now, lease time.Time, limit int) []string {
	t.Helper()
	var ids []string
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		ids = nil
		got, err := tx.ClaimWebhookDeliveries(ctx, endpointID, now, lease, limit)
		for _, d := range got {
			if !d.NextAttemptAt.Equal(lease) {
				t.Errorf("claimed %s with next attempt %v; want the lease %v", d.EventID, d.NextAttemptAt, lease)
			}
			ids = append(ids, d.EventID)
		}
		return err
	})
	return ids
}

func testWebhookDeliveries(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	e := endpoint("we_1", acct1)
	other := endpoint("we_2", acct1)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if err := tx.InsertWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		return tx.InsertWebhookEndpoint(ctx, other)
	})
	// Two events of payment P1, one of P2, one due later, one for the
	// other endpoint.
	createDeliveries(t, s,
		delivery("evt_1", e.ID, "P1", 0), delivery("evt_2", e.ID, "P1", 0), delivery("evt_3", e.ID, "P2", 0),
		delivery("evt_4", e.ID, "P3", time.Hour), delivery("evt_1", other.ID, "P1", 0))
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		added, err := tx.InsertWebhookDelivery(ctx, delivery("evt_1", e.ID, "P1", 0))
		if added {
			t.Error("InsertWebhookDelivery added an event twice for one endpoint")
		}
		return err
	})
	oldest, pending := backlog(t, s)
	if pending != 5 || !oldest.Equal(at(0)) {
		t.Errorf("WebhookBacklog = %v, %d; want %v, 5", oldest, pending, at(0))
	}

	// In order per payment: evt_2 waits for evt_1; evt_4 is not due.
	lease := at(time.Minute)
	if got := claim(t, s, e.ID, at(time.Second), lease, 10); !slices.Equal(got, []string{"evt_1", "evt_3"}) {
		t.Fatalf("first claim = %v; want evt_1 and evt_3", got)
	}
	// Leased: nothing more is due, and evt_2 still waits for evt_1.
	if got := claim(t, s, e.ID, at(2*time.Second), at(2*time.Minute), 10); len(got) != 0 {
		t.Fatalf("claim during the leases = %v; want none", got)
	}
	// evt_1 delivered: evt_2 follows.
	d1 := deliveries(t, s, gateway.WebhookDeliveryFilter{EventID: "evt_1", AccountID: acct1, Limit: 10})
	if len(d1) != 2 {
		t.Fatalf("deliveries of evt_1 = %+v; want one per endpoint", d1)
	}
	mine := d1[1]
	if mine.EndpointID != e.ID {
		mine = d1[0]
	}
	done := mine
	done.Status, done.DeliveredAt, done.NextAttemptAt = gateway.DeliveryDelivered, at(3*time.Second), at(3*time.Second)
	done.Attempts = []gateway.WebhookAttempt{{At: at(2 * time.Second), Status: 200, Latency: 12, Snippet: "ok"}}
	err := update(t, s, func(tx gateway.Tx) error { return tx.RecordWebhookAttempt(context.Background(), done, at(time.Hour)) })
	expectErr(t, "RecordWebhookAttempt(with a lease not held)", err, gateway.ErrConflict)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.RecordWebhookAttempt(ctx, done, lease) })
	err = update(t, s, func(tx gateway.Tx) error { return tx.RecordWebhookAttempt(context.Background(), done, lease) })
	expectErr(t, "RecordWebhookAttempt(twice)", err, gateway.ErrConflict)
	if got := claim(t, s, e.ID, at(4*time.Second), at(3*time.Minute), 10); !slices.Equal(got, []string{"evt_2"}) {
		t.Fatalf("claim after evt_1 was delivered = %v; want evt_2", got)
	}
	got := deliveries(t, s, gateway.WebhookDeliveryFilter{EventID: "evt_1", AccountID: acct1, Limit: 10})
	for _, d := range got {
		if d.EndpointID == e.ID {
			done.Seq = d.Seq
			checkEqual(t, "the delivered delivery", d, done)
		}
	}
	// A lease that ended without an attempt: the delivery is due again.
	if got := claim(t, s, e.ID, at(2*time.Minute), at(5*time.Minute), 10); !slices.Equal(got, []string{"evt_3"}) {
		t.Fatalf("claim after evt_3's lease ended = %v; want evt_3", got)
	}
	// Limits.
	if got := claim(t, s, other.ID, at(time.Second), lease, 1); !slices.Equal(got, []string{"evt_1"}) {
		t.Fatalf("claim of the other endpoint = %v", got)
	}

	// Resend: a delivered event is pending again and due now; one being
	// sent (leased) is left alone.
	n := 0
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		var err error
		n, err = tx.ResendWebhookEvent(ctx, acct1, "evt_1", e.ID, at(4*time.Second), at(100*time.Hour))
		return err
	})
	if n != 1 {
		t.Errorf("ResendWebhookEvent(delivered) = %d; want 1", n)
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		var err error
		n, err = tx.ResendWebhookEvent(ctx, acct1, "evt_2", "", at(4*time.Second), at(100*time.Hour))
		return err
	})
	if n != 0 {
		t.Errorf("ResendWebhookEvent(being sent) = %d; want 0", n)
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		var err error
		n, err = tx.ResendWebhookEvent(ctx, acct2, "evt_1", "", at(4*time.Second), at(100*time.Hour))
		return err
	})
	if n != 0 {
		t.Errorf("ResendWebhookEvent(another account's event) = %d; want 0", n)
	}
	resent := deliveries(t, s, gateway.WebhookDeliveryFilter{EventID: "evt_1", Status: gateway.DeliveryPending, AccountID: acct1, Limit: 10})
	if len(resent) != 2 {
		t.Errorf("pending deliveries of evt_1 after the resend = %d; want 2", len(resent))
	}
	for _, d := range resent {
		if d.EndpointID == e.ID && (!d.NextAttemptAt.Equal(at(4*time.Second)) || !d.GiveUpAt.Equal(at(100*time.Hour)) || len(d.Attempts) != 1) {
			t.Errorf("resent delivery = %+v", d)
		}
	}
	// Listing by account, newest first, bounded.
	all := deliveries(t, s, gateway.WebhookDeliveryFilter{AccountID: acct1, Limit: 3})
	if len(all) != 3 || all[0].Seq < all[1].Seq || all[1].Seq < all[2].Seq {
		t.Errorf("WebhookDeliveries(account, limit 3) = %+v; want the 3 latest, newest first", all)
	}
	// By environment: every delivery above is of the sandbox.
	if sandbox := deliveries(t, s, gateway.WebhookDeliveryFilter{AccountID: acct1, Environment: gateway.Sandbox, Limit: 3}); len(sandbox) != 3 {
		t.Errorf("WebhookDeliveries(account, sandbox) = %d deliveries; want 3", len(sandbox))
	}
	if live := deliveries(t, s, gateway.WebhookDeliveryFilter{AccountID: acct1, Environment: gateway.Live, Limit: 3}); len(live) != 0 {
		t.Errorf("WebhookDeliveries(account, live) = %+v; want none", live)
	}
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		if _, err := tx.WebhookDeliveries(ctx, gateway.WebhookDeliveryFilter{Limit: 10}); err == nil {
			t.Error("WebhookDeliveries without an event or an account was accepted")
		}
		return nil
	})
}

func backlog(t *testing.T, s gateway.Store) (time.Time, int) {
	t.Helper()
	var oldest time.Time
	var n int
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		var err error
		oldest, n, err = tx.WebhookBacklog(ctx)
		return err
	})
	return oldest, n
}

func testWebhookCursor(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	var start gateway.LedgerPosition
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		var err error
		start, err = tx.WebhookCursor(ctx)
		return err
	})
	// A fresh store's cursor is at its (empty) ledger's end: the first
	// payment is after it.
	p := simplePayment(t, s, payment("PAY000000000001", acct1, gateway.Sandbox))
	ids, pos := ledgerUntil(t, s, start, 1)
	if !slices.Equal(ids, []string{p.ID}) {
		t.Fatalf("the ledger after a fresh cursor = %v", ids)
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if _, err := tx.WebhookCursor(ctx); err != nil {
			return err
		}
		return tx.SetWebhookCursor(ctx, pos)
	})
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.WebhookCursor(ctx)
		checkEqual(t, "WebhookCursor", got, pos)
		return err
	})
}

func testEventPayments(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	var ids []string
	for i := range 70 { // more than one statement's chunk
		p := simplePayment(t, s, payment(fmt.Sprintf("PAY%012d", i), []string{acct1, acct2}[i%2], gateway.Sandbox))
		ids = append(ids, p.ID)
	}
	// One payment with more transactions than a lookup lists.
	many := lookup(t, s, acct2, gateway.Sandbox, ids[3])
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for i := range gateway.MaxLookupTransactions + 5 {
			tr := transaction(fmt.Sprintf("TXN%012d", i), many, gateway.OpRefund, 1, at(time.Duration(i+2)*time.Second))
			if err := tx.InsertTransaction(ctx, tr); err != nil {
				return err
			}
		}
		return nil
	})
	var got map[string]gateway.Payment
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		var err error
		got, err = tx.EventPayments(ctx, append(ids, "PAYNOTTHERE0000"))
		return err
	})
	if len(got) != len(ids) {
		t.Errorf("EventPayments found %d payments; want %d", len(got), len(ids))
	}
	// Each as a lookup shows it.
	for i, id := range ids {
		want := lookup(t, s, []string{acct1, acct2}[i%2], gateway.Sandbox, id)
		checkEqual(t, "EventPayments["+id+"]", got[id], want)
	}
	if p := got[many.ID]; p.TransactionCount != gateway.MaxLookupTransactions+6 || len(p.Transactions) != gateway.MaxLookupTransactions {
		t.Errorf("EventPayments of a payment with %d transactions: %d listed, count %d", gateway.MaxLookupTransactions+6, len(p.Transactions), p.TransactionCount)
	}
}

// testWebhookPurge: a purge looks at a window of the oldest deliveries,
// stops at the first young one, deletes the old ones that are no longer
// pending and keeps pending ones however old.
func testWebhookPurge(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	e := endpoint("we_p", acct1)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.InsertWebhookEndpoint(ctx, e) })
	var ds []gateway.WebhookDelivery
	for i, age := range []time.Duration{0, time.Hour, 2 * time.Hour, 3 * time.Hour, 10 * time.Hour} {
		d := delivery(fmt.Sprintf("evt_%d", i), e.ID, fmt.Sprintf("PAY%d", i), 0)
		d.EventAt = at(age)
		ds = append(ds, d)
	}
	createDeliveries(t, s, ds...)
	lease := at(200 * time.Hour)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		claimed, err := tx.ClaimWebhookDeliveries(ctx, e.ID, at(100*time.Hour), lease, 10)
		if err != nil || len(claimed) != 5 {
			return fmt.Errorf("claimed %d: %v", len(claimed), err)
		}
		for _, d := range claimed {
			if d.EventID == "evt_2" {
				continue // still being sent: pending
			}
			d.Status, d.DeliveredAt = gateway.DeliveryDelivered, at(100*time.Hour)
			if err := tx.RecordWebhookAttempt(ctx, d, lease); err != nil {
				return err
			}
		}
		return nil
	})
	purge := func(after int64) (int, int64, bool) {
		t.Helper()
		var n int
		var next int64
		var more bool
		mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
			var err error
			n, next, more, err = tx.PurgeWebhookDeliveries(ctx, after, at(5*time.Hour), 2)
			return err
		})
		return n, next, more
	}
	n, next, more := purge(0)
	if n != 2 || !more {
		t.Errorf("first window: deleted %d, more %v; want 2, true", n, more)
	}
	if n, next, more = purge(next); n != 1 || !more {
		t.Errorf("second window (one pending): deleted %d, more %v; want 1, true", n, more)
	}
	if n, _, more = purge(next); n != 0 || more {
		t.Errorf("third window (young): deleted %d, more %v; want 0, false", n, more)
	}
	var left []string
	for _, d := range deliveries(t, s, gateway.WebhookDeliveryFilter{AccountID: acct1, Limit: 10}) {
		left = append(left, d.EventID)
	}
	if fmt.Sprint(left) != "[evt_4 evt_2]" {
		t.Errorf("left after the purge: %v; want the young one and the pending one", left)
	}
}
