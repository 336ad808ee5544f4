package sqlstore

import (
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// lookupCache keeps payments read by lookups in memory, so that a payment
// looked up again is answered without a query (docs/adr/0007-lookup-cache.md).
//
// Changes this process makes are seen at once: every write transaction
// notes the payments it touches and drops them from the cache after it
// ends, before its callers are answered. Changes made by another process
// (the settle command run from a shell) drop every entry when the store's
// watcher notices them (see DB.EnableLookupCache).
//
// A lookup that missed and read the database must not put back a state
// older than a change made while it read: see put.
type lookupCache struct {
	seed maphash.Seed
	// invalidations counts the invalidations so far. A reader notes it
	// before reading the database (start); each shard remembers the count
	// of its latest invalidation.
	invalidations atomic.Uint64
	// perShard bounds each shard's generation; a full generation becomes
	// the old one and the one before it is dropped.
	perShard int
	payments [lookupCacheShards]paymentShard // by payment id
	txs      [lookupCacheShards]txShard      // transaction id -> payment id
}

const lookupCacheShards = 64

// DefaultLookupCacheSize bounds the payments a lookup cache holds: two
// generations of at most this many, about 1.3 KB each (~11 MB in all).
const DefaultLookupCacheSize = 4096

type paymentShard struct {
	mu          sync.Mutex
	cur, old    map[string]gateway.Payment
	invalidated uint64 // the invalidation count when this shard last changed
}

// txShard maps transaction ids to their payment's id. Transactions are
// append-only and never change payment, so these entries never go stale.
type txShard struct {
	mu       sync.Mutex
	cur, old map[string]string
}

func newLookupCache(size int) *lookupCache {
	if size <= 0 {
		size = DefaultLookupCacheSize
	}
	return &lookupCache{seed: maphash.MakeSeed(), perShard: max(1, size/lookupCacheShards)}
}

func (c *lookupCache) shard(id string) int {
	return int(maphash.String(c.seed, id) % lookupCacheShards)
}

// start is called before a lookup reads the database; its result goes to put.
func (c *lookupCache) start() uint64 { return c.invalidations.Load() }

// get returns the cached payment that transaction txID belongs to, if it is
// of this account and environment. The payment is the caller's to change.
func (c *lookupCache) get(accountID string, env gateway.Environment, txID string) (gateway.Payment, bool) {
	t := &c.txs[c.shard(txID)]
	t.mu.Lock()
	paymentID, ok := t.cur[txID]
	if !ok {
		paymentID, ok = t.old[txID]
	}
	t.mu.Unlock()
	if !ok {
		return gateway.Payment{}, false
	}
	s := &c.payments[c.shard(paymentID)]
	s.mu.Lock()
	p, ok := s.cur[paymentID]
	if !ok {
		if p, ok = s.old[paymentID]; ok {
			s.putLocked(p, c.perShard) // still in use: keep it
		}
	}
	s.mu.Unlock()
	if !ok || p.AccountID != accountID || p.Environment != env {
		return gateway.Payment{}, false
	}
	p.Transactions = slices.Clone(p.Transactions)
	return p, true
}

// put caches p, read from the database as lookup of txID, unless a write
// transaction that ended after start touched p's shard: then p may predate
// that write, which would otherwise stay hidden behind the stale entry.
// (A write that ends after put removes the entry itself.)
func (c *lookupCache) put(txID string, p gateway.Payment, start uint64) {
	t := &c.txs[c.shard(txID)]
	t.mu.Lock()
	if t.cur == nil || len(t.cur) >= 2*c.perShard {
		t.old, t.cur = t.cur, make(map[string]string, 2*c.perShard)
	}
	t.cur[txID] = p.ID
	t.mu.Unlock()

	p.Transactions = slices.Clone(p.Transactions)
	s := &c.payments[c.shard(p.ID)]
	s.mu.Lock()
	if s.invalidated <= start {
		s.putLocked(p, c.perShard)
	}
	s.mu.Unlock()
}

func (s *paymentShard) putLocked(p gateway.Payment, perShard int) {
	if s.cur == nil || len(s.cur) >= perShard {
		s.old, s.cur = s.cur, make(map[string]gateway.Payment, perShard)
	}
	s.cur[p.ID] = p
}

// invalidate drops the payments a write transaction touched, or every
// payment, once the transaction has ended (committed or not).
func (c *lookupCache) invalidate(ch *changes) {
	if ch == nil || (!ch.all && len(ch.payments) == 0) {
		return
	}
	n := c.invalidations.Add(1)
	if ch.all {
		for i := range c.payments {
			s := &c.payments[i]
			s.mu.Lock()
			s.cur, s.old, s.invalidated = nil, nil, max(s.invalidated, n)
			s.mu.Unlock()
		}
		return
	}
	for _, id := range ch.payments {
		s := &c.payments[c.shard(id)]
		s.mu.Lock()
		delete(s.cur, id)
		delete(s.old, id)
		s.invalidated = max(s.invalidated, n)
		s.mu.Unlock()
	}
}

// changes are the payments a write transaction touched, for the lookup cache.
type changes struct {
	payments []string
	all      bool // a change to payments not listed (a settlement)
}

func (ch *changes) payment(id string) {
	if ch != nil {
		ch.payments = append(ch.payments, id)
	}
}

func (ch *changes) everything() {
	if ch != nil {
		ch.all = true
	}
}
