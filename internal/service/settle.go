package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/money"
)

// settleChunk bounds the payments one settlement transaction moves: on
// SQLite's single writer a chunk of 500 takes a few milliseconds, so the
// payments waiting behind it wait that long, not for the whole batch.
const settleChunk = 500

// settleLease is how long a settlement run is its process's without a
// renewal; every chunk renews it. A process that dies leaves the run to
// another after this long.
const settleLease = time.Minute

// Settlement answers.
var (
	// ErrSettlementInProgress: another process is settling that cut-off.
	ErrSettlementInProgress = gateway.Errorf(gateway.KindConflict, "settlement-in-progress", "Another process is settling this cut-off.")
	// ErrAlreadySettled: that cut-off's run has finished.
	ErrAlreadySettled = gateway.Errorf(gateway.KindConflict, "already-settled", "This cut-off has been settled already.")
)

// Settlement is what a settlement run did.
type Settlement struct {
	Run     gateway.SettlementRun
	Batches []gateway.SettlementBatch
}

// Payments is the number of payments the run settled.
func (s Settlement) Payments() int64 {
	var n int64
	for _, b := range s.Batches {
		n += b.Count
	}
	return n
}

// Settle settles every captured payment that no operation holds and that
// last changed before the run started: one batch per account, environment
// and currency, in chunks of settleChunk payments, each its own short
// transaction that also writes each payment's settle transaction to the
// ledger (its payment.settled event). cutoff names the run: of several
// processes settling one cut-off, one does it (ErrSettlementInProgress for
// the others; ErrAlreadySettled once it is done). A run whose process died
// is taken over once its lease has ended. Totals are summed with overflow
// checks: a batch whose total would not fit fails loudly.
func (s *Service) Settle(ctx context.Context, cutoff string) (Settlement, error) {
	run, err := s.claimSettlement(ctx, cutoff)
	if err != nil {
		return Settlement{Run: run}, err
	}
	for {
		n, err := s.settleSome(ctx, &run)
		if err != nil {
			return Settlement{Run: run}, err
		}
		if n == 0 {
			break
		}
		if s.SettleYield > 0 {
			select {
			case <-ctx.Done():
				return Settlement{Run: run}, ctx.Err()
			case <-time.After(s.SettleYield):
			}
		}
	}
	var batches []gateway.SettlementBatch
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		was := run.LeaseUntil
		done := run
		done.DoneAt = s.now()
		if err := tx.UpdateSettlementRun(ctx, done, was); err != nil {
			return err
		}
		var err error
		if batches, err = tx.SettlementBatches(ctx, run.ID); err != nil {
			return err
		}
		for _, b := range batches {
			if err := s.audit(ctx, tx, "batch.closed", b.Group.AccountID, b.Group.Environment, b.ID,
				fmt.Sprintf("run=%s cutoff=%s payments=%d total=%d %s", run.ID, run.Cutoff, b.Count, b.Total, b.Group.Currency)); err != nil {
				return err
			}
		}
		run = done
		return nil
	})
	if errors.Is(err, gateway.ErrConflict) {
		err = ErrSettlementInProgress // another process took the run over
	}
	return Settlement{Run: run, Batches: batches}, err
}

// claimSettlement makes the run of cutoff this process's: a new one, or one
// whose process's lease has ended.
func (s *Service) claimSettlement(ctx context.Context, cutoff string) (gateway.SettlementRun, error) {
	now := s.now()
	run := gateway.SettlementRun{ID: gateway.NewID(), Cutoff: cutoff, Owner: s.Instance, StartedAt: now, LeaseUntil: now.Add(settleLease)}
	err := s.Store.Update(ctx, func(tx gateway.Tx) error { return tx.InsertSettlementRun(ctx, run) })
	if !errors.Is(err, gateway.ErrConflict) {
		return run, err
	}
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		existing, err := tx.SettlementRun(ctx, cutoff)
		if err != nil {
			return err
		}
		run = existing
		switch {
		case !existing.DoneAt.IsZero():
			return ErrAlreadySettled
		case existing.LeaseUntil.After(now):
			return ErrSettlementInProgress
		}
		run.Owner, run.LeaseUntil = s.Instance, now.Add(settleLease)
		return tx.UpdateSettlementRun(ctx, run, existing.LeaseUntil)
	})
	if errors.Is(err, gateway.ErrConflict) {
		err = ErrSettlementInProgress
	}
	return run, err
}

// settleSome settles one chunk and renews the run's lease, in one
// transaction, and says how many payments it settled (0: none are left).
func (s *Service) settleSome(ctx context.Context, run *gateway.SettlementRun) (int, error) {
	var settled int
	next := *run
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		settled = 0
		now := s.now()
		next.LeaseUntil = now.Add(settleLease)
		if err := tx.UpdateSettlementRun(ctx, next, run.LeaseUntil); err != nil {
			return err
		}
		g, err := tx.NextSettlementGroup(ctx, run.StartedAt)
		if errors.Is(err, gateway.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		b, err := tx.SettlementBatch(ctx, run.ID, g)
		if errors.Is(err, gateway.ErrNotFound) {
			b = gateway.SettlementBatch{ID: gateway.NewID(), RunID: run.ID, Group: g, ClosedAt: now}
		} else if err != nil {
			return err
		}
		paid, err := tx.SettlePayments(ctx, g, run.StartedAt, b.ID, now, settleChunk)
		if err != nil || len(paid) == 0 {
			return err
		}
		actor := actorOf(ctx)
		for _, p := range paid {
			var ok bool
			if b.Total, ok = money.Add(b.Total, p.Net); !ok {
				return gateway.Internal(fmt.Errorf("the total of batch %s (%s %s %s) would overflow int64: settlement stopped, nothing of this chunk settled",
					b.ID, g.AccountID, g.Environment, g.Currency))
			}
			b.Count++
			err := tx.InsertTransaction(ctx, gateway.Transaction{ID: gateway.NewID(), PaymentID: p.ID, AccountID: p.AccountID,
				Environment: p.Environment, Operation: gateway.OpSettle, Result: gateway.ResultApproved, Amount: p.Net,
				Actor: actor, CreatedAt: now})
			if err != nil {
				return err
			}
		}
		settled = len(paid)
		return tx.PutSettlementBatch(ctx, b)
	})
	if errors.Is(err, gateway.ErrConflict) {
		return 0, ErrSettlementInProgress // another process took the run over
	}
	if err == nil {
		*run = next
	}
	return settled, err
}
