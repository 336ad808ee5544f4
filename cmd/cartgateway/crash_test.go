package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read the store
	_ "modernc.org/sqlite"             // the "sqlite" driver, to read the store

	"github.com/cartgateway/cartgateway/internal/pgtest"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// Crash-test shape: rounds of concurrent load, each ended by a SIGKILL.
const (
	crashRounds  = 5
	crashClients = 16
	crashSeed    = 7769
)

// TestCrashSafety drives concurrent charges, authorize+captures and refunds
// with Idempotency-Keys against a gateway process, SIGKILLs it mid-load
// several times, restarts it on the same database and then proves, from the
// API and from the store, that every answered operation is there exactly
// once, that no payment breaks a money rule, and that retrying the
// interrupted requests gives one outcome each.
func TestCrashSafety(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "gw.db")
		createCrashAccount(t, db)
		runCrashSafety(t, db, func() (*sql.DB, error) {
			return sql.Open("sqlite", "file:"+(&url.URL{Path: db}).EscapedPath()+"?mode=ro")
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := pgtest.URL(t)
		createCrashAccount(t, db)
		runCrashSafety(t, db, func() (*sql.DB, error) { return sql.Open("pgx", db) })
	})
}

func createCrashAccount(t *testing.T, db string) {
	t.Helper()
	cmd := exec.Command(binary(t), "accounts", "create", "--db", db, "--name", "Crash", "--id", testAccount, "--key", testKey)
	cmd.Env = append(os.Environ(), "CARTGATEWAY_SECRET="+testSecret)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("accounts create: %v\n%s", err, out)
	}
}

// killableGateway is a "cartgateway serve" child process that the test can
// SIGKILL.
type killableGateway struct {
	url    string
	cmd    *exec.Cmd
	log    *apitest.LogBuffer
	done   chan struct{} // closed when the process has exited and been waited for
	client *http.Client
}

func startKillable(t *testing.T, db string, extra ...string) *killableGateway {
	t.Helper()
	addr := freeAddr(t)
	// No rate limits: the retries after the restart come faster than an
	// account's default rate.
	args := append([]string{"serve", "--db", db, "--addr", addr, "--settle-at", "off", "--duplicate-window", "10m",
		"--rate-ip", "0", "--rate-account", "0"}, extra...)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "CARTGATEWAY_SECRET="+testSecret)
	g := &killableGateway{
		url: "http://" + addr, cmd: cmd, log: &apitest.LogBuffer{}, done: make(chan struct{}),
		client: apitest.ContractClient(t, &http.Client{
			Timeout:   20 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 2 * crashClients, MaxConnsPerHost: 4 * crashClients},
		}),
	}
	cmd.Stdout, cmd.Stderr = g.log, g.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(g.kill)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-g.done:
			t.Fatalf("gateway exited while starting (%v):\n%s", cmd.ProcessState, g.log.String())
		default:
		}
		if resp, err := g.client.Get(g.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return g
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start:\n%s", g.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill SIGKILLs the process and waits for it. It may be called again.
func (g *killableGateway) kill() {
	_ = g.cmd.Process.Kill()
	<-g.done
	g.client.CloseIdleConnections()
}

// stop shuts the process down gracefully (SIGINT) and waits for it.
func (g *killableGateway) stop(t *testing.T) {
	t.Helper()
	_ = g.cmd.Process.Signal(os.Interrupt)
	select {
	case <-g.done:
	case <-time.After(40 * time.Second):
		t.Fatalf("gateway did not stop on SIGINT:\n%s", g.log.String())
	}
	g.client.CloseIdleConnections()
	if !g.cmd.ProcessState.Success() {
		t.Errorf("gateway stopped with %v:\n%s", g.cmd.ProcessState, g.log.String())
	}
}

// crashAnswer is what one HTTP request got: an answer, or a transport error.
type crashAnswer struct {
	status   int
	raw      string
	replayed bool
	err      error
}

func (a crashAnswer) field(k string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(a.raw), &m)
	s, _ := m[k].(string)
	return s
}

func (a crashAnswer) String() string {
	if a.err != nil {
		return "transport error: " + a.err.Error()
	}
	return fmt.Sprintf("%d replayed=%v %s", a.status, a.replayed, strings.TrimSpace(a.raw))
}

