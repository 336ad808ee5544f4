#!/usr/bin/env bash
# Source this file to start a throwaway PostgreSQL cluster for the tests:
# it installs Debian's postgresql if missing, runs initdb in a temp folder,
# starts the server on a free loopback port and exports
# CARTGATEWAY_TEST_POSTGRES (admin URL). The outage test, which stops its
# server, makes a cluster of its own (internal/pgtest.NewCluster). The cluster is
# stopped by cartgateway_pg_stop (the test script traps it on exit).

cartgateway_pg_start() {
  local pgbin
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pgbin" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "postgresql is not installed and this is not root: install Debian's postgresql" >&2
      return 1
    fi
    echo "installing postgresql (apt-get)"
    apt-get update -qq >/dev/null || return 1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  local as=()
  CARTGATEWAY_PG_DIR=$(mktemp -d /tmp/cartgateway-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres: "$CARTGATEWAY_PG_DIR"
    as=(runuser -u postgres --)
  fi
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
  "${as[@]}" "$pgbin/initdb" -D "$CARTGATEWAY_PG_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null || return 1
  local opts="-p $port -k $CARTGATEWAY_PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300"
  "${as[@]}" "$pgbin/pg_ctl" -D "$CARTGATEWAY_PG_DIR/data" -o "$opts" -l "$CARTGATEWAY_PG_DIR/log" -w start >/dev/null || return 1
  CARTGATEWAY_PG_CTL="${as[*]} $pgbin/pg_ctl -D $CARTGATEWAY_PG_DIR/data"
  export CARTGATEWAY_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  echo "postgresql $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data in $CARTGATEWAY_PG_DIR)"
}

cartgateway_pg_stop() {
  if [ -n "${CARTGATEWAY_PG_CTL:-}" ]; then
    $CARTGATEWAY_PG_CTL -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$CARTGATEWAY_PG_DIR"
  fi
}
