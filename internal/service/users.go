package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/argon2"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
)

// Merchant Portal users: passwords (argon2id), sign-in with throttling,
// server-side sessions with idle and absolute expiry, and TOTP two-factor
// sign-in (RFC 6238). docs/portal.md and ADR 17 explain the choices.

// Defaults of the portal's sessions.
const (
	DefaultPortalIdleTimeout = 30 * time.Minute
	DefaultPortalSessionLife = 12 * time.Hour
	// stepLife bounds a session that waits for a TOTP code, a new
	// password or enrolment.
	stepLife = 10 * time.Minute
	// touchEvery bounds the writes an active session costs: its last use
	// is written at most once a minute.
	touchEvery = time.Minute
)

// Password rules: long enough to resist guessing, no composition rules
// (NIST SP 800-63B).
const (
	MinPasswordLength = 10
	MaxPasswordLength = 200
)

// argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, one
// lane), about 30 ms a hash on this project's machine.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id hash of password in the PHC string
// form, with a fresh salt.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches an argon2id PHC hash,
// with the parameters the hash names (so that they can be raised later).
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<20 || t > 16 || p == 0 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when there is no such user, so that an
// unknown email costs the same time as a wrong password.
var dummyHash = HashPassword("no such user: the time of a real check")

// NewOneTimePassword is a random password to be changed at first sign-in:
// 80 bits in four groups of four, easy to read out.
func NewOneTimePassword() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	s := strings.ToLower(base32.StdEncoding.EncodeToString(b))
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

func checkNewPassword(password string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength || n > MaxPasswordLength || !utf8.ValidString(password) {
		return fieldError("password", "invalid", "A password has %d to %d characters.", MinPasswordLength, MaxPasswordLength)
	}
	return nil
}

// NormalizeEmail trims and lower-cases an email and checks its form.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.IndexByte(e, '@')
	if at < 1 || at != strings.LastIndexByte(e, '@') || at == len(e)-1 || len(e) > 254 ||
		strings.ContainsAny(e, " \t\r\n<>\"',;") || !utf8.ValidString(e) {
		return "", fieldError("email", "invalid", "Give an email address such as name@example.com.")
	}
	return e, nil
}

// NewUser is a user an operator or an admin creates.
type NewUser struct {
	AccountID string
	Email     string
	Role      gateway.Role
	// Password, when set, is the user's password; empty: a one-time
	// password is made, to be changed at first sign-in.
	Password string
}

// CreateUser creates a user of an account and returns it with its
// password when that is a one-time password (else "").
func (s *Service) CreateUser(ctx context.Context, in NewUser) (gateway.User, string, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return gateway.User{}, "", err
	}
	if in.Role == "" {
		in.Role = gateway.RoleStaff
	}
	if _, ok := gateway.ParseRole(string(in.Role)); !ok {
		return gateway.User{}, "", fieldError("role", "invalid", "The role must be admin or staff.")
	}
	oneTime := ""
	password := in.Password
	if password == "" {
		oneTime = NewOneTimePassword()
		password = oneTime
	} else if err := checkNewPassword(password); err != nil {
		return gateway.User{}, "", err
	}
	now := s.now()
	u := gateway.User{ID: gateway.NewID(), AccountID: in.AccountID, Email: email, Role: in.Role, PasswordHash: HashPassword(password),
		MustChangePassword: oneTime != "", CreatedAt: now, UpdatedAt: now}
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.Account(ctx, in.AccountID); err != nil {
			return err
		}
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, "user.created", u.AccountID, "", u.ID, fmt.Sprintf("email=%q role=%s", u.Email, u.Role))
	})
	if errors.Is(err, gateway.ErrConflict) {
		return u, "", gateway.Errorf(gateway.KindConflict, "user-exists", "There is already a user with the email %s.", email)
	}
	if errors.Is(err, gateway.ErrNotFound) {
		return u, "", gateway.Errorf(gateway.KindNotFound, "account-not-found", "There is no account %s.", in.AccountID)
	}
	return u, oneTime, err
}

