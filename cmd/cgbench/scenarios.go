package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/cartgateway/cartgateway/client"
)

const (
	pathHealthz   = "/healthz"
	pathCharge    = "/payment/charge"
	pathAuthorize = "/payment/authorize"
	pathCapture   = "/payment/capture"
	pathRefund    = "/payment/refund"
	pathLookup    = "/payment/lookup"
	pathCheckout  = "/hosted/checkout/create"
	// pathPage labels the GETs of hosted checkout pages in the counts.
	pathPage = "/checkout/{token}"
)

// testCards are cards the sandbox approves. Rotating them spreads brands and
// fingerprints the way a shop's traffic does.
var testCards = [...]string{"4242424242424242", "5555555555554444", "6011111111111117", "4111111111111111"}

const (
	// seedCharges are made before the refund scenario (to refund) and before
	// lookup when nothing was created yet (to look up).
	seedCharges = 2000
	// refundSeedAmount is large enough that 1-cent refunds never run out,
	// however long the run: each seeded charge takes ten million of them.
	refundSeedAmount = 10_000_000
	// captureAmount is at most the smallest authorization (100), so that any
	// authorization can be captured without the bench tracking its amount.
	captureAmount = 100
	// waitingCap bounds completed authorizations waiting for their capture.
	waitingCap = 1 << 16
)

// bench drives one server. Scenarios run one after another; ids they create
// feed the later ones.
type bench struct {
	base     string
	api      *client.Client // outside the timed loops: seeding, checks
	header   http.Header    // shared read-only by every target (vegeta copies it)
	conns    int
	duration time.Duration
	seed     uint64
	pid      int
	log      io.Writer
	wrk      string // path of wrk, the driver of timed scenarios; "": vegeta
	// readAnswers makes wrk hand every answer to the script (see
	// wrkConfig.readAnswers) in every scenario.
	readAnswers bool

	orders atomic.Uint64 // order id counter: unique order ids across the run
	// created holds ids of approved charges and authorizations, in the order
	// their answers arrived. Only results loops append to it, and one loop
	// runs at a time; targeters read copies.
	created    []string
	refundable []string // seeded charges of refundSeedAmount
	existing   []string // -lookup-existing: payments already in the database, for lookups
	// neighbourHeader authenticates the slow neighbour's account (nil: the
	// bench account's own header).
	neighbourHeader http.Header
	// settle is the command that settles the server's database now
	// (cartgateway settle --db ...); nil against -target.
	settle []string
	// liveNeighbourHeader authenticates the live neighbour, whose Stripe
	// is slow (nil against -target).
	liveNeighbourHeader http.Header
}

// runCharge runs the charge scenario with the run's driver.
func (b *bench) runCharge(ctx context.Context) (result, error) {
	if b.wrk != "" {
		return b.runWrk(ctx, "charge")
	}
	return b.charge(ctx), nil
}

func authHeader(account, key string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", "Bearer "+key)
	h.Set("CARTGATEWAY-ACCOUNT-ID", account)
	return h
}

// run runs one scenario and measures it.
func (b *bench) run(ctx context.Context, name string) (result, error) {
	switch name {
	case scenarioSlowNeighbour:
		return b.slowNeighbour(ctx)
	case scenarioDuringSettle:
		return b.duringSettle(ctx)
	}
	if name == scenarioSlowLiveNeighbour {
		return b.slowLiveNeighbour(ctx)
	}
	if b.wrk != "" {
		return b.runWrk(ctx, name)
	}
	switch name {
	case "healthz":
		return b.healthz(ctx), nil
	case "charge":
		return b.charge(ctx), nil
	case "authorize-capture":
		return b.authorizeCapture(ctx), nil
	case "refund":
		return b.refund(ctx)
	case "lookup":
		return b.lookup(ctx)
	case "checkout":
		return b.checkout(ctx), nil
	case "mixed":
		return b.mixed(ctx)
	}
	return result{}, fmt.Errorf("unknown scenario %q", name)
}

