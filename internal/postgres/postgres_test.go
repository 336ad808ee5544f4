package postgres_test

import (
	"context"
	"testing"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/pgtest"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
	"github.com/cartgateway/cartgateway/internal/storetest"
)

func open(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.URL(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestStoreContract runs the store contract suite that SQLite also passes.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) gateway.Store { return open(t) })
}

func TestRebind(t *testing.T) {
	got := postgres.Dialect().Rebind("SELECT a FROM t WHERE b = ? AND c IN (?, ?)")
	if want := "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"; got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
}
