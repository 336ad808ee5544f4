package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/money"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/service"
)

// withService opens the store for one operator command.
func withService(ctx context.Context, sf *storeFlags, c creation, fn func(*service.Service) error) error {
	db, svc, err := sf.open(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(svc)
}

type accountsCmd struct {
	Create    accountsCreateCmd    `cmd:"" help:"Create a merchant account with one key (creates the database if needed)."`
	List      accountsListCmd      `cmd:"" help:"List accounts and their keys (the last 4 characters only)."`
	KeyAdd    accountsKeyAddCmd    `cmd:"" name:"key-add" help:"Add a key to an account."`
	KeyRevoke accountsKeyRevokeCmd `cmd:"" name:"key-revoke" help:"Revoke a key of an account."`
	SetMax    accountsSetMaxCmd    `cmd:"" name:"set-max-amount" help:"Set an account's largest charge or authorization."`

	SetProcessor       accountsSetProcessorCmd       `cmd:"" name:"set-processor" help:"Give an account its live processor (e.g. Stripe) and its secret key."`
	RotateProcessorKey accountsRotateProcessorKeyCmd `cmd:"" name:"rotate-processor-key" help:"Replace the secret key of an account's live processor."`
}

func (accountsCmd) Help() string {
	return `Examples:
  cartgateway accounts create --name "Example Shop"
  cartgateway accounts list
  cartgateway accounts key-add --account 7769 --environment live
  cartgateway accounts key-revoke --account 7769 --key-id KEYID
  cartgateway accounts set-max-amount --account 7769 --max-amount 500000000`
}

type accountsSetMaxCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	MaxAmount  int64  `name:"max-amount" required:"" placeholder:"MINOR-UNITS" help:"Largest charge or authorization in minor units (cents); 0 restores the default, 99999999."`
}

func (accountsSetMaxCmd) Help() string {
	return `A charge or authorization above it is refused with 400 amount-too-large. The
default, 99,999,999 minor units ($999,999.99 for USD), is Stripe's card limit.
A running server applies the change within --auth-cache-ttl.

Examples:
  cartgateway accounts set-max-amount --account 7769 --max-amount 500000000
  cartgateway accounts set-max-amount --account 7769 --max-amount 0`
}

func (c *accountsSetMaxCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		if err := s.SetMaxAmount(e.ctx, c.Account, c.MaxAmount); err != nil {
			return accountError(err, c.Account)
		}
		max := c.MaxAmount
		if max == 0 {
			max = gateway.DefaultMaxAmount
		}
		fmt.Fprintf(e.stdout, "account %s: largest charge or authorization %d minor units\n", c.Account, max)
		return nil
	})
}

type accountsCreateCmd struct {
	storeFlags  `embed:""`
	Name        string `name:"name" required:"" help:"Merchant name."`
	ID          string `name:"id" placeholder:"DIGITS" help:"Account id to use (1-18 digits), e.g. to import an existing merchant; random if empty."`
	Key         string `name:"key" help:"Private key to use (at least 20 characters), e.g. to import an existing merchant; random if empty."`
	Environment string `name:"environment" default:"sandbox" enum:"sandbox,live" help:"Environment of the key: sandbox or live."`
	Currency    string `name:"currency" default:"USD" help:"Settlement currency (ISO 4217)."`
}

func (accountsCreateCmd) Help() string {
	return `Prints the account id and the private key once. Creates the database (and its
secret file) if it does not exist, so that existing credentials can be imported
before the first "serve".

Examples:
  cartgateway accounts create --name "Example Shop"
  cartgateway accounts create --name "SDK test" --id 7769 --key 05bea34479dd7fc488c1ce774400e9a0bfea02b1
  cartgateway accounts create --name "Shop EU" --currency EUR --environment live`
}

func (c *accountsCreateCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mayCreate, func(s *service.Service) error {
		a, secret, err := s.CreateAccount(e.ctx, service.NewAccount{ID: c.ID, Name: c.Name, Currency: c.Currency, Key: c.Key, Environment: gateway.Environment(c.Environment)})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "account_id: %s\nprivate_key: %s\nenvironment: %s\ncurrency: %s\n", a.ID, secret, c.Environment, a.Currency)
		return nil
	})
}