func (b *bench) healthz(ctx context.Context) result {
	tr := func(t *vegeta.Target) error {
		t.Method, t.URL = http.MethodGet, b.base+pathHealthz
		return nil
	}
	return b.result("healthz", b.timed(ctx, "healthz", tr, nil))
}

func (b *bench) charge(ctx context.Context) result {
	in := b.inputs("charge")
	tr := func(t *vegeta.Target) error {
		b.post(t, pathCharge, in.payment(0))
		return nil
	}
	return b.result("charge", b.timed(ctx, "charge", tr, b.keepCreated))
}

// authorizeCapture measures pairs: every authorization is captured by a
// later request. A worker captures an authorization that has completed if
// one is waiting, and otherwise authorizes; it never waits, which would
// count the wait as latency.
func (b *bench) authorizeCapture(ctx context.Context) result {
	in := b.inputs("authorize-capture")
	waiting := make(chan string, waitingCap)
	tr := func(t *vegeta.Target) error {
		select {
		case id := <-waiting:
			b.post(t, pathCapture, captureBody(id))
		default:
			b.post(t, pathAuthorize, in.payment(0))
		}
		return nil
	}
	var pairs uint64
	each := func(r *vegeta.Result, ok bool) {
		if !ok {
			return
		}
		switch b.path(r) {
		case pathAuthorize:
			b.keepAuthorization(r, waiting)
		case pathCapture:
			pairs++
		}
	}
	res := b.result("authorize-capture", b.timed(ctx, "authorize-capture", tr, each))
	if res.Seconds > 0 {
		res.PairsPerSecond = float64(pairs) / res.Seconds
	}
	return res
}

// checkoutBody is a hosted checkout as the PHP SDK creates one: two lines
// of the merchant's own, tax and shipping.
var checkoutBody = []byte(`{"reference":"cgbench","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/cart",` +
	`"products":[{"name":"My Product","amount":1000,"codename":null,"quantity":1,"image_url":null},` +
	`{"name":"My Product","amount":1000,"codename":null,"quantity":2,"image_url":null}],"tax_amount":250,"shipping_amount":59}`)

// checkout measures what a shop's customer costs before paying: the
// merchant's create, and the customer's GET of the page it names. A worker
// opens a created page if one is waiting, and otherwise creates one.
func (b *bench) checkout(ctx context.Context) result {
	pages := make(chan string, waitingCap)
	tr := func(t *vegeta.Target) error {
		select {
		case u := <-pages:
			t.Method, t.URL, t.Body, t.Header = http.MethodGet, u, nil, nil
		default:
			b.post(t, pathCheckout, checkoutBody)
		}
		return nil
	}
	var pairs uint64
	each := func(r *vegeta.Result, ok bool) {
		if !ok {
			return
		}
		if r.Method == http.MethodGet {
			pairs++
			return
		}
		var a struct {
			URL string `json:"url"`
		}
		if json.Unmarshal(r.Body, &a) == nil && a.URL != "" {
			select {
			case pages <- a.URL:
			default:
			}
		}
	}
	res := b.result("checkout", b.timed(ctx, "checkout", tr, each))
	if res.Seconds > 0 {
		res.PairsPerSecond = float64(pairs) / res.Seconds
	}
	return res
}

func (b *bench) refund(ctx context.Context) (result, error) {
	if err := b.seedRefundable(ctx); err != nil {
		return result{}, err
	}
	ids := slices.Clone(b.refundable)
	var next atomic.Uint64
	tr := func(t *vegeta.Target) error {
		b.post(t, pathRefund, refundBody(ids[(next.Add(1)-1)%uint64(len(ids))]))
		return nil
	}
	return b.result("refund", b.timed(ctx, "refund", tr, nil)), nil
}

func (b *bench) lookup(ctx context.Context) (result, error) {
	if len(b.created) == 0 && len(b.existing) == 0 {
		if _, err := b.seedPayments(ctx, "lookup-seed", 0); err != nil {
			return result{}, err
		}
	}
	ids := slices.Clone(b.created)
	if len(b.existing) > 0 {
		ids = b.existing
	}
	var next atomic.Uint64
	tr := func(t *vegeta.Target) error {
		b.post(t, pathLookup, lookupBody(ids[(next.Add(1)-1)%uint64(len(ids))]))
		return nil
	}
	return b.result("lookup", b.timed(ctx, "lookup", tr, nil)), nil
}

