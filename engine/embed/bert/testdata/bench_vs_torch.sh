#!/usr/bin/env bash
# Throughput of this encoder vs the plain-PyTorch reference on the same
# machine and shapes: 32 sequences × 128 tokens, all-MiniLM-L6-v2 shapes
# (random weights), 2 threads each. Runs alternate (ROUNDS, default 3) so a
# busy machine hurts all alike; prints the best of each and the ratio.
#
# PyTorch runs twice per round: with the environment as it is, and with
# OPENBLAS_CORETYPE unset. (This machine image sets OPENBLAS_CORETYPE=Haswell,
# which keeps OpenBLAS on AVX2 kernels; unset, OpenBLAS picks its AVX-512
# ones.) The ratio is against the faster of the two.
# Needs /usr/bin/python3 with torch (apt-get install -y python3-torch).
#
#   bash engine/embed/bert/testdata/bench_vs_torch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
threads=${THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/bert.test" .
for _ in $(seq "$rounds"); do
	OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 testdata/bert_ref.py bench random --iters 3 --threads "$threads" |
		sed "s/^/torch OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} /" | tee -a "$tmp/out"
	env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 testdata/bert_ref.py bench random --iters 3 --threads "$threads" |
		sed 's/^/torch OPENBLAS_CORETYPE=unset /' | tee -a "$tmp/out"
	GOMAXPROCS=$threads "$tmp/bert.test" -test.run '^$' -test.bench '^BenchmarkEmbed$' -test.benchtime 3x |
		grep '^Benchmark' | tee -a "$tmp/out"
done
torch_env=$(grep "^torch OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} " "$tmp/out" | grep -o '"sentences_per_second": [0-9.]*' | grep -o '[0-9.]*$' | sort -g | tail -1)
torch_auto=$(grep '^torch OPENBLAS_CORETYPE=unset ' "$tmp/out" | grep -o '"sentences_per_second": [0-9.]*' | grep -o '[0-9.]*$' | sort -g | tail -1)
ours=$(grep -o '[0-9.]* sentences/s' "$tmp/out" | awk '{print $1}' | sort -g | tail -1)
awk -v o="$ours" -v a="$torch_env" -v b="$torch_auto" -v r="$rounds" -v env="${OPENBLAS_CORETYPE:-unset}" 'BEGIN {
	t = (a > b) ? a : b
	printf "best of %d: lakevec %.1f sentences/s; PyTorch %.1f (OPENBLAS_CORETYPE=%s), %.1f (unset); ratio %.2fx vs the faster\n", r, o, a, env, b, o / t
}'
