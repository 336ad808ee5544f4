package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

func TestDailyCutoff(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		flag, now, want string
	}{
		{"00:00", "2026-11-25T17:44:00Z", "2026-11-26T00:00:00Z"},
		{"18:30", "2026-11-25T17:44:00Z", "2026-11-25T18:30:00Z"},
		{"18:30", "2026-11-25T18:30:00Z", "2026-11-26T18:30:00Z"}, // strictly after now
		{"23:59", "2026-12-31T23:59:30Z", "2027-01-01T23:59:00Z"},
		{"02:00", "2026-11-25T01:00:00+05:00", "2026-11-25T02:00:00Z"}, // cut-offs are UTC
	}
	for _, tt := range tests {
		cutoff, err := parseCutoff(tt.flag)
		if err != nil {
			t.Fatalf("parseCutoff(%q): %v", tt.flag, err)
		}
		if got := nextCutoff(at(tt.now), cutoff); !got.Equal(at(tt.want)) {
			t.Errorf("next %s cut-off after %s = %s, want %s", tt.flag, tt.now, got, tt.want)
		}
	}
	if c, err := parseCutoff("off"); err != nil || c >= 0 {
		t.Errorf("off: %v %v", c, err)
	}
	for _, bad := range []string{"24:00", "7", "12:60", "noon"} {
		if _, err := parseCutoff(bad); err == nil {
			t.Errorf("parseCutoff(%q) accepted", bad)
		}
	}
}

// TestSettleCutoffLogsOnce: instances that settle one cut-off together log
// one run, by the instance that settled, and none a batch it did not close.
func TestSettleCutoffLogsOnce(t *testing.T) {
	ctx := context.Background()
	sf := storeFlags{DB: filepath.Join(t.TempDir(), "gw.db")}
	t.Setenv("CARTGATEWAY_SECRET", testSecret)
	db, svc, err := sf.open(ctx, mayCreate)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, _, err := svc.CreateAccount(ctx, service.NewAccount{Name: "Shop", Environment: gateway.Sandbox})
	if err != nil {
		t.Fatal(err)
	}
	caller := service.Caller{Account: a, Environment: gateway.Sandbox}
	for i := range 20 {
		in := service.PaymentInput{Card: card.Input{Number: "4242424242424242", CVV: "123", ExpMonth: "10", ExpYear: "2031"}, Amount: 1000,
			OrderID: fmt.Sprint("o-", i), Customer: gateway.Customer{FirstName: "A", LastName: "B", Email: "a@example.com", Address: "1 Main", Zip: "10001"}}
		if _, err := svc.Charge(ctx, caller, in, nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Millisecond) // the run starts after the last change
	var logs apitest.LogBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var wg sync.WaitGroup
	for i := range 3 {
		other := &service.Service{Store: svc.Store, Processors: svc.Processors, FingerprintKey: svc.FingerprintKey, Now: svc.Now,
			Instance: fmt.Sprint("instance-", i)}
		wg.Go(func() { settleCutoff(ctx, other, log, "daily:2026-12-05T00:00Z", 10*time.Millisecond) })
	}
	wg.Wait()
	out := logs.String()
	if n := strings.Count(out, `"msg":"settlement run finished"`); n != 1 {
		t.Fatalf("%d instances logged a finished run; want 1:\n%s", n, out)
	}
	if !strings.Contains(out, `"payments":20`) || strings.Contains(out, `"level":"ERROR"`) {
		t.Errorf("logs:\n%s", out)
	}
}
