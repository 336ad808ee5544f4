package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"math/big"
	"time"
)

// Account is a merchant. Amounts of all its payments are minor units of its
// settlement currency.
type Account struct {
	ID        string // digits, as the SDK sends it in CARTGATEWAY-ACCOUNT-ID
	Name      string
	Currency  string // ISO 4217
	CreatedAt time.Time
	// MaxAmount is the largest charge or authorization, in minor units;
	// zero means DefaultMaxAmount.
	MaxAmount int64
	// DuplicateWindow is the account's own duplicate-check window: zero
	// is the server's, a negative value turns the check off.
	DuplicateWindow time.Duration
	// Require2FA makes every user of the account sign in to the portal
	// with a TOTP code.
	Require2FA bool
}

// MaxActiveKeys bounds an account's active keys: authentication compares
// the key sent with each of them.
const MaxActiveKeys = 100

// MaxWireAmount is the largest amount the API reads at all (10^13 minor
// units): sums of amounts stay far from int64's limit.
const MaxWireAmount = 10_000_000_000_000

// DefaultMaxAmount is the largest charge or authorization of an account that
// sets none: 99,999,999 minor units, the card limit Stripe applies
// ($999,999.99).
const DefaultMaxAmount = 99_999_999

// MaxPaymentAmount is the account's largest charge or authorization.
func (a Account) MaxPaymentAmount() int64 {
	if a.MaxAmount > 0 {
		return a.MaxAmount
	}
	return DefaultMaxAmount
}

// Key is a private API key of one account and one environment. Only its
// SHA-256 is stored: keys are 160-bit random secrets, so a slow hash would add
// cost without adding safety.
type Key struct {
	ID          string
	AccountID   string
	Environment Environment
	Hash        []byte
	Hint        string // the last 4 characters, to tell keys apart in listings
	CreatedAt   time.Time
	RevokedAt   time.Time // zero while active
	// LastUsedAt is when the key last authenticated a request, to about a
	// minute (zero: never).
	LastUsedAt time.Time
}

// HashKey is the stored form of a private key.
func HashKey(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Matches reports in constant time whether secret is this key.
func (k Key) Matches(secret string) bool {
	return subtle.ConstantTimeCompare(k.Hash, HashKey(secret)) == 1
}

// NewKeySecret returns a fresh private key: 40 hex characters, the format of
// the keys merchants already hold.
func NewKeySecret() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// KeyHint is what listings show of a key.
func KeyHint(secret string) string {
	if len(secret) <= 4 {
		return ""
	}
	return secret[len(secret)-4:]
}

// NewAccountID returns a random 8-digit account id.
func NewAccountID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(90_000_000))
	return big.NewInt(0).Add(n, big.NewInt(10_000_000)).String()
}

// ValidAccountID accepts 1 to 18 digits without a leading zero.
func ValidAccountID(id string) bool {
	if len(id) == 0 || len(id) > 18 || id[0] == '0' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return false
		}
	}
	return true
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// sortedDigits are base-36 digits in byte order, so that ids sort by time.
const sortedDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// idEpoch is where an id's clock starts: 8 base-36 digits of milliseconds
// from here last until 2109.
var idEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()

// NewID returns a 15-character id of upper-case letters and digits: 8 of
// milliseconds since 2020, then 7 from crypto/rand (about 36 bits). The
// time prefix makes the ids of one moment neighbours in every index keyed
// by them, so that a batch of new payments dirties a few B-tree pages at the
// end instead of one random page per payment (docs/performance.md). Ids are
// answered only to the account that owns them; the random part keeps them
// unguessable even with the creation time known. Two ids made in the same
// millisecond collide with a chance of 1 in 7.8·10¹⁰; a store refuses the
// second with a unique violation and the operation is retried with a new id.
func NewID() string {
	var out [15]byte
	ms := max(time.Now().UnixMilli()-idEpoch, 0)
	for i := 7; i >= 0; i-- {
		out[i] = sortedDigits[ms%36]
		ms /= 36
	}
	var buf [16]byte
	i := 8
	for i < len(out) {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			// 252 = 7*36: reject above it so every symbol is equally likely.
			if b >= 252 {
				continue
			}
			out[i] = idAlphabet[b%36]
			i++
			if i == len(out) {
				break
			}
		}
	}
	return string(out[:])
}

// ValidID reports whether s has the form of a transaction id.
func ValidID(s string) bool {
	if len(s) != 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
