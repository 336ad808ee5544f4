package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/client"
	"github.com/cartgateway/cartgateway/internal/apitest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serveInProcess runs "cartgateway serve args..." in this process until the
// test ends, when it must stop cleanly within the shutdown grace period.
func serveInProcess(t *testing.T, args ...string) (stdout, stderr *apitest.LogBuffer) {
	t.Helper()
	stdout, stderr = &apitest.LogBuffer{}, &apitest.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), stdout, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(35 * time.Second):
			t.Error("serve did not shut down")
		}
	})
	return stdout, stderr
}

func runCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("cartgateway %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

func post(t *testing.T, url, account, key, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("CARTGATEWAY-ACCOUNT-ID", account)
	resp, err := apitest.ContractClient(t, nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestServeBootstrapAndShutdown runs "cartgateway serve" on an empty
// database as a newcomer would: it prints a sandbox account, answers a
// charge with that account, settles it, and shuts down gracefully.
func TestServeBootstrapAndShutdown(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "gw.db")
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr apitest.LogBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--addr", addr, "--settle-at", "off"}, &stdout, &stderr)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := regexp.MustCompile(`CARTGATEWAY-ACCOUNT-ID: (\d+)\s+Authorization: Bearer ([0-9a-f]{40})`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("serve did not print a bootstrap account:\n%s", stdout.String())
	}
	account, key := m[1], m[2]
	if strings.Contains(stderr.String(), key) {
		t.Error("the bootstrap key appears in the log")
	}
	// The first portal admin: the URL and a one-time password, which
	// signs in (to the page that asks for a new password) and is not logged.
	pm := regexp.MustCompile(`Merchant Portal: (http://\S+/portal/)\s+sign in as (\S+) with the one-time password (\S+)`).FindStringSubmatch(stdout.String())
	if pm == nil || pm[1] != "http://"+addr+"/portal/" || pm[2] != "admin@localhost" {
		t.Fatalf("serve did not print the portal and its first admin:\n%s", stdout.String())
	}
	if strings.Contains(stderr.String(), pm[3]) {
		t.Error("the one-time password appears in the log")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn, err := noRedirect.PostForm(pm[1]+"signin", url.Values{"email": {pm[2]}, "password": {pm[3]}})
	if err != nil {
		t.Fatal(err)
	}
	signIn.Body.Close()
	if signIn.StatusCode != http.StatusSeeOther || signIn.Header.Get("Location") != "/portal/signin/password" {
		t.Errorf("sign-in with the one-time password: %d to %q", signIn.StatusCode, signIn.Header.Get("Location"))
	}
	// The newcomer's first charge, through the Go client as an integrator
	// would send it.
	c, err := client.New(client.Config{BaseURL: "http://" + addr, AccountID: account, PrivateKey: key,
		Environment: "sandbox", HTTPClient: apitest.ContractClient(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	charge, err := c.Charge(context.Background(), client.PaymentRequest{Amount: 1500, OrderID: "o-1",
		Card:     client.Card{Number: "4242424242424242", CVV: "123", ExpMonth: 12, ExpYear: 2040},
		Customer: client.Customer{FirstName: "A", LastName: "B", Email: "a@example.com", Address: "1 Main St", Zip: "10001"}})
	if err != nil || charge.Message != "Approved and Completed" {
		t.Fatalf("charge: %+v, %v", charge, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no graceful stop in the log:\n%s", stderr.String())
	}

	// The settle command closes a batch with the charge, then finds nothing.
	out := runCmd(t, "settle", "--db", db)
	if !strings.Contains(out, "1 payments") || !strings.Contains(out, "15.00 USD") {
		t.Errorf("settle: %s", out)
	}
	if out := runCmd(t, "settle", "--db", db); !strings.Contains(out, "no captured payments") {
		t.Errorf("second settle: %s", out)
	}

	// Portal users from the command line.
	if out := runCmd(t, "users", "create", "--db", db, "--account", account, "--email", "Clerk@Example.com"); !regexp.MustCompile(`one_time_password: [a-z2-7]{4}-`).MatchString(out) ||
		!strings.Contains(out, "email: clerk@example.com") || !strings.Contains(out, "role: staff") {
		t.Errorf("users create: %s", out)
	}
	if out := runCmd(t, "users", "list", "--db", db, "--account", account); !strings.Contains(out, "clerk@example.com") || !strings.Contains(out, "admin@localhost") {
		t.Errorf("users list: %s", out)
	}
	if out := runCmd(t, "users", "reset", "--db", db, "--email", "clerk@example.com"); !strings.Contains(out, "one_time_password: ") {
		t.Errorf("users reset: %s", out)
	}

	info, err := os.Stat(db + ".secret")
	if err != nil {
		t.Fatalf("secret file: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", info.Mode().Perm())
	}
}

// TestAccountsCommands imports the PHP SDK's sandbox account by id and key,
// lists it, adds and revokes keys.
func TestAccountsCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gw.db")
	out := runCmd(t, "accounts", "create", "--db", db, "--name", "SDK test", "--id", "7769",
		"--key", "05bea34479dd7fc488c1ce774400e9a0bfea02b1", "--currency", "eur")
	for _, want := range []string{"account_id: 7769", "private_key: 05bea34479dd7fc488c1ce774400e9a0bfea02b1", "environment: sandbox", "currency: EUR"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	var errOut bytes.Buffer
	if err := run(context.Background(), []string{"accounts", "create", "--db", db, "--name", "again", "--id", "7769"}, &bytes.Buffer{}, &errOut); err == nil {
		t.Error("creating account 7769 twice succeeded")
	}

	out = runCmd(t, "accounts", "key-add", "--db", db, "--account", "7769", "--environment", "live")
	keyID := regexp.MustCompile(`key_id: ([A-Z0-9]{15})`).FindStringSubmatch(out)
	if keyID == nil || !strings.Contains(out, "environment: live") {
		t.Fatalf("key-add: %s", out)
	}
	list := runCmd(t, "accounts", "list", "--db", db)
	if !strings.Contains(list, "7769") || !strings.Contains(list, "…02b1") || !strings.Contains(list, keyID[1]) {
		t.Errorf("list:\n%s", list)
	}
	if strings.Contains(list, "05bea34479dd7fc488c1ce774400e9a0bfea02b1") {
		t.Error("list shows a full key")
	}
	runCmd(t, "accounts", "key-revoke", "--db", db, "--account", "7769", "--key-id", keyID[1])
	if list := runCmd(t, "accounts", "list", "--db", db); !strings.Contains(list, "revoked") {
		t.Errorf("list after revoke:\n%s", list)
	}

	// The audit log names the operator for each change.
	log := runCmd(t, "audit", "--db", db, "--account", "7769")
	for _, want := range []string{"account.created", "key.added", "key.revoked", keyID[1], cliActor()} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "05bea34479dd7fc488c1ce774400e9a0bfea02b1") {
		t.Error("the audit log shows a key")
	}
}
