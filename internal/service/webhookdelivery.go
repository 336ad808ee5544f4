package service

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/webhook"
)

// Event delivery (issue 17, docs/webhooks.md, ADR 14). The ledger is the
// event source: every final ledger row is a change of a payment, in commit
// order (ReadTx.LedgerAfter). The fan-out follows it with a cursor kept in
// the database and turns each row an endpoint wants into a delivery row,
// moving the cursor in the same transaction: an event exists exactly when
// its change committed, and is queued once per endpoint even when several
// processes fan out at once (the cursor is locked, and (event, endpoint) is
// unique). The worker claims due deliveries with a lease (SKIP LOCKED on
// PostgreSQL), POSTs them signed, and records each attempt; a process that
// dies leaves its leases to end, and the delivery to be sent again.

// fanOutBatch bounds the ledger rows one fan-out transaction takes.
const fanOutBatch = 500

// leaseMarginWebhook is how long after its POST's timeout a claimed
// delivery stays its process's, to record the attempt.
const leaseMarginWebhook = 5 * time.Second

// claimAhead is how many rounds of POSTs a process claims per endpoint:
// up to claimAhead×Concurrency deliveries, claimed again when half have
// been sent. A claim is a write that waits for the disk (behind the
// charges' writes); claiming one round at a time held delivery well
// below the charge rate (docs/performance.md, "Webhooks").
const claimAhead = 8

// lease is how long a claim is its process's: every claimed
// delivery may wait for claimAhead rounds of POSTs, each bounded by the
// timeout, before its own.
func (c WebhookConfig) lease() time.Duration {
	return time.Duration(claimAhead+1)*c.timeout() + leaseMarginWebhook
}

func (c WebhookConfig) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultWebhookTimeout
}

func (c WebhookConfig) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return DefaultWebhookConcurrency
}

func (c WebhookConfig) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return DefaultWebhookPoll
}

// errCursorMoved: another process fanned out the same rows first.
var errCursorMoved = errors.New("the webhook cursor moved")

// FanOutWebhooks turns the ledger rows after the cursor into deliveries,
// one batch, and says how many ledger rows it consumed (0: none waits).
func (s *Service) FanOutWebhooks(ctx context.Context) (int, error) {
	var from gateway.LedgerPosition
	var entries []gateway.LedgerEntry
	var endpoints []gateway.WebhookEndpoint
	var deliveries []gateway.WebhookDelivery
	now := s.now()
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		if from, err = tx.WebhookCursor(ctx); err != nil {
			return err
		}
		if entries, err = tx.LedgerAfter(ctx, from, fanOutBatch); err != nil || len(entries) == 0 {
			return err
		}
		if endpoints, err = tx.WebhookEndpoints(ctx, ""); err != nil {
			return err
		}
		deliveries, err = s.eventsFor(entries, endpoints, now)
		return err
	})
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		cur, err := tx.WebhookCursor(ctx) // locked until commit where rows lock
		if err != nil {
			return err
		}
		if cur != from {
			return errCursorMoved
		}
		for _, d := range deliveries {
			if _, err := tx.InsertWebhookDelivery(ctx, d); err != nil {
				return err
			}
		}
		return tx.SetWebhookCursor(ctx, entries[len(entries)-1].Position)
	})
	if errors.Is(err, errCursorMoved) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return len(entries), nil
}

// eventsFor makes the deliveries of ledger entries for the endpoints that
// want them. It reads nothing more: the payment is read when an attempt is
// made.
func (s *Service) eventsFor(entries []gateway.LedgerEntry, endpoints []gateway.WebhookEndpoint, now time.Time) ([]gateway.WebhookDelivery, error) {
	type scope struct {
		account string
		env     gateway.Environment
	}
	byScope := map[scope][]gateway.WebhookEndpoint{}
	for _, e := range endpoints {
		if e.Enabled {
			byScope[scope{e.AccountID, e.Environment}] = append(byScope[scope{e.AccountID, e.Environment}], e)
		}
	}
	if len(byScope) == 0 {
		return nil, nil
	}
	var out []gateway.WebhookDelivery
	for _, entry := range entries {
		t := entry.Transaction
		eps := byScope[scope{t.AccountID, t.Environment}]
		if len(eps) == 0 {
			continue
		}
		events := []struct{ id, typ string }{{gateway.EventID(t.ID, ""), gateway.EventType(t.Operation, t.Result)}}
		if completesCheckout(t) {
			events = append(events, struct{ id, typ string }{gateway.EventID(t.ID, "checkout"), gateway.EventCheckoutCompleted})
		}
		var tx []byte
		for _, ev := range events {
			for _, e := range eps {
				if !e.Wants(ev.typ) {
					continue
				}
				if tx == nil {
					var err error
					if tx, err = json.Marshal(eventTransaction{ID: t.ID, Type: string(t.Operation), Result: string(t.Result), Amount: t.Amount,
						Code: t.Code, CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339)}); err != nil {
						return nil, gateway.Internal(err)
					}
				}
				out = append(out, gateway.WebhookDelivery{EventID: ev.id, EndpointID: e.ID, AccountID: t.AccountID, Environment: t.Environment,
					EventType: ev.typ, PaymentID: t.PaymentID, Transaction: tx, EventAt: t.CreatedAt, Status: gateway.DeliveryPending,
					NextAttemptAt: now, GiveUpAt: now.Add(WebhookRetryFor)})
			}
		}
	}
	return out, nil
}

