package httpapi

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The lookup answer is the largest the API sends and the most frequent
// read; encoding it through encoding/json's reflection was about a tenth of
// the server's work per lookup (docs/performance.md). These functions write
// the same bytes directly. TestLookupAnswerEncoding and
// FuzzLookupAnswerEncoding hold them to json.Marshal's output, so a field
// added to the types below without being added here fails the tests.

// appendJSON appends a's JSON encoding, the same bytes json.Marshal gives.
func (a lookupAnswer) appendJSON(b []byte) []byte {
	b = append(b, `{"success":`...)
	b = strconv.AppendInt(b, int64(a.Success), 10)
	b = appendField(b, "message", a.Message)
	b = appendField(b, "id", a.ID)
	b = appendName(b, "data")
	b = a.Data.appendJSON(b)
	return append(b, '}')
}

func (d paymentData) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, d.ID)
	b = appendField(b, "status", d.Status)
	b = appendField(b, "environment", d.Environment)
	b = appendField(b, "currency", d.Currency)
	b = appendInt(b, "amount", d.Amount)
	b = appendInt(b, "amount_authorized", d.AmountAuthorized)
	b = appendInt(b, "amount_captured", d.AmountCaptured)
	b = appendInt(b, "amount_refunded", d.AmountRefunded)
	b = appendInt(b, "amount_refundable", d.AmountRefundable)
	b = appendField(b, "order_id", d.OrderID)
	b = appendField(b, "source", d.Source)
	b = append(b, `,"card":{"brand":`...)
	b = appendString(b, d.Card.Brand)
	b = appendField(b, "bin", d.Card.BIN)
	b = appendField(b, "last4", d.Card.Last4)
	b = appendInt(b, "exp_month", int64(d.Card.ExpMonth))
	b = appendInt(b, "exp_year", int64(d.Card.ExpYear))
	b = append(b, `},"customer":{"firstname":`...)
	c := d.Customer
	b = appendString(b, c.FirstName)
	b = appendField(b, "lastname", c.LastName)
	b = appendField(b, "email", c.Email)
	b = appendField(b, "phone", c.Phone)
	b = appendField(b, "address", c.Address)
	b = appendField(b, "city", c.City)
	b = appendField(b, "state", c.State)
	b = appendField(b, "zip", c.Zip)
	b = appendField(b, "country", c.Country)
	b = append(b, '}')
	b = appendField(b, "avs_code", d.AVSCode)
	b = appendField(b, "avs_message", d.AVSMessage)
	b = appendField(b, "cvv_code", d.CVVCode)
	b = appendField(b, "cvv_message", d.CVVMessage)
	b = appendOptional(b, "decline_code", d.DeclineCode)
	t := d.ThreeDS
	b = append(b, `,"threeds":{"cavv":`...)
	b = appendString(b, t.CAVV)
	b = appendField(b, "validated", t.Validated)
	b = appendField(b, "transaction_id", t.TransactionID)
	b = appendField(b, "server_transaction_id", t.ServerTransactionID)
	b = appendField(b, "version", t.Version)
	b = appendField(b, "parres_status", t.PaResStatus)
	b = append(b, '}')
	b = appendField(b, "created_at", d.CreatedAt)
	b = appendField(b, "updated_at", d.UpdatedAt)
	b = appendOptional(b, "settled_at", d.SettledAt)
	b = appendOptional(b, "batch_id", d.BatchID)
	b = appendInt(b, "transaction_count", int64(d.TransactionCount))
	if c := d.Checkout; c != nil {
		b = append(b, `,"checkout":{"session_id":`...)
		b = appendString(b, c.SessionID)
		b = appendField(b, "reference", c.Reference)
		b = append(b, '}')
	}
	b = appendName(b, "transactions")
	if d.Transactions == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, tr := range d.Transactions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendString(b, tr.ID)
			b = appendField(b, "type", tr.Type)
			b = appendField(b, "result", tr.Result)
			b = appendInt(b, "amount", tr.Amount)
			b = appendOptional(b, "code", tr.Code)
			b = appendField(b, "created_at", tr.CreatedAt)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendName appends ,"name": for the next member; name is plain ASCII.
func appendName(b []byte, name string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

// appendField appends ,"name":"value".
func appendField(b []byte, name, value string) []byte {
	return appendString(appendName(b, name), value)
}

// appendOptional is appendField for an omitempty field.
func appendOptional(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return appendField(b, name, value)
}

func appendInt(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(appendName(b, name), v, 10)
}

// appendString appends s as a JSON string. Printable ASCII that
// encoding/json writes as it is (no quote, backslash or HTML-escaped <, >,
// &) is copied; anything else goes through encoding/json itself, so that
// escapes, invalid UTF-8 and U+2028/U+2029 come out exactly as it writes
// them.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
