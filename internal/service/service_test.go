package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
)

// TestOneKeyReachesTheProcessorOnce: 20 concurrent charges with one
// Idempotency-Key call the processor once; every answer names the one
// payment, or says that the first request is still in progress.
func TestOneKeyReachesTheProcessorOnce(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		for _, path := range []string{"two-phase", "instant"} {
			t.Run(path, func(t *testing.T) {
				fake := newFake()
				fake.delay = 50 * time.Millisecond
				var proc gateway.Processor = fake
				if path == "instant" {
					proc = sandbox.Processor{}
				}
				h := newHarness(t, open(t), proc)
				in := input("4242424242424242", 2500)
				k := key(h, "same-key")
				var wg sync.WaitGroup
				ids := make(chan string, 20)
				inProgress := make(chan struct{}, 20)
				for range 20 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						out, err := h.svc.Charge(context.Background(), h.caller, in, k)
						switch {
						case errors.Is(err, service.ErrIdempotencyKeyInProgress):
							inProgress <- struct{}{}
						case err != nil:
							t.Errorf("charge: %v", err)
						default:
							ids <- out.Payment.ID
						}
					}()
				}
				wg.Wait()
				close(ids)
				seen := map[string]bool{}
				for id := range ids {
					seen[id] = true
				}
				if len(seen) != 1 {
					t.Fatalf("the answers name %d payments: %v", len(seen), seen)
				}
				if path == "two-phase" && fake.n("charge") != 1 {
					t.Fatalf("the processor was asked %d times", fake.n("charge"))
				}
				if n := len(h.payments(t)); n != 1 {
					t.Fatalf("%d payments stored; want 1", n)
				}
				// Once the first has finished, a retry replays it.
				out, err := h.svc.Charge(context.Background(), h.caller, in, k)
				if err != nil || !out.Replayed || !seen[out.Payment.ID] {
					t.Fatalf("retry: %+v, %v; want a replay of the one payment", out, err)
				}
				if out.Transaction.RequestID != "req_first" {
					t.Errorf("the replay carries request id %q; want the first request's", out.Transaction.RequestID)
				}
			})
		}
	})
}

// TestLostCompareAndSetNeverAsksTheProcessorAgain: every write of the
// operation loses races at first; the processor is still asked once per
// operation, on both paths.
func TestLostCompareAndSetNeverAsksTheProcessorAgain(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		fake := newFake()
		store := &conflictingStore{Store: open(t)}
		h := newHarness(t, store, fake)
		charge, err := h.svc.Charge(context.Background(), h.caller, input("4242424242424242", 5000), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			store.left.Store(3) // the claim loses three times (the finish would too, if it came first)
			out, err := h.svc.Refund(context.Background(), h.caller, charge.Payment.ID, 100, nil)
			if err != nil {
				t.Fatalf("refund %d: %v", i, err)
			}
			store.left.Store(2) // and the finish twice
			if out.Payment.RefundedAmount != int64(100*(i+1)) {
				t.Fatalf("refund %d: refunded %d", i, out.Payment.RefundedAmount)
			}
		}
		if fake.n("refund") != 3 || fake.maxPerReference() != 1 {
			t.Fatalf("3 refunds asked the processor %d times (at most %d per reference)", fake.n("refund"), fake.maxPerReference())
		}
		// The finish's own races: the claim goes through, the finish loses.
		store.left.Store(0)
		fake.mu.Lock()
		fake.entered = make(chan string, 1)
		fake.mu.Unlock()
		done := make(chan error, 1)
		go func() {
			_, err := h.svc.Refund(context.Background(), h.caller, charge.Payment.ID, 100, nil)
			done <- err
		}()
		<-fake.entered
		store.left.Store(3)
		if err := <-done; err != nil {
			t.Fatalf("refund with a racing finish: %v", err)
		}
		if fake.n("refund") != 4 || fake.maxPerReference() != 1 {
			t.Fatalf("the finish's retries asked the processor again: %d calls, %d for one reference", fake.n("refund"), fake.maxPerReference())
		}
		if p := h.lookup(t, charge.Payment.ID); p.RefundedAmount != 400 || p.InFlight != 0 {
			t.Fatalf("after 4 refunds of 100: refunded %d, in flight %d", p.RefundedAmount, p.InFlight)
		}
	})
}

