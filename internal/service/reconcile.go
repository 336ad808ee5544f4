package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// reconcileBatch bounds the pending operations one Reconcile looks at.
const reconcileBatch = 100

// Reconcile finishes the operations whose processor answer was never
// recorded: pending transactions whose lease has ended, because the request
// that claimed them crashed, or its processor call timed out. For each, it
// takes the lease over (so that no other gateway process asks at once),
// asks the processor what became of it (Resolve), or, if the processor
// cannot tell, has it reversed (Reverse) and records it as not done. It
// returns how many it finished; one that fails stays pending for the next
// run.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	ctx = WithActor(ctx, "system")
	var due []gateway.Transaction
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		due, err = tx.PendingTransactions(ctx, s.now(), reconcileBatch)
		return err
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	done := 0
	for _, t := range due {
		ok, err := s.reconcileOne(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("transaction %s: %w", t.ID, err))
		}
		if ok {
			done++
		}
	}
	return done, errors.Join(errs...)
}

func (s *Service) reconcileOne(ctx context.Context, t gateway.Transaction) (bool, error) {
	proc, err := s.processor(ctx, t.AccountID, t.Environment)
	if err != nil {
		return false, err
	}
	if proc == nil {
		return false, fmt.Errorf("no processor for account %s's %s environment", t.AccountID, t.Environment)
	}
	lease := s.now().Add(s.processorTimeout() + leaseMargin)
	var p gateway.Payment
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		if err := tx.ExtendLease(ctx, t.ID, t.LeaseUntil, lease); err != nil {
			return err
		}
		var err error
		p, err = tx.PaymentForUpdate(ctx, t.AccountID, t.Environment, t.ID)
		return err
	})
	if errors.Is(err, gateway.ErrConflict) {
		return false, nil // finished meanwhile, or another process took it
	}
	if err != nil {
		return false, err
	}
	req := gateway.ResolveRequest{Payment: p, Transaction: t}
	callCtx, cancel := context.WithTimeout(ctx, s.processorTimeout())
	defer cancel()
	res, err := proc.Resolve(callCtx, req)
	how := "resolved by the processor"
	if errors.Is(err, gateway.ErrUnresolvable) {
		if err := proc.Reverse(callCtx, req); err != nil {
			return false, fmt.Errorf("reverse: %w", err)
		}
		res, err, how = gateway.Resolution{Received: false}, nil, "reversed: the processor could not tell"
	}
	if err != nil {
		return false, fmt.Errorf("resolve: %w", err)
	}
	var perr error
	if !res.Received {
		perr = gateway.ErrProcessor
	}
	apply := changeFinish(t.Operation, t.Amount, perr)
	if t.Operation == gateway.OpAuthorize || t.Operation == gateway.OpCharge {
		apply = func(p gateway.Payment) (gateway.Payment, gateway.Result, string) {
			result, code := authorizationResult(res.Authorization, perr)
			return p.Answered(t.Operation, res.Authorization, perr), result, code
		}
	}
	out, err := s.finish(ctx, t, apply, "("+how+")")
	if err != nil && gateway.ErrorKind(err) == gateway.KindInternal {
		return false, err
	}
	s.log().Info("reconciled a pending operation", "transaction_id", t.ID, "payment_id", t.PaymentID,
		"operation", t.Operation, "result", out.Transaction.Result, "how", how)
	return true, nil
}

// RunReconciler reconciles at once, then every interval, until ctx ends.
func (s *Service) RunReconciler(ctx context.Context, interval time.Duration) {
	s.every(ctx, interval, "reconcile pending operations", func(ctx context.Context) error {
		_, err := s.Reconcile(ctx)
		return err
	})
}

// RunIdempotencyPurge purges expired Idempotency-Keys at once, then every
// interval, until ctx ends.
func (s *Service) RunIdempotencyPurge(ctx context.Context, interval time.Duration) {
	s.purgeEvery(ctx, interval, "expired idempotency keys", s.PurgeIdempotencyRecords)
}

// purgeEvery runs purge at once, then every interval, until ctx ends, and
// logs how many rows of what each run deleted.
func (s *Service) purgeEvery(ctx context.Context, interval time.Duration, what string, purge func(context.Context) (int, error)) {
	s.every(ctx, interval, "purge "+what, func(ctx context.Context) error {
		n, err := purge(ctx)
		if n > 0 {
			s.log().Info("purged "+what, "count", n)
		}
		return err
	})
}

func (s *Service) every(ctx context.Context, interval time.Duration, what string, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil {
			s.log().Error(what+" failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
