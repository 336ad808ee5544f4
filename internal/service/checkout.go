package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Hosted checkout (docs/hosted-checkout.md): the product catalogue, the
// checkout sessions a merchant creates, paying them through the payment
// path every charge takes, and the merchant's validation of the payment.

// DefaultCheckoutExpiry is how long a checkout session can be paid.
const DefaultCheckoutExpiry = 24 * time.Hour

// Bounds of a checkout.
const (
	MaxCheckoutLines = 100
	MaxQuantity      = 10_000
	// MaxCheckoutAmount bounds every amount of a checkout, as the API's
	// (10^13 minor units), so that sums stay far from int64 overflow; the
	// total is then held to the account's largest payment.
	MaxCheckoutAmount = gateway.MaxWireAmount
	maxURLLength      = 2048
	maxCodenameLength = 64
)

func (s *Service) checkoutExpiry() time.Duration {
	if s.CheckoutExpiry > 0 {
		return s.CheckoutExpiry
	}
	return DefaultCheckoutExpiry
}

// CheckoutToken is the token in the URL of the session id: an HMAC of the
// id under the server secret, so that it is unguessable (192 bits), never
// stored (the store keeps its hash), and yet the same for every answer to
// one session (an idempotent replay of create gives the same URL).
func (s *Service) CheckoutToken(sessionID string) string {
	m := hmac.New(sha256.New, s.FingerprintKey)
	m.Write([]byte("checkout-session\x00"))
	m.Write([]byte(sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// ---- The product catalogue ----

// ProductInput is a product as an operator (or later the portal) gives it.
// In an update, empty Name, zero Price and nil ImageURL/Active keep what
// the product has.
type ProductInput struct {
	Codename string
	Name     string
	Price    int64
	ImageURL *string
	Active   *bool
}

// ValidCodename reports whether s is a product codename: 1 to 64 letters,
// digits and underscores.
func ValidCodename(s string) bool {
	if s == "" || len(s) > maxCodenameLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func codenameError(field, codename string) *gateway.Error {
	why := "a codename is 1 to 64 letters, digits and underscores"
	if strings.Contains(codename, "-") {
		why = "a hyphen is not allowed in a codename (letters, digits and underscores only)"
	}
	e := gateway.Errorf(gateway.KindInvalid, "invalid-product-codename", "%s %s: %s.", field, quote(codename), why)
	e.Field = field
	return e
}

// checkProduct applies the catalogue's rules to p.
func checkProduct(p gateway.Product) error {
	var c textChecker
	p.Name = c.text("name", p.Name, true)
	if c.err != nil {
		return c.err
	}
	if p.Price < 1 || p.Price > MaxCheckoutAmount {
		return fieldError("price", "invalid", "price must be a whole number of minor units from 1 to %d.", int64(MaxCheckoutAmount))
	}
	if p.ImageURL != "" {
		if err := checkURL("image_url", "invalid-image-url", p.ImageURL, true); err != nil {
			return err
		}
	}
	return nil
}

func errProductNotFound(codename string) error {
	return gateway.Errorf(gateway.KindNotFound, "product-not-found", "There is no product %s in this catalogue.", quote(codename))
}

// AddProduct adds an active product to an account's catalogue in env.
func (s *Service) AddProduct(ctx context.Context, accountID string, env gateway.Environment, in ProductInput) (gateway.Product, error) {
	if !ValidCodename(in.Codename) {
		return gateway.Product{}, codenameError("codename", in.Codename)
	}
	now := s.now()
	p := gateway.Product{AccountID: accountID, Environment: env, Codename: in.Codename, Name: strings.TrimSpace(in.Name),
		Price: in.Price, Active: true, CreatedAt: now, UpdatedAt: now}
	if in.ImageURL != nil {
		p.ImageURL = strings.TrimSpace(*in.ImageURL)
	}
	if in.Active != nil {
		p.Active = *in.Active
	}
	if err := checkProduct(p); err != nil {
		return p, err
	}
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.Account(ctx, accountID); err != nil {
			return err
		}
		if err := tx.InsertProduct(ctx, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, "product.added", accountID, env, p.Codename, fmt.Sprintf("name=%q price=%d", p.Name, p.Price))
	})
	if errors.Is(err, gateway.ErrConflict) {
		return p, gateway.Errorf(gateway.KindConflict, "product-exists", "The catalogue already has a product %s.", quote(p.Codename))
	}
	return p, err
}

// UpdateProduct changes a product: what in gives replaces what it had.
func (s *Service) UpdateProduct(ctx context.Context, accountID string, env gateway.Environment, in ProductInput) (gateway.Product, error) {
	var p gateway.Product
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		var err error
		if p, err = tx.Product(ctx, accountID, env, in.Codename); errors.Is(err, gateway.ErrNotFound) {
			return errProductNotFound(in.Codename)
		} else if err != nil {
			return err
		}
		if name := strings.TrimSpace(in.Name); name != "" {
			p.Name = name
		}
		if in.Price != 0 {
			p.Price = in.Price
		}
		if in.ImageURL != nil {
			p.ImageURL = strings.TrimSpace(*in.ImageURL)
		}
		if in.Active != nil {
			p.Active = *in.Active
		}
		p.UpdatedAt = s.now()
		if err := checkProduct(p); err != nil {
			return err
		}
		if err := tx.UpdateProduct(ctx, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, "product.updated", accountID, env, p.Codename,
			fmt.Sprintf("name=%q price=%d image_url=%q active=%t", p.Name, p.Price, p.ImageURL, p.Active))
	})
	return p, err
}

