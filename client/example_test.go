package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"testing"

	"github.com/cartgateway/cartgateway/client"
	"github.com/cartgateway/cartgateway/internal/apitest"
)

// The examples talk to a real gateway that TestMain starts on loopback, as
// the SDK's published sandbox account: gatewayURL, accountID and
// privateKey stand for yours.
var gatewayURL, accountID, privateKey string

func TestMain(m *testing.M) {
	s, stop := apitest.StartShared(apitest.Options{AccountID: apitest.SDKAccountID, Key: apitest.SDKKey})
	if s == nil {
		fmt.Fprintln(os.Stderr, "no gateway for the examples:", stop())
		os.Exit(1)
	}
	gatewayURL, accountID, privateKey = s.URL, s.AccountID, s.Key
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "the examples' gateway:", err)
		code = 1
	}
	os.Exit(code)
}

func Example() {
	c, err := client.New(client.Config{
		BaseURL:     gatewayURL, // e.g. "http://127.0.0.1:8080"
		AccountID:   accountID,
		PrivateKey:  privateKey,
		Environment: "sandbox",
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	charge, err := c.Charge(ctx, client.PaymentRequest{
		Amount:  2000, // 20.00 USD, in cents
		OrderID: "example-1001",
		Card:    client.Card{Number: "4242424242424242", CVV: "123", ExpMonth: 10, ExpYear: 2031},
		Customer: client.Customer{FirstName: "Test", LastName: "User", Email: "user3@example.com",
			Address: "6 Pheasant Run", Zip: "07733", Country: "US"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(charge.Message, charge.AVSCode, charge.CVVCode)

	if _, err := c.Refund(ctx, client.RefundRequest{PaymentID: charge.ID, Amount: 500}); err != nil {
		log.Fatal(err)
	}
	p, err := c.Lookup(ctx, charge.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Status, p.AmountCaptured, p.AmountRefunded, p.Card.Brand, p.Card.Last4)
	// Output:
	// Approved and Completed Y M
	// captured 2000 500 visa 4242
}

func ExampleClient_Charge_declined() {
	c, err := client.New(client.Config{BaseURL: gatewayURL, AccountID: accountID, PrivateKey: privateKey})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Charge(context.Background(), client.PaymentRequest{
		Amount:  2000,
		OrderID: "example-1002",
		Card:    client.Card{Number: "4000000000009995", CVV: "123", ExpMonth: 10, ExpYear: 2031}, // sandbox: insufficient funds
		Customer: client.Customer{FirstName: "Test", LastName: "User", Email: "user3@example.com",
			Address: "6 Pheasant Run", Zip: "07733"},
	})
	var e *client.Error
	switch {
	case errors.Is(err, client.ErrDeclined) && errors.As(err, &e):
		fmt.Println("declined:", e.Code, e.StatusCode, len(e.PaymentID) > 0)
	case err != nil:
		log.Fatal(err)
	}
	// Output: declined: insufficient-funds 400 true
}

func ExampleWithIdempotencyKey() {
	c, err := client.New(client.Config{BaseURL: gatewayURL, AccountID: accountID, PrivateKey: privateKey})
	if err != nil {
		log.Fatal(err)
	}
	order := client.PaymentRequest{
		Amount:  4500,
		OrderID: "example-1003",
		Card:    client.Card{Number: "5555555555554444", CVV: "123", ExpMonth: 10, ExpYear: 2031},
		Customer: client.Customer{FirstName: "Test", LastName: "User", Email: "user3@example.com",
			Address: "6 Pheasant Run", Zip: "07733"},
	}
	// A key derived from the order makes the charge happen once, even if
	// the shop's process crashes and charges the order again on restart.
	first, err := c.Charge(context.Background(), order, client.WithIdempotencyKey("order-1003-charge"))
	if err != nil {
		log.Fatal(err)
	}
	again, err := c.Charge(context.Background(), order, client.WithIdempotencyKey("order-1003-charge"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(again.ID == first.ID, again.Replayed)
	// Output: true true
}
