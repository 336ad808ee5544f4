package service_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/pgtest"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite"
)

// fakeProcessor is a processor that leaves the process (it is not instant):
// it counts its calls per operation and per reference, and can be told to
// wait, to fail for sure, or to fail with an unknown outcome. Its answers
// are the sandbox's.
type fakeProcessor struct {
	mu      sync.Mutex
	calls   map[string]int // by operation, plus "resolve" and "reverse"
	byRef   map[string]int // Authorize/Capture/Refund/Void calls by reference
	gate    chan struct{}  // when set, calls wait until it is closed (or their context ends)
	entered chan string    // when set, each call sends its reference on entry
	delay   time.Duration
	// fail, when set, is returned by the calls it names (by operation).
	fail map[gateway.Operation]error
	// unresolvable makes Resolve answer ErrUnresolvable.
	unresolvable bool
	// resolution, when set, is Resolve's answer.
	resolution *gateway.Resolution
}

func newFake() *fakeProcessor {
	return &fakeProcessor{calls: map[string]int{}, byRef: map[string]int{}, fail: map[gateway.Operation]error{}}
}

var errUnknownOutcome = errors.New("fake: connection reset, outcome unknown")

func (f *fakeProcessor) count(op, ref string) {
	f.mu.Lock()
	f.calls[op]++
	if ref != "" {
		f.byRef[ref]++
	}
	entered := f.entered
	f.mu.Unlock()
	if entered != nil {
		entered <- ref
	}
}

func (f *fakeProcessor) wait(ctx context.Context) error {
	f.mu.Lock()
	gate, delay := f.gate, f.delay
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (f *fakeProcessor) failure(op gateway.Operation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[op]
}

func (f *fakeProcessor) Authorize(ctx context.Context, req gateway.AuthorizationRequest) (gateway.AuthorizationResult, error) {
	op := gateway.OpAuthorize
	if req.Capture {
		op = gateway.OpCharge
	}
	f.count(string(op), req.Reference)
	if err := f.wait(ctx); err != nil {
		return gateway.AuthorizationResult{}, err
	}
	if err := f.failure(op); err != nil {
		return gateway.AuthorizationResult{}, err
	}
	res, _, err := sandbox.Processor{}.InstantAuthorize(req)
	return res, err
}

func (f *fakeProcessor) change(ctx context.Context, req gateway.ChangeRequest) error {
	f.count(string(req.Operation), req.Reference)
	if err := f.wait(ctx); err != nil {
		return err
	}
	return f.failure(req.Operation)
}

func (f *fakeProcessor) Capture(ctx context.Context, req gateway.ChangeRequest) error {
	return f.change(ctx, req)
}
func (f *fakeProcessor) Refund(ctx context.Context, req gateway.ChangeRequest) error {
	return f.change(ctx, req)
}
func (f *fakeProcessor) Void(ctx context.Context, req gateway.ChangeRequest) error {
	return f.change(ctx, req)
}

func (f *fakeProcessor) Resolve(_ context.Context, req gateway.ResolveRequest) (gateway.Resolution, error) {
	f.count("resolve", "")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unresolvable {
		return gateway.Resolution{}, gateway.ErrUnresolvable
	}
	if f.resolution != nil {
		return *f.resolution, nil
	}
	return gateway.Resolution{Received: true, Authorization: gateway.AuthorizationResult{Approved: true, AVSCode: "Y", CVVCode: "M"}}, nil
}

func (f *fakeProcessor) Reverse(context.Context, gateway.ResolveRequest) error {
	f.count("reverse", "")
	return nil
}

func (f *fakeProcessor) n(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// maxPerReference is the most calls any one reference got.
func (f *fakeProcessor) maxPerReference() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := 0
	for _, n := range f.byRef {
		m = max(m, n)
	}
	return m
}

// twoPhaseSandbox is the sandbox without its instant answers: the service
// takes the two-phase path with it.
type twoPhaseSandbox struct{ p sandbox.Processor }

func (s twoPhaseSandbox) Authorize(ctx context.Context, r gateway.AuthorizationRequest) (gateway.AuthorizationResult, error) {
	return s.p.Authorize(ctx, r)
}
func (s twoPhaseSandbox) Capture(ctx context.Context, r gateway.ChangeRequest) error {
	return s.p.Capture(ctx, r)
}
func (s twoPhaseSandbox) Refund(ctx context.Context, r gateway.ChangeRequest) error {
	return s.p.Refund(ctx, r)
}
func (s twoPhaseSandbox) Void(ctx context.Context, r gateway.ChangeRequest) error {
	return s.p.Void(ctx, r)
}
func (s twoPhaseSandbox) Resolve(ctx context.Context, r gateway.ResolveRequest) (gateway.Resolution, error) {
	return s.p.Resolve(ctx, r)
}
func (s twoPhaseSandbox) Reverse(ctx context.Context, r gateway.ResolveRequest) error {
	return s.p.Reverse(ctx, r)
}

// clock is a test clock that moves only when told.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// backends runs fn once per store: SQLite, and PostgreSQL when a test
// server is configured (scripts/postgres.sh; CI always has one).
func backends(t *testing.T, fn func(t *testing.T, open func(t *testing.T) gateway.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) gateway.Store {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gateway.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, func(t *testing.T) gateway.Store {
			db, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		})
	})
}