type accountsListCmd struct {
	storeFlags `embed:""`
}

func (accountsListCmd) Help() string {
	return `Example:
  cartgateway accounts list --db /var/lib/cartgateway/cartgateway.db`
}

func (c *accountsListCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		list, keys, err := s.Accounts(e.ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tNAME\tCURRENCY\tKEY ID\tENVIRONMENT\tKEY ENDS\tSTATE")
		for _, a := range list {
			for _, k := range keys[a.ID] {
				state := "active"
				if !k.RevokedAt.IsZero() {
					state = "revoked " + k.RevokedAt.UTC().Format("2006-01-02")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t…%s\t%s\n", a.ID, a.Name, a.Currency, k.ID, k.Environment, k.Hint, state)
			}
		}
		return tw.Flush()
	})
}

type accountsKeyAddCmd struct {
	storeFlags  `embed:""`
	Account     string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Key         string `name:"key" help:"Private key to use (at least 20 characters); random if empty."`
	Environment string `name:"environment" default:"sandbox" enum:"sandbox,live" help:"Environment of the key: sandbox or live."`
}

func (accountsKeyAddCmd) Help() string {
	return `Prints the new key's id and the key once. An account can hold several active
keys: add the new one, deploy it, then revoke the old one.

Examples:
  cartgateway accounts key-add --account 7769
  cartgateway accounts key-add --account 7769 --environment live`
}

func (c *accountsKeyAddCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		k, secret, err := s.AddKey(e.ctx, c.Account, gateway.Environment(c.Environment), c.Key)
		if err != nil {
			return accountError(err, c.Account)
		}
		fmt.Fprintf(e.stdout, "key_id: %s\nprivate_key: %s\nenvironment: %s\n", k.ID, secret, k.Environment)
		return nil
	})
}

type accountsKeyRevokeCmd struct {
	storeFlags `embed:""`
	Account    string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	KeyID      string `name:"key-id" required:"" placeholder:"KEYID" help:"Id of the key to revoke, as accounts list shows it."`
}

func (accountsKeyRevokeCmd) Help() string {
	return `Example:
  cartgateway accounts key-revoke --account 7769 --key-id KEYID`
}

func (c *accountsKeyRevokeCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		if err := s.RevokeKey(e.ctx, c.Account, c.KeyID); err != nil {
			if gateway.ErrorKind(err) == gateway.KindNotFound {
				return fmt.Errorf("account %s has no active key %s (see cartgateway accounts list)", c.Account, c.KeyID)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "revoked key %s of account %s\n", c.KeyID, c.Account)
		return nil
	})
}

// accountError names the account that an operator command did not find.
func accountError(err error, account string) error {
	if gateway.ErrorKind(err) == gateway.KindNotFound {
		return fmt.Errorf("there is no account %s (see cartgateway accounts list)", account)
	}
	return err
}

type settleCmd struct {
	storeFlags `embed:""`
}

func (settleCmd) Help() string {
	return `Settles every captured payment now, in one batch per account, environment
and currency, and prints each batch. "serve" does the same daily at
--settle-at. Safe against a running server: the payments are settled in
chunks of a few hundred, each a short transaction.

Example:
  cartgateway settle --db /var/lib/cartgateway/cartgateway.db`
}

func (c *settleCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		if !postgres.IsURL(c.DB) {
			// Beside a gateway serving the same SQLite file, give its
			// writes a turn between chunks (service.Service.SettleYield).
			s.SettleYield = sqliteSettleYield
		}
		cutoff := "manual:" + time.Now().UTC().Format(time.RFC3339Nano)
		res, err := s.Settle(e.ctx, cutoff)
		if err != nil {
			return err
		}
		if len(res.Batches) == 0 {
			fmt.Fprintln(e.stdout, "no captured payments to settle")
			return nil
		}
		fmt.Fprintf(e.stdout, "settlement run %s: %d payments in %d batches\n", res.Run.ID, res.Payments(), len(res.Batches))
		for _, b := range res.Batches {
			fmt.Fprintf(e.stdout, "  batch %s  account %s %s: %d payments, %s net of refunds\n",
				b.ID, b.Group.AccountID, b.Group.Environment, b.Count, formatMoney(b.Total, b.Group.Currency))
		}
		return nil
	})
}

