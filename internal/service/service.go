// Package service runs CartGateway's operations: one exported method per
// operation, each one store transaction that re-reads the payment, applies the
// domain rule, and writes the payment (compare-and-set on its version), the
// new transaction, the outbox event and the idempotency record together.
package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Service is the payment service. Fields are set once at start.
type Service struct {
	Store gateway.Store
	// Processors by environment; an environment without one refuses payments.
	Processors map[gateway.Environment]gateway.Processor
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

	auth authCache
}

// DefaultAuthCacheTTL is how long serve keeps an authentication by default.
const DefaultAuthCacheTTL = 2 * time.Second

// Caller is the authenticated account and environment of a request.
type Caller struct {
	Account     gateway.Account
	Environment gateway.Environment
	RequestID   string
	// Actor names who acts, for the audit log: "key:<key id>".
	Actor string
}

// PaymentRequest is a validated charge or authorization.
type PaymentRequest struct {
	Card     card.Card
	Amount   int64
	OrderID  string
	Customer gateway.Customer
	Source   string
	ThreeDS  gateway.ThreeDS
}

// Outcome is a payment after an operation and the transaction it created
// (Payment.Transactions holds only that one: a lookup lists them all).
type Outcome struct {
	Payment     gateway.Payment
	Transaction gateway.Transaction
}

// Idempotency asks an operation to keep its answer under Key, in the same
// transaction as the change, so that a retry replays it.
type Idempotency struct {
	Key  string
	Hash []byte
	// Answer renders the outcome (or the recorded decline/failure error) as
	// the HTTP status and body to keep.
	Answer func(Outcome, error) (status int, body []byte)
}

// RequestHash identifies a request for its Idempotency-Key: HMAC-SHA256 of
// path and body under the server secret. Keyed, because a charge's body
// holds the card number and CVV: a plain hash stored beside the BIN and
// last 4 could be brute-forced back to them.
func (s *Service) RequestHash(path string, body []byte) []byte {
	m := hmac.New(sha256.New, s.FingerprintKey)
	m.Write([]byte(path))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)
}

// ReplayError says that the request's Idempotency-Key already has an answer.
type ReplayError struct{ Record gateway.IdempotencyRecord }

func (e *ReplayError) Error() string { return "idempotent replay of key " + e.Record.Key }

// maxAttempts bounds retries of a transaction that lost a compare-and-set.
const maxAttempts = 5

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// Authorize holds the amount on the card.
func (s *Service) Authorize(ctx context.Context, c Caller, req PaymentRequest, idem *Idempotency) (Outcome, error) {
	return s.pay(ctx, c, gateway.OpAuthorize, req, idem)
}

// Charge authorizes and captures at once.
func (s *Service) Charge(ctx context.Context, c Caller, req PaymentRequest, idem *Idempotency) (Outcome, error) {
	return s.pay(ctx, c, gateway.OpCharge, req, idem)
}

