package httpapi

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

const approved = "Approved and Completed"

type paymentAnswer struct {
	Success    int    `json:"success"`
	Message    string `json:"message"`
	ID         string `json:"id"`
	AVSCode    string `json:"avs_code"`
	AVSMessage string `json:"avs_message"`
	CVVCode    string `json:"cvv_code"`
	CVVMessage string `json:"cvv_message"`
}

type captureAnswer struct {
	Success             int    `json:"success"`
	Message             string `json:"message"`
	ID                  string `json:"id"`
	AuthorizedPaymentID string `json:"authorized_payment_id"`
}

type changeAnswer struct {
	Success int    `json:"success"`
	Message string `json:"message"`
	ID      string `json:"id"`
}

type lookupAnswer struct {
	Success int         `json:"success"`
	Message string      `json:"message"`
	ID      string      `json:"id"`
	Data    paymentData `json:"data"`
}

// operation is one POST endpoint that changes money: it decodes the body,
// runs the service and renders the outcome.
type operation struct {
	name   string
	run    func(r *http.Request, c service.Caller, body []byte, idem *service.Idempotency) (service.Outcome, error)
	render func(service.Outcome) any
}

func (h *API) operations() []operation {
	pay := func(charge bool) func(*http.Request, service.Caller, []byte, *service.Idempotency) (service.Outcome, error) {
		return func(r *http.Request, c service.Caller, body []byte, idem *service.Idempotency) (service.Outcome, error) {
			req, err := decodePayment(body)
			if err != nil {
				return service.Outcome{}, err
			}
			if charge {
				return h.Service.Charge(r.Context(), c, req, idem)
			}
			return h.Service.Authorize(r.Context(), c, req, idem)
		}
	}
	renderPayment := func(o service.Outcome) any {
		p := o.Payment
		return paymentAnswer{Success: 1, Message: approved, ID: o.Transaction.ID,
			AVSCode: p.AVSCode, AVSMessage: gateway.AVSMessage(p.AVSCode), CVVCode: p.CVVCode, CVVMessage: gateway.CVVMessage(p.CVVCode)}
	}
	renderChange := func(o service.Outcome) any {
		return changeAnswer{Success: 1, Message: approved, ID: o.Transaction.ID}
	}
	return []operation{
		{name: "authorize", run: pay(false), render: renderPayment},
		{name: "charge", run: pay(true), render: renderPayment},
		{name: "capture", run: func(r *http.Request, c service.Caller, body []byte, idem *service.Idempotency) (service.Outcome, error) {
			id, amount, err := decodeChange(body, "authorized_payment_id", true)
			if err != nil {
				return service.Outcome{}, err
			}
			return h.Service.Capture(r.Context(), c, id, amount, idem)
		}, render: func(o service.Outcome) any {
			return captureAnswer{Success: 1, Message: approved, ID: o.Transaction.ID, AuthorizedPaymentID: o.Payment.ID}
		}},
		{name: "refund", run: func(r *http.Request, c service.Caller, body []byte, idem *service.Idempotency) (service.Outcome, error) {
			id, amount, err := decodeChange(body, "payment_id", true)
			if err != nil {
				return service.Outcome{}, err
			}
			return h.Service.Refund(r.Context(), c, id, amount, idem)
		}, render: renderChange},
		{name: "void", run: func(r *http.Request, c service.Caller, body []byte, idem *service.Idempotency) (service.Outcome, error) {
			id, _, err := decodeChange(body, "payment_id", false)
			if err != nil {
				return service.Outcome{}, err
			}
			return h.Service.Void(r.Context(), c, id, idem)
		}, render: renderChange},
	}
}

