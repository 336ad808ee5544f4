package apidocs_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apidocs"
	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/card"
	gw "github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/httpapi"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/web"
)

// The document's examples are real exchanges: each one below runs against
// a fresh gateway, and the document must show exactly what it sent and got,
// with the values that change from run to run (ids, request ids, times)
// replaced by fixed ones. `go test ./internal/apidocs -update` rewrites the
// examples from fresh exchanges.

// recipe makes one example: the exchange behind
// paths[op].responses[status].examples[name], and, when request is set,
// behind the request body's example of the same name.
type recipe struct {
	op      string // operationId
	status  int
	name    string
	request bool
	run     func(t *testing.T) exchange
}

type exchange struct {
	body   string
	answer apitest.Response
	// ids maps real ids to the fixed ids the example shows, for ids that
	// must match a fixture (the SDK's AMB8PUM9HPLZ7NJ); other ids get
	// sampleIDs in order of appearance.
	ids map[string]string
}

// sampleIDs are the ids examples show, in order of appearance.
var sampleIDs = []string{"8RHRX73I0DBJN1I", "NYIO9712P70WX3X", "U76OCOIX2PLHPYZ", "Q3I8PZGDSZLHGN1", "EDESQHKT7DJLXKR"}

const (
	sampleRequestID = "req_YG0CW6BF2KTSPVP"
	sampleTime      = "2026-11-25T17:57:55Z"
	sdkPaymentID    = "AMB8PUM9HPLZ7NJ" // the id in the SDK's capture, refund, void and lookup bodies
)

func gateway(t *testing.T, opt apitest.Options) *apitest.Server {
	opt.AccountID, opt.Key = apitest.SDKAccountID, apitest.SDKKey
	return apitest.Start(t, opt)
}

func sdk(t *testing.T, name string) string { return apitest.SDKBody(t, name) }

// checkoutGateway makes hosted checkout pages under a fixed public URL, so
// that examples show it.
func checkoutGateway(t *testing.T) *apitest.Server {
	return gateway(t, apitest.Options{PublicURL: "https://pay.example.com"})
}

func withCard(body, card string) string {
	return strings.Replace(body, `"card_number":6011111111111117`, `"card_number":`+card, 1)
}

func post(s *apitest.Server, t *testing.T, path, body string, headers map[string]string) exchange {
	return exchange{body: body, answer: s.Request(t, http.MethodPost, path, body, headers)}
}

// paid charges (or authorizes) the SDK's body and returns the payment id.
func paid(t *testing.T, s *apitest.Server, op string) string {
	r := s.Post(t, "/payment/"+op, sdk(t, op+".json"))
	if r.Status != 200 {
		t.Fatalf("%s: %d %s", op, r.Status, r.Raw)
	}
	return r.String("id")
}

var tooLarge = `{"payment_id":"` + strings.Repeat("A", httpapi.MaxBodyBytes) + `"}`

// limited is a gateway whose per-account limit allows one request.
func limited(t *testing.T) *apitest.Server {
	return gateway(t, apitest.Options{Limits: &web.Limits{IPRate: -1, AccountRate: 0.001, AccountBurst: 1, AuthFailuresPerMinute: -1, Now: frozen}})
}

// frozen is the limits' clock in examples: the Retry-After they show does
// not depend on how long the machine took between two requests.
func frozen() time.Time { return time.Unix(1_795_000_000, 0) }

// broken is a gateway whose database is gone.
func broken(t *testing.T) *apitest.Server {
	s := gateway(t, apitest.Options{})
	s.CloseStore()
	return s
}