// TestSlowProcessorDoesNotStallOthers: while one charge waits for its
// processor, other charges (another account's) go through.
func TestSlowProcessorDoesNotStallOthers(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		store := open(t)
		// The sandbox with a slow card that never answers until released.
		release := make(chan struct{})
		slow := &gatedSandbox{gate: release}
		h := newHarness(t, store, slow)
		other, _, err := h.svc.CreateAccount(context.Background(), service.NewAccount{Name: "Other", Environment: gateway.Sandbox})
		if err != nil {
			t.Fatal(err)
		}
		otherCaller := service.Caller{Account: other, Environment: gateway.Sandbox, RequestID: "req_other", Actor: "key:O"}
		slowDone := make(chan error, 1)
		go func() {
			_, err := h.svc.Charge(context.Background(), h.caller, input(sandbox.SlowCard, 2500), nil)
			slowDone <- err
		}()
		<-slow.entered()
		for i := range 50 {
			if _, err := h.svc.Charge(context.Background(), otherCaller, input("4242424242424242", 1000+int64(i)), nil); err != nil {
				t.Fatalf("charge %d of the other account: %v", i, err)
			}
		}
		select {
		case err := <-slowDone:
			t.Fatalf("the slow charge finished before it was released: %v", err)
		default:
		}
		// Meanwhile its payment shows pending.
		pending := h.payments(t)
		if len(pending) != 1 || pending[0].Status != gateway.StatusPending {
			t.Fatalf("the slow charge's payment: %+v; want one pending payment", pending)
		}
		close(release)
		if err := <-slowDone; err != nil {
			t.Fatalf("slow charge: %v", err)
		}
		if p := h.lookup(t, pending[0].ID); p.Status != gateway.StatusCaptured || p.InFlight != 0 {
			t.Fatalf("after the answer: %s with %d in flight; want captured", p.Status, p.InFlight)
		}
	})
}

// gatedSandbox is the sandbox whose slow card waits for a gate instead of
// a delay.
type gatedSandbox struct {
	gate chan struct{}
	once sync.Once
	in   chan struct{}
}

func (g *gatedSandbox) entered() chan struct{} {
	g.once.Do(func() { g.in = make(chan struct{}) })
	return g.in
}

func (g *gatedSandbox) Authorize(ctx context.Context, r gateway.AuthorizationRequest) (gateway.AuthorizationResult, error) {
	if r.CardNumber == sandbox.SlowCard {
		close(g.entered())
		<-g.gate
	}
	res, _, err := sandbox.Processor{}.InstantAuthorize(gateway.AuthorizationRequest{CardNumber: "4242424242424242", Zip: r.Zip, CVV: r.CVV})
	return res, err
}
func (g *gatedSandbox) InstantAuthorize(r gateway.AuthorizationRequest) (gateway.AuthorizationResult, bool, error) {
	return sandbox.Processor{}.InstantAuthorize(r)
}
func (g *gatedSandbox) InstantChange(r gateway.ChangeRequest) (bool, error) {
	return sandbox.Processor{}.InstantChange(r)
}
func (g *gatedSandbox) Capture(context.Context, gateway.ChangeRequest) error { return nil }
func (g *gatedSandbox) Refund(context.Context, gateway.ChangeRequest) error  { return nil }
func (g *gatedSandbox) Void(context.Context, gateway.ChangeRequest) error    { return nil }
func (g *gatedSandbox) Resolve(ctx context.Context, r gateway.ResolveRequest) (gateway.Resolution, error) {
	return sandbox.Processor{}.Resolve(ctx, r)
}
func (g *gatedSandbox) Reverse(context.Context, gateway.ResolveRequest) error { return nil }