// serveOperation authenticates, applies the Idempotency-Key, runs op and
// answers.
func (h *API) serveOperation(op operation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, body, ok := h.begin(w, r)
		if !ok {
			return
		}
		var idem *service.Idempotency
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			if len(key) > 255 {
				h.Fail(w, r, invalid("invalid-idempotency-key", "The Idempotency-Key header must be at most 255 characters."))
				return
			}
			idem = &service.Idempotency{Key: key, Hash: h.Service.RequestHash(r.URL.Path, body)}
		}
		out, err := op.run(r, c, body, idem)
		var stored *service.ReplayError
		switch {
		case errors.As(err, &stored):
			// A key claimed before the answer was stored by reference.
			w.Header().Set("Idempotent-Replayed", "true")
			h.observePayment(op.name, "replayed")
			writeRaw(w, stored.Record.Status, stored.Record.Body)
		case errors.Is(err, service.ErrIdempotencyKeyReused):
			h.Fail(w, r, err)
		case errors.Is(err, service.ErrIdempotencyKeyInProgress):
			w.Header().Set("Retry-After", "1")
			h.observePayment(op.name, "in-progress")
			h.Fail(w, r, err)
		case out.Replayed:
			// The first request's answer, with its request id.
			w.Header().Set("Idempotent-Replayed", "true")
			h.observePayment(op.name, "replayed")
			if err != nil {
				status, body := renderError(err, out.Transaction.RequestID)
				writeRaw(w, status, body)
				return
			}
			writeJSON(w, http.StatusOK, op.render(out))
		case err != nil:
			h.observePayment(op.name, outcomeOf(err))
			h.Fail(w, r, err)
		default:
			h.observePayment(op.name, outcomeOf(nil))
			writeJSON(w, http.StatusOK, op.render(out))
		}
	}
}

func (h *API) lookup(w http.ResponseWriter, r *http.Request) {
	c, body, ok := h.begin(w, r)
	if !ok {
		return
	}
	id, _, err := decodeChange(body, "payment_id", false)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	p, err := h.Service.Lookup(r.Context(), c, id)
	if err != nil {
		h.Fail(w, r, err)
		return
	}
	answer := lookupAnswer{Success: 1, Message: "Payment found", ID: p.ID, Data: newPaymentData(p)}
	buf := answerBuffers.Get().(*[]byte)
	out := answer.appendJSON((*buf)[:0])
	writeRaw(w, http.StatusOK, out) // copies out into the connection's buffer
	if cap(out) <= maxPooledAnswer {
		*buf = out[:0]
		answerBuffers.Put(buf)
	}
}

// answerBuffers hold lookup answers while they are written: a fresh 2 KB
// buffer per lookup was one of its larger allocations.
var answerBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 2048)
	return &b
}}

// maxPooledAnswer keeps the answer of a payment with many transactions
// from pinning a large buffer in the pool.
const maxPooledAnswer = 16 << 10

// paymentData is a payment as lookup shows it: never a card number or CVV.
type paymentData struct {
	ID               string       `json:"id"`
	Status           string       `json:"status"`
	Environment      string       `json:"environment"`
	Currency         string       `json:"currency"`
	Amount           int64        `json:"amount"`
	AmountAuthorized int64        `json:"amount_authorized"`
	AmountCaptured   int64        `json:"amount_captured"`
	AmountRefunded   int64        `json:"amount_refunded"`
	AmountRefundable int64        `json:"amount_refundable"`
	OrderID          string       `json:"order_id"`
	Source           string       `json:"source"`
	Card             cardData     `json:"card"`
	Customer         customerData `json:"customer"`
	AVSCode          string       `json:"avs_code"`
	AVSMessage       string       `json:"avs_message"`
	CVVCode          string       `json:"cvv_code"`
	CVVMessage       string       `json:"cvv_message"`
	DeclineCode      string       `json:"decline_code,omitempty"`
	ThreeDS          threeDSData  `json:"threeds"`
	CreatedAt        string       `json:"created_at"`
	UpdatedAt        string       `json:"updated_at"`
	SettledAt        string       `json:"settled_at,omitempty"`
	BatchID          string       `json:"batch_id,omitempty"`
	// TransactionCount is how many transactions the payment has; the
	// answer lists the latest gateway.MaxLookupTransactions of them.
	TransactionCount int               `json:"transaction_count"`
	Checkout         *checkoutData     `json:"checkout,omitempty"`
	Transactions     []transactionData `json:"transactions"`
}

