// Package postgres opens CartGateway's scale-out store: PostgreSQL through
// pgx, shared by any number of stateless gateway processes. Correctness
// across processes rests on row locks (SELECT … FOR UPDATE), the version
// compare-and-set, unique constraints and transaction-scoped advisory locks,
// never on in-process locks.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// IsURL reports whether a --db value names a PostgreSQL database.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Dialect is PostgreSQL's flavour of the shared SQL.
func Dialect() sqlstore.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Dialect{
		Name:              "postgres",
		Rebind:            rebind,
		IsUniqueViolation: func(err error) bool { return sqlState(err) == "23505" },
		ForUpdate:         " FOR UPDATE",
		SkipLocked:        " FOR UPDATE SKIP LOCKED",
		LockKey:           "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
		IsRetryable: func(err error) bool {
			switch sqlState(err) {
			case "40001", "40P01": // serialization_failure, deadlock_detected
				return true
			}
			return false
		},
		WriteIsolation:  sql.LevelReadCommitted,
		MigrationLock:   "SELECT pg_advisory_lock(7769)",
		MigrationUnlock: "SELECT pg_advisory_unlock(7769)",
		Migrations:      sub,
		// A row's position is (xid, seq) of the transaction that made it
		// final: see migrations/0005_two_phase.sql.
		NextPosition:    "seq = nextval('transactions_seq'), xid = pg_current_xact_id()::text::bigint",
		PositionColumns: "xid, seq",
		PositionOrder:   "xid, seq",
		AfterPosition: func(after gateway.LedgerPosition) (string, []any) {
			return "(xid, seq) > (?, ?) AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint", []any{after.Epoch, after.Seq}
		},
	}
}

func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// rebind turns "?" into $1, $2, …; the shared SQL has no "?" in literals.
func rebind(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// Options size the connection pool.
type Options struct {
	MaxConns int // default 20
}

// Open connects to url, migrates, and returns the store. One pool serves
// reads and writes.
func Open(ctx context.Context, url string, opt Options) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opt.MaxConns <= 0 {
		opt.MaxConns = 20
	}
	db.SetMaxOpenConns(opt.MaxConns)
	db.SetMaxIdleConns(opt.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	d := Dialect()
	maxConns := opt.MaxConns
	var lastDrop atomic.Int64
	d.AfterWriteError = func(err error) {
		// A session that began while the database was read-only
		// (default_transaction_read_only) stays read-only for its life, and
		// the pool would keep it: writes would fail long after the database
		// took them again. Such an error drops the idle connections, at
		// most once a second so that a read-only database is not flooded
		// with new sessions; new sessions take the setting of the moment.
		now := time.Now().UnixNano()
		if last := lastDrop.Load(); sqlState(err) == "25006" && now-last > int64(time.Second) && lastDrop.CompareAndSwap(last, now) {
			db.SetMaxIdleConns(0)
			db.SetMaxIdleConns(maxConns)
		}
	}
	if err := sqlstore.Migrate(ctx, db, d); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return sqlstore.New(db, db, d), nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver
