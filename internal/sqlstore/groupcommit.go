package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Group commit: with synchronous=FULL every commit waits for an fsync, so
// one transaction per request caps the gateway at the disk's flush rate. A
// single writer goroutine instead takes every Update waiting at that moment,
// runs each inside its own SAVEPOINT of one transaction, and commits them
// together: one fsync for the whole batch. An Update whose function fails
// is rolled back to its savepoint and leaves no trace; the others are not
// affected. Every caller hears its result only after the commit, so nobody
// is told "done" (or "refused", on state that might not commit) before the
// batch is durable. docs/adr/0005-group-commit.md has the measurements.

// maxBatch bounds one batch, and with it the latency the first request of a
// batch can suffer waiting for the others.
const maxBatch = 256

type writeRequest struct {
	ctx  context.Context
	fn   func(gateway.Tx) error
	done chan result
}

// result is one request's outcome; a panic in its function is carried back
// and raised again in the caller's goroutine, as without batching.
type result struct {
	err      error
	panicked any
}

type batcher struct {
	requests chan writeRequest
	quit     chan struct{} // closed by Close
	stopped  chan struct{} // closed when the writer (and syncer) have quit

	// sync, when set, makes committed batches durable (an fsync of the
	// WAL) on a goroutine of its own: the database runs with
	// synchronous=NORMAL, commits do not wait for the disk, and the writer
	// goes on with the next batch while the syncer flushes the last ones.
	// Callers are still answered only after their batch is on disk.
	sync   func() error
	synced chan committedBatch
	// idle holds a token while the syncer has nothing to do: the writer
	// commits its open batch when it takes the token.
	idle chan struct{}
}

type committedBatch struct {
	requests []writeRequest
	results  []result
}

// EnableGroupCommit routes Update through one batching writer goroutine.
// Call it once, before use; Close stops the writer. sync, if not nil, is
// how a committed batch is made durable: see batcher.sync.
func (db *DB) EnableGroupCommit(sync func() error) {
	b := &batcher{requests: make(chan writeRequest, maxBatch), quit: make(chan struct{}), stopped: make(chan struct{})}
	db.batch = b
	writerDone := make(chan struct{})
	if sync != nil {
		b.sync, b.synced = sync, make(chan committedBatch, 64)
		b.idle = make(chan struct{}, 1)
		b.idle <- struct{}{}
		go func() {
			b.syncLoop()
			<-writerDone
			close(b.stopped)
		}()
	}
	go func() {
		db.writeLoop(b)
		if b.synced != nil {
			close(b.synced)
			close(writerDone)
			return
		}
		close(b.stopped)
	}()
}

// syncLoop makes committed batches durable, several with one fsync when
// they queue up, and only then answers their callers, in commit order.
func (b *batcher) syncLoop() {
	for first := range b.synced {
		group := []committedBatch{first}
	drain:
		for {
			select {
			case c, ok := <-b.synced:
				if !ok {
					break drain
				}
				group = append(group, c)
			default:
				break drain
			}
		}
		err := b.sync()
		for _, c := range group {
			for i, req := range c.requests {
				r := c.results[i]
				if err != nil {
					// Committed, but perhaps not on disk: say so; a retry
					// with the same Idempotency-Key tells which.
					r = result{err: gateway.Internal(fmt.Errorf("sync the write-ahead log: %w", err))}
				}
				req.done <- r
			}
		}
		if len(b.synced) == 0 {
			select {
			case b.idle <- struct{}{}:
			default:
			}
		}
	}
}

var errClosed = errors.New("the store is closed")

