package gateway

import "time"

// Webhook event types: one per kind of change of a payment (and of a hosted
// checkout), named after the ledger row that records it.
const (
	EventPaymentAuthorized = "payment.authorized"
	EventPaymentCaptured   = "payment.captured"
	EventPaymentDeclined   = "payment.declined"
	EventPaymentFailed     = "payment.failed"
	EventPaymentRefunded   = "payment.refunded"
	EventPaymentVoided     = "payment.voided"
	EventPaymentSettled    = "payment.settled"
	EventCheckoutCompleted = "checkout.completed"
)

// EventTypes lists every webhook event type, in the order documented.
var EventTypes = []string{
	EventPaymentAuthorized, EventPaymentCaptured, EventPaymentDeclined, EventPaymentFailed,
	EventPaymentRefunded, EventPaymentVoided, EventPaymentSettled, EventCheckoutCompleted,
}

// EventType names the event a final ledger row announces: what the
// transaction did, by operation and result.
func EventType(op Operation, r Result) string {
	switch {
	case r == ResultPending:
		return "payment.pending" // never an event: pending rows are not final
	case r == ResultDeclined:
		return EventPaymentDeclined
	case r == ResultError:
		return EventPaymentFailed
	case op == OpAuthorize:
		return EventPaymentAuthorized
	case op == OpCharge, op == OpCapture:
		return EventPaymentCaptured
	case op == OpRefund:
		return EventPaymentRefunded
	case op == OpSettle:
		return EventPaymentSettled
	default:
		return EventPaymentVoided
	}
}

// EventID is the id of the event a ledger transaction announces: derived
// from the transaction, so that it is the same in every retry, every
// process and every resend. kind is "" for the payment event, or a suffix
// for another event of the same row (checkout.completed).
func EventID(txID, kind string) string {
	if kind == "" {
		return "evt_" + txID
	}
	return "evt_" + txID + "_" + kind
}

// WebhookEndpoint is where an account's events of one environment are
// POSTed. The signing secret is kept sealed (SealedSecret); during a
// rotation the previous one signs too, until PreviousUntil.
type WebhookEndpoint struct {
	ID          string
	AccountID   string
	Environment Environment
	URL         string
	// Events lists the event types sent; empty means every type.
	Events  []string
	Enabled bool
	// SealedSecret is the signing secret encrypted under a key derived
	// from the server secret; SealedPrevious the one before a rotation.
	SealedSecret, SealedPrevious []byte
	PreviousUntil                time.Time // zero: no previous secret
	CreatedAt                    time.Time
	UpdatedAt                    time.Time
}

// Wants reports whether the endpoint takes events of type eventType.
func (e WebhookEndpoint) Wants(eventType string) bool {
	if !e.Enabled {
		return false
	}
	if len(e.Events) == 0 {
		return true
	}
	for _, t := range e.Events {
		if t == eventType {
			return true
		}
	}
	return false
}

// DeliveryStatus is where a webhook delivery is.
type DeliveryStatus string

const (
	// DeliveryPending is waiting for its next attempt (NextAttemptAt), or
	// being sent by a process whose lease ends at NextAttemptAt.
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryDelivered was answered 2xx.
	DeliveryDelivered DeliveryStatus = "delivered"
	// DeliveryFailed was given up after its retries.
	DeliveryFailed DeliveryStatus = "failed"
)

// WebhookDelivery is one event for one endpoint and its attempts so far.
// It keeps what the event announces (Transaction: the ledger row as JSON);
// each attempt renders the envelope around it with the payment as it is
// then, so that a delivery row stays small.
type WebhookDelivery struct {
	Seq         int64 // order of fan-out: the ledger's commit order
	EventID     string
	EndpointID  string
	AccountID   string
	Environment Environment
	EventType   string
	PaymentID   string
	Transaction []byte    // the ledger row, as the envelope's data.transaction
	EventAt     time.Time // when the change was made
	Status      DeliveryStatus
	// NextAttemptAt is when a pending delivery is due; while a process
	// sends it, the end of that process's lease.
	NextAttemptAt time.Time
	// GiveUpAt is when retries stop: the delivery is marked failed after
	// its first failed attempt past it.
	GiveUpAt    time.Time
	DeliveredAt time.Time
	Attempts    []WebhookAttempt
}

// WebhookAttempt records one POST of a delivery.
type WebhookAttempt struct {
	At      time.Time `json:"at"`
	Status  int       `json:"status"` // HTTP status; 0 when none came
	Latency int64     `json:"latency_ms"`
	Error   string    `json:"error,omitempty"`   // why no status came (timeout, refused address)
	Snippet string    `json:"snippet,omitempty"` // the start of the answer's body
}

// MaxWebhookAttemptsKept bounds the attempts a delivery keeps (the latest).
const MaxWebhookAttemptsKept = 40
