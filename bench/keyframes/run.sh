#!/usr/bin/env bash
# Keyframes: Sightline's survey pass against ffmpeg's own scene detection
# (`select='gt(scene,T)'`, what analysts script today) on the same files,
# in the same run, and the survey's cost beside the vPDQ pass that ingest
# also runs. Prints two markdown tables.
#   bench/keyframes/run.sh [RUNS]      default: best of 2 runs
# Needs ffmpeg and cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-2}
OUT=${BENCH_DIR:-${CARGO_TARGET_DIR:-target}/keyframes-bench}
mkdir -p "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$(pwd)/target}
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# Speed inputs: the real-photo shot fixture played 5 times (60 s, 25
# shots), upscaled to 720p and 1080p.
SHOTS=fixtures/keyframes/shots.mp4
for res in 1280x720 1920x1080; do
  f="$OUT/shots5-${res}.mp4"
  [ -s "$f" ] || ff -stream_loop 4 -i "$SHOTS" -vf "scale=${res/x/:}:flags=bicubic" \
    -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p "$f"
done

cargo build --release -j2 -p sightline-media --example keyframes_bench --example vpdq_bench >/dev/null 2>&1
KF="$CARGO_TARGET_DIR/release/examples/keyframes_bench"
VP="$CARGO_TARGET_DIR/release/examples/vpdq_bench"

# ffmpeg scene detection: prints the times of frames whose scene score
# passes T (plus nothing for the first frame), and the wall time.
scene() { # file threshold -> "seconds<TAB>t1,t2,..."
  python3 - "$1" "$2" "$RUNS" <<'PY'
import re, subprocess, sys, time
path, thr, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
best, times = float("inf"), []
for _ in range(runs):
    t = time.perf_counter()
    p = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", path, "-an",
                        "-vf", f"select='gt(scene,{thr})',showinfo", "-f", "null", "-"],
                       capture_output=True, text=True, check=True)
    best = min(best, time.perf_counter() - t)
    times = [round(float(m) * 1000) for m in re.findall(r"pts_time:([0-9.]+)", p.stderr)]
print(f"{best:.3f}\t{','.join(map(str, times))}")
PY
}

echo
echo "Shot changes found on \`fixtures/keyframes/shots.mp4\` (cuts at 3.00, 8.48, 10.48 s; a dissolve 5.48–6.48 s):"
echo
echo "| method | keyframes / detections (ms) |"
echo "|---|---|"
IFS=$'\t' read -r _ _ _ _ times < <("$KF" "$SHOTS")
echo "| sightline (first, cuts, settled dissolve, last) | $times |"
for thr in 0.3 0.4; do
  IFS=$'\t' read -r _ times < <(scene "$SHOTS" "$thr")
  echo "| ffmpeg scene > $thr | ${times:-none} |"
done

echo
echo "| video | sightline survey s | × realtime | ffmpeg scene>0.3 s | sightline/ffmpeg speed | vPDQ 1 s pass s | survey / vPDQ time |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for f in "$OUT"/shots5-*.mp4; do
  IFS=$'\t' read -r _ ours samples _ _ < <("$KF" --runs "$RUNS" "$f")
  IFS=$'\t' read -r peer _ < <(scene "$f" 0.3)
  read -r _ vp _ _ dur _ _ < <("$VP" bench --spf 1 --runs "$RUNS" "$f")
  awk -v v="$(basename "$f")" -v o="$ours" -v p="$peer" -v vp="$vp" -v d="$dur" \
    'BEGIN{printf "| %s | %.2f | %.0f | %.2f | %.2f× | %.2f | %.2f |\n", v, o, d/o, p, p/o, vp, o/vp}'
done
echo