// sqliteSettleYield is the settle command's pause between chunks on
// SQLite: longer than the sleeps with which a waiting writer's busy handler
// polls the lock for its first 50 ms, so that a serving gateway's writes
// interleave with the chunks instead of timing out behind them.
const sqliteSettleYield = 50 * time.Millisecond

// formatMoney writes minor units in major units with the currency code.
func formatMoney(amount int64, currency string) string {
	if c, ok := money.LookupCurrency(currency); ok {
		return money.Format(amount, c) + " " + c.Code
	}
	return strconv.FormatInt(amount, 10) + " " + currency + " (minor units)"
}

type accountsSetProcessorCmd struct {
	storeFlags    `embed:""`
	Account       string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	Processor     string `name:"processor" required:"" placeholder:"NAME" help:"Live processor: stripe."`
	SecretKeyFile string `name:"secret-key-file" required:"" type:"existingfile" placeholder:"FILE" help:"File holding the processor's secret key (e.g. Stripe's sk_live_…); stored encrypted, never shown again."`
	APIBase       string `name:"api-base" placeholder:"URL" help:"The processor's API address (https; http only to loopback, e.g. stripe-mock in tests); default the processor's own."`
}

func (accountsSetProcessorCmd) Help() string {
	return `The account's live keys then charge, authorize, capture, refund and void at
the processor. The secret key is read from a file (never from the command
line, which other users can see), stored encrypted with a key derived from the
server secret, and never printed or logged; only its last 4 characters are
shown. Setting again replaces the processor and its key.

Examples:
  cartgateway accounts set-processor --account 7769 --processor stripe --secret-key-file /etc/cartgateway/stripe-7769.key
  cartgateway accounts set-processor --account 7769 --processor stripe --secret-key-file test.key --api-base http://127.0.0.1:12111`
}

func (c *accountsSetProcessorCmd) Run(e *env) error {
	secret, err := readSecretKeyFile(c.SecretKeyFile)
	if err != nil {
		return err
	}
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		cfg, err := s.SetProcessor(e.ctx, service.ProcessorSettings{AccountID: c.Account, Processor: c.Processor, Secret: secret, APIBase: c.APIBase})
		if err != nil {
			return accountError(err, c.Account)
		}
		printProcessor(e, cfg)
		return nil
	})
}

type accountsRotateProcessorKeyCmd struct {
	storeFlags    `embed:""`
	Account       string `name:"account" required:"" placeholder:"ID" help:"Account id."`
	SecretKeyFile string `name:"secret-key-file" required:"" type:"existingfile" placeholder:"FILE" help:"File holding the new secret key; stored encrypted, never shown again."`
}

func (accountsRotateProcessorKeyCmd) Help() string {
	return `Replaces the secret key of the account's live processor, keeping the processor
and its API address. Roll a Stripe key in Stripe's dashboard, run this with the
new key, then let the old one expire. A running server uses the new key from
its next operation on the account.

Example:
  cartgateway accounts rotate-processor-key --account 7769 --secret-key-file /etc/cartgateway/stripe-7769.key`
}

func (c *accountsRotateProcessorKeyCmd) Run(e *env) error {
	secret, err := readSecretKeyFile(c.SecretKeyFile)
	if err != nil {
		return err
	}
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		cfg, err := s.RotateProcessorSecret(e.ctx, c.Account, secret)
		if err != nil {
			if gateway.AsError(err).Code == "processor-not-configured" {
				return err
			}
			return accountError(err, c.Account)
		}
		printProcessor(e, cfg)
		return nil
	})
}

// readSecretKeyFile reads a processor's secret key from its file.
func readSecretKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return "", fmt.Errorf("--secret-key-file %s is empty", path)
	}
	return secret, nil
}

func printProcessor(e *env, cfg gateway.ProcessorConfig) {
	base := cfg.APIBase
	if base == "" {
		base = "(the processor's own)"
	}
	fmt.Fprintf(e.stdout, "account_id: %s\nprocessor: %s\nsecret_key: …%s (stored encrypted)\napi_base: %s\n",
		cfg.AccountID, cfg.Processor, cfg.SecretHint, base)
}
