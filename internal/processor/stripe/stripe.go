// Package stripe is the live connector to Stripe (docs/processors.md): a
// charge is a PaymentIntent confirmed with automatic capture, an
// authorization one with manual capture, a capture (partial allowed) is
// the intent's capture, a void its cancellation (or, once captured, the
// refund of the capture), and refunds (partial, repeated) are Refunds.
//
// Every request that can move money carries the idempotency key
// "cartgateway-" + the gateway transaction's id, and the id in the
// object's metadata, so that a request sent again (stripe-go's retries,
// the reconciler) is answered with what was done the first time and never
// does it twice. The card number and CVV go to Stripe in the request that
// makes the PaymentMethod and are kept nowhere.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	sg "github.com/stripe/stripe-go/v82"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Name is the connector's name in `accounts set-processor --processor`.
const Name = "stripe"

// Connector makes an account's Stripe processor.
var Connector = gateway.Connector{CheckSecret: CheckSecret, New: New}

// maxRetries is how many times a request is sent again with the same
// idempotency key: by stripe-go after a network error or a timeout, and
// by withRetries after a 5xx or a 409 (with backoff from 0.5 s, within
// the service's deadline).
const maxRetries = 2

// defaultAttemptTimeout bounds one HTTP attempt when the service gives no
// bound.
const defaultAttemptTimeout = 10 * time.Second

// Metadata keys set on every PaymentIntent and Refund the gateway makes.
const (
	metaReference = "cartgateway_reference" // the gateway transaction id
	metaOrder     = "cartgateway_order_id"
	metaFence     = "cartgateway_fence" // set on the reconciler's fence (resolve.go)
)

// CheckSecret accepts Stripe secret and restricted keys, and refuses a
// publishable key or anything else by its form (not by asking Stripe).
func CheckSecret(secret string) error {
	for _, prefix := range []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_"} {
		if strings.HasPrefix(secret, prefix) {
			if len(secret) < len(prefix)+8 || strings.ContainsAny(secret, " \t\r\n") {
				break
			}
			return nil
		}
	}
	if strings.HasPrefix(secret, "pk_") {
		return gateway.Errorf(gateway.KindInvalid, "invalid-processor-secret",
			"That is a Stripe publishable key (pk_…); give the secret key (sk_live_…) or a restricted key (rk_live_…).")
	}
	return gateway.Errorf(gateway.KindInvalid, "invalid-processor-secret",
		"A Stripe secret key starts with sk_live_, sk_test_, rk_live_ or rk_test_ and has no spaces.")
}

// Processor is one account's Stripe connection.
type Processor struct {
	client  *sg.Client
	account string
	log     *slog.Logger
}

var _ gateway.Processor = (*Processor)(nil)

// New builds an account's processor. stripe-go logs nothing (its logger
// could repeat request details); the processor logs Stripe's refusals
// with their request ids, never a key or card data.
func New(cfg gateway.ConnectorConfig) (gateway.Processor, error) {
	if err := CheckSecret(cfg.Secret); err != nil {
		return nil, err
	}
	base := cfg.APIBase
	if base == "" {
		base = sg.APIURL
	} else if !gateway.ValidAPIBase(base) {
		return nil, fmt.Errorf("stripe: API base %q is not an https URL (or http to loopback)", base)
	}
	timeout := cfg.AttemptTimeout
	if timeout <= 0 {
		timeout = defaultAttemptTimeout
	}
	backends := sg.NewBackendsWithConfig(&sg.BackendConfig{
		URL:               sg.String(strings.TrimSuffix(base, "/")),
		HTTPClient:        &http.Client{Timeout: timeout},
		MaxNetworkRetries: sg.Int64(maxRetries),
		LeveledLogger:     &sg.LeveledLogger{Level: sg.LevelNull},
		EnableTelemetry:   sg.Bool(false),
	})
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Processor{client: sg.NewClient(cfg.Secret, sg.WithBackends(backends)), account: cfg.AccountID,
		log: log.With("processor", Name, "account_id", cfg.AccountID)}, nil
}

// idempotencyKey is the key of the request that carries out the gateway
// transaction ref.
func idempotencyKey(ref string) string { return "cartgateway-" + ref }

func params(ref, suffix string) sg.Params {
	p := sg.Params{}
	p.SetIdempotencyKey(idempotencyKey(ref) + suffix)
	return p
}

