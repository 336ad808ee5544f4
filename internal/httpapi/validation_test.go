package httpapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// TestValidationRequiredFields: each required field of charge and authorize, absent,
// null, empty or blank, is refused with missing-<field> and nothing is
// recorded.
func TestValidationRequiredFields(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	fields := []string{"firstname", "lastname", "email", "address", "zip", "amount",
		"card_number", "card_cvv", "card_expiry_month", "card_expiry_year", "order_id"}
	variants := map[string]any{"absent": nil, "null": json.RawMessage("null"), "empty": "", "blank": "   "}
	for _, field := range fields {
		code := "missing-" + strings.ReplaceAll(field, "_", "-")
		for vname, v := range variants {
			for _, op := range []string{"charge", "authorize"} {
				t.Run(op+"/"+field+"/"+vname, func(t *testing.T) {
					r := s.Post(t, "/payment/"+op, apitest.PaymentBody("4242424242424242", map[string]any{field: v}))
					apiWantError(t, r, http.StatusBadRequest, code)
					if !strings.Contains(r.String("error"), field) && !strings.Contains(r.String("error"), "card") {
						t.Errorf("the error does not name the field: %s", r.Raw)
					}
				})
			}
		}
	}
	apiWantPayments(t, s, 0)
}

// TestValidationFieldValues: text fields that are too long, carry control characters
// or are not what they should be.
func TestValidationFieldValues(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	cases := []struct {
		name      string
		overrides map[string]any
		code      string
	}{
		{"firstname too long", map[string]any{"firstname": strings.Repeat("é", 256)}, "invalid-firstname"},
		{"lastname control character", map[string]any{"lastname": "Us\u0000er"}, "invalid-lastname"},
		{"address object", map[string]any{"address": map[string]any{"street": "x"}}, "invalid-address"},
		{"zip array", map[string]any{"zip": []int{1}}, "invalid-zip"},
		{"email not an address", map[string]any{"email": "not-an-email"}, "invalid-email"},
		{"email with a name", map[string]any{"email": "Test <user3@example.com>"}, "invalid-email"},
		{"order_id too long", map[string]any{"order_id": strings.Repeat("1", 256)}, "invalid-order-id"},
		{"optional city too long", map[string]any{"city": strings.Repeat("c", 256)}, "invalid-city"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", tc.overrides))
			apiWantError(t, r, http.StatusBadRequest, tc.code)
		})
	}
	// 255 characters (not bytes) is the limit.
	r := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", map[string]any{"firstname": strings.Repeat("é", 255)}))
	apiWantApproved(t, r)
}

func TestValidationAmounts(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	refused := []struct {
		name   string
		amount any
	}{
		{"99", 99}, {"zero", 0}, {"negative", -2000}, {"fraction", json.Number("20.5")}, {"exponent", json.Number("1e3")},
		{"whole fraction", json.Number("2000.0")}, {"letters", "abc"}, {"fraction string", "20.5"}, {"boolean", true},
		{"object", map[string]any{"value": 2000}}, {"over the wire's maximum", json.Number("10000000000001")},
		{"beyond int64", json.Number("99999999999999999999999")}, {"string 99", "99"},
	}
	for _, op := range []string{"charge", "authorize"} {
		for _, tc := range refused {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				r := s.Post(t, "/payment/"+op, apitest.PaymentBody("4242424242424242", map[string]any{"amount": tc.amount}))
				apiWantError(t, r, http.StatusBadRequest, "invalid-amount")
			})
		}
	}
	apiWantPayments(t, s, 0)

	accepted := []struct {
		name   string
		amount any
		want   float64
	}{{"minimum", 100, 100}, {"string", "2000", 2000}, {"padded string", " 2000 ", 2000}, {"the maximum", json.Number("99999999"), 99999999}}
	for _, tc := range accepted {
		t.Run("accepted/"+tc.name, func(t *testing.T) {
			r := s.Post(t, "/payment/authorize", apitest.PaymentBody("4242424242424242", map[string]any{"amount": tc.amount}))
			apiWantApproved(t, r)
			if d := apiLookup(t, s, r.String("id")); d["amount_authorized"] != tc.want {
				t.Errorf("amount_authorized = %v, want %v", d["amount_authorized"], tc.want)
			}
		})
	}
}