// mixed is a shop's day: 45% charge, 25% lookup, 10% authorize, 10% capture
// of a waiting authorization (an authorize when none waits), 10% 1-cent
// refund of a seeded charge.
func (b *bench) mixed(ctx context.Context) (result, error) {
	if err := b.seedRefundable(ctx); err != nil {
		return result{}, err
	}
	// Ops and payments draw from streams of their own, so that both
	// sequences are the same in every run whatever the workers' timing.
	ops, in := b.inputs("mixed-ops"), b.inputs("mixed")
	known, refundable := slices.Clone(b.created), slices.Clone(b.refundable)
	waiting := make(chan string, waitingCap)
	var nextLookup, nextRefund atomic.Uint64
	tr := func(t *vegeta.Target) error {
		switch p := ops.percent(); {
		case p < 45:
			b.post(t, pathCharge, in.payment(0))
		case p < 70:
			b.post(t, pathLookup, lookupBody(known[(nextLookup.Add(1)-1)%uint64(len(known))]))
		case p < 80:
			b.post(t, pathAuthorize, in.payment(0))
		case p < 90:
			select {
			case id := <-waiting:
				b.post(t, pathCapture, captureBody(id))
			default:
				b.post(t, pathAuthorize, in.payment(0))
			}
		default:
			b.post(t, pathRefund, refundBody(refundable[(nextRefund.Add(1)-1)%uint64(len(refundable))]))
		}
		return nil
	}
	each := func(r *vegeta.Result, ok bool) {
		switch b.path(r) {
		case pathCharge:
			b.keepCreated(r, ok)
		case pathAuthorize:
			if ok {
				b.keepAuthorization(r, waiting)
			}
		}
	}
	return b.result("mixed", b.timed(ctx, "mixed", tr, each)), nil
}

// seedRefundable makes, once per run, the charges that refunds draw on.
func (b *bench) seedRefundable(ctx context.Context) error {
	if len(b.refundable) > 0 {
		return nil
	}
	ids, err := b.seedPayments(ctx, "refund-seed", refundSeedAmount)
	b.refundable = ids
	return err
}

