// Package client is a Go client of the CartGateway API, the HTTP/JSON
// payment API that a CartGateway server speaks (its reference is the
// server's /docs page and /openapi.json).
//
// Every call takes a context, sends the account's credentials, and returns
// a typed answer or an error; an error from the gateway is an *Error, which
// errors.Is compares with kinds such as ErrDeclined and ErrRateLimited.
//
// Retries are safe by construction. Every call that changes money
// (authorize, charge, capture, refund, void) carries an Idempotency-Key,
// generated once per call unless you give your own with WithIdempotencyKey,
// and every retry of the call sends the same key and the same body: the
// gateway answers a retry of a request it already did with the stored
// answer (Response.Replayed) and does nothing twice. So a call whose
// answer was lost (a timeout, a broken connection) is retried, and a 429 is
// retried after its Retry-After. A call sent WithoutIdempotencyKey is never
// retried once it may have reached the gateway.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultBaseURL      = "http://127.0.0.1:8080" // `cartgateway serve` with its defaults
	DefaultTimeout      = 30 * time.Second
	DefaultMaxRetries   = 3
	DefaultMaxRetryWait = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	// BaseURL is the gateway's address, e.g. "https://pay.example.com";
	// DefaultBaseURL if empty. A path in it prefixes every endpoint.
	BaseURL string
	// AccountID and PrivateKey are the account's credentials
	// (CARTGATEWAY-ACCOUNT-ID and the Bearer key).
	AccountID  string
	PrivateKey string
	// Environment, if set ("sandbox" or "live"), is sent in
	// CARTGATEWAY-ENVIRONMENT: the gateway then refuses a key of the other
	// environment, a guard against using a live key in a test.
	Environment string
	// HTTPClient sends the requests; a client of its own (with
	// http.DefaultTransport) if nil. Its Timeout, if any, also applies.
	HTTPClient *http.Client
	// Timeout bounds each attempt, DefaultTimeout if 0, none if negative.
	// An attempt that times out is retried like a lost connection.
	Timeout time.Duration
	// MaxRetries is how many times a call is tried again after its first
	// attempt: DefaultMaxRetries if 0, none if negative.
	MaxRetries int
	// MaxRetryWait bounds a wait before a retry: a 429 whose Retry-After
	// asks for longer is returned as it is. DefaultMaxRetryWait if 0.
	MaxRetryWait time.Duration
	// UserAgent is sent as User-Agent, after the client's own.
	UserAgent string
}

// Client calls one gateway as one account. It is safe for concurrent use.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// New returns a Client; it checks the configuration, not the gateway.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("cartgateway: BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.AccountID == "" || cfg.PrivateKey == "" {
		return nil, errors.New("cartgateway: AccountID and PrivateKey are required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = DefaultMaxRetryWait
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, base: base, http: hc}, nil
}

// CallOption adjusts one call.
type CallOption func(*call)

// WithIdempotencyKey sends key as the call's Idempotency-Key instead of a
// generated one. Derive it from what must happen once, e.g.
// "order-4242-charge": then even a retry by another process, after a
// crash, is answered with the first attempt's outcome.
func WithIdempotencyKey(key string) CallOption { return func(c *call) { c.key = key } }

// WithoutIdempotencyKey sends no Idempotency-Key: the gateway's duplicate
// detection then applies to a charge or authorization (ErrDuplicate), and
// the call is never retried once it may have reached the gateway.
func WithoutIdempotencyKey() CallOption { return func(c *call) { c.key, c.noKey = "", true } }

// WithRequestID sends id as X-Request-Id (1–64 of A–Z a–z 0–9 - _ .), to
// find the request in the gateway's log.
func WithRequestID(id string) CallOption { return func(c *call) { c.requestID = id } }

// call is one API call, which may take several attempts.
type call struct {
	method, path string
	body         []byte
	mutating     bool
	key          string
	noKey        bool
	requestID    string
}

// Authorize holds req.Amount on the card; capture it later.
func (c *Client) Authorize(ctx context.Context, req PaymentRequest, opts ...CallOption) (*Approval, error) {
	return pay(ctx, c, "/payment/authorize", req, opts)
}

// Charge authorizes and captures req.Amount in one step.
func (c *Client) Charge(ctx context.Context, req PaymentRequest, opts ...CallOption) (*Approval, error) {
	return pay(ctx, c, "/payment/charge", req, opts)
}

