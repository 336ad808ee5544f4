package httpapi_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cartgateway/cartgateway/internal/apitest"
)

// TestMain runs the suite, every exchange of which apitest checks against
// the OpenAPI document, then tells how much of the document the suite
// exercised. A full run (no -run) fails if an operation of the document was
// never called: its contract would be unchecked.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	seen := apitest.ContractCoverage()
	total := 0
	for _, n := range seen {
		total += n
	}
	if total == 0 {
		os.Exit(code) // a fuzzing run, or a -run that called nothing
	}
	gaps := apitest.ContractGaps()
	fmt.Printf("contract: %d exchanges checked against the OpenAPI document (%s store); documented answers never seen: %d\n",
		total, apitest.Backend(), len(gaps))
	if testing.Verbose() {
		for _, g := range gaps {
			fmt.Println("  never seen:", g)
		}
	}
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		var unused []string
		for _, op := range apitest.ContractOperations() {
			called := false
			for k := range seen {
				called = called || strings.HasPrefix(k, op+" ")
			}
			if !called {
				unused = append(unused, op)
			}
		}
		if len(unused) > 0 {
			fmt.Printf("contract: FAIL: the suite never calls %s\n", strings.Join(unused, ", "))
			code = 1
		}
	}
	os.Exit(code)
}