// ResetUser gives a user a new one-time password and turns their
// two-factor sign-in off, ending their sessions: the operator's way back
// in for a user who lost their password or authenticator.
func (s *Service) ResetUser(ctx context.Context, email string) (gateway.User, string, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return gateway.User{}, "", err
	}
	oneTime := NewOneTimePassword()
	var u gateway.User
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		var err error
		if u, err = tx.UserByEmail(ctx, email); err != nil {
			return err
		}
		u.PasswordHash, u.MustChangePassword, u.TOTPSecret, u.TOTPLastStep, u.UpdatedAt = HashPassword(oneTime), true, "", 0, s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, nil); err != nil {
			return err
		}
		return s.audit(ctx, tx, "user.reset", u.AccountID, "", u.ID, "password and two-factor sign-in reset")
	})
	if errors.Is(err, gateway.ErrNotFound) {
		return u, "", gateway.Errorf(gateway.KindNotFound, "user-not-found", "There is no user with the email %s.", email)
	}
	return u, oneTime, err
}

// Users lists an account's users.
func (s *Service) Users(ctx context.Context, accountID string) ([]gateway.User, error) {
	var list []gateway.User
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		list, err = tx.Users(ctx, accountID)
		return err
	})
	return list, err
}

// errUserNotFound answers for a user of another account as for none.
func errUserNotFound() error {
	return gateway.Errorf(gateway.KindNotFound, "user-not-found", "There is no such user in this account.")
}

var errLastAdmin = gateway.Errorf(gateway.KindInvalid, "last-admin", "An account keeps at least one admin: make another user admin first.")

// SetUserRole changes the role of a user of accountID; the account keeps
// at least one admin.
func (s *Service) SetUserRole(ctx context.Context, accountID, userID string, role gateway.Role) error {
	if _, ok := gateway.ParseRole(string(role)); !ok {
		return fieldError("role", "invalid", "The role must be admin or staff.")
	}
	return s.Store.Update(ctx, func(tx gateway.Tx) error {
		u, err := tx.User(ctx, userID)
		if errors.Is(err, gateway.ErrNotFound) || err == nil && u.AccountID != accountID {
			return errUserNotFound()
		}
		if err != nil {
			return err
		}
		if u.Role == role {
			return nil
		}
		if u.Role == gateway.RoleAdmin {
			if err := keepAnAdmin(ctx, tx, accountID, userID); err != nil {
				return err
			}
		}
		u.Role, u.UpdatedAt = role, s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, "user.role_changed", accountID, "", u.ID, fmt.Sprintf("email=%q role=%s", u.Email, role))
	})
}

// keepAnAdmin refuses a change that would leave the account without an
// admin other than userID.
func keepAnAdmin(ctx context.Context, tx gateway.Tx, accountID, userID string) error {
	users, err := tx.Users(ctx, accountID)
	if err != nil {
		return err
	}
	for _, other := range users {
		if other.ID != userID && other.Role == gateway.RoleAdmin {
			return nil
		}
	}
	return errLastAdmin
}

// RemoveUser deletes a user of accountID and ends their sessions.
func (s *Service) RemoveUser(ctx context.Context, accountID, userID string) error {
	return s.Store.Update(ctx, func(tx gateway.Tx) error {
		u, err := tx.User(ctx, userID)
		if errors.Is(err, gateway.ErrNotFound) || err == nil && u.AccountID != accountID {
			return errUserNotFound()
		}
		if err != nil {
			return err
		}
		if u.Role == gateway.RoleAdmin {
			if err := keepAnAdmin(ctx, tx, accountID, userID); err != nil {
				return err
			}
		}
		if err := tx.DeleteUser(ctx, userID); err != nil {
			return err
		}
		return s.audit(ctx, tx, "user.removed", accountID, "", u.ID, fmt.Sprintf("email=%q", u.Email))
	})
}

// ---- Sign-in ----

// SignInLimits throttle failed sign-ins (wrong passwords and TOTP codes):
// per email, and per client address. Once a bucket is empty, sign-ins of
// that email or from that address are refused, right or wrong, until it
// refills. Zero values take the defaults.
type SignInLimits struct {
	PerUser, PerAddress limit.Config
}

// The default sign-in throttles: 5 failures per email, then one more every
// minute; 20 per address, then one every 30 seconds.
var (
	DefaultSignInPerUser    = limit.Config{Rate: 1.0 / 60, Burst: 5}
	DefaultSignInPerAddress = limit.Config{Rate: 1.0 / 30, Burst: 20}
)

