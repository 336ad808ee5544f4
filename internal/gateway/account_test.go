package gateway_test

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

func TestNewID(t *testing.T) {
	const n = 10_000
	seen := make(map[string]bool, n)
	symbols := map[rune]bool{}
	for range n {
		id := gateway.NewID()
		if len(id) != 15 {
			t.Fatalf("NewID() = %q: %d characters; want 15", id, len(id))
		}
		for _, c := range id {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				t.Fatalf("NewID() = %q: character %q outside [A-Z0-9]", id, c)
			}
			symbols[c] = true
		}
		if !gateway.ValidID(id) {
			t.Fatalf("ValidID(NewID()) = false for %q", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
	// 70,000 random symbols: every one of the 36 appears.
	if len(symbols) != 36 {
		t.Errorf("NewID used %d distinct symbols; want all 36", len(symbols))
	}
}

// TestNewIDSortsByTime: an id made a few milliseconds after another sorts
// after it, byte by byte, so that new rows append to every index keyed by
// ids; the random part still differs between ids of one millisecond.
func TestNewIDSortsByTime(t *testing.T) {
	prev := gateway.NewID()
	for range 5 {
		time.Sleep(3 * time.Millisecond)
		next := gateway.NewID()
		if next <= prev {
			t.Fatalf("NewID() = %q after %q: not later in byte order", next, prev)
		}
		prev = next
	}
	a, b := gateway.NewID(), gateway.NewID()
	if a[8:] == b[8:] {
		t.Errorf("two ids share their random part: %q, %q", a, b)
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"ABCDEFGHIJKLMNO", true},
		{"012345678901234", true},
		{"A1B2C3D4E5F6G7Z", true},
		{"ZZZZZZZZZZZZZZ9", true},
		{"", false},
		{"A", false},
		{"ABCDEFGHIJKLMN", false},   // 14
		{"ABCDEFGHIJKLMNOP", false}, // 16
		{"abcdefghijklmno", false},  // lower case
		{"ABCDEFGHIJKLMNo", false},
		{"ABCDEFG-IJKLMNO", false},
		{"ABCDEFG_IJKLMNO", false},
		{"ABCDEFG IJKLMNO", false},
		{" ABCDEFGHIJKLMN", false},
		{"ABCDEFGHIJKLMN\n", false},
		{"ABCDEFGHIJKLM\x00N", false},
		{"ABCDEFGHIJKLMÉ", false},  // 15 bytes, 14 runes
		{"ABCDEFGHIJKLMN[", false}, // '[' is just after 'Z'
		{"ABCDEFGHIJKLMN@", false}, // '@' is just before 'A'
		{"ABCDEFGHIJKLMN/", false}, // '/' is just before '0'
		{"ABCDEFGHIJKLMN:", false}, // ':' is just after '9'
		{"12345678-1234-1234-1234-123456789012", false},
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.id), func(t *testing.T) {
			if got := gateway.ValidID(tc.id); got != tc.want {
				t.Errorf("ValidID(%q) = %v; want %v", tc.id, got, tc.want)
			}
		})
	}
}

func TestNewAccountID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := gateway.NewAccountID()
		if len(id) != 8 {
			t.Fatalf("NewAccountID() = %q; want 8 digits", id)
		}
		n, err := strconv.Atoi(id)
		if err != nil || n < 10_000_000 || n > 99_999_999 {
			t.Fatalf("NewAccountID() = %q; want 10000000..99999999", id)
		}
		if !gateway.ValidAccountID(id) {
			t.Fatalf("ValidAccountID(NewAccountID()) = false for %q", id)
		}
		seen[id] = true
	}
	if len(seen) < 990 {
		t.Errorf("NewAccountID gave only %d distinct ids in 1000", len(seen))
	}
}

