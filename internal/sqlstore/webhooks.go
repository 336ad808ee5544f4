package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Webhooks (issue 17): endpoints, the fan-out cursor and deliveries.

// eventPaymentsChunk is the number of ids one statement of EventPayments
// reads: a fixed size (padded), so that the statement is prepared once.
const eventPaymentsChunk = 64

func (t *tx) EventPayments(ctx context.Context, ids []string) (map[string]gateway.Payment, error) {
	out := make(map[string]gateway.Payment, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), eventPaymentsChunk)
		args := make([]any, eventPaymentsChunk)
		for i := range args {
			args[i] = ids[min(i, n-1)]
		}
		ids = ids[n:]
		if err := t.eventPayments(ctx, args, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

var (
	eventPaymentsSQL = `SELECT ` + paymentColumns + ` FROM payments WHERE id IN (` + placeholders(eventPaymentsChunk) + `)`
	// The latest gateway.MaxLookupTransactions of each payment, and how
	// many it has, oldest first.
	eventTransactionsSQL = `SELECT ` + transactionColumns + `, n FROM (SELECT ` + transactionColumns + `,
		ROW_NUMBER() OVER (PARTITION BY payment_id ORDER BY created_at DESC, id DESC) AS rn,
		COUNT(*) OVER (PARTITION BY payment_id) AS n
		FROM transactions WHERE payment_id IN (` + placeholders(eventPaymentsChunk) + `)) latest
		WHERE rn <= ` + strconv.Itoa(gateway.MaxLookupTransactions) + ` ORDER BY payment_id, created_at, id`
)

func (t *tx) eventPayments(ctx context.Context, args []any, out map[string]gateway.Payment) error {
	rows, err := t.query(ctx, eventPaymentsSQL, args...)
	if err != nil {
		return gateway.Internal(err)
	}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			rows.Close()
			return gateway.Internal(err)
		}
		out[p.ID] = p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return gateway.Internal(err)
	}
	rows, err = t.query(ctx, eventTransactionsSQL, args...)
	if err != nil {
		return gateway.Internal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r transactionRow
		var n int
		if err := rows.Scan(append(r.dest(), &n)...); err != nil {
			return gateway.Internal(err)
		}
		tr, err := r.transaction()
		if err != nil {
			return gateway.Internal(err)
		}
		p, ok := out[tr.PaymentID]
		if !ok {
			continue // committed after the payments were read
		}
		p.Transactions, p.TransactionCount = append(p.Transactions, tr), n
		out[tr.PaymentID] = p
	}
	if err := rows.Err(); err != nil {
		return gateway.Internal(err)
	}
	return nil
}

const endpointColumns = "id, account_id, environment, url, events, enabled, secret, previous_secret, previous_until, created_at, updated_at"

func scanEndpoint(row rowScanner) (gateway.WebhookEndpoint, error) {
	var e gateway.WebhookEndpoint
	var events, created, updated string
	var enabled int
	var until sql.NullString
	if err := row.Scan(&e.ID, &e.AccountID, &e.Environment, &e.URL, &events, &enabled, &e.SealedSecret, &e.SealedPrevious, &until, &created, &updated); err != nil {
		return e, err
	}
	if events != "" {
		e.Events = strings.Split(events, ",")
	}
	e.Enabled = enabled != 0
	var err error
	if e.CreatedAt, err = parseTime(created); err != nil {
		return e, err
	}
	if e.UpdatedAt, err = parseTime(updated); err != nil {
		return e, err
	}
	if until.Valid {
		e.PreviousUntil, err = parseTime(until.String)
	}
	return e, err
}

