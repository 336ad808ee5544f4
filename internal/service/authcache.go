package service

import (
	"crypto/sha256"
	"sync"
	"time"
)

// authCache remembers successful authentications for a short time, so that
// a merchant's stream of requests does not read its keys from the store on
// every call. Only successes are kept (failures always reach the store and
// the failed-authentication throttle), under a hash of the key, never the
// key itself. A revoked key stops working when its entry expires: within
// AuthCacheTTL on every instance (at once on the instance that revoked it).
type authCache struct {
	mu      sync.Mutex
	entries map[authCacheKey]authCacheEntry
}

type authCacheKey struct {
	accountID string
	secret    [sha256.Size]byte
}

type authCacheEntry struct {
	caller  Caller
	expires time.Time
}

// maxAuthCacheEntries bounds the cache's memory; when full it starts over.
const maxAuthCacheEntries = 10_000

func cacheKey(accountID, secret string) authCacheKey {
	return authCacheKey{accountID: accountID, secret: sha256.Sum256([]byte(secret))}
}

func (c *authCache) get(k authCacheKey, now time.Time) (Caller, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || now.After(e.expires) {
		return Caller{}, false
	}
	return e.caller, true
}

func (c *authCache) put(k authCacheKey, caller Caller, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxAuthCacheEntries {
		c.entries = make(map[authCacheKey]authCacheEntry)
	}
	c.entries[k] = authCacheEntry{caller: caller, expires: expires}
}

func (c *authCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = nil
}
