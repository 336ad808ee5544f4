package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/money"
)

// What the Merchant Portal reads and changes besides users and payments'
// operations: the dashboard, listings, keys, settings and the audit log.

// ---- Key use ----

// keyUse remembers when each key last authenticated a request, in memory,
// until FlushKeyUse writes it down: a write per request would cost every
// API call a database write.
type keyUse struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (k *keyUse) note(keyID string, at time.Time) {
	k.mu.Lock()
	if k.last == nil {
		k.last = map[string]time.Time{}
	}
	k.last[keyID] = at
	k.mu.Unlock()
}

func (k *keyUse) take() map[string]time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.last
	k.last = nil
	return out
}

func (k *keyUse) get(keyID string) time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last[keyID]
}

// FlushKeyUse writes the key uses noted since the last flush.
func (s *Service) FlushKeyUse(ctx context.Context) error {
	uses := s.keyUse.take()
	if len(uses) == 0 {
		return nil
	}
	return s.Store.Update(ctx, func(tx gateway.Tx) error {
		for id, at := range uses {
			if err := tx.RecordKeyUse(ctx, id, at); err != nil {
				return err
			}
		}
		return nil
	})
}

// RunKeyUseFlush writes key uses down every period until ctx ends, and
// once more then.
func (s *Service) RunKeyUseFlush(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := s.FlushKeyUse(context.WithoutCancel(ctx)); err != nil {
				s.log().Error("record key use", "err", err)
			}
			return
		case <-t.C:
			if err := s.FlushKeyUse(ctx); err != nil {
				s.log().Error("record key use", "err", err)
			}
		}
	}
}

// Keys lists an account's keys, revoked ones too, each with its last use
// as this process knows it.
func (s *Service) Keys(ctx context.Context, accountID string) ([]gateway.Key, error) {
	var keys []gateway.Key
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		keys, err = tx.Keys(ctx, accountID)
		return err
	})
	for i, k := range keys {
		if at := s.keyUse.get(k.ID); at.After(k.LastUsedAt) {
			keys[i].LastUsedAt = at
		}
	}
	return keys, err
}

// ---- Settings ----

// Settings are what an account's admins set in the portal.
type Settings struct {
	// Name is the business name shown on the hosted checkout page.
	Name string
	// DuplicateWindow: zero is the server's, negative off.
	DuplicateWindow time.Duration
	Require2FA      bool
}

// MaxDuplicateWindow bounds an account's duplicate-check window.
const MaxDuplicateWindow = 7 * 24 * time.Hour

// UpdateSettings changes an account's settings.
func (s *Service) UpdateSettings(ctx context.Context, accountID string, in Settings) (gateway.Account, error) {
	var c textChecker
	name := c.text("name", in.Name, true)
	if c.err != nil {
		return gateway.Account{}, c.err
	}
	if in.DuplicateWindow > MaxDuplicateWindow {
		return gateway.Account{}, fieldError("duplicate_window", "invalid", "The duplicate-check window is at most %s.", "7 days")
	}
	if in.DuplicateWindow < 0 {
		in.DuplicateWindow = -1
	}
	var a gateway.Account
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		var err error
		if a, err = tx.Account(ctx, accountID); err != nil {
			return err
		}
		a.Name, a.DuplicateWindow, a.Require2FA = name, in.DuplicateWindow, in.Require2FA
		if err := tx.SetAccountSettings(ctx, a); err != nil {
			return err
		}
		return s.audit(ctx, tx, "account.settings_changed", accountID, "", accountID,
			fmt.Sprintf("name=%q duplicate_window=%s require_2fa=%t", a.Name, windowText(a.DuplicateWindow), a.Require2FA))
	})
	if err == nil {
		s.auth.clear() // the window applies at once here; in other processes within AuthCacheTTL
	}
	return a, err
}

func windowText(d time.Duration) string {
	switch {
	case d == 0:
		return "server-default"
	case d < 0:
		return "off"
	}
	return d.String()
}

// ---- Listings ----

// Payments lists the caller's payments matching f (its account and
// environment are the caller's), newest first.
func (s *Service) Payments(ctx context.Context, c Caller, f gateway.PaymentFilter) ([]gateway.Payment, error) {
	f.AccountID, f.Environment = c.Account.ID, c.Environment
	if f.Limit <= 0 || f.Limit > gateway.MaxPaymentPage {
		f.Limit = gateway.MaxPaymentPage
	}
	var list []gateway.Payment
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		list, err = tx.Payments(ctx, f)
		return err
	})
	return list, err
}

// PortalScanLimit bounds the payments one page of a portal listing
// examines when its filter has conditions no index serves (status,
// amounts, email, last 4, operation): a page costs the same however rare
// its matches are, and the next page searches on (docs/performance.md).
const PortalScanLimit = 100_000

// PaymentPage is one page of a listing: the payments, and, when the page
// stopped searching before it was full (a bounded scan), where the search
// goes on.
type PaymentPage struct {
	Payments []gateway.Payment
	// SearchedTo is set when older payments were not examined yet: the
	// cursor from which the next page searches on.
	SearchedTo *gateway.PaymentCursor
}

