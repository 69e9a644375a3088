#!/usr/bin/env bash
# Throughput of this encoder vs the plain-PyTorch reference on the same
# machine and shapes: 32 sequences × 128 tokens, all-MiniLM-L6-v2 shapes
# (random weights), 2 threads each. Runs alternate (ROUNDS, default 3) so a
# busy machine hurts both alike; prints the best of each and the ratio.
# Needs /usr/bin/python3 with torch (apt-get install -y python3-torch).
#
#   bash engine/embed/bert/testdata/bench_vs_torch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
bin=$(mktemp -d)/bert.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" .
out=$(dirname "$bin")/out.txt
for _ in $(seq "$rounds"); do
	OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 testdata/bert_ref.py bench random --iters 3 --threads "$threads" | tee -a "$out"
	GOMAXPROCS=$threads "$bin" -test.run '^$' -test.bench '^BenchmarkEmbed$' -test.benchtime 3x | grep '^Benchmark' | tee -a "$out"
done
torch=$(grep -o '"sentences_per_second": [0-9.]*' "$out" | awk '{print $2}' | sort -g | tail -1)
ours=$(grep -o '[0-9.]* sentences/s' "$out" | awk '{print $1}' | sort -g | tail -1)
awk -v o="$ours" -v t="$torch" 'BEGIN { printf "best of %s: lakevec %.1f sentences/s, PyTorch %.1f sentences/s, ratio %.2fx\n", "'"$rounds"'", o, t, o / t }'
