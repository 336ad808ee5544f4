package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/pgtest"
	"github.com/cartgateway/cartgateway/webhook"
)

// hookReceiver is a real HTTP endpoint counting the events answered 2xx,
// by id, after checking each signature. While hold is set it holds every
// request without answering.
type hookReceiver struct {
	*httptest.Server
	t         *testing.T
	mu        sync.Mutex
	secret    string
	delivered map[string]int // event id -> times answered 200
	requests  int
	hold      chan struct{} // closed: answer
}

func newHookReceiver(t *testing.T, holding bool) *hookReceiver {
	r := &hookReceiver{t: t, delivered: map[string]int{}, hold: make(chan struct{})}
	if !holding {
		close(r.hold)
	}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests++
		hold, secret := r.hold, r.secret
		r.mu.Unlock()
		select {
		case <-hold:
		case <-req.Context().Done(): // the gateway went away
			return
		}
		if err := webhook.Verify(body, req.Header.Get(webhook.SignatureHeader), secret, webhook.DefaultTolerance); err != nil {
			r.t.Errorf("an event does not verify: %v", err)
			w.WriteHeader(400)
			return
		}
		var ev webhook.Event
		_ = json.Unmarshal(body, &ev)
		r.mu.Lock()
		r.delivered[ev.ID]++
		r.mu.Unlock()
	}))
	t.Cleanup(func() {
		r.release()
		r.Close()
	})
	return r
}

func (r *hookReceiver) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.hold:
	default:
		close(r.hold)
	}
}

func (r *hookReceiver) counts() (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.delivered {
		out[k] = v
	}
	return out, r.requests
}

// waitFor waits until every event in want was answered 200, for at most d.
func (r *hookReceiver) waitFor(t *testing.T, want []string, d time.Duration, logs func() string) map[string]int {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got, _ := r.counts()
		missing := 0
		for _, id := range want {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never arrived; got %v\n%s", missing, len(want), got, logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runBinary runs the built binary on db with the test secret.
func runBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), "CARTGATEWAY_SECRET="+testSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cartgateway %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var secretLine = regexp.MustCompile(`signing_secret: (whsec_\S+)`)

func addHook(t *testing.T, db, url string) (id, secret string) {
	t.Helper()
	out := runBinary(t, "webhooks", "add", "--db", db, "--account", testAccount, "--url", url)
	m := secretLine.FindStringSubmatch(out)
	idm := regexp.MustCompile(`endpoint_id: (we_\S+)`).FindStringSubmatch(out)
	if m == nil || idm == nil {
		t.Fatalf("webhooks add printed no id or secret:\n%s", out)
	}
	return idm[1], m[1]
}

// TestWebhooksAfterSIGKILL: charges committed while their events could not
// be delivered (the receiver holds every request) are delivered after the
// gateway is SIGKILLed and started again, each answered once (the
// receiver acknowledges no request of the killed process).
func TestWebhooksAfterSIGKILL(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "gw.db")
		createCrashAccount(t, db)
		runWebhooksAfterSIGKILL(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		db := pgtest.URL(t)
		createCrashAccount(t, db)
		runWebhooksAfterSIGKILL(t, db)
	})
}

func runWebhooksAfterSIGKILL(t *testing.T, db string) {
	r := newHookReceiver(t, true)
	_, r.secret = addHook(t, db, r.URL+"/hooks")
	flags := []string{"--webhook-timeout", "2s"}
	g := startKillable(t, db, flags...)
	var want []string
	for i := range 12 {
		a := g.send(&crashOp{path: "/payment/charge", body: paymentBody("4242424242424242", fmt.Sprintf("hook-%d", i), 1000+i)})
		if a.status != 200 {
			t.Fatalf("charge: %s", a)
		}
		want = append(want, "evt_"+a.field("id"))
	}
	// Some events reached the receiver (and wait there), others not yet.
	deadline := time.Now().Add(10 * time.Second)
	for _, n := r.counts(); n == 0; _, n = r.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery was attempted:\n%s", g.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.kill()
	// The held requests see their connections close (and count nothing)
	// before the receiver starts answering.
	time.Sleep(300 * time.Millisecond)
	r.release()
	g = startKillable(t, db, flags...)
	// The claimed ones wait for their lease (2 s + 5 s); the rest go at once.
	got := r.waitFor(t, want, 30*time.Second, g.log.String)
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("event %s was answered %d times; want once", id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d events answered; want %d: %v", len(got), len(want), got)
	}
	g.stop(t)
}

