#!/usr/bin/env bash
# Start a throw-away PostgreSQL on loopback for the tests that run the metadata store on it, and print its
# SQLAlchemy URL. Installs the server from Debian's packages when the machine has none.
set -euo pipefail
port=${1:-55432}
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
dir=$(mktemp -d /tmp/sageforge-pg.XXXXXX)
chown postgres "$dir"
runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
echo "$bin/pg_ctl -D $dir/data" > "$dir/stop-command"
echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres $dir"
