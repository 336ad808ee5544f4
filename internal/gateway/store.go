package gateway

import (
	"context"
	"time"
)

// Store keeps accounts, keys and payments. Each Update is one atomic
// transaction: it commits only if fn returns nil. Implementations must make
// UpdatePayment a compare-and-set on Version so that two transactions that
// read the same payment cannot both write it.
type Store interface {
	Update(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(ReadTx) error) error
	Close() error
}

// ReadTx reads. In View each method's result is consistent in itself (one
// statement), but two calls may see different commits; in Update (as a
// Tx) they see the transaction's own writes.
type ReadTx interface {
	Account(ctx context.Context, id string) (Account, error)
	Accounts(ctx context.Context) ([]Account, error)
	// Keys lists an account's keys, revoked ones included.
	Keys(ctx context.Context, accountID string) ([]Key, error)
	// ActiveKeys lists an account's keys that are not revoked.
	ActiveKeys(ctx context.Context, accountID string) ([]Key, error)
	// PaymentByTransaction finds the payment that the transaction txID belongs
	// to, with its latest transactions (at most MaxLookupTransactions,
	// oldest first) and their total count as of the same instant, within
	// one account and environment. In View a store may answer from memory, but never
	// with less than every write that has returned from Update (the
	// contract suite's lookups_see_writes); writes by other processes may
	// show a moment later (the SQLite lookup cache, ADR 7).
	PaymentByTransaction(ctx context.Context, accountID string, env Environment, txID string) (Payment, error)
	IdempotencyRecord(ctx context.Context, accountID string, env Environment, key string) (IdempotencyRecord, error)
	// FindDuplicate returns the id of a live (not declined, failed or voided)
	// payment matching q, or ErrNotFound.
	FindDuplicate(ctx context.Context, q DuplicateQuery) (string, error)
	// AuditLog lists audit entries matching f, oldest first (newest first
	// with f.NewestFirst).
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// Ledger lists the transactions matching f (by CreatedAt and account),
	// oldest first (newest first with f.NewestFirst): the audit trail of
	// payment operations. Transactions
	// without an Actor (made before the ledger recorded actors, whose audit
	// entries are in the audit log) are left out.
	Ledger(ctx context.Context, f AuditFilter) ([]Transaction, error)
	// Transaction finds one transaction of an account and environment.
	Transaction(ctx context.Context, accountID string, env Environment, txID string) (Transaction, error)
	// PendingTransactions lists pending transactions whose lease ended at
	// or before t, earliest lease first, at most limit.
	PendingTransactions(ctx context.Context, t time.Time, limit int) ([]Transaction, error)
	// LedgerAfter lists the final (not pending) transactions after
	// position after, in commit order, at most limit, each with its
	// position. A reader that follows the positions it is given sees every
	// final transaction exactly once, even one that commits after rows
	// with later positions were read: such a row is withheld until every
	// transaction that could precede it has ended.
	LedgerAfter(ctx context.Context, after LedgerPosition, limit int) ([]LedgerEntry, error)
	// SettlementBatches lists the batches of a settlement run.
	SettlementBatches(ctx context.Context, runID string) ([]SettlementBatch, error)
	// Payments lists the payments of an account and environment matching
	// f, newest first (by CreatedAt, then ID), at most f.Limit. With
	// f.ScanLimit, a listing whose conditions no index serves examines
	// only the newest ScanLimit payments of its window (see ScanEnd).
	Payments(ctx context.Context, f PaymentFilter) ([]Payment, error)
	// ScanEnd is where a listing bounded by f.ScanLimit stopped examining
	// payments: the position of the ScanLimit-th payment of its window
	// (the account's payments after f.Before, between f.From and f.To),
	// from which the next listing goes on; nil if the window holds fewer,
	// or the listing is not bounded.
	ScanEnd(ctx context.Context, f PaymentFilter) (*PaymentCursor, error)
	// Product finds one product of an account and environment's
	// catalogue by codename, active or not.
	Product(ctx context.Context, accountID string, env Environment, codename string) (Product, error)
	// Products lists a catalogue by codename.
	Products(ctx context.Context, accountID string, env Environment) ([]Product, error)
	// CheckoutSessionByToken finds a checkout session by the hash of its
	// URL's token (any account: the token is the credential).
	CheckoutSessionByToken(ctx context.Context, tokenHash []byte) (CheckoutSession, error)
	// CheckoutSession finds a session of an account and environment by
	// id; in Update it locks the session's row until the end of the
	// transaction where the store locks rows.
	CheckoutSession(ctx context.Context, accountID string, env Environment, id string) (CheckoutSession, error)
	// ProcessorConfig is an account's live processor, or ErrNotFound.
	ProcessorConfig(ctx context.Context, accountID string) (ProcessorConfig, error)
	// CheckoutSessions lists an account and environment's sessions
	// newest first (by CreatedAt, then ID), at most f.Limit.
	CheckoutSessions(ctx context.Context, f CheckoutFilter) ([]CheckoutSession, error)
	// PaymentDays adds up an account and environment's payments made at or
	// after from, per day (UTC), oldest day first; days without payments
	// are left out.
	PaymentDays(ctx context.Context, accountID string, env Environment, from time.Time) ([]PaymentDay, error)
	// User finds a user by id.
	User(ctx context.Context, id string) (User, error)
	// UserByEmail finds a user by (lower-cased) email.
	UserByEmail(ctx context.Context, email string) (User, error)
	// Users lists an account's users by email.
	Users(ctx context.Context, accountID string) ([]User, error)
	// PortalSession finds a session by its token's hash.
	PortalSession(ctx context.Context, tokenHash []byte) (PortalSession, error)
	// EventPayments reads payments by id, as PaymentByTransaction does
	// (each with its latest transactions and their count), from the
	// database itself, never from a cache: what an event shows includes the
	// change that caused it. Ids not found are left out.
	EventPayments(ctx context.Context, ids []string) (map[string]Payment, error)
	// WebhookEndpoints lists the endpoints of an account (every account's
	// when accountID is empty), by creation.
	WebhookEndpoints(ctx context.Context, accountID string) ([]WebhookEndpoint, error)
	// WebhookEndpoint finds one endpoint by id.
	WebhookEndpoint(ctx context.Context, id string) (WebhookEndpoint, error)
	// WebhookCursor is the last ledger position fanned out to deliveries;
	// in Update it locks the cursor until the end of the transaction where
	// the store locks rows.
	WebhookCursor(ctx context.Context) (LedgerPosition, error)
	// WebhookDeliveries lists the deliveries of an event, by endpoint
	// (every event of an account when eventID is empty and accountID is
	// set: the latest limit, newest first).
	WebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter) ([]WebhookDelivery, error)
	// WebhookBacklog is the event time of the oldest pending delivery, and
	// how many are pending; zero time when none is.
	WebhookBacklog(ctx context.Context) (time.Time, int, error)
}

