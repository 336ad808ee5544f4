package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// The Merchant Portal: users, their sessions, account settings, key use,
// checkout listings and the dashboard's daily figures.

// durationMS scans and writes a duration as whole milliseconds, negative
// as -1 (off).
type durationMS time.Duration

func (d *durationMS) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*d = durationMS(time.Duration(n.Int64) * time.Millisecond)
	return nil
}

func (d durationMS) value() int64 {
	if d < 0 {
		return -1
	}
	return time.Duration(d).Milliseconds()
}

// intBool scans a 0/1 column.
type intBool bool

func (b *intBool) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	*b = n.Int64 != 0
	return nil
}

func (t *tx) SetAccountSettings(ctx context.Context, a gateway.Account) error {
	res, err := t.exec(ctx, "UPDATE accounts SET name = ?, duplicate_window_ms = ?, require_2fa = ? WHERE id = ?",
		a.Name, durationMS(a.DuplicateWindow).value(), boolInt(a.Require2FA), a.ID)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

func (t *tx) RecordKeyUse(ctx context.Context, keyID string, at time.Time) error {
	when := formatTime(at)
	_, err := t.exec(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)", when, keyID, when)
	return err
}

const userColumns = "id, account_id, email, role, password_hash, must_change_password, totp_secret, totp_last_step, created_at, updated_at"

func scanUser(row rowScanner) (gateway.User, error) {
	var u gateway.User
	var created, updated string
	err := row.Scan(&u.ID, &u.AccountID, &u.Email, &u.Role, &u.PasswordHash, (*intBool)(&u.MustChangePassword),
		&u.TOTPSecret, &u.TOTPLastStep, &created, &updated)
	if err != nil {
		return u, err
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return u, err
	}
	u.UpdatedAt, err = parseTime(updated)
	return u, err
}

func (t *tx) User(ctx context.Context, id string) (gateway.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?"+t.forUpdate(), id))
	if err != nil {
		return u, notFoundOr(err)
	}
	return u, nil
}

func (t *tx) UserByEmail(ctx context.Context, email string) (gateway.User, error) {
	u, err := scanUser(t.queryRow(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?"+t.forUpdate(), email))
	if err != nil {
		return u, notFoundOr(err)
	}
	return u, nil
}

func (t *tx) Users(ctx context.Context, accountID string) ([]gateway.User, error) {
	rows, err := t.query(ctx, "SELECT "+userColumns+" FROM users WHERE account_id = ? ORDER BY email", accountID)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return collect(rows, scanUser)
}

func (t *tx) InsertUser(ctx context.Context, u gateway.User) error {
	_, err := t.exec(ctx, "INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.AccountID, u.Email, string(u.Role), u.PasswordHash, boolInt(u.MustChangePassword), u.TOTPSecret, u.TOTPLastStep,
		formatTime(u.CreatedAt), formatTime(u.UpdatedAt))
	return err
}

func (t *tx) UpdateUser(ctx context.Context, u gateway.User) error {
	res, err := t.exec(ctx, `UPDATE users SET role = ?, password_hash = ?, must_change_password = ?, totp_secret = ?, totp_last_step = ?,
		updated_at = ? WHERE id = ?`,
		string(u.Role), u.PasswordHash, boolInt(u.MustChangePassword), u.TOTPSecret, u.TOTPLastStep, formatTime(u.UpdatedAt), u.ID)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

func (t *tx) DeleteUser(ctx context.Context, id string) error {
	if _, err := t.exec(ctx, "DELETE FROM portal_sessions WHERE user_id = ?", id); err != nil {
		return err
	}
	res, err := t.exec(ctx, "DELETE FROM users WHERE id = ?", id)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

const sessionColumns = "token_hash, user_id, account_id, stage, client_ip, created_at, last_seen_at, expires_at"

func (t *tx) PortalSession(ctx context.Context, tokenHash []byte) (gateway.PortalSession, error) {
	var s gateway.PortalSession
	var created, seen, expires string
	err := t.queryRow(ctx, "SELECT "+sessionColumns+" FROM portal_sessions WHERE token_hash = ?", tokenHash).
		Scan(&s.TokenHash, &s.UserID, &s.AccountID, &s.Stage, &s.ClientIP, &created, &seen, &expires)
	if err != nil {
		return s, notFoundOr(err)
	}
	var errs [3]error
	s.CreatedAt, errs[0] = parseTime(created)
	s.LastSeenAt, errs[1] = parseTime(seen)
	s.ExpiresAt, errs[2] = parseTime(expires)
	for _, err := range errs {
		if err != nil {
			return s, gateway.Internal(err)
		}
	}
	return s, nil
}

func (t *tx) InsertPortalSession(ctx context.Context, s gateway.PortalSession) error {
	_, err := t.exec(ctx, "INSERT INTO portal_sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		s.TokenHash, s.UserID, s.AccountID, string(s.Stage), s.ClientIP, formatTime(s.CreatedAt), formatTime(s.LastSeenAt), formatTime(s.ExpiresAt))
	return err
}

func (t *tx) UpdatePortalSession(ctx context.Context, s gateway.PortalSession) error {
	res, err := t.exec(ctx, "UPDATE portal_sessions SET stage = ?, last_seen_at = ?, expires_at = ? WHERE token_hash = ?",
		string(s.Stage), formatTime(s.LastSeenAt), formatTime(s.ExpiresAt), s.TokenHash)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

func (t *tx) DeletePortalSession(ctx context.Context, tokenHash []byte) error {
	_, err := t.exec(ctx, "DELETE FROM portal_sessions WHERE token_hash = ?", tokenHash)
	return err
}

func (t *tx) DeleteUserSessions(ctx context.Context, userID string, keep []byte) error {
	if keep == nil {
		keep = []byte{}
	}
	_, err := t.exec(ctx, "DELETE FROM portal_sessions WHERE user_id = ? AND token_hash <> ?", userID, keep)
	return err
}

func (t *tx) DeleteEndedSessions(ctx context.Context, at time.Time, limit int) error {
	_, err := t.exec(ctx, `DELETE FROM portal_sessions WHERE token_hash IN (
		SELECT token_hash FROM portal_sessions WHERE expires_at <= ? LIMIT ?)`, formatTime(at), limitArg(limit))
	return err
}

func (t *tx) CheckoutSessions(ctx context.Context, f gateway.CheckoutFilter) ([]gateway.CheckoutSession, error) {
	if f.AccountID == "" || f.Environment == "" || f.Limit <= 0 || f.Limit > gateway.MaxPaymentPage {
		return nil, gateway.Internal(errBadFilter)
	}
	where := "account_id = ? AND environment = ?"
	args := []any{f.AccountID, string(f.Environment)}
	if f.Before != nil {
		at := formatTime(f.Before.CreatedAt)
		where += " AND created_at <= ? AND (created_at < ? OR id < ?)"
		args = append(args, at, at, f.Before.ID)
	}
	rows, err := t.query(ctx, "SELECT "+checkoutColumns+" FROM checkout_sessions WHERE "+where+" ORDER BY created_at DESC, id DESC LIMIT ?",
		append(args, f.Limit)...)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return collect(rows, scanCheckoutSession)
}

// paymentDaysSQL adds up a day's payments in the database, which refuses
// to overflow (SQLite raises an error, PostgreSQL's SUM of BIGINT is a
// NUMERIC that then does not scan into an int64): a figure is right or it
// is an error. The service adds the days with checked sums.
const paymentDaysSQL = `SELECT substr(created_at, 1, 10) AS day, COUNT(*),
	SUM(CASE WHEN status IN ('authorized', 'captured', 'settled', 'voided') THEN 1 ELSE 0 END),
	SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END),
	SUM(CASE WHEN status IN ('captured', 'settled') THEN captured_amount WHEN status = 'authorized' THEN authorized_amount ELSE 0 END),
	SUM(refunded_amount)
	FROM payments WHERE account_id = ? AND environment = ? AND created_at >= ?
	GROUP BY substr(created_at, 1, 10) ORDER BY day`

func (t *tx) PaymentDays(ctx context.Context, accountID string, env gateway.Environment, from time.Time) ([]gateway.PaymentDay, error) {
	rows, err := t.query(ctx, paymentDaysSQL, accountID, string(env), formatTime(from))
	if err != nil {
		return nil, gateway.Internal(err)
	}
	defer rows.Close()
	var out []gateway.PaymentDay
	for rows.Next() {
		var d gateway.PaymentDay
		if err := rows.Scan(&d.Day, &d.Attempts, &d.Approved, &d.Declined, &d.Volume, &d.Refunded); err != nil {
			return nil, gateway.Internal(fmt.Errorf("payment days: %w", err))
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, gateway.Internal(err)
	}
	return out, nil
}