// TestUnknownOutcomeIsReconciled: a processor call whose outcome is unknown
// leaves the operation pending; the key answers "in progress"; the
// reconciler, once the lease has ended, asks the processor and finishes it;
// the key then replays the final answer.
func TestUnknownOutcomeIsReconciled(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		fake := newFake()
		h := newHarness(t, open(t), fake)
		ctx := context.Background()

		fake.fail[gateway.OpCharge] = errUnknownOutcome
		k := key(h, "charge-1")
		in := input("4242424242424242", 2500)
		out, err := h.svc.Charge(ctx, h.caller, in, k)
		wantCode(t, "charge with an unknown outcome", err, gateway.ErrProcessorTimeout.Code)
		id := out.Payment.ID
		if e := gateway.AsError(err); e.Payment == nil || e.Payment.ID != id {
			t.Fatalf("the timeout answer does not name the pending payment: %+v", e)
		}
		if p := h.lookup(t, id); p.Status != gateway.StatusPending || p.Transactions[0].Result != gateway.ResultPending {
			t.Fatalf("lookup: %s / %s; want pending", p.Status, p.Transactions[0].Result)
		}
		_, err = h.svc.Charge(ctx, h.caller, in, k)
		if !errors.Is(err, service.ErrIdempotencyKeyInProgress) {
			t.Fatalf("retry while pending: %v; want in progress", err)
		}
		_, err = h.svc.Capture(ctx, h.caller, id, 100, nil)
		wantCode(t, "capture of a pending payment", err, "payment-operation-in-progress")

		// Before the lease ends the reconciler leaves it to its claimant.
		if n, err := h.svc.Reconcile(ctx); n != 0 || err != nil {
			t.Fatalf("Reconcile before the lease ended: %d, %v", n, err)
		}
		h.clock.advance(time.Minute)
		if n, err := h.svc.Reconcile(ctx); n != 1 || err != nil {
			t.Fatalf("Reconcile: %d, %v", n, err)
		}
		if fake.n("resolve") != 1 || fake.n("charge") != 1 {
			t.Fatalf("calls: %v; want one charge and one resolve", fake.calls)
		}
		p := h.lookup(t, id)
		if p.Status != gateway.StatusCaptured || p.CapturedAmount != 2500 || p.InFlight != 0 {
			t.Fatalf("reconciled payment: %s captured %d in flight %d", p.Status, p.CapturedAmount, p.InFlight)
		}
		out, err = h.svc.Charge(ctx, h.caller, in, k)
		if err != nil || !out.Replayed || out.Payment.ID != id {
			t.Fatalf("retry after reconciling: %+v, %v; want the replay", out, err)
		}
		// The reconciler does nothing twice.
		if n, err := h.svc.Reconcile(ctx); n != 0 || err != nil {
			t.Fatalf("Reconcile again: %d, %v", n, err)
		}

		// A refund with an unknown outcome, at a processor that cannot
		// tell: reversed and recorded as not done, giving the amount back.
		fake.fail[gateway.OpRefund] = errUnknownOutcome
		fake.unresolvable = true
		_, err = h.svc.Refund(ctx, h.caller, id, 1000, nil)
		wantCode(t, "refund with an unknown outcome", err, gateway.ErrProcessorTimeout.Code)
		if p := h.lookup(t, id); p.RefundedAmount != 1000 || p.InFlight != 1 {
			t.Fatalf("pending refund: refunded %d (held), in flight %d", p.RefundedAmount, p.InFlight)
		}
		// Another refund may stack on it; a void may not.
		_, err = h.svc.Void(ctx, h.caller, id, nil)
		wantCode(t, "void during a pending refund", err, "payment-operation-in-progress")
		h.clock.advance(time.Minute)
		if n, err := h.svc.Reconcile(ctx); n != 1 || err != nil {
			t.Fatalf("Reconcile the refund: %d, %v", n, err)
		}
		if fake.n("reverse") != 1 {
			t.Fatalf("the unresolvable refund was not reversed: %v", fake.calls)
		}
		p = h.lookup(t, id)
		if p.RefundedAmount != 0 || p.InFlight != 0 || p.Status != gateway.StatusCaptured {
			t.Fatalf("after the reversed refund: %s refunded %d in flight %d", p.Status, p.RefundedAmount, p.InFlight)
		}
		last := p.Transactions[len(p.Transactions)-1]
		if last.Operation != gateway.OpRefund || last.Result != gateway.ResultError {
			t.Fatalf("the refund is recorded as %s/%s; want refund/error", last.Operation, last.Result)
		}
	})
}