// WebhookDeliveryFilter selects deliveries for a listing.
type WebhookDeliveryFilter struct {
	EventID     string
	AccountID   string
	Environment Environment // optional
	Status      DeliveryStatus
	Limit       int // required, at most MaxPaymentPage
}

// LedgerPosition is a place in the ledger's commit order; the zero value is
// before the first transaction. Its parts mean something only to the store
// that made it; positions compare as (Epoch, Seq).
type LedgerPosition struct{ Epoch, Seq int64 }

// LedgerEntry is a final transaction and its position.
type LedgerEntry struct {
	Transaction Transaction
	Position    LedgerPosition
}

// PaymentFilter selects an account's payments for a listing; zero fields
// match everything but AccountID and Environment, which are required.
type PaymentFilter struct {
	AccountID   string
	Environment Environment
	// Before is the keyset cursor: only payments older than (CreatedAt, ID)
	// of the last one listed.
	Before *PaymentCursor
	// From and To bound CreatedAt: From <= CreatedAt < To.
	From, To time.Time
	Status   Status
	// Operation keeps payments with at least one transaction of this kind.
	Operation            Operation
	MinAmount, MaxAmount int64 // of the requested amount (AuthorizedAmount of approved payments); 0: no bound
	OrderID              string
	Email                string
	Last4                string
	Limit                int // required, at most MaxPaymentPage
	// ScanLimit, when positive, bounds the payments a listing examines
	// when it has conditions that no index serves (status, amounts, email,
	// last 4, operation; an order id has its own index): only the newest
	// ScanLimit payments of the window are looked at, so that a page
	// costs the same however rare its matches are.
	ScanLimit int
}

