// Package pgtest gives tests a fresh PostgreSQL database on the server named
// by CARTGATEWAY_TEST_POSTGRES (scripts/postgres.sh starts a throwaway
// cluster and sets it; CI always does). Without it, PostgreSQL tests skip and
// a local "go test ./..." runs everything SQLite can.
package pgtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// EnvVar names the admin URL of the test server.
const EnvVar = "CARTGATEWAY_TEST_POSTGRES"

// Available reports whether a test server is configured.
func Available() bool { return os.Getenv(EnvVar) != "" }

// URL creates an empty database for this test, dropped when it ends, and
// returns its URL. It skips the test when no server is configured.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvVar)
	if admin == "" {
		t.Skipf("%s is not set: PostgreSQL tests skipped (scripts/postgres.sh starts a server)", EnvVar)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", EnvVar, err)
	}
	name := "cg_" + strings.ToLower(gateway.NewID())
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}