// FindPayments lists a page of the caller's payments matching f, newest
// first, examining at most PortalScanLimit payments when the filter needs
// a scan.
func (s *Service) FindPayments(ctx context.Context, c Caller, f gateway.PaymentFilter) (PaymentPage, error) {
	f.AccountID, f.Environment, f.ScanLimit = c.Account.ID, c.Environment, PortalScanLimit
	if f.Limit <= 0 || f.Limit > gateway.MaxPaymentPage {
		f.Limit = gateway.MaxPaymentPage
	}
	var page PaymentPage
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		if page.Payments, err = tx.Payments(ctx, f); err != nil || len(page.Payments) == f.Limit {
			return err
		}
		page.SearchedTo, err = tx.ScanEnd(ctx, f)
		return err
	})
	return page, err
}

// EachPayment calls fn with every payment matching f, newest first, a
// page at a time (for an export of any size in bounded memory); it stops
// at fn's first error.
func (s *Service) EachPayment(ctx context.Context, c Caller, f gateway.PaymentFilter, fn func(gateway.Payment) error) error {
	f.Limit, f.Before = gateway.MaxPaymentPage, nil
	for {
		page, err := s.Payments(ctx, c, f)
		if err != nil {
			return err
		}
		for _, p := range page {
			if err := fn(p); err != nil {
				return err
			}
		}
		if len(page) < f.Limit {
			return nil
		}
		last := page[len(page)-1]
		f.Before = &gateway.PaymentCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
}

// CheckoutSessions lists the caller's checkout sessions, newest first,
// before the cursor.
func (s *Service) CheckoutSessions(ctx context.Context, c Caller, before *gateway.PaymentCursor, limit int) ([]gateway.CheckoutSession, error) {
	var list []gateway.CheckoutSession
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		list, err = tx.CheckoutSessions(ctx, gateway.CheckoutFilter{AccountID: c.Account.ID, Environment: c.Environment, Before: before, Limit: limit})
		return err
	})
	return list, err
}

// AccountAudit lists the newest entries of an account's audit log: what
// its users, the operator and its keys changed (payment operations are
// in the ledger, shown on each payment's page; those made in the portal
// are here too, with the user's address).
func (s *Service) AccountAudit(ctx context.Context, accountID string, limit int) ([]gateway.AuditEntry, error) {
	var list []gateway.AuditEntry
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		list, err = tx.AuditLog(ctx, gateway.AuditFilter{AccountID: accountID, NewestFirst: true, Limit: limit})
		return err
	})
	return list, err
}

// ---- Dashboard ----

// Figures add up payments over a period.
type Figures struct {
	Attempts, Approved, Declined int64
	Volume, Refunded             int64 // minor units
}

// ApprovalRate is the approved share of attempts in tenths of a percent
// (975 is 97.5 %), and false when there were none.
func (f Figures) ApprovalRate() (int64, bool) {
	if f.Attempts == 0 {
		return 0, false
	}
	return (f.Approved*1000 + f.Attempts/2) / f.Attempts, true
}

// add adds a day to f with checked sums.
func (f *Figures) add(d gateway.PaymentDay) error {
	var ok [5]bool
	f.Attempts, ok[0] = money.Add(f.Attempts, d.Attempts)
	f.Approved, ok[1] = money.Add(f.Approved, d.Approved)
	f.Declined, ok[2] = money.Add(f.Declined, d.Declined)
	f.Volume, ok[3] = money.Add(f.Volume, d.Volume)
	f.Refunded, ok[4] = money.Add(f.Refunded, d.Refunded)
	for _, o := range ok {
		if !o {
			return gateway.Internal(errors.New("dashboard: a sum overflows int64"))
		}
	}
	return nil
}

// DashboardDays is the dashboard's period: today and the 29 days before.
const DashboardDays = 30

// EnvironmentFigures are one environment's figures on the dashboard.
type EnvironmentFigures struct {
	Environment   gateway.Environment
	Today, Last30 Figures
	// Daily is the volume of each day of the period, oldest first.
	Daily []DayVolume
}

// DayVolume is one day's approved volume.
type DayVolume struct {
	Day    time.Time
	Volume int64
}

// Dashboard adds up an account's payments of today and the last 30 days
// (UTC), per environment.
func (s *Service) Dashboard(ctx context.Context, a gateway.Account) ([]EnvironmentFigures, error) {
	now := s.now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	from := today.AddDate(0, 0, -(DashboardDays - 1))
	var out []EnvironmentFigures
	for _, env := range []gateway.Environment{gateway.Sandbox, gateway.Live} {
		var days []gateway.PaymentDay
		err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
			var err error
			days, err = tx.PaymentDays(ctx, a.ID, env, from)
			return err
		})
		if err != nil {
			return nil, err
		}
		ef := EnvironmentFigures{Environment: env}
		byDay := map[string]int64{}
		for _, d := range days {
			if err := ef.Last30.add(d); err != nil {
				return nil, err
			}
			if d.Day == today.Format(time.DateOnly) {
				if err := ef.Today.add(d); err != nil {
					return nil, err
				}
			}
			byDay[d.Day] = d.Volume
		}
		for day := from; !day.After(today); day = day.AddDate(0, 0, 1) {
			ef.Daily = append(ef.Daily, DayVolume{Day: day, Volume: byDay[day.Format(time.DateOnly)]})
		}
		out = append(out, ef)
	}
	return out, nil
}

// PortalCaller is the Caller of a portal user's requests in env: their
// account, the actor "user:<id>" and their address for the audit log.
func PortalCaller(p Portal, env gateway.Environment, requestID, clientIP string) Caller {
	return Caller{Account: p.Account, Environment: env, RequestID: requestID, Actor: "user:" + p.User.ID, ClientIP: clientIP}
}
