# shellcheck shell=bash
# Starts a private PostgreSQL server on 127.0.0.1 for the PostgreSQL
# Iceberg catalog test (lake/catalog_test.go TestOpenIcebergPostgres) and
# exports LAKEVEC_TEST_POSTGRES (a DSN). No systemd: initdb and pg_ctl in a
# temporary directory, a private port and socket directory; as the
# postgres user when run as root (PostgreSQL refuses to run as root).
#
# Source it (from .ci/run, after `cd` to the repo root):
#
#   source scripts/ci-postgres.sh   # starts, exports, sets an EXIT trap
#   lakevec_pg_stop                 # optional: the EXIT trap does it too
#
# or run it around one command:
#
#   bash scripts/ci-postgres.sh go test -count=1 -run Postgres -v ./lake/
#
# Needs the Debian package postgresql (installed with apt-get when missing
# and running as root). LAKEVEC_PG_PORT overrides the port (default: a free
# one from 25000 up). LAKEVEC_CI_PG_OPTIONAL=1 warns and goes on (the test
# then skips) when the server cannot be started.

lakevec_pg_stop() {
	if [ -n "${_LAKEVEC_PG_DIR:-}" ]; then
		_lakevec_pg_as "$_LAKEVEC_PG_BIN/pg_ctl" -D "$_LAKEVEC_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
		rm -rf "$_LAKEVEC_PG_DIR"
		_LAKEVEC_PG_DIR=
	fi
}

# _lakevec_pg_as runs a command as the postgres user when we are root.
_lakevec_pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

_lakevec_pg_fail() {
	echo "ci-postgres: $*" >&2
	if [ -n "${_LAKEVEC_PG_DIR:-}" ]; then
		tail -20 "$_LAKEVEC_PG_DIR/setup.log" "$_LAKEVEC_PG_DIR/server.log" >&2 2>/dev/null
	fi
	lakevec_pg_stop
	unset LAKEVEC_TEST_POSTGRES
	if [ "${LAKEVEC_CI_PG_OPTIONAL:-0}" = 1 ]; then
		echo "ci-postgres: LAKEVEC_CI_PG_OPTIONAL=1: going on without PostgreSQL (its test skips)" >&2
		return 0
	fi
	return 1
}

lakevec_pg_start() {
	local initdb port dir i pw
	initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
	if [ -z "$initdb" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "ci-postgres: installing postgresql"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
		initdb=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
	fi
	[ -n "$initdb" ] || { _lakevec_pg_fail "no PostgreSQL server (apt-get install postgresql)"; return; }
	_LAKEVEC_PG_BIN=$(dirname "$initdb")

	port=${LAKEVEC_PG_PORT:-}
	if [ -z "$port" ]; then
		for ((i = 25000 + RANDOM % 2000; i < 28000; i++)); do
			if ! (exec 3<>"/dev/tcp/127.0.0.1/$i") 2>/dev/null; then
				port=$i
				break
			fi
		done
	fi
	[ -n "$port" ] || { _lakevec_pg_fail "no free port"; return; }

	dir=$(mktemp -d "${TMPDIR:-/tmp}/lakevec-ci-pg.XXXXXX") || { _lakevec_pg_fail "mktemp failed"; return; }
	_LAKEVEC_PG_DIR=$dir
	chmod 755 "$dir"
	mkdir -p "$dir/sock"
	[ "$(id -u)" = 0 ] && chown postgres "$dir" "$dir/sock"
	pw=ci$RANDOM$RANDOM
	printf '%s\n' "$pw" >"$dir/pw"
	[ "$(id -u)" = 0 ] && chown postgres "$dir/pw"
	_lakevec_pg_as "$_LAKEVEC_PG_BIN/initdb" -D "$dir/data" -U lakevec --pwfile="$dir/pw" \
		-A scram-sha-256 --no-sync >"$dir/setup.log" 2>&1 || { _lakevec_pg_fail "initdb failed"; return; }
	_lakevec_pg_as "$_LAKEVEC_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
		-o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
		{ _lakevec_pg_fail "pg_ctl start failed"; return; }
	_lakevec_pg_as env PGPASSWORD="$pw" "$_LAKEVEC_PG_BIN/psql" -h 127.0.0.1 -p "$port" -U lakevec \
		-d postgres -qc "CREATE DATABASE lakevec" >>"$dir/setup.log" 2>&1 || { _lakevec_pg_fail "create database failed"; return; }
	export LAKEVEC_TEST_POSTGRES="postgres://lakevec:$pw@127.0.0.1:$port/lakevec?sslmode=disable"
	echo "ci-postgres: PostgreSQL $(basename "$(dirname "$_LAKEVEC_PG_BIN")") on 127.0.0.1:$port, database lakevec"
}

# shellcheck source=scripts/ci-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ci-lib.sh"

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	lakevec_pg_start || return
	_lakevec_chain_exit_trap lakevec_pg_stop
else
	set -uo pipefail
	cd "$(dirname "$0")/.." || exit 1
	lakevec_pg_start || exit 1
	trap lakevec_pg_stop EXIT
	if [ $# -eq 0 ]; then
		set -- go test -count=1 -run 'Postgres' -v ./lake/
	fi
	"$@"
fi