// DeactivateProduct takes a product out of new checkouts; sessions made
// before keep their lines.
func (s *Service) DeactivateProduct(ctx context.Context, accountID string, env gateway.Environment, codename string) (gateway.Product, error) {
	inactive := false
	return s.UpdateProduct(ctx, accountID, env, ProductInput{Codename: codename, Active: &inactive})
}

// Products lists an account's catalogue in env, by codename.
func (s *Service) Products(ctx context.Context, accountID string, env gateway.Environment) ([]gateway.Product, error) {
	var list []gateway.Product
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		if _, err := tx.Account(ctx, accountID); err != nil {
			return err
		}
		var err error
		list, err = tx.Products(ctx, accountID, env)
		return err
	})
	return list, err
}

// ---- Checkout sessions ----

// CheckoutInput is a checkout as a surface received it; null fields as
// their zero values.
type CheckoutInput struct {
	Reference             string
	SuccessURL, CancelURL string
	Products              []CheckoutProductInput
	// TaxAmount and ShippingAmount are minor units; absent is 0.
	TaxAmount, ShippingAmount int64
}

// CheckoutProductInput is one line: a catalogue Codename, or the merchant's
// own Name and Amount (with an optional ImageURL). A zero Quantity is
// absent (1); HasAmount and HasQuantity tell a 0 that was sent.
type CheckoutProductInput struct {
	Codename    string
	Name        string
	Amount      int64
	HasAmount   bool
	Quantity    int64
	HasQuantity bool
	ImageURL    string
}

