package service_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/httpapi"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/webhook"
)

// receiver is a real local HTTP endpoint that records what it is sent and
// answers with status(n) for the n-th request (0-based).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status func(n int) int
}

type received struct {
	header http.Header
	body   []byte
	event  webhook.Event
	at     time.Time
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev webhook.Event
		_ = json.Unmarshal(body, &ev)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, event: ev, at: time.Now()})
		r.mu.Unlock()
		code := 200
		if r.status != nil {
			code = r.status(n)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, strings.Repeat("x", 1000)) // longer than the kept snippet
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// eventIDs lists the events received, in arrival order.
func (r *receiver) eventIDs() []string {
	var ids []string
	for _, g := range r.requests() {
		ids = append(ids, g.event.ID)
	}
	return ids
}

func webhookHarness(t *testing.T, store gateway.Store) *harness {
	h := newHarness(t, store, sandbox.Processor{})
	h.svc.PaymentJSON = httpapi.PaymentJSON
	h.svc.Webhooks.Timeout = 2 * time.Second
	return h
}

func (h *harness) addEndpoint(t *testing.T, url string, events ...string) (gateway.WebhookEndpoint, string) {
	t.Helper()
	e, secret, err := h.svc.AddWebhookEndpoint(context.Background(), service.NewWebhookEndpoint{
		AccountID: h.caller.Account.ID, Environment: gateway.Sandbox, URL: url, Events: events})
	if err != nil {
		t.Fatalf("add endpoint: %v", err)
	}
	return e, secret
}