// PaymentCursor is the position of a payment in a listing.
type PaymentCursor struct {
	CreatedAt time.Time
	ID        string
}

// MaxPaymentPage bounds one page of a payment listing.
const MaxPaymentPage = 500

// Tx is a read-write transaction.
type Tx interface {
	ReadTx
	// CreateAccount fails with ErrConflict when the id exists.
	CreateAccount(ctx context.Context, a Account) error
	// SetAccountMaxAmount sets an account's largest charge or
	// authorization (0: the default); ErrNotFound for an unknown account.
	SetAccountMaxAmount(ctx context.Context, accountID string, max int64) error
	AddKey(ctx context.Context, k Key) error
	// RevokeKey fails with ErrNotFound for an unknown or already revoked key.
	RevokeKey(ctx context.Context, accountID, keyID string, at time.Time) error
	// PaymentForUpdate finds the payment that txID belongs to, as
	// PaymentByTransaction does but without its transactions (an operation
	// needs only the payment, and a payment may have thousands of partial
	// refunds), and locks its row until the end of the transaction where
	// the store locks rows.
	PaymentForUpdate(ctx context.Context, accountID string, env Environment, txID string) (Payment, error)
	InsertPayment(ctx context.Context, p Payment) error
	// UpdatePayment writes p if the stored version is still p.Version, and
	// stores p.Version+1; otherwise it fails with ErrConflict.
	UpdatePayment(ctx context.Context, p Payment) error
	InsertTransaction(ctx context.Context, t Transaction) error
	// SaveIdempotencyRecord fails with ErrConflict when the key exists.
	SaveIdempotencyRecord(ctx context.Context, r IdempotencyRecord) error
	// DeleteIdempotencyRecords deletes at most limit records created
	// before t, except those whose transaction is still pending, and says
	// how many it deleted.
	DeleteIdempotencyRecords(ctx context.Context, t time.Time, limit int) (int, error)
	// FinishTransaction records the final Result and Code of a pending
	// transaction, which takes a new ledger position; ErrConflict if it is
	// no longer pending.
	FinishTransaction(ctx context.Context, t Transaction) error
	// ExtendLease moves a pending transaction's lease from one end to
	// another; ErrConflict if it is no longer pending or its lease is no
	// longer from (another reconciler took it).
	ExtendLease(ctx context.Context, txID string, from, to time.Time) error
	// NextSettlementGroup names a group (account, environment, currency)
	// that has captured payments last changed at or before t and not held
	// by an operation in flight; ErrNotFound if none.
	NextSettlementGroup(ctx context.Context, t time.Time) (SettlementGroup, error)
	// SettlePayments settles at most limit of those payments of group g
	// into the batch batchID, as of at, and says what each one settled.
	SettlePayments(ctx context.Context, g SettlementGroup, t time.Time, batchID string, at time.Time, limit int) ([]SettledPayment, error)
	// SettlementBatch finds the batch of run runID for group g.
	SettlementBatch(ctx context.Context, runID string, g SettlementGroup) (SettlementBatch, error)
	// PutSettlementBatch creates or updates a batch.
	PutSettlementBatch(ctx context.Context, b SettlementBatch) error
	// SettlementRun finds the run of a cut-off.
	SettlementRun(ctx context.Context, cutoff string) (SettlementRun, error)
	// InsertSettlementRun fails with ErrConflict when its cut-off has a run.
	InsertSettlementRun(ctx context.Context, r SettlementRun) error
	// UpdateSettlementRun writes r if its stored lease still ends at
	// leaseWas; otherwise it fails with ErrConflict (another process took
	// the run over).
	UpdateSettlementRun(ctx context.Context, r SettlementRun, leaseWas time.Time) error
	// SaveProcessorConfig creates or replaces an account's live processor.
	SaveProcessorConfig(ctx context.Context, c ProcessorConfig) error
	// AppendAudit records a state change other than a payment operation
	// (those are in the ledger: transactions are append-only too); the log
	// is append-only.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// InsertProduct fails with ErrConflict when the codename exists in
	// the account and environment.
	InsertProduct(ctx context.Context, p Product) error
	// UpdateProduct writes a product's name, price, image, active flag and
	// UpdatedAt; ErrNotFound if there is no such product.
	UpdateProduct(ctx context.Context, p Product) error
	InsertCheckoutSession(ctx context.Context, s CheckoutSession) error
	// UpdateCheckoutSession writes s's status, payment, attempts,
	// validation and UpdatedAt if the stored version is still s.Version,
	// and stores s.Version+1; otherwise it fails with ErrConflict.
	UpdateCheckoutSession(ctx context.Context, s CheckoutSession) error
	// SetAccountSettings writes an account's name, duplicate window and
	// 2FA requirement; ErrNotFound for an unknown account.
	SetAccountSettings(ctx context.Context, a Account) error
	// RecordKeyUse moves a key's LastUsedAt forward to at (never back).
	RecordKeyUse(ctx context.Context, keyID string, at time.Time) error
	// InsertUser fails with ErrConflict when the email exists.
	InsertUser(ctx context.Context, u User) error
	// UpdateUser writes a user's role, password, TOTP fields and
	// UpdatedAt; ErrNotFound if there is no such user.
	UpdateUser(ctx context.Context, u User) error
	// DeleteUser deletes a user and every session of theirs; ErrNotFound
	// if there is no such user.
	DeleteUser(ctx context.Context, id string) error
	InsertPortalSession(ctx context.Context, s PortalSession) error
	// UpdatePortalSession writes a session's stage, LastSeenAt and
	// ExpiresAt; ErrNotFound if it no longer exists (signed out).
	UpdatePortalSession(ctx context.Context, s PortalSession) error
	// DeletePortalSession deletes one session (no error if it is gone).
	DeletePortalSession(ctx context.Context, tokenHash []byte) error
	// DeleteUserSessions deletes every session of a user but the one of
	// keep (nil: all).
	DeleteUserSessions(ctx context.Context, userID string, keep []byte) error
	// DeleteEndedSessions deletes at most limit sessions whose absolute
	// end is at or before t.
	DeleteEndedSessions(ctx context.Context, t time.Time, limit int) error
	// InsertWebhookEndpoint adds an endpoint.
	InsertWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error
	// UpdateWebhookEndpoint writes an endpoint's URL, events, enabled flag,
	// secrets and UpdatedAt; ErrNotFound if there is none.
	UpdateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error
	// DeleteWebhookEndpoint removes an endpoint and its deliveries;
	// ErrNotFound if there is none.
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// SetWebhookCursor moves the cursor WebhookCursor reads.
	SetWebhookCursor(ctx context.Context, p LedgerPosition) error
	// InsertWebhookDelivery adds a pending delivery, unless its event has
	// one for that endpoint already; it reports whether it added one.
	InsertWebhookDelivery(ctx context.Context, d WebhookDelivery) (bool, error)
	// ClaimWebhookDeliveries takes at most limit pending deliveries of an
	// endpoint that are due at now and follow no pending delivery of the
	// same payment to that endpoint, oldest first, skipping those another
	// transaction holds, and leases them: their NextAttemptAt becomes
	// lease. A process whose lease ends without a recorded attempt loses
	// the delivery to whoever claims it next.
	ClaimWebhookDeliveries(ctx context.Context, endpointID string, now, lease time.Time, limit int) ([]WebhookDelivery, error)
	// RecordWebhookAttempt writes a claimed delivery's status,
	// NextAttemptAt, DeliveredAt and Attempts if it is still pending with
	// its lease ending at leaseWas; otherwise ErrConflict (another process
	// took it over).
	RecordWebhookAttempt(ctx context.Context, d WebhookDelivery, leaseWas time.Time) error
	// ResendWebhookEvent makes the deliveries of an event (to one endpoint
	// if endpointID is set) pending again, due at now and given up at
	// giveUp; it says how many.
	ResendWebhookEvent(ctx context.Context, accountID, eventID, endpointID string, now, giveUp time.Time) (int, error)
	// PurgeWebhookDeliveries looks at the next window deliveries after
	// seq after, oldest first, up to the first whose event is not before
	// before, and deletes those of them that are not pending. It returns
	// how many it deleted, the seq to go on after, and whether the window
	// was full (more may be due).
	PurgeWebhookDeliveries(ctx context.Context, after int64, before time.Time, window int) (deleted int, next int64, more bool, err error)
}

