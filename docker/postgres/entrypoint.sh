#!/bin/sh
# First start: make the cluster (trust auth from anywhere: a throwaway test store), listen on every
# address, create $POSTGRES_DB if set. Then run the command (default: postgres).
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C >/dev/null
    echo "host all all all trust" >>"$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "postgres" ]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\";" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
fi
if [ "${1#-}" != "$1" ]; then
    set -- postgres "$@"
fi
exec "$@"
