package stripetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fake is Stripe as the connector sees it, for tests: every request is
// first sent to stripe-mock, which refuses what Stripe's specification
// refuses and answers with an object of the real shape; Fake then answers
// with that object brought into line with its own state, which follows
// Stripe's documented behaviour for what the connector uses:
//   - idempotency keys: a repeat with the same parameters is answered
//     with the first answer (Idempotent-Replayed: true) and not carried out
//     again; other parameters are an idempotency_error (400); a key whose
//     request is still running is a 409;
//   - PaymentMethods from raw card numbers, with Stripe's test cards'
//     declines and check results (TestCards);
//   - PaymentIntents: confirmation with automatic or manual capture,
//     partial capture, cancellation, retrieval and search by metadata;
//   - Refunds, partial and repeated, and their list by PaymentIntent.
//
// Faults (Inject) lose requests before Stripe carries them out or lose
// their answers after; Executed counts what Stripe really carried out,
// per idempotency key, which is what a test of "never twice" asserts.
type Fake struct {
	URL    string // the connector's API base
	mock   string
	server *httptest.Server

	mu       sync.Mutex
	keys     map[string]*keyRecord
	methods  map[string]TestCard // payment method id -> its card's behaviour (never the number)
	intents  map[string]*Intent
	order    []string // intent ids in creation order
	refunds  map[string][]*Refund
	executed map[string]int // idempotency key -> times carried out
	faults   []*Fault
	held     []chan struct{}
	// hideFromSearch: searches that find nothing (Stripe's search lags
	// behind writes).
	hideFromSearch int
	seq            int
}

// Intent is a PaymentIntent as Fake keeps it.
type Intent struct {
	ID, Reference, Currency, CaptureMethod, Status string
	Fence                                          bool // made by the reconciler's fence
	Amount, AmountReceived, AmountCapturable       int64
	Created                                        time.Time
	card                                           TestCard
	decline                                        *TestCard
}

// Refund is a refund as Fake keeps it.
type Refund struct {
	ID, Intent, Reference, Status string
	Amount                        int64
}

type keyRecord struct {
	path    string
	form    url.Values
	running bool
	status  int
	header  http.Header
	body    []byte
}

// TestCard is how Stripe's test card numbers behave: a decline (Code and
// DeclineCode as Stripe's card error gives them) or an approval with the
// address and CVC checks.
type TestCard struct {
	Code, DeclineCode, Message string // Code "" approves
	Line1, Zip, CVC            string // checks: pass, fail, unavailable, unchecked
}

// TestCards are Stripe's test cards that Fake knows; any other number is
// approved with every check passing.
var TestCards = map[string]TestCard{
	"4000000000000002": {Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."},
	"4000000000009995": {Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."},
	"4000000000009987": {Code: "card_declined", DeclineCode: "lost_card", Message: "Your card was declined."},
	"4000000000009979": {Code: "card_declined", DeclineCode: "stolen_card", Message: "Your card was declined."},
	"4000000000000069": {Code: "expired_card", Message: "Your card has expired."},
	"4000000000000127": {Code: "incorrect_cvc", Message: "Your card's security code is incorrect."},
	"4000000000000119": {Code: "processing_error", Message: "An error occurred while processing your card."},
	"4000000000003220": {Code: "authentication_required", Message: "Your card was declined. This transaction requires authentication."},
	"4000000000000101": {Line1: "pass", Zip: "pass", CVC: "fail"},
	"4000000000000036": {Line1: "pass", Zip: "fail", CVC: "pass"},
	"4000000000000010": {Line1: "fail", Zip: "fail", CVC: "pass"},
}

var approved = TestCard{Line1: "pass", Zip: "pass", CVC: "pass"}

// Phase says when a fault strikes: before Stripe carries the request out
// (it never happened) or after (it happened; the answer is lost).
type Phase int

const (
	Before Phase = iota
	After
)

// Action is what a fault does to the request.
type Action int

const (
	// Drop closes the connection without an answer.
	Drop Action = iota
	// Hang holds the answer until the client gives up.
	Hang
	// Fail500 answers 500 api_error: Before, Stripe failed without doing
	// anything and saves the 500 under the request's key (a repeat gets
	// it again); After, the work was done and something in front of
	// Stripe answered 500 instead (a repeat is replayed).
	Fail500
	// Hold (Before only) keeps the request until Release, then carries it
	// out whatever became of its client: a request that reaches Stripe
	// late.
	Hold
)

// Fault is a rule that strikes matching requests.
type Fault struct {
	Method string // "" any
	Path   string // a path prefix; "" any
	// Times is how many matching requests it strikes (0: all).
	Times int
	When  Phase
	Do    Action
	hits  int
}

// NewFake starts a Fake in front of stripe-mock at mockURL.
func NewFake(mockURL string) *Fake {
	f := &Fake{mock: mockURL, keys: map[string]*keyRecord{}, methods: map[string]TestCard{}, intents: map[string]*Intent{},
		refunds: map[string][]*Refund{}, executed: map[string]int{}}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.server.URL
	return f
}

// Close stops the Fake, releasing held requests.
func (f *Fake) Close() {
	f.Release()
	f.server.CloseClientConnections()
	f.server.Close()
}

// Inject adds a fault; the first matching one that has strikes left
// strikes.
func (f *Fake) Inject(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := fault
	f.faults = append(f.faults, &fl)
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// HideFromSearch makes the next n searches find nothing.
func (f *Fake) HideFromSearch(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hideFromSearch = n
}

// Release lets held requests through (they are then carried out).
func (f *Fake) Release() {
	f.mu.Lock()
	held := f.held
	f.held = nil
	f.mu.Unlock()
	for _, c := range held {
		close(c)
	}
}

// Executed returns how many times Stripe carried out a request, per
// idempotency key (a replay does not count).
func (f *Fake) Executed() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.executed))
	for k, v := range f.executed {
		out[k] = v
	}
	return out
}

