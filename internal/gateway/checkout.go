package gateway

import (
	"crypto/sha256"
	"time"
)

// Product is one entry of a merchant's catalogue, per account and
// environment: a checkout line may name it by Codename, and the catalogue
// gives its name, price (minor units of the account's currency) and image.
type Product struct {
	AccountID   string
	Environment Environment
	Codename    string // letters, digits and underscores
	Name        string
	Price       int64
	ImageURL    string // absolute https URL, or empty
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CheckoutStatus is where a hosted checkout session is. An open session
// whose ExpiresAt has passed is expired; that is not stored.
type CheckoutStatus string

const (
	// CheckoutOpen can be paid.
	CheckoutOpen CheckoutStatus = "open"
	// CheckoutPaying has an attempt waiting for the processor's answer
	// (its PaymentID): nothing else may start until it is answered.
	CheckoutPaying CheckoutStatus = "paying"
	// CheckoutPaid was paid by PaymentID; it never changes again.
	CheckoutPaid CheckoutStatus = "paid"
)

// CheckoutLine is one line of a checkout: a catalogue product (Codename
// set) or the merchant's own, with the unit price it had when the session
// was created.
type CheckoutLine struct {
	Codename   string `json:"codename,omitempty"`
	Name       string `json:"name"`
	UnitAmount int64  `json:"unit_amount"`
	Quantity   int64  `json:"quantity"`
	ImageURL   string `json:"image_url,omitempty"`
}

// Total is the line's amount: unit price times quantity.
func (l CheckoutLine) Total() int64 { return l.UnitAmount * l.Quantity }

// CheckoutSession is an order a merchant sends its customer to pay on the
// gateway's hosted page. Its lines and amounts never change; its status,
// attempts and validation do, with Version compare-and-set as payments.
type CheckoutSession struct {
	ID          string
	AccountID   string
	Environment Environment
	// TokenHash is SHA-256 of the token in the page's URL
	// (CheckoutTokenHash): the token itself is never stored.
	TokenHash      []byte
	Reference      string // the merchant's
	SuccessURL     string
	CancelURL      string
	Lines          []CheckoutLine
	TaxAmount      int64
	ShippingAmount int64
	Amount         int64 // Σ line totals + tax + shipping
	Currency       string
	Status         CheckoutStatus
	// PaymentID is the payment of the latest attempt: the one in flight
	// (paying), the one that paid (paid), or the last one declined or
	// failed (open); empty before the first attempt.
	PaymentID string
	// Attempts counts payment attempts, approved or not.
	Attempts    int
	ValidatedAt time.Time // when validate first confirmed the payment; zero before
	ExpiresAt   time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

// MaxCheckoutAttempts bounds the payment attempts on one session, so that
// a hosted page cannot be used to test stolen card numbers one after
// another.
const MaxCheckoutAttempts = 10

// The answers to an attempt to pay a session that cannot be paid now.
var (
	ErrCheckoutPaid = Errorf(KindConflict, "checkout-session-paid",
		"This checkout has already been paid.")
	ErrCheckoutInProgress = Errorf(KindConflict, "checkout-payment-in-progress",
		"A payment for this checkout is being processed; wait for its result.")
	ErrCheckoutExpired = Errorf(KindGone, "checkout-session-expired",
		"This checkout has expired; return to the shop to start again.")
	ErrCheckoutNotFound = Errorf(KindNotFound, "checkout-session-not-found",
		"There is no such checkout.")
	ErrCheckoutAttempts = Errorf(KindRateLimited, "too-many-checkout-attempts",
		"Too many payment attempts for this checkout; return to the shop to start again.")
)

// Expired reports whether the session can no longer be paid because of
// its age (a paid session is never expired, nor one whose payment is in
// flight).
func (s CheckoutSession) Expired(now time.Time) bool {
	return s.Status == CheckoutOpen && !now.Before(s.ExpiresAt)
}

// Payable refuses a payment attempt on a session that is paid, has one in
// flight, has expired or has run out of attempts.
func (s CheckoutSession) Payable(now time.Time) error {
	switch {
	case s.Status == CheckoutPaid:
		return ErrCheckoutPaid
	case s.Status == CheckoutPaying:
		return ErrCheckoutInProgress
	case s.Expired(now):
		return ErrCheckoutExpired
	case s.Attempts >= MaxCheckoutAttempts:
		return ErrCheckoutAttempts
	}
	return nil
}

// Attempted is the session after a payment attempt p was recorded, in the
// same transaction: paying while p waits for the processor, paid once it
// is approved, open again when it was declined or failed.
func (s CheckoutSession) Attempted(p Payment, now time.Time) CheckoutSession {
	if s.PaymentID != p.ID {
		s.Attempts++
	}
	s.PaymentID, s.UpdatedAt = p.ID, now
	switch p.Status {
	case StatusPending:
		s.Status = CheckoutPaying
	case StatusAuthorized, StatusCaptured, StatusSettled:
		s.Status = CheckoutPaid
	default:
		s.Status = CheckoutOpen
	}
	return s
}

// CheckoutTokenHash is the stored form of a session token. A plain hash
// suffices: the token is random, not a password.
func CheckoutTokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CheckoutTokenLength is the length of a session's token: 24 bytes (192
// bits) in unpadded URL-safe base64.
const CheckoutTokenLength = 32

// ValidCheckoutToken reports whether s has the form of a session token,
// before any lookup.
func ValidCheckoutToken(s string) bool {
	if len(s) != CheckoutTokenLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
