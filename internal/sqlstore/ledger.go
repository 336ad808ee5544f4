package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// The two-phase write path (ADR 11): pending transactions, their leases and
// their finish, the ledger in commit order, and idempotency retention.

func (t *tx) Transaction(ctx context.Context, accountID string, env gateway.Environment, txID string) (gateway.Transaction, error) {
	var r transactionRow
	err := t.queryRow(ctx, `SELECT `+transactionColumns+` FROM transactions WHERE id = ? AND account_id = ? AND environment = ?`,
		txID, accountID, string(env)).Scan(r.dest()...)
	if err != nil {
		return r.t, notFoundOr(err)
	}
	tr, err := r.transaction()
	if err != nil {
		return tr, gateway.Internal(err)
	}
	return tr, nil
}

func (t *tx) FinishTransaction(ctx context.Context, tr gateway.Transaction) error {
	t.changes.payment(tr.PaymentID)
	res, err := t.exec(ctx, `UPDATE transactions SET result = ?, code = ?, lease_until = NULL, `+t.db.d.NextPosition+`
		WHERE id = ? AND result = 'pending'`, string(tr.Result), tr.Code, tr.ID)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrConflict)
}

func (t *tx) ExtendLease(ctx context.Context, txID string, from, to time.Time) error {
	res, err := t.exec(ctx, `UPDATE transactions SET lease_until = ? WHERE id = ? AND result = 'pending' AND lease_until = ?`,
		formatTime(to), txID, formatTime(from))
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrConflict)
}

func (t *tx) PendingTransactions(ctx context.Context, at time.Time, limit int) ([]gateway.Transaction, error) {
	// "result = 'pending'" matches the partial index transactions_pending.
	rows, err := t.query(ctx, `SELECT `+transactionColumns+` FROM transactions
		WHERE result = 'pending' AND lease_until <= ? ORDER BY lease_until LIMIT ?`, formatTime(at), limitArg(limit))
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return scanTransactions(rows)
}

