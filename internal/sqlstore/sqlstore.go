// Package sqlstore implements gateway.Store over database/sql. The SQL is
// written once with "?" placeholders; a Dialect adapts it to each backend
// (sqlite, postgres) and tells which driver errors mean what.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Dialect is what differs between backends.
type Dialect struct {
	Name string
	// Rebind turns "?" placeholders into the backend's form.
	Rebind func(query string) string
	// IsUniqueViolation reports a unique or primary key violation.
	IsUniqueViolation func(error) bool
	// ForUpdate is appended to reads that precede a write of the same row.
	ForUpdate string
	// SkipLocked is appended to a read that claims rows for one process
	// among several (FOR UPDATE SKIP LOCKED); SQLite's single writer needs
	// none.
	SkipLocked string
	// LockKey, when set, is a statement taking a transaction-scoped lock on
	// one text key (e.g. pg_advisory_xact_lock). It serialises checks that no
	// constraint can express, such as duplicate detection, across processes.
	// SQLite needs none: its writers are serialised already.
	LockKey string
	// IsRetryable reports a transient failure (serialization failure,
	// deadlock) after which the whole transaction may safely run again.
	IsRetryable func(error) bool
	// MigrationLock and MigrationUnlock, when set, bracket migrations so that
	// instances starting together do not migrate at once. They are taken only
	// when a migration is due.
	MigrationLock, MigrationUnlock string
	// WriteIsolation is the isolation level of write transactions. The
	// PostgreSQL store relies on READ COMMITTED semantics (row locks re-read
	// the newest row; the duplicate check sees commits made while it waited
	// for its lock), whatever the server's default is.
	WriteIsolation sql.IsolationLevel
	// Migrations holds NNNN_name.sql files applied in order.
	Migrations fs.FS
	// Uncancellable runs statements without their caller's cancellation.
	// For an in-process database whose statements take microseconds: a
	// driver watches a cancellable context with a goroutine per statement,
	// which costs more than the statement it could cut short.
	Uncancellable bool
	// AfterWriteError, when set, sees every failed write transaction, after
	// its connection has gone back to the pool.
	AfterWriteError func(error)
	// NextPosition is the SET clause that gives a ledger row the next
	// position in commit order, when a pending row is finished.
	NextPosition string
	// PositionColumns are the two columns of a ledger position, as
	// LedgerPosition's Epoch and Seq; PositionOrder orders by them.
	PositionColumns, PositionOrder string
	// AfterPosition returns the condition (and its arguments) selecting
	// ledger rows after a position that a reader may see without ever
	// skipping one that commits later.
	AfterPosition func(after gateway.LedgerPosition) (string, []any)
	// OthersCommitted, when set, is a query answering a number that changes
	// when another process commits to the database, and only then (SQLite's
	// PRAGMA data_version on the writer's connection, which the readers
	// never write through). The lookup cache needs it.
	OthersCommitted string
}

