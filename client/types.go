package client

import (
	"encoding/json"
	"strconv"
	"time"
)

// PaymentRequest is a charge or an authorization.
type PaymentRequest struct {
	// Amount is in minor units of the account's currency (cents for USD):
	// at least 100.
	Amount int64
	// OrderID is your order reference. The gateway's duplicate detection
	// compares it (with the amount and card) when a request carries no
	// Idempotency-Key.
	OrderID  string
	Card     Card
	Customer Customer
	// Source names the integration, e.g. "My shop 2.1" (optional).
	Source string
	// ThreeDS carries a 3-D Secure result, stored as given (optional).
	ThreeDS *ThreeDS
}

// Card is what the gateway needs of a card. It sends the number and CVV
// to the gateway, which never stores them.
type Card struct {
	Number   string // digits; spaces and dashes are allowed
	CVV      string // as a string, to keep a leading zero
	ExpMonth int    // 1–12
	ExpYear  int    // four digits
}

// Customer is the cardholder. FirstName, LastName, Email, Address and Zip
// are required in requests; in a looked-up payment, absent fields are "".
type Customer struct {
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
	Address   string `json:"address"`
	City      string `json:"city"`
	State     string `json:"state"`
	Zip       string `json:"zip"`
	// Country is an ISO 3166-1 code or an English country name in
	// requests; a looked-up payment shows the alpha-2 code.
	Country string `json:"country"`
}

// ThreeDS is a 3-D Secure result.
type ThreeDS struct {
	CAVV                string `json:"cavv"`
	Validated           string `json:"validated"`
	TransactionID       string `json:"transaction_id"`
	ServerTransactionID string `json:"server_transaction_id"`
	Version             string `json:"version"`
	PaResStatus         string `json:"parres_status"`
}

// paymentBody is a PaymentRequest as the API reads it.
type paymentBody struct {
	FirstName          string `json:"firstname"`
	LastName           string `json:"lastname"`
	Email              string `json:"email"`
	Address            string `json:"address"`
	Zip                string `json:"zip"`
	Amount             int64  `json:"amount"`
	CardNumber         string `json:"card_number"`
	CardCVV            string `json:"card_cvv"`
	CardExpiryMonth    int    `json:"card_expiry_month"`
	CardExpiryYear     int    `json:"card_expiry_year"`
	OrderID            string `json:"order_id"`
	Phone              string `json:"phone,omitempty"`
	City               string `json:"city,omitempty"`
	State              string `json:"state,omitempty"`
	Country            string `json:"country,omitempty"`
	Source             string `json:"source,omitempty"`
	ThreeDSCAVV        string `json:"threeds_cavv,omitempty"`
	ThreeDSValidated   string `json:"threeds_validated,omitempty"`
	ThreeDSTransaction string `json:"threeds_transaction_id,omitempty"`
	ThreeDSServerTxn   string `json:"threeds_server_transaction_id,omitempty"`
	ThreeDSVersion     string `json:"threeds_version,omitempty"`
	ThreeDSParesStatus string `json:"threeds_parres_status,omitempty"`
}

func (r PaymentRequest) body() paymentBody {
	c := r.Customer
	b := paymentBody{
		FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Address: c.Address, Zip: c.Zip,
		Amount: r.Amount, CardNumber: r.Card.Number, CardCVV: r.Card.CVV,
		CardExpiryMonth: r.Card.ExpMonth, CardExpiryYear: r.Card.ExpYear, OrderID: r.OrderID,
		Phone: c.Phone, City: c.City, State: c.State, Country: c.Country, Source: r.Source,
	}
	if t := r.ThreeDS; t != nil {
		b.ThreeDSCAVV, b.ThreeDSValidated, b.ThreeDSTransaction = t.CAVV, t.Validated, t.TransactionID
		b.ThreeDSServerTxn, b.ThreeDSVersion, b.ThreeDSParesStatus = t.ServerTransactionID, t.Version, t.PaResStatus
	}
	return b
}

// CaptureRequest captures part or all of an authorization, once.
type CaptureRequest struct {
	PaymentID string `json:"authorized_payment_id"` // any transaction id of the payment
	Amount    int64  `json:"amount"`                // at least 1, at most the authorized amount
}

// RefundRequest returns captured money; refunds can repeat until the
// captured amount is used up.
type RefundRequest struct {
	PaymentID string `json:"payment_id"` // any transaction id of the payment
	Amount    int64  `json:"amount"`     // at least 1, at most captured − refunded
}

type paymentIDBody struct {
	PaymentID string `json:"payment_id"`
}

// Response is what every answer tells besides its body.
type Response struct {
	// RequestID is the request's X-Request-Id: quote it when you report a
	// problem.
	RequestID string `json:"-"`
	// Replayed is true when the gateway answered with the stored answer of
	// an earlier request with the same Idempotency-Key: nothing was done a
	// second time.
	Replayed bool `json:"-"`
}

// Approval is the answer to an approved charge or authorization.
type Approval struct {
	// ID is the new transaction's id, which is also the payment's id: use
	// it to capture, refund, void and look up.
	ID         string `json:"id"`
	Message    string `json:"message"`
	AVSCode    string `json:"avs_code"`
	AVSMessage string `json:"avs_message"`
	CVVCode    string `json:"cvv_code"`
	CVVMessage string `json:"cvv_message"`
	Response
}

