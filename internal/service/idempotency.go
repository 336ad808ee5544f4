package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// Idempotency asks an operation to claim Key for itself, in the same
// transaction as its change, so that a request with the same key and Hash
// is answered with this operation's outcome instead of being done again.
type Idempotency struct {
	Key  string
	Hash []byte // RequestHash of the request
}

// RequestHash identifies a request for its Idempotency-Key: HMAC-SHA256 of
// path and body under the server secret. Keyed, because a charge's body
// holds the card number and CVV: a plain hash stored beside the BIN and
// last 4 could be brute-forced back to them.
func (s *Service) RequestHash(path string, body []byte) []byte {
	m := hmac.New(sha256.New, s.FingerprintKey)
	m.Write([]byte(path))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)
}

// The answers to a request whose Idempotency-Key is taken.
var (
	ErrIdempotencyKeyReused = gateway.Errorf(gateway.KindConflict, "idempotency-key-reused",
		"The Idempotency-Key was already used with a different request; use a new key for a new request.")
	ErrIdempotencyKeyInProgress = gateway.Errorf(gateway.KindConflict, "idempotency-key-in-progress",
		"A request with this Idempotency-Key is in progress; retry after it has finished.")
)

// ReplayError carries the stored answer of a key claimed before records
// named their transaction (schema version 3): the surface that stored it
// replays it as it is.
type ReplayError struct{ Record gateway.IdempotencyRecord }

func (e *ReplayError) Error() string { return "idempotent replay of key " + e.Record.Key }

// keyTaken ends a write transaction whose Idempotency-Key already has a
// record; answer turns it into the answer.
type keyTaken struct{ record gateway.IdempotencyRecord }

func (e *keyTaken) Error() string { return "the idempotency key is taken" }

// claimKey, first in a keyed write transaction, claims the key for the
// transaction txID, or ends the transaction if the key is taken. Two
// requests claiming one new key at once: the unique key lets one commit;
// the other conflicts, and its retry finds the key taken.
func (s *Service) claimKey(ctx context.Context, tx gateway.Tx, c Caller, idem *Idempotency, txID string, now time.Time) error {
	if idem == nil {
		return nil
	}
	rec, err := tx.IdempotencyRecord(ctx, c.Account.ID, c.Environment, idem.Key)
	if err == nil {
		return &keyTaken{record: rec}
	}
	if !errors.Is(err, gateway.ErrNotFound) {
		return err
	}
	return tx.SaveIdempotencyRecord(ctx, gateway.IdempotencyRecord{AccountID: c.Account.ID, Environment: c.Environment,
		Key: idem.Key, RequestHash: idem.Hash, TransactionID: txID, CreatedAt: now})
}

// answer ends an operation: its own outcome, or, when its key was taken,
// the outcome of the request that took it (replayed), or why not.
func (s *Service) answer(ctx context.Context, c Caller, idem *Idempotency, out Outcome, recorded, err error) (Outcome, error) {
	var taken *keyTaken
	if !errors.As(err, &taken) {
		if err != nil {
			return Outcome{}, err
		}
		return out, recorded
	}
	rec := taken.record
	if !hmac.Equal(rec.RequestHash, idem.Hash) {
		return Outcome{}, ErrIdempotencyKeyReused
	}
	if rec.TransactionID == "" {
		return Outcome{}, &ReplayError{Record: rec}
	}
	var p gateway.Payment
	var t gateway.Transaction
	err = s.Store.View(ctx, func(tx gateway.ReadTx) error {
		var err error
		if t, err = tx.Transaction(ctx, c.Account.ID, c.Environment, rec.TransactionID); err != nil {
			return err
		}
		p, err = tx.PaymentByTransaction(ctx, c.Account.ID, c.Environment, t.ID)
		return err
	})
	if err != nil {
		return Outcome{}, err
	}
	if t.Result == gateway.ResultPending {
		return Outcome{}, ErrIdempotencyKeyInProgress
	}
	out, recorded = outcomeOf(p, t)
	out.Replayed = true
	return out, recorded
}

// PurgeIdempotencyRecords deletes the Idempotency-Keys older than the
// retention period, a bounded number per transaction so that no write
// waits long behind it, and says how many it deleted. A key whose
// operation is still pending is kept until it has finished.
func (s *Service) PurgeIdempotencyRecords(ctx context.Context) (int, error) {
	retention := s.IdempotencyRetention
	if retention <= 0 {
		retention = DefaultIdempotencyRetention
	}
	before := s.now().Add(-retention)
	total := 0
	for {
		var n int
		err := s.Store.Update(ctx, func(tx gateway.Tx) error {
			var err error
			n, err = tx.DeleteIdempotencyRecords(ctx, before, purgeChunk)
			return err
		})
		total += n
		if err != nil || n < purgeChunk {
			return total, err
		}
	}
}

// purgeChunk is how many Idempotency-Keys one purge transaction deletes.
const purgeChunk = 1000