// checkURL accepts an absolute http or https URL (https only if
// httpsOnly) of at most maxURLLength characters, with a host and without
// credentials or spaces.
func checkURL(field, code, s string, httpsOnly bool) error {
	bad := func(why string) error {
		e := gateway.Errorf(gateway.KindInvalid, code, "%s must be %s (got %s).", field, why, quote(s))
		e.Field = field
		return e
	}
	want := "an absolute http or https URL"
	if httpsOnly {
		want = "an absolute https URL"
	}
	if len(s) > maxURLLength {
		return bad(fmt.Sprintf("%s of at most %d characters", want, maxURLLength))
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 || !utf8.ValidString(s) {
		return bad(want + " without spaces")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" || u.Hostname() == "" {
		return bad(want)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && (httpsOnly || scheme != "http") {
		return bad(want)
	}
	if u.User != nil {
		return bad(want + " without credentials")
	}
	return nil
}

// CheckCheckout applies the rules of a checkout that need no store (the
// catalogue's are CreateCheckout's).
func CheckCheckout(in CheckoutInput) error {
	_, _, err := validateCheckout(in)
	return err
}

// checkoutLine is a validated line before the catalogue is consulted.
type checkoutLine struct {
	gateway.CheckoutLine
	field string // "products[i]"
}

// validateCheckout applies every rule of a checkout that needs no store.
func validateCheckout(in CheckoutInput) (gateway.CheckoutSession, []checkoutLine, error) {
	var c textChecker
	cs := gateway.CheckoutSession{Reference: c.text("reference", in.Reference, false)}
	if c.err != nil {
		return cs, nil, c.err
	}
	if strings.TrimSpace(in.SuccessURL) == "" {
		return cs, nil, fieldError("success_url", "missing", "success_url is required: the absolute URL the customer is sent to once paid.")
	}
	if err := checkURL("success_url", "invalid-success-url", strings.TrimSpace(in.SuccessURL), false); err != nil {
		return cs, nil, err
	}
	if strings.TrimSpace(in.CancelURL) == "" {
		return cs, nil, fieldError("cancel_url", "missing", "cancel_url is required: the absolute URL the customer is sent to on cancel.")
	}
	if err := checkURL("cancel_url", "invalid-cancel-url", strings.TrimSpace(in.CancelURL), false); err != nil {
		return cs, nil, err
	}
	cs.SuccessURL, cs.CancelURL = strings.TrimSpace(in.SuccessURL), strings.TrimSpace(in.CancelURL)
	if q, _ := url.ParseQuery(mustParseURL(cs.SuccessURL).RawQuery); q.Has("payment_id") {
		return cs, nil, fieldError("success_url", "invalid", "success_url must not carry payment_id: the gateway adds it.")
	}
	switch {
	case len(in.Products) == 0:
		return cs, nil, fieldError("products", "missing", "products must list at least one product.")
	case len(in.Products) > MaxCheckoutLines:
		return cs, nil, gateway.Errorf(gateway.KindInvalid, "too-many-products", "products may list at most %d lines.", MaxCheckoutLines)
	}
	lines := make([]checkoutLine, 0, len(in.Products))
	for i, p := range in.Products {
		l, err := validateLine(fmt.Sprintf("products[%d]", i), p)
		if err != nil {
			return cs, nil, err
		}
		lines = append(lines, l)
	}
	if in.TaxAmount < 0 || in.TaxAmount > MaxCheckoutAmount {
		return cs, nil, fieldError("tax_amount", "invalid", "tax_amount must be a whole number of minor units from 0 to %d.", int64(MaxCheckoutAmount))
	}
	if in.ShippingAmount < 0 || in.ShippingAmount > MaxCheckoutAmount {
		return cs, nil, fieldError("shipping_amount", "invalid", "shipping_amount must be a whole number of minor units from 0 to %d.", int64(MaxCheckoutAmount))
	}
	cs.TaxAmount, cs.ShippingAmount = in.TaxAmount, in.ShippingAmount
	return cs, lines, nil
}

func mustParseURL(s string) *url.URL {
	u, _ := url.Parse(s) // checked by checkURL
	if u == nil {
		return &url.URL{}
	}
	return u
}

func lineError(field, code, format string, args ...any) *gateway.Error {
	e := gateway.Errorf(gateway.KindInvalid, code, field+": "+format, args...)
	e.Field = field
	return e
}

func validateLine(field string, p CheckoutProductInput) (checkoutLine, error) {
	l := checkoutLine{field: field, CheckoutLine: gateway.CheckoutLine{Quantity: 1}}
	if p.HasQuantity {
		if p.Quantity < 1 || p.Quantity > MaxQuantity {
			return l, lineError(field+".quantity", "invalid-product-quantity", "quantity must be a whole number from 1 to %d.", MaxQuantity)
		}
		l.Quantity = p.Quantity
	}
	codename := strings.TrimSpace(p.Codename)
	if codename != "" {
		if !ValidCodename(codename) {
			return l, codenameError(field+".codename", codename)
		}
		if p.HasAmount || strings.TrimSpace(p.Name) != "" || strings.TrimSpace(p.ImageURL) != "" {
			return l, lineError(field, "ambiguous-product",
				"a product names either a catalogue codename, or its own name and amount (and image_url), not both.")
		}
		l.Codename = codename
		return l, nil
	}
	var c textChecker
	l.Name = c.text(field+".name", p.Name, false)
	if c.err != nil {
		return l, lineError(field+".name", "invalid-product-name", "name must be at most %d characters without control characters.", MaxTextLength)
	}
	if l.Name == "" {
		return l, lineError(field+".name", "missing-product-name", "a product without a codename needs a name and an amount.")
	}
	if !p.HasAmount {
		return l, lineError(field+".amount", "missing-product-amount", "a product without a codename needs a name and an amount.")
	}
	if p.Amount < gateway.MinimumPaymentAmount || p.Amount > MaxCheckoutAmount {
		return l, lineError(field+".amount", "invalid-product-amount", "amount must be a whole number of minor units from %d to %d.",
			gateway.MinimumPaymentAmount, int64(MaxCheckoutAmount))
	}
	l.UnitAmount = p.Amount
	if img := strings.TrimSpace(p.ImageURL); img != "" {
		if err := checkURL(field+".image_url", "invalid-product-image-url", img, true); err != nil {
			return l, err
		}
		l.ImageURL = img
	}
	return l, nil
}

// CheckoutCreated is a created (or, with an Idempotency-Key, replayed)
// checkout session and the token of its page's URL.
type CheckoutCreated struct {
	Session  gateway.CheckoutSession
	Token    string
	Replayed bool
}

// CreateCheckout validates in, resolves its catalogue codenames and stores
// a checkout session that expires after the service's CheckoutExpiry.
func (s *Service) CreateCheckout(ctx context.Context, c Caller, in CheckoutInput, idem *Idempotency) (CheckoutCreated, error) {
	if _, ok := s.Processors[c.Environment]; !ok {
		return CheckoutCreated{}, errLiveNotConfigured
	}
	draft, lines, err := validateCheckout(in)
	if err != nil {
		return CheckoutCreated{}, err
	}
	var cs gateway.CheckoutSession
	err = s.retry(ctx, func(tx gateway.Tx) error {
		now := s.now()
		cs = draft
		cs.ID, cs.AccountID, cs.Environment, cs.Currency = gateway.NewID(), c.Account.ID, c.Environment, c.Account.Currency
		cs.TokenHash = gateway.CheckoutTokenHash(s.CheckoutToken(cs.ID))
		cs.Status, cs.CreatedAt, cs.UpdatedAt, cs.ExpiresAt, cs.Version = gateway.CheckoutOpen, now, now, now.Add(s.checkoutExpiry()), 1
		if err := s.claimKey(ctx, tx, c, idem, cs.ID, now); err != nil {
			return err
		}
		cs.Lines = make([]gateway.CheckoutLine, 0, len(lines))
		total := cs.TaxAmount + cs.ShippingAmount
		for _, l := range lines {
			if l.Codename != "" {
				p, err := tx.Product(ctx, c.Account.ID, c.Environment, l.Codename)
				if errors.Is(err, gateway.ErrNotFound) || err == nil && !p.Active {
					e := gateway.Errorf(gateway.KindInvalid, "unknown-product", "%s.codename: there is no active product %s in this account's catalogue.",
						l.field, quote(l.Codename))
					e.Field = l.field + ".codename"
					return e
				}
				if err != nil {
					return err
				}
				l.Name, l.UnitAmount, l.ImageURL = p.Name, p.Price, p.ImageURL
			}
			// Each term is at most 10^13 × 10^4, and the sum is checked
			// after every term: no overflow. A total above the account's
			// largest payment could never be paid.
			total += l.Total()
			if max := c.Account.MaxPaymentAmount(); total > max {
				return gateway.Errorf(gateway.KindInvalid, "amount-too-large", "The checkout's total must be at most %d minor units for this account.", max)
			}
			cs.Lines = append(cs.Lines, l.CheckoutLine)
		}
		if total < gateway.MinimumPaymentAmount {
			return gateway.Errorf(gateway.KindInvalid, "amount-too-small", "The checkout's total must be at least %d minor units.", gateway.MinimumPaymentAmount)
		}
		cs.Amount = total
		if err := tx.InsertCheckoutSession(ctx, cs); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, gateway.AuditEntry{ID: gateway.NewID(), At: now, Actor: c.actor(ctx), Action: "checkout.created",
			AccountID: c.Account.ID, Environment: c.Environment, ObjectID: cs.ID, RequestID: c.RequestID,
			Detail: fmt.Sprintf("amount=%d currency=%s lines=%d reference=%q", cs.Amount, cs.Currency, len(cs.Lines), cs.Reference)})
	})
	var taken *keyTaken
	if errors.As(err, &taken) {
		return s.replayCheckout(ctx, c, idem, taken.record)
	}
	if err != nil {
		return CheckoutCreated{}, err
	}
	return CheckoutCreated{Session: cs, Token: s.CheckoutToken(cs.ID)}, nil
}

// replayCheckout answers a create whose Idempotency-Key is taken: the
// session its first request created, or why not.
func (s *Service) replayCheckout(ctx context.Context, c Caller, idem *Idempotency, rec gateway.IdempotencyRecord) (CheckoutCreated, error) {
	if !hmac.Equal(rec.RequestHash, idem.Hash) || rec.TransactionID == "" {
		return CheckoutCreated{}, ErrIdempotencyKeyReused
	}
	var cs gateway.CheckoutSession
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		cs, err = tx.CheckoutSession(ctx, c.Account.ID, c.Environment, rec.TransactionID)
		return err
	})
	if err != nil {
		return CheckoutCreated{}, err
	}
	return CheckoutCreated{Session: cs, Token: s.CheckoutToken(cs.ID), Replayed: true}, nil
}

