# shellcheck shell=bash
# Starts a real S3 server (versitygw, posix backend) on 127.0.0.1 for the
# object-store integration tests (lake/s3_integration_test.go), creates a
# bucket and exports:
#
#   LAKEVEC_TEST_S3_ENDPOINT  http://127.0.0.1:<port>
#   LAKEVEC_TEST_S3_BUCKET    the bucket (empty, fresh)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
#
# Source it (from .ci/run, after `cd` to the repo root):
#
#   source scripts/ci-s3.sh        # builds/starts, exports, sets an EXIT trap
#   ...                            # go test ./... now runs the S3 tests
#   lakevec_s3_stop                # optional: the EXIT trap does it too
#
# or run it to start the server around one command:
#
#   bash scripts/ci-s3.sh go test -count=1 -run Integration ./lake/
#
# versitygw is built once with `go install` (about 2 minutes on 2 cores)
# into ${LAKEVEC_CI_CACHE:-$HOME/.cache/lakevec-ci}/bin and reused while
# the binary is there. Settings: LAKEVEC_VERSITYGW_VERSION (default below),
# LAKEVEC_S3_PORT (default: a free port from 17000 up). Set
# LAKEVEC_CI_S3_OPTIONAL=1 to warn and go on (tests then skip) when the
# server cannot be built or started; by default that is an error.

LAKEVEC_VERSITYGW_VERSION=${LAKEVEC_VERSITYGW_VERSION:-v1.8.0}

# lakevec_s3_stop stops the server started by lakevec_s3_start and removes
# its directory. Safe to call twice.
lakevec_s3_stop() {
	if [ -n "${_LAKEVEC_S3_PID:-}" ]; then
		kill "$_LAKEVEC_S3_PID" 2>/dev/null || true
		wait "$_LAKEVEC_S3_PID" 2>/dev/null || true
		_LAKEVEC_S3_PID=
	fi
	if [ -n "${_LAKEVEC_S3_DIR:-}" ]; then
		rm -rf "$_LAKEVEC_S3_DIR"
		_LAKEVEC_S3_DIR=
	fi
}

_lakevec_s3_fail() {
	echo "ci-s3: $*" >&2
	lakevec_s3_stop
	unset LAKEVEC_TEST_S3_ENDPOINT LAKEVEC_TEST_S3_BUCKET
	if [ "${LAKEVEC_CI_S3_OPTIONAL:-0}" = 1 ]; then
		echo "ci-s3: LAKEVEC_CI_S3_OPTIONAL=1: going on without a real S3 server (its tests skip)" >&2
		return 0
	fi
	return 1
}

# lakevec_s3_start builds (if needed) and starts versitygw, then exports the
# test variables.
lakevec_s3_start() {
	local cache bin port dir i code ak sk
	cache=${LAKEVEC_CI_CACHE:-$HOME/.cache/lakevec-ci}
	bin=$cache/bin/versitygw-$LAKEVEC_VERSITYGW_VERSION
	if [ ! -x "$bin" ]; then
		echo "ci-s3: building versitygw $LAKEVEC_VERSITYGW_VERSION into $cache/bin (once)"
		mkdir -p "$cache/bin" || { _lakevec_s3_fail "cannot create $cache/bin"; return; }
		if ! (cd "$cache" && GOBIN="$cache/bin" GOFLAGS= go install \
			"github.com/versity/versitygw/cmd/versitygw@$LAKEVEC_VERSITYGW_VERSION"); then
			_lakevec_s3_fail "go install versitygw@$LAKEVEC_VERSITYGW_VERSION failed"
			return
		fi
		mv "$cache/bin/versitygw" "$bin" || { _lakevec_s3_fail "cannot install $bin"; return; }
	fi
	command -v curl >/dev/null || { _lakevec_s3_fail "curl is needed (readiness check, bucket creation)"; return; }

	# A free port: nothing answers a connection on it.
	port=${LAKEVEC_S3_PORT:-}
	if [ -z "$port" ]; then
		for ((i = 17000 + RANDOM % 2000; i < 20000; i++)); do
			if ! (exec 3<>"/dev/tcp/127.0.0.1/$i") 2>/dev/null; then
				port=$i
				break
			fi
		done
	fi
	[ -n "$port" ] || { _lakevec_s3_fail "no free port"; return; }

	dir=$(mktemp -d "${TMPDIR:-/tmp}/lakevec-ci-s3.XXXXXX") || { _lakevec_s3_fail "mktemp failed"; return; }
	_LAKEVEC_S3_DIR=$dir
	mkdir -p "$dir/data"
	ak=lakevec-ci-root
	sk=lakevec-ci-secret-$RANDOM$RANDOM
	ROOT_ACCESS_KEY=$ak ROOT_SECRET_KEY=$sk \
		"$bin" --port "127.0.0.1:$port" --region us-east-1 posix "$dir/data" \
		>"$dir/versitygw.log" 2>&1 &
	_LAKEVEC_S3_PID=$!

	# Ready when it answers HTTP (403 to an anonymous request is fine).
	code=000
	for ((i = 0; i < 100; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/" || true)
		[ "$code" != 000 ] && break
		if ! kill -0 "$_LAKEVEC_S3_PID" 2>/dev/null; then
			cat "$dir/versitygw.log" >&2
			_lakevec_s3_fail "versitygw exited at start"
			return
		fi
		sleep 0.1
	done
	[ "$code" != 000 ] || { cat "$dir/versitygw.log" >&2; _lakevec_s3_fail "versitygw not ready on port $port after 10 s"; return; }

	export LAKEVEC_TEST_S3_ENDPOINT=http://127.0.0.1:$port
	export LAKEVEC_TEST_S3_BUCKET=lakevec-ci
	export AWS_ACCESS_KEY_ID=$ak AWS_SECRET_ACCESS_KEY=$sk AWS_REGION=us-east-1
	# CreateBucket, signed by curl (SigV4).
	code=$(curl -s -o "$dir/create.out" -w '%{http_code}' -X PUT \
		--aws-sigv4 "aws:amz:us-east-1:s3" -u "$ak:$sk" \
		-H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
		"$LAKEVEC_TEST_S3_ENDPOINT/$LAKEVEC_TEST_S3_BUCKET" || true)
	if [ "$code" != 200 ]; then
		cat "$dir/create.out" >&2 2>/dev/null
		_lakevec_s3_fail "create bucket: HTTP $code"
		return
	fi
	echo "ci-s3: versitygw $LAKEVEC_VERSITYGW_VERSION on $LAKEVEC_TEST_S3_ENDPOINT (pid $_LAKEVEC_S3_PID), bucket $LAKEVEC_TEST_S3_BUCKET"
}

# shellcheck source=scripts/ci-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ci-lib.sh"

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
	# Sourced: start, and stop on exit unless the caller has its own EXIT
	# trap (then it must call lakevec_s3_stop itself).
	lakevec_s3_start || return
	_lakevec_chain_exit_trap lakevec_s3_stop
else
	# Run: start, run the command (default: the lake integration tests), stop.
	set -uo pipefail
	cd "$(dirname "$0")/.." || exit 1
	lakevec_s3_start || exit 1
	trap lakevec_s3_stop EXIT
	if [ $# -eq 0 ]; then
		set -- go test -count=1 -run 'Integration' -v ./lake/
	fi
	"$@"
fi