// deliverUntil runs delivery rounds until the receiver has n requests, for
// at most 15 s (PostgreSQL may withhold ledger rows while another test's
// transaction runs in the cluster).
func (h *harness) deliverUntil(t *testing.T, r *receiver, n int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(r.requests()) < n {
		if err := h.svc.DeliverWebhooksOnce(context.Background()); err != nil {
			t.Fatalf("deliver: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d requests; want %d: %v", len(r.requests()), n, r.eventIDs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhookEventsOfEveryChange: every change of a payment is one event,
// signed with the endpoint's secret, in order per payment, with the
// payment as lookup shows it; a refused request sends nothing.
func TestWebhookEventsOfEveryChange(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		r := newReceiver(t, nil)
		ep, secret := h.addEndpoint(t, r.URL+"/hooks")
		ctx := context.Background()
		// A refused request (invalid input) changes nothing and sends nothing.
		bad := input("4242424242424242", 50)
		if _, err := h.svc.Charge(ctx, h.caller, bad, nil); gateway.ErrorKind(err) != gateway.KindInvalid {
			t.Fatalf("charge of 50: %v; want invalid", err)
		}
		charge, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 2000), nil)
		must(t, err)
		_, err = h.svc.Refund(ctx, h.caller, charge.Payment.ID, 500, nil)
		must(t, err)
		auth, err := h.svc.Authorize(ctx, h.caller, input("4242424242424242", 3000), nil)
		must(t, err)
		_, err = h.svc.Capture(ctx, h.caller, auth.Payment.ID, 3000, nil)
		must(t, err)
		voided, err := h.svc.Authorize(ctx, h.caller, input("4242424242424242", 1000), nil)
		must(t, err)
		_, err = h.svc.Void(ctx, h.caller, voided.Payment.ID, nil)
		must(t, err)
		_, err = h.svc.Charge(ctx, h.caller, input("4000000000000002", 1000), nil)
		if gateway.ErrorKind(err) != gateway.KindDeclined {
			t.Fatalf("declined card: %v", err)
		}
		_, err = h.svc.Charge(ctx, h.caller, input("4000000000000119", 1000), nil)
		if gateway.ErrorKind(err) != gateway.KindProcessor {
			t.Fatalf("failing card: %v", err)
		}
		h.clock.advance(time.Second) // settle what was captured before now
		if _, err := h.svc.Settle(ctx, "manual:webhooks"); err != nil {
			t.Fatal(err)
		}
		want := []string{"payment.captured", "payment.refunded", "payment.authorized", "payment.captured", "payment.authorized",
			"payment.voided", "payment.declined", "payment.failed", "payment.settled", "payment.settled"}
		h.deliverUntil(t, r, len(want))
		time.Sleep(50 * time.Millisecond)
		if err := h.svc.DeliverWebhooksOnce(ctx); err != nil {
			t.Fatal(err)
		}
		got := r.requests()
		if len(got) != len(want) {
			t.Fatalf("received %v; want %d events", r.eventIDs(), len(want))
		}
		var types []string
		byPayment := map[string][]string{}
		for _, g := range got {
			if err := webhook.Verify(g.body, g.header.Get(webhook.SignatureHeader), secret, webhook.DefaultTolerance); err != nil {
				t.Errorf("event %s does not verify: %v", g.event.ID, err)
			}
			if err := webhook.Verify(g.body, g.header.Get(webhook.SignatureHeader), "whsec_wrong", 0); err == nil {
				t.Errorf("event %s verifies with another secret", g.event.ID)
			}
			if g.header.Get(webhook.EventIDHeader) != g.event.ID || !strings.HasPrefix(g.event.ID, "evt_") ||
				g.header.Get("Authorization") != "" || g.header.Get("Content-Type") != "application/json" {
				t.Errorf("event %s headers: %v", g.event.ID, g.header)
			}
			if g.event.AccountID != h.caller.Account.ID || g.event.Environment != "sandbox" || g.event.Object != "event" ||
				g.event.APIVersion != service.WebhookAPIVersion || g.event.Created.IsZero() {
				t.Errorf("envelope: %s", g.body)
			}
			var data struct {
				Payment     map[string]any `json:"payment"`
				Transaction struct {
					ID   string `json:"id"`
					Type string `json:"type"`
				} `json:"transaction"`
			}
			if err := json.Unmarshal(g.event.Data, &data); err != nil {
				t.Fatal(err)
			}
			if g.event.ID != "evt_"+data.Transaction.ID {
				t.Errorf("event id %s is not derived from its transaction %s", g.event.ID, data.Transaction.ID)
			}
			pid, _ := data.Payment["id"].(string)
			if pid == "" || data.Payment["card"] == nil || strings.Contains(string(g.body), "4242424242424242") {
				t.Errorf("the payment as lookup shows it, without the card number: %s", g.body)
			}
			types = append(types, g.event.Type)
			byPayment[pid] = append(byPayment[pid], g.event.Type)
		}
		slices.Sort(types)
		sortedWant := slices.Clone(want)
		slices.Sort(sortedWant)
		if !slices.Equal(types, sortedWant) {
			t.Errorf("event types %v; want %v", types, sortedWant)
		}
		for pid, want := range map[string][]string{
			charge.Payment.ID: {"payment.captured", "payment.refunded", "payment.settled"},
			auth.Payment.ID:   {"payment.authorized", "payment.captured", "payment.settled"},
			voided.Payment.ID: {"payment.authorized", "payment.voided"},
		} {
			if !slices.Equal(byPayment[pid], want) {
				t.Errorf("events of payment %s in order: %v; want %v", pid, byPayment[pid], want)
			}
		}
		// Every delivery is recorded, with its attempt.
		list, err := h.svc.WebhookDeliveries(ctx, gateway.WebhookDeliveryFilter{AccountID: h.caller.Account.ID, Limit: 100})
		must(t, err)
		for _, d := range list {
			if d.Status != gateway.DeliveryDelivered || len(d.Attempts) != 1 || d.Attempts[0].Status != 200 ||
				len(d.Attempts[0].Snippet) != 256 || d.EndpointID != ep.ID {
				t.Errorf("delivery %+v", d)
			}
		}
		// Resend: the event again, the same bytes, signed anew.
		var first received
		for _, g := range got {
			if g.event.ID == "evt_"+charge.Payment.ID {
				first = g
			}
		}
		n, err := h.svc.ResendWebhookEvent(ctx, h.caller.Account.ID, first.event.ID, "")
		if err != nil || n != 1 {
			t.Fatalf("resend: %d, %v", n, err)
		}
		h.deliverUntil(t, r, len(want)+1)
		again := r.requests()[len(want)]
		// The same event: its id, type and transaction; the payment as it
		// is now (refunded and settled since).
		if again.event.ID != first.event.ID || again.event.Type != first.event.Type || transactionOf(t, again.event) != transactionOf(t, first.event) {
			t.Errorf("the resent event differs: %s\nfirst: %s", again.body, first.body)
		}
		if !strings.Contains(string(again.body), `"status":"settled"`) {
			t.Errorf("the resent event does not show the payment as it is now: %s", again.body)
		}
		if _, err := h.svc.ResendWebhookEvent(ctx, h.caller.Account.ID, "evt_UNKNOWN", ""); gateway.ErrorKind(err) != gateway.KindNotFound {
			t.Errorf("resend of an unknown event: %v", err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestWebhookRetries: a receiver that fails three times then succeeds gets
// the event once per retry, then no more; the retries wait as the backoff
// says (a fast test clock).
func TestWebhookRetries(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		r := newReceiver(t, func(n int) int {
			if n < 3 {
				return 500
			}
			return 204
		})
		h.addEndpoint(t, r.URL)
		ctx := context.Background()
		_, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 2000), nil)
		must(t, err)
		h.deliverUntil(t, r, 1)
		for attempt := 2; attempt <= 4; attempt++ {
			// Not due yet: nothing is sent.
			must(t, h.svc.DeliverWebhooksOnce(ctx))
			if n := len(r.requests()); n != attempt-1 {
				t.Fatalf("before the backoff ended the receiver got %d requests; want %d", n, attempt-1)
			}
			h.clock.advance(7 * time.Hour) // past any one backoff
			h.deliverUntil(t, r, attempt)
		}
		for range 3 {
			h.clock.advance(7 * time.Hour)
			must(t, h.svc.DeliverWebhooksOnce(ctx))
		}
		got := r.requests()
		if len(got) != 4 {
			t.Fatalf("the receiver got %d requests; want 4 (3 failures and the success)", len(got))
		}
		for _, g := range got {
			if g.event.ID != got[0].event.ID {
				t.Errorf("retries carried other events: %v", r.eventIDs())
			}
		}
		list, err := h.svc.WebhookDeliveries(ctx, gateway.WebhookDeliveryFilter{EventID: got[0].event.ID, AccountID: h.caller.Account.ID, Limit: 10})
		must(t, err)
		if len(list) != 1 || list[0].Status != gateway.DeliveryDelivered || len(list[0].Attempts) != 4 {
			t.Fatalf("delivery after the retries: %+v", list)
		}
		for i, a := range list[0].Attempts {
			if want := map[bool]int{true: 500, false: 204}[i < 3]; a.Status != want {
				t.Errorf("attempt %d: status %d; want %d", i, a.Status, want)
			}
		}
	})
}

// TestWebhookGivesUp: a receiver that never answers 2xx is retried until
// the retry period ends, then the delivery is failed and no longer sent.
func TestWebhookGivesUp(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		r := newReceiver(t, func(int) int { return 302 }) // a redirect is not followed, and not a success
		h.addEndpoint(t, r.URL)
		ctx := context.Background()
		_, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 2000), nil)
		must(t, err)
		h.deliverUntil(t, r, 1)
		for range 40 {
			h.clock.advance(7 * time.Hour)
			must(t, h.svc.DeliverWebhooksOnce(ctx))
		}
		n := len(r.requests())
		if n < 10 || n > 25 {
			t.Errorf("%d attempts in the retry period; want the backoff's 10 to 25", n)
		}
		list, err := h.svc.WebhookDeliveries(ctx, gateway.WebhookDeliveryFilter{AccountID: h.caller.Account.ID, Limit: 10})
		must(t, err)
		if len(list) != 1 || list[0].Status != gateway.DeliveryFailed || len(list[0].Attempts) != n {
			t.Fatalf("delivery after the retry period: %+v", list)
		}
		h.clock.advance(7 * time.Hour)
		must(t, h.svc.DeliverWebhooksOnce(ctx))
		if len(r.requests()) != n {
			t.Error("a failed delivery was sent again")
		}
	})
}