// harness is a service on a store with one processor and a sandbox account.
type harness struct {
	svc    *service.Service
	clock  *clock
	caller service.Caller
}

func newHarness(t *testing.T, store gateway.Store, proc gateway.Processor) *harness {
	t.Helper()
	h := &harness{clock: &clock{}}
	h.svc = &service.Service{Store: store, FingerprintKey: []byte("test-key"), Now: h.clock.now,
		Processors:       map[gateway.Environment]gateway.Processor{gateway.Sandbox: proc},
		ProcessorTimeout: 2 * time.Second}
	acct, _, err := h.svc.CreateAccount(context.Background(), service.NewAccount{Name: "Shop", Environment: gateway.Sandbox})
	if err != nil {
		t.Fatal(err)
	}
	h.caller = service.Caller{Account: acct, Environment: gateway.Sandbox, RequestID: "req_first", Actor: "key:K"}
	return h
}

var orderSeq atomic.Int64

// input is a valid charge of amount with the card number, for a new order.
func input(number string, amount int64) service.PaymentInput {
	return service.PaymentInput{
		Card:    card.Input{Number: number, CVV: "123", ExpMonth: "10", ExpYear: fmt.Sprint(time.Now().Year() + 3)},
		Amount:  amount,
		OrderID: fmt.Sprintf("order-%d", orderSeq.Add(1)),
		Customer: gateway.Customer{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
			Address: "6 Pheasant Run", Zip: "07733", Country: "US"},
	}
}

func key(h *harness, k string) *service.Idempotency {
	return &service.Idempotency{Key: k, Hash: h.svc.RequestHash("/payment/x", []byte(k))}
}

func (h *harness) lookup(t *testing.T, id string) gateway.Payment {
	t.Helper()
	p, err := h.svc.Lookup(context.Background(), h.caller, id)
	if err != nil {
		t.Fatalf("lookup %s: %v", id, err)
	}
	return p
}

func (h *harness) payments(t *testing.T) []gateway.Payment {
	t.Helper()
	var out []gateway.Payment
	err := h.svc.Store.View(context.Background(), func(tx gateway.ReadTx) error {
		var err error
		out, err = tx.Payments(context.Background(), gateway.PaymentFilter{AccountID: h.caller.Account.ID,
			Environment: gateway.Sandbox, Limit: gateway.MaxPaymentPage})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if e := gateway.AsError(err); err == nil || e.Code != code {
		t.Fatalf("%s: error %v; want %s", what, err, code)
	}
}

// conflictingStore wraps a store so that the first n UpdatePayment calls
// lose their compare-and-set, as if another request had won a race.
type conflictingStore struct {
	gateway.Store
	left atomic.Int64
}

func (s *conflictingStore) Update(ctx context.Context, fn func(gateway.Tx) error) error {
	return s.Store.Update(ctx, func(tx gateway.Tx) error { return fn(conflictingTx{tx, s}) })
}

type conflictingTx struct {
	gateway.Tx
	s *conflictingStore
}

func (t conflictingTx) UpdatePayment(ctx context.Context, p gateway.Payment) error {
	if t.s.left.Add(-1) >= 0 {
		return gateway.ErrConflict
	}
	return t.Tx.UpdatePayment(ctx, p)
}
