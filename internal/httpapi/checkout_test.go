package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/service"
)

// addProducts puts product1 (1000) and product2 (1500) into the sandbox
// catalogue of the server's account.
func addProducts(t *testing.T, s *apitest.Server) {
	t.Helper()
	for _, p := range []service.ProductInput{{Codename: "product1", Name: "Blue mug", Price: 1000}, {Codename: "product2", Name: "Tea towel", Price: 1500}} {
		if _, err := s.Service.AddProduct(context.Background(), s.AccountID, gateway.Sandbox, p); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckoutSDKBodies: the SDK's own create bodies, byte for byte, make
// sessions with the right totals and pages that open; its validate body
// names an unknown payment.
func TestCheckoutSDKBodies(t *testing.T) {
	s := apitest.Start(t, apitest.Options{AccountID: apitest.SDKAccountID, Key: apitest.SDKKey})
	addProducts(t, s)
	for _, tc := range []struct {
		file   string
		amount int64
	}{
		{"hosted-checkout-create-amounts.json", 1000*1 + 1000*2 + 250 + 59},
		{"hosted-checkout-create-codenames.json", 1000*1 + 1500*2 + 25 + 512},
	} {
		r := s.Post(t, "/hosted/checkout/create", apitest.SDKBody(t, tc.file))
		if r.Status != 200 || r.Number("success") != 1 || r.Number("amount") != tc.amount {
			t.Errorf("%s: want success with amount %d, got %d %s", tc.file, tc.amount, r.Status, r.Raw)
			continue
		}
		u, err := url.Parse(r.String("url"))
		if err != nil || !strings.HasPrefix(r.String("url"), s.URL+"/checkout/") {
			t.Errorf("%s: url %q is not a page of this server", tc.file, r.String("url"))
			continue
		}
		token := strings.TrimPrefix(u.Path, "/checkout/")
		if len(token) < 22 || strings.Contains(r.String("url"), r.String("id")) {
			t.Errorf("%s: token %q is shorter than 128 bits or shows the session id", tc.file, token)
		}
		page := s.Get(t, r.String("url"))
		if page.Status != 200 || !strings.Contains(string(page.Raw), "Pay $") {
			t.Errorf("%s: the page answers %d", tc.file, page.Status)
		}
	}
	v := s.Post(t, "/hosted/checkout/validate", apitest.SDKBody(t, "hosted-checkout-validate.json"))
	if v.Status != 400 || v.String("code") != "payment-not-found" {
		t.Errorf("validate of the SDK's example id: want 400 payment-not-found, got %d %s", v.Status, v.Raw)
	}
}

// createBody is a valid create body with overrides (nil removes a field).
func createBody(overrides map[string]any) string {
	m := map[string]any{"reference": "123456789", "success_url": "https://shop.example/ok?order=9", "cancel_url": "https://shop.example/cart",
		"products":   []any{map[string]any{"name": "My Product", "amount": 1000, "codename": nil, "quantity": 1, "image_url": nil}},
		"tax_amount": 250, "shipping_amount": 59}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func product(kv ...any) map[string]any {
	m := map[string]any{"name": nil, "amount": nil, "codename": nil, "quantity": nil, "image_url": nil}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// TestCheckoutCreateRules: every rule of create, each refusal a 400 with
// its code (and the codename it is about) that stores nothing.
func TestCheckoutCreateRules(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	addProducts(t, s)
	if _, err := s.Service.AddProduct(context.Background(), s.AccountID, gateway.Sandbox, service.ProductInput{Codename: "retired", Name: "Old", Price: 500}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Service.DeactivateProduct(context.Background(), s.AccountID, gateway.Sandbox, "retired"); err != nil {
		t.Fatal(err)
	}
	many := make([]any, service.MaxCheckoutLines+1)
	for i := range many {
		many[i] = product("codename", "product1")
	}
	refused := []struct {
		name, body, code, mentions string
	}{
		{"no products", createBody(map[string]any{"products": nil}), "missing-products", ""},
		{"empty products", createBody(map[string]any{"products": []any{}}), "missing-products", ""},
		{"products not an array", createBody(map[string]any{"products": "product1"}), "invalid-products", ""},
		{"a product not an object", createBody(map[string]any{"products": []any{"product1"}}), "invalid-products", ""},
		{"too many lines", createBody(map[string]any{"products": many}), "too-many-products", ""},
		{"hyphenated codename", createBody(map[string]any{"products": []any{product("codename", "blue-mug")}}), "invalid-product-codename", "blue-mug"},
		{"codename with a space", createBody(map[string]any{"products": []any{product("codename", "blue mug")}}), "invalid-product-codename", "blue mug"},
		{"unknown codename", createBody(map[string]any{"products": []any{product("codename", "product1"), product("codename", "product9")}}), "unknown-product", "product9"},
		{"inactive codename", createBody(map[string]any{"products": []any{product("codename", "retired")}}), "unknown-product", "retired"},
		{"codename of another case", createBody(map[string]any{"products": []any{product("codename", "PRODUCT1")}}), "unknown-product", "PRODUCT1"},
		{"codename and amount", createBody(map[string]any{"products": []any{product("codename", "product1", "amount", 500)}}), "ambiguous-product", ""},
		{"amount under 100", createBody(map[string]any{"products": []any{product("name", "x", "amount", 99)}}), "invalid-product-amount", ""},
		{"amount negative", createBody(map[string]any{"products": []any{product("name", "x", "amount", -1000)}}), "invalid-product-amount", ""},
		{"amount a fraction", createBody(map[string]any{"products": []any{product("name", "x", "amount", 10.5)}}), "invalid-product-amount", ""},
		{"amount missing", createBody(map[string]any{"products": []any{product("name", "x")}}), "missing-product-amount", ""},
		{"name missing", createBody(map[string]any{"products": []any{product("amount", 1000)}}), "missing-product-name", ""},
		{"name too long", createBody(map[string]any{"products": []any{product("name", strings.Repeat("n", 256), "amount", 1000)}}), "invalid-product-name", ""},
		{"quantity 0", createBody(map[string]any{"products": []any{product("name", "x", "amount", 1000, "quantity", 0)}}), "invalid-product-quantity", ""},
		{"quantity too large", createBody(map[string]any{"products": []any{product("name", "x", "amount", 1000, "quantity", 10001)}}), "invalid-product-quantity", ""},
		{"image over http", createBody(map[string]any{"products": []any{product("name", "x", "amount", 1000, "image_url", "http://img.example/a.png")}}), "invalid-product-image-url", ""},
		{"tax negative", createBody(map[string]any{"tax_amount": -1}), "invalid-tax-amount", ""},
		{"tax a fraction", createBody(map[string]any{"tax_amount": 2.5}), "invalid-tax-amount", ""},
		{"shipping a word", createBody(map[string]any{"shipping_amount": "free"}), "invalid-shipping-amount", ""},
		{"no success_url", createBody(map[string]any{"success_url": nil}), "missing-success-url", ""},
		{"relative success_url", createBody(map[string]any{"success_url": "/ok"}), "invalid-success-url", ""},
		{"javascript success_url", createBody(map[string]any{"success_url": "javascript:alert(1)"}), "invalid-success-url", ""},
		{"ftp success_url", createBody(map[string]any{"success_url": "ftp://shop.example/ok"}), "invalid-success-url", ""},
		{"success_url with credentials", createBody(map[string]any{"success_url": "https://u:p@shop.example/ok"}), "invalid-success-url", ""},
		{"success_url with payment_id", createBody(map[string]any{"success_url": "https://shop.example/ok?payment_id=X"}), "invalid-success-url", ""},
		{"no cancel_url", createBody(map[string]any{"cancel_url": nil}), "missing-cancel-url", ""},
		{"cancel_url without host", createBody(map[string]any{"cancel_url": "https:///cart"}), "invalid-cancel-url", ""},
		{"reference too long", createBody(map[string]any{"reference": strings.Repeat("r", 256)}), "invalid-reference", ""},
		{"total too large", createBody(map[string]any{"products": []any{product("name", "x", "amount", 10_000_000_000_000, "quantity", 2)}}), "amount-too-large", ""},
		{"total above the account's largest payment", createBody(map[string]any{"tax_amount": 1, "shipping_amount": 0,
			"products": []any{product("name", "x", "amount", gateway.DefaultMaxAmount)}}), "amount-too-large", "99999999"},
		{"not JSON", `{"products":`, "invalid-json", ""},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Post(t, "/hosted/checkout/create", tc.body)
			if r.Status != 400 || r.String("code") != tc.code || !strings.Contains(r.String("error"), tc.mentions) {
				t.Errorf("want 400 %s naming %q, got %d %s", tc.code, tc.mentions, r.Status, r.Raw)
			}
		})
	}
	if n := s.Count(t, "checkout_sessions"); n != 0 {
		t.Fatalf("refused creates stored %d sessions", n)
	}

	accepted := []struct {
		name   string
		body   string
		amount int64
	}{
		{"quantity null is 1, tax and shipping null are 0", createBody(map[string]any{"tax_amount": nil, "shipping_amount": nil,
			"products": []any{product("name", "x", "amount", 1000)}}), 1000},
		{"numbers as strings", createBody(map[string]any{"tax_amount": "10", "products": []any{product("name", "x", "amount", "1000", "quantity", "3")}}), 3000 + 10 + 59},
		{"codenames and own lines together", createBody(map[string]any{"products": []any{product("codename", "product2", "quantity", 2),
			product("name", "Gift wrap", "amount", 100, "image_url", "https://img.example/wrap.png")}}), 3000 + 100 + 250 + 59},
		{"reference a number, or absent", createBody(map[string]any{"reference": 4242}), 1000 + 250 + 59},
		{"no reference", createBody(map[string]any{"reference": nil}), 1000 + 250 + 59},
		{"unknown fields ignored", createBody(map[string]any{"currency": "EUR", "locale": "fr"}), 1000 + 250 + 59},
		{"the account's largest payment", createBody(map[string]any{"tax_amount": 0, "shipping_amount": 0,
			"products": []any{product("name", "x", "amount", gateway.DefaultMaxAmount/3, "quantity", 3)}}), gateway.DefaultMaxAmount},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Post(t, "/hosted/checkout/create", tc.body)
			if r.Status != 200 || r.Number("amount") != tc.amount {
				t.Errorf("want 200 with amount %d, got %d %s", tc.amount, r.Status, r.Raw)
			}
		})
	}
}

// TestCheckoutURL: the page's URL is built from --public-url when it is
// set, else from the request's scheme and host, believing a proxy's
// X-Forwarded-Host and -Proto only from a trusted proxy.
func TestCheckoutURL(t *testing.T) {
	fixed := apitest.Start(t, apitest.Options{PublicURL: "https://pay.example.com/gw"})
	if u := fixed.CreateCheckout(t, apitest.CheckoutBody(1000, "https://shop.example/ok")); !strings.HasPrefix(u, "https://pay.example.com/gw/checkout/") {
		t.Errorf("with a public URL: got %s", u)
	}

	derived := apitest.Start(t, apitest.Options{TrustedProxies: limit.Proxies{netip.MustParsePrefix("127.0.0.1/32")}})
	forwarded := derived.Request(t, http.MethodPost, "/hosted/checkout/create", apitest.CheckoutBody(1000, "https://shop.example/ok"),
		map[string]string{"X-Forwarded-Host": "pay.example.org", "X-Forwarded-Proto": "https"})
	if u := forwarded.String("url"); !strings.HasPrefix(u, "https://pay.example.org/checkout/") {
		t.Errorf("through a trusted proxy: got %d %s", forwarded.Status, forwarded.Raw)
	}
	if u := derived.CreateCheckout(t, apitest.CheckoutBody(1000, "https://shop.example/ok")); !strings.HasPrefix(u, derived.URL+"/checkout/") {
		t.Errorf("direct: got %s, want the request's own origin %s", u, derived.URL)
	}

	untrusted := apitest.Start(t, apitest.Options{})
	r := untrusted.Request(t, http.MethodPost, "/hosted/checkout/create", apitest.CheckoutBody(1000, "https://shop.example/ok"),
		map[string]string{"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"})
	if u := r.String("url"); !strings.HasPrefix(u, untrusted.URL+"/checkout/") {
		t.Errorf("X-Forwarded-* from an untrusted peer: got %s, want %s/checkout/…", u, untrusted.URL)
	}
}

// TestCheckoutIdempotency: a create repeated with its Idempotency-Key
// answers the same session and URL, marked replayed; the key with another
// body is refused.
func TestCheckoutIdempotency(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	body := createBody(nil)
	key := map[string]string{"Idempotency-Key": "create-1"}
	first := s.Request(t, http.MethodPost, "/hosted/checkout/create", body, key)
	again := s.Request(t, http.MethodPost, "/hosted/checkout/create", body, key)
	if first.Status != 200 || again.Status != 200 || again.String("url") != first.String("url") || again.String("id") != first.String("id") ||
		again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("replay: first %d %s, again %d %s %v", first.Status, first.Raw, again.Status, again.Raw, again.Header)
	}
	other := s.Request(t, http.MethodPost, "/hosted/checkout/create", createBody(map[string]any{"tax_amount": 1}), key)
	if other.Status != 409 || other.String("code") != "idempotency-key-reused" {
		t.Errorf("the key with another body: got %d %s", other.Status, other.Raw)
	}
	charge := s.Request(t, http.MethodPost, "/payment/charge", apitest.PaymentBody("4242424242424242", nil), key)
	if charge.Status != 409 || charge.String("code") != "idempotency-key-reused" {
		t.Errorf("the key on a charge: got %d %s", charge.Status, charge.Raw)
	}
	if n := s.Count(t, "checkout_sessions"); n != 1 {
		t.Errorf("%d sessions stored, want 1", n)
	}
}

