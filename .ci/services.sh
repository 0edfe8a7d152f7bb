#!/usr/bin/env bash
# Throw-away PostgreSQL + Redis for CI and local test runs.
#
#   .ci/services.sh start   install missing Debian packages, start both services
#   .ci/services.sh env     print `export ...` lines for eval
#   .ci/services.sh stop    stop both services and remove the state dir
#
# Idempotent: `start` on running services and `stop` on stopped ones are no-ops.
# Settings (environment):
#   CI_SERVICES_DIR  state dir          (default /tmp/minside-ci)
#   CI_PG_PORT       PostgreSQL port    (default 54329)
#   CI_REDIS_PORT    Redis port         (default 63799)
#   CI_WAIT_SECONDS  readiness timeout  (default 60)
set -euo pipefail

STATE_DIR="${CI_SERVICES_DIR:-/tmp/minside-ci}"
PG_PORT="${CI_PG_PORT:-54329}"
REDIS_PORT="${CI_REDIS_PORT:-63799}"
WAIT_SECONDS="${CI_WAIT_SECONDS:-60}"
PG_HOST=127.0.0.1
REDIS_HOST=127.0.0.1
DB_NAME=minside
DB_USER=minside

PG_DATA="$STATE_DIR/pgdata"
PG_LOG="$STATE_DIR/postgres.log"
REDIS_DIR="$STATE_DIR/redis"
REDIS_PID="$STATE_DIR/redis.pid"
REDIS_LOG="$STATE_DIR/redis.log"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- packages --

pkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

pg_bindir() {
  # Bin dir of the newest installed PostgreSQL major that has initdb (empty if none).
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then printf '%s\n' "$d"; fi
  done | sort -V | tail -n1
}

