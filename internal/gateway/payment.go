package gateway

import "time"

// Environment separates test traffic from real money. A key belongs to one.
type Environment string

const (
	Sandbox Environment = "sandbox"
	Live    Environment = "live"
)

// ParseEnvironment accepts "sandbox" or "live".
func ParseEnvironment(s string) (Environment, bool) {
	switch Environment(s) {
	case Sandbox, Live:
		return Environment(s), true
	}
	return "", false
}

// Status is where a payment is in its lifecycle.
type Status string

const (
	StatusPending    Status = "pending"    // a charge or authorization waiting for the processor's answer
	StatusAuthorized Status = "authorized" // funds held, nothing captured
	StatusCaptured   Status = "captured"   // captured, not yet settled: still voidable
	StatusSettled    Status = "settled"    // in a closed batch: refund only
	StatusVoided     Status = "voided"     // cancelled before settlement
	StatusDeclined   Status = "declined"   // the processor declined the attempt
	StatusFailed     Status = "failed"     // the processor failed; nothing moved
)

// Operation names a transaction's kind.
type Operation string

const (
	OpAuthorize Operation = "authorize"
	OpCharge    Operation = "charge"
	OpCapture   Operation = "capture"
	OpRefund    Operation = "refund"
	OpVoid      Operation = "void"
	// OpSettle records a payment's settlement: its amount is what it
	// settled, captured minus refunded.
	OpSettle Operation = "settle"
)

// Result is the outcome of one transaction.
type Result string

const (
	ResultApproved Result = "approved"
	ResultDeclined Result = "declined"
	ResultError    Result = "error"
	// ResultPending is an operation claimed in the store whose processor
	// answer is not recorded yet (ADR 11). It is the only result that ever
	// changes: once, to one of the others.
	ResultPending Result = "pending"
)

// MaxLookupTransactions bounds the transactions a lookup returns: the
// latest ones. A lookup's cost must not grow with what other requests add.
const MaxLookupTransactions = 100

// MinimumPaymentAmount is the smallest charge or authorization, in minor units.
const MinimumPaymentAmount = 100

// CardSummary is all that is ever kept of a card: never the number or CVV.
type CardSummary struct {
	Brand       string
	BIN         string
	Last4       string
	ExpMonth    int
	ExpYear     int
	Fingerprint string // keyed HMAC of the number, for duplicate detection
}

// Customer is the cardholder and billing address.
type Customer struct {
	FirstName, LastName, Email, Phone  string
	Address, City, State, Zip, Country string
}

// ThreeDS holds 3-D Secure results as the merchant sent them; stored and shown.
type ThreeDS struct {
	CAVV, Validated, TransactionID, ServerTransactionID, Version, PaResStatus string
}

// Payment is one card payment and its money. Its ID is the id of the
// transaction that created it (the authorize or charge).
type Payment struct {
	ID          string
	AccountID   string
	Environment Environment
	Status      Status
	Currency    string

	AuthorizedAmount int64
	CapturedAmount   int64
	RefundedAmount   int64

	OrderID  string
	Card     CardSummary
	Customer Customer
	AVSCode  string
	CVVCode  string
	// DeclineCode is the machine code of a declined or failed attempt.
	DeclineCode string
	Source      string
	ThreeDS     ThreeDS

	CreatedAt time.Time
	UpdatedAt time.Time
	SettledAt time.Time // zero until settled
	BatchID   string

	// ProcessorRef is the processor's own id of the authorization (a
	// connector's payment id); empty for the sandbox.
	ProcessorRef string
	// InFlight counts the operations claimed on the payment whose processor
	// answer is not recorded yet; InFlightOp names their kind. Several may
	// be in flight only when all are refunds, each holding its amount.
	InFlight   int
	InFlightOp Operation
	// RefundCount counts the refunds made or in flight, which
	// MaxRefundsPerPayment bounds.
	RefundCount int

	// CheckoutSessionID names the hosted checkout session the payment was
	// made through, and CheckoutReference that session's merchant
	// reference; both empty for a payment made through the API.
	CheckoutSessionID string
	CheckoutReference string

	// Version increases with every update; stores compare-and-set on it.
	Version int64

	// Transactions is filled by lookups: the latest MaxLookupTransactions,
	// oldest first; TransactionCount says how many the payment has in all.
	Transactions     []Transaction
	TransactionCount int
}

// Transaction is one operation on a payment, approved or not. Transactions
// form the ledger: never changed once written, they are the audit trail of
// payment operations and the source of payment events.
type Transaction struct {
	ID          string
	PaymentID   string
	AccountID   string
	Environment Environment
	Operation   Operation
	Result      Result
	Amount      int64
	Code        string // decline or error code, empty when approved
	RequestID   string
	// Actor names who made the operation, as in AuditEntry.Actor.
	Actor     string
	CreatedAt time.Time
	// LeaseUntil is, for a pending transaction, when the reconciler may take
	// it over: the claimant's processor call has given up by then.
	LeaseUntil time.Time
}

// RefundableAmount is the captured money not yet refunded.
func (p Payment) RefundableAmount() int64 {
	if p.Status != StatusCaptured && p.Status != StatusSettled {
		return 0
	}
	return p.CapturedAmount - p.RefundedAmount
}

// ErrOperationInProgress refuses an operation on a payment that another one,
// waiting for the processor, holds.
var ErrOperationInProgress = Errorf(KindConflict, "payment-operation-in-progress",
	"Another operation on this payment is waiting for the processor's answer; retry when it has finished.")

// free refuses op while another operation is in flight on the payment;
// refunds may stack, each holding its own amount.
func (p Payment) free(op Operation) error {
	if p.InFlight > 0 && (op != OpRefund || p.InFlightOp != OpRefund) {
		return ErrOperationInProgress
	}
	return nil
}