// TestDefiniteFailuresGiveBack: a processor that says it did nothing gets
// the operation recorded as failed at once, and what the claim held back.
func TestDefiniteFailuresGiveBack(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		fake := newFake()
		h := newHarness(t, open(t), fake)
		ctx := context.Background()
		auth, err := h.svc.Authorize(ctx, h.caller, input("4242424242424242", 3000), nil)
		if err != nil {
			t.Fatal(err)
		}
		id := auth.Payment.ID
		for _, op := range []gateway.Operation{gateway.OpCapture, gateway.OpVoid} {
			fake.fail[op] = gateway.ErrProcessor
		}
		_, err = h.svc.Capture(ctx, h.caller, id, 3000, nil)
		wantCode(t, "capture", err, gateway.ErrProcessor.Code)
		_, err = h.svc.Void(ctx, h.caller, id, nil)
		wantCode(t, "void", err, gateway.ErrProcessor.Code)
		p := h.lookup(t, id)
		if p.Status != gateway.StatusAuthorized || p.CapturedAmount != 0 || p.InFlight != 0 {
			t.Fatalf("after failed capture and void: %s captured %d in flight %d", p.Status, p.CapturedAmount, p.InFlight)
		}
		delete(fake.fail, gateway.OpCapture)
		if _, err := h.svc.Capture(ctx, h.caller, id, 3000, nil); err != nil {
			t.Fatalf("capture after the failures: %v", err)
		}
		fake.fail[gateway.OpCharge] = gateway.ErrProcessor
		_, err = h.svc.Charge(ctx, h.caller, input("4242424242424242", 3000), nil)
		wantCode(t, "charge", err, gateway.ErrProcessor.Code)
		if e := gateway.AsError(err); e.Payment == nil || e.Payment.Status != gateway.StatusFailed {
			t.Fatalf("failed charge: %+v", e.Payment)
		}
	})
}

// TestPendingRefundsHoldTheirAmounts: refunds in flight at once cannot
// together refund more than was captured.
func TestPendingRefundsHoldTheirAmounts(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		fake := newFake()
		h := newHarness(t, open(t), fake)
		ctx := context.Background()
		charge, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 1000), nil)
		if err != nil {
			t.Fatal(err)
		}
		fake.gate = make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		approved, refused := 0, 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := h.svc.Refund(ctx, h.caller, charge.Payment.ID, 300, nil)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					approved++
				case gateway.AsError(err).Code == "refund-exceeds-captured":
					refused++
				default:
					t.Errorf("refund: %v", err)
				}
			}()
		}
		// Three claims hold 900; the others are refused without waiting.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			r := refused
			mu.Unlock()
			if r == 5 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if p := h.lookup(t, charge.Payment.ID); p.RefundedAmount != 900 || p.InFlight != 3 || p.InFlightOp != gateway.OpRefund {
			t.Fatalf("while in flight: refunded %d, %d in flight (%s)", p.RefundedAmount, p.InFlight, p.InFlightOp)
		}
		close(fake.gate)
		wg.Wait()
		if approved != 3 || refused != 5 {
			t.Fatalf("%d approved, %d refused; want 3 and 5", approved, refused)
		}
		if p := h.lookup(t, charge.Payment.ID); p.RefundedAmount != 900 || p.InFlight != 0 {
			t.Fatalf("after: refunded %d, %d in flight", p.RefundedAmount, p.InFlight)
		}
	})
}