type signInThrottle struct {
	once              sync.Once
	perUser, perAddrs *limit.Limiter
}

func (s *Service) throttle() *signInThrottle {
	t := &s.signIn
	t.once.Do(func() {
		u, a := s.SignInLimits.PerUser, s.SignInLimits.PerAddress
		if u.Rate == 0 {
			u = DefaultSignInPerUser
		}
		if a.Rate == 0 {
			a = DefaultSignInPerAddress
		}
		u.Now, a.Now = s.clock(), s.clock()
		t.perUser, t.perAddrs = limit.New(u), limit.New(a)
	})
	return t
}

func (s *Service) clock() func() time.Time {
	if s.Now != nil {
		return s.Now
	}
	return time.Now
}

// ErrBadCredentials answers a wrong email, password or code alike.
var ErrBadCredentials = gateway.Errorf(gateway.KindUnauthorized, "invalid-credentials", "The email or password is not right.")

var errBadCode = gateway.Errorf(gateway.KindUnauthorized, "invalid-code", "That code is not right, or was used already; enter the current code from your authenticator app.")

// throttled refuses a sign-in of email from clientKey while either bucket
// is empty.
func (t *signInThrottle) throttled(email, clientKey string) error {
	okU, waitU := t.perUser.Check(email)
	okA, waitA := t.perAddrs.Check(clientKey)
	if okU && okA {
		return nil
	}
	secs := limit.RetryAfterSeconds(max(waitU, waitA))
	e := gateway.Errorf(gateway.KindRateLimited, "too-many-sign-in-attempts",
		"Too many failed sign-in attempts; try again in %d seconds.", secs)
	e.Field = strconv.FormatInt(secs, 10) // the surface's Retry-After
	return e
}

func (t *signInThrottle) failed(email, clientKey string) {
	t.perUser.Allow(email)
	t.perAddrs.Allow(clientKey)
}

// Client is where a portal request comes from.
type Client struct {
	IP  string // as the audit log shows it
	Key string // the per-address throttle's key
}

// SignedIn is a session made by SignIn: the cookie's token and what the
// session may do next.
type SignedIn struct {
	Token string
	Stage gateway.SessionStage
}

// SignIn checks an email and password and starts a session: signed in, or
// waiting for the next step (a TOTP code, a new password, enrolment).
func (s *Service) SignIn(ctx context.Context, email, password string, from Client) (SignedIn, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	t := s.throttle()
	if err := t.throttled(email, from.Key); err != nil {
		return SignedIn{}, err
	}
	var u gateway.User
	var a gateway.Account
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		if u, err = tx.UserByEmail(ctx, email); err != nil {
			return err
		}
		a, err = tx.Account(ctx, u.AccountID)
		return err
	})
	if err != nil && !errors.Is(err, gateway.ErrNotFound) {
		return SignedIn{}, err
	}
	hash := u.PasswordHash
	if hash == "" {
		hash = dummyHash
	}
	if !CheckPassword(hash, password) || u.ID == "" {
		t.failed(email, from.Key)
		s.log().Warn("portal sign-in failed", "client_ip", from.IP)
		return SignedIn{}, ErrBadCredentials
	}
	stage := gateway.StageTOTP
	if !u.TwoFactor() {
		stage = nextStage(u, a)
	}
	token, err := s.startSession(ctx, u, stage, from.IP)
	if err != nil {
		return SignedIn{}, err
	}
	return SignedIn{Token: token, Stage: stage}, nil
}

// nextStage is where a session goes once its user has proved who they
// are: a new password for a one-time password, then two-factor enrolment
// if the account requires it, then signed in.
func nextStage(u gateway.User, a gateway.Account) gateway.SessionStage {
	switch {
	case u.MustChangePassword:
		return gateway.StageNewPassword
	case a.Require2FA && !u.TwoFactor():
		return gateway.StageEnrol
	}
	return gateway.StageSignedIn
}

func (s *Service) portalIdle() time.Duration {
	if s.PortalIdleTimeout > 0 {
		return s.PortalIdleTimeout
	}
	return DefaultPortalIdleTimeout
}

func (s *Service) portalLife() time.Duration {
	if s.PortalSessionLife > 0 {
		return s.PortalSessionLife
	}
	return DefaultPortalSessionLife
}

