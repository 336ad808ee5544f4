// Command go charges the sandbox's Visa test card, refunds part of it and
// looks the payment up, with the Go client, against a local gateway:
//
//	ACCOUNT_ID=… KEY=… go run ./examples/go
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/cartgateway/cartgateway/client"
)

func main() {
	url := os.Getenv("CARTGATEWAY_URL")
	if url == "" {
		url = client.DefaultBaseURL
	}
	if err := run(context.Background(), url, os.Getenv("ACCOUNT_ID"), os.Getenv("KEY"), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, url, account, key string, out io.Writer) error {
	c, err := client.New(client.Config{BaseURL: url, AccountID: account, PrivateKey: key, Environment: "sandbox"})
	if err != nil {
		return err
	}
	order := "go-example-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	charge, err := c.Charge(ctx, client.PaymentRequest{
		Amount:  2000, // cents
		OrderID: order,
		Card:    client.Card{Number: "4242424242424242", CVV: "123", ExpMonth: 10, ExpYear: 2031},
		Customer: client.Customer{FirstName: "Test", LastName: "User", Email: "user3@example.com",
			Address: "6 Pheasant Run", Zip: "07733", Country: "US"},
		Source: "CartGateway Go example",
	}, client.WithIdempotencyKey(order+"-charge")) // charged once, however often this call is retried
	var apiErr *client.Error
	switch {
	case errors.Is(err, client.ErrDeclined) && errors.As(err, &apiErr):
		return fmt.Errorf("declined (%s); the attempt is payment %s", apiErr.Code, apiErr.PaymentID)
	case err != nil:
		return err
	}
	fmt.Fprintf(out, "charged: %s (AVS %s, CVV %s)\n", charge.Message, charge.AVSCode, charge.CVVCode)

	if _, err := c.Refund(ctx, client.RefundRequest{PaymentID: charge.ID, Amount: 500}, client.WithIdempotencyKey(order+"-refund-1")); err != nil {
		return err
	}
	p, err := c.Lookup(ctx, charge.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "status: %s, captured %d, refunded %d, refundable %d\n", p.Status, p.AmountCaptured, p.AmountRefunded, p.AmountRefundable)
	return nil
}
