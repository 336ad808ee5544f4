package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/cartgateway/cartgateway/internal/credentials"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/limit"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
)

func TestPasswordHash(t *testing.T) {
	h := service.HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || h == service.HashPassword("correct horse battery") {
		t.Errorf("hash %q: want argon2id with a fresh salt", h)
	}
	if !service.CheckPassword(h, "correct horse battery") || service.CheckPassword(h, "correct horse batterY") {
		t.Error("CheckPassword does not tell the password apart")
	}
	for _, bad := range []string{"", "$argon2id$", "$bcrypt$x", strings.Replace(h, "t=2", "t=99", 1), strings.Replace(h, "p=1", "p=0", 1)} {
		if service.CheckPassword(bad, "correct horse battery") {
			t.Errorf("CheckPassword accepts the hash %q", bad)
		}
	}
}

// TestPortalSessions: the absolute end holds however active a session is;
// a TOTP code works once; a wrong one counts against the throttle; an
// account keeps an admin; the account's own duplicate window applies.
func TestPortalSessions(t *testing.T) {
	backends(t, func(t *testing.T, open func(t *testing.T) gateway.Store) {
		ctx := context.Background()
		h := newHarness(t, open(t), sandbox.Processor{})
		s := h.svc
		box, err := credentials.New([]byte("a server secret of at least 32 bytes"))
		if err != nil {
			t.Fatal(err)
		}
		s.Credentials = box
		s.DuplicateWindow = 10 * time.Minute
		s.SignInLimits = service.SignInLimits{PerUser: limit.Config{Rate: 1.0 / 3600, Burst: 2}, PerAddress: limit.Config{Rate: 1, Burst: 100}}
		from := service.Client{IP: "192.0.2.1", Key: "192.0.2.1"}
		u, _, err := s.CreateUser(ctx, service.NewUser{AccountID: h.caller.Account.ID, Email: "Ann@Example.com", Role: gateway.RoleAdmin, Password: "correct horse battery"})
		if err != nil || u.Email != "ann@example.com" {
			t.Fatalf("create: %v %q", err, u.Email)
		}
		if _, _, err := s.CreateUser(ctx, service.NewUser{AccountID: h.caller.Account.ID, Email: "ann@example.com"}); gateway.AsError(err).Code != "user-exists" {
			t.Errorf("the same email again: %v", err)
		}
		in, err := s.SignIn(ctx, "ann@example.com", "correct horse battery", from)
		if err != nil || in.Stage != gateway.StageSignedIn {
			t.Fatalf("sign in: %v %v", in, err)
		}
		// Active every 20 minutes (never idle) until past the 12 h end.
		for range 12 * 3 {
			h.clock.advance(20 * time.Minute)
			if _, err := s.PortalSession(ctx, in.Token); err != nil {
				break
			}
		}
		if _, err := s.PortalSession(ctx, in.Token); err != service.ErrNoSession {
			t.Errorf("after 12 h of activity: %v, want ErrNoSession", err)
		}

		// TOTP: enrol, then a code works once.
		in, _ = s.SignIn(ctx, "ann@example.com", "correct horse battery", from)
		p, _ := s.PortalSession(ctx, in.Token)
		e, err := s.BeginTOTP(p)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(e.Secret, h.clock.now())
		if _, err := s.ConfirmTOTP(ctx, p, e.Sealed, code); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		in, _ = s.SignIn(ctx, "ann@example.com", "correct horse battery", from)
		if in.Stage != gateway.StageTOTP {
			t.Fatalf("with TOTP, sign-in waits for a code: %q", in.Stage)
		}
		p, _ = s.PortalSession(ctx, in.Token)
		if _, err := s.VerifySignInCode(ctx, p, code, from); gateway.AsError(err).Code != "invalid-code" {
			t.Errorf("the enrolment's code again: %v", err)
		}
		h.clock.advance(30 * time.Second)
		next, _ := totp.GenerateCode(e.Secret, h.clock.now())
		if _, err := s.VerifySignInCode(ctx, p, next, from); err != nil {
			t.Fatalf("the next code: %v", err)
		}
		if p, _ = s.PortalSession(ctx, in.Token); p.Session.Stage != gateway.StageSignedIn {
			t.Errorf("after the code: %q", p.Session.Stage)
		}
		// A sealed enrolment of another user does not open as this one's.
		other, _, _ := s.CreateUser(ctx, service.NewUser{AccountID: h.caller.Account.ID, Email: "bob@example.com", Password: "correct horse battery"})
		if _, err := s.ConfirmTOTP(ctx, service.Portal{User: other, Session: p.Session}, e.Sealed, next); gateway.AsError(err).Code != "invalid-enrolment" {
			t.Errorf("another user's sealed secret: %v", err)
		}

		if err := s.SetUserRole(ctx, h.caller.Account.ID, u.ID, gateway.RoleStaff); gateway.AsError(err).Code != "last-admin" {
			t.Errorf("demoting the only admin: %v", err)
		}
		if err := s.RemoveUser(ctx, h.caller.Account.ID, other.ID); err != nil {
			t.Errorf("remove staff: %v", err)
		}
		if err := s.RemoveUser(ctx, "99999999", u.ID); gateway.AsError(err).Code != "user-not-found" {
			t.Errorf("removing a user of another account: %v", err)
		}

		// The account's duplicate window: off, then its own.
		if _, err := s.UpdateSettings(ctx, h.caller.Account.ID, service.Settings{Name: "Shop", DuplicateWindow: -1}); err != nil {
			t.Fatal(err)
		}
		a := h.caller
		a.Account.DuplicateWindow = -1
		pay := input("4242424242424242", 1500)
		for i := range 2 {
			if _, err := s.Charge(ctx, a, pay, nil); err != nil {
				t.Fatalf("charge %d with the check off: %v", i, err)
			}
		}
		a.Account.DuplicateWindow = time.Minute
		if _, err := s.Charge(ctx, a, pay, nil); gateway.AsError(err).Code != "duplicate-transaction" {
			t.Errorf("with the account's window: %v", err)
		}
	})
}
