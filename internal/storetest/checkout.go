package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

func product(accountID string, env gateway.Environment, codename string) gateway.Product {
	return gateway.Product{AccountID: accountID, Environment: env, Codename: codename, Name: "Zoë's \"mug\"", Price: 1250,
		ImageURL: "https://img.example/" + codename + ".png", Active: true, CreatedAt: at(time.Second), UpdatedAt: at(2 * time.Second)}
}

func testProducts(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	p1 := product(acct1, gateway.Sandbox, "product1")
	p2 := product(acct1, gateway.Sandbox, "product2")
	p2.Active, p2.ImageURL = false, ""
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, p := range []gateway.Product{p2, p1, product(acct1, gateway.Live, "product1"), product(acct2, gateway.Sandbox, "product1")} {
			if err := tx.InsertProduct(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	expectErr(t, "a codename twice", update(t, s, func(tx gateway.Tx) error {
		return tx.InsertProduct(context.Background(), product(acct1, gateway.Sandbox, "product1"))
	}), gateway.ErrConflict)
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.Product(ctx, acct1, gateway.Sandbox, "product2")
		if err != nil {
			return err
		}
		checkEqual(t, "product2", got, p2)
		list, err := tx.Products(ctx, acct1, gateway.Sandbox)
		if err != nil {
			return err
		}
		checkEqual(t, "the sandbox catalogue of account 1", list, []gateway.Product{withUTC(p1), withUTC(p2)})
		_, err = tx.Product(ctx, acct2, gateway.Sandbox, "product2")
		expectErr(t, "another account's product", err, gateway.ErrNotFound)
		_, err = tx.Product(ctx, acct1, gateway.Sandbox, "PRODUCT1")
		expectErr(t, "a codename in another case", err, gateway.ErrNotFound)
		none, err := tx.Products(ctx, acct2, gateway.Live)
		if len(none) != 0 || err != nil {
			t.Errorf("an empty catalogue: %v, %v", none, err)
		}
		return nil
	})
	p1.Name, p1.Price, p1.ImageURL, p1.Active, p1.UpdatedAt = "Renamed", 99, "", false, at(time.Hour)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.UpdateProduct(ctx, p1) })
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.Product(ctx, acct1, gateway.Sandbox, "product1")
		checkEqual(t, "product1 after the update", got, withUTC(p1))
		other, _ := tx.Product(ctx, acct1, gateway.Live, "product1")
		if other.Name == "Renamed" {
			t.Error("the update changed the live catalogue's product1")
		}
		return err
	})
	missing := product(acct1, gateway.Sandbox, "nope")
	expectErr(t, "update of an unknown product", update(t, s, func(tx gateway.Tx) error {
		return tx.UpdateProduct(context.Background(), missing)
	}), gateway.ErrNotFound)
}

// withUTC is p with its times in UTC, as stores answer them.
func withUTC(p gateway.Product) gateway.Product {
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p
}

func checkoutSession(id, accountID string) gateway.CheckoutSession {
	return gateway.CheckoutSession{
		ID: id, AccountID: accountID, Environment: gateway.Sandbox, TokenHash: gateway.CheckoutTokenHash("token-" + id),
		Reference: "ref \"" + id + "\"", SuccessURL: "https://shop.example/ok?order=1&x=%20", CancelURL: "http://shop.example/cancel",
		Lines: []gateway.CheckoutLine{
			{Codename: "product1", Name: "Zoë's mug", UnitAmount: 1250, Quantity: 2, ImageURL: "https://img.example/1.png"},
			{Name: "Gift wrap", UnitAmount: 100, Quantity: 1},
		},
		TaxAmount: 25, ShippingAmount: 512, Amount: 3137, Currency: "USD", Status: gateway.CheckoutOpen,
		ExpiresAt: at(24 * time.Hour).UTC(), CreatedAt: at(0).UTC(), UpdatedAt: at(0).UTC(), Version: 1,
	}
}

