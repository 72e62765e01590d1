#!/bin/sh
# Throwaway PostgreSQL cluster for the storage tests.
#
#   pg_cluster.sh start DIR [PORT]   create (first time) and start a cluster in
#                                    DIR, print the PARLEY_TEST_PG_URI to use
#   pg_cluster.sh stop DIR           stop it (the files stay; rm -rf DIR after)
#   pg_cluster.sh status DIR         exit status 0 if it is running
#
# The server listens on 127.0.0.1:PORT (default 55432) and on a unix socket
# inside DIR, nowhere else, with trust authentication; the superuser is
# "postgres". Started as root, the cluster runs as the 'postgres' system user
# (DIR is chowned to it, and it must be able to reach DIR). Durability is
# switched off (fsync=off): this cluster is for tests only.
#
# Typical use:
#   export PARLEY_TEST_PG_URI="$(tests/support/pg_cluster.sh start /tmp/pg 55432)"
#   ctest ...
#   tests/support/pg_cluster.sh stop /tmp/pg && rm -rf /tmp/pg
#
# PG_BINDIR overrides the server binaries (default /usr/lib/postgresql/15/bin).
set -eu

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}

usage() {
  echo "usage: $0 start DIR [PORT] | stop DIR | status DIR" >&2
  exit 2
}

die() {
  echo "pg_cluster.sh: $*" >&2
  exit 1
}

# Runs a command as the cluster owner: 'postgres' when we are root, else us.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
      runuser -u postgres -- "$@"
    else
      # shellcheck disable=SC2016
      su -s /bin/sh postgres -c '"$0" "$@"' -- "$@"
    fi
  else
    "$@"
  fi
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
port=${3:-55432}

case $port in
  '' | *[!0-9]*) die "port must be a number: $port" ;;
esac

if [ ! -x "$PG_BINDIR/initdb" ] || [ ! -x "$PG_BINDIR/pg_ctl" ]; then
  die "no PostgreSQL server binaries in $PG_BINDIR (apt-get install postgresql-15, or set PG_BINDIR)"
fi

data=$dir/data
log=$dir/postgres.log

running() {
  [ -f "$data/PG_VERSION" ] && as_owner "$PG_BINDIR/pg_ctl" -D "$data" status >/dev/null 2>&1
}

# Port the running cluster was configured with (it may differ from $3 on a
# second 'start' of an existing cluster).
configured_port() {
  sed -n 's/^port = \([0-9][0-9]*\).*/\1/p' "$data/postgresql.conf" | tail -n 1
}

case $cmd in
  start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    data=$dir/data
    log=$dir/postgres.log
    if [ "$(id -u)" -eq 0 ]; then
      id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
      chown postgres: "$dir"
      [ -d "$data" ] && chown -R postgres: "$data"
      as_owner test -w "$dir" ||
        die "user 'postgres' cannot write to $dir (choose a directory it can reach, e.g. under /tmp)"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      as_owner "$PG_BINDIR/initdb" -D "$data" -U postgres --auth=trust \
        --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
      # Later settings in postgresql.conf win over earlier ones.
      as_owner sh -c "cat >>'$data/postgresql.conf'" <<EOF

# --- pg_cluster.sh (throwaway test cluster) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    fi
    if ! running; then
      if [ $# -ge 3 ] && [ "$(configured_port)" != "$port" ]; then
        # An existing cluster started on another port: the last setting wins.
        echo "port = $port" | as_owner sh -c "cat >>'$data/postgresql.conf'"
      fi
      as_owner "$PG_BINDIR/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null ||
        { tail -n 20 "$log" >&2 2>/dev/null; die "pg_ctl start failed (see $log)"; }
    fi
    echo "host=127.0.0.1 port=$(configured_port) user=postgres dbname=postgres"
    ;;
  stop)
    if running; then
      as_owner "$PG_BINDIR/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  status)
    running
    ;;
  *)
    usage
    ;;
esac
