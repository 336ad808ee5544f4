// Package sqlite opens CartGateway's embedded default store: one SQLite file
// in WAL mode with synchronous=FULL, so that every committed payment is on
// disk before it is answered.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is SQLite's flavour of the shared SQL.
func Dialect() sqlstore.Dialect {
	sub, _ := fs.Sub(migrations, "migrations")
	return sqlstore.Dialect{
		Name:              "sqlite",
		Rebind:            func(q string) string { return q },
		IsUniqueViolation: isUniqueViolation,
		Migrations:        sub,
		Uncancellable:     true,
		OthersCommitted:   "PRAGMA data_version",
		// One writer at a time: the next rowid is past every committed
		// row, so seq order is commit order.
		NextPosition:    "seq = (SELECT MAX(seq) FROM transactions) + 1",
		PositionColumns: "0, seq",
		PositionOrder:   "seq",
		AfterPosition: func(after gateway.LedgerPosition) (string, []any) {
			return "seq > ?", []any{after.Seq}
		},
	}
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return true
		}
	}
	return false
}

// Options tune the store.
type Options struct {
	// GroupCommit batches concurrent writes into one transaction and one
	// fsync (docs/adr/0005-group-commit.md). Every write is still durable
	// before its caller hears of it.
	GroupCommit bool
	// PipelinedSync (with GroupCommit) runs SQLite with synchronous=NORMAL
	// and fsyncs the write-ahead log itself, on a goroutine of its own,
	// before answering a batch's callers: the disk flush of one batch
	// overlaps the work of the next.
	PipelinedSync bool
	// LookupCache (when positive) keeps looked-up payments in memory
	// (docs/adr/0007-lookup-cache.md). Changes made through this store are
	// seen at once; a change made by another process on the same file
	// (the settle command run from a shell) is seen within this time.
	LookupCache time.Duration
}

// DefaultLookupCache is the lookup cache's default lag behind changes made
// by other processes.
const DefaultLookupCache = 100 * time.Millisecond

// DefaultOptions is what the server runs with.
var DefaultOptions = Options{GroupCommit: true, PipelinedSync: true, LookupCache: DefaultLookupCache}

// Open opens (creating if needed, with owner-only permissions) and migrates
// the database file at path.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	return OpenWith(ctx, path, DefaultOptions)
}

// OpenWith is Open with explicit options.
func OpenWith(ctx context.Context, path string, opt Options) (*sqlstore.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	// Create the file ourselves so that it is never world-readable.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	_ = f.Close()

	sync := "FULL"
	if opt.GroupCommit && opt.PipelinedSync {
		sync = "NORMAL" // the group-commit syncer fsyncs the WAL before answering
	}
	write, err := sql.Open("sqlite", dsn(path, sync, "_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	// One writer: SQLite serialises writers anyway, and one connection in
	// Go turns lock contention into an orderly queue instead of busy retries.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	d := Dialect()
	if err := sqlstore.Migrate(ctx, write, d); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Readers keep SQLite's default page cache and do not memory-map the
	// file: once a lookup was one statement, an 8 MB cache per reader or a
	// mapped file made lookups at most ~5% faster (within the noise) and
	// added 50 to 150 MB of RSS (each reader caches or maps the same pages).
	read, err := sql.Open("sqlite", dsn(path, sync, "_pragma=query_only(1)"))
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	db := sqlstore.New(write, read, d)
	if opt.GroupCommit {
		var syncWAL func() error
		if opt.PipelinedSync {
			syncWAL = func() error { return syncData(path + "-wal") }
			// The WAL exists now (the migrations wrote to it); make its
			// directory entry durable once.
			if err := syncFile(filepath.Dir(path)); err != nil {
				_ = db.Close()
				return nil, fmt.Errorf("sqlite: %w", err)
			}
		}
		db.EnableGroupCommit(syncWAL)
	}
	db.EnableLookupCache(opt.LookupCache, 0)
	return db, nil
}

// syncData flushes a file's data (and the metadata needed to read it back,
// such as a changed size) by path: fdatasync, as SQLite itself uses for its
// WAL. It skips the inode's times, which a WAL rewritten in place does not
// need, and so the file system's journal on most syncs.
func syncData(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = syscall.Fdatasync(int(f.Fd()))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncFile fsyncs a file (or directory) by path. On Linux an fsync through
// any descriptor flushes the file's data, including what SQLite wrote
// through its own.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func dsn(path, synchronous, extra string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+synchronous+")")
	q.Add("_pragma", "foreign_keys(1)")
	// Savepoints (one per operation in a group commit) journal the pages
	// they change; in memory, not in a temporary file.
	q.Add("_pragma", "temp_store(MEMORY)")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode() + "&" + extra
}
