package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Live processors are per account (ADR 13): an operator gives an account a
// connector and its credentials (SetProcessor), sealed in the store; the
// service builds the account's processor from them when a live operation
// needs it, and keeps it while the configuration stays the same.

// processor is the processor of an account's environment: for live, the
// account's configured connector, if any; else the environment's own
// (Processors: the sandbox). nil when there is none.
func (s *Service) processor(ctx context.Context, accountID string, env gateway.Environment) (gateway.Processor, error) {
	if env == gateway.Live && len(s.Connectors) > 0 {
		var cfg gateway.ProcessorConfig
		err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
			var err error
			cfg, err = tx.ProcessorConfig(ctx, accountID)
			return err
		})
		switch {
		case err == nil:
			return s.live.get(cfg, s.buildProcessor)
		case !errors.Is(err, gateway.ErrNotFound):
			return nil, err
		}
	}
	return s.Processors[env], nil
}

// buildProcessor opens a configuration's credentials and builds its
// processor.
func (s *Service) buildProcessor(cfg gateway.ProcessorConfig) (gateway.Processor, error) {
	conn, ok := s.Connectors[cfg.Processor]
	if !ok {
		return nil, gateway.Internal(fmt.Errorf("account %s: no connector %q in this build", cfg.AccountID, cfg.Processor))
	}
	if s.Credentials == nil {
		return nil, gateway.Internal(errors.New("no credentials box: the service was built without the server secret's key"))
	}
	secret, err := s.Credentials.Open(cfg.SealedSecret, binding(cfg.AccountID, cfg.Processor))
	if err != nil {
		return nil, gateway.Internal(fmt.Errorf("account %s: %w", cfg.AccountID, err))
	}
	proc, err := conn.New(gateway.ConnectorConfig{AccountID: cfg.AccountID, Secret: secret, APIBase: cfg.APIBase,
		AttemptTimeout: s.processorTimeout() / attemptsPerCall, Log: s.log()})
	if err != nil {
		return nil, gateway.Internal(fmt.Errorf("account %s: build the %s processor: %w", cfg.AccountID, cfg.Processor, err))
	}
	return proc, nil
}

// attemptsPerCall is how many HTTP attempts (the first and its retries) a
// connector fits in one processor timeout.
const attemptsPerCall = 3

// binding ties sealed credentials to their account and connector.
func binding(accountID, processor string) string {
	return "account " + accountID + " processor " + processor
}

// liveCache keeps each account's processor while its configuration (as
// last updated) stays the same, so that its connections are reused; a new
// configuration, from this process or another, builds a new one.
type liveCache struct {
	mu sync.Mutex
	m  map[string]liveEntry
}

type liveEntry struct {
	cfg  gateway.ProcessorConfig
	proc gateway.Processor
}

func (c *liveCache) get(cfg gateway.ProcessorConfig, build func(gateway.ProcessorConfig) (gateway.Processor, error)) (gateway.Processor, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[cfg.AccountID]; ok && sameConfig(e.cfg, cfg) {
		return e.proc, nil
	}
	proc, err := build(cfg)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]liveEntry{}
	}
	c.m[cfg.AccountID] = liveEntry{cfg: cfg, proc: proc}
	return proc, nil
}

func sameConfig(a, b gateway.ProcessorConfig) bool {
	return a.Processor == b.Processor && a.APIBase == b.APIBase && a.UpdatedAt.Equal(b.UpdatedAt) &&
		string(a.SealedSecret) == string(b.SealedSecret)
}

// ProcessorSettings is what an operator gives to configure an account's
// live processor.
type ProcessorSettings struct {
	AccountID string
	Processor string // a connector's name
	Secret    string // its credentials; stored sealed, never shown again
	APIBase   string // "" for the processor's own
}

