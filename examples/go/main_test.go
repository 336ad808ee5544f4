package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// TestExample runs the example against a real gateway on loopback.
func TestExample(t *testing.T) {
	s := apitest.Start(t, apitest.Options{})
	var out bytes.Buffer
	if err := run(context.Background(), s.URL, s.AccountID, s.Key, &out); err != nil {
		t.Fatal(err)
	}
	want := "charged: Approved and Completed (AVS Y, CVV M)\nstatus: captured, captured 2000, refunded 500, refundable 1500\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