// Claim marks op as in flight: the payment (already changed by the
// operation's rule) holds what op takes until the processor has answered.
func (p Payment) Claim(op Operation) Payment {
	p.InFlight++
	p.InFlightOp = op
	return p
}

// Done ends one operation in flight that the processor carried out.
func (p Payment) Done() Payment {
	if p.InFlight > 0 {
		p.InFlight--
	}
	if p.InFlight == 0 {
		p.InFlightOp = ""
	}
	return p
}

// Undo ends one operation in flight that the processor did not carry out,
// giving back what its claim held: the refunded amount, the capture, or the
// status before a void.
func (p Payment) Undo(op Operation, amount int64) Payment {
	switch op {
	case OpRefund:
		p.RefundedAmount -= amount
		p.RefundCount--
	case OpCapture:
		p.Status, p.CapturedAmount = StatusAuthorized, 0
	case OpVoid:
		p.Status = StatusAuthorized
		if p.CapturedAmount > 0 {
			p.Status = StatusCaptured
		}
	}
	return p.Done()
}

// Answered records the processor's answer to the charge or authorization
// that created the payment: approved (authorized, or captured for a charge)
// or declined. err, when not nil, is a processor failure: nothing moved.
// The payment's requested amount is its AuthorizedAmount until then.
func (p Payment) Answered(op Operation, res AuthorizationResult, err error) Payment {
	p = p.Done()
	switch {
	case err != nil:
		p.Status, p.DeclineCode, p.AuthorizedAmount = StatusFailed, ErrProcessor.Code, 0
	case !res.Approved:
		p.Status, p.DeclineCode, p.AuthorizedAmount = StatusDeclined, res.DeclineCode, 0
		p.AVSCode, p.CVVCode = res.AVSCode, res.CVVCode
	default:
		p.Status, p.AVSCode, p.CVVCode, p.ProcessorRef = StatusAuthorized, res.AVSCode, res.CVVCode, res.ProcessorRef
		if op == OpCharge {
			p.Status, p.CapturedAmount = StatusCaptured, p.AuthorizedAmount
		}
	}
	return p
}

// Capture takes amount (at most the authorized amount, once) of an authorized
// payment. It returns the payment as it will be after the capture.
func (p Payment) Capture(amount int64) (Payment, error) {
	if err := p.free(OpCapture); err != nil {
		return p, err
	}
	if err := p.requireApproved(); err != nil {
		return p, err
	}
	if p.Status != StatusAuthorized { // captured or settled
		return p, Errorf(KindInvalid, "already-captured", "The payment has already been captured; a payment is captured once.")
	}
	if amount < 1 {
		return p, Errorf(KindInvalid, "invalid-amount", "The amount must be at least 1.")
	}
	if amount > p.AuthorizedAmount {
		return p, Errorf(KindInvalid, "capture-exceeds-authorized", "The capture amount %d exceeds the authorized amount %d.", amount, p.AuthorizedAmount)
	}
	p.Status = StatusCaptured
	p.CapturedAmount = amount
	return p, nil
}

// DefaultMaxRefunds bounds the refunds of one payment unless configured: a
// payment's work (its lookup, its ledger) must not grow without bound.
const DefaultMaxRefunds = 1000

// Refund returns amount of the captured money; partial refunds may repeat
// until the captured amount is used up, at most maxRefunds times.
func (p Payment) Refund(amount int64, maxRefunds int) (Payment, error) {
	if err := p.free(OpRefund); err != nil {
		return p, err
	}
	if err := p.requireApproved(); err != nil {
		return p, err
	}
	if p.Status == StatusAuthorized {
		return p, Errorf(KindInvalid, "payment-not-captured", "Only captured money can be refunded; void the authorization instead.")
	}
	if amount < 1 {
		return p, Errorf(KindInvalid, "invalid-amount", "The amount must be at least 1.")
	}
	if remaining := p.RefundableAmount(); amount > remaining {
		return p, Errorf(KindInvalid, "refund-exceeds-captured", "The refund amount %d exceeds the refundable amount %d.", amount, remaining)
	}
	if p.RefundCount >= maxRefunds {
		return p, Errorf(KindInvalid, "too-many-refunds", "The payment already has %d refunds, the most one payment may have.", p.RefundCount)
	}
	p.RefundedAmount += amount
	p.RefundCount++
	return p, nil
}

// Void cancels an authorization, or a capture that is not yet settled.
func (p Payment) Void() (Payment, error) {
	if err := p.free(OpVoid); err != nil {
		return p, err
	}
	if err := p.requireApproved(); err != nil {
		return p, err
	}
	switch p.Status {
	case StatusSettled:
		return p, Errorf(KindInvalid, "payment-settled", "The payment is settled and can no longer be voided; refund it instead.")
	case StatusCaptured:
		if p.RefundedAmount > 0 {
			return p, Errorf(KindInvalid, "payment-has-refunds", "The payment has refunds and can no longer be voided; refund the rest instead.")
		}
	}
	p.Status = StatusVoided
	return p, nil
}

// requireApproved refuses operations on attempts that moved no money, and on
// voided payments, before the status-specific checks.
func (p Payment) requireApproved() error {
	switch p.Status {
	case StatusPending:
		return ErrOperationInProgress
	case StatusDeclined, StatusFailed:
		return Errorf(KindInvalid, "payment-not-approved", "The payment was not approved; there is nothing to operate on.")
	case StatusVoided:
		return Errorf(KindInvalid, "payment-voided", "The payment has been voided.")
	}
	return nil
}