// CheckoutView is what the hosted page shows of a session.
type CheckoutView struct {
	Session      gateway.CheckoutSession
	MerchantName string
	// LastAttempt is the latest payment attempt, when the session is open
	// again after it was declined or failed (nil otherwise).
	LastAttempt *gateway.Payment
	// Expired is set when the session is open but can no longer be paid
	// because of its age.
	Expired bool
}

// Checkout finds the session of a page's token, with its merchant's name;
// ErrCheckoutNotFound for a token of no session.
func (s *Service) Checkout(ctx context.Context, token string) (CheckoutView, error) {
	var v CheckoutView
	if !gateway.ValidCheckoutToken(token) {
		return v, gateway.ErrCheckoutNotFound
	}
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		v.Session, err = tx.CheckoutSessionByToken(ctx, gateway.CheckoutTokenHash(token))
		if errors.Is(err, gateway.ErrNotFound) {
			return gateway.ErrCheckoutNotFound
		}
		if err != nil {
			return err
		}
		a, err := tx.Account(ctx, v.Session.AccountID)
		if err != nil {
			return err
		}
		v.MerchantName, v.Expired = a.Name, v.Session.Expired(s.now())
		if v.Session.Status == gateway.CheckoutOpen && v.Session.PaymentID != "" {
			p, err := tx.PaymentByTransaction(ctx, v.Session.AccountID, v.Session.Environment, v.Session.PaymentID)
			if err != nil {
				return err
			}
			v.LastAttempt = &p
		}
		return nil
	})
	return v, err
}