// TestValidationCardNumberForms: strings with separators and JSON numbers of any
// length keep their exact digits (never through float64).
func TestValidationCardNumberForms(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	long := apiLuhn("401288888888188112") // 19 digits: beyond float64's exact range
	if f, _ := strconv.ParseFloat(long, 64); strconv.FormatFloat(f, 'f', 0, 64) == long {
		t.Fatalf("test card %s survives float64; pick one that does not", long)
	}
	cases := []struct {
		name      string
		body      string
		bin, last string
		brand     string
	}{
		{"string with spaces", apitest.PaymentBody("0", map[string]any{"card_number": "6011 1111 1111 1117"}), "601111", "1117", "discover"},
		{"string with dashes", apitest.PaymentBody("0", map[string]any{"card_number": "6011-1111-1111-1117"}), "601111", "1117", "discover"},
		{"padded string", apitest.PaymentBody("0", map[string]any{"card_number": "  4242424242424242 "}), "424242", "4242", "visa"},
		{"JSON number", apitest.PaymentBody("6011111111111117", nil), "601111", "1117", "discover"},
		{"19-digit JSON number", apitest.PaymentBody(long, nil), long[:6], long[15:], "visa"},
		{"19-digit string", apitest.PaymentBody("0", map[string]any{"card_number": long}), long[:6], long[15:], "visa"},
		{"numbers everywhere", apitest.PaymentBody("5555555555554444", map[string]any{"card_cvv": 901, "card_expiry_month": 2,
			"card_expiry_year": 2031, "order_id": 4242, "phone": 123456789, "zip": 99907}), "555555", "4444", "mastercard"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "JSON number" && !strings.Contains(tc.body, `"card_number":6011111111111117`) ||
				strings.HasPrefix(tc.name, "19-digit JSON") && !strings.Contains(tc.body, `"card_number":`+long) {
				t.Fatalf("the body does not carry a JSON number: %s", tc.body)
			}
			r := s.Post(t, "/payment/charge", tc.body)
			apiWantApproved(t, r)
			d := apiLookup(t, s, r.String("id"))
			if c := apiCard(d); c["bin"] != tc.bin || c["last4"] != tc.last || c["brand"] != tc.brand {
				t.Errorf("lookup card = %v, want %s %s…%s", c, tc.brand, tc.bin, tc.last)
			}
		})
	}
	// Numbers come back as their text in lookup.
	r := s.Post(t, "/payment/charge", apitest.PaymentBody("5555555555554444", map[string]any{"order_id": 4242, "phone": 123456789, "zip": 99907}))
	apiWantApproved(t, r)
	if r.String("avs_code") != "G" {
		t.Errorf("a numeric ZIP triggers like a string: %s", r.Raw)
	}
	d := apiLookup(t, s, r.String("id"))
	cust, _ := d["customer"].(map[string]any)
	if d["order_id"] != "4242" || cust["phone"] != "123456789" || cust["zip"] != "99907" {
		t.Errorf("lookup order_id %v phone %v zip %v", d["order_id"], cust["phone"], cust["zip"])
	}
}

func TestValidationCountries(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	accepted := map[string]string{"US": "US", "us": "US", "United States": "US", "united states of america": "US",
		"Germany": "DE", "DEU": "DE", " de ": "DE", "Côte d'Ivoire": "CI"}
	for in, want := range accepted {
		t.Run(in, func(t *testing.T) {
			r := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", map[string]any{"country": in}))
			apiWantApproved(t, r)
			cust, _ := apiLookup(t, s, r.String("id"))["customer"].(map[string]any)
			if cust["country"] != want {
				t.Errorf("country %q: lookup shows %v, want %s", in, cust["country"], want)
			}
		})
	}
	t.Run("null", func(t *testing.T) {
		r := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", map[string]any{"country": json.RawMessage("null")}))
		apiWantApproved(t, r)
		if cust, _ := apiLookup(t, s, r.String("id"))["customer"].(map[string]any); cust["country"] != "" {
			t.Errorf("null country: lookup shows %v", cust["country"])
		}
	})
	for _, bad := range []any{"Narnia", "XX", "U.S.A.!", 12, true} {
		r := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", map[string]any{"country": bad}))
		apiWantError(t, r, http.StatusBadRequest, "invalid-country")
	}
}

