#!/usr/bin/env bash
# The test environment's private PostgreSQL 15 cluster on 127.0.0.1:$MOSAIC_TESTENV_PG_PORT
# (55432), its data under $MOSAIC_TESTENV_DIR/pg. Run by scripts/testenv.sh (which holds the
# lock); needs root (the cluster runs as the postgres user).
#
#   scripts/testenv/postgres.sh up     start it (initdb the first time), drop test databases of
#                                      earlier runs
#   scripts/testenv/postgres.sh down   stop it
set -Eeuo pipefail
# shellcheck source=scripts/testenv/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'rc=$?; log "failed (exit $rc) at line $LINENO: $BASH_COMMAND"' ERR

DATA_DIR=$PG_DIR/data

psql_admin() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -X "$@"; }

start_postgres() {
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        # Something answers on the port: make sure it is our cluster, not someone else's.
        local running
        running=$(psql_admin -Atc 'show data_directory' 2>/dev/null) || true
        [[ $running == "$DATA_DIR" ]] || die "port $PG_PORT is taken by another PostgreSQL ($running)"
        log "postgres: already running on 127.0.0.1:$PG_PORT"
        return 0
    fi
    # initdb refuses to run as root, and the postgres user must own the directories.
    install -d -o postgres -g postgres -m 0700 "$PG_DIR"
    if [[ ! -f $DATA_DIR/PG_VERSION ]]; then
        log "postgres: initdb $DATA_DIR"
        runuser -u postgres -- "$PG_BIN/initdb" -D "$DATA_DIR" -A trust -U postgres --no-sync -E UTF8 \
            >"$PG_DIR/initdb.log" 2>&1 || {
            cat "$PG_DIR/initdb.log" >&2
            die "initdb failed"
        }
    fi
    log "postgres: starting on 127.0.0.1:$PG_PORT"
    # 9>&-: the server must not inherit the driver's lock.
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null 9>&- || {
        tail -n 20 "$PG_DIR/server.log" >&2
        die "PostgreSQL did not start"
    }
}

# Each API test and schemathesis run makes a database of its own; drop those of earlier runs.
# A database someone is connected to belongs to a run still going (a test's pool holds its
# connections until it ends), so it stays: DROP DATABASE without FORCE refuses it anyway.
drop_test_databases() {
    local db dropped=0 busy
    while read -r db; do
        [[ -n $db ]] || continue
        psql_admin -qAtc "DROP DATABASE IF EXISTS \"$db\"" 2>/dev/null && dropped=$((dropped + 1))
    done < <(psql_admin -Atc "SELECT datname FROM pg_database d
        WHERE (datname LIKE 'mosaic\_test\_%' OR datname LIKE 'mosaic\_schemathesis\_%')
          AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)")
    busy=$(psql_admin -Atc "SELECT count(*) FROM pg_database
        WHERE datname LIKE 'mosaic\_test\_%' OR datname LIKE 'mosaic\_schemathesis\_%'")
    ((dropped == 0)) || log "postgres: dropped $dropped test databases of earlier runs"
    ((busy == 0)) || log "postgres: keeping $busy test databases in use"
}

stop_postgres() {
    [[ -f $DATA_DIR/PG_VERSION ]] || return 0
    if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1; then
        log "postgres: stopping"
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null
    fi
}

case ${1:-} in
    up)
        start_postgres
        drop_test_databases
        ;;
    down) stop_postgres ;;
    *)
        echo "usage: $0 up | down" >&2
        exit 2
        ;;
esac
