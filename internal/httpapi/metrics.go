package httpapi

import "github.com/cartgateway/cartgateway/internal/gateway"

// observePayment counts an operation's outcome.
func (h *API) observePayment(operation, outcome string) {
	h.payments.WithLabelValues(operation, outcome).Inc()
}

// outcomeOf names the outcome of an operation that answered err.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "approved"
	case gateway.ErrorKind(err) == gateway.KindDeclined:
		return "declined"
	case statusOf(gateway.ErrorKind(err)) >= 500:
		return "error"
	default:
		return "refused"
	}
}
