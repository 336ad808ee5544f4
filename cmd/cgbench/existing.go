package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"

	"github.com/cartgateway/cartgateway/internal/postgres"
)

// existingPayments draws n payment ids at random, by seed, from a database
// that already holds payments (one filled by `cgbench seed`), so that the
// lookup scenario reads payments spread over the whole of it rather than
// the recent ones it would otherwise create. It reads the database before
// the server starts, with a connection of its own.
func existingPayments(ctx context.Context, db string, n int, seed uint64) ([]string, error) {
	driver := "sqlite"
	if postgres.IsURL(db) {
		driver = "pgx"
	}
	conn, err := sql.Open(driver, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if driver == "pgx" {
		// No rowid: let PostgreSQL sample (setseed makes it repeatable).
		if _, err := conn.ExecContext(ctx, "SELECT setseed($1)", float64(seed%1000)/1000); err != nil {
			return nil, err
		}
		return queryIDs(ctx, conn, "SELECT id FROM payments ORDER BY random() LIMIT $1", n)
	}
	var maxRowID sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT max(rowid) FROM payments").Scan(&maxRowID); err != nil {
		return nil, err
	}
	if !maxRowID.Valid {
		return nil, fmt.Errorf("%s holds no payments (fill it with cgbench seed)", db)
	}
	rng := rand.New(rand.NewPCG(seed, 0x1d5))
	ids := make([]string, 0, n)
	for len(ids) < n {
		var id string
		err := conn.QueryRowContext(ctx, "SELECT id FROM payments WHERE rowid >= ? ORDER BY rowid LIMIT 1", 1+rng.Int64N(maxRowID.Int64)).Scan(&id)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func queryIDs(ctx context.Context, conn *sql.DB, query string, n int) ([]string, error) {
	rows, err := conn.QueryContext(ctx, query, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("the database holds no payments (fill it with cgbench seed)")
	}
	return ids, nil
}
