package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/cartgateway/cartgateway/internal/sqlite"
)

// runErr runs a command that must fail, and returns its error text.
func runErr(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	if err == nil {
		t.Fatalf("cartgateway %s succeeded:\n%s", strings.Join(args, " "), out.String())
	}
	return err.Error()
}

// commandPaths lists every command and subcommand, e.g. "accounts key-add".
func commandPaths(t *testing.T) []string {
	t.Helper()
	parser, err := newParser(&cli{}, &bytes.Buffer{}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	var walk func(n *kong.Node, prefix string)
	walk = func(n *kong.Node, prefix string) {
		for _, c := range n.Children {
			p := strings.TrimSpace(prefix + " " + c.Name)
			paths = append(paths, p)
			walk(c, p)
		}
	}
	walk(parser.Model.Node, "")
	return paths
}

// TestHelpOfEveryCommand: every command and subcommand answers --help on
// stdout with exit status 0 (a nil error), its usage and examples.
func TestHelpOfEveryCommand(t *testing.T) {
	paths := commandPaths(t)
	if len(paths) < 10 {
		t.Fatalf("found only the commands %v", paths)
	}
	for _, path := range append([]string{""}, paths...) {
		for _, help := range []string{"--help", "-h"} {
			args := append(strings.Fields(path), help)
			var out, errOut bytes.Buffer
			if err := run(context.Background(), args, &out, &errOut); err != nil {
				t.Errorf("cartgateway %s: %v", strings.Join(args, " "), err)
				continue
			}
			usage := strings.TrimSpace("Usage: cartgateway " + path)
			if !strings.Contains(out.String(), usage) {
				t.Errorf("cartgateway %s: no %q in\n%s", strings.Join(args, " "), usage, out.String())
			}
			if path != "" && !regexp.MustCompile(`Examples?:`).MatchString(out.String()) {
				t.Errorf("cartgateway %s shows no example:\n%s", strings.Join(args, " "), out.String())
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out := runCmd(t, args...)
		for _, want := range []string{`^cartgateway \S+\n`, `\ncommit: +\S`, `\ndate: +\S`, `\ngo: +go1\.`} {
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("cartgateway %s lacks %s:\n%s", args[0], want, out)
			}
		}
	}
}

// TestCommandsRefuseMistakes: wrong arguments, a missing database and
// missing flags stop a command with a message that names the mistake, and
// leave nothing behind.
func TestCommandsRefuseMistakes(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nosuch.db")
	good := filepath.Join(dir, "gw.db")
	runCmd(t, "accounts", "create", "--db", good, "--name", "Shop", "--id", "7769")
	empty := filepath.Join(dir, "empty.db")
	db, err := sqlite.Open(context.Background(), empty)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"accounts", "list", "--db", missing}, "no database at " + missing},
		{[]string{"accounts", "key-add", "--db", missing, "--account", "7769"}, "no database at " + missing},
		{[]string{"accounts", "key-revoke", "--db", missing, "--account", "7769", "--key-id", "K"}, "no database at " + missing},
		{[]string{"settle", "--db", missing}, "no database at " + missing},
		{[]string{"audit", "--db", missing}, "no database at " + missing},
		{[]string{"accounts", "list", "--db", dir}, "is a directory"},
		{[]string{"migrate-data", "--from", missing, "--to", filepath.Join(dir, "copy.db")}, "no database at " + missing},
		{[]string{"migrate-data", "--from", empty, "--to", filepath.Join(dir, "copy.db")}, "holds no accounts"},
		{[]string{"migrate-data", "--from", good, "--to", good}, "the same store"},
		{[]string{"migrate-data", "--from", good}, "missing flags: --to"},
		{[]string{"accounts", "create", "--db", good, "Shop"}, `unexpected argument Shop`},
		{[]string{"accounts", "create", "--db", good}, "missing flags: --name"},
		{[]string{"accounts", "key-add", "--db", good}, "missing flags: --account"},
		{[]string{"accounts", "key-revoke", "--db", good, "--account", "7769"}, "missing flags: --key-id"},
		{[]string{"accounts", "key-add", "--db", good, "--account", "1234"}, "there is no account 1234"},
		{[]string{"accounts", "key-revoke", "--db", good, "--account", "7769", "--key-id", "NOSUCHKEY"}, "has no active key NOSUCHKEY"},
		{[]string{"accounts", "create", "--db", good, "--name", "X", "--environment", "prod"}, "--environment"},
		{[]string{"accounts"}, `expected one of "create"`},
		{[]string{"accounts", "frob"}, `unexpected argument frob`},
		{[]string{"settle", "--db", good, "now"}, "unexpected argument now"},
		{[]string{"audit", "--db", good, "--since", "yesterday"}, `--since: "yesterday" is not a time`},
		{[]string{"audit", "--db", good, "--limit", "-1"}, "--limit"},
		{[]string{"serve", "--db", good, "--nosuch"}, "unknown flag --nosuch"},
		{[]string{"frobnicate"}, `unexpected argument frobnicate`},
		{nil, "no command given"},
	} {
		got := runErr(t, tc.args...)
		if !strings.Contains(got, tc.want) {
			t.Errorf("cartgateway %s: %s\nwant it to say %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	for _, name := range []string{missing, missing + ".secret", filepath.Join(dir, "copy.db"), filepath.Join(dir, "copy.db.secret"), empty + ".secret"} {
		if _, err := os.Stat(name); err == nil {
			t.Errorf("a refused command left %s behind", name)
		}
	}
}

// TestMalformedEnvironment: a malformed value in an environment variable
// stops serve with a message naming the variable and the accepted form,
// before anything is created.
func TestMalformedEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gw.db")
	for _, tc := range []struct{ env, value, want string }{
		{"CARTGATEWAY_RATE_IP", "abc", "want a number of at least 0"},
		{"CARTGATEWAY_RATE_IP", "-1", "want a number of at least 0"},
		{"CARTGATEWAY_RATE_ACCOUNT", "NaN", "want a number of at least 0"},
		{"CARTGATEWAY_AUTH_FAILURES", "Inf", "want a number of at least 0"},
		{"CARTGATEWAY_DUPLICATE_WINDOW", "10", "want a number with a unit"},
		{"CARTGATEWAY_AUTH_CACHE_TTL", "-1s", "want a number with a unit"},
		{"CARTGATEWAY_LOOKUP_CACHE", "fast", "want a number with a unit"},
		{"CARTGATEWAY_PG_MAX_CONNS", "0", "at least 1"},
		{"CARTGATEWAY_PG_MAX_CONNS", "many", "at least 1"},
		{"CARTGATEWAY_SETTLE_AT", "25:00", "want HH:MM in UTC"},
		{"CARTGATEWAY_LOG_LEVEL", "loud", "want debug, info, warn or error"},
		{"CARTGATEWAY_ADDR", "8080", "want HOST:PORT"},
		{"CARTGATEWAY_PPROF_ADDR", "0.0.0.0:6060", "want a loopback HOST:PORT"},
		{"CARTGATEWAY_TRUSTED_PROXIES", "localhost", "want comma-separated CIDRs"},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			got := runErr(t, "serve", "--db", db)
			if !strings.Contains(got, tc.env) || !strings.Contains(got, tc.want) {
				t.Errorf("serve with %s=%q: %s\nwant the variable's name and %q", tc.env, tc.value, got, tc.want)
			}
		})
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("serve created the database despite a malformed setting")
	}
}

