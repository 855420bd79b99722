#!/usr/bin/env bash
# A throwaway PostgreSQL server for the team-backend test: Debian's `postgresql` binaries,
# a cluster initialised into DIR as the `postgres` user, listening only on 127.0.0.1:PORT
# (its unix socket in DIR), TLS only over TCP (a self-signed certificate for 127.0.0.1, copied
# to DIR/ca.crt for clients to verify), with a role `pulumi` (password read from stdin, never
# printed or put on a command line) owning a database `pulumi_state` — what a team's DBA would
# hand out.
#
#   postgres.sh start DIR PORT OWNER_PID < password   # DIR: an empty directory
#   postgres.sh sql DIR PORT SQL                     # as the superuser over the socket; prints rows
#   postgres.sh stop DIR                             # stops the server and removes DIR
#
# Bounded: start waits at most 30 s; a watchdog stops the server and removes DIR as soon as
# OWNER_PID (the test process) is gone, so a killed test run leaves no server behind.
set -euo pipefail

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
die() { printf 'postgres.sh: %s\n' "$*" >&2; exit 1; }
as_pg() { (cd / && runuser -u postgres -- "$@"); }   # from /: the caller's cwd may be closed to postgres

[[ $(id -u) -eq 0 ]] || die "needs root (runs the server as the postgres user)"
[[ -n $PG_BIN && -x $PG_BIN/initdb ]] || die "Debian's postgresql is not installed: apt-get install postgresql"

stop_server() { # DIR
  local dir=$1
  [[ -f $dir/etcd-stack-pg ]] || return 0          # only a directory this script made
  [[ -f $dir/data/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  rm -rf --one-file-system "$dir"
}

cmd=${1:-}; shift || true
case $cmd in
  start)
    dir=${1:?DIR}; port=${2:?PORT}; owner=${3:?OWNER_PID}
    [[ -d $dir && -z $(ls -A "$dir") ]] || die "$dir must be an empty directory"
    ! ss -Hltn "sport = :$port" | grep -q . || die "port $port is already in use"
    IFS= read -r password || true
    [[ ${#password} -ge 16 ]] || die "a password of at least 16 characters must come on stdin"
    touch "$dir/etcd-stack-pg"
    chown postgres: "$dir"; chmod 700 "$dir"
    # Superuser over the socket only (peer: the postgres OS user); TCP needs a password (SCRAM).
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 \
      --no-instructions >"$dir/initdb.log" 2>&1 || { tail -20 "$dir/initdb.log" >&2; die "initdb failed"; }
    sed -i 's/^host\([[:space:]]\)/hostssl\1/' "$dir/data/pg_hba.conf"   # TCP without TLS is refused
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
      -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/data/server.key" -out "$dir/data/server.crt" >/dev/null 2>&1
    chown postgres: "$dir/data/server.key" "$dir/data/server.crt"; chmod 600 "$dir/data/server.key"
    cp "$dir/data/server.crt" "$dir/ca.crt"
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c ssl=on" start >/dev/null ||
      { tail -20 "$dir/server.log" >&2; die "the server did not start"; }
    # The password travels on psql's stdin (printf is a shell builtin: no command line shows it).
    printf "CREATE ROLE pulumi LOGIN PASSWORD '%s';\nCREATE DATABASE pulumi_state OWNER pulumi;\n" "$password" |
      as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d postgres >/dev/null
    # Watchdog: the server never outlives the test process.
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && [[ -d $2 ]]; do sleep 2; done; exec bash "$0" stop "$2"' \
      "$(readlink -f "${BASH_SOURCE[0]}")" "$owner" "$dir" </dev/null >/dev/null 2>&1 &
    echo "postgres: $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, database pulumi_state, role pulumi"
    ;;
  sql)
    dir=${1:?DIR}; port=${2:?PORT}; sql=${3:?SQL}
    as_pg "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -d pulumi_state -c "$sql"
    ;;
  stop)
    stop_server "${1:?DIR}"
    ;;
  *) die "usage: postgres.sh start DIR PORT OWNER_PID < password | sql DIR PORT SQL | stop DIR" ;;
esac