// Authorize makes a PaymentMethod of the card, then a PaymentIntent of it
// confirmed at once: captured automatically for a charge, held for an
// authorization.
func (p *Processor) Authorize(ctx context.Context, req gateway.AuthorizationRequest) (gateway.AuthorizationResult, error) {
	pm, err := withRetries(ctx, func() (*sg.PaymentMethod, error) {
		return p.client.V1PaymentMethods.Create(ctx, paymentMethodParams(req))
	})
	if err != nil {
		// Making a PaymentMethod moves no money: whatever became of the
		// request, nothing was charged.
		if kind, e := classify(err); kind == declined {
			return declineResult(e, ""), nil
		}
		return gateway.AuthorizationResult{}, p.refusal("create the payment method", req.Reference, err)
	}
	pi, err := withRetries(ctx, func() (*sg.PaymentIntent, error) {
		return p.client.V1PaymentIntents.Create(ctx, intentParams(req, pm.ID))
	})
	if err != nil {
		switch kind, e := classify(err); kind {
		case declined:
			ref := ""
			if e.PaymentIntent != nil {
				ref = e.PaymentIntent.ID
			}
			return declineResult(e, ref), nil
		case refused:
			return gateway.AuthorizationResult{}, p.refusal("create the payment intent", req.Reference, err)
		}
		return gateway.AuthorizationResult{}, p.unknown("create the payment intent", req.Reference, err)
	}
	res, known := intentResult(pi)
	if !known {
		return res, p.unknown("create the payment intent", req.Reference, fmt.Errorf("intent %s is %s", pi.ID, pi.Status))
	}
	if !res.Approved && pi.LastPaymentError == nil {
		// Confirmed but neither approved nor declined (an authentication
		// that error_on_requires_action should have refused): cancel it so
		// that it cannot complete later.
		p.cancelQuietly(ctx, pi.ID, req.Reference)
	}
	return res, nil
}

