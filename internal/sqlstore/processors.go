package sqlstore

import (
	"context"

	"github.com/cartgateway/cartgateway/internal/gateway"
)

func (t *tx) ProcessorConfig(ctx context.Context, accountID string) (gateway.ProcessorConfig, error) {
	c := gateway.ProcessorConfig{AccountID: accountID}
	var updated string
	err := t.queryRow(ctx, `SELECT processor, sealed_secret, secret_hint, api_base, updated_at
		FROM processor_configs WHERE account_id = ?`, accountID).
		Scan(&c.Processor, &c.SealedSecret, &c.SecretHint, &c.APIBase, &updated)
	if err != nil {
		return c, notFoundOr(err)
	}
	c.UpdatedAt, err = parseTime(updated)
	return c, err
}

func (t *tx) SaveProcessorConfig(ctx context.Context, c gateway.ProcessorConfig) error {
	_, err := t.exec(ctx, `INSERT INTO processor_configs (account_id, processor, sealed_secret, secret_hint, api_base, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET processor = excluded.processor, sealed_secret = excluded.sealed_secret,
			secret_hint = excluded.secret_hint, api_base = excluded.api_base, updated_at = excluded.updated_at`,
		c.AccountID, c.Processor, c.SealedSecret, c.SecretHint, c.APIBase, formatTime(c.UpdatedAt))
	return err
}