func (t *tx) LedgerAfter(ctx context.Context, after gateway.LedgerPosition, limit int) ([]gateway.LedgerEntry, error) {
	cond, args := t.db.d.AfterPosition(after)
	rows, err := t.query(ctx, `SELECT `+transactionColumns+`, `+t.db.d.PositionColumns+` FROM transactions
		WHERE `+cond+` AND result <> 'pending' ORDER BY `+t.db.d.PositionOrder+` LIMIT ?`, append(args, limitArg(limit))...)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	defer rows.Close()
	var out []gateway.LedgerEntry
	for rows.Next() {
		var r transactionRow
		var e gateway.LedgerEntry
		if err := rows.Scan(append(r.dest(), &e.Position.Epoch, &e.Position.Seq)...); err != nil {
			return nil, gateway.Internal(err)
		}
		if e.Transaction, err = r.transaction(); err != nil {
			return nil, gateway.Internal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, gateway.Internal(err)
	}
	return out, nil
}

func (t *tx) DeleteIdempotencyRecords(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM idempotency_keys WHERE (account_id, environment, key) IN (
		SELECT k.account_id, k.environment, k.key FROM idempotency_keys k WHERE k.created_at < ?
		AND NOT EXISTS (SELECT 1 FROM transactions x WHERE x.id = k.transaction_id AND x.result = 'pending')
		LIMIT ?)`, formatTime(before), limitArg(limit))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, gateway.Internal(err)
	}
	return int(n), nil
}

// paymentWindow is the part of a listing's conditions that the index on
// (account_id, environment, created_at, id) serves: the account, the
// cursor and the dates.
func paymentWindow(f gateway.PaymentFilter) (string, []any) {
	var where strings.Builder
	where.WriteString("account_id = ? AND environment = ?")
	args := []any{f.AccountID, string(f.Environment)}
	add := func(cond string, arg ...any) {
		where.WriteString(" AND " + cond)
		args = append(args, arg...)
	}
	if f.Before != nil {
		// (created_at, id) < cursor, spelled out: the index on
		// (account_id, environment, created_at, id) serves it on both
		// backends.
		at := formatTime(f.Before.CreatedAt)
		add("created_at <= ? AND (created_at < ? OR id < ?)", at, at, f.Before.ID)
	}
	if !f.From.IsZero() {
		add("created_at >= ?", formatTime(f.From))
	}
	if !f.To.IsZero() {
		add("created_at < ?", formatTime(f.To))
	}
	return where.String(), args
}

// paymentConditions are the rest of a listing's conditions, on columns of
// payments p.
func paymentConditions(f gateway.PaymentFilter) ([]string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.Status != "" {
		add("p.status = ?", string(f.Status))
	}
	if f.MinAmount > 0 {
		add("p.authorized_amount >= ?", f.MinAmount)
	}
	if f.MaxAmount > 0 {
		add("p.authorized_amount <= ?", f.MaxAmount)
	}
	if f.OrderID != "" {
		add("p.order_id = ?", f.OrderID)
	}
	if f.Email != "" {
		add("p.email = ?", f.Email)
	}
	if f.Last4 != "" {
		add("p.card_last4 = ?", f.Last4)
	}
	if f.Operation != "" {
		add("EXISTS (SELECT 1 FROM transactions x WHERE x.payment_id = p.id AND x.operation = ?)", string(f.Operation))
	}
	return conds, args
}

// bounded reports whether a listing examines at most f.ScanLimit payments:
// it has conditions the indexes do not serve. An order id has its own
// index (payments_duplicate), which narrows any listing to a few rows.
func bounded(f gateway.PaymentFilter) bool {
	return f.ScanLimit > 0 && f.OrderID == "" &&
		(f.Status != "" || f.MinAmount > 0 || f.MaxAmount > 0 || f.Email != "" || f.Last4 != "" || f.Operation != "")
}

func (t *tx) Payments(ctx context.Context, f gateway.PaymentFilter) ([]gateway.Payment, error) {
	if f.AccountID == "" || f.Environment == "" || f.Limit <= 0 || f.Limit > gateway.MaxPaymentPage {
		return nil, gateway.Internal(errBadFilter)
	}
	window, args := paymentWindow(f)
	conds, condArgs := paymentConditions(f)
	order := "created_at DESC, id DESC"
	var query string
	switch {
	case bounded(f):
		// The window's newest ScanLimit payments (the index walks them in
		// order), then the other conditions on those only.
		query = `SELECT ` + paymentColumns + ` FROM (SELECT ` + paymentColumns + ` FROM payments WHERE ` + window + `
			ORDER BY ` + order + ` LIMIT ?) p WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`
		args = append(append(args, f.ScanLimit), condArgs...)
	default:
		if f.OrderID != "" {
			// Sorted on an expression, so that SQLite's planner takes the
			// order id's index and sorts its few rows, instead of walking
			// the account's whole history in created_at order to find them.
			order = "created_at || '' DESC, id DESC"
		}
		query = `SELECT ` + paymentColumns + ` FROM payments p WHERE ` + window
		for _, c := range conds {
			query += " AND " + c
		}
		query += ` ORDER BY ` + order + ` LIMIT ?`
		args = append(args, condArgs...)
	}
	rows, err := t.query(ctx, query, append(args, f.Limit)...)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return collect(rows, scanPayment)
}

func (t *tx) ScanEnd(ctx context.Context, f gateway.PaymentFilter) (*gateway.PaymentCursor, error) {
	if !bounded(f) {
		return nil, nil
	}
	window, args := paymentWindow(f)
	var at, id string
	err := t.queryRow(ctx, `SELECT created_at, id FROM payments WHERE `+window+` ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET ?`,
		append(args, f.ScanLimit-1)...).Scan(&at, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, gateway.Internal(err)
	}
	created, err := parseTime(at)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return &gateway.PaymentCursor{CreatedAt: created, ID: id}, nil
}

var errBadFilter = errors.New("a payment listing needs an account, an environment and a limit of 1 to gateway.MaxPaymentPage")