// sessionEnd is when a session of stage started at now ends at the
// latest.
func (s *Service) sessionEnd(stage gateway.SessionStage, now time.Time) time.Time {
	if stage == gateway.StageSignedIn {
		return now.Add(s.portalLife())
	}
	return now.Add(stepLife)
}

func newSessionToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) startSession(ctx context.Context, u gateway.User, stage gateway.SessionStage, clientIP string) (string, error) {
	token := newSessionToken()
	now := s.now()
	ps := gateway.PortalSession{TokenHash: gateway.SessionTokenHash(token), UserID: u.ID, AccountID: u.AccountID, Stage: stage,
		ClientIP: clientIP, CreatedAt: now, LastSeenAt: now, ExpiresAt: s.sessionEnd(stage, now)}
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		// Sessions that ended go as new ones start: no job needed.
		if err := tx.DeleteEndedSessions(ctx, now, 20); err != nil {
			return err
		}
		if err := tx.InsertPortalSession(ctx, ps); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, gateway.AuditEntry{ID: gateway.NewID(), At: now, Actor: "user:" + u.ID, Action: "user.signed_in",
			AccountID: u.AccountID, ObjectID: u.ID, RequestID: requestIDOf(ctx), ClientIP: clientIP, Detail: "stage=" + string(stage)})
	})
	return token, err
}

// Portal is a request's signed-in user: the session, the user and the
// account, as of the request.
type Portal struct {
	Session gateway.PortalSession
	User    gateway.User
	Account gateway.Account
}

// errNoSession answers a missing, unknown, ended or signed-out session.
var errNoSession = gateway.Errorf(gateway.KindUnauthorized, "signed-out", "Your session has ended; please sign in again.")

// ErrNoSession is errNoSession, for surfaces to tell it apart.
var ErrNoSession = errNoSession

// PortalSession finds the session of a cookie's token with its user and
// account, and notes its use (at most once a minute). An unknown, ended
// or idle session is ErrNoSession.
func (s *Service) PortalSession(ctx context.Context, token string) (Portal, error) {
	var p Portal
	if token == "" || len(token) > 100 {
		return p, errNoSession
	}
	hash := gateway.SessionTokenHash(token)
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		if p.Session, err = tx.PortalSession(ctx, hash); err != nil {
			return err
		}
		if p.User, err = tx.User(ctx, p.Session.UserID); err != nil {
			return err
		}
		p.Account, err = tx.Account(ctx, p.Session.AccountID)
		return err
	})
	if errors.Is(err, gateway.ErrNotFound) {
		return p, errNoSession
	}
	if err != nil {
		return p, err
	}
	now := s.now()
	if p.Session.Expired(now, s.portalIdle()) {
		_ = s.Store.Update(ctx, func(tx gateway.Tx) error { return tx.DeletePortalSession(ctx, hash) })
		return p, errNoSession
	}
	if now.Sub(p.Session.LastSeenAt) >= touchEvery {
		p.Session.LastSeenAt = now
		err := s.Store.Update(ctx, func(tx gateway.Tx) error { return tx.UpdatePortalSession(ctx, p.Session) })
		if errors.Is(err, gateway.ErrNotFound) {
			return p, errNoSession // signed out meanwhile
		}
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// advance moves a session to its next stage (a new absolute end when it
// becomes signed in).
func (s *Service) advance(ctx context.Context, tx gateway.Tx, ps gateway.PortalSession, stage gateway.SessionStage) error {
	now := s.now()
	ps.Stage, ps.LastSeenAt = stage, now
	if stage == gateway.StageSignedIn {
		ps.ExpiresAt = s.sessionEnd(stage, now)
	}
	return tx.UpdatePortalSession(ctx, ps)
}

// SignOut ends a session, and records it when there was one.
func (s *Service) SignOut(ctx context.Context, token string) error {
	hash := gateway.SessionTokenHash(token)
	return s.Store.Update(ctx, func(tx gateway.Tx) error {
		ps, err := tx.PortalSession(ctx, hash)
		if errors.Is(err, gateway.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.DeletePortalSession(ctx, hash); err != nil {
			return err
		}
		return s.audit(ctx, tx, "user.signed_out", ps.AccountID, "", ps.UserID, "")
	})
}

// VerifySignInCode completes a sign-in waiting for a TOTP code. Wrong
// codes count against the user's sign-in throttle.
func (s *Service) VerifySignInCode(ctx context.Context, p Portal, code string, from Client) (gateway.SessionStage, error) {
	if p.Session.Stage != gateway.StageTOTP {
		return p.Session.Stage, nil
	}
	t := s.throttle()
	if err := t.throttled(p.User.Email, from.Key); err != nil {
		return "", err
	}
	var stage gateway.SessionStage
	var bad bool
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		u, err := tx.User(ctx, p.User.ID)
		if err != nil {
			return err
		}
		step, ok := s.checkTOTP(u, code)
		if !ok {
			bad = true
			return nil
		}
		u.TOTPLastStep = step
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		stage = nextStage(u, p.Account)
		return s.advance(ctx, tx, p.Session, stage)
	})
	if bad {
		t.failed(p.User.Email, from.Key)
		return "", errBadCode
	}
	return stage, err
}

