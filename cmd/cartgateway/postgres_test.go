package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/client"
	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/pgtest"
)

const (
	testAccount = "7769"
	testKey     = "05bea34479dd7fc488c1ce774400e9a0bfea02b1"
	testSecret  = "test-secret-0123456789abcdef0123456789abcdef"
)

// buildBinary builds cartgateway once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cartgateway-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "cartgateway")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// gatewayProcess is a "cartgateway serve" child process.
type gatewayProcess struct {
	url string
	cmd *exec.Cmd
	log *apitest.LogBuffer
}

func startProcess(t *testing.T, db string) *gatewayProcess {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary(t), "serve", "--db", db, "--addr", addr, "--settle-at", "off", "--duplicate-window", "10m")
	cmd.Env = append(os.Environ(), "CARTGATEWAY_SECRET="+testSecret)
	p := &gatewayProcess{url: "http://" + addr, cmd: cmd, log: &apitest.LogBuffer{}}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := http.Get(p.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not start:\n%s", p.log.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

type answer struct {
	status int
	raw    string
	body   map[string]any
}

func (a answer) str(k string) string { s, _ := a.body[k].(string); return s }

func call(t *testing.T, base, path, body string, headers ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("CARTGATEWAY-ACCOUNT-ID", testAccount)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := apitest.ContractClient(t, nil).Do(req)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return answer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Errorf("%s: answer %d is not JSON: %q", path, resp.StatusCode, raw)
	}
	return a
}

