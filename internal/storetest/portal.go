package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// The Merchant Portal's store methods: users, sessions, account settings,
// key use, checkout listings and the dashboard's daily figures.

func user(id, accountID, email string) gateway.User {
	return gateway.User{ID: id, AccountID: accountID, Email: email, Role: gateway.RoleStaff, PasswordHash: "$argon2id$hash-" + id,
		MustChangePassword: true, CreatedAt: at(0).UTC(), UpdatedAt: at(0).UTC()}
}

func testUsers(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	a, b := user("U1", acct1, "ann@example.com"), user("U2", acct1, "bob@example.com")
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for _, u := range []gateway.User{b, a, user("U3", acct2, "cy@example.com")} {
			if err := tx.InsertUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	// One email, one user, whatever the account.
	err := update(t, s, func(tx gateway.Tx) error {
		return tx.InsertUser(context.Background(), user("U4", acct2, "ann@example.com"))
	})
	expectErr(t, "a second user with one email", err, gateway.ErrConflict)

	a.Role, a.PasswordHash, a.MustChangePassword, a.TOTPSecret, a.TOTPLastStep, a.UpdatedAt = gateway.RoleAdmin, "$argon2id$new", false, "sealed", 42, at(time.Hour).UTC()
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.UpdateUser(ctx, a) })
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.User(ctx, "U1")
		if err != nil {
			return err
		}
		checkEqual(t, "user after update", got, a)
		byEmail, err := tx.UserByEmail(ctx, "ann@example.com")
		if err != nil {
			return err
		}
		checkEqual(t, "user by email", byEmail, a)
		list, err := tx.Users(ctx, acct1)
		if err != nil {
			return err
		}
		if len(list) != 2 || list[0].ID != "U1" || list[1].ID != "U2" {
			t.Errorf("Users(acct1) = %v, want U1 and U2 by email", list)
		}
		if _, err := tx.UserByEmail(ctx, "nobody@example.com"); err != gateway.ErrNotFound {
			t.Errorf("unknown email: %v, want ErrNotFound", err)
		}
		return nil
	})
	err = update(t, s, func(tx gateway.Tx) error {
		return tx.UpdateUser(context.Background(), user("NOPE", acct1, "x@example.com"))
	})
	expectErr(t, "update of an unknown user", err, gateway.ErrNotFound)

	// Deleting a user deletes their sessions too.
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.InsertPortalSession(ctx, portalSession("s-bob", "U2", at(0)))
	})
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.DeleteUser(ctx, "U2") })
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		if _, err := tx.User(ctx, "U2"); err != gateway.ErrNotFound {
			t.Errorf("deleted user: %v", err)
		}
		if _, err := tx.PortalSession(ctx, gateway.SessionTokenHash("s-bob")); err != gateway.ErrNotFound {
			t.Errorf("a deleted user's session: %v, want ErrNotFound", err)
		}
		return nil
	})
	err = update(t, s, func(tx gateway.Tx) error { return tx.DeleteUser(context.Background(), "U2") })
	expectErr(t, "deleting a deleted user", err, gateway.ErrNotFound)
}

func portalSession(token, userID string, created time.Time) gateway.PortalSession {
	return gateway.PortalSession{TokenHash: gateway.SessionTokenHash(token), UserID: userID, AccountID: acct1, Stage: gateway.StageTOTP,
		ClientIP: "192.0.2.7", CreatedAt: created.UTC(), LastSeenAt: created.UTC(), ExpiresAt: created.Add(12 * time.Hour).UTC()}
}