// AuditEntry records one state change: who (Actor: "key:<key id>" for the
// API, "cli:<user>" for operator commands, "system" for the server itself),
// what (Action, e.g. "payment.captured", "key.revoked"), on which object,
// and the request id that caused it.
type AuditEntry struct {
	ID          string
	At          time.Time
	Actor       string
	Action      string
	AccountID   string
	Environment Environment // empty for changes outside an environment
	ObjectID    string
	RequestID   string
	Detail      string
	// ClientIP is the address of the browser a portal action came from
	// (empty for the API and operator commands).
	ClientIP string
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	AccountID string
	Since     time.Time
	Limit     int // 0: no limit
	// NewestFirst lists (and limits to) the newest entries first.
	NewestFirst bool
}

// IdempotencyRecord ties an Idempotency-Key to the transaction its first
// request made; later requests with the same key and body are answered
// from that transaction.
type IdempotencyRecord struct {
	AccountID   string
	Environment Environment
	Key         string
	RequestHash []byte // keyed hash of path and body (the body may hold a card number)
	// TransactionID names what the key's first request made: a ledger
	// transaction, or, for a hosted checkout's create, the checkout
	// session (the request hash covers the path, so one key's records
	// never mix the two).
	TransactionID string
	// Status and Body are the stored answer of a record written before
	// records named their transaction (schema version 3); empty since.
	Status    int
	Body      []byte
	CreatedAt time.Time
}