// TestSecretFollowsTheData: after migrate-data the copy has the source's
// secret beside it; without it, or with another one, commands refuse to
// run instead of keying new data with a different secret.
func TestSecretFollowsTheData(t *testing.T) {
	t.Setenv("CARTGATEWAY_SECRET", "")
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "gw.db"), filepath.Join(dir, "copy.db")
	runCmd(t, "accounts", "create", "--db", src, "--name", "Shop", "--id", "7769")
	out := runCmd(t, "migrate-data", "--from", src, "--to", dst)
	if !strings.Contains(out, "copied and verified") || !strings.Contains(out, dst+".secret") {
		t.Errorf("migrate-data:\n%s", out)
	}
	a, _ := os.ReadFile(src + ".secret")
	b, err := os.ReadFile(dst + ".secret")
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("the copy's secret file (%v) differs from the source's", err)
	}
	if info, _ := os.Stat(dst + ".secret"); info.Mode().Perm() != 0o600 {
		t.Errorf("the copy's secret file has mode %v", info.Mode().Perm())
	}
	if list := runCmd(t, "accounts", "list", "--db", dst); !strings.Contains(list, "7769") {
		t.Errorf("accounts list on the copy:\n%s", list)
	}

	if err := os.Rename(dst+".secret", filepath.Join(dir, "kept")); err != nil {
		t.Fatal(err)
	}
	if got := runErr(t, "serve", "--db", dst, "--addr", "127.0.0.1:0"); !strings.Contains(got, "does not exist, but the database") {
		t.Errorf("serve without the copy's secret file: %s", got)
	}
	if _, err := os.Stat(dst + ".secret"); err == nil {
		t.Error("a new secret file was generated for a database with data")
	}
	t.Setenv("CARTGATEWAY_SECRET", strings.Repeat("x", 40))
	if got := runErr(t, "accounts", "list", "--db", dst); !strings.Contains(got, "is not the one the database") {
		t.Errorf("accounts list with another secret: %s", got)
	}
	t.Setenv("CARTGATEWAY_SECRET", "")
	if got := runErr(t, "accounts", "list", "--db", dst, "--secret-file", filepath.Join(dir, "other")); !strings.Contains(got, "does not exist") {
		t.Errorf("accounts list with a missing --secret-file: %s", got)
	}
	runCmd(t, "accounts", "list", "--db", dst, "--secret-file", filepath.Join(dir, "kept"))

	// A second copy into the filled destination is refused.
	if got := runErr(t, "migrate-data", "--from", src, "--to", dst, "--to-secret-file", filepath.Join(dir, "kept")); !strings.Contains(got, "not empty") {
		t.Errorf("a second copy: %s", got)
	}
}