func (s *Service) pay(ctx context.Context, c Caller, op gateway.Operation, req PaymentRequest, idem *Idempotency) (Outcome, error) {
	proc, ok := s.Processors[c.Environment]
	if !ok {
		return Outcome{}, gateway.Errorf(gateway.KindInvalid, "live-not-configured", "Live processing is not configured for this account.")
	}
	if req.Amount < gateway.MinimumPaymentAmount {
		return Outcome{}, gateway.Errorf(gateway.KindInvalid, "invalid-amount", "The amount must be at least %d.", gateway.MinimumPaymentAmount)
	}
	now := s.now()
	p := gateway.Payment{
		AccountID: c.Account.ID, Environment: c.Environment, Currency: c.Account.Currency,
		AuthorizedAmount: req.Amount, OrderID: req.OrderID,
		Card: gateway.CardSummary{
			Brand: string(req.Card.Brand), BIN: req.Card.BIN(), Last4: req.Card.Last4(),
			ExpMonth: req.Card.ExpMonth, ExpYear: req.Card.ExpYear,
			Fingerprint: card.Fingerprint(s.FingerprintKey, req.Card.Number),
		},
		Customer: req.Customer, Source: req.Source, ThreeDS: req.ThreeDS,
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
	var out Outcome
	var recorded error // a decline or processor failure: recorded, then answered as an error
	err := s.update(ctx, c, idem, func(tx gateway.Tx) error {
		if idem == nil && s.DuplicateWindow > 0 {
			dup, err := tx.FindDuplicate(ctx, gateway.DuplicateQuery{
				AccountID: c.Account.ID, Environment: c.Environment, OrderID: req.OrderID,
				Amount: req.Amount, Fingerprint: p.Card.Fingerprint, Since: now.Add(-s.DuplicateWindow),
			})
			if err == nil {
				return gateway.Errorf(gateway.KindConflict, "duplicate-transaction",
					"A payment for order %s with the same amount and card was made less than %s ago (%s); send an Idempotency-Key to retry safely.",
					req.OrderID, s.DuplicateWindow, dup)
			}
			if !errors.Is(err, gateway.ErrNotFound) {
				return err
			}
		}
		res, err := proc.Authorize(ctx, gateway.AuthorizationRequest{
			CardNumber: req.Card.Number, CVV: req.Card.CVV, Brand: string(req.Card.Brand),
			Amount: req.Amount, Currency: p.Currency, Zip: req.Customer.Zip, Address: req.Customer.Address,
		})
		// A new id on every attempt: a retry after an id collision (a
		// unique violation, answered as a conflict) must not collide again.
		pay := p
		pay.ID = gateway.NewID()
		t := gateway.Transaction{ID: pay.ID, PaymentID: pay.ID, AccountID: c.Account.ID, Environment: c.Environment,
			Operation: op, Amount: req.Amount, RequestID: c.RequestID, Actor: c.actor(ctx), CreatedAt: now}
		recorded = nil
		switch {
		case err != nil:
			if gateway.ErrorKind(err) != gateway.KindProcessor {
				return err
			}
			// Nothing is held: the attempt keeps its amount in its transaction.
			pay.Status, pay.DeclineCode, pay.AuthorizedAmount = gateway.StatusFailed, gateway.ErrProcessor.Code, 0
			t.Result, t.Code = gateway.ResultError, gateway.ErrProcessor.Code
			recorded = &gateway.Error{Kind: gateway.KindProcessor, Code: gateway.ErrProcessor.Code, Message: gateway.ErrProcessor.Message, Payment: &pay}
		case !res.Approved:
			pay.Status, pay.DeclineCode, pay.AuthorizedAmount = gateway.StatusDeclined, res.DeclineCode, 0
			pay.AVSCode, pay.CVVCode = res.AVSCode, res.CVVCode
			t.Result, t.Code = gateway.ResultDeclined, res.DeclineCode
			recorded = &gateway.Error{Kind: gateway.KindDeclined, Code: res.DeclineCode, Message: res.Message, Payment: &pay}
		default:
			pay.AVSCode, pay.CVVCode = res.AVSCode, res.CVVCode
			t.Result = gateway.ResultApproved
			pay.Status = gateway.StatusAuthorized
			if op == gateway.OpCharge {
				pay.Status, pay.CapturedAmount = gateway.StatusCaptured, req.Amount
			}
		}
		if err := tx.InsertPayment(ctx, pay); err != nil {
			return err
		}
		if err := tx.InsertTransaction(ctx, t); err != nil {
			return err
		}
		pay.Transactions = []gateway.Transaction{t}
		out = Outcome{Payment: pay, Transaction: t}
		return s.finish(ctx, tx, c, idem, out, recorded)
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, recorded
}

// Capture captures amount of the authorized payment that txID belongs to.
func (s *Service) Capture(ctx context.Context, c Caller, txID string, amount int64, idem *Idempotency) (Outcome, error) {
	return s.change(ctx, c, txID, gateway.OpCapture, idem, func(p gateway.Payment) (gateway.Payment, int64, error) {
		after, err := p.Capture(amount)
		return after, amount, err
	}, func(proc gateway.Processor, p gateway.Payment) error { return proc.Capture(ctx, p, amount) })
}

// Refund returns amount of the captured money of the payment txID belongs to.
func (s *Service) Refund(ctx context.Context, c Caller, txID string, amount int64, idem *Idempotency) (Outcome, error) {
	return s.change(ctx, c, txID, gateway.OpRefund, idem, func(p gateway.Payment) (gateway.Payment, int64, error) {
		after, err := p.Refund(amount)
		return after, amount, err
	}, func(proc gateway.Processor, p gateway.Payment) error { return proc.Refund(ctx, p, amount) })
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
	}, func(proc gateway.Processor, p gateway.Payment) error { return proc.Void(ctx, p) })
}

// change applies a domain rule to an existing payment: rule returns the
// payment after the operation and the amount of the new transaction.
func (s *Service) change(ctx context.Context, c Caller, txID string, op gateway.Operation, idem *Idempotency,
	rule func(gateway.Payment) (gateway.Payment, int64, error), call func(gateway.Processor, gateway.Payment) error) (Outcome, error) {
	var out Outcome
	err := s.update(ctx, c, idem, func(tx gateway.Tx) error {
		before, err := tx.PaymentForUpdate(ctx, c.Account.ID, c.Environment, txID)
		if errors.Is(err, gateway.ErrNotFound) {
			return paymentNotFound(txID)
		}
		if err != nil {
			return err
		}
		after, amount, err := rule(before)
		if err != nil {
			return err
		}
		if proc, ok := s.Processors[c.Environment]; ok {
			if err := call(proc, before); err != nil {
				return err
			}
		}
		now := s.now()
		after.UpdatedAt = now
		if err := tx.UpdatePayment(ctx, after); err != nil {
			return err
		}
		t := gateway.Transaction{ID: gateway.NewID(), PaymentID: after.ID, AccountID: c.Account.ID, Environment: c.Environment,
			Operation: op, Result: gateway.ResultApproved, Amount: amount, RequestID: c.RequestID, Actor: c.actor(ctx), CreatedAt: now}
		if err := tx.InsertTransaction(ctx, t); err != nil {
			return err
		}
		after.Version++
		after.Transactions = []gateway.Transaction{t}
		out = Outcome{Payment: after, Transaction: t}
		return s.finish(ctx, tx, c, idem, out, nil)
	})
	return out, err
}

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

// Settle closes a batch: every captured payment becomes settled.
func (s *Service) Settle(ctx context.Context) (gateway.SettlementBatch, error) {
	b := gateway.SettlementBatch{ID: gateway.NewID(), ClosedAt: s.now()}
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		if err := tx.SettleCaptured(ctx, &b); err != nil || b.Count == 0 {
			return err
		}
		return s.audit(ctx, tx, "batch.closed", "", "", b.ID, fmt.Sprintf("payments=%d totals=%v", b.Count, b.Totals))
	})
	return b, err
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
		out = append(out, gateway.AuditEntry{ID: t.ID, At: t.CreatedAt, Actor: t.Actor, Action: eventType(t.Operation, t.Result),
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
		AccountID: accountID, Environment: env, ObjectID: object, Detail: detail})
}

