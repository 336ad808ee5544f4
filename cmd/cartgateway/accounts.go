package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
)

// withService opens the store for one operator command.
func withService(ctx context.Context, sf *storeFlags, fn func(*service.Service) error) error {
	db, svc, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(svc)
}

func accounts(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("accounts: missing subcommand (create, list, key-add, key-revoke)")
	}
	fs := newFlagSet("accounts "+args[0], stderr)
	var sf storeFlags
	sf.register(fs)
	switch args[0] {
	case "create":
		name := fs.String("name", "", "merchant name (required)")
		id := fs.String("id", "", "account id to use (digits), e.g. to import an existing merchant; random if empty")
		key := fs.String("key", "", "private key to use, e.g. to import an existing merchant; random if empty")
		env := fs.String("environment", "sandbox", "environment of the key: sandbox or live")
		currency := fs.String("currency", "USD", "settlement currency (ISO 4217)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return withService(ctx, &sf, func(s *service.Service) error {
			a, secret, err := s.CreateAccount(ctx, service.NewAccount{ID: *id, Name: *name, Currency: *currency, Key: *key, Environment: gateway.Environment(*env)})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "account_id: %s\nprivate_key: %s\nenvironment: %s\ncurrency: %s\n", a.ID, secret, envOrDefault(*env), a.Currency)
			return nil
		})
	case "list":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return withService(ctx, &sf, func(s *service.Service) error {
			list, keys, err := s.Accounts(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
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
	case "key-add":
		account := fs.String("account", "", "account id (required)")
		key := fs.String("key", "", "private key to use; random if empty")
		env := fs.String("environment", "sandbox", "environment of the key: sandbox or live")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return withService(ctx, &sf, func(s *service.Service) error {
			k, secret, err := s.AddKey(ctx, *account, gateway.Environment(envOrDefault(*env)), *key)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "key_id: %s\nprivate_key: %s\nenvironment: %s\n", k.ID, secret, k.Environment)
			return nil
		})
	case "key-revoke":
		account := fs.String("account", "", "account id (required)")
		keyID := fs.String("key-id", "", "id of the key to revoke, as accounts list shows it (required)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return withService(ctx, &sf, func(s *service.Service) error {
			if err := s.RevokeKey(ctx, *account, *keyID); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked key %s of account %s\n", *keyID, *account)
			return nil
		})
	default:
		return fmt.Errorf("accounts: unknown subcommand %q", args[0])
	}
}

func envOrDefault(env string) string {
	if env == "" {
		return string(gateway.Sandbox)
	}
	return env
}

func settle(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("settle", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return withService(ctx, &sf, func(s *service.Service) error {
		b, err := s.Settle(ctx)
		if err != nil {
			return err
		}
		if b.Count == 0 {
			fmt.Fprintln(stdout, "no captured payments to settle")
			return nil
		}
		fmt.Fprintf(stdout, "batch %s closed at %s: %d payments\n", b.ID, b.ClosedAt.Format("2006-01-02T15:04:05Z"), b.Count)
		for _, cur := range slices.Sorted(maps.Keys(b.Totals)) {
			fmt.Fprintf(stdout, "  %s %d (net of refunds, minor units)\n", cur, b.Totals[cur])
		}
		return nil
	})
}
