#!/usr/bin/env bash
# Makes a local PostgreSQL ready for the store suite and prints its connection string on stdout
# (everything else goes to stderr):
#
#   LRS_TEST_POSTGRES=$(ci/postgres.sh) cargo test -p lrs-store --features postgres --test postgres
#
# Installs PostgreSQL with apt-get if it is missing (Debian 12: PostgreSQL 15), starts the
# cluster, and creates the role and database (idempotent). Run as root. Override the defaults
# with LRS_PG_USER, LRS_PG_PASSWORD, LRS_PG_DB, LRS_PG_PORT.
set -euo pipefail

user=${LRS_PG_USER:-lrs}
password=${LRS_PG_PASSWORD:-lrs}
db=${LRS_PG_DB:-lrs}
port=${LRS_PG_PORT:-5432}

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y postgresql >&2
fi

read -r version cluster _ < <(pg_lsclusters --no-header | head -n 1)
if ! pg_lsclusters --no-header | head -n 1 | grep -q online; then
  pg_ctlcluster "$version" "$cluster" start >&2
fi
for _ in $(seq 1 30); do
  if su postgres -c "pg_isready -q -p $port"; then break; fi
  sleep 1
done

as_postgres() { su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qAtc \"$1\""; }
if [ "$(as_postgres "SELECT 1 FROM pg_roles WHERE rolname = '$user'")" != 1 ]; then
  as_postgres "CREATE ROLE $user LOGIN PASSWORD '$password'" >&2
fi
if [ "$(as_postgres "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
  as_postgres "CREATE DATABASE $db OWNER $user" >&2
fi

echo "host=127.0.0.1 port=$port user=$user password=$password dbname=$db"