// PayCheckout pays the session of token with the customer's card and
// billing details (in's amount and order id are the session's): a sale
// through the same path as Charge, whose claim moves the session from
// open to paying (or, answered at once, to paid or back to open) in the
// same transaction, so that a session is paid at most once however many
// submits race, on any number of gateway processes.
func (s *Service) PayCheckout(ctx context.Context, token string, in PaymentInput, requestID string) (CheckoutView, Outcome, error) {
	v, err := s.Checkout(ctx, token)
	if err != nil {
		return v, Outcome{}, err
	}
	cs := v.Session
	if err := cs.Payable(s.now()); err != nil {
		return v, Outcome{}, err
	}
	var a gateway.Account
	err = s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		a, err = tx.Account(ctx, cs.AccountID)
		return err
	})
	if err != nil {
		return v, Outcome{}, err
	}
	c := Caller{Account: a, Environment: cs.Environment, RequestID: requestID, Actor: "checkout:" + cs.ID}
	in.Amount, in.OrderID, in.CheckoutSessionID = cs.Amount, cs.Reference, cs.ID
	if in.OrderID == "" {
		in.OrderID = cs.ID
	}
	if in.Source == "" {
		in.Source = "hosted checkout"
	}
	out, err := s.pay(ctx, c, gateway.OpCharge, in, nil)
	return v, out, err
}

