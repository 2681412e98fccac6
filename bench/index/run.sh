#!/usr/bin/env bash
# Near-duplicate index benchmark: Sightline's PdqIndex against brute force,
# FAISS IndexBinaryFlat and FAISS IndexBinaryMultiHash, on the same data, at
# 1M and 10M stored hashes, d = 31, one thread. Prints a markdown table.
#
#   bench/index/run.sh                      # 1M and 10M (about 20 minutes, 10 GB peak)
#   SIZES=1000000 bench/index/run.sh        # one size
#   MULTIHASH="8x32 16x16" bench/index/run.sh
#
# Data, answers and logs go to $OUT (default /tmp/sightline-index-bench).
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZES="${SIZES:-1000000 10000000}"
MULTIHASH="${MULTIHASH:-8x32 16x16}"
OUT="${OUT:-/tmp/sightline-index-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-index}"
mkdir -p "$OUT"

python3 -c 'import faiss, numpy' 2>/dev/null || pip install -q faiss-cpu numpy

# The same instructions FAISS's wheel dispatches to at run time (popcnt,
# AVX2/AVX-512), for our brute force and our index alike.
RUSTFLAGS="-C target-cpu=native" cargo build --release -q -p sightline-index --example index_bench
bin="$CARGO_TARGET_DIR/release/examples/index_bench"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $SIZES; do
  # A linear scan of 10M takes ~30 ms a query: sample the slow ones there.
  if [ "$n" -ge 5000000 ]; then slow=200; else slow=1000; fi
  echo "==> Sightline PdqIndex, n = $n"
  "$bin" --n "$n" --queries 1000 --d 31 --brute "$slow" --incremental 1000000 \
    --out "$OUT/data-$n.bin" --results "$OUT/answers-$n.res" | tee "$OUT/sightline-$n.log"
  for idx in flat $MULTIHASH; do
    echo "==> FAISS $idx, n = $n"
    python3 bench/index/faiss_peer.py "$OUT/data-$n.bin" "$OUT/answers-$n.res" \
      --index "$idx" --queries "$slow" | tee "$OUT/faiss-$idx-$n.log"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/index/table.py "$OUT" $SIZES | tee "$OUT/table.md"
