package service

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Webhook endpoints: the rules every surface (the CLI now, the Merchant
// Portal later) goes through. Delivery is in webhookdelivery.go.

// WebhookConfig tunes event delivery; the zero value is the defaults.
type WebhookConfig struct {
	// Timeout bounds one POST (DefaultWebhookTimeout if zero): a 2xx
	// within it counts as delivered.
	Timeout time.Duration
	// Concurrency bounds the POSTs in flight to one endpoint from this
	// process (DefaultWebhookConcurrency if zero).
	Concurrency int
	// AllowPrivate lets live endpoints reach private, loopback and
	// link-local addresses (on-premises receivers). Sandbox endpoints may
	// always: developers receive on their own machine.
	AllowPrivate bool
	// Poll is how often the ledger is read for new events when nothing
	// else wakes the worker (DefaultWebhookPoll if zero).
	Poll time.Duration
	// Retention is how long a delivery and its attempts are kept after
	// its event (DefaultWebhookRetention if zero); pending ones are kept
	// until they end.
	Retention time.Duration
	// Observe, when set, is told the outcome ("delivered", "retry",
	// "failed") and latency of every attempt; ObserveBacklog the age of
	// the oldest pending delivery and the number pending, every few
	// seconds. The server turns them into metrics.
	Observe        func(outcome string, latency time.Duration)
	ObserveBacklog func(age time.Duration, pending int)
}

// Defaults of event delivery.
const (
	DefaultWebhookTimeout     = 10 * time.Second
	DefaultWebhookRetention   = 30 * 24 * time.Hour
	DefaultWebhookConcurrency = 16
	DefaultWebhookPoll        = 100 * time.Millisecond
	// WebhookRetryFor is how long a delivery is retried before it is
	// marked failed.
	WebhookRetryFor = 72 * time.Hour
	// WebhookRotationOverlap is how long the previous secret keeps
	// signing after a rotation.
	WebhookRotationOverlap = 24 * time.Hour
	// MaxWebhookEndpoints bounds an account's endpoints.
	MaxWebhookEndpoints = 16
	// WebhookAPIVersion is the version of the envelope and of the payment
	// inside it (the Payment API version whose lookup it repeats).
	WebhookAPIVersion = "2022-11-07"
)

// NewWebhookEndpoint is what an operator (or a merchant, in the portal)
// gives to add an endpoint.
type NewWebhookEndpoint struct {
	AccountID   string
	Environment gateway.Environment
	URL         string
	// Events are the event types to send; empty: all of them.
	Events   []string
	Disabled bool
}

// WebhookEndpointError codes.
var (
	errWebhookURL = func(format string, args ...any) error {
		e := gateway.Errorf(gateway.KindInvalid, "invalid-webhook-url", format, args...)
		e.Field = "url"
		return e
	}
	errEndpointNotFound = gateway.Errorf(gateway.KindNotFound, "webhook-endpoint-not-found", "No webhook endpoint with that id was found for this account.")
)

// AddWebhookEndpoint adds an endpoint and returns it with its signing
// secret, which is shown only here: the store keeps it sealed.
func (s *Service) AddWebhookEndpoint(ctx context.Context, in NewWebhookEndpoint) (gateway.WebhookEndpoint, string, error) {
	env := in.Environment
	if env == "" {
		env = gateway.Sandbox
	}
	if _, ok := gateway.ParseEnvironment(string(env)); !ok {
		return gateway.WebhookEndpoint{}, "", gateway.Errorf(gateway.KindInvalid, "invalid-environment", "The environment must be sandbox or live.")
	}
	u, err := s.checkWebhookURL(in.URL, env)
	if err != nil {
		return gateway.WebhookEndpoint{}, "", err
	}
	events, err := checkEventTypes(in.Events)
	if err != nil {
		return gateway.WebhookEndpoint{}, "", err
	}
	now := s.now()
	e := gateway.WebhookEndpoint{ID: "we_" + gateway.NewID(), AccountID: in.AccountID, Environment: env, URL: u,
		Events: events, Enabled: !in.Disabled, CreatedAt: now, UpdatedAt: now}
	secret := newWebhookSecret()
	if e.SealedSecret, err = s.sealWebhookSecret(e.ID, secret); err != nil {
		return e, "", err
	}
	err = s.Store.Update(ctx, func(tx gateway.Tx) error {
		if _, err := tx.Account(ctx, in.AccountID); err != nil {
			return err
		}
		existing, err := tx.WebhookEndpoints(ctx, in.AccountID)
		if err != nil {
			return err
		}
		if len(existing) >= MaxWebhookEndpoints {
			return gateway.Errorf(gateway.KindInvalid, "too-many-webhook-endpoints",
				"The account has %d webhook endpoints, the most it may have; remove one first.", len(existing))
		}
		if err := tx.InsertWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		return s.audit(ctx, tx, "webhook.endpoint_added", e.AccountID, e.Environment, e.ID,
			fmt.Sprintf("url=%s events=%s enabled=%v", e.URL, eventList(e.Events), e.Enabled))
	})
	if err != nil {
		return gateway.WebhookEndpoint{}, "", err
	}
	return e, secret, nil
}

// WebhookEndpoints lists an account's endpoints (every account's when
// accountID is empty).
func (s *Service) WebhookEndpoints(ctx context.Context, accountID string) ([]gateway.WebhookEndpoint, error) {
	var out []gateway.WebhookEndpoint
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		out, err = tx.WebhookEndpoints(ctx, accountID)
		return err
	})
	return out, err
}