// TestIdempotencyKeys: a key reused with another request is refused; a
// refused request keeps nothing, so its key can be used again; replays
// carry the first request's id; expired keys are purged.
func TestIdempotencyKeys(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		h := newHarness(t, open(t), sandbox.Processor{})
		ctx := context.Background()
		k := key(h, "k1")
		out, err := h.svc.Charge(ctx, h.caller, input("4000000000000002", 2500), k)
		wantCode(t, "declined charge", err, "card-declined")
		other := *k
		other.Hash = h.svc.RequestHash("/payment/other", nil)
		_, err = h.svc.Charge(ctx, h.caller, input("4242424242424242", 2500), &other)
		if !errors.Is(err, service.ErrIdempotencyKeyReused) {
			t.Fatalf("another request with the key: %v", err)
		}
		later := h.caller
		later.RequestID = "req_later"
		replay, err := h.svc.Charge(ctx, later, input("4000000000000002", 2500), k)
		wantCode(t, "replayed decline", err, "card-declined")
		if !replay.Replayed || replay.Payment.ID != out.Payment.ID || replay.Transaction.RequestID != "req_first" {
			t.Fatalf("replay: %+v", replay)
		}
		// A refusal (the money rules) keeps nothing.
		k2 := key(h, "k2")
		_, err = h.svc.Refund(ctx, h.caller, out.Payment.ID, 100, k2)
		wantCode(t, "refund of a declined payment", err, "payment-not-approved")
		ok, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 2500), k2)
		if err != nil || ok.Replayed {
			t.Fatalf("the key of a refused request, used again: %+v, %v", ok, err)
		}
		// Retention.
		h.clock.advance(23 * time.Hour)
		if n, err := h.svc.PurgeIdempotencyRecords(ctx); n != 0 || err != nil {
			t.Fatalf("purge within the retention: %d, %v", n, err)
		}
		h.clock.advance(2 * time.Hour)
		if n, err := h.svc.PurgeIdempotencyRecords(ctx); n != 2 || err != nil {
			t.Fatalf("purge after the retention: %d, %v; want 2", n, err)
		}
		again, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 2500), k)
		if err != nil || again.Replayed {
			t.Fatalf("an expired key is new again: %+v, %v", again, err)
		}
	})
}

// TestInstantPathRecordsWhatTwoPhaseRecords: the sandbox's one-transaction
// path and the two-phase path (the same sandbox with its instant answers
// hidden) give the same answers, rows and ledger events for the same
// operations. Ids, times and versions differ; nothing else may.
func TestInstantPathRecordsWhatTwoPhaseRecords(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		instant := runScript(t, newHarness(t, open(t), sandbox.Processor{}))
		twoPhase := runScript(t, newHarness(t, open(t), twoPhaseSandbox{}))
		if len(instant) != len(twoPhase) {
			t.Fatalf("%d observations against %d", len(instant), len(twoPhase))
		}
		if testing.Verbose() {
			t.Logf("observations:\n%s", strings.Join(instant, "\n"))
		}
		for i := range instant {
			if instant[i] != twoPhase[i] {
				t.Errorf("observation %d differs:\n instant:   %s\n two-phase: %s", i, instant[i], twoPhase[i])
			}
		}
	})
}