// DuplicateQuery describes a charge or authorization that may repeat a recent one.
type DuplicateQuery struct {
	AccountID   string
	Environment Environment
	OrderID     string
	Amount      int64
	Fingerprint string
	Since       time.Time
}

// SettlementGroup is what one batch settles: the payments of one account,
// environment and currency, as acquirers settle them.
type SettlementGroup struct {
	AccountID   string
	Environment Environment
	Currency    string
}

// SettlementBatch is the batch of one group in one settlement run.
type SettlementBatch struct {
	ID       string
	RunID    string
	Group    SettlementGroup
	ClosedAt time.Time
	Count    int64
	// Total is what the batch settles, net of refunds, in minor units.
	Total int64
}

// SettledPayment is a payment a settlement chunk settled, and the money
// it settled: captured minus refunded.
type SettledPayment struct {
	ID          string
	AccountID   string
	Environment Environment
	Net         int64
}

// SettlementRun settles the captured payments of one cut-off, in chunks,
// each a short transaction. Its lease is renewed with every chunk; a run
// whose lease has ended may be taken over by another process.
type SettlementRun struct {
	ID         string
	Cutoff     string // unique: "daily:2026-12-05T00:00Z", or "manual:<time>"
	Owner      string // the process settling it
	StartedAt  time.Time
	LeaseUntil time.Time
	DoneAt     time.Time // zero until every chunk is settled
}