func (t *tx) WebhookEndpoints(ctx context.Context, accountID string) ([]gateway.WebhookEndpoint, error) {
	q, args := `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY created_at, id`, []any(nil)
	if accountID != "" {
		q, args = `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE account_id = ? ORDER BY created_at, id`, []any{accountID}
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return collect(rows, scanEndpoint)
}

func (t *tx) WebhookEndpoint(ctx context.Context, id string) (gateway.WebhookEndpoint, error) {
	e, err := scanEndpoint(t.queryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = ?`, id))
	if err != nil {
		return e, notFoundOr(err)
	}
	return e, nil
}

func (t *tx) InsertWebhookEndpoint(ctx context.Context, e gateway.WebhookEndpoint) error {
	_, err := t.exec(ctx, `INSERT INTO webhook_endpoints (`+endpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.AccountID, string(e.Environment), e.URL, strings.Join(e.Events, ","), boolInt(e.Enabled),
		e.SealedSecret, e.SealedPrevious, nullTime(e.PreviousUntil), formatTime(e.CreatedAt), formatTime(e.UpdatedAt))
	return err
}

func (t *tx) UpdateWebhookEndpoint(ctx context.Context, e gateway.WebhookEndpoint) error {
	res, err := t.exec(ctx, `UPDATE webhook_endpoints SET url = ?, events = ?, enabled = ?, secret = ?, previous_secret = ?,
		previous_until = ?, updated_at = ? WHERE id = ?`,
		e.URL, strings.Join(e.Events, ","), boolInt(e.Enabled), e.SealedSecret, e.SealedPrevious,
		nullTime(e.PreviousUntil), formatTime(e.UpdatedAt), e.ID)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

func (t *tx) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	// The deliveries first: SQLite enforces the foreign key's cascade only
	// with foreign_keys on, which the store sets; deleting them here does
	// not depend on it.
	if _, err := t.exec(ctx, `DELETE FROM webhook_deliveries WHERE endpoint_id = ?`, id); err != nil {
		return err
	}
	res, err := t.exec(ctx, `DELETE FROM webhook_endpoints WHERE id = ?`, id)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

func (t *tx) WebhookCursor(ctx context.Context) (gateway.LedgerPosition, error) {
	var p gateway.LedgerPosition
	err := t.queryRow(ctx, `SELECT epoch, seq FROM webhook_cursor WHERE name = 'ledger'`+t.forUpdate()).Scan(&p.Epoch, &p.Seq)
	if err != nil {
		return p, gateway.Internal(err)
	}
	return p, nil
}

func (t *tx) SetWebhookCursor(ctx context.Context, p gateway.LedgerPosition) error {
	res, err := t.exec(ctx, `UPDATE webhook_cursor SET epoch = ?, seq = ? WHERE name = 'ledger'`, p.Epoch, p.Seq)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.Internal(errNoCursor))
}

var errNoCursor = errorString("the webhook cursor row is missing (migration 0009)")

type errorString string

func (e errorString) Error() string { return string(e) }

const deliveryColumns = `seq, event_id, endpoint_id, account_id, environment, event_type, payment_id, transaction_json, event_at, status,
	next_attempt_at, give_up_at, delivered_at, attempts`

func scanDelivery(row rowScanner) (gateway.WebhookDelivery, error) {
	var d gateway.WebhookDelivery
	var eventAt, next, giveUp, attempts string
	var delivered sql.NullString
	err := row.Scan(&d.Seq, &d.EventID, &d.EndpointID, &d.AccountID, &d.Environment, &d.EventType, &d.PaymentID, &d.Transaction,
		&eventAt, &d.Status, &next, &giveUp, &delivered, &attempts)
	if err != nil {
		return d, err
	}
	if d.EventAt, err = parseTime(eventAt); err != nil {
		return d, err
	}
	if d.NextAttemptAt, err = parseTime(next); err != nil {
		return d, err
	}
	if d.GiveUpAt, err = parseTime(giveUp); err != nil {
		return d, err
	}
	if delivered.Valid {
		if d.DeliveredAt, err = parseTime(delivered.String); err != nil {
			return d, err
		}
	}
	if attempts != "" && attempts != "[]" {
		err = json.Unmarshal([]byte(attempts), &d.Attempts)
	}
	return d, err
}

func scanDeliveries(rows *sql.Rows) ([]gateway.WebhookDelivery, error) {
	return collect(rows, scanDelivery)
}

func attemptsJSON(a []gateway.WebhookAttempt) string {
	if len(a) == 0 {
		return "[]"
	}
	utc := make([]gateway.WebhookAttempt, len(a))
	for i, x := range a {
		x.At = x.At.UTC() // stored times are UTC, as every other
		utc[i] = x
	}
	b, _ := json.Marshal(utc) // plain values: always encodes
	return string(b)
}

func (t *tx) InsertWebhookDelivery(ctx context.Context, d gateway.WebhookDelivery) (bool, error) {
	res, err := t.exec(ctx, `INSERT INTO webhook_deliveries (event_id, endpoint_id, account_id, environment, event_type, payment_id,
		transaction_json, event_at, status, next_attempt_at, give_up_at, delivered_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
		d.EventID, d.EndpointID, d.AccountID, string(d.Environment), d.EventType, d.PaymentID, d.Transaction, formatTime(d.EventAt),
		string(gateway.DeliveryPending), formatTime(d.NextAttemptAt), formatTime(d.GiveUpAt), nullTime(d.DeliveredAt), attemptsJSON(d.Attempts))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, gateway.Internal(err)
	}
	return n == 1, nil
}

func (t *tx) ClaimWebhookDeliveries(ctx context.Context, endpointID string, now, lease time.Time, limit int) ([]gateway.WebhookDelivery, error) {
	// One statement picks and leases: a delivery follows the pending
	// deliveries of its payment to the same endpoint (in order per
	// payment), and rows another process is claiming are skipped, not
	// waited for (PostgreSQL; SQLite has one writer). The due index serves
	// the rows in (next_attempt_at, seq) order, so that the statement
	// reads the due rows it takes, not a whole backlog: leased rows and
	// rows waiting for a retry are past now.
	rows, err := t.query(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE seq IN (
		SELECT d.seq FROM webhook_deliveries d
		WHERE d.endpoint_id = ? AND d.status = 'pending' AND d.next_attempt_at <= ?
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.payment_id = d.payment_id
			AND e.status = 'pending' AND e.seq < d.seq)
		ORDER BY d.next_attempt_at, d.seq LIMIT ?`+t.db.d.SkipLocked+`)
		AND status = 'pending' AND next_attempt_at <= ?
		RETURNING `+deliveryColumns, formatTime(lease), endpointID, formatTime(now), limit, formatTime(now))
	if err != nil {
		return nil, gateway.Internal(err)
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order; the caller sends in fan-out order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Seq < out[j-1].Seq; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

func (t *tx) RecordWebhookAttempt(ctx context.Context, d gateway.WebhookDelivery, leaseWas time.Time) error {
	res, err := t.exec(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, delivered_at = ?, attempts = ?
		WHERE seq = ? AND status = 'pending' AND next_attempt_at = ?`,
		string(d.Status), formatTime(d.NextAttemptAt), nullTime(d.DeliveredAt), attemptsJSON(d.Attempts), d.Seq, formatTime(leaseWas))
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrConflict)
}