// runScript runs a fixed series of operations and describes, without ids
// or times, every answer and then every row and ledger event they left.
func runScript(t *testing.T, h *harness) []string {
	t.Helper()
	ctx := context.Background()
	h.svc.DuplicateWindow = 10 * time.Minute
	names := map[string]string{} // payment and transaction ids -> their order of appearance
	name := func(id string) string {
		if id == "" {
			return "-"
		}
		if _, ok := names[id]; !ok {
			names[id] = fmt.Sprintf("#%d", len(names)+1)
		}
		return names[id]
	}
	var obs []string
	pay := func(p gateway.Payment) string {
		return fmt.Sprintf("%s %s auth=%d capt=%d ref=%d avs=%s cvv=%s decline=%q inflight=%d/%s ref=%q card=%s/%s",
			name(p.ID), p.Status, p.AuthorizedAmount, p.CapturedAmount, p.RefundedAmount, p.AVSCode, p.CVVCode, p.DeclineCode,
			p.InFlight, p.InFlightOp, p.ProcessorRef, p.Card.BIN, p.Card.Last4)
	}
	txn := func(x gateway.Transaction) string {
		return fmt.Sprintf("%s of %s: %s %s %d %q actor=%s req=%s lease=%v", name(x.ID), name(x.PaymentID), x.Operation, x.Result,
			x.Amount, x.Code, x.Actor, x.RequestID, !x.LeaseUntil.IsZero())
	}
	record := func(step string, out service.Outcome, err error) {
		s := step + ": "
		if err != nil {
			e := gateway.AsError(err)
			s += fmt.Sprintf("error %d %s %q", e.Kind, e.Code, e.Message)
			if e.Payment != nil {
				s += " payment " + pay(*e.Payment)
			}
			if e.Transaction != nil {
				s += " transaction " + txn(*e.Transaction)
			}
		}
		if out.Payment.ID != "" {
			s += fmt.Sprintf(" outcome %s / %s replayed=%v", pay(out.Payment), txn(out.Transaction), out.Replayed)
		}
		obs = append(obs, s)
	}
	in := func(number string, amount int64, zip string) service.PaymentInput {
		i := input(number, amount)
		i.OrderID = fmt.Sprintf("script-%s-%d", number, amount)
		if zip != "" {
			i.Customer.Zip = zip
		}
		return i
	}
	k1 := key(h, "script-1")
	charge, err := h.svc.Charge(ctx, h.caller, in("4242424242424242", 5000, ""), k1)
	record("charge", charge, err)
	out, err := h.svc.Charge(ctx, h.caller, in("4000000000000002", 5000, ""), key(h, "script-2"))
	record("declined charge", out, err)
	out, err = h.svc.Charge(ctx, h.caller, in("4000000000000119", 5000, ""), nil)
	record("failed charge", out, err)
	auth, err := h.svc.Authorize(ctx, h.caller, in("4000000000000036", 3000, "99902"), nil)
	record("authorize", auth, err)
	out, err = h.svc.Capture(ctx, h.caller, auth.Payment.ID, 1500, key(h, "script-3"))
	record("capture", out, err)
	out, err = h.svc.Refund(ctx, h.caller, charge.Payment.ID, 500, nil)
	record("refund", out, err)
	out, err = h.svc.Refund(ctx, h.caller, auth.Payment.ID, 600, nil)
	record("refund of the capture", out, err)
	out, err = h.svc.Void(ctx, h.caller, charge.Payment.ID, nil)
	record("void after a refund", out, err)
	auth2, err := h.svc.Authorize(ctx, h.caller, in("5555555555554444", 2000, ""), nil)
	record("authorize again", auth2, err)
	out, err = h.svc.Void(ctx, h.caller, auth2.Payment.ID, key(h, "script-4"))
	record("void", out, err)
	out, err = h.svc.Charge(ctx, h.caller, in("4242424242424242", 5000, ""), k1)
	record("replayed charge", out, err)
	out, err = h.svc.Charge(ctx, h.caller, in("4000000000000002", 5000, ""), key(h, "script-2"))
	record("replayed decline", out, err)
	out, err = h.svc.Charge(ctx, h.caller, in("4242424242424242", 5000, ""), nil)
	record("duplicate", out, err)
	name(charge.Payment.ID)

	rows := h.payments(t)
	slices.SortFunc(rows, func(a, b gateway.Payment) int { return strings.Compare(name(a.ID), name(b.ID)) })
	final := 0
	for _, p := range rows {
		full := h.lookup(t, p.ID)
		obs = append(obs, "row "+pay(full))
		for _, x := range full.Transactions {
			obs = append(obs, "  "+txn(x))
			if x.Result != gateway.ResultPending {
				final++
			}
		}
	}
	// The ledger may withhold rows a while (PostgreSQL, while an older
	// transaction of the cluster runs): wait until it shows every final one.
	var events []gateway.LedgerEntry
	for deadline := time.Now().Add(10 * time.Second); len(events) < final && time.Now().Before(deadline); {
		err := h.svc.Store.View(ctx, func(tx gateway.ReadTx) error {
			var err error
			events, err = tx.LedgerAfter(ctx, gateway.LedgerPosition{}, 1000)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) < final {
			time.Sleep(10 * time.Millisecond)
		}
	}
	err = h.svc.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		for _, e := range events {
			obs = append(obs, "event "+txn(e.Transaction))
		}
		for _, k := range []string{"script-1", "script-2", "script-3", "script-4"} {
			r, err := tx.IdempotencyRecord(ctx, h.caller.Account.ID, gateway.Sandbox, k)
			obs = append(obs, fmt.Sprintf("key %s -> %s (%v)", k, name(r.TransactionID), err))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range obs { // ids inside messages
		for id, n := range names {
			obs[i] = strings.ReplaceAll(obs[i], id, n)
		}
	}
	return obs
}
