#!/usr/bin/env bash
# Starts the servers the test suite uses (PostgreSQL and Redis), each owned by this
# script, on free loopback ports, in a scratch directory. Prints `export VAR=…` lines to eval:
#   eval "$(scripts/test-services.sh start)"   …   scripts/test-services.sh stop
# Needs Debian's postgresql and redis-server packages.
set -euo pipefail
state=${CARILLON_TEST_SERVICES_DIR:-/tmp/carillon-test-services}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_postgres() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -x "$bin/initdb" ] || { echo "echo 'PostgreSQL is not installed (apt-get install -y postgresql): its tests will be skipped' >&2"; return; }
  local dir="$state/pg" port
  # Reuse a server this script already started (several shells or test runs share it).
  local run=(); [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  if [ -f "$state/pg.url" ] && "${run[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    echo "export CARILLON_TEST_DATABASE_URL=$(cat "$state/pg.url")"; return
  fi
  port=$(free_port)
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$state"
  # (As root the server runs as the postgres user: every directory above $state must let it in.)
  "${run[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres --encoding=UTF8 --locale=C.UTF-8 >"$state/pg-initdb.log" 2>&1 \
    || { echo "echo 'PostgreSQL could not be set up (initdb failed; see $state/pg-initdb.log): its tests cannot run' >&2"; return; }
  # fsync off: the suite tests correctness, not power loss, and this keeps CI fast.
  "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$state/pg.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres" > "$state/pg.url"
  echo "export CARILLON_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
}

stop_postgres() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
  [ -d "$state/pg/data" ] || return 0
  local run=(); [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$bin/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$state/pg.url"
}

start_redis() {
  command -v redis-server >/dev/null || { echo "echo 'Redis is not installed (apt-get install -y redis-server): its tests will be skipped' >&2"; return; }
  if [ -f "$state/redis.url" ] && [ -f "$state/redis.pid" ] && kill -0 "$(cat "$state/redis.pid")" 2>/dev/null; then
    echo "export CARILLON_TEST_REDIS_URL=$(cat "$state/redis.url")"; return
  fi
  local port; port=$(free_port)
  mkdir -p "$state/redis"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$state/redis" --pidfile "$state/redis.pid" --logfile "$state/redis.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "redis://127.0.0.1:$port" > "$state/redis.url"
  echo "export CARILLON_TEST_REDIS_URL=redis://127.0.0.1:$port"
}

stop_redis() {
  [ -f "$state/redis.pid" ] && kill "$(cat "$state/redis.pid")" 2>/dev/null || true
  rm -f "$state/redis.url" "$state/redis.pid"
}

case "${1:-start}" in
  start) mkdir -p "$state"; start_postgres; start_redis ;;
  stop) stop_postgres; stop_redis ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