// seedPayments makes seedCharges charges with the run's concurrency,
// untimed, through the Go client as an integrator would (each with its
// Idempotency-Key, 429s waited out), and returns their ids. amount 0 draws
// amounts as the charge scenario does.
func (b *bench) seedPayments(ctx context.Context, stream string, amount int64) ([]string, error) {
	fmt.Fprintf(b.log, "cgbench: %s: %d charges, untimed\n", stream, seedCharges)
	in := b.inputs(stream)
	reqs := make([]client.PaymentRequest, seedCharges)
	for i := range reqs {
		reqs[i] = in.paymentRequest(amount)
	}
	ids := make([]string, len(reqs))
	kinds := map[string]uint64{}
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range b.conns {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(reqs) && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				a, err := b.api.Charge(ctx, reqs[i])
				if err != nil {
					mu.Lock()
					kinds[seedErrorKind(err)]++
					mu.Unlock()
					continue
				}
				ids[i] = a.ID
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(kinds) > 0 {
		failed := uint64(0)
		for _, n := range kinds {
			failed += n
		}
		return nil, fmt.Errorf("seeding: %d of %d charges failed: %s", failed, seedCharges, formatKinds(kinds))
	}
	b.created = append(b.created, ids...)
	return ids, nil
}

func seedErrorKind(err error) string {
	var e *client.Error
	if errors.As(err, &e) {
		return fmt.Sprintf("%d %s", e.StatusCode, e.Code)
	}
	return "transport: " + err.Error()
}

// check looks up, through the Go client, payments the run created: each
// must be found, approved, with money on it. Untimed, after the scenarios.
func (b *bench) check(ctx context.Context) error {
	step := max(1, len(b.created)/checkedPayments)
	checked := 0
	for i := 0; i < len(b.created) && checked < checkedPayments; i += step {
		p, err := b.api.Lookup(ctx, b.created[i])
		if err != nil {
			return fmt.Errorf("check: lookup of created payment %s: %w", b.created[i], err)
		}
		if (p.Status != client.StatusAuthorized && p.Status != client.StatusCaptured) || p.AmountAuthorized < 100 {
			return fmt.Errorf("check: created payment %s is %s with %d authorized", p.ID, p.Status, p.AmountAuthorized)
		}
		checked++
	}
	fmt.Fprintf(b.log, "cgbench: checked %d created payments by lookup\n", checked)
	return nil
}

// checkedPayments bounds the lookups of check.
const checkedPayments = 50

func (b *bench) keepCreated(r *vegeta.Result, ok bool) {
	if id := answerOf(r).ID; ok && id != "" {
		b.created = append(b.created, id)
	}
}

// keepAuthorization queues an approved authorization for its capture. The
// queue holds far more than the workers can leave waiting; were it full, the
// authorization would just stay uncaptured.
func (b *bench) keepAuthorization(r *vegeta.Result, waiting chan<- string) {
	id := answerOf(r).ID
	if id == "" {
		return
	}
	b.created = append(b.created, id)
	select {
	case waiting <- id:
	default:
	}
}

func (b *bench) post(t *vegeta.Target, path string, body []byte) {
	t.Method, t.URL, t.Body, t.Header = http.MethodPost, b.base+path, body, b.header
}

func (b *bench) path(r *vegeta.Result) string {
	p := strings.TrimPrefix(r.URL, b.base)
	if strings.HasPrefix(p, "/checkout/") {
		return pathPage // one label for every page, whatever its token
	}
	return p
}

// outcome is what one attack measured.
type outcome struct {
	metrics    vegeta.Metrics
	errors     uint64
	limited    uint64            // 429 answers: the server's rate limits, counted apart from errors
	errorKinds map[string]uint64 // "409 duplicate-transaction" → count
	ops        map[string]uint64 // requests by path
	peakRSS    int64
	cpu        time.Duration // the server's CPU time meanwhile
}

// timed runs a scenario's measured attack: -duration as fast as the server
// answers.
func (b *bench) timed(ctx context.Context, name string, tr vegeta.Targeter, each func(*vegeta.Result, bool)) *outcome {
	// Rate 0 is vegeta's "no pacing": with as many workers as connections
	// and no more, this is a closed loop of exactly -c clients.
	return b.attack(ctx, name, tr, vegeta.Rate{Freq: 0}, b.duration, each)
}

// attack runs one vegeta attack and reads its results. each, if set, sees
// every result, in the results loop (one goroutine), with whether it counts
// as a success: a 200 answer.
func (b *bench) attack(ctx context.Context, name string, tr vegeta.Targeter, pacer vegeta.Pacer, du time.Duration, each func(*vegeta.Result, bool)) *outcome {
	// A new attacker each time: an attacker is stopped when its attack ends.
	n := uint64(b.conns)
	atk := vegeta.NewAttacker(vegeta.Workers(n), vegeta.MaxWorkers(n), vegeta.Connections(b.conns), vegeta.KeepAlive(true))
	stopSampling := sampleProcess(b.pid)
	results := atk.Attack(tr, pacer, du, name)
	defer context.AfterFunc(ctx, func() { atk.Stop() })()
	o := &outcome{errorKinds: map[string]uint64{}, ops: map[string]uint64{}}
	for r := range results {
		o.metrics.Add(r)
		ok := r.Error == "" && r.Code == http.StatusOK
		switch {
		case ok:
		case r.Code == http.StatusTooManyRequests: // vegeta also sets Error for non-2xx codes
			o.limited++ // intended when the run keeps the server's rate limits
		default:
			o.errors++
			o.errorKinds[errorKind(r)]++
		}
		o.ops[b.path(r)]++
		if each != nil {
			each(r, ok)
		}
	}
	o.metrics.Close()
	o.peakRSS, o.cpu = stopSampling()
	return o
}

// answer is what the bench reads of an answer.
type answer struct {
	ID   string `json:"id"`
	Code string `json:"code"`
}

func answerOf(r *vegeta.Result) answer {
	var a answer
	_ = json.Unmarshal(r.Body, &a)
	return a
}

func errorKind(r *vegeta.Result) string {
	if r.Code == 0 {
		return "transport: " + r.Error
	}
	if code := answerOf(r).Code; code != "" {
		return fmt.Sprintf("%d %s", r.Code, code)
	}
	return fmt.Sprintf("%d", r.Code)
}

func formatKinds(kinds map[string]uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, kinds[k]))
	}
	return strings.Join(parts, ", ")
}

