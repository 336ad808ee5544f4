package httpapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
)

// The helpers below are shared by cards_test.go, validation_test.go and
// auth_test.go; they carry an "api" prefix to keep clear of other files'.

var apiIDPattern = regexp.MustCompile(`^[A-Z0-9]{15}$`)

// apiWantError checks an error answer: status, the API's error format
// "<status> - <Reason>. <detail> (<code>).", success 0, the machine code, a
// request id matching X-Request-Id, and the headers every answer carries.
func apiWantError(t *testing.T, r apitest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("want status %d (%s), got %d: %s", status, code, r.Status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("want a JSON answer, got Content-Type %q: %s", ct, r.Raw)
	}
	if s, ok := r.Body["success"].(float64); !ok || s != 0 {
		t.Errorf("want success 0, got %s", r.Raw)
	}
	if got := r.String("code"); got != code {
		t.Errorf("want code %q, got %q: %s", code, got, r.Raw)
	}
	reason := http.StatusText(status)
	if status == http.StatusInternalServerError {
		reason = "Error"
	}
	prefix := fmt.Sprintf("%d - %s. ", status, reason)
	suffix := " (" + code + ")."
	msg := r.String("error")
	if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) || len(msg) <= len(prefix)+len(suffix) {
		t.Errorf("error %q does not read %q<detail>%q", msg, prefix, suffix)
	}
	apiWantCommonHeaders(t, r)
	if rid := r.String("request_id"); rid == "" || rid != r.Header.Get("X-Request-Id") {
		t.Errorf("request_id %q, X-Request-Id %q", rid, r.Header.Get("X-Request-Id"))
	}
}

// apiWantCommonHeaders checks the headers of every API answer.
func apiWantCommonHeaders(t *testing.T, r apitest.Response) {
	t.Helper()
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Errorf("no X-Request-Id header")
	}
}

// apiWantApproved checks a 200 answer of authorize or charge.
func apiWantApproved(t *testing.T, r apitest.Response) {
	t.Helper()
	if r.Status != http.StatusOK || r.Number("success") != 1 || r.String("message") != "Approved and Completed" {
		t.Fatalf("want approval, got %d %s", r.Status, r.Raw)
	}
	if !apiIDPattern.MatchString(r.String("id")) {
		t.Fatalf("want a 15-character id, got %s", r.Raw)
	}
	apiWantCommonHeaders(t, r)
}

// apiLookup looks a payment up and returns lookup's data; it fails the test
// unless the lookup succeeds.
func apiLookup(t *testing.T, s *apitest.Server, id string) map[string]any {
	t.Helper()
	r := s.Post(t, "/payment/lookup", `{"payment_id":"`+id+`"}`)
	if r.Status != http.StatusOK || r.Number("success") != 1 {
		t.Fatalf("lookup %s: %d %s", id, r.Status, r.Raw)
	}
	d := r.Data()
	if d == nil {
		t.Fatalf("lookup %s: no data: %s", id, r.Raw)
	}
	return d
}

func apiCard(d map[string]any) map[string]any {
	c, _ := d["card"].(map[string]any)
	return c
}