// testClient is the Go client as the test account, its exchanges checked
// against the OpenAPI document.
func testClient(t *testing.T, url string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: url, AccountID: testAccount, PrivateKey: testKey, HTTPClient: apitest.ContractClient(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testPayment is paymentBody for the Go client.
func testPayment(card, order string, amount int64) client.PaymentRequest {
	return client.PaymentRequest{Amount: amount, OrderID: order,
		Card:     client.Card{Number: card, CVV: "123", ExpMonth: 12, ExpYear: 2040},
		Customer: client.Customer{FirstName: "Test", LastName: "User", Email: "t@example.com", Address: "1 Main St", Zip: "10001"}}
}

func paymentBody(card, order string, amount int) string {
	return fmt.Sprintf(`{"firstname":"Test","lastname":"User","email":"t@example.com","address":"1 Main St","zip":"10001",`+
		`"amount":%d,"card_number":%q,"card_cvv":"123","card_expiry_month":12,"card_expiry_year":2040,"order_id":%q}`, amount, card, order)
}

// concurrently runs n calls at once, the i-th on gateways[i%len], and returns the answers.
func concurrently(n int, fn func(i int) answer) []answer {
	out := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func countStatus(as []answer, status int) int {
	n := 0
	for _, a := range as {
		if a.status == status {
			n++
		}
	}
	return n
}

// TestTwoGatewaysOnePostgres starts two gateway processes on one PostgreSQL
// database and races captures, refunds, idempotent retries and duplicate
// charges across them: exactly the allowed ones win.
func TestTwoGatewaysOnePostgres(t *testing.T) {
	db := pgtest.URL(t)
	cmd := exec.Command(binary(t), "accounts", "create", "--db", db, "--name", "Two", "--id", testAccount, "--key", testKey)
	cmd.Env = append(os.Environ(), "CARTGATEWAY_SECRET="+testSecret)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("accounts create: %v\n%s", err, out)
	}
	gws := []*gatewayProcess{startProcess(t, db), startProcess(t, db)}
	on := func(i int) string { return gws[i%2].url }

	for round := range 3 {
		auth := call(t, on(0), "/payment/authorize", paymentBody("4242424242424242", fmt.Sprintf("cap-%d", round), 4000))
		captures := concurrently(10, func(i int) answer {
			return call(t, on(i), "/payment/capture", fmt.Sprintf(`{"authorized_payment_id":%q,"amount":4000}`, auth.str("id")))
		})
		if got := countStatus(captures, 200); got != 1 {
			t.Fatalf("round %d: %d of 10 concurrent captures across two gateways succeeded, want 1: %v", round, got, captures)
		}

		sale := call(t, on(1), "/payment/charge", paymentBody("5555555555554444", fmt.Sprintf("ref-%d", round), 4000))
		refunds := concurrently(12, func(i int) answer {
			return call(t, on(i), "/payment/refund", fmt.Sprintf(`{"payment_id":%q,"amount":1000}`, sale.str("id")))
		})
		if got := countStatus(refunds, 200); got != 4 {
			t.Fatalf("round %d: %d of 12 concurrent 1000-cent refunds of 4000 succeeded, want 4", round, got)
		}
		lookup := call(t, on(0), "/payment/lookup", fmt.Sprintf(`{"payment_id":%q}`, sale.str("id")))
		if d, _ := lookup.body["data"].(map[string]any); d["amount_refunded"] != 4000.0 {
			t.Fatalf("round %d: refunded %v, want 4000", round, d["amount_refunded"])
		}

		key := fmt.Sprintf("idem-%d", round)
		body := paymentBody("4111111111111111", fmt.Sprintf("idem-%d", round), 2500)
		retries := concurrently(10, func(i int) answer {
			return call(t, on(i), "/payment/charge", body, "Idempotency-Key", key)
		})
		for _, a := range retries {
			if a.status != 200 || a.raw != retries[0].raw {
				t.Fatalf("round %d: idempotent retries differ: %d %s vs %s", round, a.status, a.raw, retries[0].raw)
			}
		}

		dups := concurrently(8, func(i int) answer {
			amex := strings.Replace(paymentBody("378282246310005", fmt.Sprintf("dup-%d", round), 3000), `"card_cvv":"123"`, `"card_cvv":"1234"`, 1)
			return call(t, on(i), "/payment/charge", amex)
		})
		if ok, dup := countStatus(dups, 200), countStatus(dups, 409); ok != 1 || dup != 7 {
			t.Fatalf("round %d: concurrent duplicate charges: %d approved, %d refused as duplicates; want 1 and 7", round, ok, dup)
		}
	}
}

// TestPostgresOutage stops PostgreSQL under a running gateway: requests get
// a 500 JSON error (and /healthz 503), and the gateway recovers by itself
// when the database returns.
func TestPostgresOutage(t *testing.T) {
	// A cluster of its own: stopping the shared one would fail every
	// other test using it meanwhile (go test runs packages in parallel).
	cluster := pgtest.NewCluster(t)
	db := strings.Replace(cluster.URL, "/postgres?", "/outage?", 1)
	admin, err := sql.Open("pgx", cluster.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE outage"); err != nil {
		t.Fatal(err)
	}
	_ = admin.Close()
	t.Setenv("CARTGATEWAY_SECRET", testSecret) // the secret the gateway process gets
	var out bytes.Buffer
	if err := run(context.Background(), []string{"accounts", "create", "--db", db, "--name", "Outage", "--id", testAccount, "--key", testKey}, &out, &out); err != nil {
		t.Fatalf("accounts create: %v\n%s", err, out.String())
	}
	gw := startProcess(t, db)
	if a := call(t, gw.url, "/payment/charge", paymentBody("4242424242424242", "before", 1000)); a.status != 200 {
		t.Fatalf("charge before the outage: %d %s", a.status, a.raw)
	}

	cluster.Stop()
	a := call(t, gw.url, "/payment/charge", paymentBody("4242424242424242", "during", 1000))
	if a.status != 500 || !strings.HasPrefix(a.str("error"), "500 - Error.") {
		t.Fatalf("charge during the outage: want a 500 JSON error, got %d %s", a.status, a.raw)
	}
	if strings.Contains(a.raw, "connect") || strings.Contains(a.raw, "dial") {
		t.Errorf("the error leaks internals: %s", a.raw)
	}
	if resp, err := apitest.ContractClient(t, nil).Get(gw.url + "/healthz"); err != nil || resp.StatusCode != 503 {
		t.Errorf("healthz during the outage: %v %v", resp.StatusCode, err)
	}

	cluster.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := call(t, gw.url, "/payment/charge", paymentBody("4242424242424242", "after-"+time.Now().Format("150405.000"), 1000))
		if a.status == 200 {
			break
		}
		if a.status != 500 || time.Now().After(deadline) {
			t.Fatalf("after the database returned: %d %s", a.status, a.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMigrateDataToPostgres fills a SQLite file through the API, copies it
// to PostgreSQL with migrate-data, and serves the same payments from there.
func TestMigrateDataToPostgres(t *testing.T) {
	pg := pgtest.URL(t)
	dir := t.TempDir()
	lite := filepath.Join(dir, "gw.db")
	// The processes get testSecret; the database records it when the
	// account is created, and refuses any other secret from then on.
	t.Setenv("CARTGATEWAY_SECRET", testSecret)
	runCmd(t, "accounts", "create", "--db", lite, "--name", "Mover", "--id", testAccount, "--key", testKey)

	gw := startProcess(t, lite)
	// The payments are made as an integrator makes them, with the Go client;
	// lookups stay raw, to compare bytes before and after the move.
	ctx := context.Background()
	api := testClient(t, gw.url)
	var ids []string
	for i := range 6 {
		a, err := api.Authorize(ctx, testPayment("4242424242424242", fmt.Sprintf("m-%d", i), int64(1000+i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	if _, err := api.Capture(ctx, client.CaptureRequest{PaymentID: ids[0], Amount: 900}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Void(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	var declined *client.Error
	if _, err := api.Charge(ctx, testPayment("4000000000000002", "declined", 5000)); !errors.Is(err, client.ErrDeclined) || !errors.As(err, &declined) {
		t.Fatalf("the declined charge: %v", err)
	}
	ids = append(ids, declined.PaymentID)
	before := map[string]string{}
	for _, id := range ids {
		before[id] = call(t, gw.url, "/payment/lookup", fmt.Sprintf(`{"payment_id":%q}`, id)).raw
	}
	_ = gw.cmd.Process.Signal(os.Interrupt)
	_ = gw.cmd.Wait()

	runCmd(t, "accounts", "set-processor", "--db", lite, "--account", testAccount, "--processor", "stripe",
		"--secret-key-file", writeKey(t, "stripe.key", "sk_test_movedWithTheData1234"), "--api-base", "http://127.0.0.1:12111")

	runCmd(t, "users", "create", "--db", lite, "--account", testAccount, "--email", "mover@example.com", "--role", "admin")

	out := runCmd(t, "migrate-data", "--from", lite, "--to", pg)
	for _, want := range []string{"payments", "7 rows", "transactions", "users", "verified"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate-data output lacks %q:\n%s", want, out)
		}
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"migrate-data", "--from", lite, "--to", pg}, &errOut, &errOut); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("a second copy into a filled database: %v", err)
	}

	if out := runCmd(t, "users", "list", "--db", pg, "--account", testAccount); !strings.Contains(out, "mover@example.com") {
		t.Errorf("the portal user did not move: %s", out)
	}
	moved := startProcess(t, pg)
	for _, id := range ids {
		if got := call(t, moved.url, "/payment/lookup", fmt.Sprintf(`{"payment_id":%q}`, id)).raw; got != before[id] {
			t.Errorf("payment %s differs after the move:\n before %s\n after  %s", id, before[id], got)
		}
	}
	if _, err := testClient(t, moved.url).Refund(ctx, client.RefundRequest{PaymentID: ids[0], Amount: 900}); err != nil {
		t.Errorf("refund on PostgreSQL after the move: %v", err)
	}
	// The live processor's configuration moved with the data.
	out = runCmd(t, "accounts", "rotate-processor-key", "--db", pg, "--account", testAccount,
		"--secret-key-file", writeKey(t, "stripe2.key", "sk_test_rotatedAfterTheMove5678"))
	if !strings.Contains(out, "processor: stripe") || !strings.Contains(out, "api_base: http://127.0.0.1:12111") {
		t.Errorf("the processor configuration did not move:\n%s", out)
	}
}
