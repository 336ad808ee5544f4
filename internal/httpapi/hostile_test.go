package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/httpapi"
	"github.com/cartgateway/cartgateway/internal/server"
	"github.com/cartgateway/cartgateway/internal/web"
)

// hostilePaths are every endpoint that reads a JSON body.
var hostilePaths = []string{"/payment/charge", "/payment/authorize", "/payment/capture", "/payment/refund", "/payment/void", "/payment/lookup"}

// hostileQuick bounds the answer to a hostile body: the server must refuse it
// without work that grows faster than the body (a quadratic parse of 1 MiB
// of brackets takes minutes). It is not a speed target (those are met in
// cgbench): the bound is generous, because shared CI machines and the race
// detector slow every request down many times, and a test that timed the
// server's pace would fail for the machine's load, not for the code.
var hostileQuick = func() time.Duration {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return 30 * time.Second
			}
		}
	}
	return 10 * time.Second
}()

// hostilePost posts body and fails if the answer took longer than hostileQuick.
func hostilePost(t *testing.T, s *apitest.Server, path, body string, headers map[string]string) apitest.Response {
	t.Helper()
	start := time.Now()
	r := s.Request(t, http.MethodPost, path, body, headers)
	if d := time.Since(start); d > hostileQuick {
		t.Errorf("POST %s with a %d-byte body took %v, want under %v", path, len(body), d, hostileQuick)
	}
	return r
}

// hostileStillServes checks the server still answers, and still takes a
// payment, after hostile input.
func hostileStillServes(t *testing.T, s *apitest.Server) {
	t.Helper()
	r := s.Request(t, http.MethodGet, "/healthz", "", nil)
	if r.Status != http.StatusOK || r.String("status") != "ok" {
		t.Fatalf("GET /healthz after hostile input: %d %s", r.Status, r.Raw)
	}
	apiWantApproved(t, s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil)))
}