// crashOp is one logical operation: one Idempotency-Key, one endpoint, one body.
type crashOp struct {
	key, path, body string
	kind            string // charge, authorize, capture, refund
	payment         string // capture and refund: the payment it changes
	round           int
	first           crashAnswer // the answer during the load (err: interrupted)
	final           crashAnswer // the definite answer after the restart
}

// txID is the id of the transaction an approved operation created.
func (op *crashOp) txID() string { return op.final.field("id") }

// paymentID is the payment an approved operation belongs to.
func (op *crashOp) paymentID() string {
	if op.payment != "" {
		return op.payment
	}
	return op.final.field("id")
}

func (g *killableGateway) send(op *crashOp) crashAnswer {
	req, err := http.NewRequest(http.MethodPost, g.url+op.path, strings.NewReader(op.body))
	if err != nil {
		return crashAnswer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("CARTGATEWAY-ACCOUNT-ID", testAccount)
	if op.key != "" {
		req.Header.Set("Idempotency-Key", op.key)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return crashAnswer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return crashAnswer{err: err}
	}
	return crashAnswer{status: resp.StatusCode, raw: string(raw), replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
}

// crashLoad is the shared state of the load clients.
type crashLoad struct {
	t        *testing.T
	mu       sync.Mutex
	ops      []*crashOp
	captured []string // payments with captured money: refund targets
}

func (l *crashLoad) addCaptured(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.captured = append(l.captured, id)
}

// refundTarget picks one of the most recent captured payments, so that
// refunds race on the same payments.
func (l *crashLoad) refundTarget(rng *rand.Rand) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.captured)
	if n == 0 {
		return ""
	}
	return l.captured[n-1-rng.IntN(min(n, 8))]
}

// do records op and sends it on g. It returns false when the request was
// interrupted (the server is gone): the client stops for this round.
func (l *crashLoad) do(g *killableGateway, killed *atomic.Bool, op *crashOp) bool {
	l.mu.Lock()
	l.ops = append(l.ops, op)
	l.mu.Unlock()
	op.first = g.send(op)
	if op.first.err != nil {
		if !killed.Load() {
			l.t.Errorf("round %d: %s %s interrupted while the server was not killed: %v", op.round, op.path, op.key, op.first.err)
		}
		return false
	}
	if op.first.status != 200 {
		// Refusals by the money rules are expected when refunds race on one
		// payment, and lost compare-and-set races on PostgreSQL answer 409
		// conflict. Anything else is a bug.
		code := op.first.field("code")
		if !(op.kind == "refund" && code == "refund-exceeds-captured") && code != "conflict" {
			l.t.Errorf("round %d: %s %s with %s: unexpected answer %s", op.round, op.path, op.key, op.body, op.first)
		}
	}
	return true
}

var crashCards = []string{"4242424242424242", "5555555555554444", "4111111111111111", "6011111111111117"}

// client sends operations until its request is interrupted by the kill.
func (l *crashLoad) client(g *killableGateway, killed *atomic.Bool, round, c int) {
	rng := rand.New(rand.NewPCG(crashSeed, uint64(round*1000+c)))
	newOp := func(n int, kind, path, body, payment string) *crashOp {
		return &crashOp{key: fmt.Sprintf("crash-r%d-c%d-n%d-%s", round, c, n, kind), path: path, body: body, kind: kind, payment: payment, round: round}
	}
	for n := 0; ; n++ {
		card := crashCards[rng.IntN(len(crashCards))]
		order := fmt.Sprintf("crash-%d-%d-%d", round, c, n)
		amount := 200 + 100*rng.IntN(19) // 200..2000: a few 100-cent refunds use it up
		switch p := rng.IntN(10); {
		case p < 4:
			if target := l.refundTarget(rng); target != "" {
				op := newOp(n, "refund", "/payment/refund", fmt.Sprintf(`{"payment_id":%q,"amount":100}`, target), target)
				if !l.do(g, killed, op) {
					return
				}
				continue
			}
			fallthrough
		case p < 7:
			op := newOp(n, "charge", "/payment/charge", paymentBody(card, order, amount), "")
			if !l.do(g, killed, op) {
				return
			}
			if op.first.status == 200 {
				l.addCaptured(op.first.field("id"))
			}
		default:
			auth := newOp(n, "authorize", "/payment/authorize", paymentBody(card, order, amount), "")
			if !l.do(g, killed, auth) {
				return
			}
			if auth.first.status != 200 {
				continue
			}
			id := auth.first.field("id")
			capture := amount - 100*rng.IntN(amount/200+1)
			op := newOp(n, "capture", "/payment/capture", fmt.Sprintf(`{"authorized_payment_id":%q,"amount":%d}`, id, capture), id)
			if !l.do(g, killed, op) {
				return
			}
			if op.first.status == 200 {
				l.addCaptured(id)
			}
		}
	}
}

