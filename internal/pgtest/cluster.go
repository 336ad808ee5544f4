package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// Cluster is a PostgreSQL server of one test's own, for tests that stop and
// start it: stopping the shared server of CARTGATEWAY_TEST_POSTGRES would
// fail every other test using it at that moment.
type Cluster struct {
	// URL is the admin URL of the cluster's postgres database.
	URL  string
	ctl  []string // pg_ctl and its data directory, as the user to run it
	port string
	dir  string
	t    testing.TB
}

// NewCluster initialises and starts a cluster in a temporary folder, stopped
// when the test ends. It needs Debian's PostgreSQL binaries
// (/usr/lib/postgresql/*/bin, which scripts/postgres.sh installs); without
// them the test skips, unless CARTGATEWAY_REQUIRE_TOOLS is set (CI).
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(bins) == 0 {
		if os.Getenv("CARTGATEWAY_REQUIRE_TOOLS") != "" {
			t.Fatal("PostgreSQL's binaries are not installed (scripts/postgres.sh installs them)")
		}
		t.Skip("PostgreSQL's binaries are not installed (scripts/postgres.sh installs them)")
	}
	sort.Strings(bins)
	bin := bins[len(bins)-1]
	dir, err := os.MkdirTemp("", "cartgateway-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	var as []string
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
		as = []string{"runuser", "-u", "postgres", "--"}
	}
	c := &Cluster{dir: dir, t: t, port: freePort(t)}
	data := filepath.Join(dir, "data")
	c.run(append(as, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")...)
	c.ctl = append(as, filepath.Join(bin, "pg_ctl"), "-D", data)
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", c.port)
	c.Start()
	t.Cleanup(func() {
		_ = exec.Command(c.ctl[0], append(c.ctl[1:], "-m", "immediate", "stop")...).Run()
		_ = os.RemoveAll(dir)
	})
	return c
}

// Stop stops the server (fast shutdown: sessions are cut).
func (c *Cluster) Stop() {
	c.t.Helper()
	c.run(append(c.ctl, "-m", "fast", "-w", "stop")...)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c max_connections=100", c.port, c.dir)
	c.run(append(c.ctl, "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start")...)
}

func (c *Cluster) run(args ...string) {
	c.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		c.t.Fatalf("%v: %v\n%s\n%s", args, err, out, log)
	}
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