func (t *tx) ResendWebhookEvent(ctx context.Context, accountID, eventID, endpointID string, now, giveUp time.Time) (int, error) {
	q := `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, give_up_at = ?
		WHERE event_id = ? AND (account_id = ? OR ? = '')`
	args := []any{formatTime(now), formatTime(giveUp), eventID, accountID, accountID}
	if endpointID != "" {
		q += ` AND endpoint_id = ?`
		args = append(args, endpointID)
	}
	// A delivery being sent right now keeps its lease: resending it would
	// send it twice at once.
	q += ` AND NOT (status = 'pending' AND next_attempt_at > ?)`
	args = append(args, formatTime(now))
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, gateway.Internal(err)
	}
	return int(n), nil
}

func (t *tx) WebhookDeliveries(ctx context.Context, f gateway.WebhookDeliveryFilter) ([]gateway.WebhookDelivery, error) {
	if f.Limit <= 0 || f.Limit > gateway.MaxPaymentPage || f.EventID == "" && f.AccountID == "" {
		return nil, gateway.Internal(errBadDeliveryFilter)
	}
	var where []string
	var args []any
	if f.EventID != "" {
		where, args = append(where, "event_id = ?"), append(args, f.EventID)
	}
	if f.AccountID != "" {
		where, args = append(where, "account_id = ?"), append(args, f.AccountID)
	}
	if f.Environment != "" {
		where, args = append(where, "environment = ?"), append(args, string(f.Environment))
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	rows, err := t.query(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE `+strings.Join(where, " AND ")+
		` ORDER BY seq DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return scanDeliveries(rows)
}

var errBadDeliveryFilter = errorString("a delivery listing needs an event or an account, and a limit of 1 to gateway.MaxPaymentPage")

func (t *tx) PurgeWebhookDeliveries(ctx context.Context, after int64, before time.Time, window int) (int, int64, bool, error) {
	// The window is read in seq order from the primary key, and ends at
	// the first event young enough to keep: seq follows the ledger, so the
	// rows after it are as young. No index on event time is needed (one
	// would cost every event's insert), and a purge with nothing to do
	// reads one row.
	rows, err := t.query(ctx, `SELECT seq, event_at FROM webhook_deliveries WHERE seq > ? ORDER BY seq LIMIT ?`, after, window)
	if err != nil {
		return 0, after, false, gateway.Internal(err)
	}
	cut, seen, old := formatTime(before), 0, true
	next := after
	for rows.Next() {
		var seq int64
		var at string
		if err := rows.Scan(&seq, &at); err != nil {
			rows.Close()
			return 0, after, false, gateway.Internal(err)
		}
		seen++
		if at >= cut { // formatTime sorts as time does
			old = false
			break
		}
		next = seq
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, after, false, gateway.Internal(err)
	}
	if next == after {
		return 0, after, false, nil
	}
	res, err := t.exec(ctx, `DELETE FROM webhook_deliveries WHERE seq > ? AND seq <= ? AND status <> 'pending'`, after, next)
	if err != nil {
		return 0, after, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, after, false, gateway.Internal(err)
	}
	return int(n), next, old && seen == window, nil
}

func (t *tx) WebhookBacklog(ctx context.Context) (time.Time, int, error) {
	var oldest sql.NullString
	var n int
	err := t.queryRow(ctx, `SELECT MIN(event_at), COUNT(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&oldest, &n)
	if err != nil {
		return time.Time{}, 0, gateway.Internal(err)
	}
	if !oldest.Valid {
		return time.Time{}, 0, nil
	}
	at, err := parseTime(oldest.String)
	if err != nil {
		return at, n, gateway.Internal(err)
	}
	return at, n, nil
}