// TestHostileDeepJSON: deeply nested JSON (100,000 levels, within 1 MiB) on
// every endpoint is refused at once as invalid JSON, and the server lives.
func TestHostileDeepJSON(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, apitest.Options{})
	const depth = 100_000
	bodies := map[string]string{
		"arrays":                    strings.Repeat("[", depth),
		"closed arrays":             strings.Repeat("[", depth) + strings.Repeat("]", depth),
		"objects":                   strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth),
		"unclosed objects":          strings.Repeat(`{"a":`, depth),
		"arrays in a field":         `{"payment_id":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`,
		"objects in a field":        `{"amount":1,"card_number":` + strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth) + `}`,
		"arrays in an unread field": `{"x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `,"payment_id":"x"}`,
	}
	rows := apiRows(t, s)
	for _, path := range hostilePaths {
		for name, body := range bodies {
			if len(body) > httpapi.MaxBodyBytes {
				t.Fatalf("%s: %d bytes is over the body limit", name, len(body))
			}
			t.Run(path+"/"+name, func(t *testing.T) {
				apiWantError(t, hostilePost(t, s, path, body, nil), http.StatusBadRequest, "invalid-json")
			})
		}
	}
	apiWantNoNewRows(t, s, rows)
	hostileStillServes(t, s)
}

// hostileWithin pads a JSON object body with an unknown field so that it is
// exactly n bytes long.
func hostileWithin(body string, n int) string {
	const open, close = `{"padding":"`, `",`
	pad := n - len(body) - len(open) - len(close) + 1 // body's own "{" goes
	if pad < 0 {
		panic("body too long to pad")
	}
	return open + strings.Repeat("a", pad) + close + body[1:]
}

// TestHostileOddBodies: huge literals, long strings, many or duplicate keys,
// invalid UTF-8, NUL bytes, a byte-order mark and trailing data each get a
// clear 400 JSON answer, and nothing is recorded.
func TestHostileOddBodies(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, apitest.Options{})
	const limit = httpapi.MaxBodyBytes
	valid := apitest.PaymentBody("4242424242424242", nil)
	with := func(field, rawValue string) string { // a valid body but for field, whose value is rawValue as it is
		rest := apitest.PaymentBody("4242424242424242", map[string]any{field: nil})
		return `{"` + field + `":` + rawValue + `,` + rest[1:]
	}
	huge := func(field, quote string, digit byte) string { // a field's literal filling the body up to just under the limit
		n := limit - len(with(field, "0")) - 16
		return with(field, quote+strings.Repeat(string(digit), n)+quote)
	}
	dupCard := with("card_number", `"4000000000000002"`)
	dupCard = dupCard[:len(dupCard)-1] + `,"card_number":"4242424242424242"}`
	hugeID := strings.Repeat("A", limit/2-100)
	var manyKeys strings.Builder
	manyKeys.WriteString("{")
	for i := range 100_000 {
		fmt.Fprintf(&manyKeys, `"%x":0,`, i)
	}
	manyKeys.WriteString(`"z":0}`)
	type tc struct {
		name, body, code string
		paths            []string // hostilePaths if nil
	}
	pay := []string{"/payment/charge", "/payment/authorize"}
	change := []string{"/payment/capture", "/payment/refund", "/payment/void", "/payment/lookup"}
	cases := []tc{
		{"huge amount literal", huge("amount", "", '9'), "invalid-amount", pay},
		{"huge amount string", huge("amount", `"`, '9'), "invalid-amount", pay},
		{"huge negative amount", with("amount", "-"+strings.Repeat("9", limit/2)), "invalid-amount", pay},
		{"huge exponent amount", with("amount", "1e"+strings.Repeat("9", limit/2)), "invalid-amount", pay},
		{"huge card number literal", huge("card_number", "", '4'), "invalid-card-number", pay},
		{"huge card number string", huge("card_number", `"`, '4'), "invalid-card-number", pay},
		{"huge first name", huge("firstname", `"`, 'x'), "invalid-firstname", pay},
		{"huge escaped first name", with("firstname", `"`+strings.Repeat(`\u00e9`, limit/8)+`"`), "invalid-firstname", pay},
		{"huge float", with("card_cvv", "0."+strings.Repeat("1", limit/2)), "invalid-card-cvv", pay},
		{"huge payment id", `{"payment_id":"` + hugeID + `","authorized_payment_id":"` + hugeID + `","amount":1}`, "invalid id", change},
		{"many keys", manyKeys.String(), "missing", nil},
		{"duplicate amount", `{"amount":1,` + valid[1:], "invalid-json", pay},
		{"duplicate card number", dupCard, "invalid-json", pay},
		{"duplicate escaped key", `{"\u0061mount":100000,` + valid[1:], "invalid-json", pay},
		{"duplicate payment id", `{"payment_id":"A","authorized_payment_id":"A","amount":1,"payment_id":"B","authorized_payment_id":"B","amount":2}`, "invalid-json", change},
		{"invalid UTF-8 in a field", with("firstname", "\"Te\xffst\""), "invalid-json", pay},
		{"invalid UTF-8 in an unknown field", with("note", "\"\xc3\x28\""), "invalid-json", pay},
		{"invalid UTF-8 in a key", `{"\xfe":1,` + valid[1:], "invalid-json", pay},
		{"overlong UTF-8", with("firstname", "\"\xc0\xaf\""), "invalid-json", pay},
		{"NUL in a string", with("firstname", "\"Te\x00st\""), "invalid-json", nil},
		{"escaped NUL", with("firstname", `"Te\u0000st"`), "invalid-firstname", pay},
		{"escaped NUL id", `{"payment_id":"A\u0000","authorized_payment_id":"A\u0000","amount":1}`, "invalid id", change},
		{"NUL after the body", valid + "\x00", "invalid-json", nil},
		{"NUL before the body", "\x00" + valid, "invalid-json", nil},
		{"byte-order mark", "\xef\xbb\xbf" + valid, "invalid-json", nil},
		{"UTF-16", "\xff\xfe{\x00}\x00", "invalid-json", nil},
		{"two objects", `{}{}`, "invalid-json", nil},
		{"valid body then an object", valid + `{}`, "invalid-json", nil},
		{"valid body then garbage", valid + ` x`, "invalid-json", nil},
		{"valid body then a comment", valid + ` // x`, "invalid-json", nil},
	}
	rows := apiRows(t, s)
	for _, c := range cases {
		if len(c.body) > limit {
			t.Fatalf("%s: %d bytes is over the body limit", c.name, len(c.body))
		}
		paths := c.paths
		if paths == nil {
			paths = hostilePaths
		}
		for _, path := range paths {
			t.Run(path+"/"+c.name, func(t *testing.T) {
				r := hostilePost(t, s, path, c.body, nil)
				code := c.code
				switch { // the first field each endpoint's decoder requires
				case code == "missing" && (path == "/payment/charge" || path == "/payment/authorize"):
					code = "missing-amount" // the decoder needs it; the service's rules come after
				case code == "missing" && path == "/payment/capture":
					code = "missing-authorized-payment-id"
				case code == "missing":
					code = "missing-payment-id"
				case code == "invalid id" && path == "/payment/capture":
					code = "invalid-authorized-payment-id"
				case code == "invalid id":
					code = "invalid-payment-id"
				}
				apiWantError(t, r, http.StatusBadRequest, code)
			})
		}
	}
	apiWantNoNewRows(t, s, rows)
	apiWantPayments(t, s, 0)
	if logs := s.Logs(); strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("hostile bodies logged errors:\n%s", grepLines(logs, `"level":"ERROR"`))
	}
	hostileStillServes(t, s)
}

