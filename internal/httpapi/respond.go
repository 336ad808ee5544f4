package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/web"
)

// statusOf is the one place where an error kind becomes an HTTP status. The
// CartGateway API answers 400 for "not found" (the documented codes are 200,
// 400, 401 and 500) and uses 409 and 429 where they are the honest answer.
func statusOf(k gateway.Kind) int {
	switch k {
	case gateway.KindInvalid, gateway.KindNotFound, gateway.KindDeclined, gateway.KindGone:
		return http.StatusBadRequest
	case gateway.KindForbidden:
		return http.StatusForbidden
	case gateway.KindUnauthorized:
		return http.StatusUnauthorized
	case gateway.KindConflict:
		return http.StatusConflict
	case gateway.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case gateway.KindRateLimited:
		return http.StatusTooManyRequests
	default: // internal, processor
		return http.StatusInternalServerError
	}
}

func reason(status int) string {
	if status == http.StatusInternalServerError {
		return "Error" // as the CartGateway documentation names it
	}
	return http.StatusText(status)
}

// errorBody is every non-2xx answer. The SDK reads only "error".
type errorBody struct {
	Success   int    `json:"success"`
	Error     string `json:"error"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	// For a recorded decline or processor failure:
	ID         string `json:"id,omitempty"`
	AVSCode    string `json:"avs_code,omitempty"`
	AVSMessage string `json:"avs_message,omitempty"`
	CVVCode    string `json:"cvv_code,omitempty"`
	CVVMessage string `json:"cvv_message,omitempty"`
}

// renderError turns err into a status and body. Internal errors are answered
// generically; their detail goes to the log only.
func renderError(err error, requestID string) (int, []byte) {
	e := gateway.AsError(err)
	status := statusOf(e.Kind)
	msg := e.Message
	if e.Kind == gateway.KindInternal {
		msg = gateway.Internal(nil).Message
	}
	body := errorBody{
		Error:     fmt.Sprintf("%d - %s. %s (%s).", status, reason(status), strings.TrimRight(msg, "."), e.Code),
		Code:      e.Code,
		RequestID: requestID,
	}
	if p := e.Payment; p != nil {
		body.ID = p.ID
		if e.Transaction != nil {
			body.ID = e.Transaction.ID // a capture, refund or void
		}
		body.AVSCode, body.AVSMessage = p.AVSCode, gateway.AVSMessage(p.AVSCode)
		body.CVVCode, body.CVVMessage = p.CVVCode, gateway.CVVMessage(p.CVVCode)
	}
	return status, mustJSON(body)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own fixed types are encoded
	}
	return b
}

// jsonHeaders are on every JSON answer.
var jsonHeaders = web.FixedHeaders("Content-Type", "application/json", "Cache-Control", "no-store")

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	web.SetFixed(w.Header(), jsonHeaders)
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) { writeRaw(w, status, mustJSON(v)) }
