package limit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a settable time for the limiters under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestAllow(t *testing.T) {
	type step struct {
		advance time.Duration
		key     string
		ok      bool
		retry   time.Duration // wanted retryAfter when !ok
	}
	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"burst then refused", Config{Rate: 1, Burst: 3}, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, time.Second},
			{400 * time.Millisecond, "a", false, 600 * time.Millisecond},
		}},
		{"refill one token per period", Config{Rate: 2, Burst: 1}, []step{
			{0, "a", true, 0}, {0, "a", false, 500 * time.Millisecond},
			{500 * time.Millisecond, "a", true, 0}, {0, "a", false, 500 * time.Millisecond},
			{10 * time.Second, "a", true, 0}, {0, "a", false, 500 * time.Millisecond}, // refill stops at the burst
		}},
		{"keys are independent", Config{Rate: 1, Burst: 1}, []step{
			{0, "a", true, 0}, {0, "a", false, time.Second},
			{0, "b", true, 0}, {0, "b", false, time.Second},
		}},
		{"slow rate", Config{Rate: 10.0 / 60, Burst: 2}, []step{
			{0, "ip", true, 0}, {0, "ip", true, 0}, {0, "ip", false, 6 * time.Second},
			{5 * time.Second, "ip", false, time.Second}, {time.Second, "ip", true, 0},
		}},
		{"burst below 1 is 1", Config{Rate: 1}, []step{
			{0, "a", true, 0}, {0, "a", false, time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			tt.cfg.Now = c.now
			l := New(tt.cfg)
			for i, s := range tt.steps {
				c.advance(s.advance)
				ok, retry := l.Allow(s.key)
				if ok != s.ok {
					t.Fatalf("step %d (%s): ok = %v, want %v", i, s.key, ok, s.ok)
				}
				if !ok && (retry < s.retry-time.Millisecond || retry > s.retry+time.Millisecond) {
					t.Fatalf("step %d (%s): retryAfter = %v, want %v", i, s.key, retry, s.retry)
				}
				if ok && retry != 0 {
					t.Fatalf("step %d: allowed with retryAfter %v", i, retry)
				}
			}
		})
	}
}

func TestOff(t *testing.T) {
	for _, r := range []float64{0, -1} {
		l := New(Config{Rate: r, Burst: 1})
		if l != nil {
			t.Fatalf("rate %v: limiter is on", r)
		}
		for i := 0; i < 100; i++ {
			if ok, _ := l.Allow("k"); !ok {
				t.Fatal("a nil limiter refused")
			}
			if ok, _ := l.Check("k"); !ok {
				t.Fatal("a nil limiter refused a check")
			}
		}
		if l.Len() != 0 {
			t.Fatal("a nil limiter tracks keys")
		}
	}
}

func TestCheckDoesNotConsume(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 1, Burst: 2, Now: c.now})
	if ok, _ := l.Check("x"); !ok || l.Len() != 0 {
		t.Fatalf("check of an unknown key: ok=%v, %d keys tracked", ok, l.Len())
	}
	for i := 0; i < 5; i++ {
		if ok, _ := l.Check("x"); !ok {
			t.Fatal("check consumed")
		}
	}
	l.Allow("x")
	l.Allow("x")
	ok, retry := l.Check("x")
	if ok || retry != time.Second {
		t.Fatalf("exhausted: check ok=%v retry=%v, want refused for 1s", ok, retry)
	}
	c.advance(time.Second)
	if ok, _ := l.Check("x"); !ok {
		t.Fatal("refilled bucket refused")
	}
}

func TestIdleKeysAreForgotten(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 10, Burst: 20, Now: c.now}) // full again 2 s after last use
	for i := 0; i < 10; i++ {
		l.Allow(fmt.Sprint("k", i))
	}
	c.advance(time.Second)
	l.Allow("fresh")
	if n := l.Len(); n != 11 {
		t.Fatalf("%d keys after 1 s, want 11", n)
	}
	c.advance(time.Second) // the ten are full again; "fresh" is not
	l.Check("other")
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys after 2 s, want 1 (only the recent one)", n)
	}
	// A forgotten key starts with a full bucket, as it would have had.
	for i := 0; i < 20; i++ {
		if ok, _ := l.Allow("k0"); !ok {
			t.Fatalf("forgotten key refused at %d", i)
		}
	}
	if ok, _ := l.Allow("k0"); ok {
		t.Fatal("burst exceeded")
	}
}

func TestMaxKeysEvictsLeastRecentlyUsed(t *testing.T) {
	c := newClock()
	l := New(Config{Rate: 1, Burst: 1, MaxKeys: 3, Now: c.now})
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k) // each now empty
	}
	l.Allow("a") // a is most recently used; b is least
	l.Allow("d") // evicts b
	if n := l.Len(); n != 3 {
		t.Fatalf("%d keys, want 3", n)
	}
	if ok, _ := l.Allow("b"); !ok { // forgotten, so full again; evicts c
		t.Fatal("b was not forgotten")
	}
	for _, k := range []string{"a", "d", "b"} {
		if ok, _ := l.Allow(k); ok {
			t.Fatalf("%s was forgotten; wanted c evicted", k)
		}
	}
	if ok, _ := l.Allow("c"); !ok {
		t.Fatal("c was not forgotten")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int64
	}{{0, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {6 * time.Second, 6}, {-time.Second, 1}} {
		if got := RetryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tt.d, got, tt.want)
		}
	}
}

// TestConcurrent is for the race detector: many callers, a small table
// that keeps evicting.
func TestConcurrent(t *testing.T) {
	l := New(Config{Rate: 1000, Burst: 5, MaxKeys: 8})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				l.Allow("shared")
				l.Check("shared")
				l.Allow(fmt.Sprint("k", g, i%5))
				if n := l.Len(); n > 8 {
					t.Errorf("%d keys tracked, max 8", n)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestConcurrentSingleKeyNeverExceedsBurst(t *testing.T) {
	l := New(Config{Rate: 0.001, Burst: 50})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if ok, _ := l.Allow("k"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 50 {
		t.Fatalf("allowed %d, want exactly the burst of 50", allowed)
	}
}
