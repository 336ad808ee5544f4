package gateway

import (
	"log/slog"
	"net/url"
	"time"
)

// Connector makes live processors of one kind (e.g. Stripe) for the
// accounts an operator configured with it. A new connector is a package
// that fills one in, and one line in internal/processor that names it
// (docs/processors.md).
type Connector struct {
	// CheckSecret refuses credentials of the wrong form before they are
	// stored (a publishable key where a secret key belongs), without
	// repeating them in its message.
	CheckSecret func(secret string) error
	// New builds the processor of one account. It is called once per
	// configuration and the processor is kept, so it may hold connections.
	New func(ConnectorConfig) (Processor, error)
}

// ConnectorConfig is what a connector builds an account's processor from.
type ConnectorConfig struct {
	AccountID string
	// Secret is the account's credentials at the processor, decrypted for
	// the processor's life in memory: never to be logged.
	Secret string
	// APIBase is where the processor's API is; "" means the processor's
	// own (tests point it at a mock or a fault proxy).
	APIBase string
	// AttemptTimeout bounds one HTTP attempt, so that a lost answer leaves
	// time for the retries within the service's processor timeout.
	AttemptTimeout time.Duration
	// Log receives what the processor has to tell an operator (a refusal
	// and its reason); never a secret or card data.
	Log *slog.Logger
}

// ProcessorConfig is an account's live processor: the connector's name,
// its credentials sealed with a key derived from the server secret (never
// stored in clear), and where its API is.
type ProcessorConfig struct {
	AccountID string
	Processor string // a connector's name, e.g. "stripe"
	// SealedSecret is the credentials, encrypted and bound to the account
	// and processor (internal/credentials).
	SealedSecret []byte
	// SecretHint is the last 4 characters of the credentials, to tell keys
	// apart in listings and the audit log.
	SecretHint string
	APIBase    string // "" for the processor's own
	UpdatedAt  time.Time
}

// ValidAPIBase accepts an absolute https URL, or http to a loopback host
// (a mock or a proxy in tests): credentials never cross a network in clear.
func ValidAPIBase(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || h == "::1" || len(h) > 4 && h[:4] == "127."
	}
	return false
}