func testCheckoutSessions(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	cs := checkoutSession("CS1", acct1)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if err := tx.InsertCheckoutSession(ctx, cs); err != nil {
			return err
		}
		return tx.InsertCheckoutSession(ctx, checkoutSession("CS2", acct2))
	})
	expectErr(t, "a session id twice", update(t, s, func(tx gateway.Tx) error {
		return tx.InsertCheckoutSession(context.Background(), checkoutSession("CS1", acct1))
	}), gateway.ErrConflict)
	dupToken := checkoutSession("CS3", acct1)
	dupToken.TokenHash = cs.TokenHash
	expectErr(t, "a token twice", update(t, s, func(tx gateway.Tx) error {
		return tx.InsertCheckoutSession(context.Background(), dupToken)
	}), gateway.ErrConflict)
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.CheckoutSessionByToken(ctx, gateway.CheckoutTokenHash("token-CS1"))
		if err != nil {
			return err
		}
		checkEqual(t, "session by token", got, cs)
		got, err = tx.CheckoutSession(ctx, acct1, gateway.Sandbox, "CS1")
		checkEqual(t, "session by id", got, cs)
		_, err2 := tx.CheckoutSession(ctx, acct2, gateway.Sandbox, "CS1")
		expectErr(t, "another account's session", err2, gateway.ErrNotFound)
		_, err2 = tx.CheckoutSession(ctx, acct1, gateway.Live, "CS1")
		expectErr(t, "a session of the other environment", err2, gateway.ErrNotFound)
		_, err2 = tx.CheckoutSessionByToken(ctx, gateway.CheckoutTokenHash("token-CS9"))
		expectErr(t, "an unknown token", err2, gateway.ErrNotFound)
		return err
	})
	// Everything that changes: status, payment, attempts, validation.
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		cur, err := tx.CheckoutSession(ctx, acct1, gateway.Sandbox, "CS1")
		if err != nil {
			return err
		}
		cur.Status, cur.PaymentID, cur.Attempts, cur.ValidatedAt, cur.UpdatedAt = gateway.CheckoutPaid, "PAY1", 3, at(time.Minute), at(time.Minute)
		return tx.UpdateCheckoutSession(ctx, cur)
	})
	want := cs
	want.Status, want.PaymentID, want.Attempts, want.ValidatedAt, want.UpdatedAt, want.Version = gateway.CheckoutPaid, "PAY1", 3, at(time.Minute).UTC(), at(time.Minute).UTC(), 2
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.CheckoutSession(ctx, acct1, gateway.Sandbox, "CS1")
		checkEqual(t, "session after an update", got, want)
		if !bytes.Equal(got.TokenHash, cs.TokenHash) {
			t.Error("the update changed the token")
		}
		return err
	})
}

// testCheckoutSessionCAS: two transactions that read one session cannot
// both write it, and many writers racing to pay one session: exactly one
// wins, the others lose with ErrConflict (or, where the store locks rows,
// find it paid).
func testCheckoutSessionCAS(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.InsertCheckoutSession(ctx, checkoutSession("CS1", acct1))
	})
	stale := checkoutSession("CS1", acct1)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		cur := stale
		cur.Attempts = 1
		return tx.UpdateCheckoutSession(ctx, cur)
	})
	expectErr(t, "an update of a stale version", update(t, s, func(tx gateway.Tx) error {
		return tx.UpdateCheckoutSession(context.Background(), stale)
	}), gateway.ErrConflict)

	const n = 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := update(t, s, func(tx gateway.Tx) error {
				ctx := context.Background()
				cur, err := tx.CheckoutSession(ctx, acct1, gateway.Sandbox, "CS1")
				if err != nil {
					return err
				}
				if cur.Status != gateway.CheckoutOpen {
					return gateway.ErrCheckoutPaid
				}
				cur.Status, cur.PaymentID = gateway.CheckoutPaid, "PAY"+string(rune('A'+i))
				return tx.UpdateCheckoutSession(ctx, cur)
			})
			switch {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case errors.Is(err, gateway.ErrConflict), errors.Is(err, gateway.ErrCheckoutPaid):
			default:
				t.Errorf("racing payer: %v", err)
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d of %d racing writers paid the session, want exactly 1", won, n)
	}
}
