package web

import (
	"time"

	"github.com/cartgateway/cartgateway/internal/limit"
)

// The default abuse limits. Per-IP limits are coarse (one merchant's servers
// may share an address, and so may a NAT), so that one is generous; bursts
// are twice the rate unless set.
const (
	DefaultIPRate                = 1000 // requests per second per client IP
	DefaultAccountRate           = 500  // requests per second per account
	DefaultAuthFailuresPerMinute = 10   // failed authentications per minute per client IP
)

// Limits configure the abuse limits. A zero rate or burst takes the default;
// a negative rate turns that limit off.
type Limits struct {
	// IPRate (per second) and IPBurst bound the requests of one client IP
	// (IPv6: one /64) on every route but /healthz and /metrics.
	IPRate  float64
	IPBurst int
	// AccountRate (per second) and AccountBurst bound the authenticated
	// requests of one account.
	AccountRate  float64
	AccountBurst int
	// AuthFailuresPerMinute and AuthFailureBurst bound the failed
	// authentications of one client IP: once they are spent, that IP's
	// authenticated requests answer 429 before its credentials are checked,
	// so that guessing keys is slow.
	AuthFailuresPerMinute float64
	AuthFailureBurst      int
	// MaxKeys bounds the clients each limit tracks (limit.DefaultMaxKeys if 0).
	MaxKeys int
	// Now is the limits' clock (time.Now if nil).
	Now func() time.Time
}

// Limiters are the limits, built; the zero value limits nothing.
type Limiters struct {
	IP, Account, AuthFailures *limit.Limiter
}

// Build makes the limiters of l.
func (l Limits) Build() Limiters {
	cfg := func(perSecond, def float64, burst int) limit.Config {
		switch {
		case perSecond == 0:
			perSecond = def
		case perSecond < 0:
			perSecond = 0 // off
		}
		if burst <= 0 {
			burst = int(min(max(1, 2*perSecond+0.5), 1<<30))
		}
		return limit.Config{Rate: perSecond, Burst: burst, MaxKeys: l.MaxKeys, Now: l.Now}
	}
	auth := cfg(l.AuthFailuresPerMinute, DefaultAuthFailuresPerMinute, l.AuthFailureBurst)
	auth.Rate /= 60
	return Limiters{
		IP:           limit.New(cfg(l.IPRate, DefaultIPRate, l.IPBurst)),
		Account:      limit.New(cfg(l.AccountRate, DefaultAccountRate, l.AccountBurst)),
		AuthFailures: limit.New(auth),
	}
}