// TestDeadEndpointDoesNotDelayHealthy: an endpoint that never answers
// holds its own slots only; a healthy endpoint gets every event at once.
func TestDeadEndpointDoesNotDelayHealthy(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		h.svc.Webhooks.Timeout = 5 * time.Second
		h.svc.Webhooks.Poll = 20 * time.Millisecond
		h.svc.Webhooks.Concurrency = 2
		// The dead one accepts connections and never answers.
		dead, err := net.Listen("tcp", "127.0.0.1:0")
		must(t, err)
		defer dead.Close()
		go func() {
			for {
				c, err := dead.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		h.addEndpoint(t, "http://"+dead.Addr().String()+"/hooks")
		healthy := newReceiver(t, nil)
		h.addEndpoint(t, healthy.URL)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			h.svc.RunWebhooks(ctx)
			close(done)
		}()
		defer func() {
			cancel()
			<-done
		}()
		start := time.Now()
		for range 6 {
			_, err := h.svc.Charge(context.Background(), h.caller, input("4242424242424242", 2000), nil)
			must(t, err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for len(healthy.requests()) < 6 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		took := time.Since(start)
		if len(healthy.requests()) != 6 {
			t.Fatalf("the healthy endpoint got %d of 6 events", len(healthy.requests()))
		}
		// PostgreSQL may withhold ledger rows while another test's
		// transaction runs in the cluster; the dead endpoint's timeout is 5 s.
		if took > 4*time.Second {
			t.Errorf("the healthy endpoint waited %v beside a dead one (timeout 5 s)", took)
		}
	})
}

// TestWebhookRowCommittingLate: a ledger row whose transaction commits
// after a later one was fanned out is still delivered, once (issue 17,
// point 4; PostgreSQL commits out of sequence order).
func TestWebhookRowCommittingLate(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		store := open(t)
		h := webhookHarness(t, store)
		r := newReceiver(t, nil)
		h.addEndpoint(t, r.URL)
		ctx := context.Background()
		acct := h.caller.Account.ID
		inserted, release := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		lateID := gateway.NewID()
		go func() {
			held <- store.Update(ctx, func(tx gateway.Tx) error {
				now := time.Now().UTC()
				p := gateway.Payment{ID: lateID, AccountID: acct, Environment: gateway.Sandbox, Status: gateway.StatusCaptured,
					Currency: "USD", AuthorizedAmount: 700, CapturedAmount: 700, OrderID: "late", CreatedAt: now, UpdatedAt: now, Version: 1}
				if err := tx.InsertPayment(ctx, p); err != nil {
					return err
				}
				if err := tx.InsertTransaction(ctx, gateway.Transaction{ID: lateID, PaymentID: lateID, AccountID: acct,
					Environment: gateway.Sandbox, Operation: gateway.OpCharge, Result: gateway.ResultApproved, Amount: 700,
					Actor: "key:K", CreatedAt: now}); err != nil {
					return err
				}
				close(inserted)
				<-release
				return nil
			})
		}()
		<-inserted
		// A later charge commits (PostgreSQL) or waits behind the held
		// transaction (SQLite's single writer).
		later := make(chan error, 1)
		var laterID string
		go func() {
			out, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 900), nil)
			laterID = out.Payment.ID
			later <- err
		}()
		select {
		case err := <-later:
			must(t, err)
			later <- nil
		case <-time.After(300 * time.Millisecond):
		}
		// A delivery round meanwhile (on SQLite it waits for the writer
		// too, until the release).
		round := make(chan error, 1)
		go func() { round <- h.svc.DeliverWebhooksOnce(ctx) }()
		select {
		case err := <-round:
			must(t, err)
			round <- nil
		case <-time.After(time.Second):
		}
		if got := r.eventIDs(); len(got) != 0 {
			t.Fatalf("while an earlier transaction was open, events went out: %v (the held row would be skipped)", got)
		}
		close(release)
		must(t, <-held)
		must(t, <-round)
		must(t, <-later)
		h.deliverUntil(t, r, 2)
		time.Sleep(50 * time.Millisecond)
		must(t, h.svc.DeliverWebhooksOnce(ctx))
		got := r.eventIDs()
		slices.Sort(got)
		want := []string{"evt_" + lateID, "evt_" + laterID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("events %v; want each of %v once", got, want)
		}
	})
}

