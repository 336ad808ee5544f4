package gateway

import (
	"crypto/sha256"
	"time"
)

// The Merchant Portal's domain: users of an account, their roles and what
// each role may do, and their sign-in sessions (docs/portal.md).

// Role is what a user may do in the portal.
type Role string

const (
	// RoleAdmin may do everything: keys, users, settings and the audit
	// log besides payments and products.
	RoleAdmin Role = "admin"
	// RoleStaff runs payments and products.
	RoleStaff Role = "staff"
)

// ParseRole accepts "admin" or "staff".
func ParseRole(s string) (Role, bool) {
	switch Role(s) {
	case RoleAdmin, RoleStaff:
		return Role(s), true
	}
	return "", false
}

// Permission is one kind of thing a portal user does.
type Permission string

const (
	PermViewPayments   Permission = "payments.view"    // dashboard, payments, checkouts, CSV export
	PermOperate        Permission = "payments.operate" // capture, refund, void
	PermManageProducts Permission = "products.manage"
	PermManageKeys     Permission = "keys.manage"
	PermManageUsers    Permission = "users.manage"
	PermManageSettings Permission = "settings.manage"
	PermViewAudit      Permission = "audit.view"
	PermManageWebhooks Permission = "webhooks.manage" // endpoints, their secrets, deliveries
)

// Allows reports whether the role may do p: an admin everything, staff
// payments and products only.
func (r Role) Allows(p Permission) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleStaff:
		switch p {
		case PermViewPayments, PermOperate, PermManageProducts:
			return true
		}
	}
	return false
}

// ErrForbidden refuses a user an action their role does not allow.
var ErrForbidden = Errorf(KindForbidden, "not-allowed", "Your role does not allow this; ask an admin of your account.")

// User is a person who signs in to the portal for one account.
type User struct {
	ID           string
	AccountID    string
	Email        string // lower-cased
	Role         Role
	PasswordHash string // argon2id, PHC string form
	// MustChangePassword is set for a one-time password: the first sign-in
	// must choose a new one.
	MustChangePassword bool
	// TOTPSecret is the sealed secret of the user's authenticator app;
	// empty while two-factor sign-in is off.
	TOTPSecret string
	// TOTPLastStep is the time step of the last code accepted: a code is
	// accepted once.
	TOTPLastStep int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TwoFactor reports whether the user signs in with a TOTP code.
func (u User) TwoFactor() bool { return u.TOTPSecret != "" }

// SessionStage is what a portal session may do.
type SessionStage string

const (
	// StageSignedIn may use the portal, within the user's role.
	StageSignedIn SessionStage = "signed-in"
	// StageTOTP has given the right password and waits for a TOTP code.
	StageTOTP SessionStage = "totp"
	// StageNewPassword signed in with a one-time password and must choose
	// a new one.
	StageNewPassword SessionStage = "new-password"
	// StageEnrol must set up two-factor sign-in, which the account
	// requires.
	StageEnrol SessionStage = "enrol"
)

// PortalSession is a signed-in browser. The cookie holds a random token;
// the store keeps only its hash.
type PortalSession struct {
	TokenHash  []byte
	UserID     string
	AccountID  string
	Stage      SessionStage
	ClientIP   string // where it signed in from
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is the absolute end, however active the session is.
	ExpiresAt time.Time
}

// Expired reports whether the session has ended at now: past its absolute
// end, or idle for longer than idle.
func (s PortalSession) Expired(now time.Time, idle time.Duration) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(idle))
}

// SessionTokenHash is the stored form of a session token (random: a plain
// hash suffices).
func SessionTokenHash(token string) []byte {
	h := sha256.Sum256([]byte("portal-session\x00" + token))
	return h[:]
}

// CheckoutFilter selects an account's checkout sessions for a listing,
// newest first.
type CheckoutFilter struct {
	AccountID   string
	Environment Environment
	Before      *PaymentCursor // keyset cursor: (CreatedAt, ID) of the last one listed
	Limit       int            // required, at most MaxPaymentPage
}

// PaymentDay is what the payments made on one day (UTC) of an account and
// environment add up to.
type PaymentDay struct {
	Day      string // YYYY-MM-DD
	Attempts int64  // charges and authorizations, approved or not
	Approved int64  // of those, approved (pending ones are neither)
	Declined int64
	// Volume is the money approved payments took: captured, or held
	// while only authorized; voided payments count nothing.
	Volume   int64
	Refunded int64 // refunded of the day's payments, whenever it was
}
