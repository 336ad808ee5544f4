package stripe

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sg "github.com/stripe/stripe-go/v82"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Resolve tells what became of an operation whose answer was lost,
// asking Stripe only what it answers consistently (ADR 13): an object by
// its id, a PaymentIntent's refunds, and the idempotency keys themselves.
// It never guesses: when Stripe cannot tell yet, it returns an error and
// the operation stays pending for the reconciler's next run.
func (p *Processor) Resolve(ctx context.Context, req gateway.ResolveRequest) (gateway.Resolution, error) {
	t := req.Transaction
	switch t.Operation {
	case gateway.OpCharge, gateway.OpAuthorize:
		return p.resolveAuthorization(ctx, req)
	case gateway.OpCapture:
		return p.resolveCapture(ctx, req)
	case gateway.OpRefund:
		return p.resolveRefund(ctx, t.ID, req.Payment.ProcessorRef, t.Amount)
	case gateway.OpVoid:
		if voidsCapture(req.Payment) {
			return p.resolveRefund(ctx, t.ID, req.Payment.ProcessorRef, t.Amount)
		}
		return p.resolveCancel(ctx, req)
	}
	return gateway.Resolution{}, fmt.Errorf("stripe: cannot resolve a %s", t.Operation)
}

// resolveAuthorization finds out whether the PaymentIntent of a charge or
// authorization was made. Its request cannot be sent again (the card
// number is gone), so first a fence: an unconfirmed intent created under
// the same idempotency key with other parameters. If Stripe makes it, the
// original request never ran, and now never will (its key is taken):
// nothing moved. If Stripe refuses it as an idempotency error, the
// original ran (to an intent, or to an error Stripe saved under its key):
// its intent is then looked for by the reference in its metadata.
func (p *Processor) resolveAuthorization(ctx context.Context, req gateway.ResolveRequest) (gateway.Resolution, error) {
	t := req.Transaction
	fence, err := withRetries(ctx, func() (*sg.PaymentIntent, error) {
		return p.client.V1PaymentIntents.Create(ctx, fenceParams(t, req.Payment.Currency))
	})
	if err == nil {
		// The fence took the key: the original never ran. The fence holds
		// nothing (it is never confirmed); cancelling it only tidies up.
		p.cancelQuietly(ctx, fence.ID, t.ID)
		if time.Since(t.CreatedAt) < keyLifetime {
			p.log.Info("stripe never received the request: recorded as not done", "reference", t.ID)
			return gateway.Resolution{Received: false}, nil
		}
		// Stripe forgets keys after a day: the key may have been free
		// again, so the intents themselves decide.
		return p.resolveByIntent(ctx, t)
	}
	if kind, e := classify(err); kind != unknown || e == nil || e.Type != sg.ErrorTypeIdempotency {
		// The fence neither ran nor met the original (a 409: the original
		// is still running; a 5xx, the network): try again later.
		return gateway.Resolution{}, fmt.Errorf("stripe: fence for %s: %s", t.ID, describeError(err))
	}
	return p.resolveByIntent(ctx, t)
}

// keyLifetime is how long Stripe keeps an idempotency key (24 hours), less
// a margin for clocks.
const keyLifetime = 23 * time.Hour

// resolveByIntent reads the outcome of a charge or authorization from its
// intent, once the request is known to have run (or the key to have
// expired).
func (p *Processor) resolveByIntent(ctx context.Context, t gateway.Transaction) (gateway.Resolution, error) {
	pi, err := p.findIntent(ctx, t)
	if err != nil {
		return gateway.Resolution{}, err
	}
	if pi == nil {
		// The original ran to an error without making an intent.
		p.log.Info("stripe ran the request but made no payment intent: recorded as not done", "reference", t.ID)
		return gateway.Resolution{Received: false}, nil
	}
	res, known := intentResult(pi)
	if !known {
		return gateway.Resolution{}, fmt.Errorf("stripe: intent %s of %s is still %s", pi.ID, t.ID, pi.Status)
	}
	if !res.Approved && pi.LastPaymentError == nil {
		p.cancelQuietly(ctx, pi.ID, t.ID)
	}
	return gateway.Resolution{Received: true, Authorization: res}, nil
}

