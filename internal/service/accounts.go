package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/money"
)

// NewAccount is what an operator gives to create a merchant account. ID and
// Key are optional: given, they import an existing merchant's credentials.
type NewAccount struct {
	ID, Name, Currency, Key string
	Environment             gateway.Environment
}

// CreateAccount creates an account with one private key and returns both;
// the key's secret is returned only here.
func (s *Service) CreateAccount(ctx context.Context, in NewAccount) (gateway.Account, string, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return gateway.Account{}, "", gateway.Errorf(gateway.KindInvalid, "invalid-name", "The account needs a name.")
	}
	cur := money.USD
	if in.Currency != "" {
		var ok bool
		if cur, ok = money.LookupCurrency(in.Currency); !ok {
			return gateway.Account{}, "", gateway.Errorf(gateway.KindInvalid, "invalid-currency", "%q is not an ISO 4217 currency code.", in.Currency)
		}
	}
	explicitID := in.ID != ""
	if explicitID && !gateway.ValidAccountID(in.ID) {
		return gateway.Account{}, "", gateway.Errorf(gateway.KindInvalid, "invalid-account-id", "An account id is 1 to 18 digits without a leading zero.")
	}
	a := gateway.Account{ID: in.ID, Name: name, Currency: cur.Code, CreatedAt: s.now()}
	var secret string
	for attempt := 0; ; attempt++ {
		if !explicitID {
			a.ID = gateway.NewAccountID()
		}
		var err error
		err = s.Store.Update(ctx, func(tx gateway.Tx) error {
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
			var key gateway.Key
			key, secret, err = s.newKey(a.ID, in.Environment, in.Key)
			if err != nil {
				return err
			}
			if err := tx.AddKey(ctx, key); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, "account.created", a.ID, "", a.ID, fmt.Sprintf("name=%q currency=%s", a.Name, a.Currency)); err != nil {
				return err
			}
			return s.audit(ctx, tx, "key.added", a.ID, key.Environment, key.ID, "hint="+key.Hint)
		})
		if errors.Is(err, gateway.ErrConflict) {
			if explicitID || attempt > 5 {
				return a, "", gateway.Errorf(gateway.KindConflict, "account-exists", "An account with id %s, or that key, already exists.", a.ID)
			}
			continue // a random id collided: draw another
		}
		return a, secret, err
	}
}

// AddKey gives an account another key (for rotation without downtime).
func (s *Service) AddKey(ctx context.Context, accountID string, env gateway.Environment, secret string) (gateway.Key, string, error) {
	var key gateway.Key
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.Account(ctx, accountID); err != nil {
			return err
		}
		active, err := tx.ActiveKeys(ctx, accountID)
		if err != nil {
			return err
		}
		if len(active) >= gateway.MaxActiveKeys {
			return gateway.Errorf(gateway.KindInvalid, "too-many-keys",
				"The account has %d active keys, the most it may have; revoke one first.", len(active))
		}
		if key, secret, err = s.newKey(accountID, env, secret); err != nil {
			return err
		}
		if err := tx.AddKey(ctx, key); err != nil {
			return err
		}
		return s.audit(ctx, tx, "key.added", accountID, key.Environment, key.ID, "hint="+key.Hint)
	})
	if errors.Is(err, gateway.ErrConflict) {
		return key, "", gateway.Errorf(gateway.KindConflict, "key-exists", "That key is already in use.")
	}
	return key, secret, err
}

// SetMaxAmount sets an account's largest charge or authorization, in minor
// units; 0 restores the default (gateway.DefaultMaxAmount).
func (s *Service) SetMaxAmount(ctx context.Context, accountID string, max int64) error {
	if max < 0 || max > gateway.MaxWireAmount {
		return gateway.Errorf(gateway.KindInvalid, "invalid-max-amount", "The maximum amount must be 0 (the default) to %d minor units.", int64(gateway.MaxWireAmount))
	}
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		if err := tx.SetAccountMaxAmount(ctx, accountID, max); err != nil {
			return err
		}
		return s.audit(ctx, tx, "account.max_amount_set", accountID, "", accountID, fmt.Sprintf("max_amount=%d", max))
	})
	if err == nil {
		s.auth.clear() // the new limit applies at once here; in other processes within AuthCacheTTL
	}
	return err
}

// RevokeKey makes a key unusable at once.
func (s *Service) RevokeKey(ctx context.Context, accountID, keyID string) error {
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		if err := tx.RevokeKey(ctx, accountID, keyID, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, "key.revoked", accountID, "", keyID, "")
	})
	if err == nil {
		s.auth.clear() // other processes forget the key within AuthCacheTTL
	}
	return err
}