// TestTwoGatewaysDeliverEveryEventOnce: two gateway processes on one
// PostgreSQL database, charges on both: every event is delivered, none
// twice.
func TestTwoGatewaysDeliverEveryEventOnce(t *testing.T) {
	db := pgtest.URL(t)
	createCrashAccount(t, db)
	r := newHookReceiver(t, false)
	_, r.secret = addHook(t, db, r.URL)
	gs := []*killableGateway{startKillable(t, db), startKillable(t, db)}
	var mu sync.Mutex
	var want []string
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			a := gs[i%2].send(&crashOp{path: "/payment/charge", body: paymentBody("4242424242424242", fmt.Sprintf("two-%d", i), 1000+i)})
			if a.status != 200 {
				t.Errorf("charge: %s", a)
				return
			}
			mu.Lock()
			want = append(want, "evt_"+a.field("id"))
			mu.Unlock()
		})
	}
	wg.Wait()
	r.waitFor(t, want, 30*time.Second, func() string { return gs[0].log.String() + gs[1].log.String() })
	time.Sleep(500 * time.Millisecond) // a second delivery would come now
	got, _ := r.counts()
	for _, id := range want {
		if got[id] != 1 {
			t.Errorf("event %s was delivered %d times; want once", id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d events delivered; want %d", len(got), len(want))
	}
	for _, g := range gs {
		g.stop(t)
	}
}

// TestWebhooksCommands: add, list, disable, enable, rotate-secret,
// deliveries, resend, remove, and their refusals.
func TestWebhooksCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gw.db")
	createCrashAccount(t, db)
	r := newHookReceiver(t, false)
	id, secret := addHook(t, db, r.URL)
	r.secret = secret
	if out := runBinary(t, "webhooks", "list", "--db", db); !strings.Contains(out, id) || !strings.Contains(out, "enabled") || strings.Contains(out, "whsec_") {
		t.Errorf("webhooks list:\n%s", out)
	}
	runBinary(t, "webhooks", "disable", "--db", db, "--account", testAccount, "--endpoint", id)
	if out := runBinary(t, "webhooks", "list", "--db", db, "--account", testAccount); !strings.Contains(out, "disabled") {
		t.Errorf("webhooks list after disable:\n%s", out)
	}
	runBinary(t, "webhooks", "enable", "--db", db, "--account", testAccount, "--endpoint", id)
	out := runBinary(t, "webhooks", "rotate-secret", "--db", db, "--account", testAccount, "--endpoint", id)
	m := secretLine.FindStringSubmatch(out)
	if m == nil || m[1] == secret {
		t.Fatalf("rotate-secret:\n%s", out)
	}
	r.secret = m[1] // the events now carry both signatures
	g := startKillable(t, db)
	a := g.send(&crashOp{path: "/payment/charge", body: paymentBody("4242424242424242", "cmd-1", 1500)})
	event := "evt_" + a.field("id")
	r.waitFor(t, []string{event}, 15*time.Second, g.log.String)
	if out := runBinary(t, "webhooks", "deliveries", "--db", db, "--account", testAccount); !strings.Contains(out, event) || !strings.Contains(out, "delivered") {
		t.Errorf("webhooks deliveries:\n%s", out)
	}
	if out := runBinary(t, "webhooks", "resend", "--db", db, "--account", testAccount, event); !strings.Contains(out, "1 endpoint") {
		t.Errorf("webhooks resend:\n%s", out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for got, _ := r.counts(); got[event] < 2; got, _ = r.counts() {
		if time.Now().After(deadline) {
			t.Fatalf("the resent event did not arrive:\n%s", g.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.stop(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"webhooks", "add", "--account", testAccount, "--url", "http://shop.example/hooks"}, "must use https"},
		{[]string{"webhooks", "add", "--account", testAccount, "--url", "https://shop.example", "--events", "payment.exploded"}, "not an event type"},
		{[]string{"webhooks", "add", "--account", "999", "--url", "https://shop.example"}, "there is no account 999"},
		{[]string{"webhooks", "remove", "--account", "999", "--endpoint", id}, "No webhook endpoint"},
		{[]string{"webhooks", "resend", "--account", testAccount, "evt_NONE"}, "No delivery of event"},
	} {
		cmd := exec.Command(binary(t), append(c.args, "--db", db)...)
		cmd.Env = append(os.Environ(), "CARTGATEWAY_SECRET="+testSecret)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("cartgateway %s: %v\n%s\nwant an error saying %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}
	runBinary(t, "webhooks", "remove", "--db", db, "--account", testAccount, "--endpoint", id)
	if out := runBinary(t, "webhooks", "list", "--db", db); strings.Contains(out, id) {
		t.Errorf("webhooks list after remove:\n%s", out)
	}
}