func paymentNotFound(txID string) error {
	return gateway.Errorf(gateway.KindNotFound, "payment-not-found", "No payment with id %q was found for this account.", txID)
}

// update runs fn in a write transaction, replaying a kept answer for the
// request's Idempotency-Key, and retrying transactions that lost a race.
func (s *Service) update(ctx context.Context, c Caller, idem *Idempotency, fn func(gateway.Tx) error) error {
	// The operation finishes even if the client goes away: a committed
	// change must not be cut off between the processor and the store.
	ctx = context.WithoutCancel(ctx)
	var err error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		err = s.Store.Update(ctx, func(tx gateway.Tx) error {
			if idem != nil {
				rec, err := tx.IdempotencyRecord(ctx, c.Account.ID, c.Environment, idem.Key)
				if err == nil {
					return &ReplayError{Record: rec}
				}
				if !errors.Is(err, gateway.ErrNotFound) {
					return err
				}
			}
			return fn(tx)
		})
		if !errors.Is(err, gateway.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d conflicting attempts: %w", maxAttempts, err)
}

// finish writes the idempotency record of an operation, if it has a key.
// The operation's transaction row is its audit entry and its event.
func (s *Service) finish(ctx context.Context, tx gateway.Tx, c Caller, idem *Idempotency, out Outcome, recorded error) error {
	if idem == nil {
		return nil
	}
	status, body := idem.Answer(out, recorded)
	return tx.SaveIdempotencyRecord(ctx, gateway.IdempotencyRecord{AccountID: c.Account.ID, Environment: c.Environment,
		Key: idem.Key, RequestHash: idem.Hash, Status: status, Body: body, CreatedAt: out.Transaction.CreatedAt})
}

// eventType names what a transaction did, as its audit entry's action (and
// the type of the event a webhook will announce).
func eventType(op gateway.Operation, r gateway.Result) string {
	switch {
	case r == gateway.ResultDeclined:
		return "payment.declined"
	case r == gateway.ResultError:
		return "payment.failed"
	case op == gateway.OpAuthorize:
		return "payment.authorized"
	case op == gateway.OpCharge, op == gateway.OpCapture:
		return "payment.captured"
	case op == gateway.OpRefund:
		return "payment.refunded"
	default:
		return "payment.voided"
	}
}
