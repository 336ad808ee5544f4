// Package credentials seals the secrets the gateway keeps for others (a
// connector's API key) so that the database never holds them in clear:
// AES-256-GCM under a key derived with HKDF-SHA256 from the server secret,
// each sealed value bound to what it belongs to (associated data), so that
// a value copied to another account's row does not open there.
package credentials

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// hkdfInfo separates this key from every other use of the server secret
// (card fingerprints and request hashes use it as an HMAC key).
const hkdfInfo = "cartgateway processor credentials v1"

// version is the first byte of a sealed value: the key derivation and
// cipher it was sealed with.
const version = 1

// Box seals and opens values with one key.
type Box struct{ aead cipher.AEAD }

// New derives the sealing key from the server secret.
func New(serverSecret []byte) (*Box, error) {
	if len(serverSecret) < 32 {
		return nil, errors.New("credentials: the server secret is shorter than 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, serverSecret, nil, hkdfInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext bound to binding (e.g. "account 7769 stripe"):
// version byte, random 96-bit nonce, ciphertext and tag.
func (b *Box) Seal(plaintext, binding string) []byte {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out[0] = version
	_, _ = rand.Read(out[1:]) // crypto/rand.Read never fails on supported platforms
	return b.aead.Seal(out, out[1:], []byte(plaintext), []byte(binding))
}

// ErrOpen is the answer to a sealed value that does not open: another
// server secret, another binding, or damaged bytes.
var ErrOpen = errors.New("credentials: the sealed value does not open with this server secret and binding")

// Open decrypts a value that Seal made with the same key and binding.
func (b *Box) Open(sealed []byte, binding string) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return "", ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(binding))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}
