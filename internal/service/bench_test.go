package service_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/card"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite"
)

func benchService(b *testing.B, opt sqlite.Options) (*service.Service, service.Caller, card.Input) {
	ctx := context.Background()
	db, err := sqlite.OpenWith(ctx, filepath.Join(b.TempDir(), "bench.db"), opt)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	svc := &service.Service{Store: db, FingerprintKey: []byte("bench"), Now: time.Now,
		Processors: map[gateway.Environment]gateway.Processor{gateway.Sandbox: sandbox.Processor{}}}
	acct, _, err := svc.CreateAccount(ctx, service.NewAccount{Name: "bench", Environment: gateway.Sandbox})
	if err != nil {
		b.Fatal(err)
	}
	c := card.Input{Number: "4242424242424242", CVV: "123", ExpMonth: "10", ExpYear: fmt.Sprint(time.Now().Year() + 5)}
	return svc, service.Caller{Account: acct, Environment: gateway.Sandbox, RequestID: "req_bench", Actor: "key:bench"}, c
}

func charge(svc *service.Service, caller service.Caller, c card.Input, n int64) (service.Outcome, error) {
	return svc.Charge(context.Background(), caller, service.PaymentInput{Card: c, Amount: 100 + n%1000, OrderID: fmt.Sprintf("o-%d", n),
		Customer: gateway.Customer{FirstName: "Test", LastName: "User", Email: "user@example.com", Address: "6 Pheasant Run", Zip: "07733", Country: "US"}}, nil)
}

// BenchmarkLookupSQLite measures lookups through the store, without HTTP:
// 64 goroutines looking up 20,000 payments at random, with the lookup cache
// off (every lookup a query) and on (as the server runs; it holds fewer
// payments than that).
func BenchmarkLookupSQLite(b *testing.B) {
	uncached := sqlite.DefaultOptions
	uncached.LookupCache = 0
	b.Run("uncached", func(b *testing.B) { benchLookups(b, uncached) })
	b.Run("cached", func(b *testing.B) { benchLookups(b, sqlite.DefaultOptions) })
}

func benchLookups(b *testing.B, opt sqlite.Options) {
	svc, caller, c := benchService(b, opt)
	ids := make([]string, 20_000)
	for i := range ids {
		out, err := charge(svc, caller, c, int64(i))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = out.Payment.ID
	}
	var next atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(7919) // a prime stride: scattered over the ids
			if _, err := svc.Lookup(context.Background(), caller, ids[n%int64(len(ids))]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkChargeSQLite measures the store's side of a charge, without
// HTTP: 64 goroutines charging through the group-committing SQLite store,
// every write durable before it returns. It is the ceiling the HTTP
// figures of cmd/cgbench can approach.
func BenchmarkChargeSQLite(b *testing.B) {
	svc, caller, c := benchService(b, sqlite.DefaultOptions)
	var orders atomic.Int64
	b.SetParallelism(32) // 64 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := charge(svc, caller, c, orders.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "charges/s")
}
