package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// tx implements gateway.Tx over one database transaction, and gateway.ReadTx
// over the read pool for View.
type tx struct {
	db *DB
	// q runs the statements: a *sql.Tx for writes, the read pool for
	// View, whose reads each run on their own (see View).
	q        querier
	sqlTx    *sql.Tx    // q as a transaction, nil in View
	stmts    *stmtCache // of the pool q belongs to
	writable bool       // reads lock the rows they return (FOR UPDATE where supported)
	// changes collects the payments a write transaction touches, for the
	// lookup cache (nil without one).
	changes *changes
}

// querier is what *sql.Tx and *sql.DB have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stmtCache keeps each query prepared once per pool, so that statements are
// not parsed again for every transaction. A query seen for the first time
// runs unprepared and is prepared in the background: preparing needs a free
// connection of the pool, and the caller's transaction holds one (on
// SQLite's write pool, the only one).
type stmtCache struct {
	pool    *sql.DB
	d       Dialect
	mu      sync.RWMutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
	closed  bool
}

func newStmtCache(pool *sql.DB, d Dialect) *stmtCache {
	return &stmtCache{pool: pool, d: d, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared query, or nil while it is not prepared yet.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	s := c.stmts[query]
	c.mu.RUnlock()
	if s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pending[query] && !c.closed {
		c.pending[query] = true
		go c.prepare(query)
	}
	return nil
}

func (c *stmtCache) prepare(query string) {
	s, err := c.pool.PrepareContext(context.Background(), c.d.Rebind(query))
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return // tried again on the next use
	}
	if c.closed {
		_ = s.Close()
		return
	}
	c.stmts[query] = s
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, s := range c.stmts {
		_ = s.Close()
	}
	c.stmts = map[string]*sql.Stmt{}
}

// stmt returns query prepared for this transaction, or nil: then the
// caller runs it unprepared.
func (t *tx) stmt(ctx context.Context, query string) *sql.Stmt {
	s := t.stmts.get(query)
	if s != nil && t.sqlTx != nil {
		return t.sqlTx.StmtContext(ctx, s)
	}
	return s
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = t.db.stmtContext(ctx)
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.q.QueryRowContext(ctx, t.rebind(query), args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = t.db.stmtContext(ctx)
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.q.QueryContext(ctx, t.rebind(query), args...)
}

func (t *tx) rebind(query string) string { return t.db.d.Rebind(query) }

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = t.db.stmtContext(ctx)
	var res sql.Result
	var err error
	if s := t.stmt(ctx, query); s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = t.q.ExecContext(ctx, t.rebind(query), args...)
	}
	if err != nil && t.db.d.IsUniqueViolation(err) {
		return nil, gateway.ErrConflict
	}
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return res, nil
}

func (t *tx) forUpdate() string {
	if t.writable {
		return t.db.d.ForUpdate
	}
	return ""
}

func notFoundOr(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.ErrNotFound
	}
	return gateway.Internal(err)
}

func (t *tx) Account(ctx context.Context, id string) (gateway.Account, error) {
	var a gateway.Account
	var created string
	err := t.queryRow(ctx, "SELECT "+accountColumns+" FROM accounts WHERE id = ?", id).
		Scan(accountDest(&a, &created)...)
	if err != nil {
		return a, notFoundOr(err)
	}
	a.CreatedAt, err = parseTime(created)
	return a, err
}

const accountColumns = "id, name, currency, created_at, max_amount, duplicate_window_ms, require_2fa"

func accountDest(a *gateway.Account, created *string) []any {
	return []any{&a.ID, &a.Name, &a.Currency, created, &a.MaxAmount, (*durationMS)(&a.DuplicateWindow), (*intBool)(&a.Require2FA)}
}

