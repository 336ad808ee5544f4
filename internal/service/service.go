// Package service runs CartGateway's operations, one exported method each,
// and owns every rule and decision about them: request validation, the
// money rules, idempotency, duplicate detection and the write path to the
// processor (ADR 11). Surfaces (the JSON API, the hosted page, the portal,
// the CLI) only translate to and from it.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/credentials"
	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Service is the payment service. Fields are set once at start.
type Service struct {
	Store gateway.Store
	// Processors by environment; an environment without one refuses payments.
	Processors map[gateway.Environment]gateway.Processor
	// Connectors build the live processor an account is configured with
	// (SetProcessor), by name; that account's live operations use it
	// instead of Processors[Live]. Credentials opens the configurations'
	// sealed secrets (processors.go).
	Connectors  map[string]gateway.Connector
	Credentials *credentials.Box
	// FingerprintKey keys card fingerprints (HMAC), so that the stored
	// fingerprint cannot be brute-forced back to a number from BIN and last 4.
	FingerprintKey []byte
	// DuplicateWindow refuses a charge or authorization that repeats the same
	// order id, amount and card within it, when no Idempotency-Key is given.
	// Zero disables the check.
	DuplicateWindow time.Duration
	// Now is the clock, read once per operation.
	Now func() time.Time
	// AuthCacheTTL keeps a successful authentication for this long (zero:
	// never cached). A revoked key keeps working at most this long.
	AuthCacheTTL time.Duration
	// ProcessorTimeout bounds one processor call (DefaultProcessorTimeout
	// if zero). An operation whose call has not answered by then stays
	// pending until the reconciler learns its outcome.
	ProcessorTimeout time.Duration
	// IdempotencyRetention is how long an Idempotency-Key is kept
	// (DefaultIdempotencyRetention if zero); PurgeIdempotencyRecords
	// deletes older ones.
	IdempotencyRetention time.Duration
	// MaxRefundsPerPayment bounds the refunds of one payment
	// (gateway.DefaultMaxRefunds if zero).
	MaxRefundsPerPayment int
	// Instance names this process in settlement runs (hostname:pid).
	Instance string
	// CheckoutExpiry is how long a hosted checkout session can be paid
	// (DefaultCheckoutExpiry if zero).
	CheckoutExpiry time.Duration
	// SettleYield pauses a settlement run between chunks. SQLite has one
	// write lock for the whole file, and a process that takes it again at
	// once after each commit starves the other processes waiting for it
	// (their busy handlers poll with growing sleeps): the settle command,
	// run beside a serving gateway, sets it. Zero inside serve, whose
	// chunks queue with the payments in the group commit.
	SettleYield time.Duration
	// Log receives what the background jobs do (slog.Default if nil).
	Log *slog.Logger
	// PortalIdleTimeout ends a portal session unused for this long, and
	// PortalSessionLife any portal session this long after sign-in
	// (DefaultPortalIdleTimeout, DefaultPortalSessionLife if zero).
	PortalIdleTimeout, PortalSessionLife time.Duration
	// SignInLimits throttle failed portal sign-ins (the defaults if zero).
	SignInLimits SignInLimits
	// Webhooks tunes event delivery (RunWebhooks).
	Webhooks WebhookConfig
	// PaymentJSON renders a payment as the API's lookup shows it, for
	// webhook events (the API surface's encoding: one shape everywhere).
	PaymentJSON func(gateway.Payment) []byte

	auth   authCache
	live   liveCache
	signIn signInThrottle
	keyUse keyUse
}

// Defaults of the service's tunables.
const (
	DefaultAuthCacheTTL         = 2 * time.Second
	DefaultProcessorTimeout     = 30 * time.Second
	DefaultIdempotencyRetention = 24 * time.Hour
)

// leaseMargin is how long after the processor call's deadline a pending
// operation is left to the request that claimed it, before the reconciler
// may take it over: time to record the answer.
const leaseMargin = 5 * time.Second

func (s *Service) processorTimeout() time.Duration {
	if s.ProcessorTimeout > 0 {
		return s.ProcessorTimeout
	}
	return DefaultProcessorTimeout
}