// claimCheckout, in a charge's claim transaction, locks the session the
// charge pays and refuses it unless it is payable for that amount.
func claimCheckout(ctx context.Context, tx gateway.Tx, c Caller, id string, amount int64, now time.Time) (gateway.CheckoutSession, error) {
	cs, err := tx.CheckoutSession(ctx, c.Account.ID, c.Environment, id)
	if errors.Is(err, gateway.ErrNotFound) {
		return cs, gateway.ErrCheckoutNotFound
	}
	if err != nil {
		return cs, err
	}
	if err := cs.Payable(now); err != nil {
		return cs, err
	}
	if cs.Amount != amount {
		return cs, gateway.Internal(fmt.Errorf("checkout session %s: amount %d, charge of %d", cs.ID, cs.Amount, amount))
	}
	return cs, nil
}

// finishCheckout, in the transaction that records the answer to a
// session's payment p, moves the session from paying to paid, or back to
// open when p was not approved.
func (s *Service) finishCheckout(ctx context.Context, tx gateway.Tx, p gateway.Payment, now time.Time) error {
	cs, err := tx.CheckoutSession(ctx, p.AccountID, p.Environment, p.CheckoutSessionID)
	if err != nil {
		return err
	}
	if cs.Status != gateway.CheckoutPaying || cs.PaymentID != p.ID {
		return nil
	}
	return tx.UpdateCheckoutSession(ctx, cs.Attempted(p, now))
}

// CheckoutValidation is validate's answer.
type CheckoutValidation struct {
	// First is true for the first validation of the payment ("valid"),
	// false for every later one ("validated").
	First     bool
	Amount    int64
	Reference string
	Payment   gateway.Payment
}

// ValidateCheckout confirms to the merchant that paymentID (any
// transaction id of the payment) paid one of its checkout sessions. The
// first call for a payment reports First; the switch is a compare-and-set
// on the session, so that of concurrent first calls exactly one does.
func (s *Service) ValidateCheckout(ctx context.Context, c Caller, paymentID string) (CheckoutValidation, error) {
	var v CheckoutValidation
	err := s.retry(ctx, func(tx gateway.Tx) error {
		p, err := tx.PaymentForUpdate(ctx, c.Account.ID, c.Environment, paymentID)
		if errors.Is(err, gateway.ErrNotFound) {
			return paymentNotFound(paymentID)
		}
		if err != nil {
			return err
		}
		if p.CheckoutSessionID == "" {
			return gateway.Errorf(gateway.KindInvalid, "not-a-checkout-payment", "Payment %s was not made through a hosted checkout.", p.ID)
		}
		switch p.Status {
		case gateway.StatusCaptured, gateway.StatusSettled:
		case gateway.StatusPending:
			return gateway.ErrOperationInProgress
		default:
			return gateway.Errorf(gateway.KindInvalid, "checkout-payment-not-approved", "Payment %s was not approved (it is %s): the checkout is not paid.", p.ID, p.Status)
		}
		cs, err := tx.CheckoutSession(ctx, c.Account.ID, c.Environment, p.CheckoutSessionID)
		if err != nil {
			return err
		}
		v = CheckoutValidation{Amount: cs.Amount, Reference: cs.Reference, Payment: p}
		if !cs.ValidatedAt.IsZero() {
			return nil
		}
		now := s.now()
		cs.ValidatedAt, cs.UpdatedAt = now, now
		if err := tx.UpdateCheckoutSession(ctx, cs); err != nil {
			return err
		}
		v.First = true
		return tx.AppendAudit(ctx, gateway.AuditEntry{ID: gateway.NewID(), At: now, Actor: c.actor(ctx), Action: "checkout.validated",
			AccountID: c.Account.ID, Environment: c.Environment, ObjectID: cs.ID, RequestID: c.RequestID, Detail: "payment=" + p.ID})
	})
	return v, err
}
