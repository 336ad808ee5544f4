package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

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
	batch := make([]writeRequest, 0, maxBatch)
	results := make([]result, 0, maxBatch)
	for {
		select {
		case <-b.quit:
			return
		case first := <-b.requests:
			batch = append(batch[:0], first)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case req := <-b.requests:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		results = db.runBatch(batch, results[:0])
		if b.synced != nil {
			b.synced <- committedBatch{requests: slices.Clone(batch), results: slices.Clone(results)}
			continue
		}
		for i, req := range batch {
			req.done <- results[i]
		}
	}
}

// runBatch runs every request of batch in one transaction and returns each
// one's result: its own error, or the commit's.
func (db *DB) runBatch(batch []writeRequest, results []result) []result {
	fail := func(err error) []result {
		results = results[:0]
		for range batch {
			results = append(results, result{err: err})
		}
		return results
	}
	ctx := context.Background() // each request's own ctx goes to its fn
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fail(gateway.Internal(fmt.Errorf("begin: %w", err)))
	}
	defer func() { _ = sqlTx.Rollback() }()
	t := &tx{db: db, q: sqlTx, stmts: db.writeStmts, writable: true}
	for _, req := range batch {
		if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT op"); err != nil {
			return fail(gateway.Internal(fmt.Errorf("savepoint: %w", err)))
		}
		r := callRecovering(req.fn, t)
		if r.err != nil || r.panicked != nil {
			if _, rerr := sqlTx.ExecContext(ctx, "ROLLBACK TO op"); rerr != nil {
				return fail(gateway.Internal(fmt.Errorf("rollback to savepoint: %w", rerr)))
			}
		}
		if _, rerr := sqlTx.ExecContext(ctx, "RELEASE op"); rerr != nil {
			return fail(gateway.Internal(fmt.Errorf("release savepoint: %w", rerr)))
		}
		results = append(results, r)
	}
	if err := sqlTx.Commit(); err != nil {
		// Refusals too may have rested on writes that are now lost.
		return fail(gateway.Internal(fmt.Errorf("commit: %w", err)))
	}
	return results
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
