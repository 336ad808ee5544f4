package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"
)

// The live slow-neighbour scenario: the charge scenario again (sandbox),
// while a live account whose processor is Stripe keeps slowNeighbours
// charges in flight, each answered by a slow Stripe: a stand-in on
// loopback that answers a PaymentIntent after slowStripeDelay. The live
// path (the account's configuration read, the connector, stripe-go, HTTP
// to the processor) runs outside the store's transactions like the
// sandbox's slow card, so the charges measured should keep most of their
// rate.

const (
	scenarioSlowLiveNeighbour = "charge-slow-live-neighbour"
	slowStripeDelay           = 3 * time.Second
	liveNeighbourAccountID    = "900003"
	liveNeighbourKey          = "d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6liveslow"
	liveNeighbourCard         = "4242424242424242"
)

// slowStripe is the stand-in: just enough of Stripe's API for the
// connector's charge (a PaymentMethod, then a PaymentIntent), slowly.
func slowStripe() (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var n atomic.Uint64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payment_methods", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"pm_bench%d","object":"payment_method","type":"card"}`, n.Add(1))
	})
	mux.HandleFunc("POST /v1/payment_intents", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(slowStripeDelay):
		case <-r.Context().Done():
			return
		}
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"pi_bench%d","object":"payment_intent","status":"succeeded","amount":%s,"currency":"usd","latest_charge":null}`,
			n.Add(1), r.PostForm.Get("amount"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// setUpLiveNeighbour creates the live account and points its Stripe at
// the stand-in, with the cartgateway commands an operator runs.
func setUpLiveNeighbour(ctx context.Context, bin, db, dir, stripeURL string) error {
	cmd := exec.CommandContext(ctx, bin, "accounts", "create", "--db", db, "--name", "bench live neighbour",
		"--id", liveNeighbourAccountID, "--key", liveNeighbourKey, "--environment", "live")
	cmd.Env = childEnv()
	if out, err := cmd.CombinedOutput(); err != nil && !bytes.Contains(out, []byte("account-exists")) {
		return fmt.Errorf("cartgateway accounts create: %v: %s", err, out)
	}
	keyFile := filepath.Join(dir, "stripe.key")
	if err := os.WriteFile(keyFile, []byte("sk_test_cgbenchStandInKey00000000\n"), 0o600); err != nil {
		return err
	}
	cmd = exec.CommandContext(ctx, bin, "accounts", "set-processor", "--db", db, "--account", liveNeighbourAccountID,
		"--processor", "stripe", "--secret-key-file", keyFile, "--api-base", stripeURL)
	cmd.Env = childEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cartgateway accounts set-processor: %v: %s", err, out)
	}
	return nil
}

// slowLiveNeighbour runs the charge scenario beside the live slow load.
func (b *bench) slowLiveNeighbour(ctx context.Context) (result, error) {
	if b.liveNeighbourHeader == nil {
		return result{}, fmt.Errorf("%s needs a server that cgbench starts (not -target)", scenarioSlowLiveNeighbour)
	}
	return b.neighbourRun(ctx, scenarioSlowLiveNeighbour, b.liveNeighbourHeader, liveNeighbourCard)
}