ensure_packages() {
  local missing=() p
  # redis-server pulls in redis-tools (redis-cli).
  # curl/iproute2/procps/util-linux: used by .ci/run (HTTP checks, ss, ps, setsid).
  # libatomic1/libstdc++6: needed by the node binary bundled in Python Playwright.
  for p in redis-server redis-tools chromium curl iproute2 procps util-linux \
           libatomic1 libstdc++6 fonts-liberation ca-certificates; do
    pkg_installed "$p" || missing+=("$p")
  done
  if [[ -z "$(pg_bindir)" ]]; then
    missing+=(postgresql)
  fi
  command -v pg_isready >/dev/null 2>&1 || missing+=(postgresql-client)
  if ((${#missing[@]})); then
    [[ "$(id -u)" -eq 0 ]] || die "missing packages (${missing[*]}) and not root"
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  fi
  [[ -n "$(pg_bindir)" ]] || die "no PostgreSQL initdb found under /usr/lib/postgresql/*/bin"
  id postgres >/dev/null 2>&1 || die "system user 'postgres' does not exist"
}

# -------------------------------------------------------------- postgresql --

as_postgres() {
  # Run from the state dir so postgres never lacks access to the cwd.
  (cd "$STATE_DIR" && runuser -u postgres -- "$@")
}

pg_ready() {
  pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

pid_alive() {
  # pid_alive PID [COMM]: true for a live process (named COMM, if given);
  # false for a missing one, a not-yet-reaped zombie, or a reused PID.
  local st comm
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  st="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [[ -n "$st" && "$st" != Z* ]] || return 1
  if [[ -n "${2:-}" ]]; then
    comm="$(cat "/proc/$1/comm" 2>/dev/null || true)"
    [[ "$comm" == "$2"* ]] || return 1
  fi
}

port_busy() {
  ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
}

start_postgres() {
  local bin
  bin="$(pg_bindir)"

  if [[ ! -s "$PG_DATA/PG_VERSION" ]]; then
    log "initdb ($bin) in $PG_DATA"
    rm -rf "$PG_DATA"
    as_postgres "$bin/initdb" -D "$PG_DATA" -U postgres \
      --auth-host=trust --auth-local=trust \
      --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$STATE_DIR/initdb.log" 2>&1 \
      || { tail -n 30 "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# --- minside CI (throw-away cluster) ---
listen_addresses = '$PG_HOST'
port = $PG_PORT
unix_socket_directories = '$STATE_DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    # Trust only on the socket and loopback.
    cat >"$PG_DATA/pg_hba.conf" <<EOF
local all all               trust
host  all all 127.0.0.1/32  trust
host  all all ::1/128       trust
EOF
  fi

  if as_postgres "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "postgres already running on $PG_HOST:$PG_PORT"
  else
    port_busy "$PG_PORT" && die "port $PG_PORT is already in use by another process"
    log "starting postgres on $PG_HOST:$PG_PORT"
    as_postgres "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECONDS" start >/dev/null \
      || { tail -n 30 "$PG_LOG" >&2 || true; die "pg_ctl start failed"; }
  fi

  local i=0
  until pg_ready; do
    ((++i <= WAIT_SECONDS)) || { tail -n 30 "$PG_LOG" >&2 || true; die "postgres not ready after ${WAIT_SECONDS}s"; }
    sleep 1
  done

  # Role + database (idempotent). SUPERUSER so the test runner can create test DBs.
  psql -X -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL \
    || die "creating role/database failed"
SELECT 'CREATE ROLE $DB_USER LOGIN SUPERUSER'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') \gexec
ALTER ROLE $DB_USER LOGIN SUPERUSER;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
}

stop_postgres() {
  local bin
  bin="$(pg_bindir)"
  [[ -n "$bin" && -s "$PG_DATA/PG_VERSION" ]] || return 0
  if as_postgres "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "stopping postgres"
    as_postgres "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
      || as_postgres "$bin/pg_ctl" -D "$PG_DATA" -m immediate -w -t 10 stop >/dev/null 2>&1 \
      || true
  fi
  # Last resort: a postmaster that pg_ctl could not stop.
  if [[ -s "$PG_DATA/postmaster.pid" ]]; then
    local pid
    pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    if pid_alive "$pid" postgres; then
      log "postgres did not stop; killing postmaster $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
}

# ------------------------------------------------------------------- redis --

redis_ready() {
  [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

start_redis() {
  if redis_ready; then
    log "redis already running on $REDIS_HOST:$REDIS_PORT"
    return 0
  fi
  port_busy "$REDIS_PORT" && die "port $REDIS_PORT is already in use by another process"
  mkdir -p "$REDIS_DIR"
  log "starting redis on $REDIS_HOST:$REDIS_PORT"
  redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --daemonize yes --dir "$REDIS_DIR" --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" \
    --save '' --appendonly no --protected-mode yes \
    || die "redis-server failed to start"
  local i=0
  until redis_ready; do
    ((++i <= WAIT_SECONDS)) || { tail -n 30 "$REDIS_LOG" >&2 || true; die "redis not ready after ${WAIT_SECONDS}s"; }
    sleep 1
  done
}

stop_redis() {
  if redis_ready; then
    log "stopping redis"
    redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  fi
  if [[ -s "$REDIS_PID" ]]; then
    local pid i=0
    pid="$(cat "$REDIS_PID" 2>/dev/null || true)"
    while pid_alive "$pid" redis-server && ((i++ < 10)); do sleep 1; done
    if pid_alive "$pid" redis-server; then
      log "redis did not stop; killing $pid"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
}

# -------------------------------------------------------------------- main --

cmd_start() {
  ensure_packages
  mkdir -p "$STATE_DIR"
  chown postgres:postgres "$STATE_DIR"
  chmod 0755 "$STATE_DIR"
  start_postgres
  start_redis
  log "ready: postgres $PG_HOST:$PG_PORT, redis $REDIS_HOST:$REDIS_PORT (state: $STATE_DIR)"
}

cmd_stop() {
  if [[ -d "$STATE_DIR" ]]; then
    stop_postgres || true
    stop_redis || true
  else
    # No state dir, but a redis may still answer on our port (e.g. dir removed by hand).
    command -v redis-cli >/dev/null 2>&1 && stop_redis || true
  fi
  case "$STATE_DIR" in
    ""|/) die "refusing to remove state dir '$STATE_DIR'" ;;
  esac
  rm -rf "$STATE_DIR"
  log "stopped"
}

cmd_env() {
  printf 'export DATABASE_URL=postgres://%s@%s:%s/%s\n' "$DB_USER" "$PG_HOST" "$PG_PORT" "$DB_NAME"
  printf 'export CELERY_BROKER_URL=redis://%s:%s/0\n' "$REDIS_HOST" "$REDIS_PORT"
}

case "${1:-}" in
  start) cmd_start ;;
  stop)  cmd_stop ;;
  env)   cmd_env ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
