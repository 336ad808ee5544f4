package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cartgateway/cartgateway/internal/credentials"
	"github.com/cartgateway/cartgateway/internal/gateway"
	"github.com/cartgateway/cartgateway/internal/postgres"
	"github.com/cartgateway/cartgateway/internal/processor"
	"github.com/cartgateway/cartgateway/internal/sandbox"
	"github.com/cartgateway/cartgateway/internal/service"
	"github.com/cartgateway/cartgateway/internal/sqlite"
	"github.com/cartgateway/cartgateway/internal/sqlstore"
)

// envSecret gives the server secret itself; it has no flag (a flag would
// show in the process list).
const envSecret = "CARTGATEWAY_SECRET"

// storeFlags are the flags every command on a store shares: where the data
// and its secret live.
type storeFlags struct {
	DB         string `name:"db" env:"CARTGATEWAY_DB" default:"cartgateway.db" help:"SQLite database file, or a postgres:// URL."`
	SecretFile string `name:"secret-file" env:"CARTGATEWAY_SECRET_FILE" placeholder:"FILE" help:"File holding the server secret that keys card fingerprints and request hashes (default: the database path + .secret on SQLite; on PostgreSQL this or env CARTGATEWAY_SECRET is required). Env CARTGATEWAY_SECRET gives the secret itself."`
	PGMaxConns count  `name:"pg-max-conns" env:"CARTGATEWAY_PG_MAX_CONNS" default:"20" help:"PostgreSQL connection pool size per process."`

	// lookupCache is the SQLite lookup cache's lag behind other processes'
	// changes (0: no cache); only serve sets it.
	lookupCache time.Duration
}

// creation says whether a command may create a database that does not
// exist yet.
type creation bool

const (
	mustExist creation = false // operator commands on existing data
	mayCreate creation = true  // serve, accounts create
)

// openStore opens the SQLite file or PostgreSQL database that --db names.
func (f *storeFlags) openStore(ctx context.Context, c creation) (*sqlstore.DB, error) {
	if postgres.IsURL(f.DB) {
		return postgres.Open(ctx, f.DB, postgres.Options{MaxConns: int(f.PGMaxConns)})
	}
	if c == mustExist {
		if err := mustBeFile(f.DB); err != nil {
			return nil, err
		}
	}
	opt := sqlite.DefaultOptions
	opt.LookupCache = f.lookupCache
	return sqlite.OpenWith(ctx, f.DB, opt)
}

// mustBeFile refuses a SQLite path where there is no database: a mistyped
// --db must not create an empty database and a new secret beside it.
func mustBeFile(path string) error {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("no database at %s: give --db (env CARTGATEWAY_DB) the path of an existing database; \"cartgateway serve\" and \"cartgateway accounts create\" create a new one", path)
	case err != nil:
		return err
	case info.IsDir():
		return fmt.Errorf("--db %s is a directory, not a database file", path)
	}
	return nil
}