// completesCheckout tells whether a ledger row pays a hosted checkout
// session: the approved charge or authorization of a payment made on the
// checkout page, whose rows name the session as their actor
// ("checkout:<session id>"). The session is paid in the same transaction
// (issue 15), so this row is its checkout.completed event too.
func completesCheckout(t gateway.Transaction) bool {
	return (t.Operation == gateway.OpCharge || t.Operation == gateway.OpAuthorize) && t.Result == gateway.ResultApproved &&
		strings.HasPrefix(t.Actor, "checkout:")
}

// eventTransaction is the ledger row an event announces, as lookup lists
// a payment's transactions.
type eventTransaction struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Result    string `json:"result"`
	Amount    int64  `json:"amount"`
	Code      string `json:"code,omitempty"`
	CreatedAt string `json:"created_at"`
}

// eventBody renders a delivery's envelope: the payment as lookup shows it
// now (PaymentJSON, from the API surface) and the transaction the event
// announces. It is written directly: encoding/json would check the
// payment's bytes again, which cost more than writing the envelope
// (webhook.Event decodes it; the tests hold the two together).
func (s *Service) eventBody(d gateway.WebhookDelivery, p gateway.Payment) []byte {
	payment := s.PaymentJSON(p)
	b := make([]byte, 0, 300+len(payment)+len(d.Transaction))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, d.EventID)
	b = append(b, `,"object":"event","type":`...)
	b = appendJSONString(b, d.EventType)
	b = append(b, `,"api_version":`...)
	b = appendJSONString(b, WebhookAPIVersion)
	b = append(b, `,"created":`...)
	b = appendJSONString(b, d.EventAt.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"account_id":`...)
	b = appendJSONString(b, d.AccountID)
	b = append(b, `,"environment":`...)
	b = appendJSONString(b, string(d.Environment))
	b = append(b, `,"data":{"payment":`...)
	b = append(b, payment...)
	b = append(b, `,"transaction":`...)
	b = append(b, d.Transaction...)
	return append(b, "}}"...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// webhookWorker sends the deliveries of this process: at most Concurrency
// at a time per endpoint, each in its own goroutine, so that a slow or
// dead endpoint holds only its own slots.
type webhookWorker struct {
	s      *Service
	client map[bool]*http.Client // by whether private addresses are refused
	mu     sync.Mutex
	// busy counts an endpoint's claimed deliveries not yet sent: up to
	// claimAhead×Concurrency, so that the next ones are claimed (a write
	// that waits for the disk) while the POSTs of the last ones are under
	// way; slots bounds the POSTs in flight to Concurrency.
	busy  map[string]int
	slots map[string]chan struct{}
	wg    sync.WaitGroup
	// Attempts waiting to be recorded, and whether a deliver goroutine is
	// recording: it takes every attempt waiting into one write, so that
	// a busy endpoint costs the store one transaction per batch, not one
	// per event.
	toRecord  []attemptRecord
	recording bool
	woken     chan struct{}
}

// RunWebhooks fans out and delivers events until ctx ends, then waits for
// the POSTs in flight (each bounded by the timeout) to be recorded. The
// fan-out runs on its own, so that following the ledger never waits for
// a slow endpoint, nor delivery for a long fan-out.
func (s *Service) RunWebhooks(ctx context.Context) {
	w := s.newWebhookWorker()
	defer w.wg.Wait()
	fanned := make(chan struct{}, 1)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		s.every(ctx, s.Webhooks.poll(), "fan out webhook events", func(ctx context.Context) error {
			n, err := s.fanOutAll(ctx)
			if n > 0 {
				select {
				case fanned <- struct{}{}:
				default:
				}
			}
			return err
		})
	}()
	poll := time.NewTicker(s.Webhooks.poll())
	defer poll.Stop()
	var lastBacklog time.Time
	for {
		if err := w.dispatch(ctx); err != nil && ctx.Err() == nil {
			s.log().Error("webhook delivery failed", "err", err)
		}
		if s.Webhooks.ObserveBacklog != nil && time.Since(lastBacklog) > 2*time.Second {
			lastBacklog = time.Now()
			s.observeBacklog(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-fanned:
		case <-w.woken:
		}
	}
}

// fanOutAll fans out every ledger row waiting, batch after batch.
func (s *Service) fanOutAll(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.FanOutWebhooks(ctx)
		total += n
		if err != nil || n < fanOutBatch {
			return total, err
		}
	}
}

// PurgeWebhookDeliveries deletes the deliveries whose events are older
// than the retention period and that are no longer pending, a window of
// purgeChunk at a time, each in a short transaction, and says how many.
func (s *Service) PurgeWebhookDeliveries(ctx context.Context) (int, error) {
	retention := s.Webhooks.Retention
	if retention <= 0 {
		retention = DefaultWebhookRetention
	}
	before := s.now().Add(-retention)
	var after int64
	total := 0
	for {
		var n int
		var more bool
		err := s.Store.Update(ctx, func(tx gateway.Tx) error {
			var err error
			n, after, more, err = tx.PurgeWebhookDeliveries(ctx, after, before, purgeChunk)
			return err
		})
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// RunWebhookPurge purges old deliveries at once, then every interval,
// until ctx ends.
func (s *Service) RunWebhookPurge(ctx context.Context, interval time.Duration) {
	s.purgeEvery(ctx, interval, "old webhook deliveries", s.PurgeWebhookDeliveries)
}

func (s *Service) observeBacklog(ctx context.Context) {
	var oldest time.Time
	var n int
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		oldest, n, err = tx.WebhookBacklog(ctx)
		return err
	})
	if err != nil {
		return
	}
	var age time.Duration
	if !oldest.IsZero() {
		age = max(0, s.now().Sub(oldest))
	}
	s.Webhooks.ObserveBacklog(age, n)
}

// DeliverWebhooksOnce fans out everything waiting and sends what is due,
// waiting for every POST: for tests and one-off runs.
func (s *Service) DeliverWebhooksOnce(ctx context.Context) error {
	if _, err := s.fanOutAll(ctx); err != nil {
		return err
	}
	w := s.newWebhookWorker()
	err := w.dispatch(ctx)
	w.wg.Wait()
	return err
}

func (s *Service) newWebhookWorker() *webhookWorker {
	w := &webhookWorker{s: s, busy: map[string]int{}, slots: map[string]chan struct{}{}, woken: make(chan struct{}, 1)}
	w.client = map[bool]*http.Client{true: s.webhookClient(true), false: s.webhookClient(false)}
	return w
}

// dispatch claims and starts the due deliveries of each endpoint with
// free slots.
func (w *webhookWorker) dispatch(ctx context.Context) error {
	s := w.s
	var endpoints []gateway.WebhookEndpoint
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		endpoints, err = tx.WebhookEndpoints(ctx, "")
		return err
	})
	if err != nil || len(endpoints) == 0 {
		return err
	}
	type claim struct {
		endpoint gateway.WebhookEndpoint
		free     int
	}
	var claims []claim
	w.mu.Lock()
	for _, e := range endpoints {
		most := claimAhead * s.Webhooks.concurrency()
		if busy := w.busy[e.ID]; e.Enabled && busy <= most/2 {
			claims = append(claims, claim{e, most - busy})
		}
	}
	w.mu.Unlock()
	if len(claims) == 0 {
		return nil
	}
	now := s.now()
	lease := now.Add(s.Webhooks.lease())
	claimed := map[string][]gateway.WebhookDelivery{}
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		clear(claimed)
		for _, c := range claims {
			ds, err := tx.ClaimWebhookDeliveries(ctx, c.endpoint.ID, now, lease, c.free)
			if err != nil {
				return err
			}
			if len(ds) > 0 {
				claimed[c.endpoint.ID] = ds
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	bodies, err := s.renderDeliveries(ctx, claimed)
	if err != nil {
		return err // the leases end and the deliveries are due again
	}
	for _, c := range claims {
		ds := claimed[c.endpoint.ID]
		if len(ds) == 0 {
			continue
		}
		secrets, err := s.signingSecrets(c.endpoint, now)
		if err != nil {
			s.log().Error("webhook endpoint's secret does not open: its deliveries wait", "endpoint_id", c.endpoint.ID, "err", err)
			continue // the leases end and the deliveries are due again
		}
		w.mu.Lock()
		w.busy[c.endpoint.ID] += len(ds)
		slots := w.slots[c.endpoint.ID]
		if slots == nil {
			slots = make(chan struct{}, s.Webhooks.concurrency())
			w.slots[c.endpoint.ID] = slots
		}
		w.mu.Unlock()
		// The deliveries of one payment never share a claim (the later one
		// waits for the earlier), so they may go out at once.
		for _, d := range ds {
			w.wg.Add(1)
			go func() {
				defer w.wg.Done()
				slots <- struct{}{}
				w.deliver(ctx, c.endpoint, secrets, d, bodies[d.Seq], lease, w.free(c.endpoint.ID, slots))
			}()
		}
	}
	return nil
}

// renderDeliveries renders the envelopes of claimed deliveries, by seq,
// with their payments read together.
func (s *Service) renderDeliveries(ctx context.Context, claimed map[string][]gateway.WebhookDelivery) (map[int64][]byte, error) {
	if s.PaymentJSON == nil {
		return nil, gateway.Internal(errors.New("the service has no PaymentJSON to render events with"))
	}
	var ids []string
	for _, ds := range claimed {
		for _, d := range ds {
			ids = append(ids, d.PaymentID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var payments map[string]gateway.Payment
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		payments, err = tx.EventPayments(ctx, ids)
		return err
	})
	if err != nil {
		return nil, err
	}
	bodies := map[int64][]byte{}
	for _, ds := range claimed {
		for _, d := range ds {
			p, ok := payments[d.PaymentID]
			if !ok || p.AccountID != d.AccountID || p.Environment != d.Environment {
				return nil, gateway.Internal(fmt.Errorf("the payment %s of event %s was not found", d.PaymentID, d.EventID))
			}
			bodies[d.Seq] = s.eventBody(d, p)
		}
	}
	return bodies, nil
}

// free returns what gives back one of an endpoint's slots and wakes the
// worker to fill it, once.
func (w *webhookWorker) free(endpointID string, slots chan struct{}) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			<-slots
			w.mu.Lock()
			w.busy[endpointID]--
			w.mu.Unlock()
			select {
			case w.woken <- struct{}{}:
			default:
			}
		})
	}
}

// signingSecrets are the secrets an endpoint's events are signed with now:
// its own, and during a rotation the previous one.
func (s *Service) signingSecrets(e gateway.WebhookEndpoint, now time.Time) ([]string, error) {
	secret, err := s.openWebhookSecret(e.ID, e.SealedSecret)
	if err != nil {
		return nil, err
	}
	secrets := []string{secret}
	if len(e.SealedPrevious) > 0 && now.Before(e.PreviousUntil) {
		prev, err := s.openWebhookSecret(e.ID, e.SealedPrevious)
		if err != nil {
			return nil, err
		}
		secrets = append(secrets, prev)
	}
	return secrets, nil
}

// snippetLimit bounds the part of an answer's body an attempt keeps.
const snippetLimit = 256

// deliver POSTs one delivery and records the attempt. The endpoint's slot
// is given back (done) as soon as the POST has ended, before the record
// is durable: the slot bounds the load on the endpoint, not on the store.
func (w *webhookWorker) deliver(ctx context.Context, e gateway.WebhookEndpoint, secrets []string, d gateway.WebhookDelivery, body []byte, lease time.Time, done func()) {
	defer done()
	s := w.s
	// An attempt under way finishes (within the timeout) when the server
	// stops, so that it is recorded rather than sent again later.
	ctx = context.WithoutCancel(ctx)
	started := time.Now()
	a := gateway.WebhookAttempt{At: s.now()}
	status, snippet, err := w.post(ctx, e, secrets, d.EventID, body)
	latency := time.Since(started)
	done()
	a.Status, a.Snippet, a.Latency = status, snippet, latency.Milliseconds()
	if err != nil {
		a.Error = attemptError(err)
	}
	now := s.now()
	d.Attempts = append(d.Attempts, a)
	if len(d.Attempts) > gateway.MaxWebhookAttemptsKept {
		d.Attempts = d.Attempts[len(d.Attempts)-gateway.MaxWebhookAttemptsKept:]
	}
	outcome := "delivered"
	switch next := now.Add(retryDelay(len(d.Attempts))); {
	case err == nil && status >= 200 && status < 300:
		d.Status, d.DeliveredAt, d.NextAttemptAt = gateway.DeliveryDelivered, now, now
	case next.After(d.GiveUpAt):
		d.Status, d.NextAttemptAt, outcome = gateway.DeliveryFailed, now, "failed"
	default:
		d.Status, d.NextAttemptAt, outcome = gateway.DeliveryPending, next, "retry"
	}
	w.record(ctx, attemptRecord{d: d, lease: lease})
	if s.Webhooks.Observe != nil {
		s.Webhooks.Observe(outcome, latency)
	}
	if outcome != "delivered" {
		s.log().Info("webhook attempt failed", "event_id", d.EventID, "endpoint_id", e.ID, "status", status,
			"error", a.Error, "outcome", outcome, "next_attempt_at", d.NextAttemptAt)
	}
}

// attemptRecord is a delivery after an attempt, to be written if its
// lease is still the one it was claimed with.
type attemptRecord struct {
	d     gateway.WebhookDelivery
	lease time.Time
}

// record writes r with every other attempt waiting, in one transaction,
// unless another goroutine is writing: then that one takes r into its
// next batch. It returns once r is written or handed over; the worker's
// WaitGroup covers the writer until nothing waits.
func (w *webhookWorker) record(ctx context.Context, r attemptRecord) {
	w.mu.Lock()
	w.toRecord = append(w.toRecord, r)
	if w.recording {
		w.mu.Unlock()
		return
	}
	w.recording = true
	for len(w.toRecord) > 0 {
		batch := w.toRecord
		w.toRecord = nil
		w.mu.Unlock()
		w.recordBatch(ctx, batch)
		w.mu.Lock()
	}
	w.recording = false
	w.mu.Unlock()
}

func (w *webhookWorker) recordBatch(ctx context.Context, batch []attemptRecord) {
	s := w.s
	var lost []attemptRecord
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		lost = lost[:0]
		for _, r := range batch {
			err := tx.RecordWebhookAttempt(ctx, r.d, r.lease)
			if errors.Is(err, gateway.ErrConflict) {
				lost = append(lost, r) // an UPDATE of no row: the transaction goes on
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log().Error("recording webhook attempts failed: their events will be sent again", "attempts", len(batch), "err", err)
		return
	}
	for _, r := range lost {
		s.log().Warn("a webhook attempt outlived its lease: another process may send the event again",
			"event_id", r.d.EventID, "endpoint_id", r.d.EndpointID)
	}
}

// post sends the delivery's body, signed, and returns the answer's status
// and the start of its body.
func (w *webhookWorker) post(ctx context.Context, e gateway.WebhookEndpoint, secrets []string, eventID string, body []byte) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, w.s.Webhooks.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CartGateway-Webhooks/1")
	req.Header.Set(webhook.EventIDHeader, eventID)
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(body, time.Now(), secrets...))
	refusePrivate := e.Environment == gateway.Live && !w.s.Webhooks.AllowPrivate
	resp, err := w.client[refusePrivate].Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, snippetLimit))
	// Drain a little more so that the connection can be used again; a
	// receiver that answers more is cut off.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 16<<10))
	return resp.StatusCode, validUTF8(head), nil
}

func validUTF8(b []byte) string {
	s := string(b)
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

// attemptError says briefly why an attempt got no answer.
func attemptError(err error) string {
	var refused *refusedAddressError
	switch {
	case errors.As(err, &refused):
		return refused.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// retryDelay is the wait after the n-th failed attempt: 30 s doubling up
// to 6 h, each ±20 % at random so that a recovering receiver is not hit by
// every event at once. About 20 attempts fit in WebhookRetryFor.
func retryDelay(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 6*time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// refusedAddressError: a live endpoint resolved to an address that webhooks
// may not reach.
type refusedAddressError struct{ addr string }

func (e *refusedAddressError) Error() string {
	return "refused: " + e.addr + " is a private, loopback or link-local address (serve --webhook-allow-private allows it)"
}

// webhookClient is the HTTP client of deliveries: no proxy from the
// environment, no redirects followed (a 3xx is a failed attempt), nothing
// but the event's own headers, and, when refusePrivate, a check of the
// address actually connected to, after DNS resolution: a name that
// resolves to an internal address (or is re-pointed at one, DNS
// rebinding) is refused at connect time.
func (s *Service) webhookClient(refusePrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: s.Webhooks.timeout(), KeepAlive: 30 * time.Second}
	if refusePrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicAddress(ap.Addr()) {
				return &refusedAddressError{addr: address}
			}
			return nil
		}
	}
	dial := dialer.DialContext
	per := s.Webhooks.concurrency()
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   per,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   s.Webhooks.timeout(),
			ResponseHeaderTimeout: s.Webhooks.timeout(),
			DisableCompression:    true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