func apiTransactions(d map[string]any) []map[string]any {
	list, _ := d["transactions"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, v := range list {
		m, _ := v.(map[string]any)
		out = append(out, m)
	}
	return out
}

// apiRowCounts is how many payments and transactions the store holds.
type apiRowCounts struct{ Payments, Transactions int }

// apiRows counts the payments and transactions the test server's database holds.
func apiRows(t *testing.T, s *apitest.Server) *apiRowCounts {
	t.Helper()
	return &apiRowCounts{Payments: s.Count(t, "payments"), Transactions: s.Count(t, "transactions")}
}

// apiWantNoNewRows fails if rows were added since before.
func apiWantNoNewRows(t *testing.T, s *apitest.Server, before *apiRowCounts) {
	t.Helper()
	if after := apiRows(t, s); before != nil && after != nil && *after != *before {
		t.Errorf("a refused request was recorded: %+v → %+v", *before, *after)
	}
}

// apiWantPayments fails unless the store holds n payments.
func apiWantPayments(t *testing.T, s *apitest.Server, n int) {
	t.Helper()
	if got := apiRows(t, s); got != nil && got.Payments != n {
		t.Errorf("the store holds %d payments, want %d", got.Payments, n)
	}
}

// apiLuhn completes a digit prefix with its Luhn check digit.
func apiLuhn(prefix string) string {
	sum := 0
	double := true // the check digit will be appended on the right
	for i := len(prefix) - 1; i >= 0; i-- {
		d := int(prefix[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return prefix + strconv.Itoa((10-sum%10)%10)
}

type apiCardCase struct {
	name      string
	number    string
	overrides map[string]any
	brand     string
	// decline is the decline code; "" means approved.
	decline  string
	avs, cvv string
}

// apiSandboxCards is every test card and trigger of the sandbox table
// (docs and ../shared/api-contract.md).
func apiSandboxCards() []apiCardCase {
	cases := []apiCardCase{
		{name: "visa 4242", number: "4242424242424242", brand: "visa", avs: "Y", cvv: "M"},
		{name: "visa 4111", number: "4111111111111111", brand: "visa", avs: "Y", cvv: "M"},
		{name: "mastercard", number: "5555555555554444", brand: "mastercard", avs: "Y", cvv: "M"},
		{name: "amex", number: "378282246310005", overrides: map[string]any{"card_cvv": 1234}, brand: "amex", avs: "Y", cvv: "M"},
		{name: "discover", number: "6011111111111117", brand: "discover", avs: "Y", cvv: "M"},
		{name: "other luhn-valid card", number: apiLuhn("411111111111112"), brand: "visa", avs: "Y", cvv: "M"},

		{name: "generic decline", number: "4000000000000002", brand: "visa", decline: "card-declined", avs: "Y", cvv: "M"},
		{name: "insufficient funds", number: "4000000000009995", brand: "visa", decline: "insufficient-funds", avs: "Y", cvv: "M"},
		{name: "lost card", number: "4000000000009987", brand: "visa", decline: "lost-card", avs: "Y", cvv: "M"},
		{name: "stolen card", number: "4000000000009979", brand: "visa", decline: "stolen-card", avs: "Y", cvv: "M"},
		{name: "expired card decline", number: "4000000000000069", brand: "visa", decline: "expired-card", avs: "Y", cvv: "M"},
		{name: "incorrect cvv", number: "4000000000000127", brand: "visa", decline: "incorrect-cvv", avs: "Y", cvv: "N"},
		{name: "decline keeps zip trigger", number: "4000000000000002", overrides: map[string]any{"zip": "99903"}, brand: "visa", decline: "card-declined", avs: "N", cvv: "M"},

		{name: "cvv no match card", number: "4000000000000101", brand: "visa", avs: "Y", cvv: "N"},
		{name: "avs A card", number: "4000000000000036", brand: "visa", avs: "A", cvv: "M"},
		{name: "avs N card", number: "4000000000000010", brand: "visa", avs: "N", cvv: "M"},
		{name: "avs card beats zip trigger", number: "4000000000000036", overrides: map[string]any{"zip": "99902"}, brand: "visa", avs: "A", cvv: "M"},
		{name: "cvv card beats cvv trigger", number: "4000000000000101", overrides: map[string]any{"card_cvv": 902}, brand: "visa", avs: "Y", cvv: "N"},
	}
	zips := []struct{ zip, avs string }{
		{"99901", "A"}, {"99902", "Z"}, {"99903", "N"}, {"99904", "U"}, {"99905", "R"},
		{"99906", "S"}, {"99907", "G"}, {"99908", "W"}, {"99909", "X"}, {"99910", "E"},
	}
	for _, z := range zips {
		cases = append(cases, apiCardCase{name: "zip " + z.zip, number: "4242424242424242", overrides: map[string]any{"zip": z.zip},
			brand: "visa", avs: z.avs, cvv: "M"})
	}
	cvvs := []struct {
		cvv  any
		code string
	}{{900, "M"}, {901, "N"}, {902, "S"}, {903, "U"}, {904, "P"}, {"903", "U"}}
	for _, c := range cvvs {
		cases = append(cases, apiCardCase{name: fmt.Sprintf("cvv %v", c.cvv), number: "5555555555554444",
			overrides: map[string]any{"card_cvv": c.cvv}, brand: "mastercard", avs: "Y", cvv: c.code})
	}
	// A 4-digit Amex CVV triggers by its value: "0901" works like 901.
	cases = append(cases,
		apiCardCase{name: "amex cvv 0901", number: "378282246310005", overrides: map[string]any{"card_cvv": "0901"}, brand: "amex", avs: "Y", cvv: "N"},
		apiCardCase{name: "amex cvv 0904 zip 99906", number: "378282246310005", overrides: map[string]any{"card_cvv": "0904", "zip": "99906"}, brand: "amex", avs: "S", cvv: "P"},
	)
	return cases
}

// TestCardsSandbox runs every test card and trigger through charge and
// authorize, and looks each recorded payment up.
func TestCardsSandbox(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	for _, tc := range apiSandboxCards() {
		for _, op := range []string{"charge", "authorize"} {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				r := s.Post(t, "/payment/"+op, apitest.PaymentBody(tc.number, tc.overrides))
				if tc.decline == "" {
					apiWantApproved(t, r)
				} else {
					apiWantError(t, r, http.StatusBadRequest, tc.decline)
					if !apiIDPattern.MatchString(r.String("id")) {
						t.Fatalf("a declined attempt must name its 15-character id: %s", r.Raw)
					}
				}
				if r.String("avs_code") != tc.avs || r.String("cvv_code") != tc.cvv {
					t.Errorf("want AVS %s CVV %s, got %s", tc.avs, tc.cvv, r.Raw)
				}
				if r.String("avs_message") != gateway.AVSMessage(tc.avs) || r.String("avs_message") == "" ||
					r.String("cvv_message") != gateway.CVVMessage(tc.cvv) || r.String("cvv_message") == "" {
					t.Errorf("AVS/CVV messages missing or wrong: %s", r.Raw)
				}

				id := r.String("id")
				d := apiLookup(t, s, id)
				wantStatus := map[string]string{"charge": "captured", "authorize": "authorized"}[op]
				var wantCaptured float64
				if op == "charge" {
					wantCaptured = 2000
				}
				if tc.decline != "" {
					wantStatus, wantCaptured = "declined", 0
				}
				wantAuthorized := 2000.0
				if tc.decline != "" {
					wantAuthorized = 0 // nothing is held by a declined attempt
				}
				if d["id"] != id || d["status"] != wantStatus || d["amount_captured"] != wantCaptured || d["amount_authorized"] != wantAuthorized ||
					d["environment"] != "sandbox" {
					t.Errorf("lookup: id %v status %v authorized %v captured %v env %v; want %s %s %v %v sandbox", d["id"], d["status"],
						d["amount_authorized"], d["amount_captured"], d["environment"], id, wantStatus, wantAuthorized, wantCaptured)
				}
				if tx := apiTransactions(d); len(tx) == 1 && tx[0]["amount"] != 2000.0 {
					t.Errorf("the attempt's transaction keeps its amount: %v", tx[0])
				}
				if got, _ := d["decline_code"].(string); got != tc.decline {
					t.Errorf("lookup decline_code = %q, want %q", got, tc.decline)
				}
				if d["avs_code"] != tc.avs || d["cvv_code"] != tc.cvv {
					t.Errorf("lookup AVS %v CVV %v, want %s %s", d["avs_code"], d["cvv_code"], tc.avs, tc.cvv)
				}
				c := apiCard(d)
				if c["brand"] != tc.brand || c["bin"] != tc.number[:6] || c["last4"] != tc.number[len(tc.number)-4:] {
					t.Errorf("lookup card = %v, want %s %s…%s", c, tc.brand, tc.number[:6], tc.number[len(tc.number)-4:])
				}
				tx := apiTransactions(d)
				wantResult := "approved"
				if tc.decline != "" {
					wantResult = "declined"
				}
				if len(tx) != 1 || tx[0]["id"] != id || tx[0]["type"] != op || tx[0]["result"] != wantResult {
					t.Errorf("lookup transactions = %v, want one %s %s", tx, op, wantResult)
				}
				if strings.Contains(string(r.Raw)+fmt.Sprint(d), tc.number) {
					t.Errorf("an answer shows the full card number")
				}

				if tc.decline != "" {
					// Nothing to operate on: a declined attempt holds no money.
					c := s.Post(t, "/payment/capture", `{"authorized_payment_id":"`+id+`","amount":100}`)
					apiWantError(t, c, http.StatusBadRequest, "payment-not-approved")
					f := s.Post(t, "/payment/refund", `{"payment_id":"`+id+`","amount":100}`)
					apiWantError(t, f, http.StatusBadRequest, "payment-not-approved")
				}
			})
		}
	}
}

// TestCardsProcessorError: 4000000000000119 is answered as a 500 that never
// leaks internals, is recorded as failed, and nothing is captured.
func TestCardsProcessorError(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	for _, op := range []string{"charge", "authorize"} {
		t.Run(op, func(t *testing.T) {
			r := s.Post(t, "/payment/"+op, apitest.PaymentBody("4000000000000119", nil))
			apiWantError(t, r, http.StatusInternalServerError, "processor-error")
			id := r.String("id")
			if !apiIDPattern.MatchString(id) {
				t.Fatalf("the failed attempt is recorded and names its id: %s", r.Raw)
			}
			d := apiLookup(t, s, id)
			if d["status"] != "failed" || d["amount_authorized"] != 0.0 || d["amount_captured"] != 0.0 || d["amount_refundable"] != 0.0 || d["decline_code"] != "processor-error" {
				t.Errorf("lookup = status %v authorized %v captured %v refundable %v decline_code %v; want failed, 0, 0, 0, processor-error",
					d["status"], d["amount_authorized"], d["amount_captured"], d["amount_refundable"], d["decline_code"])
			}
			if tx := apiTransactions(d); len(tx) != 1 || tx[0]["result"] != "error" || tx[0]["code"] != "processor-error" {
				t.Errorf("lookup transactions = %v", tx)
			}
			capture := s.Post(t, "/payment/capture", `{"authorized_payment_id":"`+id+`","amount":2000}`)
			apiWantError(t, capture, http.StatusBadRequest, "payment-not-approved")
			refund := s.Post(t, "/payment/refund", `{"payment_id":"`+id+`","amount":100}`)
			apiWantError(t, refund, http.StatusBadRequest, "payment-not-approved")
			if after := apiLookup(t, s, id); after["status"] != "failed" || after["amount_captured"] != 0.0 || len(apiTransactions(after)) != 1 {
				t.Errorf("a refused operation changed the failed payment: %v", after)
			}
		})
	}
}

// TestCardsInvalid: card input the gateway refuses itself, before the
// processor: 400 with the card package's code, no id, nothing recorded.
func TestCardsInvalid(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	now := time.Now().UTC()
	lastMonth := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		number    string
		overrides map[string]any
		code      string
	}{
		{"luhn failure", "4242424242424241", nil, "invalid-card-number"},
		{"luhn failure as string with spaces", "", map[string]any{"card_number": "4242 4242 4242 4241"}, "invalid-card-number"},
		{"too short", "424242424242", nil, "invalid-card-number"},
		{"too long", "42424242424242424242", nil, "invalid-card-number"},
		{"letters", "", map[string]any{"card_number": "4242abcd42424242"}, "invalid-card-number"},
		{"wrong length for brand", apiLuhn("424242424242424"), map[string]any{"card_number": apiLuhn("42424242424242")}, "invalid-card-number"},
		{"expired last month", "4242424242424242", map[string]any{"card_expiry_month": int(lastMonth.Month()), "card_expiry_year": lastMonth.Year()}, "expired-card"},
		{"expired year", "4242424242424242", map[string]any{"card_expiry_month": 12, "card_expiry_year": 2020}, "expired-card"},
		{"month 13", "4242424242424242", map[string]any{"card_expiry_month": 13}, "invalid-card-expiry-month"},
		{"month 0", "4242424242424242", map[string]any{"card_expiry_month": 0}, "invalid-card-expiry-month"},
		{"year 3 digits", "4242424242424242", map[string]any{"card_expiry_year": 203}, "invalid-card-expiry-year"},
		{"visa cvv 4 digits", "4242424242424242", map[string]any{"card_cvv": 1234}, "invalid-card-cvv"},
		{"visa cvv 2 digits", "4242424242424242", map[string]any{"card_cvv": 12}, "invalid-card-cvv"},
		{"mastercard cvv 4 digits", "5555555555554444", map[string]any{"card_cvv": 1234}, "invalid-card-cvv"},
		{"discover cvv 4 digits", "6011111111111117", map[string]any{"card_cvv": 1234}, "invalid-card-cvv"},
		{"amex cvv 3 digits", "378282246310005", map[string]any{"card_cvv": 123}, "invalid-card-cvv"},
		{"amex cvv 5 digits", "378282246310005", map[string]any{"card_cvv": 12345}, "invalid-card-cvv"},
		{"cvv letters", "4242424242424242", map[string]any{"card_cvv": "12a"}, "invalid-card-cvv"},
	}
	for _, tc := range cases {
		for _, op := range []string{"charge", "authorize"} {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				before := apiRows(t, s)
				number := tc.number
				if number == "" {
					number = "0" // replaced by the override
				}
				r := s.Post(t, "/payment/"+op, apitest.PaymentBody(number, tc.overrides))
				apiWantError(t, r, http.StatusBadRequest, tc.code)
				if _, ok := r.Body["id"]; ok {
					t.Errorf("an invalid request must not name an id: %s", r.Raw)
				}
				if len(tc.number) >= 12 && strings.Contains(string(r.Raw), tc.number) {
					t.Errorf("the answer shows the card number: %s", r.Raw)
				}
				apiWantNoNewRows(t, s, before)
			})
		}
	}
	apiWantPayments(t, s, 0)
}

// TestCardsExpiringThisMonth: a card is valid through its expiry month.
func TestCardsExpiringThisMonth(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	now := time.Now().UTC()
	r := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242",
		map[string]any{"card_expiry_month": int(now.Month()), "card_expiry_year": now.Year()}))
	apiWantApproved(t, r)
	two := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242",
		map[string]any{"card_expiry_month": "09", "card_expiry_year": strconv.Itoa(now.Year() + 1)[2:]}))
	apiWantApproved(t, two)
	if c := apiCard(apiLookup(t, s, two.String("id"))); c["exp_month"] != 9.0 || c["exp_year"] != float64(now.Year()+1) {
		t.Errorf("2-digit year and 0-padded month: lookup card = %v", c)
	}
}