// ChangePassword sets a user's new password after checking the current
// one (not asked for a one-time password's change at first sign-in), and
// ends the user's other sessions.
func (s *Service) ChangePassword(ctx context.Context, p Portal, current, next string, from Client) (gateway.SessionStage, error) {
	if err := checkNewPassword(next); err != nil {
		return "", err
	}
	firstSignIn := p.Session.Stage == gateway.StageNewPassword
	if !firstSignIn {
		t := s.throttle()
		if err := t.throttled(p.User.Email, from.Key); err != nil {
			return "", err
		}
		if !CheckPassword(p.User.PasswordHash, current) {
			t.failed(p.User.Email, from.Key)
			e := gateway.Errorf(gateway.KindInvalid, "wrong-password", "The current password is not right.")
			e.Field = "current_password"
			return "", e
		}
	}
	if CheckPassword(p.User.PasswordHash, next) {
		return "", fieldError("password", "unchanged", "Choose a password other than the current one.")
	}
	stage := p.Session.Stage
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		u, err := tx.User(ctx, p.User.ID)
		if err != nil {
			return err
		}
		u.PasswordHash, u.MustChangePassword, u.UpdatedAt = HashPassword(next), false, s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, p.Session.TokenHash); err != nil {
			return err
		}
		if firstSignIn {
			stage = nextStage(u, p.Account)
			if err := s.advance(ctx, tx, p.Session, stage); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, "user.password_changed", u.AccountID, "", u.ID, "")
	})
	return stage, err
}

// ---- TOTP ----

// TOTPEnrolment is a new authenticator secret to show the user: the
// otpauth URL as a QR code (PNG) and the secret to type in, and the
// sealed secret that the confirming form sends back.
type TOTPEnrolment struct {
	Secret string
	URL    string
	QRPNG  []byte
	Sealed string
}

// totpIssuer names the gateway in authenticator apps.
const totpIssuer = "CartGateway"

// BeginTOTP makes a new authenticator secret for the user. Nothing is
// stored until ConfirmTOTP gets a code made with it.
func (s *Service) BeginTOTP(p Portal) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: p.User.Email})
	if err != nil {
		return TOTPEnrolment{}, gateway.Internal(err)
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return TOTPEnrolment{}, gateway.Internal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, gateway.Internal(err)
	}
	sealed, err := s.seal(key.Secret(), "totp-enrol:"+p.User.ID)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes(), Sealed: sealed}, nil
}

// ConfirmTOTP turns two-factor sign-in on with the enrolment's secret,
// once code shows that the user's app has it.
func (s *Service) ConfirmTOTP(ctx context.Context, p Portal, sealed, code string) (gateway.SessionStage, error) {
	secret, ok := s.unseal(sealed, "totp-enrol:"+p.User.ID)
	if !ok {
		return "", gateway.Errorf(gateway.KindInvalid, "invalid-enrolment", "The set-up form has expired; start again.")
	}
	stage := p.Session.Stage
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		u, err := tx.User(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if u.TOTPSecret, err = s.seal(secret, "totp:"+u.ID); err != nil {
			return err
		}
		u.TOTPLastStep = 0
		step, ok := s.checkTOTP(u, code)
		if !ok {
			e := gateway.Errorf(gateway.KindInvalid, "invalid-code", "That code is not right; enter the current code from your authenticator app.")
			e.Field = "code"
			return e
		}
		u.TOTPLastStep, u.UpdatedAt = step, s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if p.Session.Stage == gateway.StageEnrol {
			stage = gateway.StageSignedIn
			if err := s.advance(ctx, tx, p.Session, stage); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, "user.totp_enabled", u.AccountID, "", u.ID, "")
	})
	return stage, err
}