func (s *Service) maxRefunds() int {
	if s.MaxRefundsPerPayment > 0 {
		return s.MaxRefundsPerPayment
	}
	return gateway.DefaultMaxRefunds
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Caller is the authenticated account and environment of a request.
type Caller struct {
	Account     gateway.Account
	Environment gateway.Environment
	RequestID   string
	// Actor names who acts, for the audit log: "key:<key id>", or
	// "user:<user id>" in the portal.
	Actor string
	// ClientIP is the portal user's address: set, each payment operation
	// is also recorded in the audit log with it.
	ClientIP string
}

// Outcome is a payment after an operation and the transaction it created
// (Payment.Transactions holds only that one: a lookup lists them all).
type Outcome struct {
	Payment     gateway.Payment
	Transaction gateway.Transaction
	// Replayed is set when the outcome is that of an earlier request with
	// the same Idempotency-Key: nothing was done again. Its Transaction
	// carries the first request's RequestID.
	Replayed bool
}

// maxAttempts bounds retries of a transaction that lost a compare-and-set.
const maxAttempts = 5

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Authorize holds the amount on the card.
func (s *Service) Authorize(ctx context.Context, c Caller, in PaymentInput, idem *Idempotency) (Outcome, error) {
	return s.pay(ctx, c, gateway.OpAuthorize, in, idem)
}

// Charge authorizes and captures at once.
func (s *Service) Charge(ctx context.Context, c Caller, in PaymentInput, idem *Idempotency) (Outcome, error) {
	return s.pay(ctx, c, gateway.OpCharge, in, idem)
}

// The write path (ADR 11). An operation that talks to a processor first
// commits its claim: the Idempotency-Key, a pending transaction, and the
// payment holding what the operation takes (a new pending payment for a
// charge or authorization). It then calls the processor outside any
// transaction, with the transaction id as the reference, and finishes
// the claim with the same compare-and-set rules; retries of a lost
// compare-and-set never call the processor again. A processor whose answer
// is a pure function of the request (gateway.InstantProcessor: the
// sandbox) is asked inside the claim's transaction instead, which then
// records the final rows at once: the same rows, answers and events in one
// transaction instead of two.

func (s *Service) pay(ctx context.Context, c Caller, op gateway.Operation, in PaymentInput, idem *Idempotency) (Outcome, error) {
	proc, err := s.processor(ctx, c.Account.ID, c.Environment)
	if err != nil {
		return Outcome{}, err
	}
	if proc == nil {
		return Outcome{}, errLiveNotConfigured
	}
	now := s.now()
	req, err := ValidatePayment(in, now)
	if err != nil {
		return Outcome{}, err
	}
	if max := c.Account.MaxPaymentAmount(); req.Amount > max {
		e := gateway.Errorf(gateway.KindInvalid, "amount-too-large", "amount must be at most %d minor units for this account.", max)
		e.Field = "amount"
		return Outcome{}, e
	}
	// The operation finishes even if the client goes away: a claim must
	// not be cut off from its finish.
	ctx = context.WithoutCancel(ctx)
	authz := gateway.AuthorizationRequest{
		Capture: op == gateway.OpCharge, CardNumber: req.Card.Number, CVV: req.Card.CVV, CardholderName: req.CardholderName, Brand: string(req.Card.Brand),
		ExpMonth: req.Card.ExpMonth, ExpYear: req.Card.ExpYear,
		Amount: req.Amount, Currency: c.Account.Currency, Zip: req.Customer.Zip, Address: req.Customer.Address,
		Customer: req.Customer, OrderID: req.OrderID,
	}
	newPayment := func(id string) (gateway.Payment, gateway.Transaction) {
		p := gateway.Payment{
			ID: id, AccountID: c.Account.ID, Environment: c.Environment, Status: gateway.StatusPending, Currency: c.Account.Currency,
			AuthorizedAmount: req.Amount, OrderID: req.OrderID,
			Card: gateway.CardSummary{
				Brand: string(req.Card.Brand), BIN: req.Card.BIN(), Last4: req.Card.Last4(),
				ExpMonth: req.Card.ExpMonth, ExpYear: req.Card.ExpYear,
				Fingerprint: card.Fingerprint(s.FingerprintKey, req.Card.Number),
			},
			Customer: req.Customer, Source: req.Source, ThreeDS: req.ThreeDS,
			CreatedAt: now, UpdatedAt: now, Version: 1,
		}.Claim(op)
		t := gateway.Transaction{ID: id, PaymentID: id, AccountID: c.Account.ID, Environment: c.Environment,
			Operation: op, Result: gateway.ResultPending, Amount: req.Amount, RequestID: c.RequestID, Actor: c.actor(ctx), CreatedAt: now}
		return p, t
	}
	instant, _ := proc.(gateway.InstantProcessor)
	var decided, answered bool
	var res gateway.AuthorizationResult
	var perr error
	var out Outcome
	var recorded error
	var claimed *Outcome
	err = s.retry(ctx, func(tx gateway.Tx) error {
		claimed = nil
		// A new id on every attempt: a retry after an id collision (a
		// unique violation, answered as a conflict) must not collide again.
		p, t := newPayment(gateway.NewID())
		if err := s.claimKey(ctx, tx, c, idem, t.ID, now); err != nil {
			return err
		}
		var session gateway.CheckoutSession
		if in.CheckoutSessionID != "" {
			var err error
			if session, err = claimCheckout(ctx, tx, c, in.CheckoutSessionID, req.Amount, now); err != nil {
				return err
			}
			p.CheckoutSessionID, p.CheckoutReference = session.ID, session.Reference
		}
		if idem == nil {
			if err := s.checkDuplicate(ctx, tx, c, req, p.Card.Fingerprint, now); err != nil {
				return err
			}
		}
		if instant != nil && !decided {
			res, answered, perr = instant.InstantAuthorize(authz)
			decided = true
		}
		if answered {
			if perr != nil {
				perr = gateway.ErrProcessor // an instant answer is never in doubt
			}
			p = p.Answered(op, res, perr)
			t.Result, t.Code = authorizationResult(res, perr)
		} else {
			t.LeaseUntil = now.Add(s.processorTimeout() + leaseMargin)
		}
		if err := tx.InsertPayment(ctx, p); err != nil {
			return err
		}
		if err := tx.InsertTransaction(ctx, t); err != nil {
			return err
		}
		if in.CheckoutSessionID != "" {
			if err := tx.UpdateCheckoutSession(ctx, session.Attempted(p, now)); err != nil {
				return err
			}
		}
		out, recorded = outcomeOf(p, t)
		if !answered {
			claimed = &out
		}
		return nil
	})
	if err != nil || claimed == nil {
		return s.answer(ctx, c, idem, out, recorded, err)
	}
	authz.Reference = claimed.Transaction.ID
	callCtx, cancel := context.WithTimeout(ctx, s.processorTimeout())
	res, perr = proc.Authorize(callCtx, authz)
	cancel()
	if perr != nil && !gateway.IsDefiniteFailure(perr) {
		s.log().Warn("processor outcome unknown: the payment stays pending for the reconciler",
			"payment_id", claimed.Payment.ID, "operation", op, "request_id", c.RequestID, "err", perr)
		return outcomeOf(claimed.Payment, claimed.Transaction)
	}
	return s.finish(ctx, claimed.Transaction, func(p gateway.Payment) (gateway.Payment, gateway.Result, string) {
		result, code := authorizationResult(res, perr)
		return p.Answered(op, res, perr), result, code
	}, "")
}

// authorizationResult is the ledger's result and code for a processor's
// answer to a charge or authorization.
func authorizationResult(res gateway.AuthorizationResult, err error) (gateway.Result, string) {
	switch {
	case err != nil:
		return gateway.ResultError, gateway.ErrProcessor.Code
	case !res.Approved:
		return gateway.ResultDeclined, res.DeclineCode
	}
	return gateway.ResultApproved, ""
}

// duplicateWindow is the duplicate-check window of account a: its own
// setting, or the server's; zero or less is off.
func (s *Service) duplicateWindow(a gateway.Account) time.Duration {
	if a.DuplicateWindow != 0 {
		return a.DuplicateWindow
	}
	return s.DuplicateWindow
}

func (s *Service) checkDuplicate(ctx context.Context, tx gateway.Tx, c Caller, req PaymentRequest, fingerprint string, now time.Time) error {
	window := s.duplicateWindow(c.Account)
	if window <= 0 {
		return nil
	}
	dup, err := tx.FindDuplicate(ctx, gateway.DuplicateQuery{
		AccountID: c.Account.ID, Environment: c.Environment, OrderID: req.OrderID,
		Amount: req.Amount, Fingerprint: fingerprint, Since: now.Add(-window),
	})
	if err == nil {
		return gateway.Errorf(gateway.KindConflict, "duplicate-transaction",
			"A payment for order %s with the same amount and card was made less than %s ago (%s); send an Idempotency-Key to retry safely.",
			req.OrderID, window, dup)
	}
	if !errors.Is(err, gateway.ErrNotFound) {
		return err
	}
	return nil
}

// outcomeOf is the answer an operation's recorded rows give: the outcome,
// and the error that a decline, a processor failure or a pending outcome
// is answered with. A request and every replay of it answer from here.
func outcomeOf(p gateway.Payment, t gateway.Transaction) (Outcome, error) {
	p.Transactions = []gateway.Transaction{t}
	out := Outcome{Payment: p, Transaction: t}
	var e *gateway.Error
	switch t.Result {
	case gateway.ResultDeclined:
		e = gateway.Errorf(gateway.KindDeclined, t.Code, "%s", gateway.DeclineMessage(t.Code))
	case gateway.ResultError:
		e = gateway.Errorf(gateway.KindProcessor, gateway.ErrProcessor.Code, "%s", gateway.ErrProcessor.Message)
	case gateway.ResultPending:
		e = gateway.Errorf(gateway.KindProcessor, gateway.ErrProcessorTimeout.Code, "%s", gateway.ErrProcessorTimeout.Message)
	default:
		return out, nil
	}
	e.Payment = &out.Payment
	if t.ID != p.ID {
		e.Transaction = &out.Transaction
	}
	return out, e
}

// Capture captures amount of the authorized payment that txID belongs to.
func (s *Service) Capture(ctx context.Context, c Caller, txID string, amount int64, idem *Idempotency) (Outcome, error) {
	return s.change(ctx, c, txID, gateway.OpCapture, idem, func(p gateway.Payment) (gateway.Payment, int64, error) {
		after, err := p.Capture(amount)
		return after, amount, err
	})
}

// Refund returns amount of the captured money of the payment txID belongs to.
func (s *Service) Refund(ctx context.Context, c Caller, txID string, amount int64, idem *Idempotency) (Outcome, error) {
	return s.change(ctx, c, txID, gateway.OpRefund, idem, func(p gateway.Payment) (gateway.Payment, int64, error) {
		after, err := p.Refund(amount, s.maxRefunds())
		return after, amount, err
	})
}

// Void cancels the payment txID belongs to, before settlement.
func (s *Service) Void(ctx context.Context, c Caller, txID string, idem *Idempotency) (Outcome, error) {
	return s.change(ctx, c, txID, gateway.OpVoid, idem, func(p gateway.Payment) (gateway.Payment, int64, error) {
		// A void releases what the payment holds: the authorization or the capture.
		released := p.AuthorizedAmount
		if p.Status == gateway.StatusCaptured {
			released = p.CapturedAmount
		}
		after, err := p.Void()
		return after, released, err
	})
}

// change applies a domain rule to an existing payment: rule returns the
// payment after the operation and the amount of the new transaction.
func (s *Service) change(ctx context.Context, c Caller, txID string, op gateway.Operation, idem *Idempotency,
	rule func(gateway.Payment) (gateway.Payment, int64, error)) (Outcome, error) {
	// Without a processor the environment has no payments to find, or (if
	// it was configured once) none to change.
	proc, err := s.processor(ctx, c.Account.ID, c.Environment)
	if err != nil {
		return Outcome{}, err
	}
	configured := proc != nil
	ctx = context.WithoutCancel(ctx)
	instant, _ := proc.(gateway.InstantProcessor)
	var decided, answered bool
	var perr error
	var out Outcome
	var recorded error
	var claimed *Outcome
	var call gateway.ChangeRequest
	err = s.retry(ctx, func(tx gateway.Tx) error {
		claimed = nil
		now := s.now()
		id := gateway.NewID()
		if err := s.claimKey(ctx, tx, c, idem, id, now); err != nil {
			return err
		}
		before, err := tx.PaymentForUpdate(ctx, c.Account.ID, c.Environment, txID)
		if errors.Is(err, gateway.ErrNotFound) {
			return paymentNotFound(txID)
		}
		if err != nil {
			return err
		}
		if !configured {
			return errLiveNotConfigured
		}
		after, amount, err := rule(before)
		if err != nil {
			return err
		}
		call = gateway.ChangeRequest{Reference: id, Operation: op, Payment: before, Amount: amount}
		t := gateway.Transaction{ID: id, PaymentID: after.ID, AccountID: c.Account.ID, Environment: c.Environment,
			Operation: op, Result: gateway.ResultPending, Amount: amount, RequestID: c.RequestID, Actor: c.actor(ctx), CreatedAt: now}
		if instant != nil && !decided {
			answered, perr = instant.InstantChange(call)
			decided = true
		}
		switch {
		case answered && perr != nil: // the payment stays as it was
			after = before
			t.Result, t.Code = gateway.ResultError, gateway.ErrProcessor.Code
		case answered:
			t.Result = gateway.ResultApproved
		default:
			after = after.Claim(op)
			t.LeaseUntil = now.Add(s.processorTimeout() + leaseMargin)
		}
		if t.Result != gateway.ResultError {
			after.UpdatedAt = now
			if err := tx.UpdatePayment(ctx, after); err != nil {
				return err
			}
			after.Version++
		}
		if err := tx.InsertTransaction(ctx, t); err != nil {
			return err
		}
		if c.ClientIP != "" {
			// A portal user's operation: who asked, from where (the
			// ledger row says what came of it).
			if err := tx.AppendAudit(ctx, gateway.AuditEntry{ID: gateway.NewID(), At: now, Actor: t.Actor, Action: "payment." + string(op) + "_requested",
				AccountID: c.Account.ID, Environment: c.Environment, ObjectID: after.ID, RequestID: c.RequestID, ClientIP: c.ClientIP,
				Detail: fmt.Sprintf("transaction=%s amount=%d result=%s", t.ID, t.Amount, t.Result)}); err != nil {
				return err
			}
		}
		out, recorded = outcomeOf(after, t)
		if !answered {
			claimed = &out
		}
		return nil
	})
	if err != nil || claimed == nil {
		return s.answer(ctx, c, idem, out, recorded, err)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.processorTimeout())
	switch op {
	case gateway.OpCapture:
		perr = proc.Capture(callCtx, call)
	case gateway.OpRefund:
		perr = proc.Refund(callCtx, call)
	default:
		perr = proc.Void(callCtx, call)
	}
	cancel()
	if perr != nil && !gateway.IsDefiniteFailure(perr) {
		s.log().Warn("processor outcome unknown: the operation stays pending for the reconciler",
			"transaction_id", claimed.Transaction.ID, "payment_id", claimed.Payment.ID, "operation", op, "request_id", c.RequestID, "err", perr)
		return outcomeOf(claimed.Payment, claimed.Transaction)
	}
	return s.finish(ctx, claimed.Transaction, changeFinish(op, claimed.Transaction.Amount, perr), "")
}

// changeFinish records a processor's answer to a capture, refund or void:
// done, or (perr) not done, giving back what the claim held.
func changeFinish(op gateway.Operation, amount int64, perr error) func(gateway.Payment) (gateway.Payment, gateway.Result, string) {
	return func(p gateway.Payment) (gateway.Payment, gateway.Result, string) {
		if perr != nil {
			return p.Undo(op, amount), gateway.ResultError, gateway.ErrProcessor.Code
		}
		return p.Done(), gateway.ResultApproved, ""
	}
}

// finish records the processor's answer to the pending transaction t: apply
// turns the payment as it is now into the payment after the answer, with
// the transaction's final result and code. If t is no longer pending
// (the reconciler finished it first), the recorded answer stands and is
// returned. audit, when set, is the audit log's detail of the finish (the
// reconciler's).
func (s *Service) finish(ctx context.Context, t gateway.Transaction,
	apply func(gateway.Payment) (gateway.Payment, gateway.Result, string), audit string) (Outcome, error) {
	var out Outcome
	var recorded error
	err := s.retry(ctx, func(tx gateway.Tx) error {
		p, err := tx.PaymentForUpdate(ctx, t.AccountID, t.Environment, t.ID)
		if err != nil {
			return err
		}
		cur, err := tx.Transaction(ctx, t.AccountID, t.Environment, t.ID)
		if err != nil {
			return err
		}
		if cur.Result != gateway.ResultPending {
			out, recorded = outcomeOf(p, cur)
			return nil
		}
		now := s.now()
		p, cur.Result, cur.Code = apply(p)
		cur.LeaseUntil = time.Time{}
		p.UpdatedAt = now
		if err := tx.UpdatePayment(ctx, p); err != nil {
			return err
		}
		p.Version++
		if err := tx.FinishTransaction(ctx, cur); err != nil {
			return err
		}
		if p.CheckoutSessionID != "" && (cur.Operation == gateway.OpCharge || cur.Operation == gateway.OpAuthorize) {
			if err := s.finishCheckout(ctx, tx, p, now); err != nil {
				return err
			}
		}
		if audit != "" {
			if err := s.audit(ctx, tx, "payment.reconciled", p.AccountID, p.Environment, p.ID,
				fmt.Sprintf("transaction=%s operation=%s result=%s %s", cur.ID, cur.Operation, cur.Result, audit)); err != nil {
				return err
			}
		}
		out, recorded = outcomeOf(p, cur)
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, recorded
}

var errLiveNotConfigured = gateway.Errorf(gateway.KindInvalid, "live-not-configured", "Live processing is not configured for this account.")

// Lookup returns the payment that txID belongs to, with its transactions.
func (s *Service) Lookup(ctx context.Context, c Caller, txID string) (gateway.Payment, error) {
	var p gateway.Payment
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		p, err = tx.PaymentByTransaction(ctx, c.Account.ID, c.Environment, txID)
		if errors.Is(err, gateway.ErrNotFound) {
			return paymentNotFound(txID)
		}
		return err
	})
	return p, err
}

// AuditLog lists audit entries for the operator, oldest first (newest
// first with f.NewestFirst): the audit log's entries and the ledger's
// payment operations, merged by time.
func (s *Service) AuditLog(ctx context.Context, f gateway.AuditFilter) ([]gateway.AuditEntry, error) {
	var logged []gateway.AuditEntry
	var ledger []gateway.Transaction
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		if logged, err = tx.AuditLog(ctx, f); err != nil {
			return err
		}
		ledger, err = tx.Ledger(ctx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]gateway.AuditEntry, 0, len(logged)+len(ledger))
	for len(logged) > 0 || len(ledger) > 0 {
		// At equal times the audit log's entry comes first (last, newest
		// first): an account and its key exist before the payments made
		// with them.
		if len(ledger) == 0 || len(logged) > 0 && loggedFirst(logged[0].At, ledger[0].CreatedAt, f.NewestFirst) {
			out, logged = append(out, logged[0]), logged[1:]
			continue
		}
		t := ledger[0]
		ledger = ledger[1:]
		out = append(out, gateway.AuditEntry{ID: t.ID, At: t.CreatedAt, Actor: t.Actor, Action: gateway.EventType(t.Operation, t.Result),
			AccountID: t.AccountID, Environment: t.Environment, ObjectID: t.PaymentID, RequestID: t.RequestID,
			Detail: fmt.Sprintf("transaction=%s operation=%s result=%s amount=%d", t.ID, t.Operation, t.Result, t.Amount)})
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// loggedFirst tells whether an audit log entry at logged comes before a
// ledger entry at ledger in a listing in that order.
func loggedFirst(logged, ledger time.Time, newestFirst bool) bool {
	if newestFirst {
		return logged.After(ledger)
	}
	return !ledger.Before(logged)
}

type actorKey struct{}

// WithActor names who acts in ctx, for the audit log of operator commands
// ("cli:<user>") and of the server's own jobs.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// actor names who acts for the ledger: the caller's key, or else whoever
// ctx names.
func (c Caller) actor(ctx context.Context) string {
	if c.Actor != "" {
		return c.Actor
	}
	return actorOf(ctx)
}

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

// audit records an operator or system change made in tx.
func (s *Service) audit(ctx context.Context, tx gateway.Tx, action, accountID string, env gateway.Environment, object, detail string) error {
	return tx.AppendAudit(ctx, gateway.AuditEntry{ID: gateway.NewID(), At: s.now(), Actor: actorOf(ctx), Action: action,
		AccountID: accountID, Environment: env, ObjectID: object, Detail: detail, RequestID: requestIDOf(ctx), ClientIP: clientIPOf(ctx)})
}

func paymentNotFound(txID string) error {
	return gateway.Errorf(gateway.KindNotFound, "payment-not-found", "No payment with id %q was found for this account.", txID)
}

// retry runs fn in a write transaction, again after a transaction that
// lost a race (a compare-and-set or a unique key), a bounded number of
// times. fn never calls a processor, so a retry never asks one twice.
func (s *Service) retry(ctx context.Context, fn func(gateway.Tx) error) error {
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err = s.Store.Update(ctx, fn)
		if !errors.Is(err, gateway.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d conflicting attempts: %w", maxAttempts, err)
}