// inputs draws a scenario's deterministic inputs. Each scenario has its own
// stream, so its inputs do not depend on which scenarios ran before it.
type inputs struct {
	b   *bench
	mu  sync.Mutex // targeters run on every worker
	rng *rand.Rand
}

func (b *bench) inputs(stream string) *inputs {
	h := fnv.New64a()
	_, _ = h.Write([]byte(stream))
	return &inputs{b: b, rng: rand.New(rand.NewPCG(b.seed, h.Sum64()))}
}

func (in *inputs) percent() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.rng.IntN(100)
}

// expiryYear keeps the test cards valid: a fixed year would expire.
var expiryYear = time.Now().Year() + 5

type paymentBody struct {
	FirstName   string `json:"firstname"`
	LastName    string `json:"lastname"`
	Email       string `json:"email"`
	Address     string `json:"address"`
	City        string `json:"city"`
	State       string `json:"state"`
	Zip         string `json:"zip"`
	Country     string `json:"country"`
	Amount      int64  `json:"amount"`
	CardNumber  string `json:"card_number"`
	CVV         string `json:"card_cvv"`
	ExpiryMonth int    `json:"card_expiry_month"`
	ExpiryYear  int    `json:"card_expiry_year"`
	OrderID     string `json:"order_id"`
}

// paymentRequest is payment for the Go client.
func (in *inputs) paymentRequest(amount int64) client.PaymentRequest {
	var b paymentBody
	_ = json.Unmarshal(in.payment(amount), &b)
	return client.PaymentRequest{Amount: b.Amount, OrderID: b.OrderID,
		Card: client.Card{Number: b.CardNumber, CVV: b.CVV, ExpMonth: b.ExpiryMonth, ExpYear: b.ExpiryYear},
		Customer: client.Customer{FirstName: b.FirstName, LastName: b.LastName, Email: b.Email, Address: b.Address,
			City: b.City, State: b.State, Zip: b.Zip, Country: b.Country}}
}

// payment returns a charge or authorize body: a new order id, the next test
// card, and amount, or a random 100..100000 when amount is 0. The order
// number and the amount are drawn together so that they pair the same way
// in every run with the same seed.
func (in *inputs) payment(amount int64) []byte {
	in.mu.Lock()
	n := in.b.orders.Add(1)
	if amount == 0 {
		amount = 100 + in.rng.Int64N(100_000-100+1)
	}
	in.mu.Unlock()
	body, _ := json.Marshal(paymentBody{
		FirstName: "Test", LastName: "User", Email: "user@example.com", Address: "6 Pheasant Run",
		City: "Holmdel", State: "NJ", Zip: "07733", Country: "US",
		Amount: amount, CardNumber: testCards[n%uint64(len(testCards))], CVV: "123",
		ExpiryMonth: 10, ExpiryYear: expiryYear,
		OrderID: fmt.Sprintf("cgb-%d-%d", in.b.seed, n),
	})
	return body
}

// The bodies below are formatted directly: ids are [A-Z0-9], so %q quotes
// them as JSON would.

func captureBody(id string) []byte {
	return fmt.Appendf(nil, `{"authorized_payment_id":%q,"amount":%d}`, id, captureAmount)
}

func refundBody(id string) []byte {
	return fmt.Appendf(nil, `{"payment_id":%q,"amount":1}`, id)
}

func lookupBody(id string) []byte {
	return fmt.Appendf(nil, `{"payment_id":%q}`, id)
}
