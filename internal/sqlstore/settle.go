package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Settlement in chunks: each chunk settles a bounded number of one group's
// payments in a short transaction, so that a large settlement never holds
// the writer (SQLite's only one) for long.

func (t *tx) NextSettlementGroup(ctx context.Context, before time.Time) (gateway.SettlementGroup, error) {
	var g gateway.SettlementGroup
	err := t.queryRow(ctx, `SELECT account_id, environment, currency FROM payments
		WHERE status = 'captured' AND in_flight = 0 AND updated_at <= ? LIMIT 1`, formatTime(before)).
		Scan(&g.AccountID, &g.Environment, &g.Currency)
	if err != nil {
		return g, notFoundOr(err)
	}
	return g, nil
}

func (t *tx) SettlePayments(ctx context.Context, g gateway.SettlementGroup, before time.Time, batchID string, at time.Time, limit int) ([]gateway.SettledPayment, error) {
	// One statement both moves the payments and reports what it moved, so
	// that the figures are exactly those of the settled rows: a refund
	// committed meanwhile is either waited for (PostgreSQL re-reads the
	// locked row and its conditions) or not yet visible, never half
	// counted. Payments with an operation in flight wait for a later run:
	// their amounts are not final.
	t.changes.everything()
	when := formatTime(at)
	rows, err := t.query(ctx, `UPDATE payments SET status = 'settled', settled_at = ?, batch_id = ?, updated_at = ?, version = version + 1
		WHERE id IN (SELECT id FROM payments WHERE status = 'captured' AND in_flight = 0 AND updated_at <= ?
			AND account_id = ? AND environment = ? AND currency = ? LIMIT ?)
		AND status = 'captured' AND in_flight = 0
		RETURNING id, account_id, environment, captured_amount - refunded_amount`,
		when, batchID, when, formatTime(before), g.AccountID, string(g.Environment), g.Currency, limit)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	defer rows.Close()
	var out []gateway.SettledPayment
	for rows.Next() {
		var p gateway.SettledPayment
		if err := rows.Scan(&p.ID, &p.AccountID, &p.Environment, &p.Net); err != nil {
			return nil, gateway.Internal(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, gateway.Internal(err)
	}
	return out, nil
}

const batchColumns = "id, run_id, account_id, environment, currency, closed_at, payment_count, total"

func (t *tx) SettlementBatch(ctx context.Context, runID string, g gateway.SettlementGroup) (gateway.SettlementBatch, error) {
	var b gateway.SettlementBatch
	var closed string
	err := t.queryRow(ctx, `SELECT `+batchColumns+` FROM settlement_batches
		WHERE run_id = ? AND account_id = ? AND environment = ? AND currency = ?`, runID, g.AccountID, string(g.Environment), g.Currency).
		Scan(&b.ID, &b.RunID, &b.Group.AccountID, &b.Group.Environment, &b.Group.Currency, &closed, &b.Count, &b.Total)
	if err != nil {
		return b, notFoundOr(err)
	}
	if b.ClosedAt, err = parseTime(closed); err != nil {
		return b, gateway.Internal(err)
	}
	return b, nil
}

func (t *tx) PutSettlementBatch(ctx context.Context, b gateway.SettlementBatch) error {
	// totals keeps the per-currency form of the batches written before
	// batches had one group each, so that both read alike.
	totals, _ := json.Marshal(map[string]int64{b.Group.Currency: b.Total})
	_, err := t.exec(ctx, `INSERT INTO settlement_batches (`+batchColumns+`, totals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET payment_count = excluded.payment_count, total = excluded.total, totals = excluded.totals`,
		b.ID, b.RunID, b.Group.AccountID, string(b.Group.Environment), b.Group.Currency, formatTime(b.ClosedAt), b.Count, b.Total, string(totals))
	return err
}

func (t *tx) SettlementBatches(ctx context.Context, runID string) ([]gateway.SettlementBatch, error) {
	rows, err := t.query(ctx, `SELECT `+batchColumns+` FROM settlement_batches WHERE run_id = ? ORDER BY account_id, environment, currency`, runID)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	defer rows.Close()
	var out []gateway.SettlementBatch
	for rows.Next() {
		var b gateway.SettlementBatch
		var closed string
		if err := rows.Scan(&b.ID, &b.RunID, &b.Group.AccountID, &b.Group.Environment, &b.Group.Currency, &closed, &b.Count, &b.Total); err != nil {
			return nil, gateway.Internal(err)
		}
		if b.ClosedAt, err = parseTime(closed); err != nil {
			return nil, gateway.Internal(err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t *tx) SettlementRun(ctx context.Context, cutoff string) (gateway.SettlementRun, error) {
	var r gateway.SettlementRun
	var started, lease string
	var done sql.NullString
	err := t.queryRow(ctx, `SELECT id, cutoff, owner, started_at, lease_until, done_at FROM settlement_runs WHERE cutoff = ?`, cutoff).
		Scan(&r.ID, &r.Cutoff, &r.Owner, &started, &lease, &done)
	if err != nil {
		return r, notFoundOr(err)
	}
	if r.StartedAt, err = parseTime(started); err == nil {
		if r.LeaseUntil, err = parseTime(lease); err == nil && done.Valid {
			r.DoneAt, err = parseTime(done.String)
		}
	}
	if err != nil {
		return r, gateway.Internal(err)
	}
	return r, nil
}

func (t *tx) InsertSettlementRun(ctx context.Context, r gateway.SettlementRun) error {
	_, err := t.exec(ctx, `INSERT INTO settlement_runs (id, cutoff, owner, started_at, lease_until, done_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.ID, r.Cutoff, r.Owner, formatTime(r.StartedAt), formatTime(r.LeaseUntil), nullTime(r.DoneAt))
	return err
}

func (t *tx) UpdateSettlementRun(ctx context.Context, r gateway.SettlementRun, leaseWas time.Time) error {
	res, err := t.exec(ctx, `UPDATE settlement_runs SET owner = ?, lease_until = ?, done_at = ? WHERE id = ? AND lease_until = ?`,
		r.Owner, formatTime(r.LeaseUntil), nullTime(r.DoneAt), r.ID, formatTime(leaseWas))
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrConflict)
}