// Intents returns every PaymentIntent, in creation order.
func (f *Fake) Intents() []Intent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Intent, 0, len(f.order))
	for _, id := range f.order {
		out = append(out, *f.intents[id])
	}
	return out
}

// Refunds returns the refunds of an intent.
func (f *Fake) Refunds(intent string) []Refund {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Refund
	for _, r := range f.refunds[intent] {
		out = append(out, *r)
	}
	return out
}

func (f *Fake) fault(r *http.Request, when Phase) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fl := range f.faults {
		if fl.When != when || fl.Method != "" && fl.Method != r.Method || !strings.HasPrefix(r.URL.Path, fl.Path) {
			continue
		}
		if fl.Times > 0 && fl.hits >= fl.Times {
			continue
		}
		fl.hits++
		return fl
	}
	return nil
}

// answer is a response to send.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	if r.Method == http.MethodGet {
		form = r.URL.Query()
	}
	key := r.Header.Get("Idempotency-Key")
	if fl := f.fault(r, Before); fl != nil {
		switch fl.Do {
		case Hold:
			release := make(chan struct{})
			f.mu.Lock()
			f.held = append(f.held, release)
			f.mu.Unlock()
			<-release
			f.handle(r, body, form, key) // reaches Stripe late; its client is gone
			return
		case Fail500:
			if r.Method == http.MethodPost && key != "" {
				f.mu.Lock()
				if _, seen := f.keys[key]; !seen {
					// Stripe saves a 500 under the key like any result:
					// a repeat gets the same 500.
					f.keys[key] = &keyRecord{path: r.URL.Path, form: form, status: http.StatusInternalServerError, body: fail500}
				}
				f.mu.Unlock()
			}
			f.strike(w, r, fl)
			return
		default:
			f.strike(w, r, fl)
			return
		}
	}
	a := f.handle(r, body, form, key)
	if fl := f.fault(r, After); fl != nil {
		f.strike(w, r, fl)
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func (f *Fake) strike(w http.ResponseWriter, r *http.Request, fl *Fault) {
	switch fl.Do {
	case Hang:
		sleep(r.Context(), 2*time.Minute)
	case Fail500:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(fail500)
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

// handle is Stripe: the idempotency layer around the request's execution.
func (f *Fake) handle(r *http.Request, body []byte, form url.Values, key string) answer {
	if r.Method != http.MethodPost || key == "" {
		return f.execute(r, body, form, "").answer
	}
	f.mu.Lock()
	rec, seen := f.keys[key]
	switch {
	case seen && rec.running:
		f.mu.Unlock()
		return answer{status: http.StatusConflict, body: errorBody("invalid_request_error", "idempotency_key_in_use", "",
			"There is currently another in-progress request using this Idempotent Key.", nil)}
	case seen && (rec.path != r.URL.Path || !sameParams(rec.form, form)):
		f.mu.Unlock()
		return answer{status: http.StatusBadRequest, body: errorBody("idempotency_error", "", "",
			"Keys for idempotent requests can only be used with the same parameters they were first used with.", nil)}
	case seen:
		f.mu.Unlock()
		h := rec.header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Idempotent-Replayed", "true")
		return answer{status: rec.status, header: h, body: rec.body}
	}
	rec = &keyRecord{path: r.URL.Path, form: form, running: true}
	f.keys[key] = rec
	f.mu.Unlock()
	a := f.execute(r, body, form, key)
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.status == http.StatusBadRequest && a.validation {
		// Stripe saves no result for a request that failed validation.
		delete(f.keys, key)
	} else {
		rec.running, rec.status, rec.header, rec.body = false, a.status, a.header, a.body
	}
	return a.answer
}

// sameParams compares two requests' parameters, ignoring expand[] (how
// much of the answer to show).
func sameParams(a, b url.Values) bool {
	strip := func(v url.Values) url.Values {
		out := url.Values{}
		for k, vs := range v {
			if !strings.HasPrefix(k, "expand") {
				out[k] = vs
			}
		}
		return out
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

type executed struct {
	answer
	validation bool // refused by stripe-mock's check of the specification
}

var (
	intentPath = regexp.MustCompile(`^/v1/payment_intents/([^/]+)(/capture|/cancel)?$`)
)

// execute forwards the request to stripe-mock and, if the specification
// allows it, carries it out on Fake's state.
func (f *Fake) execute(r *http.Request, body []byte, form url.Values, key string) executed {
	mock, err := f.forward(r, body)
	if err != nil {
		return executed{answer: answer{status: http.StatusBadGateway, body: errorBody("api_error", "", "", err.Error(), nil)}}
	}
	if mock.status >= 400 {
		return executed{answer: mock, validation: mock.status == http.StatusBadRequest}
	}
	var obj map[string]any
	if err := json.Unmarshal(mock.body, &obj); err != nil {
		return executed{answer: answer{status: http.StatusBadGateway, body: errorBody("api_error", "", "", "stripe-mock answered no object", nil)}}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if key != "" {
		f.executed[key]++
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/v1/payment_methods":
		card, ok := TestCards[form.Get("card[number]")]
		if !ok {
			card = approved
		}
		f.methods[str(obj["id"])] = card
		return ok200(obj)
	case r.Method == http.MethodPost && path == "/v1/payment_intents":
		return f.createIntent(obj, form)
	case r.Method == http.MethodGet && path == "/v1/payment_intents/search":
		return f.search(obj, form.Get("query"))
	case r.Method == http.MethodGet && path == "/v1/payment_intents":
		since, _ := strconv.ParseInt(form.Get("created[gte]"), 10, 64)
		return f.list(obj, since)
	case r.Method == http.MethodPost && path == "/v1/refunds":
		return f.createRefund(obj, form)
	case r.Method == http.MethodGet && path == "/v1/refunds":
		return f.listRefunds(obj, form.Get("payment_intent"))
	}
	if m := intentPath.FindStringSubmatch(path); m != nil {
		pi, ok := f.intents[m[1]]
		if !ok {
			return executed{answer: answer{status: http.StatusNotFound, body: errorBody("invalid_request_error", "resource_missing", "",
				"No such payment_intent: '"+m[1]+"'", nil)}}
		}
		switch m[2] {
		case "/capture":
			return f.capture(obj, pi, form)
		case "/cancel":
			return f.cancel(obj, pi)
		}
		return ok200(f.intentObject(obj, pi))
	}
	return ok200(obj)
}

func ok200(obj map[string]any) executed {
	b, _ := json.Marshal(obj)
	return executed{answer: answer{status: http.StatusOK, body: b}}
}

func (f *Fake) forward(r *http.Request, body []byte) (answer, error) {
	req, err := http.NewRequest(r.Method, f.mock+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Idempotency-Key") // stripe-mock keeps nothing anyway
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: b}, err
}

func (f *Fake) newID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_fake%08d", prefix, f.seq)
}

func (f *Fake) createIntent(obj map[string]any, form url.Values) executed {
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
	pi := &Intent{ID: f.newID("pi"), Reference: form.Get("metadata[cartgateway_reference]"), Currency: form.Get("currency"),
		CaptureMethod: form.Get("capture_method"), Amount: amount, Status: "requires_payment_method", Created: time.Now(),
		Fence: form.Get("metadata[cartgateway_fence]") != ""}
	if pi.CaptureMethod == "" {
		pi.CaptureMethod = "automatic_async"
	}
	f.intents[pi.ID] = pi
	f.order = append(f.order, pi.ID)
	if form.Get("confirm") != "true" {
		return ok200(f.intentObject(obj, pi))
	}
	card, ok := f.methods[form.Get("payment_method")]
	if !ok {
		return executed{answer: answer{status: http.StatusBadRequest, body: errorBody("invalid_request_error", "resource_missing", "",
			"No such PaymentMethod: '"+form.Get("payment_method")+"'", nil)}}
	}
	pi.card = card
	if card.Code != "" {
		pi.decline = &card
		return executed{answer: answer{status: http.StatusPaymentRequired,
			body: errorBody("card_error", card.Code, card.DeclineCode, card.Message, f.intentObject(obj, pi))}}
	}
	if pi.CaptureMethod == "manual" {
		pi.Status, pi.AmountCapturable = "requires_capture", amount
	} else {
		pi.Status, pi.AmountReceived = "succeeded", amount
	}
	return ok200(f.intentObject(obj, pi))
}

// intentObject is stripe-mock's intent with Fake's state in it.
func (f *Fake) intentObject(obj map[string]any, pi *Intent) map[string]any {
	obj["id"], obj["object"] = pi.ID, "payment_intent"
	obj["amount"], obj["currency"], obj["status"] = pi.Amount, pi.Currency, pi.Status
	obj["capture_method"] = pi.CaptureMethod
	obj["amount_received"], obj["amount_capturable"] = pi.AmountReceived, pi.AmountCapturable
	meta := map[string]any{"cartgateway_reference": pi.Reference}
	if pi.Fence {
		meta["cartgateway_fence"] = "true"
	}
	obj["metadata"] = meta
	obj["last_payment_error"] = nil
	if pi.decline != nil {
		obj["last_payment_error"] = map[string]any{"type": "card_error", "code": pi.decline.Code,
			"decline_code": pi.decline.DeclineCode, "message": pi.decline.Message}
	}
	if pi.card.Line1 == "" {
		obj["latest_charge"] = nil
		return obj
	}
	charge, _ := obj["latest_charge"].(map[string]any)
	if charge == nil {
		// Not expanded: the charge's id only.
		obj["latest_charge"] = "ch_" + strings.TrimPrefix(pi.ID, "pi_")
		return obj
	}
	details, _ := charge["payment_method_details"].(map[string]any)
	if card, ok := details["card"].(map[string]any); ok {
		card["checks"] = map[string]any{"address_line1_check": pi.card.Line1, "address_postal_code_check": pi.card.Zip, "cvc_check": pi.card.CVC}
	}
	charge["id"], charge["amount"], charge["payment_intent"] = "ch_"+strings.TrimPrefix(pi.ID, "pi_"), pi.Amount, pi.ID
	return obj
}

func unexpectedState(pi *Intent, action string) executed {
	return executed{answer: answer{status: http.StatusBadRequest, body: errorBody("invalid_request_error", "payment_intent_unexpected_state", "",
		fmt.Sprintf("This PaymentIntent could not be %s because it has a status of %s.", action, pi.Status), nil)}}
}

func (f *Fake) capture(obj map[string]any, pi *Intent, form url.Values) executed {
	if pi.Status != "requires_capture" {
		return unexpectedState(pi, "captured")
	}
	amount := pi.AmountCapturable
	if s := form.Get("amount_to_capture"); s != "" {
		amount, _ = strconv.ParseInt(s, 10, 64)
	}
	if amount < 1 || amount > pi.AmountCapturable {
		return executed{answer: answer{status: http.StatusBadRequest, body: errorBody("invalid_request_error", "amount_too_large", "",
			"The amount to capture exceeds the capturable amount.", nil)}}
	}
	pi.Status, pi.AmountReceived, pi.AmountCapturable = "succeeded", amount, 0
	return ok200(f.intentObject(obj, pi))
}

func (f *Fake) cancel(obj map[string]any, pi *Intent) executed {
	switch pi.Status {
	case "requires_payment_method", "requires_capture", "requires_confirmation", "requires_action":
		pi.Status, pi.AmountCapturable = "canceled", 0
		return ok200(f.intentObject(obj, pi))
	}
	return unexpectedState(pi, "canceled")
}

var referenceQuery = regexp.MustCompile(`^metadata\['cartgateway_reference'\]:'([A-Z0-9]+)'$`)

func (f *Fake) search(obj map[string]any, query string) executed {
	m := referenceQuery.FindStringSubmatch(query)
	if m == nil {
		return executed{answer: answer{status: http.StatusBadRequest, body: errorBody("invalid_request_error", "", "", "Fake: unsupported search "+query, nil)}}
	}
	data, _ := obj["data"].([]any)
	var template map[string]any
	if len(data) > 0 {
		template, _ = data[0].(map[string]any)
	}
	found := []any{}
	if f.hideFromSearch > 0 {
		f.hideFromSearch--
	} else {
		for _, id := range f.order {
			if pi := f.intents[id]; pi.Reference == m[1] {
				found = append(found, f.intentObject(clone(template), pi))
			}
		}
	}
	obj["data"], obj["has_more"], obj["next_page"] = found, false, nil
	return ok200(obj)
}

// list lists the intents created at or after since (Unix seconds),
// newest first, on one page.
func (f *Fake) list(obj map[string]any, since int64) executed {
	data, _ := obj["data"].([]any)
	var template map[string]any
	if len(data) > 0 {
		template, _ = data[0].(map[string]any)
	}
	list := []any{}
	for i := len(f.order) - 1; i >= 0; i-- {
		if pi := f.intents[f.order[i]]; pi.Created.Unix() >= since {
			list = append(list, f.intentObject(clone(template), pi))
		}
	}
	obj["data"], obj["has_more"] = list, false
	return ok200(obj)
}

func (f *Fake) createRefund(obj map[string]any, form url.Values) executed {
	pi, ok := f.intents[form.Get("payment_intent")]
	if !ok {
		return executed{answer: answer{status: http.StatusNotFound, body: errorBody("invalid_request_error", "resource_missing", "",
			"No such payment_intent: '"+form.Get("payment_intent")+"'", nil)}}
	}
	refunded := int64(0)
	for _, r := range f.refunds[pi.ID] {
		refunded += r.Amount
	}
	amount := pi.AmountReceived - refunded
	if s := form.Get("amount"); s != "" {
		amount, _ = strconv.ParseInt(s, 10, 64)
	}
	if pi.Status != "succeeded" {
		return executed{answer: answer{status: http.StatusBadRequest, body: errorBody("invalid_request_error", "charge_not_refundable", "",
			"This PaymentIntent has no successful charge to refund.", nil)}}
	}
	if amount < 1 || refunded+amount > pi.AmountReceived {
		return executed{answer: answer{status: http.StatusBadRequest, body: errorBody("invalid_request_error", "charge_already_refunded", "",
			"The refund amount exceeds what is left to refund.", nil)}}
	}
	r := &Refund{ID: f.newID("re"), Intent: pi.ID, Reference: form.Get("metadata[cartgateway_reference]"), Status: "succeeded", Amount: amount}
	f.refunds[pi.ID] = append(f.refunds[pi.ID], r)
	return ok200(refundObject(obj, r))
}

func refundObject(obj map[string]any, r *Refund) map[string]any {
	obj["id"], obj["object"], obj["amount"], obj["status"], obj["payment_intent"] = r.ID, "refund", r.Amount, r.Status, r.Intent
	obj["metadata"] = map[string]any{"cartgateway_reference": r.Reference}
	return obj
}

func (f *Fake) listRefunds(obj map[string]any, intent string) executed {
	data, _ := obj["data"].([]any)
	var template map[string]any
	if len(data) > 0 {
		template, _ = data[0].(map[string]any)
	}
	list := []any{}
	for i := len(f.refunds[intent]) - 1; i >= 0; i-- { // newest first, as Stripe lists
		list = append(list, refundObject(clone(template), f.refunds[intent][i]))
	}
	obj["data"], obj["has_more"] = list, false
	return ok200(obj)
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

var fail500 = errorBody("api_error", "", "", "Fake: an injected server error.", nil)

// errorBody is Stripe's error object.
func errorBody(typ, code, declineCode, message string, intent map[string]any) []byte {
	e := map[string]any{"type": typ, "message": message}
	if code != "" {
		e["code"] = code
	}
	if declineCode != "" {
		e["decline_code"] = declineCode
	}
	if intent != nil {
		e["payment_intent"] = intent
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return b
}