// fenceParams is the fence's request: the original's key and amount, but
// never confirmed and without a payment method, so that Stripe's
// idempotency layer tells the two apart.
func fenceParams(t gateway.Transaction, currency string) *sg.PaymentIntentCreateParams {
	f := &sg.PaymentIntentCreateParams{
		Params:             params(t.ID, ""),
		Amount:             sg.Int64(t.Amount),
		Currency:           sg.String(strings.ToLower(currency)),
		PaymentMethodTypes: []*string{sg.String("card")},
		CaptureMethod:      sg.String("manual"),
		Description:        sg.String("CartGateway reconciliation fence (never confirmed)"),
	}
	f.AddMetadata(metaReference, t.ID)
	f.AddMetadata(metaFence, "true")
	return f
}

// findIntent finds the PaymentIntent made for a gateway transaction by the
// reference in its metadata (never the fence: a fence that exists took
// the key, and then there is no other intent), or nil if there is none.
// Search is quick but lags behind writes (under a minute, Stripe says), so
// when it finds nothing, the list of intents created since the
// transaction began, which Stripe answers consistently, decides.
func (p *Processor) findIntent(ctx context.Context, t gateway.Transaction) (*sg.PaymentIntent, error) {
	mine := func(pi *sg.PaymentIntent) bool {
		return pi.Metadata[metaReference] == t.ID && pi.Metadata[metaFence] == ""
	}
	q := &sg.PaymentIntentSearchParams{SearchParams: sg.SearchParams{
		Query: fmt.Sprintf("metadata['%s']:'%s'", metaReference, t.ID), Limit: sg.Int64(10)}}
	q.AddExpand("data.latest_charge")
	for pi, err := range p.client.V1PaymentIntents.Search(ctx, q) {
		if err != nil {
			return nil, fmt.Errorf("stripe: search the intent of %s: %s", t.ID, describeError(err))
		}
		if mine(pi) {
			return pi, nil
		}
	}
	list := &sg.PaymentIntentListParams{CreatedRange: &sg.RangeQueryParams{
		GreaterThanOrEqual: t.CreatedAt.Add(-clockSkew).Unix()}}
	list.Limit = sg.Int64(100)
	list.AddExpand("data.latest_charge")
	for pi, err := range p.client.V1PaymentIntents.List(ctx, list) {
		if err != nil {
			return nil, fmt.Errorf("stripe: list the intents since %s: %s", t.ID, describeError(err))
		}
		if mine(pi) {
			return pi, nil
		}
	}
	return nil, nil
}

// clockSkew is how far Stripe's clock may be behind the gateway's, for
// the list of intents made since a transaction began.
const clockSkew = 10 * time.Minute

// resolveCapture reads the intent: captured, cancelled, or still held,
// in which case the capture is sent again with its key (Stripe answers
// with the first capture's result if it ran, or runs it now).
func (p *Processor) resolveCapture(ctx context.Context, req gateway.ResolveRequest) (gateway.Resolution, error) {
	t := req.Transaction
	pi, err := p.client.V1PaymentIntents.Retrieve(ctx, req.Payment.ProcessorRef, nil)
	if err != nil {
		return p.resolveError("retrieve the intent", t.ID, err)
	}
	switch pi.Status {
	case sg.PaymentIntentStatusSucceeded:
		return gateway.Resolution{Received: true}, nil
	case sg.PaymentIntentStatusCanceled:
		return gateway.Resolution{Received: false}, nil
	case sg.PaymentIntentStatusRequiresCapture:
		_, err := withRetries(ctx, func() (*sg.PaymentIntent, error) {
			return p.client.V1PaymentIntents.Capture(ctx, pi.ID, captureParams(t.ID, t.Amount))
		})
		return p.replayed("capture", t.ID, err)
	}
	return gateway.Resolution{}, fmt.Errorf("stripe: intent %s is %s; cannot tell whether %s captured it", pi.ID, pi.Status, t.ID)
}