// TestHostileTrickyValidBodies: bodies that look odd but are valid JSON
// objects naming each field once are taken: commas, quotes, braces and
// escapes inside strings or nested values, unknown fields, many of them.
func TestHostileTrickyValidBodies(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, apitest.Options{})
	var manyKeys strings.Builder
	for i := range 50_000 {
		fmt.Fprintf(&manyKeys, `"%x":[0,{}],`, i)
	}
	prefixes := map[string]string{
		"commas in strings":     `"note":"a,b,\",\"amount\":1,",`,
		"escaped backslashes":   `"note":"\\","x\\":"\\\"",`,
		"nested commas":         `"tags":[1,2,{"amount":1,"card_number":[3,4]}],"o":{"a":{"b":[]}},`,
		"braces in strings":     `"n":"}}]]{{[[","m":"{\"a\":1,\"a\":2}",`,
		"same name nested":      `"x":{"amount":1,"amount":2},`,
		"escaped unicode names": `"\u0061mounts":1,"amount ":2,"Amount":3,`,
		"whitespace":            "\t\r\n \"w\" \n:\t[ 1 , 2 ] ,\n",
		"many unknown keys":     manyKeys.String(),
	}
	for name, prefix := range prefixes {
		t.Run(name, func(t *testing.T) {
			body := "{" + prefix + apitest.PaymentBody("4242424242424242", nil)[1:]
			if !json.Valid([]byte(body)) {
				t.Fatalf("not valid JSON: %.200s", body)
			}
			r := hostilePost(t, s, "/payment/charge", body, nil)
			apiWantApproved(t, r)
			if d := apiLookup(t, s, r.String("id")); d["amount_captured"] != 2000.0 {
				t.Errorf("amount_captured = %v, want 2000", d["amount_captured"])
			}
		})
	}
	apiWantPayments(t, s, len(prefixes))
}

// TestHostileBodyLimit: a body of exactly 1 MiB is read; one byte more is
// 413, on every endpoint.
func TestHostileBodyLimit(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, apitest.Options{})
	const limit = httpapi.MaxBodyBytes
	for _, path := range hostilePaths {
		t.Run(path, func(t *testing.T) {
			body := `{"payment_id":"AAAAAAAAAAAAAAA","authorized_payment_id":"AAAAAAAAAAAAAAA","amount":100}`
			status, code := http.StatusBadRequest, "payment-not-found"
			if path == "/payment/charge" || path == "/payment/authorize" {
				body, status, code = apitest.PaymentBody("4242424242424242", nil), http.StatusOK, ""
			}
			at := hostileWithin(body, limit)
			if len(at) != limit {
				t.Fatalf("padded body is %d bytes", len(at))
			}
			r := hostilePost(t, s, path, at, nil)
			if status == http.StatusOK {
				apiWantApproved(t, r)
			} else {
				apiWantError(t, r, status, code)
			}
			// The same body with whitespace padding instead.
			if ws := body + strings.Repeat(" ", limit-len(body)); status != http.StatusOK {
				apiWantError(t, hostilePost(t, s, path, ws, nil), status, code)
			}
			rows := apiRows(t, s)
			for _, over := range []string{hostileWithin(body, limit+1), body + strings.Repeat(" ", limit+1-len(body)), hostileWithin(body, 4*limit)} {
				apiWantError(t, hostilePost(t, s, path, over, nil), http.StatusRequestEntityTooLarge, "body-too-large")
			}
			apiWantNoNewRows(t, s, rows)
		})
	}
	apiWantPayments(t, s, 2)
	hostileStillServes(t, s)
}

// TestHostileContentTypes: a body that says it is not JSON is refused before
// it is read, on every endpoint.
func TestHostileContentTypes(t *testing.T) {
	t.Parallel()
	s := apitest.Start(t, apitest.Options{})
	valid := apitest.PaymentBody("4242424242424242", nil)
	types := []string{
		"text/plain", "text/plain; charset=utf-8", "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded",
		"application/xml", "text/json", "application/jsonx", "json", "application/", "/json", "application/json/x",
		"}{;;=", "application/json; charset", "application/json; =utf-8", "application/json;;;", strings.Repeat("a", 8<<10),
	}
	rows := apiRows(t, s)
	for _, path := range hostilePaths {
		for _, ct := range types {
			name := ct
			if len(name) > 40 {
				name = name[:40]
			}
			t.Run(path+"/"+name, func(t *testing.T) {
				r := hostilePost(t, s, path, valid, map[string]string{"Content-Type": ct})
				apiWantError(t, r, http.StatusBadRequest, "unsupported-content-type")
			})
		}
		t.Run(path+"/multipart body", func(t *testing.T) {
			body := "--xyz\r\nContent-Disposition: form-data; name=\"payment_id\"\r\n\r\nx\r\n--xyz--\r\n"
			r := hostilePost(t, s, path, body, map[string]string{"Content-Type": "multipart/form-data; boundary=xyz"})
			apiWantError(t, r, http.StatusBadRequest, "unsupported-content-type")
		})
	}
	apiWantNoNewRows(t, s, rows)
	// JSON types with parameters, and +json, are accepted.
	for _, ct := range []string{"application/json", "Application/JSON; charset=UTF-8", "application/vnd.api+json"} {
		apiWantApproved(t, s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil),
			map[string]string{"Content-Type": ct}))
	}
}