func TestValidationUnknownFieldsIgnored(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	body := apitest.PaymentBody("4242424242424242", map[string]any{"is_sale": true, "future_field": map[string]any{"a": []any{1, "x", nil}},
		"metadata": nil, "currency": "EUR"})
	for _, op := range []string{"charge", "authorize"} {
		r := s.Post(t, "/payment/"+op, body)
		apiWantApproved(t, r)
	}
	auth := s.Post(t, "/payment/authorize", apitest.PaymentBody("4242424242424242", nil))
	apiWantApproved(t, auth)
	capture := s.Post(t, "/payment/capture", `{"authorized_payment_id":"`+auth.String("id")+`","amount":500,"note":"x","payment_id":null}`)
	apiWantApproved(t, capture)
}

// TestValidationBadBodies: bodies that are not a JSON object, the wrong Content-Type
// and an oversized body, on every endpoint.
func TestValidationBadBodies(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	paths := []string{"/payment/charge", "/payment/authorize", "/payment/capture", "/payment/refund", "/payment/void", "/payment/lookup"}
	bodies := map[string]string{"not JSON": "hello", "array": `[]`, "array of objects": `[{"payment_id":"x"}]`, "empty": "",
		"blank": " \n ", "null": "null", "string": `"x"`, "number": "2000", "truncated": `{"payment_id":"x"`,
		"trailing garbage": `{"payment_id":"x"} {}`, "bad escape": `{"payment_id":"\x"}`}
	for _, path := range paths {
		for name, body := range bodies {
			t.Run(path+"/"+name, func(t *testing.T) {
				apiWantError(t, s.Post(t, path, body), http.StatusBadRequest, "invalid-json")
			})
		}
		t.Run(path+"/text/plain", func(t *testing.T) {
			r := s.Request(t, http.MethodPost, path, `{"payment_id":"x"}`, map[string]string{"Content-Type": "text/plain"})
			apiWantError(t, r, http.StatusBadRequest, "unsupported-content-type")
			r = s.Request(t, http.MethodPost, path, `payment_id=x`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			apiWantError(t, r, http.StatusBadRequest, "unsupported-content-type")
		})
		t.Run(path+"/too large", func(t *testing.T) {
			body := `{"payment_id":"x","pad":"` + strings.Repeat("a", 1<<20) + `"}`
			apiWantError(t, s.Post(t, path, body), http.StatusRequestEntityTooLarge, "body-too-large")
			chunked := map[string]string{"Transfer-Encoding": "chunked"}
			apiWantError(t, s.Request(t, http.MethodPost, path, body, chunked), http.StatusRequestEntityTooLarge, "body-too-large")
		})
	}
	r := s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil),
		map[string]string{"Content-Type": "application/json; charset=utf-8"})
	apiWantApproved(t, r)
	// A chunked body, without a Content-Length, is read all the same.
	r = s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil),
		map[string]string{"Transfer-Encoding": "chunked"})
	apiWantApproved(t, r)
	apiWantPayments(t, s, 2)
}

func TestValidationRoutes(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	for _, path := range []string{"/no/such/endpoint", "/payment/unknown", "/payment", "/payment/charge/extra", "/v1/payment/charge"} {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			t.Run(method+" "+path, func(t *testing.T) {
				apiWantError(t, s.Request(t, method, path, `{}`, nil), http.StatusNotFound, "not-found")
			})
		}
	}
	for _, path := range []string{"/payment/charge", "/payment/authorize", "/payment/capture", "/payment/refund", "/payment/void", "/payment/lookup"} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			t.Run(method+" "+path, func(t *testing.T) {
				r := s.Request(t, method, path, "", nil)
				apiWantError(t, r, http.StatusMethodNotAllowed, "method-not-allowed")
				if allow := r.Header.Get("Allow"); !strings.Contains(allow, http.MethodPost) {
					t.Errorf("Allow = %q, want POST", allow)
				}
			})
		}
	}
	r := s.Request(t, http.MethodPost, "/healthz", "", nil)
	apiWantError(t, r, http.StatusMethodNotAllowed, "method-not-allowed")
}

