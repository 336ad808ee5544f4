package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/cartgateway/cartgateway/internal/sqlstore"
)

// migrateData copies every row from one store to another, empty one (e.g.
// from the SQLite file to PostgreSQL) and verifies counts and money totals.
func migrateData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate-data", stderr)
	from := fs.String("from", "", "source: SQLite file or postgres:// URL (required)")
	to := fs.String("to", "", "destination, empty: SQLite file or postgres:// URL (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("migrate-data: --from and --to are required")
	}
	src, err := (&storeFlags{db: *from}).openStore(ctx)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer src.Close()
	dst, err := (&storeFlags{db: *to}).openStore(ctx)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	defer dst.Close()
	rep, err := sqlstore.Copy(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("migrate-data: %w", err)
	}
	fmt.Fprintln(stdout, "copied and verified:")
	for _, table := range slices.Sorted(maps.Keys(rep.Rows)) {
		fmt.Fprintf(stdout, "  %-20s %d rows\n", table, rep.Rows[table])
	}
	for _, name := range slices.Sorted(maps.Keys(rep.Totals)) {
		fmt.Fprintf(stdout, "  %-28s %d (equal on both sides)\n", name, rep.Totals[name])
	}
	fmt.Fprintln(stdout, "Give the destination's servers the same server secret (CARTGATEWAY_SECRET or the secret file): card fingerprints and idempotency request hashes depend on it.")
	return nil
}