func TestValidAccountID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"1", true},
		{"9", true},
		{"10", true},
		{"12345678", true},
		{"100000000000000000", true}, // 18 digits
		{"999999999999999999", true},
		{"", false},
		{"0", false},
		{"01", false},
		{"012345678", false},
		{"1000000000000000000", false}, // 19 digits
		{"12345678a", false},
		{"1234 5678", false},
		{" 12345678", false},
		{"12345678\n", false},
		{"-1", false},
		{"+1", false},
		{"1.0", false},
		{"1e3", false},
		{"0x10", false},
		{"١٢٣", false}, // Arabic-Indic digits
		{"１２３", false}, // full-width digits
	}
	for _, tc := range tests {
		t.Run(strconv.Quote(tc.id), func(t *testing.T) {
			if got := gateway.ValidAccountID(tc.id); got != tc.want {
				t.Errorf("ValidAccountID(%q) = %v; want %v", tc.id, got, tc.want)
			}
		})
	}
}

func TestNewKeySecret(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := gateway.NewKeySecret()
		if len(s) != 40 {
			t.Fatalf("NewKeySecret() = %q: %d characters; want 40", s, len(s))
		}
		if strings.Trim(s, "0123456789abcdef") != "" {
			t.Fatalf("NewKeySecret() = %q: not lower-case hex", s)
		}
		if b, err := hex.DecodeString(s); err != nil || len(b) != 20 {
			t.Fatalf("NewKeySecret() = %q: does not decode to 20 bytes", s)
		}
		if seen[s] {
			t.Fatalf("NewKeySecret() repeated %q", s)
		}
		seen[s] = true
	}
}

func TestHashKey(t *testing.T) {
	tests := []struct {
		secret, want string
	}{
		// SHA-256 test vectors.
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tc := range tests {
		if got := hex.EncodeToString(gateway.HashKey(tc.secret)); got != tc.want {
			t.Errorf("HashKey(%q) = %s; want %s", tc.secret, got, tc.want)
		}
	}
	s := gateway.NewKeySecret()
	if !bytes.Equal(gateway.HashKey(s), gateway.HashKey(s)) {
		t.Error("HashKey is not deterministic")
	}
	if bytes.Equal(gateway.HashKey(s), gateway.HashKey(s+"0")) {
		t.Error("HashKey collides on different secrets")
	}
	if len(gateway.HashKey(s)) != 32 {
		t.Errorf("HashKey length %d; want 32", len(gateway.HashKey(s)))
	}
}

func TestKeyMatches(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef01234567"
	key := gateway.Key{ID: "K", AccountID: "12345678", Environment: gateway.Sandbox, Hash: gateway.HashKey(secret), Hint: gateway.KeyHint(secret)}
	tests := []struct {
		name   string
		key    gateway.Key
		secret string
		want   bool
	}{
		{"same secret", key, secret, true},
		{"empty", key, "", false},
		{"upper case", key, strings.ToUpper(secret), false},
		{"one character changed", key, secret[:39] + "8", false},
		{"prefix", key, secret[:39], false},
		{"extra character", key, secret + "0", false},
		{"leading space", key, " " + secret, false},
		{"the hash itself", key, hex.EncodeToString(key.Hash), false},
		{"the hint", key, key.Hint, false},
		{"key without hash, empty secret", gateway.Key{}, "", false},
		{"key without hash", gateway.Key{}, secret, false},
		{"truncated hash", gateway.Key{Hash: key.Hash[:16]}, secret, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.key.Matches(tc.secret); got != tc.want {
				t.Errorf("Matches(%q) = %v; want %v", tc.secret, got, tc.want)
			}
		})
	}
	// Fresh secrets match their own keys only.
	a, b := gateway.NewKeySecret(), gateway.NewKeySecret()
	ka := gateway.Key{Hash: gateway.HashKey(a)}
	if !ka.Matches(a) || ka.Matches(b) {
		t.Error("a fresh key does not match exactly its own secret")
	}
}

func TestKeyHint(t *testing.T) {
	tests := []struct {
		secret, want string
	}{
		{"0123456789abcdef0123456789abcdef01234567", "4567"},
		{"abcde", "bcde"},
		// A hint never reveals a whole (too short) secret.
		{"abcd", ""},
		{"abc", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := gateway.KeyHint(tc.secret); got != tc.want {
			t.Errorf("KeyHint(%q) = %q; want %q", tc.secret, got, tc.want)
		}
	}
	s := gateway.NewKeySecret()
	if h := gateway.KeyHint(s); len(h) != 4 || !strings.HasSuffix(s, h) {
		t.Errorf("KeyHint(%q) = %q; want its last 4 characters", s, h)
	}
}