// crashTx and crashPayment are a payment as the API or the store shows it.
type crashTx struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Result string `json:"result"`
	Amount int64  `json:"amount"`
}

type crashPayment struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	AmountAuthorized int64     `json:"amount_authorized"`
	AmountCaptured   int64     `json:"amount_captured"`
	AmountRefunded   int64     `json:"amount_refunded"`
	Transactions     []crashTx `json:"transactions"`
}

// moneyProblems lists the money rules that p breaks.
func moneyProblems(p crashPayment) []string {
	var problems []string
	if p.AmountCaptured < 0 || p.AmountCaptured > p.AmountAuthorized {
		problems = append(problems, fmt.Sprintf("captured %d is not within [0, authorized %d]", p.AmountCaptured, p.AmountAuthorized))
	}
	if p.AmountRefunded < 0 || p.AmountRefunded > p.AmountCaptured {
		problems = append(problems, fmt.Sprintf("refunded %d is not within [0, captured %d]", p.AmountRefunded, p.AmountCaptured))
	}
	var refunded, captured int64
	var creates, captures int
	for _, tx := range p.Transactions {
		if tx.Result != "approved" {
			continue
		}
		switch tx.Type {
		case "authorize":
			creates++
		case "charge":
			creates++
			captures++
			captured = tx.Amount
		case "capture":
			captures++
			captured = tx.Amount
		case "refund":
			refunded += tx.Amount
		}
	}
	if creates != 1 {
		problems = append(problems, fmt.Sprintf("%d approved authorize/charge transactions, want 1", creates))
	}
	if captures > 1 {
		problems = append(problems, fmt.Sprintf("captured %d times", captures))
	}
	if captured != p.AmountCaptured {
		problems = append(problems, fmt.Sprintf("captured %d, but the capture/charge transactions say %d", p.AmountCaptured, captured))
	}
	if refunded != p.AmountRefunded {
		problems = append(problems, fmt.Sprintf("refunded %d, but the refund transactions sum to %d", p.AmountRefunded, refunded))
	}
	return problems
}