func testPortalSessions(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if err := tx.InsertUser(ctx, user("U1", acct1, "ann@example.com")); err != nil {
			return err
		}
		for i, tok := range []string{"one", "two", "three"} {
			if err := tx.InsertPortalSession(ctx, portalSession(tok, "U1", at(time.Duration(i)*time.Hour))); err != nil {
				return err
			}
		}
		return nil
	})
	one := portalSession("one", "U1", at(0))
	one.Stage, one.LastSeenAt = gateway.StageSignedIn, at(time.Minute).UTC()
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.UpdatePortalSession(ctx, one) })
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		got, err := tx.PortalSession(ctx, one.TokenHash)
		if err != nil {
			return err
		}
		checkEqual(t, "session after update", got, one)
		return nil
	})
	// Sign-out elsewhere: every session of the user but this one.
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.DeleteUserSessions(ctx, "U1", one.TokenHash) })
	exists := func(tok string) bool {
		var found bool
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			_, err := tx.PortalSession(ctx, gateway.SessionTokenHash(tok))
			found = err == nil
			if err != nil && err != gateway.ErrNotFound {
				return err
			}
			return nil
		})
		return found
	}
	if !exists("one") || exists("two") || exists("three") {
		t.Errorf("after DeleteUserSessions keeping one: one %t, two %t, three %t", exists("one"), exists("two"), exists("three"))
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.InsertPortalSession(ctx, portalSession("four", "U1", at(24*time.Hour)))
	})
	// Ended sessions: "one" ended 12 h after at(0); "four" has not.
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.DeleteEndedSessions(ctx, at(13*time.Hour), 100)
	})
	if exists("one") || !exists("four") {
		t.Errorf("after DeleteEndedSessions: one %t (ended), four %t", exists("one"), exists("four"))
	}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		return tx.DeletePortalSession(ctx, gateway.SessionTokenHash("four"))
	})
	if exists("four") {
		t.Error("a deleted session is still there")
	}
	err := update(t, s, func(tx gateway.Tx) error { return tx.UpdatePortalSession(context.Background(), one) })
	expectErr(t, "update of a deleted session", err, gateway.ErrNotFound)
}

func testAccountSettings(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		if err := tx.AddKey(ctx, gateway.Key{ID: "K1", AccountID: acct1, Environment: gateway.Sandbox, Hash: gateway.HashKey("k1"), Hint: "k1", CreatedAt: at(0)}); err != nil {
			return err
		}
		a := account(acct1, "Renamed shop")
		a.DuplicateWindow, a.Require2FA = -1, true
		if err := tx.SetAccountSettings(ctx, a); err != nil {
			return err
		}
		if err := tx.RecordKeyUse(ctx, "K1", at(2*time.Minute)); err != nil {
			return err
		}
		return tx.RecordKeyUse(ctx, "K1", at(time.Minute)) // older: ignored
	})
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		a, err := tx.Account(ctx, acct1)
		if err != nil {
			return err
		}
		if a.Name != "Renamed shop" || a.DuplicateWindow != -1*time.Millisecond || !a.Require2FA {
			t.Errorf("settings read back as name %q, window %v, require 2FA %t", a.Name, a.DuplicateWindow, a.Require2FA)
		}
		keys, err := tx.Keys(ctx, acct1)
		if err != nil {
			return err
		}
		if len(keys) != 1 || !keys[0].LastUsedAt.Equal(at(2*time.Minute)) {
			t.Errorf("key use: %v, want the later of two uses", keys)
		}
		return nil
	})
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		a := account(acct1, "Shop")
		a.DuplicateWindow = 90 * time.Second
		return tx.SetAccountSettings(ctx, a)
	})
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		a, err := tx.Account(ctx, acct1)
		if err == nil && (a.DuplicateWindow != 90*time.Second || a.Require2FA) {
			t.Errorf("settings read back as window %v, require 2FA %t", a.DuplicateWindow, a.Require2FA)
		}
		return err
	})
	err := update(t, s, func(tx gateway.Tx) error {
		return tx.SetAccountSettings(context.Background(), account("99999999", "x"))
	})
	expectErr(t, "settings of an unknown account", err, gateway.ErrNotFound)
}

func testCheckoutListing(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error {
		for i := range 5 {
			cs := checkoutSession(fmt.Sprintf("CS%d", i), acct1)
			cs.TokenHash = gateway.CheckoutTokenHash(cs.ID)
			cs.CreatedAt = at(time.Duration(i/2) * time.Minute) // pairs share a time: the id orders them
			if err := tx.InsertCheckoutSession(ctx, cs); err != nil {
				return err
			}
		}
		other := checkoutSession("OTHER", acct2)
		other.TokenHash = gateway.CheckoutTokenHash("OTHER")
		return tx.InsertCheckoutSession(ctx, other)
	})
	var ids []string
	var cursor *gateway.PaymentCursor
	for page := 0; page < 4; page++ {
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			list, err := tx.CheckoutSessions(ctx, gateway.CheckoutFilter{AccountID: acct1, Environment: gateway.Sandbox, Before: cursor, Limit: 2})
			for _, cs := range list {
				ids = append(ids, cs.ID)
				cursor = &gateway.PaymentCursor{CreatedAt: cs.CreatedAt, ID: cs.ID}
			}
			return err
		})
	}
	checkEqual(t, "checkout listing, pages of 2", fmt.Sprint(ids), "[CS4 CS3 CS2 CS1 CS0]")
}