// open opens the store, checks the server secret against it, and builds
// the payment service on both.
func (f *storeFlags) open(ctx context.Context, c creation) (*sqlstore.DB, *service.Service, error) {
	if err := f.secretIsGiven(); err != nil {
		return nil, nil, err
	}
	db, err := f.openStore(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	secret, err := f.secret(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	box, err := credentials.New(secret)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	svc := &service.Service{
		Store:          db,
		Processors:     map[gateway.Environment]gateway.Processor{gateway.Sandbox: sandbox.Processor{}},
		Connectors:     processor.Connectors(),
		Credentials:    box,
		FingerprintKey: secret,
		Now:            time.Now,
		Instance:       instanceName(),
	}
	return db, svc, nil
}

// secretIsGiven refuses PostgreSQL without a secret named: every instance
// on one database must key fingerprints and request hashes alike, and a
// file generated per host would differ.
func (f *storeFlags) secretIsGiven() error {
	if os.Getenv(envSecret) == "" && f.SecretFile == "" && postgres.IsURL(f.DB) {
		return errors.New("on PostgreSQL, give every instance the same server secret: set CARTGATEWAY_SECRET or --secret-file")
	}
	return nil
}

// secretPath is where the secret file is: --secret-file, or beside the
// SQLite database.
func (f *storeFlags) secretPath() string {
	if f.SecretFile != "" {
		return f.SecretFile
	}
	return f.DB + ".secret"
}

// secret returns the server's secret, from CARTGATEWAY_SECRET or the
// secret file, and makes sure that it is the secret the database's data
// is keyed with (see secretCheck). A missing file is generated (0600) only
// for a database that holds nothing yet.
func (f *storeFlags) secret(ctx context.Context, db *sqlstore.DB) ([]byte, error) {
	secret, source, err := f.readSecret()
	if errors.Is(err, fs.ErrNotExist) {
		if used, uerr := dbInUse(ctx, db); uerr != nil {
			return nil, uerr
		} else if used {
			return nil, fmt.Errorf("the secret file %s does not exist, but the database %s already holds data keyed with a server secret: "+
				"put the secret back there (from your backup or, after migrate-data, the source's secret file), point --secret-file at it, or set CARTGATEWAY_SECRET; "+
				"a new secret would silently break duplicate detection and idempotent replays", f.secretPath(), redactURL(f.DB))
		}
		secret, err = generateSecret(f.secretPath())
		source = "secret file " + f.secretPath()
	}
	if err != nil {
		return nil, err
	}
	if err := checkSecret(ctx, db, secret, source, f.DB); err != nil {
		return nil, err
	}
	return secret, nil
}

// readSecret reads CARTGATEWAY_SECRET or the secret file; for a missing
// file the error is fs.ErrNotExist.
func (f *storeFlags) readSecret() (secret []byte, source string, err error) {
	if s := os.Getenv(envSecret); s != "" {
		if len(s) < 32 {
			return nil, "", errors.New("CARTGATEWAY_SECRET must be at least 32 characters")
		}
		return []byte(s), envSecret, nil
	}
	path := f.secretPath()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fs.ErrNotExist
	}
	if err != nil {
		return nil, "", fmt.Errorf("secret file: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < 32 {
		return nil, "", fmt.Errorf("secret file %s: must hold at least 32 characters", path)
	}
	return []byte(s), "secret file " + path, nil
}

// generateSecret writes a new random secret to path, exclusively, with
// mode 0600. If another process made the file first, its secret wins.
func generateSecret(path string) ([]byte, error) {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := hex.EncodeToString(raw)
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, err := os.ReadFile(path)
		return []byte(strings.TrimSpace(string(b))), err
	}
	if err != nil {
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

// dbInUse tells whether the database holds data keyed with some secret: a
// recorded secret check, or any account.
func dbInUse(ctx context.Context, db *sqlstore.DB) (bool, error) {
	if _, found, err := db.Setting(ctx, secretCheckSetting); err != nil || found {
		return found, err
	}
	var n int
	err := db.View(ctx, func(tx gateway.ReadTx) error {
		list, err := tx.Accounts(ctx)
		n = len(list)
		return err
	})
	return n > 0, err
}

// secretCheckSetting names the stored secret check.
const secretCheckSetting = "secret_check"

// secretCheck is an HMAC of a fixed text under the secret. Stored in the
// database, it tells whether a secret is the one the data is keyed with,
// and reveals nothing of the secret.
func secretCheck(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("cartgateway secret check v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// checkSecret compares secret with the check stored in db, storing it when
// there is none yet (a new database, or one from before the check existed).
func checkSecret(ctx context.Context, db *sqlstore.DB, secret []byte, source, dbName string) error {
	want := secretCheck(secret)
	stored, err := db.InitSetting(ctx, secretCheckSetting, want)
	if err != nil {
		return err
	}
	if stored != want {
		return fmt.Errorf("the server secret from %s is not the one the database %s was used with: "+
			"give the original secret (its secret file, or CARTGATEWAY_SECRET as before); "+
			"another secret would silently break duplicate detection and idempotent replays", source, redactURL(dbName))
	}
	return nil
}

// instanceName names this process in settlement runs: host and pid.
func instanceName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}