// checkoutData names the hosted checkout session a payment paid.
type checkoutData struct {
	SessionID string `json:"session_id"`
	Reference string `json:"reference"`
}

type cardData struct {
	Brand    string `json:"brand"`
	BIN      string `json:"bin"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
}

type customerData struct {
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Address   string `json:"address"`
	City      string `json:"city"`
	State     string `json:"state"`
	Zip       string `json:"zip"`
	Country   string `json:"country"`
}

type threeDSData struct {
	CAVV                string `json:"cavv"`
	Validated           string `json:"validated"`
	TransactionID       string `json:"transaction_id"`
	ServerTransactionID string `json:"server_transaction_id"`
	Version             string `json:"version"`
	PaResStatus         string `json:"parres_status"`
}

type transactionData struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Result    string `json:"result"`
	Amount    int64  `json:"amount"`
	Code      string `json:"code,omitempty"`
	CreatedAt string `json:"created_at"`
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func newPaymentData(p gateway.Payment) paymentData {
	d := paymentData{
		ID: p.ID, Status: string(p.Status), Environment: string(p.Environment), Currency: p.Currency,
		Amount:           requestedAmount(p),
		AmountAuthorized: p.AuthorizedAmount, AmountCaptured: p.CapturedAmount, AmountRefunded: p.RefundedAmount,
		AmountRefundable: p.RefundableAmount(), OrderID: p.OrderID, Source: p.Source,
		Card: cardData{Brand: p.Card.Brand, BIN: p.Card.BIN, Last4: p.Card.Last4, ExpMonth: p.Card.ExpMonth, ExpYear: p.Card.ExpYear},
		Customer: customerData{FirstName: p.Customer.FirstName, LastName: p.Customer.LastName, Email: p.Customer.Email,
			Phone: p.Customer.Phone, Address: p.Customer.Address, City: p.Customer.City, State: p.Customer.State,
			Zip: p.Customer.Zip, Country: p.Customer.Country},
		AVSCode: p.AVSCode, AVSMessage: gateway.AVSMessage(p.AVSCode), CVVCode: p.CVVCode, CVVMessage: gateway.CVVMessage(p.CVVCode),
		DeclineCode: p.DeclineCode,
		ThreeDS: threeDSData{CAVV: p.ThreeDS.CAVV, Validated: p.ThreeDS.Validated, TransactionID: p.ThreeDS.TransactionID,
			ServerTransactionID: p.ThreeDS.ServerTransactionID, Version: p.ThreeDS.Version, PaResStatus: p.ThreeDS.PaResStatus},
		CreatedAt: rfc3339(p.CreatedAt), UpdatedAt: rfc3339(p.UpdatedAt), SettledAt: rfc3339(p.SettledAt), BatchID: p.BatchID,
		TransactionCount: max(p.TransactionCount, len(p.Transactions)),
		Transactions:     make([]transactionData, 0, len(p.Transactions)),
	}
	if p.CheckoutSessionID != "" {
		d.Checkout = &checkoutData{SessionID: p.CheckoutSessionID, Reference: p.CheckoutReference}
	}
	for _, t := range p.Transactions {
		d.Transactions = append(d.Transactions, transactionData{ID: t.ID, Type: string(t.Operation), Result: string(t.Result),
			Amount: t.Amount, Code: t.Code, CreatedAt: rfc3339(t.CreatedAt)})
	}
	return d
}

// requestedAmount is what the charge or authorization asked for: the amount
// of the transaction that created the payment (a declined attempt holds
// nothing), when the answer lists it; an approved payment's authorized
// amount otherwise (a payment with more transactions than a lookup lists).
func requestedAmount(p gateway.Payment) int64 {
	if len(p.Transactions) > 0 && p.Transactions[0].ID == p.ID {
		return p.Transactions[0].Amount
	}
	return p.AuthorizedAmount
}

// PaymentJSON is a payment as lookup's "data" shows it, the same bytes:
// webhook events carry it.
func PaymentJSON(p gateway.Payment) []byte { return newPaymentData(p).appendJSON(nil) }
