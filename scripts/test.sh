#!/usr/bin/env bash
# The project's test command (README "Tests"; .ci/run calls exactly this).
# Needs only Go; tests that need more (real S3 server, Chromium, PyTorch)
# are installed by .ci/run and skip with a message when absent.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go mod tidy (must be clean)"
go mod tidy -diff

echo "== gofmt"
unformatted=$(gofmt -l $(go list -f '{{.Dir}}' ./...))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test (full sizes)"
go test -count=1 ./...

echo "== go test -race (short sizes: every concurrent path, smaller data)"
go test -race -short -count=1 ./...

echo "== fuzz smoke (every Fuzz target: the decoders of bytes from disk, briefly)"
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "-- $pkg $target"
		# A count, not a duration: with -fuzztime 10s Go's fuzzer can end with
		# a spurious "context deadline exceeded" when time runs out mid-step.
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "${FUZZTIME:-50000x}" -fuzzminimizetime 200x "$pkg"
	done
done