// paidCheckout creates a session of amount and pays it with card through
// its page, returning the payment id the browser was sent on with.
func paidCheckout(t *testing.T, s *apitest.Server, amount int64, card string) string {
	t.Helper()
	page := s.CreateCheckout(t, apitest.CheckoutBody(amount, "https://shop.example/ok?order=7"))
	r := s.SubmitCheckout(t, page, apitest.CheckoutForm(card))
	loc, err := url.Parse(r.Header.Get("Location"))
	if r.Status != http.StatusSeeOther || err != nil || loc.Host != "shop.example" || loc.Query().Get("order") != "7" {
		t.Fatalf("pay: want 303 to the success URL with its query kept, got %d %v", r.Status, r.Header)
	}
	return loc.Query().Get("payment_id")
}

// TestCheckoutValidate: valid the first time, validated after, with the
// amount and reference; refusals for another account's payment, an
// unknown one, one made without a checkout, and a declined one.
func TestCheckoutValidate(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	id := paidCheckout(t, s, 2500, "4242424242424242")
	body := `{"payment_id":"` + id + `"}`
	first := s.Post(t, "/hosted/checkout/validate", body)
	if first.Status != 200 || first.Number("success") != 1 || first.String("status") != "valid" || first.Number("amount") != 2500 ||
		!strings.HasPrefix(first.String("reference"), "order-") {
		t.Fatalf("first validate: %d %s", first.Status, first.Raw)
	}
	for range 2 {
		if again := s.Post(t, "/hosted/checkout/validate", body); again.Status != 200 || again.String("status") != "validated" || again.Number("amount") != 2500 {
			t.Fatalf("later validate: %d %s", again.Status, again.Raw)
		}
	}

	// The payment is a sale like any other: lookup shows its checkout,
	// refund and void rules apply.
	look := s.Post(t, "/payment/lookup", body)
	co, _ := look.Data()["checkout"].(map[string]any)
	if look.Data()["status"] != "captured" || co["reference"] != first.String("reference") || co["session_id"] == "" {
		t.Errorf("lookup: %s", look.Raw)
	}
	if r := s.Post(t, "/payment/refund", `{"payment_id":"`+id+`","amount":2501}`); r.String("code") != "refund-exceeds-captured" {
		t.Errorf("refund over the amount: %s", r.Raw)
	}
	if r := s.Post(t, "/payment/refund", `{"payment_id":"`+id+`","amount":500}`); r.Status != 200 {
		t.Errorf("partial refund: %s", r.Raw)
	}

	otherID, otherKey := s.CreateAccount(t, service.NewAccount{Environment: gateway.Sandbox})
	asOther := s.Request(t, http.MethodPost, "/hosted/checkout/validate", body, map[string]string{"CARTGATEWAY-ACCOUNT-ID": otherID, "Authorization": "Bearer " + otherKey})
	charge := s.Post(t, "/payment/charge", apitest.PaymentBody("4242424242424242", nil))
	declinedPage := s.CreateCheckout(t, apitest.CheckoutBody(1000, "https://shop.example/ok"))
	if r := s.SubmitCheckout(t, declinedPage, apitest.CheckoutForm("4000000000000002")); r.Status != http.StatusPaymentRequired {
		t.Fatalf("decline: %d", r.Status)
	}
	declined := s.Column(t, "SELECT id FROM payments WHERE status = 'declined'")
	if len(declined) != 1 {
		t.Fatalf("%d declined payments", len(declined))
	}
	for _, tc := range []struct {
		name string
		r    apitest.Response
		code string
	}{
		{"another account's payment", asOther, "payment-not-found"},
		{"an unknown id", s.Post(t, "/hosted/checkout/validate", `{"payment_id":"AMB8PUM9HPLZ7NJ"}`), "payment-not-found"},
		{"a payment made through the API", s.Post(t, "/hosted/checkout/validate", `{"payment_id":"`+charge.String("id")+`"}`), "not-a-checkout-payment"},
		{"a declined checkout payment", s.Post(t, "/hosted/checkout/validate", `{"payment_id":"`+string(declined[0])+`"}`), "checkout-payment-not-approved"},
		{"no payment id", s.Post(t, "/hosted/checkout/validate", `{}`), "missing-payment-id"},
	} {
		if tc.r.Status != 400 || tc.r.String("code") != tc.code || tc.r.Number("success") != 0 {
			t.Errorf("%s: want 400 %s, got %d %s", tc.name, tc.code, tc.r.Status, tc.r.Raw)
		}
	}
}

// TestCheckoutConcurrentFirstValidations: of 20 first validations at once,
// exactly one answers valid.
func TestCheckoutConcurrentFirstValidations(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	id := paidCheckout(t, s, 1000, "4242424242424242")
	const n = 20
	statuses := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.Post(t, "/hosted/checkout/validate", `{"payment_id":"`+id+`"}`)
			if r.Status != 200 {
				t.Errorf("validate: %d %s", r.Status, r.Raw)
			}
			statuses[i] = r.String("status")
		}()
	}
	wg.Wait()
	valid := 0
	for _, st := range statuses {
		if st == "valid" {
			valid++
		} else if st != "validated" {
			t.Errorf("status %q", st)
		}
	}
	if valid != 1 {
		t.Errorf("%d of %d concurrent first validations answered valid, want exactly 1", valid, n)
	}
}
