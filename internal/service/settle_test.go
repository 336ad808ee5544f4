package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
)

// TestSettlementPerGroupInChunks: a run settles every captured payment
// changed before it started, in one batch per account, environment and
// currency, however many chunks that takes, with a settle transaction per
// payment in the ledger; a payment changed after the start waits.
func TestSettlementPerGroupInChunks(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := newHarness(t, open(t), sandbox.Processor{})
		ctx := context.Background()
		eur, _, err := h.svc.CreateAccount(ctx, service.NewAccount{Name: "EU shop", Currency: "EUR", Environment: gateway.Sandbox})
		if err != nil {
			t.Fatal(err)
		}
		eurCaller := service.Caller{Account: eur, Environment: gateway.Sandbox, RequestID: "req_eu", Actor: "key:E"}
		var want int64
		for i := range 1200 { // more than two chunks of 500
			out, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 100+int64(i)), nil)
			if err != nil {
				t.Fatal(err)
			}
			want += out.Payment.CapturedAmount
		}
		refunded, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 5000), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Refund(ctx, h.caller, refunded.Payment.ID, 1500, nil); err != nil {
			t.Fatal(err)
		}
		want += 3500
		if _, err := h.svc.Charge(ctx, eurCaller, input("4242424242424242", 700), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Authorize(ctx, h.caller, input("4242424242424242", 900), nil); err != nil {
			t.Fatal(err)
		}
		h.clock.advance(time.Second)

		res, err := h.svc.Settle(ctx, "daily:test")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) != 2 || res.Payments() != 1202 || res.Run.DoneAt.IsZero() {
			t.Fatalf("run: %d batches, %d payments, done %v", len(res.Batches), res.Payments(), res.Run.DoneAt)
		}
		for _, b := range res.Batches {
			switch b.Group.AccountID {
			case h.caller.Account.ID:
				if b.Count != 1201 || b.Total != want || b.Group.Currency != "USD" {
					t.Errorf("USD batch: %d payments, %d; want 1201, %d", b.Count, b.Total, want)
				}
			case eur.ID:
				if b.Count != 1 || b.Total != 700 || b.Group.Currency != "EUR" {
					t.Errorf("EUR batch: %+v", b)
				}
			}
		}
		p := h.lookup(t, refunded.Payment.ID)
		last := p.Transactions[len(p.Transactions)-1]
		if p.Status != gateway.StatusSettled || last.Operation != gateway.OpSettle || last.Amount != 3500 {
			t.Errorf("the refunded payment after settlement: %s, last transaction %+v", p.Status, last)
		}
		// A cut-off is settled once.
		if _, err := h.svc.Settle(ctx, "daily:test"); !errors.Is(err, service.ErrAlreadySettled) {
			t.Errorf("settling the cut-off again: %v", err)
		}
		// A payment captured meanwhile goes into the next run.
		if _, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 800), nil); err != nil {
			t.Fatal(err)
		}
		next, err := h.svc.Settle(ctx, "daily:next")
		if err != nil || next.Payments() != 1 {
			t.Fatalf("next run: %d payments, %v", next.Payments(), err)
		}
	})
}

// TestSettlementOneRunPerCutoff: processes settling one cut-off at once
// make one run; a run whose process died is taken over once its lease has
// ended.
func TestSettlementOneRunPerCutoff(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		store := open(t)
		h := newHarness(t, store, sandbox.Processor{})
		ctx := context.Background()
		for i := range 30 {
			if _, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 100+int64(i)), nil); err != nil {
				t.Fatal(err)
			}
		}
		h.clock.advance(time.Second)
		// Four "processes" on one database.
		var wg sync.WaitGroup
		results := make(chan error, 4)
		settled := make(chan int64, 4)
		for i := range 4 {
			other := &service.Service{Store: h.svc.Store, Processors: h.svc.Processors, FingerprintKey: h.svc.FingerprintKey,
				Now: h.svc.Now, Instance: "process-" + string(rune('a'+i))}
			wg.Go(func() {
				res, err := other.Settle(ctx, "daily:together")
				results <- err
				settled <- res.Payments()
			})
		}
		wg.Wait()
		close(results)
		close(settled)
		ok, taken := 0, 0
		for err := range results {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, service.ErrSettlementInProgress), errors.Is(err, service.ErrAlreadySettled):
				taken++
			default:
				t.Errorf("settle: %v", err)
			}
		}
		var total int64
		for n := range settled {
			total += n
		}
		if ok != 1 || taken != 3 || total != 30 {
			t.Fatalf("%d runs settled %d payments, %d were told the cut-off is taken; want 1 run of 30", ok, total, taken)
		}

		// A run left behind by a dead process: its lease ends, another takes it.
		if _, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 999), nil); err != nil {
			t.Fatal(err)
		}
		h.clock.advance(time.Second)
		dead := gateway.SettlementRun{ID: gateway.NewID(), Cutoff: "daily:orphan", Owner: "dead", StartedAt: h.clock.now().UTC(),
			LeaseUntil: h.clock.now().UTC().Add(time.Minute)}
		if err := store.Update(ctx, func(tx gateway.Tx) error { return tx.InsertSettlementRun(ctx, dead) }); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Settle(ctx, "daily:orphan"); !errors.Is(err, service.ErrSettlementInProgress) {
			t.Fatalf("settling a cut-off whose run is leased: %v", err)
		}
		h.clock.advance(2 * time.Minute)
		res, err := h.svc.Settle(ctx, "daily:orphan")
		if err != nil || res.Run.ID != dead.ID || res.Run.Owner != h.svc.Instance {
			t.Fatalf("taking over an ended lease: run %+v, %v", res.Run, err)
		}
	})
}

// TestSettlementTotalsNeverWrap: a batch whose total would overflow int64
// stops with an error and settles nothing of that chunk, instead of
// printing a negative total.
func TestSettlementTotalsNeverWrap(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		store := open(t)
		h := newHarness(t, store, sandbox.Processor{})
		ctx := context.Background()
		now := h.clock.now().UTC()
		// Rows no request could make (amounts are bounded far below), put
		// in the store directly: the sum is what must not wrap.
		for i, id := range []string{"HUGE00000000001", "HUGE00000000002", "HUGE00000000003"} {
			p := gateway.Payment{ID: id, AccountID: h.caller.Account.ID, Environment: gateway.Sandbox, Status: gateway.StatusCaptured,
				Currency: "USD", AuthorizedAmount: 4e18, CapturedAmount: 4e18, OrderID: id, CreatedAt: now, UpdatedAt: now, Version: 1}
			err := store.Update(ctx, func(tx gateway.Tx) error {
				if err := tx.InsertPayment(ctx, p); err != nil {
					return err
				}
				return tx.InsertTransaction(ctx, gateway.Transaction{ID: id, PaymentID: id, AccountID: p.AccountID, Environment: p.Environment,
					Operation: gateway.OpCharge, Result: gateway.ResultApproved, Amount: 4e18, CreatedAt: now.Add(time.Duration(i))})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		h.clock.advance(time.Second)
		_, err := h.svc.Settle(ctx, "daily:huge")
		if gateway.ErrorKind(err) != gateway.KindInternal {
			t.Fatalf("settling 1.2e19: %v; want an internal error", err)
		}
		for _, id := range []string{"HUGE00000000001", "HUGE00000000002", "HUGE00000000003"} {
			if p := h.lookup(t, id); p.Status != gateway.StatusCaptured {
				t.Errorf("%s is %s after the failed chunk; want captured", id, p.Status)
			}
		}
	})
}