func testPaymentDays(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	mk := func(id string, offset time.Duration, status gateway.Status, authorized, captured, refunded int64) gateway.Payment {
		p := payment(id, acct1, gateway.Sandbox)
		p.CreatedAt, p.UpdatedAt = day.Add(offset), day.Add(offset)
		p.Status, p.AuthorizedAmount, p.CapturedAmount, p.RefundedAmount = status, authorized, captured, refunded
		return p
	}
	for _, p := range []gateway.Payment{
		mk("D1", -time.Hour, gateway.StatusCaptured, 999, 999, 0), // the day before from: left out
		mk("D2", time.Hour, gateway.StatusCaptured, 1000, 1000, 300),
		mk("D3", 2*time.Hour, gateway.StatusAuthorized, 500, 0, 0),
		mk("D4", 3*time.Hour, gateway.StatusDeclined, 0, 0, 0),
		mk("D5", 4*time.Hour, gateway.StatusVoided, 700, 0, 0),
		mk("D6", 25*time.Hour, gateway.StatusSettled, 2000, 1500, 0),
		mk("D7", 26*time.Hour, gateway.StatusFailed, 0, 0, 0),
		mk("D8", 27*time.Hour, gateway.StatusPending, 800, 0, 0),
	} {
		insert(t, s, p)
	}
	other := payment("D9", acct1, gateway.Live)
	other.CreatedAt = day.Add(time.Hour)
	insert(t, s, other)
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		days, err := tx.PaymentDays(ctx, acct1, gateway.Sandbox, day)
		want := []gateway.PaymentDay{
			{Day: "2026-11-30", Attempts: 4, Approved: 3, Declined: 1, Volume: 1500, Refunded: 300},
			{Day: "2026-12-01", Attempts: 3, Approved: 1, Volume: 1500},
		}
		checkEqual(t, "payment days", days, want)
		return err
	})
}

// testPaymentScanLimit: a listing whose conditions no index serves looks
// at only the newest ScanLimit payments of its window, and ScanEnd says
// where it stopped; following it finds the older matches, and the last
// window has no end.
func testPaymentScanLimit(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1)
	for i := range 10 {
		p := payment(fmt.Sprintf("SCAN%02d", i), acct1, gateway.Sandbox)
		p.CreatedAt = at(time.Duration(i) * time.Minute)
		p.Customer.Email = "other@example.com"
		if i%3 == 0 { // 0, 3, 6, 9
			p.Customer.Email = "match@example.com"
		}
		insert(t, s, p)
	}
	f := gateway.PaymentFilter{AccountID: acct1, Environment: gateway.Sandbox, Email: "match@example.com", Limit: 10, ScanLimit: 4}
	var pages []string
	for range 4 {
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			list, err := tx.Payments(ctx, f)
			if err != nil {
				return err
			}
			page := ""
			for _, p := range list {
				page += p.ID + " "
			}
			end, err := tx.ScanEnd(ctx, f)
			if end == nil {
				page += "end"
			} else {
				f.Before = end
			}
			pages = append(pages, page)
			return err
		})
	}
	// Newest first: SCAN09..06 examined, then 05..02, then 01..00.
	checkEqual(t, "bounded pages", fmt.Sprint(pages[:3]), "[SCAN09 SCAN06  SCAN03  SCAN00 end]")
	// An order id is served by its index: no bound, no end.
	mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
		f := gateway.PaymentFilter{AccountID: acct1, Environment: gateway.Sandbox, OrderID: "order-SCAN01", Email: "other@example.com", Limit: 10, ScanLimit: 2}
		list, err := tx.Payments(ctx, f)
		if err == nil && (len(list) != 1 || list[0].ID != "SCAN01") {
			t.Errorf("by order id with a scan limit: %v", list)
		}
		end, err2 := tx.ScanEnd(ctx, f)
		if end != nil {
			t.Errorf("ScanEnd of a listing by order id: %v", end)
		}
		return errors.Join(err, err2)
	})
}