// DisableTOTP turns a user's two-factor sign-in off, unless the account
// requires it.
func (s *Service) DisableTOTP(ctx context.Context, p Portal) error {
	if p.Account.Require2FA {
		return gateway.Errorf(gateway.KindInvalid, "two-factor-required", "Your account requires two-factor sign-in; it cannot be turned off.")
	}
	return s.Store.Update(ctx, func(tx gateway.Tx) error {
		u, err := tx.User(ctx, p.User.ID)
		if err != nil {
			return err
		}
		u.TOTPSecret, u.TOTPLastStep, u.UpdatedAt = "", 0, s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, "user.totp_disabled", u.AccountID, "", u.ID, "")
	})
}

// totpPeriod is RFC 6238's default time step.
const totpPeriod = 30

// checkTOTP accepts a code of the user's secret for the current time
// step or the one before or after (clock drift), newer than the last
// accepted one, and says its step.
func (s *Service) checkTOTP(u gateway.User, code string) (int64, bool) {
	secret, ok := s.unseal(u.TOTPSecret, "totp:"+u.ID)
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if !ok || len(code) != 6 {
		return 0, false
	}
	now := s.now().Unix() / totpPeriod
	for step := now - 1; step <= now+1; step++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > u.TOTPLastStep {
			return step, true
		}
	}
	return 0, false
}

// seal encrypts text with the service's credentials box (AES-256-GCM
// under a key derived from the server secret), bound to purpose: a sealed
// value made for one user or use does not open as another's.
func (s *Service) seal(text, purpose string) (string, error) {
	if s.Credentials == nil {
		return "", gateway.Internal(errors.New("no credentials box: the service was built without the server secret's key"))
	}
	return base64.RawURLEncoding.EncodeToString(s.Credentials.Seal(text, purpose)), nil
}

func (s *Service) unseal(sealed, purpose string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || s.Credentials == nil {
		return "", false
	}
	text, err := s.Credentials.Open(b, purpose)
	return text, err == nil
}

// CSRFToken is the form token of a session: an HMAC of the session's
// token hash under the server secret, so that it needs no storage and
// dies with the session.
func (s *Service) CSRFToken(p Portal) string {
	m := hmac.New(sha256.New, s.FingerprintKey)
	m.Write([]byte("portal-csrf\x00"))
	m.Write(p.Session.TokenHash)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckCSRF reports in constant time whether token is the session's form
// token.
func (s *Service) CheckCSRF(p Portal, token string) bool {
	return hmac.Equal([]byte(s.CSRFToken(p)), []byte(token))
}

type requestIDKey struct{}

// WithRequest names who acts, from which address, in which request, for
// the audit entries of changes made with ctx.
func WithRequest(ctx context.Context, actor, clientIP, requestID string) context.Context {
	ctx = WithActor(ctx, actor)
	ctx = context.WithValue(ctx, clientIPKey{}, clientIP)
	return context.WithValue(ctx, requestIDKey{}, requestID)
}

type clientIPKey struct{}

func requestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func clientIPOf(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// ResumeTOTP shows an enrolment again from its sealed secret (after a
// wrong code), so that the user need not scan a new one.
func (s *Service) ResumeTOTP(p Portal, sealed string) (TOTPEnrolment, bool) {
	secret, ok := s.unseal(sealed, "totp-enrol:"+p.User.ID)
	if !ok {
		return TOTPEnrolment{}, false
	}
	key, err := otp.NewKeyFromURL((&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + p.User.Email,
		RawQuery: url.Values{"secret": {secret}, "issuer": {totpIssuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}.Encode()}).String())
	if err != nil {
		return TOTPEnrolment{}, false
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return TOTPEnrolment{}, false
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, false
	}
	return TOTPEnrolment{Secret: secret, URL: key.URL(), QRPNG: buf.Bytes(), Sealed: sealed}, true
}