// hostileRequestID is the X-Request-Id the panic test sends to path.
func hostileRequestID(path string) string {
	return "hostile" + strings.ReplaceAll(path, "/", "-")
}

// TestHostilePanicRecovered: a panic in a handler is a 500 in the API's error
// format and a "panic" log line with the stack; the server keeps serving, on
// the same connection too.
func TestHostilePanicRecovered(t *testing.T) {
	t.Parallel()
	logs := &apitest.LogBuffer{}
	var checks atomic.Int32
	h := server.New(server.Config{
		Service: nil, // any request that reaches the service panics
		Log:     slog.New(slog.NewJSONHandler(logs, nil)),
		Ready: func(context.Context) error {
			if checks.Add(1)%2 == 1 {
				panic("boom")
			}
			return nil
		},
		Limits: web.Limits{IPRate: -1, AccountRate: -1, AuthFailuresPerMinute: -1},
	})
	ts := httptest.NewServer(apitest.Checked(t, h))
	defer ts.Close()
	client := ts.Client()
	send := func(method, path, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("CARTGATEWAY-ACCOUNT-ID", "7769")
		req.Header.Set("Authorization", "Bearer "+apitest.SDKKey)
		req.Header.Set("X-Request-Id", hostileRequestID(path))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: answer %d is not JSON: %v: %q", method, path, resp.StatusCode, err, raw)
		}
		return resp, m
	}
	wantPanicAnswer := func(path string) {
		t.Helper()
		method := http.MethodPost
		if path == "/healthz" {
			method = http.MethodGet
		}
		resp, m := send(method, path, `{"payment_id":"AAAAAAAAAAAAAAA"}`)
		want := "500 - Error. Something went wrong while processing the request (internal-error)."
		if resp.StatusCode != http.StatusInternalServerError || m["success"] != 0.0 || m["code"] != "internal-error" || m["error"] != want {
			t.Errorf("%s after a panic: %d %v", path, resp.StatusCode, m)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		id := hostileRequestID(path)
		if m["request_id"] != id || resp.Header.Get("X-Request-Id") != id {
			t.Errorf("%s: request id %v / %q, want %q", path, m["request_id"], resp.Header.Get("X-Request-Id"), id)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: the panic answer lacks the security headers: %v", path, resp.Header)
		}
		var found bool
		for _, line := range strings.Split(logs.String(), "\n") {
			var e map[string]any
			if json.Unmarshal([]byte(line), &e) != nil || e["msg"] != "panic" || e["request_id"] != id {
				continue
			}
			found = true
			if e["level"] != "ERROR" || e["path"] != path || !strings.Contains(fmt.Sprint(e["stack"]), "goroutine") {
				t.Errorf("%s: panic log line %s", path, line)
			}
		}
		if !found {
			t.Errorf("%s: no panic log line for %s:\n%.2000s", path, id, logs.String())
		}
	}

	wantPanicAnswer("/healthz") // Ready panics
	// The process lives: the next request, on the same keep-alive
	// connection, is answered normally.
	if resp, m := send(http.MethodGet, "/healthz", ""); resp.StatusCode != http.StatusOK || m["status"] != "ok" {
		t.Fatalf("GET /healthz after a panic: %d %v", resp.StatusCode, m)
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Errorf("the log does not name the panic value:\n%.2000s", logs.String())
	}
	// With no Service, every payment endpoint panics once authenticating.
	for _, path := range hostilePaths {
		wantPanicAnswer(path)
	}
	if resp, m := send(http.MethodGet, "/healthz", ""); resp.StatusCode != http.StatusInternalServerError || m["code"] != "internal-error" {
		t.Fatalf("GET /healthz (panicking again): %d %v", resp.StatusCode, m)
	}
	if resp, m := send(http.MethodGet, "/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz at the end: %d %v", resp.StatusCode, m)
	}
	resp, err := client.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(metrics) == 0 {
		t.Fatalf("GET /metrics after panics: %d", resp.StatusCode)
	}
	// Nothing of the request's credentials reaches the log.
	if strings.Contains(logs.String(), apitest.SDKKey) {
		t.Error("the panic log shows the API key")
	}
}
