package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Hosted checkout: the product catalogue and checkout sessions.

const productColumns = "account_id, environment, codename, name, price, image_url, active, created_at, updated_at"

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func scanProduct(row rowScanner) (gateway.Product, error) {
	var p gateway.Product
	var active int
	var created, updated string
	if err := row.Scan(&p.AccountID, &p.Environment, &p.Codename, &p.Name, &p.Price, &p.ImageURL, &active, &created, &updated); err != nil {
		return p, err
	}
	p.Active = active == 1
	var err error
	if p.CreatedAt, err = parseTime(created); err != nil {
		return p, err
	}
	p.UpdatedAt, err = parseTime(updated)
	return p, err
}

func (t *tx) Product(ctx context.Context, accountID string, env gateway.Environment, codename string) (gateway.Product, error) {
	p, err := scanProduct(t.queryRow(ctx, `SELECT `+productColumns+` FROM products WHERE account_id = ? AND environment = ? AND codename = ?`,
		accountID, string(env), codename))
	if err != nil {
		return p, notFoundOr(err)
	}
	return p, nil
}

func (t *tx) Products(ctx context.Context, accountID string, env gateway.Environment) ([]gateway.Product, error) {
	rows, err := t.query(ctx, `SELECT `+productColumns+` FROM products WHERE account_id = ? AND environment = ? ORDER BY codename`,
		accountID, string(env))
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return collect(rows, scanProduct)
}

func (t *tx) InsertProduct(ctx context.Context, p gateway.Product) error {
	_, err := t.exec(ctx, `INSERT INTO products (`+productColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.AccountID, string(p.Environment), p.Codename, p.Name, p.Price, p.ImageURL, boolInt(p.Active), formatTime(p.CreatedAt), formatTime(p.UpdatedAt))
	return err
}

func (t *tx) UpdateProduct(ctx context.Context, p gateway.Product) error {
	res, err := t.exec(ctx, `UPDATE products SET name = ?, price = ?, image_url = ?, active = ?, updated_at = ?
		WHERE account_id = ? AND environment = ? AND codename = ?`,
		p.Name, p.Price, p.ImageURL, boolInt(p.Active), formatTime(p.UpdatedAt), p.AccountID, string(p.Environment), p.Codename)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrNotFound)
}

const checkoutColumns = `id, account_id, environment, token_hash, reference, success_url, cancel_url, lines,
	tax_amount, shipping_amount, amount, currency, status, payment_id, attempts, validated_at,
	expires_at, created_at, updated_at, version`

func scanCheckoutSession(row rowScanner) (gateway.CheckoutSession, error) {
	var s gateway.CheckoutSession
	var lines, expires, created, updated string
	var validated sql.NullString
	err := row.Scan(&s.ID, &s.AccountID, &s.Environment, &s.TokenHash, &s.Reference, &s.SuccessURL, &s.CancelURL, &lines,
		&s.TaxAmount, &s.ShippingAmount, &s.Amount, &s.Currency, &s.Status, &s.PaymentID, &s.Attempts, &validated,
		&expires, &created, &updated, &s.Version)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal([]byte(lines), &s.Lines); err != nil {
		return s, fmt.Errorf("checkout session %s: lines: %w", s.ID, err)
	}
	var errs [4]error
	s.ExpiresAt, errs[0] = parseTime(expires)
	s.CreatedAt, errs[1] = parseTime(created)
	s.UpdatedAt, errs[2] = parseTime(updated)
	if validated.Valid {
		s.ValidatedAt, errs[3] = parseTime(validated.String)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return s, err
	}
	return s, nil
}

func (t *tx) CheckoutSessionByToken(ctx context.Context, tokenHash []byte) (gateway.CheckoutSession, error) {
	s, err := scanCheckoutSession(t.queryRow(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions WHERE token_hash = ?`, tokenHash))
	if err != nil {
		return s, notFoundOr(err)
	}
	return s, nil
}

func (t *tx) CheckoutSession(ctx context.Context, accountID string, env gateway.Environment, id string) (gateway.CheckoutSession, error) {
	s, err := scanCheckoutSession(t.queryRow(ctx, `SELECT `+checkoutColumns+` FROM checkout_sessions
		WHERE id = ? AND account_id = ? AND environment = ?`+t.forUpdate(), id, accountID, string(env)))
	if err != nil {
		return s, notFoundOr(err)
	}
	return s, nil
}

func (t *tx) InsertCheckoutSession(ctx context.Context, s gateway.CheckoutSession) error {
	lines, err := json.Marshal(s.Lines)
	if err != nil {
		return gateway.Internal(err)
	}
	_, err = t.exec(ctx, `INSERT INTO checkout_sessions (`+checkoutColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.AccountID, string(s.Environment), s.TokenHash, s.Reference, s.SuccessURL, s.CancelURL, string(lines),
		s.TaxAmount, s.ShippingAmount, s.Amount, s.Currency, string(s.Status), s.PaymentID, s.Attempts, nullTime(s.ValidatedAt),
		formatTime(s.ExpiresAt), formatTime(s.CreatedAt), formatTime(s.UpdatedAt), s.Version)
	return err
}

func (t *tx) UpdateCheckoutSession(ctx context.Context, s gateway.CheckoutSession) error {
	res, err := t.exec(ctx, `UPDATE checkout_sessions SET status = ?, payment_id = ?, attempts = ?, validated_at = ?,
		updated_at = ?, version = version + 1 WHERE id = ? AND account_id = ? AND version = ?`,
		string(s.Status), s.PaymentID, s.Attempts, nullTime(s.ValidatedAt), formatTime(s.UpdatedAt), s.ID, s.AccountID, s.Version)
	if err != nil {
		return err
	}
	return oneRow(res, gateway.ErrConflict)
}
