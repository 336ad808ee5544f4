// Package limit holds the gateway's abuse limits: a keyed token-bucket
// limiter with bounded memory, and the client address a limit is keyed by
// (the peer, or what trusted proxies say the client is).
package limit

import (
	"container/list"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys bounds the keys one Limiter tracks unless Config says
// otherwise: some 250 bytes each, so about 25 MB at most.
const DefaultMaxKeys = 100_000

// Config describes a Limiter.
type Config struct {
	// Rate is the sustained rate in events per second; Burst the bucket
	// size (at least 1).
	Rate  float64
	Burst int
	// MaxKeys bounds the keys tracked at once (DefaultMaxKeys if ≤ 0); past
	// it the least recently used key is forgotten.
	MaxKeys int
	// Now is the clock (time.Now if nil); tests drive it.
	Now func() time.Time
}

// Limiter is one token bucket per key (an IP, an account). Memory is
// bounded: a key idle long enough for its bucket to be full again is
// forgotten (a fresh bucket is the same thing), and at most MaxKeys keys are
// tracked, least recently used first out. A nil *Limiter allows everything,
// so "off" needs no special case at the call sites. It is safe for
// concurrent use.
type Limiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	idle    time.Duration // time for an empty bucket to fill up
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*list.Element // of *entry
	lru  list.List                // front: most recently used
}

type entry struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

// New returns a Limiter, or nil (allow everything) when c.Rate ≤ 0.
func New(c Config) *Limiter {
	if !(c.Rate > 0) || math.IsInf(c.Rate, 1) {
		return nil
	}
	if c.Burst < 1 {
		c.Burst = 1
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	idle := time.Duration(math.Ceil(float64(c.Burst) / c.Rate * float64(time.Second)))
	return &Limiter{limit: rate.Limit(c.Rate), burst: c.Burst, maxKeys: c.MaxKeys, idle: idle, now: c.Now,
		keys: make(map[string]*list.Element)}
}

// Allow takes one token from key's bucket. When the bucket is empty it takes
// nothing and says how long until a token is there.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	e := l.touch(key, now, true)
	if e.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, l.wait(e, now)
}

// Check says whether key's bucket holds a token, without taking it: a
// throttle that is consumed elsewhere (e.g. by failed attempts) is checked
// here first. An unknown key is not tracked by being checked.
func (l *Limiter) Check(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	e := l.touch(key, now, false)
	if e == nil || e.lim.TokensAt(now) >= 1 {
		return true, 0
	}
	return false, l.wait(e, now)
}

// Len is the number of keys tracked now.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// touch finds key's entry, marking it used, or (when create) makes one,
// forgetting the least recently used key if the table is full.
func (l *Limiter) touch(key string, now time.Time, create bool) *entry {
	if el, ok := l.keys[key]; ok {
		e := el.Value.(*entry)
		e.last = now
		l.lru.MoveToFront(el)
		return e
	}
	if !create {
		return nil
	}
	for len(l.keys) >= l.maxKeys {
		l.remove(l.lru.Back())
	}
	e := &entry{key: key, lim: rate.NewLimiter(l.limit, l.burst), last: now}
	l.keys[key] = l.lru.PushFront(e)
	return e
}

// sweepBatch bounds the idle keys one call forgets, so that no caller pays
// for a large sweep; every call sweeps, so idle keys still go promptly.
const sweepBatch = 16

// sweep forgets keys idle long enough to have full buckets again, oldest
// first: since the list is in order of use, it stops at the first one not
// idle.
func (l *Limiter) sweep(now time.Time) {
	for i := 0; i < sweepBatch; i++ {
		el := l.lru.Back()
		if el == nil || now.Sub(el.Value.(*entry).last) < l.idle {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.keys, el.Value.(*entry).key)
	l.lru.Remove(el)
}

// wait is the time until e's bucket holds one token.
func (l *Limiter) wait(e *entry, now time.Time) time.Duration {
	missing := 1 - e.lim.TokensAt(now)
	d := time.Duration(math.Ceil(missing / float64(l.limit) * float64(time.Second)))
	if d < time.Nanosecond {
		d = time.Nanosecond
	}
	return d
}

// RetryAfterSeconds renders a wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}
