package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

// testProcessorConfigs: an account's live processor is saved, read back
// whole, replaced, and kept apart from other accounts'.
func testProcessorConfigs(t *testing.T, s gateway.Store) {
	createAccounts(t, s, acct1, acct2)
	read := func(accountID string) (gateway.ProcessorConfig, error) {
		var c gateway.ProcessorConfig
		var err error
		mustView(t, s, func(ctx context.Context, tx gateway.ReadTx) error {
			c, err = tx.ProcessorConfig(ctx, accountID)
			return nil
		})
		return c, err
	}
	_, err := read(acct1)
	expectErr(t, "processor config of an account without one", err, gateway.ErrNotFound)

	first := gateway.ProcessorConfig{AccountID: acct1, Processor: "stripe", SealedSecret: []byte{0, 1, 2, 0xff, 'x'},
		SecretHint: "abcd", APIBase: "http://127.0.0.1:12111", UpdatedAt: at(time.Second)}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.SaveProcessorConfig(ctx, first) })
	got, err := read(acct1)
	if err != nil {
		t.Fatal(err)
	}
	first.UpdatedAt = first.UpdatedAt.UTC()
	checkEqual(t, "saved processor config", got, first)

	second := gateway.ProcessorConfig{AccountID: acct1, Processor: "stripe", SealedSecret: []byte("rotated"),
		SecretHint: "wxyz", UpdatedAt: at(time.Minute).UTC()}
	mustUpdate(t, s, func(ctx context.Context, tx gateway.Tx) error { return tx.SaveProcessorConfig(ctx, second) })
	if got, err = read(acct1); err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "replaced processor config", got, second)
	if _, err := read(acct2); err == nil {
		t.Error("another account sees the first account's processor")
	}

	// A rolled back save leaves the stored one.
	err = update(t, s, func(tx gateway.Tx) error {
		if err := tx.SaveProcessorConfig(context.Background(), first); err != nil {
			return err
		}
		return errRollback
	})
	expectErr(t, "rolled back save", err, errRollback)
	if got, _ = read(acct1); string(got.SealedSecret) != "rotated" {
		t.Errorf("a rolled back save changed the config: %+v", got)
	}
}
