package sqlstore

import (
	"fmt"
	"testing"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

func cachedTestPayment(id string) gateway.Payment {
	return gateway.Payment{ID: id, AccountID: "10000001", Environment: gateway.Live, Status: gateway.StatusCaptured,
		Transactions: []gateway.Transaction{{ID: id, PaymentID: id}}}
}

func TestLookupCacheAnswers(t *testing.T) {
	p := cachedTestPayment("P1")
	tests := []struct {
		name    string
		account string
		env     gateway.Environment
		txID    string
		hit     bool
	}{
		{"cached", "10000001", gateway.Live, "T2", true},
		{"by another transaction of the payment", "10000001", gateway.Live, "T1", false}, // never looked up by T1
		{"other account", "10000002", gateway.Live, "T2", false},
		{"other environment", "10000001", gateway.Sandbox, "T2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newLookupCache(0)
			c.put("T2", p, c.start())
			got, hit := c.get(tc.account, tc.env, tc.txID)
			if hit != tc.hit {
				t.Fatalf("hit = %v, want %v", hit, tc.hit)
			}
			if hit && (got.ID != p.ID || len(got.Transactions) != 1) {
				t.Errorf("got %+v, want %+v", got, p)
			}
		})
	}
}

func TestLookupCacheCopies(t *testing.T) {
	c := newLookupCache(0)
	p := cachedTestPayment("P1")
	c.put("P1", p, c.start())
	p.Transactions[0].Amount = 1 // the caller's copy
	got, _ := c.get(p.AccountID, p.Environment, "P1")
	got.Transactions[0].Amount = 2
	again, _ := c.get(p.AccountID, p.Environment, "P1")
	if again.Transactions[0].Amount != 0 {
		t.Errorf("a caller's change reached the cache: amount %d", again.Transactions[0].Amount)
	}
}

func TestLookupCacheInvalidation(t *testing.T) {
	tests := []struct {
		name       string
		changes    *changes
		before     bool // the change ends before the lookup's put
		wantCached bool
	}{
		{"no change", nil, false, true},
		{"this payment changed after the put", &changes{payments: []string{"P1"}}, false, false},
		{"another payment changed after the put", &changes{payments: []string{"P2"}}, false, true},
		{"everything changed after the put", &changes{all: true}, false, false},
		// The lookup read the database before the change ended: what it
		// read may predate the change, so it is not kept.
		{"this payment changed during the read", &changes{payments: []string{"P1"}}, true, false},
		{"everything changed during the read", &changes{all: true}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newLookupCache(0)
			p := cachedTestPayment("P1")
			start := c.start()
			if tc.before {
				c.invalidate(tc.changes)
			}
			c.put("P1", p, start)
			if !tc.before {
				c.invalidate(tc.changes)
			}
			if _, hit := c.get(p.AccountID, p.Environment, "P1"); hit != tc.wantCached {
				t.Errorf("cached = %v, want %v", hit, tc.wantCached)
			}
		})
	}
}

func TestLookupCacheIsBounded(t *testing.T) {
	const size = 256
	c := newLookupCache(size)
	for i := range 100 * size {
		id := fmt.Sprintf("P%d", i)
		c.put(id, cachedTestPayment(id), c.start())
	}
	var payments, txs int
	for i := range c.payments {
		payments += len(c.payments[i].cur) + len(c.payments[i].old)
		txs += len(c.txs[i].cur) + len(c.txs[i].old)
	}
	if payments > 2*size || txs > 4*size {
		t.Errorf("%d payments and %d transaction ids kept, want at most %d and %d", payments, txs, 2*size, 4*size)
	}
	last := fmt.Sprintf("P%d", 100*size-1)
	if _, hit := c.get("10000001", gateway.Live, last); !hit {
		t.Errorf("the latest payment is not cached")
	}
}