func paymentMethodParams(req gateway.AuthorizationRequest) *sg.PaymentMethodCreateParams {
	c := req.Customer
	name := req.CardholderName // the name on the card, when the hosted page asked for it
	if name == "" {
		name = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	return &sg.PaymentMethodCreateParams{
		Params: params(req.Reference, "-payment-method"),
		Type:   sg.String("card"),
		Card: &sg.PaymentMethodCreateCardParams{
			Number: sg.String(req.CardNumber), CVC: sg.String(req.CVV),
			ExpMonth: sg.Int64(int64(req.ExpMonth)), ExpYear: sg.Int64(int64(req.ExpYear)),
		},
		BillingDetails: &sg.PaymentMethodCreateBillingDetailsParams{
			Name: optional(name), Email: optional(c.Email),
			Address: &sg.AddressParams{Line1: optional(req.Address), PostalCode: optional(req.Zip),
				City: optional(c.City), State: optional(c.State), Country: optional(c.Country)},
		},
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return sg.String(s)
}

func intentParams(req gateway.AuthorizationRequest, paymentMethod string) *sg.PaymentIntentCreateParams {
	capture := "manual"
	if req.Capture {
		capture = "automatic"
	}
	pi := &sg.PaymentIntentCreateParams{
		Params:                params(req.Reference, ""),
		Amount:                sg.Int64(req.Amount),
		Currency:              sg.String(strings.ToLower(req.Currency)),
		PaymentMethod:         sg.String(paymentMethod),
		PaymentMethodTypes:    []*string{sg.String("card")},
		Confirm:               sg.Bool(true),
		CaptureMethod:         sg.String(capture),
		ErrorOnRequiresAction: sg.Bool(true),
		Description:           optional(describe(req.OrderID)),
	}
	pi.AddMetadata(metaReference, req.Reference)
	if req.OrderID != "" {
		pi.AddMetadata(metaOrder, req.OrderID)
	}
	pi.AddExpand("latest_charge")
	return pi
}

func describe(orderID string) string {
	if orderID == "" {
		return ""
	}
	return "Order " + orderID
}

// intentResult reads a confirmed PaymentIntent: approved (held or
// captured), declined, or (known false) not settled yet.
func intentResult(pi *sg.PaymentIntent) (res gateway.AuthorizationResult, known bool) {
	switch pi.Status {
	case sg.PaymentIntentStatusSucceeded, sg.PaymentIntentStatusRequiresCapture:
		res = gateway.AuthorizationResult{Approved: true, ProcessorRef: pi.ID}
		res.AVSCode, res.CVVCode = checks(pi.LatestCharge)
		return res, true
	case sg.PaymentIntentStatusProcessing:
		return res, false
	}
	// requires_payment_method after a confirmation: declined (the error
	// says why); requires_action or canceled: not approved.
	e := pi.LastPaymentError
	if e == nil {
		e = &sg.Error{Type: sg.ErrorTypeCard, Code: "card_declined"}
		if pi.Status == sg.PaymentIntentStatusRequiresAction {
			e.Code = "authentication_required"
		}
	}
	return declineResult(e, pi.ID), true
}

// checks reads the AVS and CVV results of a charge ("" without one).
func checks(ch *sg.Charge) (avs, cvv string) {
	if ch == nil || ch.PaymentMethodDetails == nil || ch.PaymentMethodDetails.Card == nil || ch.PaymentMethodDetails.Card.Checks == nil {
		return "", ""
	}
	c := ch.PaymentMethodDetails.Card.Checks
	return avsCode(string(c.AddressLine1Check), string(c.AddressPostalCodeCheck)), cvvCode(string(c.CVCCheck))
}

// declineResult is a decline's answer; an incorrect CVC shows in the CVV
// result too.
func declineResult(e *sg.Error, ref string) gateway.AuthorizationResult {
	code := declineCode(e)
	res := gateway.AuthorizationResult{DeclineCode: code, Message: gateway.DeclineMessage(code), ProcessorRef: ref}
	if code == "incorrect-cvv" {
		res.CVVCode = "N"
	}
	return res
}

// Capture captures amount (all or part) of the held PaymentIntent.
func (p *Processor) Capture(ctx context.Context, req gateway.ChangeRequest) error {
	_, err := withRetries(ctx, func() (*sg.PaymentIntent, error) {
		return p.client.V1PaymentIntents.Capture(ctx, req.Payment.ProcessorRef, captureParams(req.Reference, req.Amount))
	})
	return p.changeError("capture", req.Reference, err)
}

func captureParams(ref string, amount int64) *sg.PaymentIntentCaptureParams {
	c := &sg.PaymentIntentCaptureParams{Params: params(ref, ""), AmountToCapture: sg.Int64(amount)}
	c.AddMetadata(metaReference, ref)
	return c
}

// Refund refunds amount of the captured PaymentIntent; refunds repeat.
func (p *Processor) Refund(ctx context.Context, req gateway.ChangeRequest) error {
	return p.refund(ctx, "refund", req.Reference, req.Payment.ProcessorRef, req.Amount)
}

func (p *Processor) refund(ctx context.Context, what, ref, intent string, amount int64) error {
	r, err := withRetries(ctx, func() (*sg.Refund, error) {
		return p.client.V1Refunds.Create(ctx, refundParams(ref, intent, amount))
	})
	if err == nil && (r.Status == sg.RefundStatusFailed || r.Status == sg.RefundStatusCanceled) {
		p.log.Warn("stripe refused a "+what, "reference", ref, "refund", r.ID, "status", r.Status)
		return fmt.Errorf("stripe: refund %s is %s: %w", r.ID, r.Status, gateway.ErrProcessor)
	}
	return p.changeError(what, ref, err)
}

func refundParams(ref, intent string, amount int64) *sg.RefundCreateParams {
	r := &sg.RefundCreateParams{Params: params(ref, ""), PaymentIntent: sg.String(intent), Amount: sg.Int64(amount)}
	r.AddMetadata(metaReference, ref)
	return r
}

// Void cancels the held PaymentIntent; a captured one (not settled yet at
// the gateway, but captured at Stripe) cannot be cancelled, so its capture
// is refunded whole.
func (p *Processor) Void(ctx context.Context, req gateway.ChangeRequest) error {
	if voidsCapture(req.Payment) {
		return p.refund(ctx, "void", req.Reference, req.Payment.ProcessorRef, req.Amount)
	}
	_, err := withRetries(ctx, func() (*sg.PaymentIntent, error) {
		return p.client.V1PaymentIntents.Cancel(ctx, req.Payment.ProcessorRef, cancelParams(req.Reference, ""))
	})
	return p.changeError("void", req.Reference, err)
}

// voidsCapture tells a void of a captured payment (a refund at Stripe)
// from that of an authorization, by the payment before or after the void.
func voidsCapture(p gateway.Payment) bool { return p.CapturedAmount > 0 }

func cancelParams(ref, suffix string) *sg.PaymentIntentCancelParams {
	return &sg.PaymentIntentCancelParams{Params: params(ref, suffix)}
}

// cancelQuietly cancels an intent that must not complete; a failure is
// logged, and the reconciler's reading of the intent stays right either way.
func (p *Processor) cancelQuietly(ctx context.Context, intent, ref string) {
	if _, err := p.client.V1PaymentIntents.Cancel(ctx, intent, cancelParams(ref, "-cancel")); err != nil {
		p.log.Warn("stripe: could not cancel an intent that was not approved", "reference", ref, "intent", intent, "err", describeError(err))
	}
}

// changeError turns a capture's, refund's or void's error into the
// processor interface's terms.
func (p *Processor) changeError(what, ref string, err error) error {
	if err == nil {
		return nil
	}
	if kind, _ := classify(err); kind != unknown {
		return p.refusal(what, ref, err)
	}
	return p.unknown(what, ref, err)
}

// refusal is a request that Stripe says it did not carry out:
// gateway.ErrProcessor, with Stripe's reason logged.
func (p *Processor) refusal(what, ref string, err error) error {
	p.log.Warn("stripe refused to "+what, "reference", ref, "err", describeError(err))
	return fmt.Errorf("stripe: %s: %s: %w", what, describeError(err), gateway.ErrProcessor)
}

// unknown is a request whose outcome Stripe has not told: the operation
// stays pending for the reconciler.
func (p *Processor) unknown(what, ref string, err error) error {
	return fmt.Errorf("stripe: %s (outcome unknown): %s", what, describeError(err))
}

// describeError is an error's text for logs: Stripe's code, message and
// request id, not its whole JSON.
func describeError(err error) string {
	var e *sg.Error
	if errors.As(err, &e) {
		code := string(e.Code)
		if e.DeclineCode != "" {
			code += "/" + string(e.DeclineCode)
		}
		return fmt.Sprintf("%d %s %s: %s (request %s)", e.HTTPStatusCode, e.Type, code, e.Msg, e.RequestID)
	}
	return err.Error()
}
