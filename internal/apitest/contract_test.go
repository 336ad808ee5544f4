package apitest

import (
	"net/http"
	"strings"
	"testing"
)

// answerHeaders are the headers every JSON answer carries.
func answerHeaders(extra ...string) http.Header {
	h := http.Header{
		"Content-Type":            {"application/json"},
		"Cache-Control":           {"no-store"},
		"X-Request-Id":            {"req_YG0CW6BF2KTSPVP"},
		"X-Content-Type-Options":  {"nosniff"},
		"Referrer-Policy":         {"no-referrer"},
		"X-Frame-Options":         {"DENY"},
		"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
	}
	for i := 0; i < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

func sdkHeaders() http.Header {
	return http.Header{
		"Content-Type":           {"application/json"},
		"Authorization":          {"Bearer " + SDKKey},
		"Cartgateway-Account-Id": {SDKAccountID},
	}
}

const (
	lookupBody   = `{"payment_id":"AMB8PUM9HPLZ7NJ"}`
	lookupAnswer = `{"success":1,"message":"Payment found","id":"8RHRX73I0DBJN1I","data":{"id":"8RHRX73I0DBJN1I","status":"captured","environment":"sandbox","currency":"USD","amount":2000,"amount_authorized":2000,"amount_captured":2000,"amount_refunded":0,"amount_refundable":2000,"order_id":"4242","source":"","card":{"brand":"discover","bin":"601111","last4":"1117","exp_month":10,"exp_year":2031},"customer":{"firstname":"Test","lastname":"User","email":"user3@example.com","phone":"","address":"6 Pheasant Run","city":"","state":"","zip":"07733","country":""},"avs_code":"Y","avs_message":"Street address and 5-digit ZIP code match.","cvv_code":"M","cvv_message":"CVV matches.","threeds":{"cavv":"","validated":"","transaction_id":"","server_transaction_id":"","version":"","parres_status":""},"created_at":"2026-11-25T17:57:55Z","updated_at":"2026-11-25T17:57:55Z","transaction_count":1,"transactions":[{"id":"8RHRX73I0DBJN1I","type":"charge","result":"approved","amount":2000,"created_at":"2026-11-25T17:57:55Z"}]}}`
	errorAnswer  = `{"success":0,"error":"400 - Bad Request. No payment has this id (payment-not-found).","code":"payment-not-found","request_id":"req_YG0CW6BF2KTSPVP"}`
)

// TestContractCatchesDrift: the check refuses what the document does not
// say, and accepts what it does.
func TestContractCatchesDrift(t *testing.T) {
	ok := Exchange{Method: "POST", Path: "/payment/lookup", Header: sdkHeaders(), Body: []byte(lookupBody), BodyComplete: true,
		Status: 200, AnswerHeader: answerHeaders(), Answer: []byte(lookupAnswer)}
	for _, tc := range []struct {
		name   string
		change func(e *Exchange)
		want   string // "" accepts; else a part of the error
	}{
		{"documented exchange", func(*Exchange) {}, ""},
		{"documented error", func(e *Exchange) { e.Status, e.Answer = 400, []byte(errorAnswer) }, ""},
		{"pending payment (issue 12)", func(e *Exchange) {
			e.Answer = []byte(strings.Replace(lookupAnswer, `"status":"captured"`, `"status":"pending"`, 1))
		}, ""},
		{"undocumented field", func(e *Exchange) {
			e.Answer = []byte(strings.Replace(lookupAnswer, `"success":1,`, `"success":1,"fee":30,`, 1))
		}, "fee"},
		{"undocumented nested field", func(e *Exchange) {
			e.Answer = []byte(strings.Replace(lookupAnswer, `"last4":"1117"`, `"last4":"1117","number":"6011111111111117"`, 1))
		}, "number"},
		{"missing field", func(e *Exchange) {
			e.Answer = []byte(strings.Replace(lookupAnswer, `"currency":"USD",`, ``, 1))
		}, "currency"},
		{"undocumented status value", func(e *Exchange) {
			e.Answer = []byte(strings.Replace(lookupAnswer, `"status":"captured"`, `"status":"disputed"`, 1))
		}, "disputed"},
		{"undocumented error code", func(e *Exchange) {
			e.Status, e.Answer = 400, []byte(strings.ReplaceAll(errorAnswer, "payment-not-found", "payment-lost"))
		}, "payment-lost"},
		{"code of another operation", func(e *Exchange) {
			e.Status, e.Answer = 400, []byte(strings.ReplaceAll(errorAnswer, "payment-not-found", "capture-exceeds-authorized"))
		}, "capture-exceeds-authorized"},
		{"undocumented HTTP status", func(e *Exchange) { e.Status, e.Answer = 402, []byte(errorAnswer) }, "status"},
		{"no X-Request-Id", func(e *Exchange) { e.AnswerHeader.Del("X-Request-Id") }, "X-Request-Id"},
		{"framing allowed", func(e *Exchange) { e.AnswerHeader.Del("X-Frame-Options") }, "X-Frame-Options"},
		{"429 without Retry-After", func(e *Exchange) {
			e.Status = 429
			e.Answer = []byte(`{"success":0,"error":"429 - Too Many Requests. Slow down; retry after 1 seconds (rate-limited).","code":"rate-limited","request_id":"req_YG0CW6BF2KTSPVP"}`)
		}, "Retry-After"},
		{"decline without id", func(e *Exchange) {
			e.Path, e.Body = "/payment/charge", []byte(sdkCharge)
			e.Status = 400
			e.Answer = []byte(`{"success":0,"error":"400 - Bad Request. The card was declined (card-declined).","code":"card-declined","request_id":"req_YG0CW6BF2KTSPVP"}`)
		}, "id"},
		{"invalid request refused", func(e *Exchange) {
			e.Body, e.Status, e.Answer = []byte(`{"payment_id":{}}`), 400, []byte(strings.ReplaceAll(errorAnswer, "payment-not-found", "invalid-payment-id"))
		}, ""},
		{"invalid request served", func(e *Exchange) { e.Body = []byte(`{"payment_id":{}}`) }, "refuses the request"},
		{"request without credentials served", func(e *Exchange) { e.Header.Del("Authorization") }, "refuses the request"},
		{"unknown path", func(e *Exchange) {
			e.Path, e.Status = "/payment/nope", 404
			e.Answer = []byte(`{"success":0,"error":"404 - Not Found. There is no such endpoint (not-found).","code":"not-found","request_id":"req_YG0CW6BF2KTSPVP"}`)
		}, ""},
		{"unknown path served", func(e *Exchange) { e.Path = "/payment/nope" }, "status"},
		{"wrong method without Allow", func(e *Exchange) {
			e.Method, e.Status = "GET", 405
			e.Answer = []byte(`{"success":0,"error":"405 - Method Not Allowed. This endpoint accepts only POST (method-not-allowed).","code":"method-not-allowed","request_id":"req_YG0CW6BF2KTSPVP"}`)
		}, "Allow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := ok
			e.Header, e.AnswerHeader = ok.Header.Clone(), ok.AnswerHeader.Clone()
			tc.change(&e)
			err := CheckExchange(e)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("accepted, want an error about %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error does not name %q: %v", tc.want, err)
			}
		})
	}
}

const sdkCharge = `{"is_sale":true,"firstname":"Test","lastname":"User","email":"user3@example.com","address":"6 Pheasant Run","zip":"07733","amount":2000,"card_number":6011111111111117,"card_cvv":123,"card_expiry_month":10,"card_expiry_year":2031,"order_id":4242,"phone":123456789,"city":"Holmdel","state":"NJ","country":"United States","source":"PHP SDK Test","threeds_cavv":null,"threeds_validated":null,"threeds_transaction_id":null,"threeds_server_transaction_id":null,"threeds_version":null,"threeds_parres_status":null}`