// Capture is the answer to a capture.
type Capture struct {
	ID                  string `json:"id"`                    // the capture transaction's id
	AuthorizedPaymentID string `json:"authorized_payment_id"` // the payment's id
	Message             string `json:"message"`
	Response
}

// Change is the answer to a refund or a void.
type Change struct {
	ID      string `json:"id"` // the new transaction's id
	Message string `json:"message"`
	Response
}

// Status is a payment's status.
type Status string

// The statuses of a payment.
const (
	StatusPending    Status = "pending" // waiting for the processor; the gateway finishes it
	StatusAuthorized Status = "authorized"
	StatusCaptured   Status = "captured"
	StatusSettled    Status = "settled"
	StatusVoided     Status = "voided"
	StatusDeclined   Status = "declined"
	StatusFailed     Status = "failed"
)

// Payment is a payment as lookup shows it: never a card number or CVV.
type Payment struct {
	ID               string        `json:"id"`
	Status           Status        `json:"status"`
	Environment      string        `json:"environment"`
	Currency         string        `json:"currency"`
	Amount           int64         `json:"amount"`
	AmountAuthorized int64         `json:"amount_authorized"`
	AmountCaptured   int64         `json:"amount_captured"`
	AmountRefunded   int64         `json:"amount_refunded"`
	AmountRefundable int64         `json:"amount_refundable"`
	OrderID          string        `json:"order_id"`
	Source           string        `json:"source"`
	Card             CardSummary   `json:"card"`
	Customer         Customer      `json:"customer"`
	AVSCode          string        `json:"avs_code"`
	AVSMessage       string        `json:"avs_message"`
	CVVCode          string        `json:"cvv_code"`
	CVVMessage       string        `json:"cvv_message"`
	DeclineCode      string        `json:"decline_code"`
	ThreeDS          ThreeDS       `json:"threeds"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
	SettledAt        time.Time     `json:"settled_at"` // zero until settled
	BatchID          string        `json:"batch_id"`
	Checkout         *CheckoutRef  `json:"checkout"`          // set for a payment made on a hosted checkout page
	TransactionCount int           `json:"transaction_count"` // all of them; Transactions has the latest 100
	Transactions     []Transaction `json:"transactions"`
	Response
}

// CardSummary is what the gateway keeps of a card.
type CardSummary struct {
	Brand    string `json:"brand"`
	BIN      string `json:"bin"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
}

// Transaction is one operation on a payment.
type Transaction struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`   // authorize, charge, capture, refund, void or settle
	Result    string    `json:"result"` // approved, declined, error or pending
	Amount    int64     `json:"amount"`
	Code      string    `json:"code"` // the decline code or processor-error, on declined or failed ones
	CreatedAt time.Time `json:"created_at"`
}

// lookupAnswer is the lookup answer's envelope.
type lookupAnswer struct {
	ID      string  `json:"id"`
	Message string  `json:"message"`
	Data    Payment `json:"data"`
}

// errorBody is every error answer.
type errorBody struct {
	Error      string `json:"error"`
	Code       string `json:"code"`
	RequestID  string `json:"request_id"`
	ID         string `json:"id"`
	AVSCode    string `json:"avs_code"`
	AVSMessage string `json:"avs_message"`
	CVVCode    string `json:"cvv_code"`
	CVVMessage string `json:"cvv_message"`
}

// successOf reads an answer's "success", which the API sets to 1 on every
// approval (as the SDK checks) and 0 on every error.
func successOf(body []byte) (int, bool) {
	var s struct {
		Success json.Number `json:"success"`
	}
	if json.Unmarshal(body, &s) != nil {
		return 0, false
	}
	n, err := strconv.Atoi(s.Success.String())
	return n, err == nil
}

// CheckoutRef names the hosted checkout session a payment paid.
type CheckoutRef struct {
	SessionID string `json:"session_id"`
	Reference string `json:"reference"`
}

// CheckoutRequest creates a hosted checkout session: an order that your
// customer pays on the gateway's own page.
type CheckoutRequest struct {
	Reference      string            `json:"reference,omitempty"` // your order reference
	SuccessURL     string            `json:"success_url"`         // gets payment_id=<id> added after an approved payment
	CancelURL      string            `json:"cancel_url"`
	Products       []CheckoutProduct `json:"products"`
	TaxAmount      int64             `json:"tax_amount,omitempty"`
	ShippingAmount int64             `json:"shipping_amount,omitempty"`
}

// CheckoutProduct is a line of a checkout: a Codename of the account's
// catalogue, or a Name and Amount of its own.
type CheckoutProduct struct {
	Codename string `json:"codename,omitempty"`
	Name     string `json:"name,omitempty"`
	Amount   int64  `json:"amount,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
	Quantity int    `json:"quantity,omitempty"` // 1 if 0
}

// Checkout is a created checkout session.
type Checkout struct {
	ID        string    `json:"id"`
	Message   string    `json:"message"`
	URL       string    `json:"url"`    // send the customer there
	Amount    int64     `json:"amount"` // the total
	Currency  string    `json:"currency"`
	ExpiresAt time.Time `json:"expires_at"`
	Response
}

// CheckoutValidation confirms that a payment paid a checkout session.
type CheckoutValidation struct {
	Message   string `json:"message"`
	Status    string `json:"status"` // "valid" the first time, "validated" after
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
	Response
}