// resolveRefund looks for the refund by the reference in its metadata
// among the intent's refunds (a list Stripe answers consistently); if
// none has it, the refund is sent again with its key.
func (p *Processor) resolveRefund(ctx context.Context, ref, intent string, amount int64) (gateway.Resolution, error) {
	list := &sg.RefundListParams{PaymentIntent: sg.String(intent)}
	list.Limit = sg.Int64(100)
	for r, err := range p.client.V1Refunds.List(ctx, list) {
		if err != nil {
			return p.resolveError("list the intent's refunds", ref, err)
		}
		if r.Metadata[metaReference] != ref {
			continue
		}
		done := r.Status != sg.RefundStatusFailed && r.Status != sg.RefundStatusCanceled
		return gateway.Resolution{Received: done}, nil
	}
	r, err := withRetries(ctx, func() (*sg.Refund, error) {
		return p.client.V1Refunds.Create(ctx, refundParams(ref, intent, amount))
	})
	if err == nil && (r.Status == sg.RefundStatusFailed || r.Status == sg.RefundStatusCanceled) {
		return gateway.Resolution{Received: false}, nil
	}
	return p.replayed("refund", ref, err)
}

// resolveCancel reads the intent of a voided authorization: cancelled, or
// still held, in which case the cancellation is sent again with its key.
func (p *Processor) resolveCancel(ctx context.Context, req gateway.ResolveRequest) (gateway.Resolution, error) {
	t := req.Transaction
	pi, err := p.client.V1PaymentIntents.Retrieve(ctx, req.Payment.ProcessorRef, nil)
	if err != nil {
		return p.resolveError("retrieve the intent", t.ID, err)
	}
	switch pi.Status {
	case sg.PaymentIntentStatusCanceled:
		return gateway.Resolution{Received: true}, nil
	case sg.PaymentIntentStatusRequiresCapture:
		_, err := withRetries(ctx, func() (*sg.PaymentIntent, error) {
			return p.client.V1PaymentIntents.Cancel(ctx, pi.ID, cancelParams(t.ID, ""))
		})
		return p.replayed("void", t.ID, err)
	}
	// Captured (succeeded) or never held: the void did not happen.
	return gateway.Resolution{Received: false}, nil
}

// replayed reads the answer to a request sent again with its first key:
// done, refused (nothing moved), or still unknown.
func (p *Processor) replayed(what, ref string, err error) (gateway.Resolution, error) {
	if err == nil {
		return gateway.Resolution{Received: true}, nil
	}
	if kind, _ := classify(err); kind != unknown {
		p.log.Warn("stripe refused a "+what+" sent again by the reconciler: recorded as not done", "reference", ref, "err", describeError(err))
		return gateway.Resolution{Received: false}, nil
	}
	return gateway.Resolution{}, fmt.Errorf("stripe: %s %s sent again: %s", what, ref, describeError(err))
}

// resolveError answers a read that failed: an object Stripe does not have
// means the operation on it never happened; anything else is tried again.
func (p *Processor) resolveError(what, ref string, err error) (gateway.Resolution, error) {
	if kind, e := classify(err); kind == refused && e.Code == sg.ErrorCodeResourceMissing {
		return gateway.Resolution{Received: false}, nil
	}
	return gateway.Resolution{}, fmt.Errorf("stripe: %s for %s: %s", what, ref, describeError(err))
}

// errIrreversible refuses to reverse what Stripe cannot undo.
var errIrreversible = errors.New("stripe: a capture, refund or void cannot be reversed; the operation stays pending for Resolve")

// Reverse undoes a charge or authorization whose outcome could not be
// resolved: its intent, if one was made, is cancelled (held) or refunded
// (captured). Resolve never gives up on the other operations, so they are
// never reversed. Reverse is safe for a request Stripe never received:
// the fence then takes its key.
func (p *Processor) Reverse(ctx context.Context, req gateway.ResolveRequest) error {
	t := req.Transaction
	if t.Operation != gateway.OpCharge && t.Operation != gateway.OpAuthorize {
		return errIrreversible
	}
	res, err := p.resolveAuthorization(ctx, req)
	if err != nil || !res.Received || !res.Authorization.Approved {
		return err
	}
	intent := res.Authorization.ProcessorRef
	if t.Operation == gateway.OpAuthorize {
		_, err = p.client.V1PaymentIntents.Cancel(ctx, intent, cancelParams(t.ID, "-reverse"))
		return p.changeError("reverse", t.ID, err)
	}
	r, err := p.client.V1Refunds.Create(ctx, &sg.RefundCreateParams{Params: params(t.ID, "-reverse"), PaymentIntent: sg.String(intent)})
	if err == nil && (r.Status == sg.RefundStatusFailed || r.Status == sg.RefundStatusCanceled) {
		return fmt.Errorf("stripe: reversal refund %s is %s", r.ID, r.Status)
	}
	return p.changeError("reverse", t.ID, err)
}