func (db *DB) updateBatched(ctx context.Context, fn func(gateway.Tx) error) error {
	req := writeRequest{ctx: ctx, fn: fn, done: make(chan result, 1)}
	select {
	case db.batch.requests <- req:
	case <-db.batch.stopped:
		return gateway.Internal(errClosed)
	}
	var r result
	select {
	case r = <-req.done:
	case <-db.batch.stopped:
		// Closed: everything committed has been answered by now.
		select {
		case r = <-req.done:
		default:
			r = result{err: gateway.Internal(errClosed)}
		}
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

func (b *batcher) close() {
	close(b.quit)
	<-b.stopped
}

func (db *DB) writeLoop(b *batcher) {
	defer func() {
		// Answer whatever was queued when Close came.
		for {
			select {
			case req := <-b.requests:
				req.done <- result{err: gateway.Internal(errClosed)}
			default:
				return
			}
		}
	}()
	w := &batchTx{db: db}
	for {
		var first writeRequest
		select {
		case <-b.quit:
			return
		case first = <-b.requests:
		}
		w.begin()
		w.run(first)
		quit := b.fill(w)
		requests, results := w.commit()
		if b.synced != nil {
			b.synced <- committedBatch{requests: requests, results: results}
		} else {
			for i, req := range requests {
				req.done <- results[i]
			}
		}
		if quit {
			return
		}
	}
}

// fill runs the requests that queue up into w's open transaction, until the
// batch is full, or nothing is queued and the transaction should commit:
// at once without a syncer, else as soon as the syncer is idle. Waiting for
// the syncer costs no caller anything (every caller waits for an fsync
// anyway) and makes batches as large as the disk's flush time allows, with
// fewer commits and fewer write-ahead log frames per operation. It reports
// whether Close came meanwhile.
func (b *batcher) fill(w *batchTx) (quit bool) {
	for len(w.requests) < maxBatch {
		select {
		case req := <-b.requests:
			w.run(req)
			continue
		default:
		}
		if b.idle == nil {
			return false
		}
		select {
		case req := <-b.requests:
			w.run(req)
		case <-b.idle:
			return false
		case <-b.quit:
			return true
		}
	}
	return false
}

// batchTx is the open transaction of one batch: each request runs in a
// savepoint of its own as it arrives; commit ends it.
type batchTx struct {
	db       *DB
	sqlTx    *sql.Tx
	t        *tx
	err      error // a failure that fails the whole batch
	requests []writeRequest
	results  []result
}

func (w *batchTx) begin() {
	w.requests, w.results, w.err = nil, nil, nil
	w.sqlTx, w.err = w.db.write.BeginTx(context.Background(), nil)
	if w.err != nil {
		w.err = gateway.Internal(fmt.Errorf("begin: %w", w.err))
		return
	}
	w.t = &tx{db: w.db, q: w.sqlTx, sqlTx: w.sqlTx, stmts: w.db.writeStmts, writable: true, changes: w.db.newChanges()}
}

// run runs one request's function in its own savepoint, and rolls it back
// to that savepoint if it fails.
func (w *batchTx) run(req writeRequest) {
	w.requests = append(w.requests, req)
	if w.err != nil {
		return
	}
	ctx := context.Background() // each request's own ctx goes to its fn
	if err := w.exec(ctx, "SAVEPOINT op"); err != nil {
		w.err = gateway.Internal(fmt.Errorf("savepoint: %w", err))
		return
	}
	r := callRecovering(req.fn, w.t)
	if r.err != nil || r.panicked != nil {
		if err := w.exec(ctx, "ROLLBACK TO op"); err != nil {
			w.err = gateway.Internal(fmt.Errorf("rollback to savepoint: %w", err))
			return
		}
	}
	if err := w.exec(ctx, "RELEASE op"); err != nil {
		w.err = gateway.Internal(fmt.Errorf("release savepoint: %w", err))
		return
	}
	w.results = append(w.results, r)
}

// exec runs one of the savepoint statements, prepared once: parsing them
// for every operation cost about 2% of a charge's CPU.
func (w *batchTx) exec(ctx context.Context, query string) error {
	var err error
	if s := w.t.stmt(ctx, query); s != nil {
		_, err = s.ExecContext(ctx)
	} else {
		_, err = w.sqlTx.ExecContext(ctx, query)
	}
	return err
}

// commit ends the batch and returns its requests with each one's result:
// its own, or the failure of the batch.
func (w *batchTx) commit() ([]writeRequest, []result) {
	if w.err == nil {
		if err := w.sqlTx.Commit(); err != nil {
			// Refusals too may have rested on writes that are now lost.
			w.err = gateway.Internal(fmt.Errorf("commit: %w", err))
		}
	}
	if w.err != nil {
		if w.sqlTx != nil {
			_ = w.sqlTx.Rollback()
		}
		w.results = w.results[:0]
		for range w.requests {
			w.results = append(w.results, result{err: w.err})
		}
	}
	if w.t != nil {
		w.db.ended(w.t.changes)
	}
	w.sqlTx, w.t = nil, nil
	return w.requests, w.results
}

// callRecovering catches a panic in fn, so that one bad request cannot take
// the writer, and every batch after it, down; the caller re-raises it.
func callRecovering(fn func(gateway.Tx) error, t *tx) (r result) {
	defer func() {
		if v := recover(); v != nil {
			r = result{err: gateway.Internal(fmt.Errorf("panic in a write transaction: %v", v)), panicked: v}
		}
	}()
	return result{err: fn(t)}
}