// endpointOf finds an endpoint of an account in tx.
func endpointOf(ctx context.Context, tx gateway.ReadTx, accountID, id string) (gateway.WebhookEndpoint, error) {
	e, err := tx.WebhookEndpoint(ctx, id)
	if errors.Is(err, gateway.ErrNotFound) || err == nil && e.AccountID != accountID {
		return e, errEndpointNotFound
	}
	return e, err
}

// RemoveWebhookEndpoint removes an account's endpoint and its deliveries.
func (s *Service) RemoveWebhookEndpoint(ctx context.Context, accountID, id string) error {
	return s.Store.Update(ctx, func(tx gateway.Tx) error {
		e, err := endpointOf(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteWebhookEndpoint(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, "webhook.endpoint_removed", accountID, e.Environment, id, "url="+e.URL)
	})
}

// SetWebhookEndpointEnabled turns an endpoint on or off. While off, no
// deliveries are made for it, and events are not queued for it.
func (s *Service) SetWebhookEndpointEnabled(ctx context.Context, accountID, id string, enabled bool) error {
	return s.Store.Update(ctx, func(tx gateway.Tx) error {
		e, err := endpointOf(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		e.Enabled, e.UpdatedAt = enabled, s.now()
		if err := tx.UpdateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		return s.audit(ctx, tx, "webhook.endpoint_updated", accountID, e.Environment, id, fmt.Sprintf("enabled=%v", enabled))
	})
}

// RotateWebhookSecret gives an endpoint a new signing secret and returns
// it (shown only here). For WebhookRotationOverlap the previous secret
// signs too, so that a receiver can switch without missing an event.
func (s *Service) RotateWebhookSecret(ctx context.Context, accountID, id string) (string, error) {
	secret := newWebhookSecret()
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		e, err := endpointOf(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		sealed, err := s.sealWebhookSecret(e.ID, secret)
		if err != nil {
			return err
		}
		now := s.now()
		e.SealedPrevious, e.PreviousUntil = e.SealedSecret, now.Add(WebhookRotationOverlap)
		e.SealedSecret, e.UpdatedAt = sealed, now
		if err := tx.UpdateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		return s.audit(ctx, tx, "webhook.secret_rotated", accountID, e.Environment, id,
			"previous secret signs until "+e.PreviousUntil.Format(time.RFC3339))
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// ResendWebhookEvent sends an event again (to one endpoint when
// endpointID is set), whatever became of its deliveries: they are pending
// again, due now, with a new retry period. It says how many deliveries it
// queued; an event whose delivery is being sent at this moment keeps that
// attempt.
func (s *Service) ResendWebhookEvent(ctx context.Context, accountID, eventID, endpointID string) (int, error) {
	var n int
	err := s.Store.Update(ctx, func(tx gateway.Tx) error {
		now := s.now()
		var err error
		if n, err = tx.ResendWebhookEvent(ctx, accountID, eventID, endpointID, now, now.Add(WebhookRetryFor)); err != nil {
			return err
		}
		if n == 0 {
			return gateway.Errorf(gateway.KindNotFound, "webhook-event-not-found",
				"No delivery of event %q was found to resend (an event is kept only for the endpoints that wanted it, or it is being sent now).", eventID)
		}
		return s.audit(ctx, tx, "webhook.event_resent", accountID, "", eventID, fmt.Sprintf("deliveries=%d endpoint=%s", n, endpointID))
	})
	return n, err
}

// WebhookDeliveries lists deliveries: an event's, or an account's latest.
func (s *Service) WebhookDeliveries(ctx context.Context, f gateway.WebhookDeliveryFilter) ([]gateway.WebhookDelivery, error) {
	if f.Limit <= 0 || f.Limit > gateway.MaxPaymentPage {
		f.Limit = 100
	}
	var out []gateway.WebhookDelivery
	err := s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		out, err = tx.WebhookDeliveries(ctx, f)
		return err
	})
	return out, err
}

// checkWebhookURL accepts an absolute https URL, or http to a loopback
// host for development; in live, an address literal the connect-time
// check would refuse is refused at once. It returns the URL as stored.
func (s *Service) checkWebhookURL(raw string, env gateway.Environment) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 2048 {
		return "", errWebhookURL("The webhook URL is required, at most 2048 characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errWebhookURL("%q is not an absolute URL, such as https://shop.example/webhooks.", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return "", errWebhookURL("The webhook URL must not carry a user, password or fragment.")
	}
	host := u.Hostname()
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(host) {
			return "", errWebhookURL("The webhook URL must use https (http only to localhost or a loopback address, for development).")
		}
	default:
		return "", errWebhookURL("The webhook URL must use https.")
	}
	if env == gateway.Live && !s.Webhooks.AllowPrivate {
		if ip, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && !publicAddress(ip) || host == "localhost" {
			return "", errWebhookURL("A live webhook URL may not point at a private, loopback or link-local address (serve --webhook-allow-private allows it).")
		}
	}
	return u.String(), nil
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// carrierNAT is RFC 6598's shared address space, private in practice.
var carrierNAT = netip.MustParsePrefix("100.64.0.0/10")

// publicAddress tells whether a webhook may connect to ip by default: not
// loopback, private, link-local, unspecified, multicast or shared.
func publicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && !ip.IsLoopback() && !ip.IsPrivate() && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() &&
		!ip.IsInterfaceLocalMulticast() && !ip.IsMulticast() && !ip.IsUnspecified() && !carrierNAT.Contains(ip) &&
		!(ip.Is4() && ip.As4()[0] == 0)
}

func checkEventTypes(in []string) ([]string, error) {
	var out []string
	for _, t := range in {
		for _, one := range strings.Split(t, ",") {
			one = strings.TrimSpace(one)
			if one == "" || one == "*" {
				continue
			}
			if !slices.Contains(gateway.EventTypes, one) {
				e := gateway.Errorf(gateway.KindInvalid, "invalid-event-type", "%q is not an event type; the types are %s.", one, strings.Join(gateway.EventTypes, ", "))
				e.Field = "events"
				return nil, e
			}
			if !slices.Contains(out, one) {
				out = append(out, one)
			}
		}
	}
	return out, nil
}

func eventList(events []string) string {
	if len(events) == 0 {
		return "*"
	}
	return strings.Join(events, ",")
}

// newWebhookSecret returns a signing secret: "whsec_" and 256 random bits.
func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// The signing secret has to be kept (an HMAC needs it), so it is stored
// sealed: AES-256-GCM under a key derived with HKDF-SHA256 from the server
// secret, bound to its endpoint's id. A database dump alone does not sign
// events.
const webhookSealInfo = "cartgateway webhook signing secrets v1"

func (s *Service) webhookAEAD() (cipher.AEAD, error) {
	if len(s.FingerprintKey) == 0 {
		return nil, gateway.Internal(errors.New("webhooks need the server secret to seal signing secrets"))
	}
	key, err := hkdf.Key(sha256.New, s.FingerprintKey, nil, webhookSealInfo, 32)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, gateway.Internal(err)
	}
	return aead, nil
}

func (s *Service) sealWebhookSecret(endpointID, secret string) ([]byte, error) {
	aead, err := s.webhookAEAD()
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	_, _ = rand.Read(out)
	return aead.Seal(out, out, []byte(secret), []byte(endpointID)), nil
}

var errSecretDoesNotOpen = errors.New("a webhook signing secret does not open with this server secret")

func (s *Service) openWebhookSecret(endpointID string, sealed []byte) (string, error) {
	aead, err := s.webhookAEAD()
	if err != nil {
		return "", err
	}
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return "", errSecretDoesNotOpen
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(endpointID))
	if err != nil {
		return "", errSecretDoesNotOpen
	}
	return string(plain), nil
}
