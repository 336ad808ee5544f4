package main

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/apitest"
	"github.com/cartgateway/cartgateway/internal/pgtest"
	"github.com/cartgateway/cartgateway/internal/sandbox"
)

// TestCrashWhileTheProcessorAnswers SIGKILLs a gateway while charges and an
// authorization wait for the sandbox's slow card (the processor answers
// after 3 s), restarts it on the same database, and proves that the claims
// left pending show as pending, are finished by the reconciler (the
// sandbox tells what it did), add up, and that retrying each request with
// its Idempotency-Key then replays its final answer.
func TestCrashWhileTheProcessorAnswers(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		db := filepath.Join(t.TempDir(), "gw.db")
		createCrashAccount(t, db)
		runCrashWhileTheProcessorAnswers(t, db, func() (*sql.DB, error) {
			return sql.Open("sqlite", "file:"+(&url.URL{Path: db}).EscapedPath()+"?mode=ro")
		})
	})
	t.Run("postgres", func(t *testing.T) {
		db := pgtest.URL(t)
		createCrashAccount(t, db)
		runCrashWhileTheProcessorAnswers(t, db, func() (*sql.DB, error) { return sql.Open("pgx", db) })
	})
}

func runCrashWhileTheProcessorAnswers(t *testing.T, db string, openStore func() (*sql.DB, error)) {
	// A short processor timeout keeps the leases short: the reconciler may
	// take a claim over 4 s + 5 s after it was made.
	flags := []string{"--processor-timeout", "4s"}
	g := startKillable(t, db, flags...)
	var ops []*crashOp
	for i := range 4 {
		ops = append(ops, &crashOp{key: fmt.Sprintf("slow-charge-%d", i), path: "/payment/charge", kind: "charge",
			body: apitest.PaymentBody(sandbox.SlowCard, map[string]any{"amount": 1000 + i, "order_id": fmt.Sprintf("slow-%d", i)})})
	}
	ops = append(ops, &crashOp{key: "slow-authorize", path: "/payment/authorize", kind: "authorize",
		body: apitest.PaymentBody(sandbox.SlowCard, map[string]any{"amount": 5000, "order_id": "slow-auth", "zip": "99902"})})
	var wg sync.WaitGroup
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op.first = g.send(op)
		}()
	}
	store, err := openStore()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pending := func() []string {
		rows, err := store.Query("SELECT id FROM payments WHERE status = 'pending' ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		return ids
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(pending()) < len(ops) {
		if time.Now().After(deadline) {
			t.Fatalf("the claims did not commit: %d pending\n%s", len(pending()), g.log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.kill() // while the processor has not answered yet
	wg.Wait()
	for _, op := range ops {
		if op.first.err == nil {
			t.Fatalf("%s was answered before the kill: %s", op.key, op.first)
		}
	}
	ids := pending()
	if len(ids) != len(ops) {
		t.Fatalf("%d pending payments after the kill; want %d", len(ids), len(ops))
	}

	g = startKillable(t, db, flags...)
	// Before the lease ends: pending, and a retry is told to wait.
	look := func(id string) crashAnswer {
		return g.send(&crashOp{path: "/payment/lookup", body: `{"payment_id":"` + id + `"}`})
	}
	if a := look(ids[0]); a.status != 200 || !strings.Contains(a.raw, `"status":"pending"`) || !strings.Contains(a.raw, `"result":"pending"`) {
		t.Fatalf("lookup right after the restart: %s; want pending", a)
	}
	if a := g.send(ops[0]); a.status != 409 || a.field("code") != "idempotency-key-in-progress" {
		t.Fatalf("retry while pending: %s; want 409 idempotency-key-in-progress", a)
	}
	// The reconciler finishes every one of them.
	deadline = time.Now().Add(40 * time.Second)
	for len(pending()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the reconciler left %d payments pending:\n%s", len(pending()), g.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var total int64
	for _, op := range ops {
		a := g.send(op)
		if a.status != 200 || !a.replayed || !slices.Contains(ids, a.field("id")) {
			t.Fatalf("retry of %s after reconciling: %s; want the replayed approval of a pending payment", op.key, a)
		}
		if op.kind == "authorize" && a.field("avs_code") != "Z" {
			t.Errorf("the reconciled authorization has AVS %q; want Z (from its ZIP code)", a.field("avs_code"))
		}
		l := look(a.field("id"))
		want := `"status":"captured"`
		if op.kind == "authorize" {
			want = `"status":"authorized"`
		}
		if !strings.Contains(l.raw, want) || strings.Contains(l.raw, "pending") {
			t.Fatalf("lookup of %s: %s; want %s", op.key, l, want)
		}
		if op.kind == "charge" {
			var n int64
			if err := store.QueryRow("SELECT captured_amount FROM payments WHERE id = "+placeholder(db)+"", a.field("id")).Scan(&n); err != nil {
				t.Fatal(err)
			}
			total += n
		}
	}
	if total != 1000+1001+1002+1003 {
		t.Errorf("the reconciled charges captured %d in all; want %d", total, 1000+1001+1002+1003)
	}
	var reconciled int
	if err := store.QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.reconciled'").Scan(&reconciled); err != nil {
		t.Fatal(err)
	}
	if reconciled != len(ops) {
		t.Errorf("%d payment.reconciled audit entries; want %d", reconciled, len(ops))
	}
	g.stop(t)
}

// placeholder is a bind parameter in the store's dialect.
func placeholder(db string) string {
	if strings.HasPrefix(db, "postgres") {
		return "$1"
	}
	return "?"
}