// TestValidationChangeRequests: capture, refund, void and lookup refuse bad input and
// unknown ids, and a refused request changes nothing.
func TestValidationChangeRequests(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	const unknown = "AAAAAAAAAAAAAAA"
	notFound := []struct{ path, body string }{
		{"/payment/capture", `{"authorized_payment_id":"` + unknown + `","amount":100}`},
		{"/payment/refund", `{"payment_id":"` + unknown + `","amount":100}`},
		{"/payment/void", `{"payment_id":"` + unknown + `"}`},
		{"/payment/lookup", `{"payment_id":"` + unknown + `"}`},
		{"/payment/lookup", `{"payment_id":"not an id"}`},
		{"/payment/lookup", `{"payment_id":123456789012345}`},
	}
	for _, tc := range notFound {
		apiWantError(t, s.Post(t, tc.path, tc.body), http.StatusBadRequest, "payment-not-found")
	}

	auth := s.Post(t, "/payment/authorize", apitest.PaymentBody("4242424242424242", nil))
	apiWantApproved(t, auth)
	charge := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil))
	apiWantApproved(t, charge)
	a, c := auth.String("id"), charge.String("id")

	refused := []struct{ path, body, code string }{
		{"/payment/capture", `{"authorized_payment_id":"` + a + `","amount":0}`, "invalid-amount"},
		{"/payment/capture", `{"authorized_payment_id":"` + a + `","amount":-1}`, "invalid-amount"},
		{"/payment/capture", `{"authorized_payment_id":"` + a + `","amount":10.5}`, "invalid-amount"},
		{"/payment/capture", `{"authorized_payment_id":"` + a + `"}`, "missing-amount"},
		{"/payment/capture", `{"amount":100}`, "missing-authorized-payment-id"},
		{"/payment/capture", `{"payment_id":"` + a + `","amount":100}`, "missing-authorized-payment-id"},
		{"/payment/capture", `{"authorized_payment_id":"` + a + `","amount":2001}`, "capture-exceeds-authorized"},
		{"/payment/refund", `{"payment_id":"` + a + `","amount":100}`, "payment-not-captured"},
		{"/payment/refund", `{"payment_id":"` + c + `","amount":0}`, "invalid-amount"},
		{"/payment/refund", `{"payment_id":"` + c + `","amount":"abc"}`, "invalid-amount"},
		{"/payment/refund", `{"payment_id":"` + c + `","amount":null}`, "missing-amount"},
		{"/payment/refund", `{"payment_id":null,"amount":100}`, "missing-payment-id"},
		{"/payment/refund", `{"payment_id":"` + c + `","amount":2001}`, "refund-exceeds-captured"},
		{"/payment/void", `{}`, "missing-payment-id"},
		{"/payment/void", `{"payment_id":["` + c + `"]}`, "invalid-payment-id"},
		{"/payment/lookup", `{"payment_id":""}`, "missing-payment-id"},
		{"/payment/capture", `{"authorized_payment_id":"` + c + `","amount":100}`, "already-captured"},
	}
	before := map[string]map[string]any{a: apiLookup(t, s, a), c: apiLookup(t, s, c)}
	rows := apiRows(t, s)
	for _, tc := range refused {
		t.Run(tc.path+" "+tc.body, func(t *testing.T) {
			apiWantError(t, s.Post(t, tc.path, tc.body), http.StatusBadRequest, tc.code)
		})
	}
	for id, d := range before {
		if after := apiLookup(t, s, id); !reflect.DeepEqual(after, d) {
			t.Errorf("refused requests changed payment %s:\nbefore %v\nafter  %v", id, d, after)
		}
	}
	apiWantNoNewRows(t, s, rows)

	// The same ids still work for valid requests, through any of their
	// transactions' ids.
	capture := s.Post(t, "/payment/capture", `{"authorized_payment_id":"`+a+`","amount":1500}`)
	apiWantApproved(t, capture)
	if capture.String("authorized_payment_id") != a {
		t.Errorf("capture names authorized_payment_id %q, want %q", capture.String("authorized_payment_id"), a)
	}
	refund := s.Post(t, "/payment/refund", `{"payment_id":"`+capture.String("id")+`","amount":"500"}`)
	apiWantApproved(t, refund)
	d := apiLookup(t, s, refund.String("id"))
	if d["id"] != a || d["status"] != "captured" || d["amount_captured"] != 1500.0 || d["amount_refunded"] != 500.0 || d["amount_refundable"] != 1000.0 {
		t.Errorf("lookup after capture and refund: %v", d)
	}
}