func runCrashSafety(t *testing.T, db string, openStore func() (*sql.DB, error)) {
	started := time.Now()
	rng := rand.New(rand.NewPCG(crashSeed, 1))
	load := &crashLoad{t: t}
	kills := 0

	for round := range crashRounds {
		g := startKillable(t, db)
		var killed atomic.Bool
		var wg sync.WaitGroup
		for c := range crashClients {
			wg.Go(func() { load.client(g, &killed, round, c) })
		}
		time.Sleep(time.Duration(50+rng.IntN(351)) * time.Millisecond)
		killed.Store(true)
		g.kill()
		kills++
		wg.Wait()
		if t.Failed() {
			t.Fatalf("round %d failed; server log (end):\n%s", round, logTail(g.log))
		}
	}

	// Restart and retry every operation with its key and body.
	g := startKillable(t, db)
	ops := load.ops
	var answered, interrupted, committedUnanswered, executedOnRetry, refusedOnRetry, refusedInLoad int
	var mu sync.Mutex
	var replays []*crashOp
	for _, op := range ops {
		switch {
		case op.first.err == nil && op.first.status == 200:
			answered++
			replays = append(replays, op)
		case op.first.err != nil:
			interrupted++
		default:
			refusedInLoad++
		}
	}
	// Answered 200: the retry replays the identical body.
	next := 0
	var wg sync.WaitGroup
	for range crashClients {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(replays) {
					mu.Unlock()
					return
				}
				op := replays[next]
				next++
				mu.Unlock()
				a := g.send(op)
				if a.err != nil || a.status != 200 || !a.replayed || a.raw != op.first.raw {
					t.Errorf("%s %s was answered %s; its retry got %s", op.path, op.key, op.first, a)
				}
				op.final = op.first
			}
		})
	}
	wg.Wait()
	// Interrupted or refused: the retry gives one definite outcome, and a
	// second retry gives the identical one. One at a time, so that nothing
	// changes the payment between the two.
	for _, op := range ops {
		if op.first.err == nil && op.first.status == 200 {
			continue
		}
		a1 := g.send(op)
		a2 := g.send(op)
		op.final = a1
		switch {
		case a1.err != nil || a2.err != nil:
			t.Errorf("%s %s: retries after the restart were interrupted: %s / %s", op.path, op.key, a1, a2)
		case a1.status >= 500:
			t.Errorf("%s %s (first: %s): the retry failed: %s", op.path, op.key, op.first, a1)
		case a1.status == 200:
			if a2.status != 200 || !a2.replayed || a2.raw != a1.raw {
				t.Errorf("%s %s: the retry was approved (%s) but the second retry got %s", op.path, op.key, a1, a2)
			}
			if op.first.err != nil {
				if a1.replayed {
					committedUnanswered++
				} else {
					executedOnRetry++
				}
			}
		default:
			if a1.replayed || a2.status != a1.status || a2.field("code") != a1.field("code") {
				t.Errorf("%s %s: two retries gave two outcomes: %s / %s", op.path, op.key, a1, a2)
			}
			if op.first.err != nil {
				refusedOnRetry++
			}
			if !(op.kind == "refund" && a1.field("code") == "refund-exceeds-captured") {
				t.Errorf("%s %s with %s: unexpected answer to the retry: %s", op.path, op.key, op.body, a1)
			}
		}
	}
	if t.Failed() {
		t.Fatalf("retries failed; server log (end):\n%s", logTail(g.log))
	}

	// Every approved operation, by payment and transaction id.
	approvedTx := map[string]*crashOp{} // transaction id -> operation
	byPayment := map[string][]string{}  // payment id -> approved transaction ids
	approvedKeys := map[string]bool{}   // idempotency keys with a kept answer
	for _, op := range ops {
		if op.final.status != 200 {
			continue
		}
		id, pid := op.txID(), op.paymentID()
		if id == "" || pid == "" {
			t.Fatalf("%s %s: approved without an id: %s", op.path, op.key, op.final)
		}
		if other, dup := approvedTx[id]; dup {
			t.Errorf("transaction %s answered to two operations: %s and %s", id, other.key, op.key)
		}
		approvedTx[id] = op
		byPayment[pid] = append(byPayment[pid], id)
		approvedKeys[op.key] = true
	}

	// From the API: every payment is found with each approved transaction
	// exactly once, nothing else approved, and no money rule broken.
	for pid, ids := range byPayment {
		a := g.send(&crashOp{path: "/payment/lookup", body: fmt.Sprintf(`{"payment_id":%q}`, pid)})
		if a.err != nil || a.status != 200 {
			t.Errorf("lookup %s: %s", pid, a)
			continue
		}
		var l struct {
			ID   string       `json:"id"`
			Data crashPayment `json:"data"`
		}
		if err := json.Unmarshal([]byte(a.raw), &l); err != nil || l.ID != pid || l.Data.ID != pid {
			t.Errorf("lookup %s: %v %s", pid, err, a.raw)
			continue
		}
		seen := map[string]int{}
		for _, tx := range l.Data.Transactions {
			seen[tx.ID]++
			if tx.Result == "approved" && approvedTx[tx.ID] == nil {
				t.Errorf("payment %s has approved %s transaction %s that no answer gave", pid, tx.Type, tx.ID)
			}
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("payment %s: transaction %s (%s, answered 200) appears %d times in the lookup", pid, id, approvedTx[id].key, seen[id])
			}
		}
		for _, p := range moneyProblems(l.Data) {
			t.Errorf("API: payment %s: %s\n%s", pid, p, a.raw)
		}
	}
	g.stop(t)

	// From the store.
	store, err := openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	payments := map[string]*crashPayment{}
	rows, err := store.Query(`SELECT id, status, authorized_amount, captured_amount, refunded_amount FROM payments WHERE account_id = '` + testAccount + `'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		p := &crashPayment{}
		if err := rows.Scan(&p.ID, &p.Status, &p.AmountAuthorized, &p.AmountCaptured, &p.AmountRefunded); err != nil {
			t.Fatal(err)
		}
		payments[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	storeTx := map[string]int{}
	var approvedInStore int
	rows, err = store.Query(`SELECT id, payment_id, operation, result, amount FROM transactions WHERE account_id = '` + testAccount + `'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tx crashTx
		var pid string
		if err := rows.Scan(&tx.ID, &pid, &tx.Type, &tx.Result, &tx.Amount); err != nil {
			t.Fatal(err)
		}
		storeTx[tx.ID]++
		p := payments[pid]
		if p == nil {
			t.Errorf("store: transaction %s of unknown payment %s", tx.ID, pid)
			continue
		}
		p.Transactions = append(p.Transactions, tx)
		if tx.Result != "approved" {
			t.Errorf("store: %s transaction %s is %s; the load only uses approved cards", tx.Type, tx.ID, tx.Result)
			continue
		}
		approvedInStore++
		if op := approvedTx[tx.ID]; op == nil {
			t.Errorf("store: approved %s transaction %s of payment %s was never answered", tx.Type, tx.ID, pid)
		} else if op.paymentID() != pid {
			t.Errorf("store: transaction %s (%s) belongs to payment %s, answered as %s", tx.ID, op.key, pid, op.paymentID())
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for id, op := range approvedTx {
		if storeTx[id] != 1 {
			t.Errorf("store: transaction %s (%s %s, answered 200) is stored %d times", id, op.path, op.key, storeTx[id])
		}
	}
	for _, p := range payments {
		for _, problem := range moneyProblems(*p) {
			t.Errorf("store: payment %s: %s", p.ID, problem)
		}
	}
	if len(payments) != len(byPayment) {
		t.Errorf("store: %d payments, but %d were answered", len(payments), len(byPayment))
	}
	// Each transaction is its own audit entry and event: it must name the
	// key that made it.
	var anonymous int
	if err := store.QueryRow(`SELECT COUNT(*) FROM transactions WHERE account_id = '` + testAccount + `' AND actor NOT LIKE 'key:%'`).Scan(&anonymous); err != nil {
		t.Fatal(err)
	}
	if anonymous != 0 {
		t.Errorf("store: %d of %d transactions do not name the key that made them", anonymous, approvedInStore)
	}
	var keys []string
	rows, err = store.Query(`SELECT key FROM idempotency_keys WHERE account_id = '` + testAccount + `'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(keys) != len(approvedKeys) {
		t.Errorf("store: %d idempotency keys, but %d keys got a kept (200) answer", len(keys), len(approvedKeys))
	}
	for _, k := range keys {
		if !approvedKeys[k] {
			t.Errorf("store: idempotency key %s is kept, but its answer was not approved", k)
		}
	}
	slices.Sort(keys)
	if len(slices.Compact(keys)) != len(keys) {
		t.Errorf("store: duplicate idempotency keys")
	}

	t.Logf("%d kills in %d rounds, %v: %d operations sent, %d answered 200 under load, %d refused under load, %d interrupted "+
		"(%d had committed before the kill, %d were done by the retry, %d refused by it); %d approved transactions on %d payments",
		kills, crashRounds, time.Since(started).Round(time.Millisecond), len(ops), answered, refusedInLoad, interrupted,
		committedUnanswered, executedOnRetry, refusedOnRetry, len(approvedTx), len(byPayment))
}

// logTail is the end of a server log, enough to see what went wrong.
func logTail(l *apitest.LogBuffer) string {
	s := l.String()
	if len(s) > 8000 {
		s = "…" + s[len(s)-8000:]
	}
	return s
}
