package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/cartgateway/cartgateway/internal/gateway"
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
}

func (accountsCmd) Help() string {
	return `Examples:
  cartgateway accounts create --name "Example Shop"
  cartgateway accounts list
  cartgateway accounts key-add --account 7769 --environment live
  cartgateway accounts key-revoke --account 7769 --key-id KEYID`
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
	return `Settles every captured payment of every account in one batch and prints the
batch's totals per currency. "serve" does the same daily at --settle-at.

Example:
  cartgateway settle --db /var/lib/cartgateway/cartgateway.db`
}

func (c *settleCmd) Run(e *env) error {
	return withService(e.ctx, &c.storeFlags, mustExist, func(s *service.Service) error {
		b, err := s.Settle(e.ctx)
		if err != nil {
			return err
		}
		if b.Count == 0 {
			fmt.Fprintln(e.stdout, "no captured payments to settle")
			return nil
		}
		fmt.Fprintf(e.stdout, "batch %s closed at %s: %d payments\n", b.ID, b.ClosedAt.Format("2006-01-02T15:04:05Z"), b.Count)
		for _, cur := range slices.Sorted(maps.Keys(b.Totals)) {
			fmt.Fprintf(e.stdout, "  %s %d (net of refunds, minor units)\n", cur, b.Totals[cur])
		}
		return nil
	})
}
