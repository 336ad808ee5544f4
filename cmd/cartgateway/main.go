// Command cartgateway is the CartGateway payment gateway server and its
// operator commands. main only parses arguments and wires packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cartgateway/cartgateway/internal/service"
)

const usage = `cartgateway: a self-hostable payment gateway speaking the CartGateway API.

Usage:
  cartgateway serve    [--addr HOST:PORT] [--db PATH] [flags]   run the gateway
  cartgateway accounts create --name NAME [--id ID] [--key KEY] [--environment sandbox|live] [--currency USD]
  cartgateway accounts list
  cartgateway accounts key-add --account ID [--key KEY] [--environment sandbox|live]
  cartgateway accounts key-revoke --account ID --key-id KEYID
  cartgateway settle   close the settlement batch now
  cartgateway audit [--account ID] [--since RFC3339] [--limit N]   the audit log of state changes
  cartgateway migrate-data --from SQLITE-PATH --to POSTGRES-URL   copy all data to an empty store, verified

Every command takes --db PATH-OR-URL (env CARTGATEWAY_DB, default cartgateway.db;
a postgres:// URL selects PostgreSQL).
Run "cartgateway COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "cartgateway:", err)
		}
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	// Operator commands act as the user running them (the audit log); the
	// server's own changes are by "system".
	cli := service.WithActor(ctx, cliActor())
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "accounts":
		return accounts(cli, args[1:], stdout, stderr)
	case "settle":
		return settle(cli, args[1:], stdout, stderr)
	case "audit":
		return audit(cli, args[1:], stdout, stderr)
	case "migrate-data":
		return migrateData(cli, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
