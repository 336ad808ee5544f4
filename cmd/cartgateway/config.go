package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
)

// storeFlags are the flags every command shares: where the data lives.
type storeFlags struct {
	db         string
	secretFile string
	pgMaxConns int
	// lookupCache is the SQLite lookup cache's lag behind other processes'
	// changes (0: no cache); only serve sets it.
	lookupCache time.Duration
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.db, "db", envOr("CARTGATEWAY_DB", "cartgateway.db"), "SQLite database file, or a postgres:// URL (env CARTGATEWAY_DB)")
	fs.IntVar(&f.pgMaxConns, "pg-max-conns", envInt("CARTGATEWAY_PG_MAX_CONNS", 20), "PostgreSQL connection pool size per process (env CARTGATEWAY_PG_MAX_CONNS)")
	fs.StringVar(&f.secretFile, "secret-file", os.Getenv("CARTGATEWAY_SECRET_FILE"),
		"file holding the server secret that keys card fingerprints and request hashes; created with mode 0600 if absent (env CARTGATEWAY_SECRET_FILE; default DB.secret for SQLite, required for PostgreSQL unless env CARTGATEWAY_SECRET gives the secret itself)")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cartgateway "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func envInt(name string, fallback int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return fallback
}

// openStore opens the SQLite file or PostgreSQL database that --db names.
func (f *storeFlags) openStore(ctx context.Context) (*sqlstore.DB, error) {
	if postgres.IsURL(f.db) {
		return postgres.Open(ctx, f.db, postgres.Options{MaxConns: f.pgMaxConns})
	}
	opt := sqlite.DefaultOptions
	opt.LookupCache = f.lookupCache
	return sqlite.OpenWith(ctx, f.db, opt)
}

// open opens the store and builds the payment service on it.
func (f *storeFlags) open(ctx context.Context) (*sqlstore.DB, *service.Service, error) {
	secret, err := f.secret()
	if err != nil {
		return nil, nil, err
	}
	db, err := f.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc := &service.Service{
		Store:          db,
		Processors:     map[gateway.Environment]gateway.Processor{gateway.Sandbox: sandbox.Processor{}},
		FingerprintKey: secret,
		Now:            time.Now,
	}
	return db, svc, nil
}

// secret returns the server's secret: from CARTGATEWAY_SECRET, else from the
// secret file, which is generated (0600) on first start.
func (f *storeFlags) secret() ([]byte, error) {
	if s := os.Getenv("CARTGATEWAY_SECRET"); s != "" {
		if len(s) < 32 {
			return nil, errors.New("CARTGATEWAY_SECRET must be at least 32 characters")
		}
		return []byte(s), nil
	}
	path := f.secretFile
	switch {
	case path != "":
	case postgres.IsURL(f.db):
		// Every instance on one database must key fingerprints and request
		// hashes alike: a file generated per host would silently differ.
		return nil, errors.New("on PostgreSQL, give every instance the same server secret: set CARTGATEWAY_SECRET or --secret-file")
	default:
		path = f.db + ".secret"
	}
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < 32 {
			return nil, fmt.Errorf("secret file %s: must hold at least 32 characters", path)
		}
		return []byte(s), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("secret file: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := hex.EncodeToString(raw)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process made it first
			return f.secret()
		}
		return nil, fmt.Errorf("create secret file: %w", err)
	}
	if _, err := fh.WriteString(s + "\n"); err != nil {
		_ = fh.Close()
		return nil, fmt.Errorf("write secret file: %w", err)
	}
	if err := fh.Close(); err != nil {
		return nil, err
	}
	return []byte(s), nil
}
