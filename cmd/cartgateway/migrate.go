package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
)

type migrateDataCmd struct {
	From           string `name:"from" required:"" placeholder:"PATH|URL" help:"Source: SQLite file or postgres:// URL; must exist and hold data."`
	To             string `name:"to" required:"" placeholder:"PATH|URL" help:"Destination, empty: SQLite file or postgres:// URL."`
	FromSecretFile string `name:"from-secret-file" placeholder:"FILE" help:"The source's secret file (default: the source path + .secret on SQLite). Env CARTGATEWAY_SECRET, when set, is the source's secret."`
	ToSecretFile   string `name:"to-secret-file" placeholder:"FILE" help:"Where to write the secret for the destination (default: the destination path + .secret on SQLite; none on PostgreSQL, whose instances take CARTGATEWAY_SECRET)."`
}

func (migrateDataCmd) Help() string {
	return `Copies every row from one store to an empty one in one transaction, then
verifies row counts and money totals on both sides. Stop the gateway first.

The server secret goes with the data: the destination records which secret its
data is keyed with, and refuses any other. From a secret file, the secret is
written beside a SQLite destination (or to --to-secret-file); for PostgreSQL,
set CARTGATEWAY_SECRET on every instance to the secret file's content.

Examples:
  cartgateway migrate-data --from cartgateway.db --to copy.db
  cartgateway migrate-data --from /var/lib/cartgateway/cartgateway.db --to postgres://cartgateway@db/cartgateway
  CARTGATEWAY_SECRET=... cartgateway migrate-data --from cartgateway.db --to postgres://cartgateway@db/cartgateway`
}

func (c *migrateDataCmd) Run(e *env) error {
	ctx := e.ctx
	if c.From == c.To {
		return errors.New("--from and --to name the same store")
	}
	from := storeFlags{DB: c.From, SecretFile: c.FromSecretFile, PGMaxConns: 4}
	if err := from.secretIsGiven(); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	src, err := from.openStore(ctx, mustExist)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	if used, err := dbInUse(ctx, src); err != nil {
		return fmt.Errorf("source: %w", err)
	} else if !used {
		return fmt.Errorf("the source %s holds no accounts: nothing to copy (is --from right?)", redactURL(c.From))
	}
	secret, source, err := from.readSecret()
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the source's secret file %s does not exist: give --from-secret-file or set CARTGATEWAY_SECRET to the source's secret; the copy is useless without it", from.secretPath())
	}
	if err != nil {
		return err
	}
	if err := checkSecret(ctx, src, secret, source, c.From); err != nil {
		return err
	}

	// Where the destination will find the secret: the environment, or a
	// file written after the copy.
	secretFile := ""
	if os.Getenv(envSecret) == "" {
		secretFile = c.ToSecretFile
		if secretFile == "" && !postgres.IsURL(c.To) {
			secretFile = c.To + ".secret"
		}
	}
	if secretFile != "" {
		if b, err := os.ReadFile(secretFile); err == nil && !bytes.Equal(bytes.TrimSpace(b), secret) {
			return fmt.Errorf("%s exists and holds another secret than the source's: move it away, or give --to-secret-file", secretFile)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	dst, err := (&storeFlags{DB: c.To, PGMaxConns: 4}).openStore(ctx, mayCreate)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer dst.Close()
	if stored, found, err := dst.Setting(ctx, secretCheckSetting); err != nil {
		return fmt.Errorf("destination: %w", err)
	} else if found && stored != secretCheck(secret) {
		return fmt.Errorf("the destination %s was used with another server secret than the source's: give an empty, new destination", redactURL(c.To))
	}
	rep, err := sqlstore.Copy(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	if err := checkSecret(ctx, dst, secret, source, c.To); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "copied and verified:")
	for _, table := range slices.Sorted(maps.Keys(rep.Rows)) {
		fmt.Fprintf(e.stdout, "  %-20s %d rows\n", table, rep.Rows[table])
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Totals)) {
		fmt.Fprintf(e.stdout, "  %-28s %d (equal on both sides)\n", name, rep.Totals[name])
	}
	switch {
	case secretFile != "":
		if _, err := os.Stat(secretFile); errors.Is(err, fs.ErrNotExist) {
			if err := writeSecretFile(secretFile, secret); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stdout, "The server secret is in %s (mode 0600); the destination refuses any other.\n", secretFile)
	case os.Getenv(envSecret) != "":
		fmt.Fprintln(e.stdout, "The destination's data is keyed with CARTGATEWAY_SECRET as set now: give its servers the same value; it refuses any other.")
	default:
		fmt.Fprintf(e.stdout, "Give every instance of the destination the source's secret: CARTGATEWAY_SECRET=\"$(cat %s)\" (or --secret-file with a copy of it); it refuses any other.\n", strings.TrimPrefix(source, "secret file "))
	}
	return nil
}

// writeSecretFile writes secret to a new file of mode 0600.
func writeSecretFile(path string, secret []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write the destination's secret file: %w", err)
	}
	if _, err := fh.Write(append(bytes.Clone(secret), '\n')); err != nil {
		_ = fh.Close()
		return fmt.Errorf("write the destination's secret file: %w", err)
	}
	return fh.Close()
}