// Accounts lists every account with its keys.
func (s *Service) Accounts(ctx context.Context) ([]gateway.Account, map[string][]gateway.Key, error) {
	var accounts []gateway.Account
	keys := map[string][]gateway.Key{}
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		if accounts, err = tx.Accounts(ctx); err != nil {
			return err
		}
		for _, a := range accounts {
			if keys[a.ID], err = tx.Keys(ctx, a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return accounts, keys, err
}

// minKeyLength keeps imported keys from being guessable.
const minKeyLength = 20

func (s *Service) newKey(accountID string, env gateway.Environment, secret string) (gateway.Key, string, error) {
	if env == "" {
		env = gateway.Sandbox
	}
	if _, ok := gateway.ParseEnvironment(string(env)); !ok {
		return gateway.Key{}, "", gateway.Errorf(gateway.KindInvalid, "invalid-environment", "The environment must be sandbox or live.")
	}
	if secret == "" {
		secret = gateway.NewKeySecret()
	}
	if len(secret) < minKeyLength || strings.ContainsAny(secret, " \t\r\n") {
		return gateway.Key{}, "", gateway.Errorf(gateway.KindInvalid, "invalid-key", "A private key has at least %d characters and no spaces.", minKeyLength)
	}
	return gateway.Key{ID: gateway.NewID(), AccountID: accountID, Environment: env, Hash: gateway.HashKey(secret),
		Hint: gateway.KeyHint(secret), CreatedAt: s.now()}, secret, nil
}

var errUnauthorized = gateway.Errorf(gateway.KindUnauthorized, "invalid-passed-privatekey", "The access token is not valid.")

// Authenticate finds the caller of a request from its account id, private
// key and optional environment header. Every failure looks the same to the
// caller, whatever part was wrong.
func (s *Service) Authenticate(ctx context.Context, accountID, secret, environment string) (Caller, error) {
	if secret == "" {
		return Caller{}, gateway.Errorf(gateway.KindUnauthorized, "missing-privatekey", "The Authorization header must carry a Bearer private key.")
	}
	if accountID == "" {
		return Caller{}, gateway.Errorf(gateway.KindUnauthorized, "missing-account-id", "The CARTGATEWAY-ACCOUNT-ID header is required.")
	}
	if !gateway.ValidAccountID(accountID) {
		return Caller{}, errUnauthorized
	}
	key := cacheKey(accountID, secret)
	if s.AuthCacheTTL > 0 {
		if caller, ok := s.auth.get(key, s.now()); ok {
			return s.used(checkEnvironment(caller, environment))
		}
	}
	var caller Caller
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		// Read and compare the keys before looking at the account, so that
		// an unknown account costs the same work as a wrong key.
		keys, err := tx.ActiveKeys(ctx, accountID)
		if err != nil {
			return err
		}
		var match *gateway.Key
		for i, k := range keys {
			// Compare every key, matched or not, so timing tells nothing.
			if k.Matches(secret) && k.RevokedAt.IsZero() {
				match = &keys[i]
			}
		}
		if len(keys) == 0 {
			gateway.Key{Hash: make([]byte, 32)}.Matches(secret)
		}
		if match == nil {
			return errUnauthorized
		}
		a, err := tx.Account(ctx, accountID)
		if err != nil {
			return err
		}
		caller = Caller{Account: a, Environment: match.Environment, Actor: "key:" + match.ID}
		return nil
	})
	if err != nil {
		return Caller{}, err
	}
	if s.AuthCacheTTL > 0 {
		s.auth.put(key, caller, s.now().Add(s.AuthCacheTTL))
	}
	return s.used(checkEnvironment(caller, environment))
}

// used notes the use of the key that authenticated c, for the portal's
// "last used" (written down by FlushKeyUse).
func (s *Service) used(c Caller, err error) (Caller, error) {
	if err == nil {
		s.keyUse.note(strings.TrimPrefix(c.Actor, "key:"), s.now())
	}
	return c, err
}

// checkEnvironment refuses a key of the other environment like any invalid
// key: the answer does not tell that the key itself was right.
func checkEnvironment(caller Caller, environment string) (Caller, error) {
	if environment != "" && !strings.EqualFold(environment, string(caller.Environment)) {
		return Caller{}, errUnauthorized
	}
	return caller, nil
}
