package sqlstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// writeHealth remembers how the latest writes ended. Only failures of the
// database itself count (gateway.KindInternal): a payment refused by a
// money rule is a healthy write.
type writeHealth struct {
	mu          sync.Mutex
	lastOK      time.Time
	lastFailure time.Time
	lastProbe   time.Time
	probeErr    error
}

func (h *writeHealth) record(err error, now time.Time) {
	if err != nil && gateway.ErrorKind(err) != gateway.KindInternal {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.lastOK = now
	} else {
		h.lastFailure = now
	}
}

// failing reports whether the latest write failed.
func (h *writeHealth) failing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastFailure.After(h.lastOK)
}

// probeEvery bounds how often Health writes to find out whether writes
// work again: a load balancer checking every second makes at most that
// many probe writes.
const probeEvery = time.Second

// Health is the readiness of the store: the database answers a read and,
// if the latest write failed, a probe write now succeeds. A store whose
// writes fail recovers by itself as soon as one succeeds, a probe's or a
// payment's.
func (db *DB) Health(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	if !db.writes.failing() {
		return nil
	}
	h := &db.writes
	h.mu.Lock()
	if time.Since(h.lastProbe) < probeEvery {
		err := h.probeErr
		h.mu.Unlock()
		return err
	}
	h.lastProbe = time.Now()
	h.mu.Unlock()
	err := db.Update(ctx, func(t gateway.Tx) error {
		_, err := t.(*tx).exec(ctx, `INSERT INTO settings (name, value) VALUES ('health_probe', ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, formatTime(time.Now()))
		return err
	})
	if err != nil {
		err = errors.Join(gateway.ErrWritesFailing, err)
	}
	h.mu.Lock()
	h.probeErr = err
	h.mu.Unlock()
	return err
}
