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

echo "== fuzz smoke (each decoder of bytes from disk, briefly)"
go test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 15s ./hnsw/
