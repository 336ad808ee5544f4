package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/processor/stripe/stripetest"
)

// writeKey writes a processor secret key to a file of the test's own.
func writeKey(t *testing.T, name, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// storedBytes is everything a SQLite database holds, with its WAL.
func storedBytes(t *testing.T, db string) []byte {
	t.Helper()
	var out []byte
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(db + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// TestProcessorCommands: set-processor and rotate-processor-key store the
// secret key encrypted, print and log only its last 4 characters, and
// refuse what is wrong with a message naming it.
func TestProcessorCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gw.db")
	runCmd(t, "accounts", "create", "--db", db, "--name", "Live shop", "--id", "4242", "--environment", "live")
	runCmd(t, "accounts", "create", "--db", db, "--name", "Other", "--id", "4343")
	const first, second = "sk_live_firstSecretKey1234abcd", "rk_live_secondSecretKey5678wxyz"

	out := runCmd(t, "accounts", "set-processor", "--db", db, "--account", "4242", "--processor", "stripe",
		"--secret-key-file", writeKey(t, "k1", first))
	for _, want := range []string{"account_id: 4242", "processor: stripe", "secret_key: …abcd (stored encrypted)", "api_base: (the processor's own)"} {
		if !strings.Contains(out, want) {
			t.Errorf("set-processor output lacks %q:\n%s", want, out)
		}
	}
	out = runCmd(t, "accounts", "rotate-processor-key", "--db", db, "--account", "4242", "--secret-key-file", writeKey(t, "k2", second))
	if !strings.Contains(out, "secret_key: …wxyz") || !strings.Contains(out, "processor: stripe") {
		t.Errorf("rotate-processor-key output:\n%s", out)
	}
	audit := runCmd(t, "audit", "--db", db)
	if !strings.Contains(audit, "processor.set") || !strings.Contains(audit, "processor.secret_rotated") || !strings.Contains(audit, "secret_hint=wxyz") {
		t.Errorf("audit lacks the processor changes:\n%s", audit)
	}
	stored := storedBytes(t, db)
	for _, secret := range []string{first, second, "firstSecretKey", "secondSecretKey"} {
		if bytes.Contains(stored, []byte(secret)) || strings.Contains(out+audit, secret) {
			t.Errorf("the secret key %s is in the database or an output", secret)
		}
	}

	keyFile := writeKey(t, "k3", first)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--account", "4242", "--processor", "stripe", "--secret-key-file", writeKey(t, "pk", "pk_live_publishableKey123456")}, "publishable key"},
		{[]string{"--account", "4242", "--processor", "stripe", "--secret-key-file", writeKey(t, "bad", "hello")}, "starts with sk_live_"},
		{[]string{"--account", "4242", "--processor", "stripe", "--secret-key-file", writeKey(t, "empty", " \n")}, "is empty"},
		{[]string{"--account", "4242", "--processor", "paypal", "--secret-key-file", keyFile}, `no processor "paypal"; this build has: stripe`},
		{[]string{"--account", "4242", "--processor", "stripe", "--secret-key-file", keyFile, "--api-base", "http://stripe.example.com"}, "https URL"},
		{[]string{"--account", "4242", "--processor", "stripe", "--secret-key-file", keyFile, "--api-base", "https://user:pw@api.example.com"}, "https URL"},
		{[]string{"--account", "9999", "--processor", "stripe", "--secret-key-file", keyFile}, "there is no account 9999"},
		{[]string{"--account", "4242", "--processor", "stripe", "--secret-key-file", filepath.Join(t.TempDir(), "nosuch")}, "nosuch"},
		{[]string{"--account", "4242", "--processor", "stripe"}, "missing flags: --secret-key-file"},
	} {
		got := runErr(t, append([]string{"accounts", "set-processor", "--db", db}, tc.args...)...)
		if !strings.Contains(got, tc.want) {
			t.Errorf("set-processor %s: %s\nwant it to say %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	if got := runErr(t, "accounts", "rotate-processor-key", "--db", db, "--account", "4343", "--secret-key-file", keyFile); !strings.Contains(got, "has no live processor") {
		t.Errorf("rotate without a processor: %s", got)
	}
	// The refusals changed nothing: the rotated key is still the one.
	out = runCmd(t, "accounts", "set-processor", "--db", db, "--account", "4242", "--processor", "stripe",
		"--secret-key-file", keyFile, "--api-base", "http://127.0.0.1:1")
	if !strings.Contains(out, "api_base: http://127.0.0.1:1") {
		t.Errorf("set-processor with a loopback API base:\n%s", out)
	}
}

// TestLiveChargeThroughServe: an operator configures Stripe with the
// command line, and "cartgateway serve" charges a live key's payment at
// Stripe (stripe-mock behind the test Fake) with the key it decrypted.
func TestLiveChargeThroughServe(t *testing.T) {
	mock, err := stripetest.StartMock()
	if err != nil {
		if stripetest.Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer mock.Stop()
	fake := stripetest.NewFake(mock.URL)
	defer fake.Close()

	db := filepath.Join(t.TempDir(), "gw.db")
	out := runCmd(t, "accounts", "create", "--db", db, "--name", "Live shop", "--id", "4242", "--environment", "live")
	key := regexp.MustCompile(`private_key: (\S+)`).FindStringSubmatch(out)[1]
	runCmd(t, "accounts", "set-processor", "--db", db, "--account", "4242", "--processor", "stripe",
		"--secret-key-file", writeKey(t, "k", "sk_test_serveTestKey0000"), "--api-base", fake.URL)
	addr := freeAddr(t)
	_, logs := serveInProcess(t, "--db", db, "--addr", addr)
	url := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	body := `{"firstname":"Ada","lastname":"Lovelace","email":"ada@example.com","address":"6 Pheasant Run","zip":"07733","country":"US",` +
		`"amount":2500,"card_number":"4242424242424242","card_cvv":"123","card_expiry_month":10,"card_expiry_year":2031,"order_id":"live-1"}`
	got := post(t, url+"/payment/charge", "4242", key, body)
	if got["success"] != float64(1) || got["avs_code"] != "Y" {
		t.Fatalf("live charge: %v", got)
	}
	intents := fake.Intents()
	if len(intents) != 1 || intents[0].Status != "succeeded" || intents[0].AmountReceived != 2500 || intents[0].Reference != got["id"] {
		t.Errorf("at Stripe: %+v", intents)
	}
	if strings.Contains(logs.String(), "sk_test_serveTestKey0000") {
		t.Error("serve logged the Stripe secret key")
	}
}
