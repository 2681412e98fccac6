#!/usr/bin/env bash
# Benchmark our vPDQ (examples/vpdq_bench.rs) against pip `vpdq` (the
# reference C++) on the same files, in the same run, and print a markdown
# table. Makes 720p and 1080p test videos (30 s, testsrc2, x264) first.
#   ./bench.sh [SECONDS] [RUNS]      defaults: 30 s videos, best of 2 runs
# Needs ffmpeg, cargo, and `pip install vpdq` for the reference column.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-30}
RUNS=${2:-2}
OUT=${BENCH_DIR:-${CARGO_TARGET_DIR:-target}/vpdq-bench}
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(pwd)/target}

for res in 1280x720 1920x1080; do
  f="$OUT/testsrc2-${res}-${SECS}s.mp4"
  [ -s "$f" ] || ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=${res}:rate=30:duration=${SECS}" \
    -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p "$f"
done

cargo build --release -j2 -p sightline-media --example vpdq_bench >/dev/null 2>&1
BIN="$CARGO_TARGET_DIR/release/examples/vpdq_bench"
HAVE_REF=0
python3 -c "import vpdq" 2>/dev/null && HAVE_REF=1

echo
echo "| video | sampling | hashed frames | ours s | ours decoded fps | ours × realtime | reference s | reference decoded fps | reference × realtime | ours/reference speed | identical |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for f in "$OUT"/testsrc2-*-"${SECS}"s.mp4; do
  for spf in 1 0; do
    label=$([ "$spf" = 1 ] && echo "1 s" || echo "every frame")
    # ours: path seconds hashed decoded duration fps xrt
    read -r _ ours n decoded dur _ _ < <("$BIN" bench --spf "$spf" --runs "$RUNS" "$f")
    "$BIN" hash --spf "$spf" "$f" > "$OUT/ours.txt"
    if [ "$HAVE_REF" = 1 ]; then
      ref=$(python3 - "$f" "$spf" "$RUNS" "$OUT/ref.txt" <<'PY'
import sys, time, vpdq
path, spf, runs, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
best = float("inf")
for _ in range(runs):
    t = time.perf_counter()
    feats = vpdq.computeHash(path, seconds_per_hash=spf)
    best = min(best, time.perf_counter() - t)
with open(out, "w") as fh:
    for x in feats:
        fh.write(f"{x.frame_number},{x.quality},{x.hex},{x.timestamp:.3f}\n")
print(f"{best:.3f}")
PY
)
      same=$(cmp -s "$OUT/ours.txt" "$OUT/ref.txt" && echo yes || echo NO)
      awk -v v="$(basename "$f")" -v l="$label" -v n="$n" -v o="$ours" -v r="$ref" -v d="$decoded" -v u="$dur" -v s="$same" \
        'BEGIN{printf "| %s | %s | %d | %.2f | %.0f | %.1f | %.2f | %.0f | %.1f | %.2f× | %s |\n", v,l,n,o,d/o,u/o,r,d/r,u/r,r/o,s}'
    else
      awk -v v="$(basename "$f")" -v l="$label" -v n="$n" -v o="$ours" -v d="$decoded" -v u="$dur" \
        'BEGIN{printf "| %s | %s | %d | %.2f | %.0f | %.1f | - | - | - | - | - |\n", v,l,n,o,d/o,u/o}'
    fi
  done
done
echo
echo "machine: $(nproc) cores; $(ffmpeg -version | head -1 | cut -d' ' -f1-3)"