func recipes() []recipe {
	var rs []recipe
	for _, op := range []string{"authorize", "charge"} {
		path := "/payment/" + op
		rs = append(rs,
			recipe{op, 200, "approved", true, func(t *testing.T) exchange {
				return post(gateway(t, apitest.Options{}), t, path, sdk(t, op+".json"), nil)
			}},
			recipe{op, 400, "declined", true, func(t *testing.T) exchange {
				return post(gateway(t, apitest.Options{}), t, path, withCard(sdk(t, op+".json"), "4000000000009995"), nil)
			}},
			recipe{op, 400, "invalid-card-number", true, func(t *testing.T) exchange {
				return post(gateway(t, apitest.Options{}), t, path, withCard(sdk(t, op+".json"), "4242424242424241"), nil)
			}},
			recipe{op, 401, "invalid-passed-privatekey", false, func(t *testing.T) exchange {
				return post(gateway(t, apitest.Options{}), t, path, sdk(t, op+".json"), map[string]string{"Authorization": "Bearer " + strings.Repeat("0", 40)})
			}},
			recipe{op, 409, "duplicate-transaction", false, func(t *testing.T) exchange {
				s := gateway(t, apitest.Options{DuplicateWindow: 10 * time.Minute})
				paid(t, s, op)
				return post(s, t, path, sdk(t, op+".json"), nil)
			}},
			recipe{op, 413, "body-too-large", false, func(t *testing.T) exchange {
				return exchange{answer: gateway(t, apitest.Options{}).Post(t, path, tooLarge)}
			}},
			recipe{op, 429, "rate-limited", false, func(t *testing.T) exchange {
				s := limited(t)
				paid(t, s, op)
				return post(s, t, path, sdk(t, op+".json"), nil)
			}},
			recipe{op, 500, "processor-error", true, func(t *testing.T) exchange {
				return post(gateway(t, apitest.Options{}), t, path, withCard(sdk(t, op+".json"), "4000000000000119"), nil)
			}},
		)
	}
	// capture, refund and void of the SDK's own bodies, on a real payment
	// shown as the SDK's id.
	change := func(op, start, fixture string) func(t *testing.T) exchange {
		return func(t *testing.T) exchange {
			s := gateway(t, apitest.Options{})
			id := paid(t, s, start)
			e := post(s, t, "/payment/"+op, strings.ReplaceAll(sdk(t, fixture), sdkPaymentID, id), nil)
			e.ids = map[string]string{id: sdkPaymentID}
			return e
		}
	}
	rs = append(rs,
		recipe{"capture", 200, "approved", true, change("capture", "authorize", "capture.json")},
		recipe{"capture", 400, "already-captured", true, change("capture", "charge", "capture.json")},
		recipe{"refund", 200, "approved", true, change("refund", "charge", "refund.json")},
		recipe{"refund", 400, "payment-not-captured", true, change("refund", "authorize", "refund.json")},
		recipe{"void", 200, "approved", true, change("void", "authorize", "void.json")},
		recipe{"lookup", 200, "authorized", true, change("lookup", "authorize", "lookup.json")},
		recipe{"lookup", 200, "captured-and-refunded", false, func(t *testing.T) exchange {
			s := gateway(t, apitest.Options{})
			id := paid(t, s, "authorize")
			for _, step := range []struct{ path, body string }{
				{"/payment/capture", `{"amount":1500,"authorized_payment_id":"` + id + `"}`},
				{"/payment/refund", `{"amount":500,"payment_id":"` + id + `"}`},
			} {
				if r := s.Post(t, step.path, step.body); r.Status != 200 {
					t.Fatalf("%s: %d %s", step.path, r.Status, r.Raw)
				}
			}
			return post(s, t, "/payment/lookup", `{"payment_id":"`+id+`"}`, nil)
		}},
		recipe{"lookup", 200, "declined", false, func(t *testing.T) exchange {
			s := gateway(t, apitest.Options{})
			id := s.Post(t, "/payment/charge", withCard(sdk(t, "charge.json"), "4000000000009995")).String("id")
			return post(s, t, "/payment/lookup", `{"payment_id":"`+id+`"}`, nil)
		}},
		recipe{"lookup", 400, "payment-not-found", true, func(t *testing.T) exchange {
			return post(gateway(t, apitest.Options{}), t, "/payment/lookup", sdk(t, "lookup.json"), nil)
		}},
		recipe{"void", 400, "payment-voided", false, func(t *testing.T) exchange {
			s := gateway(t, apitest.Options{})
			id := paid(t, s, "charge")
			body := `{"payment_id":"` + id + `"}`
			s.Post(t, "/payment/void", body)
			return post(s, t, "/payment/void", body, nil)
		}},
		recipe{"refund", 409, "idempotency-key-reused", false, func(t *testing.T) exchange {
			s := gateway(t, apitest.Options{})
			id := paid(t, s, "charge")
			key := map[string]string{"Idempotency-Key": "refund-order-4242-1"}
			s.Request(t, http.MethodPost, "/payment/refund", `{"amount":500,"payment_id":"`+id+`"}`, key)
			return post(s, t, "/payment/refund", `{"amount":600,"payment_id":"`+id+`"}`, key)
		}},
	)
	for _, gen := range []struct{ op, path, fixture string }{
		{"capture", "/payment/capture", "capture.json"}, {"refund", "/payment/refund", "refund.json"},
		{"void", "/payment/void", "void.json"}, {"lookup", "/payment/lookup", "lookup.json"},
		{"createCheckout", "/hosted/checkout/create", "hosted-checkout-create-amounts.json"},
		{"validateCheckout", "/hosted/checkout/validate", "hosted-checkout-validate.json"},
	} {
		op, path, fixture := gen.op, gen.path, gen.fixture
		rs = append(rs,
			recipe{op, 401, "missing-privatekey", false, func(t *testing.T) exchange {
				return post(gateway(t, apitest.Options{}), t, path, sdk(t, fixture), map[string]string{"Authorization": ""})
			}},
			recipe{op, 413, "body-too-large", false, func(t *testing.T) exchange {
				return exchange{answer: gateway(t, apitest.Options{}).Post(t, path, tooLarge)}
			}},
			recipe{op, 429, "rate-limited", false, func(t *testing.T) exchange {
				s := limited(t)
				s.Post(t, path, sdk(t, fixture))
				return post(s, t, path, sdk(t, fixture), nil)
			}},
			recipe{op, 500, "internal-error", false, func(t *testing.T) exchange {
				return post(broken(t), t, path, sdk(t, fixture), nil)
			}},
		)
	}
	for _, op := range []string{"capture", "void"} {
		path, fixture := "/payment/"+op, op+".json"
		rs = append(rs, recipe{op, 409, "idempotency-key-reused", false, func(t *testing.T) exchange {
			s := gateway(t, apitest.Options{})
			id := paid(t, s, "authorize")
			key := map[string]string{"Idempotency-Key": op + "-order-4242-1"}
			first := strings.ReplaceAll(sdk(t, fixture), sdkPaymentID, id)
			s.Request(t, http.MethodPost, path, first, key)
			return post(s, t, path, strings.Replace(first, `{`, `{"note":"changed",`, 1), key)
		}})
	}
	rs = append(rs,
		recipe{"createCheckout", 200, "amounts", true, func(t *testing.T) exchange {
			return post(checkoutGateway(t), t, "/hosted/checkout/create", sdk(t, "hosted-checkout-create-amounts.json"), nil)
		}},
		recipe{"createCheckout", 200, "codenames", true, func(t *testing.T) exchange {
			s := checkoutGateway(t)
			for i, price := range []int64{1000, 2500} {
				if _, err := s.Service.AddProduct(context.Background(), s.AccountID, gw.Sandbox,
					service.ProductInput{Codename: fmt.Sprintf("product%d", i+1), Name: fmt.Sprintf("Product %d", i+1), Price: price}); err != nil {
					t.Fatal(err)
				}
			}
			return post(s, t, "/hosted/checkout/create", sdk(t, "hosted-checkout-create-codenames.json"), nil)
		}},
		recipe{"createCheckout", 400, "unknown-product", true, func(t *testing.T) exchange {
			return post(checkoutGateway(t), t, "/hosted/checkout/create", sdk(t, "hosted-checkout-create-codenames.json"), nil)
		}},
		recipe{"createCheckout", 409, "idempotency-key-reused", false, func(t *testing.T) exchange {
			s := checkoutGateway(t)
			key := map[string]string{"Idempotency-Key": "checkout-123456789"}
			s.Request(t, http.MethodPost, "/hosted/checkout/create", sdk(t, "hosted-checkout-create-amounts.json"), key)
			return post(s, t, "/hosted/checkout/create", strings.Replace(sdk(t, "hosted-checkout-create-amounts.json"), `"tax_amount":250`, `"tax_amount":300`, 1), key)
		}},
		recipe{"validateCheckout", 200, "valid", true, func(t *testing.T) exchange {
			s := checkoutGateway(t)
			created := s.Post(t, "/hosted/checkout/create", sdk(t, "hosted-checkout-create-amounts.json"))
			url := created.String("url")
			token := url[strings.LastIndex(url, "/")+1:]
			_, paid, err := s.Service.PayCheckout(context.Background(), token, service.PaymentInput{
				Card:     card.Input{Number: "4242424242424242", CVV: "123", ExpMonth: "10", ExpYear: "2031"},
				Customer: gw.Customer{FirstName: "Test", LastName: "User", Email: "user3@example.com", Address: "6 Pheasant Run", Zip: "07733"},
			}, "req_CHECKOUTPAGE001")
			if err != nil {
				t.Fatal(err)
			}
			e := post(s, t, "/hosted/checkout/validate", strings.ReplaceAll(sdk(t, "hosted-checkout-validate.json"), sdkPaymentID, paid.Transaction.ID), nil)
			e.ids = map[string]string{paid.Transaction.ID: sdkPaymentID}
			return e
		}},
		recipe{"validateCheckout", 400, "not-a-checkout-payment", false, func(t *testing.T) exchange {
			s := checkoutGateway(t)
			id := paid(t, s, "charge")
			return post(s, t, "/hosted/checkout/validate", `{"payment_id":"`+id+`"}`, nil)
		}},
	)
	get := func(path string, s func(t *testing.T) *apitest.Server) func(t *testing.T) exchange {
		return func(t *testing.T) exchange { return exchange{answer: s(t).Request(t, http.MethodGet, path, "", nil)} }
	}
	ipLimited := func(path string) func(t *testing.T) *apitest.Server {
		return func(t *testing.T) *apitest.Server {
			s := gateway(t, apitest.Options{Limits: &web.Limits{IPRate: 0.001, IPBurst: 1, AccountRate: -1, AuthFailuresPerMinute: -1, Now: frozen}})
			s.Request(t, http.MethodGet, path, "", nil)
			return s
		}
	}
	rs = append(rs,
		recipe{"healthz", 200, "ok", false, get("/healthz", func(t *testing.T) *apitest.Server { return gateway(t, apitest.Options{}) })},
		recipe{"healthz", 503, "unavailable", false, get("/healthz", broken)},
		recipe{"livez", 200, "alive", false, get("/livez", broken)}, // alive whatever the database does
		recipe{"openapi", 429, "rate-limited", false, get("/openapi.json", ipLimited("/openapi.json"))},
		recipe{"docs", 429, "rate-limited", false, get("/docs", ipLimited("/docs"))},
	)
	return rs
}