// stmtContext is the context statements run with (see Uncancellable).
func (db *DB) stmtContext(ctx context.Context) context.Context {
	if db.d.Uncancellable {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// DB is a store. Writes go through write, reads through read; on SQLite
// these are separate pools (one writer connection, several readers).
type DB struct {
	write, read *sql.DB
	d           Dialect
	batch       *batcher     // nil: one transaction per Update
	lookups     *lookupCache // nil: every lookup reads the database
	// stopWatch ends watchOtherProcesses, which closes watchStopped.
	stopWatch, watchStopped chan struct{}

	writeStmts, readStmts *stmtCache
	writes                writeHealth
}

// New wraps open pools; Migrate must have run.
func New(write, read *sql.DB, d Dialect) *DB {
	return &DB{write: write, read: read, d: d, writeStmts: newStmtCache(write, d), readStmts: newStmtCache(read, d)}
}

// Close stops the group-commit writer, if any, and closes both pools.
func (db *DB) Close() error {
	if db.stopWatch != nil {
		close(db.stopWatch)
		<-db.watchStopped
	}
	if db.batch != nil {
		db.batch.close()
	}
	db.writeStmts.close()
	db.readStmts.close()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// maxRetries bounds the reruns of a transaction after transient failures.
const maxRetries = 5

// Update runs fn in one read-write transaction, rerunning it a bounded
// number of times after a serialization failure or deadlock.
func (db *DB) Update(ctx context.Context, fn func(gateway.Tx) error) error {
	err := db.runUpdate(ctx, fn)
	db.writes.record(err, time.Now())
	if err != nil && db.d.AfterWriteError != nil {
		db.d.AfterWriteError(err)
	}
	return err
}

func (db *DB) runUpdate(ctx context.Context, fn func(gateway.Tx) error) error {
	if db.batch != nil {
		return db.updateBatched(ctx, fn)
	}
	var err error
	for attempt := 0; attempt <= maxRetries; attempt++ {
		err = db.update(ctx, fn)
		if err == nil || db.d.IsRetryable == nil || !db.d.IsRetryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
	return err
}

func (db *DB) update(ctx context.Context, fn func(gateway.Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, &sql.TxOptions{Isolation: db.d.WriteIsolation})
	if err != nil {
		return gateway.Internal(fmt.Errorf("begin: %w", err))
	}
	t := &tx{db: db, q: sqlTx, sqlTx: sqlTx, stmts: db.writeStmts, writable: true, changes: db.newChanges()}
	// Roll back if fn panics too: an open transaction would hold SQLite's
	// only writer connection forever. After Commit this is a no-op.
	defer func() {
		_ = sqlTx.Rollback()
		db.ended(t.changes)
	}()
	if err := fn(t); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return gateway.Internal(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// EnableLookupCache keeps looked-up payments in memory (see lookupCache),
// before the store is used; size bounds the payments kept (0: the default).
// Every poll it asks the database whether another process committed since
// (the dialect's OthersCommitted) and if so forgets every payment: a change
// made by another process shows in lookups within poll. A dialect without
// that query gets no cache.
func (db *DB) EnableLookupCache(poll time.Duration, size int) {
	if poll <= 0 || db.d.OthersCommitted == "" {
		return
	}
	db.lookups = newLookupCache(size)
	db.stopWatch, db.watchStopped = make(chan struct{}), make(chan struct{})
	go db.watchOtherProcesses(poll)
}

// watchOtherProcesses empties the lookup cache when another process has
// committed, checking every poll until Close. A failed check empties it too.
func (db *DB) watchOtherProcesses(poll time.Duration) {
	defer close(db.watchStopped)
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	var last int64
	known := false
	for {
		var counter int64
		err := db.write.QueryRowContext(context.Background(), db.d.OthersCommitted).Scan(&counter)
		if err != nil || known && counter != last {
			db.lookups.invalidate(&changes{all: true})
		}
		known, last = err == nil, counter
		select {
		case <-db.stopWatch:
			return
		case <-ticker.C:
		}
	}
}

// newChanges starts the list of payments a write transaction touches, if
// there is a lookup cache to tell.
func (db *DB) newChanges() *changes {
	if db.lookups == nil {
		return nil
	}
	return &changes{}
}

// ended tells the lookup cache what a write transaction touched, once it has
// committed or rolled back, and before its callers hear of it.
func (db *DB) ended(ch *changes) {
	if db.lookups != nil {
		db.lookups.invalidate(ch)
	}
}

// View runs fn's reads on the read pool.
func (db *DB) View(ctx context.Context, fn func(gateway.ReadTx) error) error {
	// No BEGIN: each read runs on its own and is consistent in itself, the
	// way PostgreSQL's READ COMMITTED runs each statement of a transaction
	// anyway. A read that must see several tables at one instant is one
	// statement (a lookup joins the payment and its transactions). Skipping
	// BEGIN and ROLLBACK saves two statements per request.
	return fn(&tx{db: db, q: db.read, stmts: db.readStmts})
}

//go:embed schema_migrations.sql
var bookkeeping embed.FS

// Migrate applies, in order and each in its own transaction, the migrations
// not yet applied. It refuses a database whose schema is newer than this
// binary knows.
func Migrate(ctx context.Context, pool *sql.DB, d Dialect) error {
	names, err := fs.Glob(d.Migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for i, name := range names {
		if n, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0]); err != nil || n != i+1 {
			return fmt.Errorf("migration %s: expected number %04d", name, i+1)
		}
	}
	db, err := pool.Conn(ctx) // one connection: session locks belong to it
	if err != nil {
		return err
	}
	defer db.Close()
	// The common case, an up-to-date schema, takes no lock (a session lock
	// does not survive a transaction-pooling proxy). An error here, such as
	// a missing schema_migrations table, just means: migrate under the lock.
	if applied, err := schemaVersion(ctx, db); err == nil && applied >= len(names) {
		return checkVersion(applied, len(names))
	}
	if d.MigrationLock != "" {
		if _, err := db.ExecContext(ctx, d.MigrationLock); err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		defer func() { _, _ = db.ExecContext(context.WithoutCancel(ctx), d.MigrationUnlock) }()
	}
	ddl, _ := bookkeeping.ReadFile("schema_migrations.sql")
	if _, err := db.ExecContext(ctx, string(ddl)); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := schemaVersion(ctx, db) // again: another instance may have migrated meanwhile
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if err := checkVersion(applied, len(names)); err != nil {
		return err
	}
	for i, name := range names[applied:] {
		body, err := fs.ReadFile(d.Migrations, name)
		if err != nil {
			return err
		}
		if err := migrateOne(ctx, db, d, applied+i+1, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

func schemaVersion(ctx context.Context, db *sql.Conn) (int, error) {
	var applied int
	err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&applied)
	return applied, err
}

func checkVersion(applied, known int) error {
	if applied > known {
		return fmt.Errorf("the database schema is at version %d but this cartgateway knows only %d: upgrade cartgateway", applied, known)
	}
	return nil
}

func migrateOne(ctx context.Context, db *sql.Conn, d Dialect, version int, body string) error {
	t, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = t.Rollback() }()
	if _, err := t.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := t.ExecContext(ctx, d.Rebind("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"), version, formatTime(time.Now())); err != nil {
		return err
	}
	return t.Commit()
}

// timeLayout is fixed-width so that text comparison orders times.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}

func parseTime(s string) (time.Time, error) {
	return time.Parse(timeLayout, s)
}

// Setting returns the value stored under name, and false when there is none.
func (db *DB) Setting(ctx context.Context, name string) (string, bool, error) {
	var v string
	err := db.write.QueryRowContext(ctx, db.d.Rebind("SELECT value FROM settings WHERE name = ?"), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", name, err)
	}
	return v, true, nil
}

// InitSetting stores value under name unless a value is stored there
// already, and returns the stored value: of two processes racing, both get
// the first one's.
func (db *DB) InitSetting(ctx context.Context, name, value string) (string, error) {
	if _, err := db.write.ExecContext(ctx, db.d.Rebind("INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING"), name, value); err != nil {
		return "", fmt.Errorf("store setting %s: %w", name, err)
	}
	v, _, err := db.Setting(ctx, name)
	return v, err
}