// TestWebhookSecretRotation: for 24 h after a rotation events are signed
// with both secrets; then with the new one only.
func TestWebhookSecretRotation(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		r := newReceiver(t, nil)
		ep, old := h.addEndpoint(t, r.URL, "payment.captured")
		ctx := context.Background()
		fresh, err := h.svc.RotateWebhookSecret(ctx, h.caller.Account.ID, ep.ID)
		must(t, err)
		if fresh == old || !strings.HasPrefix(fresh, "whsec_") {
			t.Fatalf("rotated secret %q", fresh)
		}
		_, err = h.svc.Authorize(ctx, h.caller, input("4242424242424242", 2000), nil) // not subscribed
		must(t, err)
		_, err = h.svc.Charge(ctx, h.caller, input("4242424242424242", 2000), nil)
		must(t, err)
		h.deliverUntil(t, r, 1)
		g := r.requests()[0]
		if g.event.Type != "payment.captured" {
			t.Errorf("an endpoint for payment.captured got %s", g.event.Type)
		}
		sig := g.header.Get(webhook.SignatureHeader)
		for _, s := range []string{old, fresh} {
			if err := webhook.Verify(g.body, sig, s, time.Minute); err != nil {
				t.Errorf("during the rotation, %s does not verify: %v", sig, err)
			}
		}
		h.clock.advance(25 * time.Hour)
		_, err = h.svc.Charge(ctx, h.caller, input("4242424242424242", 2000), nil)
		must(t, err)
		h.deliverUntil(t, r, 2)
		g = r.requests()[1]
		sig = g.header.Get(webhook.SignatureHeader)
		if webhook.Verify(g.body, sig, fresh, 0) != nil || webhook.Verify(g.body, sig, old, 0) == nil {
			t.Errorf("after the rotation's 24 h: %s", sig)
		}
		if _, err := h.svc.RotateWebhookSecret(ctx, "999", ep.ID); gateway.ErrorKind(err) != gateway.KindNotFound {
			t.Errorf("rotating another account's endpoint: %v", err)
		}
		must(t, h.svc.RemoveWebhookEndpoint(ctx, h.caller.Account.ID, ep.ID))
		if list, _ := h.svc.WebhookEndpoints(ctx, h.caller.Account.ID); len(list) != 0 {
			t.Errorf("endpoints after the removal: %+v", list)
		}
	})
}

func TestWebhookEndpointRules(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		ctx := context.Background()
		cases := []struct {
			url          string
			env          gateway.Environment
			events       []string
			allowPrivate bool
			code         string // "" accepted
		}{
			{"https://shop.example/hooks", gateway.Live, nil, false, ""},
			{"http://localhost:8000/hooks", gateway.Sandbox, nil, false, ""},
			{"http://127.0.0.1:8000/hooks", gateway.Sandbox, []string{"payment.captured,payment.refunded"}, false, ""},
			{"http://[::1]:8000/hooks", gateway.Sandbox, nil, false, ""},
			{"http://shop.example/hooks", gateway.Sandbox, nil, false, "invalid-webhook-url"},
			{"ftp://shop.example/hooks", gateway.Sandbox, nil, false, "invalid-webhook-url"},
			{"https://user:pw@shop.example/hooks", gateway.Sandbox, nil, false, "invalid-webhook-url"},
			{"/hooks", gateway.Sandbox, nil, false, "invalid-webhook-url"},
			{"", gateway.Sandbox, nil, false, "invalid-webhook-url"},
			{"https://10.0.0.5/hooks", gateway.Live, nil, false, "invalid-webhook-url"},
			{"https://169.254.169.254/latest", gateway.Live, nil, false, "invalid-webhook-url"},
			{"http://127.0.0.1:8000/hooks", gateway.Live, nil, false, "invalid-webhook-url"},
			{"http://localhost:8000/hooks", gateway.Live, nil, false, "invalid-webhook-url"},
			{"http://127.0.0.1:8000/hooks", gateway.Live, nil, true, ""},
			{"https://10.0.0.5/hooks", gateway.Live, nil, true, ""},
			{"https://shop.example/hooks", gateway.Sandbox, []string{"payment.exploded"}, false, "invalid-event-type"},
			{"https://shop.example/hooks", "staging", nil, false, "invalid-environment"},
		}
		for _, c := range cases {
			h.svc.Webhooks.AllowPrivate = c.allowPrivate
			_, secret, err := h.svc.AddWebhookEndpoint(ctx, service.NewWebhookEndpoint{AccountID: h.caller.Account.ID,
				Environment: c.env, URL: c.url, Events: c.events})
			if got := errorCode(err); got != c.code {
				t.Errorf("%s in %s (allow private %v): %v; want %q", c.url, c.env, c.allowPrivate, err, c.code)
			}
			if err == nil && !strings.HasPrefix(secret, "whsec_") {
				t.Errorf("secret %q", secret)
			}
		}
		_, _, err := h.svc.AddWebhookEndpoint(ctx, service.NewWebhookEndpoint{AccountID: "999", URL: "https://shop.example"})
		if gateway.ErrorKind(err) != gateway.KindNotFound {
			t.Errorf("an endpoint of an unknown account: %v", err)
		}
	})
}

func errorCode(err error) string {
	if err == nil {
		return ""
	}
	return gateway.AsError(err).Code
}

