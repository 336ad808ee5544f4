package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// copyTables lists every table with data, parents before children, with the
// column that orders its rows. Append-only tables are copied in their order
// without their position columns (sequenceColumns), which the destination
// assigns anew.
var copyTables = []struct{ name, order string }{
	{"accounts", "id"},
	{"api_keys", "id"},
	{"users", "id"},
	{"portal_sessions", "token_hash"},
	{"products", "account_id, environment, codename"},
	{"checkout_sessions", "id"},
	{"payments", "id"},
	{"transactions", ""}, // in the source's ledger order
	{"idempotency_keys", "account_id, environment, key"},
	{"settlement_runs", "cutoff"},
	{"settlement_batches", "id"},
	{"audit_log", "seq"},
	{"processor_configs", "account_id"},
	{"webhook_endpoints", "id"},
	{"webhook_deliveries", "seq"},
}

// sequenceColumns are the columns a destination assigns itself: the audit
// log's order, the ledger's position (and, on PostgreSQL, its transaction
// id).
var sequenceColumns = []string{"seq", "xid"}

// CopyReport is what a copy moved, per table, and the money it checked.
type CopyReport struct {
	Rows   map[string]int64
	Totals map[string]int64 // sums of amount columns, equal on both sides
}

// checks are the figures compared between source and destination after a
// copy: row counts and money totals.
var checks = map[string]string{
	"payments.authorized_amount":  "SELECT COALESCE(SUM(authorized_amount), 0) FROM payments",
	"payments.captured_amount":    "SELECT COALESCE(SUM(captured_amount), 0) FROM payments",
	"payments.refunded_amount":    "SELECT COALESCE(SUM(refunded_amount), 0) FROM payments",
	"transactions.amount":         "SELECT COALESCE(SUM(amount), 0) FROM transactions",
	"settlement_batches.payments": "SELECT COALESCE(SUM(payment_count), 0) FROM settlement_batches",
	"settlement_batches.total":    "SELECT COALESCE(SUM(total), 0) FROM settlement_batches",
	"checkout_sessions.amount":    "SELECT COALESCE(SUM(amount), 0) FROM checkout_sessions",
}

// Copy copies every row of src into dst, which must be empty, in one
// destination transaction, then verifies that row counts and money totals
// match on both sides.
func Copy(ctx context.Context, src, dst *DB) (CopyReport, error) {
	rep := CopyReport{Rows: map[string]int64{}, Totals: map[string]int64{}}
	for _, t := range copyTables {
		var n int64
		if err := dst.write.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&n); err != nil {
			return rep, fmt.Errorf("destination %s: %w", t.name, err)
		}
		if n != 0 {
			return rep, fmt.Errorf("the destination is not empty: %s has %d rows", t.name, n)
		}
	}
	tx, err := dst.write.BeginTx(ctx, nil)
	if err != nil {
		return rep, err
	}
	defer func() { _ = tx.Rollback() }()
	for _, t := range copyTables {
		order := t.order
		if order == "" {
			order = src.d.PositionOrder
		}
		rows, err := src.read.QueryContext(ctx, "SELECT * FROM "+t.name+" ORDER BY "+order)
		if err != nil {
			return rep, fmt.Errorf("read %s: %w", t.name, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return rep, err
		}
		keep := make([]bool, len(cols))
		var names []string
		for i, c := range cols {
			if keep[i] = !slices.Contains(sequenceColumns, c); keep[i] {
				names = append(names, c)
			}
		}
		insert, err := tx.PrepareContext(ctx, dst.d.Rebind("INSERT INTO "+t.name+" ("+strings.Join(names, ", ")+") VALUES ("+placeholders(len(names))+")"))
		if err != nil {
			rows.Close()
			return rep, fmt.Errorf("prepare %s: %w", t.name, err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		row := make([]any, 0, len(names))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return rep, fmt.Errorf("read %s: %w", t.name, err)
			}
			row = row[:0]
			for i, v := range vals {
				if !keep[i] {
					continue
				}
				// An empty BLOB reads as a nil []byte, which pgx writes as
				// NULL: the idempotency records of issue 12 keep an empty body.
				if b, ok := v.([]byte); ok && b == nil {
					v = []byte{}
				}
				row = append(row, v)
			}
			if _, err := insert.ExecContext(ctx, row...); err != nil {
				rows.Close()
				return rep, fmt.Errorf("write %s: %w", t.name, err)
			}
			rep.Rows[t.name]++
		}
		rows.Close()
		_ = insert.Close()
		if err := rows.Err(); err != nil {
			return rep, fmt.Errorf("read %s: %w", t.name, err)
		}
	}
	if err := copyWebhookCursor(ctx, src, dst, tx); err != nil {
		return rep, err
	}
	if err := tx.Commit(); err != nil {
		return rep, fmt.Errorf("commit: %w", err)
	}
	return rep, verifyCopy(ctx, src, dst, &rep)
}

// copyWebhookCursor puts the destination's webhook cursor on the same
// ledger row as the source's. Positions mean something only to the store
// that made them, but the copy keeps the ledger's order: the cursor is
// after the n-th final row on both sides, so that the events fanned out
// already are not sent again and those not fanned out yet still will be.
func copyWebhookCursor(ctx context.Context, src, dst *DB, dstTx *sql.Tx) error {
	var cur gateway.LedgerPosition
	if err := src.read.QueryRowContext(ctx, "SELECT epoch, seq FROM webhook_cursor WHERE name = 'ledger'").Scan(&cur.Epoch, &cur.Seq); err != nil {
		return fmt.Errorf("read the webhook cursor: %w", err)
	}
	after, args := src.d.AfterPosition(cur)
	var n int64
	if err := src.read.QueryRowContext(ctx, src.d.Rebind("SELECT COUNT(*) FROM transactions WHERE result <> 'pending' AND NOT ("+after+")"), args...).Scan(&n); err != nil {
		return fmt.Errorf("count the events fanned out: %w", err)
	}
	var pos gateway.LedgerPosition
	if n > 0 {
		err := dstTx.QueryRowContext(ctx, dst.d.Rebind("SELECT "+dst.d.PositionColumns+" FROM transactions WHERE result <> 'pending' ORDER BY "+
			dst.d.PositionOrder+" LIMIT 1 OFFSET ?"), n-1).Scan(&pos.Epoch, &pos.Seq)
		if err != nil {
			return fmt.Errorf("find the webhook cursor's row: %w", err)
		}
	}
	if _, err := dstTx.ExecContext(ctx, dst.d.Rebind("UPDATE webhook_cursor SET epoch = ?, seq = ? WHERE name = 'ledger'"), pos.Epoch, pos.Seq); err != nil {
		return fmt.Errorf("write the webhook cursor: %w", err)
	}
	return nil
}

func verifyCopy(ctx context.Context, src, dst *DB, rep *CopyReport) error {
	for _, t := range copyTables {
		var a, b int64
		if err := src.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&a); err != nil {
			return err
		}
		if err := dst.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&b); err != nil {
			return err
		}
		if a != b || b != rep.Rows[t.name] {
			return fmt.Errorf("verify %s: %d rows in the source, %d in the destination", t.name, a, b)
		}
	}
	for name, q := range checks {
		var a, b int64
		if err := src.read.QueryRowContext(ctx, q).Scan(&a); err != nil {
			return err
		}
		if err := dst.read.QueryRowContext(ctx, q).Scan(&b); err != nil {
			return err
		}
		if a != b {
			return fmt.Errorf("verify %s: %d in the source, %d in the destination", name, a, b)
		}
		rep.Totals[name] = b
	}
	return nil
}
