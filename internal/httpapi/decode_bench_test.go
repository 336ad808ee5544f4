package httpapi

import (
	"testing"
	"time"
)

// BenchmarkDecodePayment decodes and validates the SDK's charge body.
func BenchmarkDecodePayment(b *testing.B) {
	body := fuzzSDKBody("charge.json")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeAndValidate(body, now); err != nil {
			b.Fatal(err)
		}
	}
}
