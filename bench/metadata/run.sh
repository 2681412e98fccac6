#!/usr/bin/env bash
# Metadata extraction: sightline against ExifTool on the same 10,000-file
# folder, in the same run, one process each, one core each.
#
#   bench/metadata/run.sh [N_FILES]
#
# The folder is made of hard links to the project's fixture images
# (fixtures/images, fixtures/metadata without its hostile-* files, which
# are measured apart) and, when present, the 100 real camera files of
# ../shared/conformance/exif/images, round-robin. Needs
# exiftool (Debian: libimage-exiftool-perl); installs it when run as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000}
RUNS=${RUNS:-3}
DIR=${BENCH_DIR:-/tmp/sightline-bench-metadata}

if ! command -v exiftool >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl >/dev/null
fi
cargo build --release -q -p sightline
BIN=$PWD/target/release/sightline

mapfile -t SRC < <(
  { find fixtures/images fixtures/metadata -maxdepth 2 -type f \( -name '*.jpg' -o -name '*.png' -o -name '*.webp' -o -name '*.tif' \)
    [ -d ../shared/conformance/exif/images ] && find ../shared/conformance/exif/images -type f
  } | grep -v '/hostile-' | sort)
rm -rf "$DIR" && mkdir -p "$DIR"
for ((i = 0; i < N; i++)); do
  s=${SRC[$((i % ${#SRC[@]}))]}
  d=$(printf '%s/%03d' "$DIR" $((i / 1000)))
  mkdir -p "$d"
  ln "$s" "$d/$(printf '%05d' "$i")-$(basename "$s")" 2>/dev/null || cp "$s" "$d/$(printf '%05d' "$i")-$(basename "$s")"
done
echo "folder: $DIR, $N files from ${#SRC[@]} distinct images, $(du -sh --apparent-size "$DIR" | cut -f1)"

# Median wall time of RUNS runs of a command (stdout discarded).
median() {
  local t=()
  for ((r = 0; r < RUNS; r++)); do
    local a b
    a=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || true
    b=$(date +%s.%N)
    t+=("$(echo "$b - $a" | bc)")
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

cat "$DIR"/*/* >/dev/null # warm the page cache for both
et=$(median exiftool -j -n -G1 -r -q "$DIR")
sl=$(median "$BIN" metadata --json --no-thumbnail-check "$DIR")
st=$(median "$BIN" metadata --json "$DIR")
row() { printf '| %s | %.2f s | %.0f files/s | %.1f× |\n' "$1" "$2" "$(echo "$N / $2" | bc -l)" "$(echo "$et / $2" | bc -l)"; }
echo
echo "| reader ($N files, 1 process) | wall | throughput | vs ExifTool |"
echo "|---|---|---|---|"
row "exiftool -j -n -G1 -r ($(exiftool -ver))" "$et"
row "sightline metadata --json --no-thumbnail-check" "$sl"
row "sightline metadata --json (decodes thumbnail + image, PDQ both)" "$st"

# The hostile fixtures, one by one: what a single bad upload costs.
echo
echo "| hostile file | exiftool | sightline metadata |"
echo "|---|---|---|"
for f in fixtures/metadata/hostile-*; do
  RUNS=1
  a=$(median exiftool -j -n -G1 -q "$f")
  b=$(median "$BIN" metadata --json "$f")
  printf '| %s | %.2f s | %.3f s |\n' "$(basename "$f")" "$a" "$b"
done