func pay(ctx context.Context, c *Client, path string, req PaymentRequest, opts []CallOption) (*Approval, error) {
	var out Approval
	meta, err := c.do(ctx, http.MethodPost, path, req.body(), true, opts, &out)
	out.Response = meta
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Capture captures part or all of an authorized payment.
func (c *Client) Capture(ctx context.Context, req CaptureRequest, opts ...CallOption) (*Capture, error) {
	var out Capture
	meta, err := c.do(ctx, http.MethodPost, "/payment/capture", req, true, opts, &out)
	out.Response = meta
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Refund returns captured money to the card.
func (c *Client) Refund(ctx context.Context, req RefundRequest, opts ...CallOption) (*Change, error) {
	var out Change
	meta, err := c.do(ctx, http.MethodPost, "/payment/refund", req, true, opts, &out)
	out.Response = meta
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Void cancels an authorized payment, or a captured one that is not settled
// and has no refunds. paymentID is any transaction id of the payment.
func (c *Client) Void(ctx context.Context, paymentID string, opts ...CallOption) (*Change, error) {
	var out Change
	meta, err := c.do(ctx, http.MethodPost, "/payment/void", paymentIDBody{paymentID}, true, opts, &out)
	out.Response = meta
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Lookup returns a payment with all of its transactions; paymentID is any
// transaction id of the payment.
func (c *Client) Lookup(ctx context.Context, paymentID string, opts ...CallOption) (*Payment, error) {
	var out lookupAnswer
	meta, err := c.do(ctx, http.MethodPost, "/payment/lookup", paymentIDBody{paymentID}, false, opts, &out)
	if err != nil {
		return nil, err
	}
	out.Data.Response = meta
	return &out.Data, nil
}

// CreateCheckout creates a hosted checkout session; send the customer to
// its URL.
func (c *Client) CreateCheckout(ctx context.Context, req CheckoutRequest, opts ...CallOption) (*Checkout, error) {
	var out Checkout
	meta, err := c.do(ctx, http.MethodPost, "/hosted/checkout/create", req, true, opts, &out)
	out.Response = meta
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ValidateCheckout confirms that paymentID (what your success URL
// received) paid one of your checkout sessions.
func (c *Client) ValidateCheckout(ctx context.Context, paymentID string, opts ...CallOption) (*CheckoutValidation, error) {
	var out CheckoutValidation
	meta, err := c.do(ctx, http.MethodPost, "/hosted/checkout/validate", paymentIDBody{paymentID}, false, opts, &out)
	out.Response = meta
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Health reports whether the gateway is ready (its /healthz): nil, or an
// error (an *Error with StatusCode 503 and Code "unavailable" when the
// database does not answer, "degraded" when writes fail).
func (c *Client) Health(ctx context.Context) error {
	var out struct {
		Status string `json:"status"`
	}
	_, err := c.do(ctx, http.MethodGet, "/healthz", nil, false, nil, &out)
	return err
}

// do runs a call: it sends it, retries it while that is safe and useful,
// and decodes the answer into out.
func (c *Client) do(ctx context.Context, method, path string, in any, mutating bool, opts []CallOption, out any) (Response, error) {
	cl := &call{method: method, path: path, mutating: mutating}
	for _, o := range opts {
		o(cl)
	}
	if mutating && cl.key == "" && !cl.noKey {
		cl.key = newKey()
	}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return Response{}, fmt.Errorf("cartgateway: encode the request: %w", err)
		}
		cl.body = b
	}
	// A call may be retried after it reached the gateway only if the
	// gateway can tell the retry from a new request: it has a key, or it
	// changes nothing.
	safe := !mutating || cl.key != ""
	for attempt := 0; ; attempt++ {
		meta, err := c.attempt(ctx, cl, out)
		if err == nil {
			return meta, nil
		}
		retriesLeft := attempt < c.cfg.MaxRetries
		var apiErr *Error
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return meta, err
		case errors.As(err, &apiErr):
			// A 429 ran nothing; a request with this key in progress will
			// have an answer; a proxy's 502/503/504 page says the gateway
			// was not reached or did not answer, like a network failure.
			switch {
			case apiErr.StatusCode == http.StatusTooManyRequests,
				apiErr.Code == "idempotency-key-in-progress":
				wait = apiErr.RetryAfter
				if wait > c.cfg.MaxRetryWait {
					return meta, err
				}
			case apiErr.Code == "" && safe && (apiErr.StatusCode == http.StatusBadGateway ||
				apiErr.StatusCode == http.StatusServiceUnavailable || apiErr.StatusCode == http.StatusGatewayTimeout):
				wait = backoff(attempt, c.cfg.MaxRetryWait)
			default:
				return meta, err
			}
		case !safe:
			return meta, err // it may have been done: never send it again without a key
		default:
			wait = backoff(attempt, c.cfg.MaxRetryWait)
		}
		if !retriesLeft {
			return meta, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return meta, err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return meta, err
		case <-timer.C:
		}
	}
}

// attempt sends a call once.
func (c *Client) attempt(ctx context.Context, cl *call, out any) (Response, error) {
	if c.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + cl.path
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), body)
	if err != nil {
		return Response{}, fmt.Errorf("cartgateway: %w", err)
	}
	h := req.Header
	h.Set("Accept", "application/json")
	h.Set("User-Agent", strings.TrimSpace(userAgent+" "+c.cfg.UserAgent))
	if cl.body != nil {
		h.Set("Content-Type", "application/json")
	}
	if cl.method == http.MethodPost {
		h.Set("Authorization", "Bearer "+c.cfg.PrivateKey)
		h.Set("CARTGATEWAY-ACCOUNT-ID", c.cfg.AccountID)
		h.Set("CARTGATEWAY-VERSION", APIVersion)
		if c.cfg.Environment != "" {
			h.Set("CARTGATEWAY-ENVIRONMENT", c.cfg.Environment)
		}
	}
	if cl.key != "" {
		h.Set("Idempotency-Key", cl.key)
	}
	if cl.requestID != "" {
		h.Set("X-Request-Id", cl.requestID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("cartgateway: %s %s: %w", cl.method, cl.path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	meta := Response{RequestID: resp.Header.Get("X-Request-Id"), Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
	if err != nil {
		return meta, fmt.Errorf("cartgateway: %s %s: reading the answer: %w", cl.method, cl.path, err)
	}
	if resp.StatusCode/100 != 2 {
		return meta, answerError(resp, raw)
	}
	if n, ok := successOf(raw); cl.method == http.MethodPost && (!ok || n != 1) {
		return meta, &Error{StatusCode: resp.StatusCode, RequestID: meta.RequestID,
			Message: fmt.Sprintf("%d answer without success 1: %.200s", resp.StatusCode, raw)}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return meta, fmt.Errorf("cartgateway: %s %s: decoding the answer: %w", cl.method, cl.path, err)
	}
	return meta, nil
}

// maxAnswer bounds what the client reads of an answer.
const maxAnswer = 8 << 20

// APIVersion is the CARTGATEWAY-VERSION the client sends: the API version
// it speaks (the PHP SDK's).
const APIVersion = "2022-11-07"

const userAgent = "cartgateway-go"

func answerError(resp *http.Response, raw []byte) error {
	e := &Error{StatusCode: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var b errorBody
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(raw, &b) == nil && b.Code != "" {
		e.Code, e.Message, e.PaymentID = b.Code, b.Error, b.ID
		e.AVSCode, e.AVSMessage, e.CVVCode, e.CVVMessage = b.AVSCode, b.AVSMessage, b.CVVCode, b.CVVMessage
		if b.RequestID != "" {
			e.RequestID = b.RequestID // a replayed answer names the first request
		}
		return e
	}
	var health struct {
		Status string `json:"status"`
	}
	if resp.StatusCode == http.StatusServiceUnavailable && json.Unmarshal(raw, &health) == nil && health.Status != "" {
		// /healthz: "unavailable" (the database does not answer) or
		// "degraded" (writes fail).
		e.Code, e.Message = health.Status, "503 - Service Unavailable. The gateway is "+health.Status+"."
		return e
	}
	e.Message = fmt.Sprintf("%d %s: %.200s", resp.StatusCode, http.StatusText(resp.StatusCode), bytes.TrimSpace(raw))
	return e
}

// backoff is the wait before retry attempt+1 after a network failure:
// exponential from 100 ms, with jitter, at most limit.
func backoff(attempt int, limit time.Duration) time.Duration {
	d := 100 * time.Millisecond << min(attempt, 10)
	d = d/2 + mrand.N(d/2+1)
	return min(d, limit)
}

// newKey is a fresh Idempotency-Key: 128 random bits.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails
	return "cg-" + hex.EncodeToString(b[:])
}