// SetProcessor gives an account its live processor (replacing any), with
// the credentials sealed. It returns what is stored, without the secret.
func (s *Service) SetProcessor(ctx context.Context, in ProcessorSettings) (gateway.ProcessorConfig, error) {
	conn, ok := s.Connectors[in.Processor]
	if !ok {
		return gateway.ProcessorConfig{}, gateway.Errorf(gateway.KindInvalid, "unknown-processor",
			"There is no processor %q; this build has: %s.", in.Processor, strings.Join(slices.Sorted(maps.Keys(s.Connectors)), ", "))
	}
	if in.APIBase != "" && !gateway.ValidAPIBase(in.APIBase) {
		return gateway.ProcessorConfig{}, gateway.Errorf(gateway.KindInvalid, "invalid-api-base",
			"The API base must be an https URL (http only to a loopback address), without credentials, query or fragment.")
	}
	return s.saveProcessor(ctx, in.AccountID, "processor.set", conn, func(gateway.ProcessorConfig, bool) (gateway.ProcessorConfig, error) {
		return gateway.ProcessorConfig{AccountID: in.AccountID, Processor: in.Processor, APIBase: in.APIBase}, nil
	}, in.Secret)
}

// RotateProcessorSecret replaces the credentials of an account's live
// processor, keeping the rest of its configuration.
func (s *Service) RotateProcessorSecret(ctx context.Context, accountID, secret string) (gateway.ProcessorConfig, error) {
	var conn gateway.Connector
	return s.saveProcessor(ctx, accountID, "processor.secret_rotated", conn, func(cur gateway.ProcessorConfig, found bool) (gateway.ProcessorConfig, error) {
		if !found {
			return cur, gateway.Errorf(gateway.KindNotFound, "processor-not-configured",
				"Account %s has no live processor; set one first (cartgateway accounts set-processor).", accountID)
		}
		return cur, nil
	}, secret)
}

// saveProcessor stores the configuration that next builds from the
// current one (found: whether there is one), with secret sealed, in one
// transaction with its audit entry. conn is the connector to check the
// secret with; its zero value means the configuration's own.
func (s *Service) saveProcessor(ctx context.Context, accountID, action string, conn gateway.Connector,
	next func(cur gateway.ProcessorConfig, found bool) (gateway.ProcessorConfig, error), secret string) (gateway.ProcessorConfig, error) {
	secret = strings.TrimSpace(secret)
	if s.Credentials == nil {
		return gateway.ProcessorConfig{}, gateway.Internal(errors.New("no credentials box: the service was built without the server secret's key"))
	}
	var cfg gateway.ProcessorConfig
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.Account(ctx, accountID); err != nil {
			return err
		}
		cur, err := tx.ProcessorConfig(ctx, accountID)
		if err != nil && !errors.Is(err, gateway.ErrNotFound) {
			return err
		}
		if cfg, err = next(cur, err == nil); err != nil {
			return err
		}
		check := conn.CheckSecret
		if check == nil {
			check = s.Connectors[cfg.Processor].CheckSecret
		}
		if secret == "" {
			return gateway.Errorf(gateway.KindInvalid, "missing-processor-secret", "The processor's secret key is empty.")
		}
		if check != nil {
			if err := check(secret); err != nil {
				return err
			}
		}
		cfg.SealedSecret = s.Credentials.Seal(secret, binding(accountID, cfg.Processor))
		cfg.SecretHint = gateway.KeyHint(secret)
		cfg.UpdatedAt = s.now()
		if err := tx.SaveProcessorConfig(ctx, cfg); err != nil {
			return err
		}
		base := cfg.APIBase
		if base == "" {
			base = "default"
		}
		return s.audit(ctx, tx, action, accountID, gateway.Live, accountID,
			fmt.Sprintf("processor=%s api_base=%s secret_hint=%s", cfg.Processor, base, cfg.SecretHint))
	})
	cfg.SealedSecret = nil
	return cfg, err
}

// ProcessorConfig is an account's live processor, without its secret
// (SecretHint tells which it is); ErrNotFound if it has none.
func (s *Service) ProcessorConfig(ctx context.Context, accountID string) (gateway.ProcessorConfig, error) {
	var cfg gateway.ProcessorConfig
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		cfg, err = tx.ProcessorConfig(ctx, accountID)
		return err
	})
	cfg.SealedSecret = nil
	return cfg, err
}