func transactionOf(t *testing.T, ev webhook.Event) string {
	t.Helper()
	var data struct {
		Transaction json.RawMessage `json:"transaction"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	return string(data.Transaction)
}

// TestWebhookCheckoutCompleted: a hosted checkout paid on its page is a
// payment.captured event and a checkout.completed event of the same row;
// a declined attempt completes nothing.
func TestWebhookCheckoutCompleted(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		r := newReceiver(t, nil)
		h.addEndpoint(t, r.URL, "checkout.completed", "payment.declined")
		ctx := context.Background()
		created, err := h.svc.CreateCheckout(ctx, h.caller, service.CheckoutInput{Reference: "order-77",
			SuccessURL: "https://shop.example/done", CancelURL: "https://shop.example/cart",
			Products: []service.CheckoutProductInput{{Name: "Tea", Amount: 1500, HasAmount: true, Quantity: 2, HasQuantity: true}}}, nil)
		must(t, err)
		_, _, err = h.svc.PayCheckout(ctx, created.Token, input("4000000000000002", 3000), "req_page_1")
		if gateway.ErrorKind(err) != gateway.KindDeclined {
			t.Fatalf("declined attempt: %v", err)
		}
		_, out, err := h.svc.PayCheckout(ctx, created.Token, input("4242424242424242", 3000), "req_page_2")
		must(t, err)
		h.deliverUntil(t, r, 2)
		time.Sleep(50 * time.Millisecond)
		must(t, h.svc.DeliverWebhooksOnce(ctx))
		var types []string
		for _, g := range r.requests() {
			types = append(types, g.event.Type)
			if g.event.Type == "checkout.completed" {
				if g.event.ID != "evt_"+out.Transaction.ID+"_checkout" || !strings.Contains(string(g.body), created.Session.ID) {
					t.Errorf("checkout.completed: %s", g.body)
				}
			}
		}
		slices.Sort(types)
		if !slices.Equal(types, []string{"checkout.completed", "payment.declined"}) {
			t.Errorf("events %v; want the declined attempt and the completed checkout", types)
		}
	})
}

// TestWebhookManyEventsEachOnce: more events than one claim takes (and
// attempts recorded in shared batches while other POSTs are under way)
// arrive each exactly once, and every delivery ends delivered with one
// attempt.
func TestWebhookManyEventsEachOnce(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		r := newReceiver(t, nil)
		h.addEndpoint(t, r.URL+"/hooks")
		ctx := context.Background()
		const n = 300
		for i := range n {
			_, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", int64(1000+i)), nil)
			must(t, err)
		}
		h.deliverUntil(t, r, n)
		must(t, h.svc.DeliverWebhooksOnce(ctx)) // nothing is left to send
		seen := map[string]int{}
		for _, id := range r.eventIDs() {
			seen[id]++
		}
		if len(r.requests()) != n || len(seen) != n {
			t.Errorf("the receiver got %d requests of %d events; want %d each once", len(r.requests()), len(seen), n)
		}
		ds, err := h.svc.WebhookDeliveries(ctx, gateway.WebhookDeliveryFilter{AccountID: h.caller.Account.ID, Limit: gateway.MaxPaymentPage})
		must(t, err)
		for _, d := range ds {
			if d.Status != gateway.DeliveryDelivered || len(d.Attempts) != 1 {
				t.Errorf("delivery %s: %s after %d attempts", d.EventID, d.Status, len(d.Attempts))
			}
		}
	})
}

// TestWebhookRetention: deliveries older than the retention period are
// purged; younger ones stay.
func TestWebhookRetention(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := webhookHarness(t, open(t))
		r := newReceiver(t, nil)
		h.addEndpoint(t, r.URL+"/hooks")
		ctx := context.Background()
		for i := range 3 {
			_, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", int64(1000+i)), nil)
			must(t, err)
		}
		h.deliverUntil(t, r, 3)
		listed := func() int {
			ds, err := h.svc.WebhookDeliveries(ctx, gateway.WebhookDeliveryFilter{AccountID: h.caller.Account.ID, Limit: 10})
			must(t, err)
			return len(ds)
		}
		if n, err := h.svc.PurgeWebhookDeliveries(ctx); err != nil || n != 0 || listed() != 3 {
			t.Fatalf("purge of young deliveries: %d, %v; %d left", n, err, listed())
		}
		h.svc.Now = func() time.Time { return time.Now().Add(service.DefaultWebhookRetention + time.Hour) }
		if n, err := h.svc.PurgeWebhookDeliveries(ctx); err != nil || n != 3 || listed() != 0 {
			t.Errorf("purge after the retention: %d, %v; %d left", n, err, listed())
		}
	})
}
