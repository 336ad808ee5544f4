// Command cartgateway is the CartGateway payment gateway server and its
// operator commands. main only parses arguments and wires packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite"
	"github.com/cartgateway/cartgateway/internal/web"
)

// cli is the command line: one struct per command, flags as tagged fields
// (docs/adr/0008-command-line.md).
type cli struct {
	Version kong.VersionFlag `help:"Print the version and exit."`

	Serve       serveCmd       `cmd:"" help:"Run the gateway."`
	Accounts    accountsCmd    `cmd:"" help:"Create and list merchant accounts; add and revoke their keys."`
	Settle      settleCmd      `cmd:"" help:"Close the settlement batch now."`
	Products    productsCmd    `cmd:"" help:"Manage an account's hosted checkout product catalogue."`
	Users       usersCmd       `cmd:"" help:"Create, list and reset an account's Merchant Portal users."`
	Audit       auditCmd       `cmd:"" help:"Print the audit log of state changes, newest first."`
	Webhooks    webhooksCmd    `cmd:"" help:"Manage webhook endpoints; list and resend deliveries."`
	MigrateData migrateDataCmd `cmd:"" name:"migrate-data" help:"Copy all data to an empty store (e.g. SQLite to PostgreSQL), verified, with its secret."`
	VersionCmd  versionCmd     `cmd:"" name:"version" help:"Print the version, commit and build date."`
}

const description = `A self-hostable payment gateway speaking the CartGateway API.

Every command takes --db (env CARTGATEWAY_DB; default cartgateway.db): a SQLite
file, or a postgres:// URL. Run "cartgateway COMMAND --help" for a command's
flags and examples.`

// env is what a command runs with.
type env struct {
	ctx            context.Context
	stdout, stderr io.Writer
}

// exit is kong's request to end the program (after --help or --version).
type exit struct{ code int }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cartgateway:", err)
		os.Exit(2)
	}
}

// newParser builds the command line's parser. Defaults that live in the
// packages are interpolated, so that help, docs tests and behaviour share
// one value.
func newParser(c *cli, stdout, stderr io.Writer) (*kong.Kong, error) {
	return kong.New(c,
		kong.Name("cartgateway"),
		kong.Description(description),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(exit{code}) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Vars{
			"version":                       versionText(),
			"default_rate_ip":               rate(web.DefaultIPRate).String(),
			"default_rate_acct":             rate(web.DefaultAccountRate).String(),
			"default_auth_fail":             rate(web.DefaultAuthFailuresPerMinute).String(),
			"default_auth_cache":            service.DefaultAuthCacheTTL.String(),
			"default_processor_timeout":     shortDuration(service.DefaultProcessorTimeout),
			"default_idempotency_retention": shortDuration(service.DefaultIdempotencyRetention),
			"default_max_refunds":           strconv.Itoa(gateway.DefaultMaxRefunds),
			"default_lookup_cache":          sqlite.DefaultLookupCache.String(),
			"default_checkout_expiry":       shortDuration(service.DefaultCheckoutExpiry),
			"default_portal_idle":           shortDuration(service.DefaultPortalIdleTimeout),
			"default_portal_life":           shortDuration(service.DefaultPortalSessionLife),
			"default_webhook_timeout":       shortDuration(service.DefaultWebhookTimeout),
			"default_webhook_retention":     shortDuration(service.DefaultWebhookRetention),
			"default_webhook_concurrency":   strconv.Itoa(service.DefaultWebhookConcurrency),
		},
	)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var c cli
	parser, err := newParser(&c, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(exit)
			if !ok {
				panic(r)
			}
			if e.code != 0 {
				err = fmt.Errorf("exit status %d", e.code)
			}
		}
	}()
	if len(args) == 0 {
		parser.Stdout = stderr
		func() {
			defer func() { _ = recover() }() // kong's exit after the help
			_, _ = parser.Parse([]string{"--help"})
		}()
		return errors.New("no command given")
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return usageError(err)
	}
	// Operator commands act as the user running them (the audit log); the
	// server's own changes are by "system".
	if kctx.Command() != "serve" {
		ctx = service.WithActor(ctx, cliActor())
	}
	return kctx.Run(&env{ctx: ctx, stdout: stdout, stderr: stderr})
}

// usageError adds to a parse error where to read the command's usage.
func usageError(err error) error {
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		path := "cartgateway"
		if cmd := pe.Context.Command(); cmd != "" {
			path += " " + strings.Join(strings.Fields(strings.NewReplacer("<", "", ">", "").Replace(cmd)), " ")
		}
		return fmt.Errorf("%w (see %q)", err, path+" --help")
	}
	return err
}

// shortDuration writes d as people do: "24h", not Go's "24h0m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
