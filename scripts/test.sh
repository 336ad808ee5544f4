#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, vet, staticcheck, every
# test with the race detector, and each fuzz target for a bounded number of
# executions.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
# Fuzzing is bounded by a count of executions, not by time: with a time
# limit, Go 1.26's fuzzing coordinator sometimes reports its own deadline as
# a failure ("context deadline exceeded", no failing input) when a loaded
# machine keeps a worker busy at the end (go.dev/issue/75804, fixed in 1.27).
FUZZTIME="${FUZZTIME:-30000x}"

# In CI every test runs: the ones that need a tool besides Go (podman,
# systemd-analyze, chromium for the browser tests) fail
# instead of skipping when it is missing. As root, install them here, as
# for PostgreSQL below.
if [ -n "${CI:-}" ]; then export CARTGATEWAY_REQUIRE_TOOLS=1; fi
missing=""
command -v podman >/dev/null || missing="$missing podman"
command -v systemd-analyze >/dev/null || missing="$missing systemd"
command -v chromium >/dev/null || missing="$missing chromium"
if [ -n "$missing" ] && [ "$(id -u)" = 0 ]; then
  echo "== installing$missing"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

echo "== gofmt"
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change:"; echo "$unformatted"; exit 1; fi

echo "== go mod tidy"
if ! go mod tidy -diff; then echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; exit 1; fi

echo "== go vet"
go vet ./...

echo "== staticcheck"
if ! command -v staticcheck >/dev/null; then
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
staticcheck ./...

echo "== stripe-mock for the live connector's tests"
if ! command -v stripe-mock >/dev/null; then
  go install github.com/stripe/stripe-mock@v0.203.0 || echo "WARNING: no stripe-mock: the Stripe connector's tests skip" >&2
fi

echo "== PostgreSQL for the tests"
if [ -z "${CARTGATEWAY_TEST_POSTGRES:-}" ]; then
  source scripts/postgres.sh
  if cartgateway_pg_start; then
    trap cartgateway_pg_stop EXIT
  elif [ -n "${CI:-}" ]; then
    echo "CI must run the PostgreSQL half: could not start PostgreSQL" >&2
    exit 1
  else
    echo "WARNING: no PostgreSQL (run as root to let this script install it): only the SQLite half runs" >&2
  fi
fi

echo "== go test -race (SQLite; store contract and process tests also on PostgreSQL)"
go test -race -count=1 ./...

if [ -n "${CARTGATEWAY_TEST_POSTGRES:-}" ]; then
  echo "== go test -race: HTTP-level API (each exchange checked against the OpenAPI document), hosted checkout, portal (the browsers' too), live connector and Go client suites on PostgreSQL"
  CARTGATEWAY_TEST_BACKEND=postgres go test -race -count=1 ./internal/httpapi/... ./internal/checkout/... ./internal/portal/... ./internal/processor/... ./client/...
fi

echo "== benchmark command, quick mode (checks that it works; figures in docs/performance.md)"
go run ./cmd/cgbench -quick

echo "== fuzz targets, ${FUZZTIME} each"
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg="./$(dirname "${file#./}")"
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "-- $pkg $target"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
  done
done
echo "== all tests passed"