func (t *tx) Accounts(ctx context.Context) ([]gateway.Account, error) {
	rows, err := t.query(ctx, "SELECT "+accountColumns+" FROM accounts ORDER BY created_at, id")
	if err != nil {
		return nil, gateway.Internal(err)
	}
	defer rows.Close()
	var out []gateway.Account
	for rows.Next() {
		var a gateway.Account
		var created string
		if err := rows.Scan(accountDest(&a, &created)...); err != nil {
			return nil, gateway.Internal(err)
		}
		if a.CreatedAt, err = parseTime(created); err != nil {
			return nil, gateway.Internal(err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *tx) CreateAccount(ctx context.Context, a gateway.Account) error {
	_, err := t.exec(ctx, "INSERT INTO accounts ("+accountColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.Name, a.Currency, formatTime(a.CreatedAt), a.MaxAmount, durationMS(a.DuplicateWindow).value(), boolInt(a.Require2FA))
	return err
}

func (t *tx) SetAccountMaxAmount(ctx context.Context, accountID string, max int64) error {
	res, err := t.exec(ctx, "UPDATE accounts SET max_amount = ? WHERE id = ?", max, accountID)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

func (t *tx) Keys(ctx context.Context, accountID string) ([]gateway.Key, error) {
	return t.keys(ctx, `SELECT id, account_id, environment, hash, hint, created_at, revoked_at, last_used_at
		FROM api_keys WHERE account_id = ? ORDER BY created_at, id`, accountID)
}

func (t *tx) ActiveKeys(ctx context.Context, accountID string) ([]gateway.Key, error) {
	return t.keys(ctx, `SELECT id, account_id, environment, hash, hint, created_at, revoked_at, last_used_at
		FROM api_keys WHERE account_id = ? AND revoked_at IS NULL ORDER BY created_at, id`, accountID)
}

func (t *tx) keys(ctx context.Context, query, accountID string) ([]gateway.Key, error) {
	rows, err := t.query(ctx, query, accountID)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	defer rows.Close()
	var out []gateway.Key
	for rows.Next() {
		var k gateway.Key
		var created string
		var revoked, used sql.NullString
		if err := rows.Scan(&k.ID, &k.AccountID, &k.Environment, &k.Hash, &k.Hint, &created, &revoked, &used); err != nil {
			return nil, gateway.Internal(err)
		}
		if k.CreatedAt, err = parseTime(created); err != nil {
			return nil, gateway.Internal(err)
		}
		if revoked.Valid {
			if k.RevokedAt, err = parseTime(revoked.String); err != nil {
				return nil, gateway.Internal(err)
			}
		}
		if used.Valid {
			if k.LastUsedAt, err = parseTime(used.String); err != nil {
				return nil, gateway.Internal(err)
			}
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (t *tx) AddKey(ctx context.Context, k gateway.Key) error {
	_, err := t.exec(ctx, `INSERT INTO api_keys (id, account_id, environment, hash, hint, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, k.ID, k.AccountID, string(k.Environment), k.Hash, k.Hint, formatTime(k.CreatedAt))
	return err
}

func (t *tx) RevokeKey(ctx context.Context, accountID, keyID string, at time.Time) error {
	res, err := t.exec(ctx, "UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND id = ? AND revoked_at IS NULL",
		formatTime(at), accountID, keyID)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

func oneRow(res sql.Result, otherwise error) error {
	n, err := res.RowsAffected()
	if err != nil {
		return gateway.Internal(err)
	}
	if n != 1 {
		return otherwise
	}
	return nil
}

const paymentColumns = `id, account_id, environment, status, currency,
	authorized_amount, captured_amount, refunded_amount, order_id,
	card_brand, card_bin, card_last4, card_exp_month, card_exp_year, card_fingerprint,
	first_name, last_name, email, phone, address, city, state, zip, country,
	avs_code, cvv_code, decline_code, source,
	threeds_cavv, threeds_validated, threeds_transaction_id, threeds_server_transaction_id, threeds_version, threeds_parres_status,
	created_at, updated_at, settled_at, batch_id, version,
	processor_ref, in_flight, in_flight_op, refund_count, checkout_session_id, checkout_reference`

func paymentArgs(p *gateway.Payment) []any {
	return []any{p.ID, p.AccountID, string(p.Environment), string(p.Status), p.Currency,
		p.AuthorizedAmount, p.CapturedAmount, p.RefundedAmount, p.OrderID,
		p.Card.Brand, p.Card.BIN, p.Card.Last4, p.Card.ExpMonth, p.Card.ExpYear, p.Card.Fingerprint,
		p.Customer.FirstName, p.Customer.LastName, p.Customer.Email, p.Customer.Phone, p.Customer.Address,
		p.Customer.City, p.Customer.State, p.Customer.Zip, p.Customer.Country,
		p.AVSCode, p.CVVCode, p.DeclineCode, p.Source,
		p.ThreeDS.CAVV, p.ThreeDS.Validated, p.ThreeDS.TransactionID, p.ThreeDS.ServerTransactionID, p.ThreeDS.Version, p.ThreeDS.PaResStatus,
		formatTime(p.CreatedAt), formatTime(p.UpdatedAt), nullTime(p.SettledAt), nullString(p.BatchID), p.Version,
		p.ProcessorRef, p.InFlight, string(p.InFlightOp), p.RefundCount, p.CheckoutSessionID, p.CheckoutReference}
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// paymentRow receives the columns of paymentColumns.
type paymentRow struct {
	p                gateway.Payment
	created, updated string
	settled, batch   sql.NullString
}

func (r *paymentRow) dest() []any {
	p := &r.p
	return []any{&p.ID, &p.AccountID, &p.Environment, &p.Status, &p.Currency,
		&p.AuthorizedAmount, &p.CapturedAmount, &p.RefundedAmount, &p.OrderID,
		&p.Card.Brand, &p.Card.BIN, &p.Card.Last4, &p.Card.ExpMonth, &p.Card.ExpYear, &p.Card.Fingerprint,
		&p.Customer.FirstName, &p.Customer.LastName, &p.Customer.Email, &p.Customer.Phone, &p.Customer.Address,
		&p.Customer.City, &p.Customer.State, &p.Customer.Zip, &p.Customer.Country,
		&p.AVSCode, &p.CVVCode, &p.DeclineCode, &p.Source,
		&p.ThreeDS.CAVV, &p.ThreeDS.Validated, &p.ThreeDS.TransactionID, &p.ThreeDS.ServerTransactionID, &p.ThreeDS.Version, &p.ThreeDS.PaResStatus,
		&r.created, &r.updated, &r.settled, &r.batch, &p.Version,
		&p.ProcessorRef, &p.InFlight, &p.InFlightOp, &p.RefundCount, &p.CheckoutSessionID, &p.CheckoutReference}
}

func (r *paymentRow) payment() (gateway.Payment, error) {
	p := r.p
	var err error
	if p.CreatedAt, err = parseTime(r.created); err != nil {
		return p, err
	}
	if p.UpdatedAt, err = parseTime(r.updated); err != nil {
		return p, err
	}
	if r.settled.Valid {
		if p.SettledAt, err = parseTime(r.settled.String); err != nil {
			return p, err
		}
	}
	p.BatchID = r.batch.String
	return p, nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(...any) error }

// collect reads every row of rows with scan, and closes rows.
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, gateway.Internal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, gateway.Internal(err)
	}
	return out, nil
}

func scanPayment(row rowScanner) (gateway.Payment, error) {
	var r paymentRow
	if err := row.Scan(r.dest()...); err != nil {
		return r.p, err
	}
	return r.payment()
}

func (t *tx) PaymentByTransaction(ctx context.Context, accountID string, env gateway.Environment, txID string) (gateway.Payment, error) {
	if !t.writable {
		return t.paymentWithTransactions(ctx, accountID, env, txID)
	}
	// In a write transaction the payment row is read (and, on PostgreSQL,
	// locked) first, then its transactions.
	p, err := t.PaymentForUpdate(ctx, accountID, env, txID)
	if err != nil {
		return p, err
	}
	if p.Transactions, err = t.transactions(ctx, p.ID); err != nil {
		return p, err
	}
	return p, t.countTransactions(ctx, &p)
}

// countTransactions fills in p.TransactionCount: what p.Transactions
// holds, unless that is a full page of the latest, when only a count of
// the rest tells.
func (t *tx) countTransactions(ctx context.Context, p *gateway.Payment) error {
	p.TransactionCount = len(p.Transactions)
	if p.TransactionCount < gateway.MaxLookupTransactions {
		return nil
	}
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM transactions WHERE payment_id = ?`, p.ID).Scan(&p.TransactionCount)
	if err != nil {
		return gateway.Internal(err)
	}
	return nil
}

func (t *tx) PaymentForUpdate(ctx context.Context, accountID string, env gateway.Environment, txID string) (gateway.Payment, error) {
	// The account and environment are checked on the payment (its
	// transactions are always its own): the id index alone then answers
	// the inner query.
	row := t.queryRow(ctx, `SELECT `+paymentColumns+` FROM payments
		WHERE id = (SELECT payment_id FROM transactions WHERE id = ?) AND account_id = ? AND environment = ?`+t.forUpdate(),
		txID, accountID, string(env))
	p, err := scanPayment(row)
	if err != nil {
		return p, notFoundOr(err)
	}
	return p, nil
}

// paymentWithTransactions reads a payment and its transactions in one
// statement, so that outside a transaction both are of the same instant:
// one row per transaction, each carrying the payment's columns.
func (t *tx) paymentWithTransactions(ctx context.Context, accountID string, env gateway.Environment, txID string) (gateway.Payment, error) {
	cache := t.db.lookups
	if cache == nil {
		return t.readPaymentWithTransactions(ctx, accountID, env, txID)
	}
	if p, ok := cache.get(accountID, env, txID); ok {
		return p, nil
	}
	start := cache.start()
	p, err := t.readPaymentWithTransactions(ctx, accountID, env, txID)
	if err == nil {
		cache.put(txID, p, start)
	}
	return p, err
}

func (t *tx) readPaymentWithTransactions(ctx context.Context, accountID string, env gateway.Environment, txID string) (gateway.Payment, error) {
	rows, err := t.query(ctx, paymentWithTransactionsSQL, txID, accountID, string(env))
	if err != nil {
		return gateway.Payment{}, gateway.Internal(err)
	}
	defer rows.Close()
	var p gateway.Payment
	for rows.Next() {
		var row paymentRow
		var tr transactionRow
		if err := rows.Scan(append(row.dest(), tr.dest()...)...); err != nil {
			return p, gateway.Internal(err)
		}
		if p.ID == "" {
			if p, err = row.payment(); err != nil {
				return p, gateway.Internal(err)
			}
		}
		x, err := tr.transaction()
		if err != nil {
			return p, gateway.Internal(err)
		}
		p.Transactions = append(p.Transactions, x)
	}
	if err := rows.Err(); err != nil {
		return p, gateway.Internal(err)
	}
	if p.ID == "" {
		return p, gateway.ErrNotFound
	}
	return p, t.countTransactions(ctx, &p)
}

// paymentWithTransactionsSQL reads a payment with its latest transactions
// (at most gateway.MaxLookupTransactions), oldest first: the index on
// (payment_id, created_at, id) serves them newest first without a sort,
// however many the payment has.
var paymentWithTransactionsSQL = `SELECT ` + prefixed("p.", paymentColumns) + `, ` + prefixed("t.", transactionColumns) + `
	FROM payments p JOIN (SELECT ` + transactionColumns + ` FROM transactions
		WHERE payment_id = (SELECT payment_id FROM transactions WHERE id = ?)
		ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(gateway.MaxLookupTransactions) + `) t ON t.payment_id = p.id
	WHERE p.account_id = ? AND p.environment = ?
	ORDER BY t.created_at, t.id`

// prefixed qualifies each column of a column list with a table alias.
func prefixed(alias, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = alias + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func (t *tx) transactions(ctx context.Context, paymentID string) ([]gateway.Transaction, error) {
	rows, err := t.query(ctx, `SELECT `+transactionColumns+` FROM (SELECT `+transactionColumns+` FROM transactions
		WHERE payment_id = ? ORDER BY created_at DESC, id DESC LIMIT ?) latest ORDER BY created_at, id`, paymentID, gateway.MaxLookupTransactions)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return scanTransactions(rows)
}

const transactionColumns = "id, payment_id, account_id, environment, operation, result, amount, code, request_id, actor, created_at, lease_until"

// transactionRow receives the columns of transactionColumns.
type transactionRow struct {
	t       gateway.Transaction
	created string
	lease   sql.NullString
}

func (r *transactionRow) dest() []any {
	t := &r.t
	return []any{&t.ID, &t.PaymentID, &t.AccountID, &t.Environment, &t.Operation, &t.Result, &t.Amount, &t.Code, &t.RequestID, &t.Actor, &r.created, &r.lease}
}

func (r *transactionRow) transaction() (gateway.Transaction, error) {
	t := r.t
	var err error
	if t.CreatedAt, err = parseTime(r.created); err != nil {
		return t, err
	}
	if r.lease.Valid {
		t.LeaseUntil, err = parseTime(r.lease.String)
	}
	return t, err
}

func scanTransactions(rows *sql.Rows) ([]gateway.Transaction, error) {
	defer rows.Close()
	var out []gateway.Transaction
	for rows.Next() {
		var r transactionRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, gateway.Internal(err)
		}
		tr, err := r.transaction()
		if err != nil {
			return nil, gateway.Internal(err)
		}
		out = append(out, tr)
	}
	if err := rows.Err(); err != nil {
		return nil, gateway.Internal(err)
	}
	return out, nil
}

func (t *tx) InsertPayment(ctx context.Context, p gateway.Payment) error {
	_, err := t.exec(ctx, "INSERT INTO payments ("+paymentColumns+") VALUES ("+placeholders(45)+")", paymentArgs(&p)...)
	return err
}

func (t *tx) UpdatePayment(ctx context.Context, p gateway.Payment) error {
	t.changes.payment(p.ID)
	res, err := t.exec(ctx, `UPDATE payments SET status = ?, authorized_amount = ?, captured_amount = ?, refunded_amount = ?,
		avs_code = ?, cvv_code = ?, decline_code = ?, processor_ref = ?, in_flight = ?, in_flight_op = ?, refund_count = ?,
		updated_at = ?, settled_at = ?, batch_id = ?, version = version + 1
		WHERE id = ? AND account_id = ? AND version = ?`,
		string(p.Status), p.AuthorizedAmount, p.CapturedAmount, p.RefundedAmount,
		p.AVSCode, p.CVVCode, p.DeclineCode, p.ProcessorRef, p.InFlight, string(p.InFlightOp), p.RefundCount,
		formatTime(p.UpdatedAt), nullTime(p.SettledAt), nullString(p.BatchID),
		p.ID, p.AccountID, p.Version)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrConflict)
}

func (t *tx) InsertTransaction(ctx context.Context, tr gateway.Transaction) error {
	t.changes.payment(tr.PaymentID)
	_, err := t.exec(ctx, `INSERT INTO transactions (`+transactionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tr.ID, tr.PaymentID, tr.AccountID, string(tr.Environment), string(tr.Operation), string(tr.Result), tr.Amount, tr.Code, tr.RequestID, tr.Actor,
		formatTime(tr.CreatedAt), nullTime(tr.LeaseUntil))
	return err
}

func (t *tx) IdempotencyRecord(ctx context.Context, accountID string, env gateway.Environment, key string) (gateway.IdempotencyRecord, error) {
	r := gateway.IdempotencyRecord{AccountID: accountID, Environment: env, Key: key}
	var created string
	err := t.queryRow(ctx, (`SELECT request_hash, transaction_id, status, body, created_at FROM idempotency_keys
		WHERE account_id = ? AND environment = ? AND key = ?`), accountID, string(env), key).
		Scan(&r.RequestHash, &r.TransactionID, &r.Status, &r.Body, &created)
	if err != nil {
		return r, notFoundOr(err)
	}
	r.CreatedAt, err = parseTime(created)
	return r, err
}

func (t *tx) SaveIdempotencyRecord(ctx context.Context, r gateway.IdempotencyRecord) error {
	body := r.Body
	if body == nil {
		body = []byte{} // the column is NOT NULL; records name a transaction instead
	}
	_, err := t.exec(ctx, `INSERT INTO idempotency_keys (account_id, environment, key, request_hash, transaction_id, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.AccountID, string(r.Environment), r.Key, r.RequestHash, r.TransactionID, r.Status, body, formatTime(r.CreatedAt))
	return err
}

func (t *tx) FindDuplicate(ctx context.Context, q gateway.DuplicateQuery) (string, error) {
	if t.writable && t.db.d.LockKey != "" {
		// Hold the order's lock until commit, so that two processes cannot
		// both find no duplicate and both insert.
		key := "duplicate:" + q.AccountID + ":" + string(q.Environment) + ":" + q.OrderID
		if _, err := t.q.ExecContext(t.db.stmtContext(ctx), t.rebind(t.db.d.LockKey), key); err != nil {
			return "", gateway.Internal(err)
		}
	}
	var id string
	err := t.queryRow(ctx, (`SELECT id FROM payments
		WHERE account_id = ? AND environment = ? AND order_id = ? AND created_at >= ?
		AND authorized_amount = ? AND card_fingerprint = ? AND status NOT IN ('declined', 'failed', 'voided')
		ORDER BY created_at LIMIT 1`),
		q.AccountID, string(q.Environment), q.OrderID, formatTime(q.Since), q.Amount, q.Fingerprint).Scan(&id)
	if err != nil {
		return "", notFoundOr(err)
	}
	return id, nil
}

func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}

func (t *tx) AppendAudit(ctx context.Context, e gateway.AuditEntry) error {
	_, err := t.exec(ctx, `INSERT INTO audit_log (id, at, actor, action, account_id, environment, object_id, request_id, detail, client_ip)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, formatTime(e.At), e.Actor, e.Action, e.AccountID, string(e.Environment), e.ObjectID, e.RequestID, e.Detail, e.ClientIP)
	return err
}

// auditQuery completes a query of a time-ordered table (where is its
// first condition, on the time column, with one "?") with f's account and
// limit.
func auditQuery(where, order string, f gateway.AuditFilter) (string, []any) {
	args := []any{formatTime(f.Since)}
	if f.AccountID != "" {
		where += " AND account_id = ?"
		args = append(args, f.AccountID)
	}
	if f.NewestFirst {
		order = strings.ReplaceAll(order, ",", " DESC,") + " DESC"
	}
	return where + " ORDER BY " + order + " LIMIT ?", append(args, limitArg(f.Limit))
}

func (t *tx) AuditLog(ctx context.Context, f gateway.AuditFilter) ([]gateway.AuditEntry, error) {
	q, args := auditQuery("SELECT id, at, actor, action, account_id, environment, object_id, request_id, detail, client_ip FROM audit_log WHERE at >= ?", "at, seq", f)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	defer rows.Close()
	var out []gateway.AuditEntry
	for rows.Next() {
		var e gateway.AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.AccountID, &e.Environment, &e.ObjectID, &e.RequestID, &e.Detail, &e.ClientIP); err != nil {
			return nil, gateway.Internal(err)
		}
		if e.At, err = parseTime(at); err != nil {
			return nil, gateway.Internal(err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (t *tx) Ledger(ctx context.Context, f gateway.AuditFilter) ([]gateway.Transaction, error) {
	// No index serves this operator's query: one would cost every payment
	// operation a B-tree insert. It scans the transactions.
	q, args := auditQuery("SELECT "+transactionColumns+" FROM transactions WHERE created_at >= ? AND actor <> ''", "created_at, id", f)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return scanTransactions(rows)
}

// limitArg is a LIMIT for n (0: none). A bound parameter keeps the
// statement cacheable.
func limitArg(n int) int64 {
	if n > 0 {
		return int64(n)
	}
	return int64(1) << 62
}
