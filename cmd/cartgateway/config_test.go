package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://gw:s3cret@db:5432/cg":          "postgres://gw:xxxxx@db:5432/cg",
		"postgres://db/cg?user=gw&password=s3cret": "postgres://db/cg?password=xxxxx&user=gw",
		"postgres://gw@db/cg?sslmode=verify-full":  "postgres://gw@db/cg?sslmode=verify-full",
		"/var/lib/cartgateway/cartgateway.db":      "/var/lib/cartgateway/cartgateway.db",
		"cartgateway.db":                           "cartgateway.db",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(redactURL(in), "s3cret") {
			t.Errorf("redactURL(%q) keeps the password", in)
		}
	}
}

// TestPostgresNeedsASharedSecret: on PostgreSQL a per-host generated secret
// would differ between instances, so the secret must be given.
func TestPostgresNeedsASharedSecret(t *testing.T) {
	t.Setenv("CARTGATEWAY_SECRET", "")
	var out bytes.Buffer
	err := run(context.Background(), []string{"accounts", "list", "--db", "postgres://gw@127.0.0.1:1/cg"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "CARTGATEWAY_SECRET") {
		t.Fatalf("want a refusal naming CARTGATEWAY_SECRET, got %v", err)
	}
}
