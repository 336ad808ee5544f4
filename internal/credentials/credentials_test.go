package credentials_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cartgateway/cartgateway/internal/credentials"
)

var secret = []byte("0123456789abcdef0123456789abcdef-server-secret")

func TestSealOpen(t *testing.T) {
	box, err := credentials.New(secret)
	if err != nil {
		t.Fatal(err)
	}
	const key = "sk_live_51Hxyzexamplesecretkey"
	a, b := box.Seal(key, "account 1 stripe"), box.Seal(key, "account 1 stripe")
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if bytes.Contains(a, []byte(key)) || bytes.Contains(a, []byte("sk_live")) {
		t.Error("the sealed value contains the clear text")
	}
	if got, err := box.Open(a, "account 1 stripe"); err != nil || got != key {
		t.Errorf("Open = %q, %v; want the key", got, err)
	}
	other, _ := credentials.New([]byte("another-server-secret-of-32-bytes-or-more"))
	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name    string
		box     *credentials.Box
		sealed  []byte
		binding string
	}{
		{"another account", box, a, "account 2 stripe"},
		{"another server secret", other, a, "account 1 stripe"},
		{"a flipped bit", box, tampered, "account 1 stripe"},
		{"truncated", box, a[:20], "account 1 stripe"},
		{"empty", box, nil, "account 1 stripe"},
		{"unknown version", box, append([]byte{9}, a[1:]...), "account 1 stripe"},
	} {
		if got, err := tc.box.Open(tc.sealed, tc.binding); !errors.Is(err, credentials.ErrOpen) || got != "" {
			t.Errorf("%s: Open = %q, %v; want ErrOpen", tc.name, got, err)
		}
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, err := credentials.New([]byte("short")); err == nil {
		t.Error("New accepted a secret shorter than 32 bytes")
	}
}