// TestAuditNewestFirst: audit lists the newest entries first by default,
// the oldest with --oldest-first, and takes ages and dates in --since.
func TestAuditNewestFirst(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gw.db")
	runCmd(t, "accounts", "create", "--db", db, "--name", "Shop", "--id", "7769")
	var keys []string
	for range 3 {
		time.Sleep(2 * time.Millisecond) // distinct times
		out := runCmd(t, "accounts", "key-add", "--db", db, "--account", "7769")
		keys = append(keys, regexp.MustCompile(`key_id: (\S+)`).FindStringSubmatch(out)[1])
	}
	rows := func(out string) []string { return strings.Split(strings.TrimSpace(out), "\n")[1:] }
	newest := rows(runCmd(t, "audit", "--db", db, "--limit", "2"))
	if len(newest) != 2 || !strings.Contains(newest[0], keys[2]) || !strings.Contains(newest[1], keys[1]) {
		t.Errorf("audit --limit 2, want the keys %s and %s:\n%s", keys[2], keys[1], strings.Join(newest, "\n"))
	}
	oldest := rows(runCmd(t, "audit", "--db", db, "--limit", "1", "--oldest-first"))
	if len(oldest) != 1 || !strings.Contains(oldest[0], "account.created") {
		t.Errorf("audit --oldest-first --limit 1:\n%s", strings.Join(oldest, "\n"))
	}
	if got := rows(runCmd(t, "audit", "--db", db, "--since", "1h")); len(got) != 5 {
		t.Errorf("audit --since 1h: %d entries, want 5", len(got))
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	if got := rows(runCmd(t, "audit", "--db", db, "--since", tomorrow)); len(got) != 0 {
		t.Errorf("audit --since %s: %v", tomorrow, got)
	}
}

func TestParseSince(t *testing.T) {
	for _, tc := range []struct {
		in  string
		age time.Duration
		at  string
	}{
		{"24h", 24 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"2026-12-01", 0, "2026-12-01T00:00:00Z"},
		{"2026-12-01T08:00:00+01:00", 0, "2026-12-01T07:00:00Z"},
	} {
		got, err := parseSince(tc.in)
		if err != nil || got.age != tc.age || tc.at != "" && !got.at.Equal(mustTime(t, tc.at)) {
			t.Errorf("parseSince(%q) = %+v, %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"", "yesterday", "-24h", "0d", "2026-13-01", "1 day"} {
		if _, err := parseSince(bad); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPrintConfig shows each setting with where it came from, without the
// database password or the secret.
func TestPrintConfig(t *testing.T) {
	t.Setenv("CARTGATEWAY_RATE_IP", "7")
	t.Setenv("CARTGATEWAY_SECRET", "a-secret-that-must-not-be-printed-0123456789")
	out := runCmd(t, "serve", "--print-config", "--db", "postgres://gw:s3cret@db/cg", "--settle-at", "off")
	for _, re := range []string{
		`--rate-ip\s+CARTGATEWAY_RATE_IP\s+7\s+env`,
		`--settle-at\s+CARTGATEWAY_SETTLE_AT\s+off\s+flag`,
		`--duplicate-window\s+CARTGATEWAY_DUPLICATE_WINDOW\s+10m0s\s+default`,
		`--db\s+CARTGATEWAY_DB\s+postgres://gw:xxxxx@db/cg\s+flag`,
		`CARTGATEWAY_SECRET\s+set \(redacted\)`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("--print-config lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "s3cret") || strings.Contains(out, "must-not-be-printed") {
		t.Errorf("--print-config shows a secret:\n%s", out)
	}
}
