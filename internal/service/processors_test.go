package service_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cartgateway/cartgateway/internal/credentials"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// TestLiveProcessorPerAccount: a live operation goes to the processor its
// own account is configured with, built from the decrypted secret, rebuilt
// when the configuration changes and kept while it does not; an account
// without one answers live-not-configured; the sandbox is untouched.
func TestLiveProcessorPerAccount(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		sandboxFake := newFake()
		h := newHarness(t, open(t), sandboxFake)
		box, err := credentials.New([]byte("a-server-secret-of-at-least-32-bytes!"))
		if err != nil {
			t.Fatal(err)
		}
		var builds atomic.Int64
		built := map[string]*fakeProcessor{} // by secret
		h.svc.Credentials = box
		h.svc.Connectors = map[string]gateway.Connector{"fake": {
			CheckSecret: func(s string) error {
				if !strings.HasPrefix(s, "fk_") {
					return gateway.Errorf(gateway.KindInvalid, "invalid-processor-secret", "A fake key starts with fk_.")
				}
				return nil
			},
			New: func(c gateway.ConnectorConfig) (gateway.Processor, error) {
				builds.Add(1)
				if c.AttemptTimeout <= 0 || c.AccountID == "" {
					t.Errorf("connector config %+v", c)
				}
				p := newFake()
				built[c.Secret] = p
				return p, nil
			},
		}}
		ctx := context.Background()
		configured, _, err := h.svc.CreateAccount(ctx, service.NewAccount{Name: "Live", Environment: gateway.Live})
		if err != nil {
			t.Fatal(err)
		}
		bare, _, err := h.svc.CreateAccount(ctx, service.NewAccount{Name: "Not configured", Environment: gateway.Live})
		if err != nil {
			t.Fatal(err)
		}
		live := func(a gateway.Account) service.Caller {
			return service.Caller{Account: a, Environment: gateway.Live, RequestID: "req_live", Actor: "key:L"}
		}

		_, err = h.svc.SetProcessor(ctx, service.ProcessorSettings{AccountID: configured.ID, Processor: "fake", Secret: "pk_wrong"})
		wantCode(t, "a secret of the wrong form", err, "invalid-processor-secret")
		_, err = h.svc.SetProcessor(ctx, service.ProcessorSettings{AccountID: configured.ID, Processor: "nosuch", Secret: "fk_1"})
		wantCode(t, "an unknown processor", err, "unknown-processor")
		_, err = h.svc.SetProcessor(ctx, service.ProcessorSettings{AccountID: configured.ID, Processor: "fake", Secret: "fk_1", APIBase: "http://10.0.0.1"})
		wantCode(t, "a clear-text API base off loopback", err, "invalid-api-base")
		_, err = h.svc.RotateProcessorSecret(ctx, configured.ID, "fk_2")
		wantCode(t, "a rotation before any processor", err, "processor-not-configured")
		if _, err := h.svc.SetProcessor(ctx, service.ProcessorSettings{AccountID: "99999999", Processor: "fake", Secret: "fk_1"}); !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("an unknown account: %v", err)
		}

		cfg, err := h.svc.SetProcessor(ctx, service.ProcessorSettings{AccountID: configured.ID, Processor: "fake", Secret: " fk_first_secret\n"})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SealedSecret != nil || cfg.SecretHint != "cret" {
			t.Errorf("SetProcessor answered %+v; want no sealed secret and hint cret", cfg)
		}
		if _, err := h.svc.Charge(ctx, live(bare), input("4242424242424242", 1000), nil); gateway.AsError(err).Code != "live-not-configured" {
			t.Errorf("a live charge of an account without a processor: %v", err)
		}
		for range 2 {
			if _, err := h.svc.Charge(ctx, live(configured), input("4242424242424242", 1000), nil); err != nil {
				t.Fatal(err)
			}
		}
		if builds.Load() != 1 || built["fk_first_secret"] == nil || built["fk_first_secret"].n("charge") != 2 {
			t.Fatalf("two charges: %d builds, processors %v; want one build with the decrypted secret, asked twice", builds.Load(), built)
		}
		if sandboxFake.n("charge") != 0 {
			t.Error("a live charge went to the sandbox's processor")
		}

		if _, err := h.svc.RotateProcessorSecret(ctx, configured.ID, "fk_second_secret"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Charge(ctx, live(configured), input("4242424242424242", 1000), nil); err != nil {
			t.Fatal(err)
		}
		if builds.Load() != 2 || built["fk_second_secret"] == nil || built["fk_second_secret"].n("charge") != 1 {
			t.Errorf("after a rotation: %d builds; want the new secret's processor", builds.Load())
		}
		if _, err := h.svc.Charge(ctx, h.caller, input("4242424242424242", 1000), nil); err != nil || sandboxFake.n("charge") != 1 {
			t.Errorf("a sandbox charge: %v, sandbox asked %d times", err, sandboxFake.n("charge"))
		}

		// A sealed secret that does not open (another server secret) is an
		// internal error, before anything is claimed.
		other, _ := credentials.New([]byte("another-server-secret-of-32-bytes-or-more"))
		h.svc.Credentials = other
		if _, err := h.svc.RotateProcessorSecret(ctx, configured.ID, "fk_third_secret"); err != nil {
			t.Fatal(err)
		}
		h.svc.Credentials = box
		_, err = h.svc.Charge(ctx, live(configured), input("4242424242424242", 1000), nil)
		wantCode(t, "a secret sealed under another server secret", err, "internal-error")
	})
}
