package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// runOK runs a command that must succeed and returns its output.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("cartgateway %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// TestProductsCommands: add, list, update and deactivate a catalogue
// product, per environment, and the refusals that name what is wrong.
func TestProductsCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "gw.db")
	runOK(t, "accounts", "create", "--db", db, "--name", "Shop", "--id", "7769")
	runOK(t, "products", "add", "--db", db, "--account", "7769", "--codename", "product1", "--name", "Blue mug", "--price", "1250",
		"--image-url", "https://shop.example/mug.png")
	runOK(t, "products", "add", "--db", db, "--account", "7769", "--environment", "live", "--codename", "product1", "--name", "Live mug", "--price", "900")
	list := runOK(t, "products", "list", "--db", db, "--account", "7769")
	if !strings.Contains(list, "product1") || !strings.Contains(list, "Blue mug") || !strings.Contains(list, "1250") ||
		!strings.Contains(list, "active") || strings.Contains(list, "Live mug") {
		t.Errorf("sandbox list:\n%s", list)
	}
	runOK(t, "products", "update", "--db", db, "--account", "7769", "--codename", "product1", "--price", "1400", "--image-url", "")
	runOK(t, "products", "deactivate", "--db", db, "--account", "7769", "--codename", "product1")
	list = runOK(t, "products", "list", "--db", db, "--account", "7769")
	if !strings.Contains(list, "1400") || !strings.Contains(list, "inactive") || strings.Contains(list, "mug.png") {
		t.Errorf("after update and deactivate:\n%s", list)
	}
	if live := runOK(t, "products", "list", "--db", db, "--account", "7769", "--environment", "live"); !strings.Contains(live, "Live mug") || strings.Contains(live, "inactive") {
		t.Errorf("the live catalogue changed:\n%s", live)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "--account", "7769", "--codename", "blue-mug", "--name", "x", "--price", "100"}, "hyphen"},
		{[]string{"add", "--account", "7769", "--codename", "product1", "--name", "x", "--price", "100"}, "already has a product"},
		{[]string{"add", "--account", "7769", "--codename", "p2", "--name", "x", "--price", "0"}, "price"},
		{[]string{"add", "--account", "7769", "--codename", "p2", "--name", "x", "--price", "100", "--image-url", "http://x.example/a.png"}, "https"},
		{[]string{"add", "--account", "1234", "--codename", "p2", "--name", "x", "--price", "100"}, "no account 1234"},
		{[]string{"update", "--account", "7769", "--codename", "nope", "--price", "100"}, "no product \"nope\""},
		{[]string{"deactivate", "--account", "7769"}, "--codename"},
	} {
		if got := runErr(t, append([]string{"products", tc.args[0], "--db", db}, tc.args[1:]...)...); !strings.Contains(got, tc.want) {
			t.Errorf("products %s: %q does not say %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}