var (
	idPattern        = regexp.MustCompile(`\b[0-9A-Z]{15}\b`)
	requestIDPattern = regexp.MustCompile(`req_[0-9A-Z]{15}`)
	timePattern      = regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z`)
	pagePattern      = regexp.MustCompile(`/checkout/[A-Za-z0-9_-]{20,}`)
)

// normalize replaces what changes from run to run in the texts of an
// exchange, the same way in the request and the answer.
func normalize(e exchange, texts ...string) []string {
	ids := map[string]string{}
	for real, shown := range e.ids {
		ids[real] = shown
	}
	next := 0
	out := make([]string, len(texts))
	for i, s := range texts {
		s = requestIDPattern.ReplaceAllString(s, sampleRequestID)
		s = timePattern.ReplaceAllString(s, sampleTime)
		s = pagePattern.ReplaceAllString(s, "/checkout/KGiY_AunRjzoVxvr1zNIWaI7YlEf2f58")
		out[i] = idPattern.ReplaceAllStringFunc(s, func(id string) string {
			if shown, ok := ids[id]; ok {
				return shown
			}
			if id == sdkPaymentID { // an id the request made up
				return id
			}
			ids[id] = sampleIDs[next%len(sampleIDs)]
			next++
			return ids[id]
		})
	}
	return out
}

// TestExamplesAreRealExchanges runs every recipe and holds the document's
// examples to what the gateway really sent and answered.
func TestExamplesAreRealExchanges(t *testing.T) {
	root, err := apidocs.ParseNode(apidocs.Document())
	if err != nil {
		t.Fatal(err)
	}
	ops := operations(root)
	made := map[string]bool{} // "op status name" and "op request name" of every recipe
	for _, rc := range recipes() {
		op := ops[rc.op]
		if op == nil {
			t.Errorf("recipe for unknown operation %q", rc.op)
			continue
		}
		status := fmt.Sprint(rc.status)
		var e exchange
		t.Run(rc.op+"/"+status+"/"+rc.name, func(t *testing.T) { e = rc.run(t) })
		if t.Failed() {
			return
		}
		if e.answer.Status != rc.status {
			t.Errorf("%s %s: the gateway answered %d: %s", rc.op, rc.name, e.answer.Status, e.answer.Raw)
			continue
		}
		texts := normalize(e, e.body, string(e.answer.Raw))
		media := op.Path("responses", status, "content", "application/json")
		if media == nil {
			t.Errorf("%s: no JSON answer documented for %s", rc.op, status)
			continue
		}
		made[rc.op+" "+status+" "+rc.name] = true
		checkExample(t, media, rc.name, texts[1], rc.op+" "+status)
		if rc.request {
			made[rc.op+" request "+rc.name] = true
			checkExample(t, op.Path("requestBody", "content", "application/json"), rc.name, texts[0], rc.op+" request")
		}
	}
	// Every example of the document comes from a recipe.
	for id, op := range ops {
		if req := op.Path("requestBody", "content", "application/json", "examples"); req != nil {
			req.Keys, req.Vals = keep(req, func(name string) bool { return made[id+" request "+name] }, t, id+" request")
		}
		responses := op.Get("responses")
		for i, status := range responses.Keys {
			if ex := responses.Vals[i].Path("content", "application/json", "examples"); ex != nil {
				ex.Keys, ex.Vals = keep(ex, func(name string) bool { return made[id+" "+status+" "+name] }, t, id+" "+status)
			}
		}
	}
	if apidocs.Update() && !t.Failed() {
		if err := os.WriteFile("openapi.json", root.Format(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// keep drops (with -update) or reports the examples that no recipe makes.
func keep(examples *apidocs.Node, made func(string) bool, t *testing.T, where string) ([]string, []*apidocs.Node) {
	var keys []string
	var vals []*apidocs.Node
	for i, name := range examples.Keys {
		if made(name) {
			keys, vals = append(keys, name), append(vals, examples.Vals[i])
		} else if !apidocs.Update() {
			t.Errorf("%s: example %q comes from no real exchange (no recipe in examples_test.go)", where, name)
		}
	}
	return keys, vals
}

func checkExample(t *testing.T, media *apidocs.Node, name, real, where string) {
	t.Helper()
	realNode, err := apidocs.ParseNode([]byte(real))
	if err != nil {
		t.Errorf("%s %s: not JSON: %v", where, name, err)
		return
	}
	examples := media.Get("examples")
	if examples == nil {
		examples = &apidocs.Node{Kind: apidocs.Object}
		media.Set("examples", examples)
	}
	ex := examples.Get(name)
	if ex != nil && ex.Get("value") != nil && string(ex.Get("value").Compact()) == string(realNode.Compact()) {
		return
	}
	if apidocs.Update() {
		if ex == nil {
			ex = &apidocs.Node{Kind: apidocs.Object}
			examples.Set(name, ex)
		}
		ex.Set("value", realNode)
		return
	}
	shown := "(none)"
	if ex != nil && ex.Get("value") != nil {
		shown = string(ex.Get("value").Compact())
	}
	t.Errorf("%s: example %q differs from a real exchange (go test ./internal/apidocs -update rewrites it):\ndocument: %s\nreal:     %s",
		where, name, shown, realNode.Compact())
}

// operations maps operationIds to their operation objects.
func operations(root *apidocs.Node) map[string]*apidocs.Node {
	out := map[string]*apidocs.Node{}
	paths := root.Get("paths")
	for _, item := range paths.Vals {
		for i := range item.Keys {
			op := item.Vals[i]
			out[op.Get("operationId").Text()] = op
		}
	}
	return out
}
