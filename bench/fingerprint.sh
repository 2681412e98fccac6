#!/usr/bin/env bash
# Image fingerprint benchmark: Sightline against the Python peer a user would
# write (bench/peer_fingerprint.py), on the same files in the same run.
#
#   bench/fingerprint.sh            inputs under /tmp/sightline-bench
#   BENCH_DIR=DIR bench/fingerprint.sh
#
# Needs: python3 with `pip install pdqhash pillow numpy imagehash exifread`,
# and ../shared/conformance/exif/images beside the clone for real photos
# (without it the fixtures alone are used).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BENCH_DIR:-/tmp/sightline-bench}"
target="${CARGO_TARGET_DIR:-target}"
shared="${SIGHTLINE_CONFORMANCE:-$PWD/../shared/conformance}"

cargo build --release -q -p sightline-media --example fingerprint_bench
bin="$target/release/examples/fingerprint_bench"

if [ ! -d "$out/social" ] || [ ! -d "$out/camera" ]; then
  srcs=(fixtures/images)
  [ -d "$shared/exif/images" ] && srcs+=("$shared/exif/images")
  python3 bench/make_inputs.py "$out" "${srcs[@]}"
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
printf '%-8s %-22s %10s %12s\n' set runner files/s "x peer"
for set in social camera; do
  peer=$(python3 bench/peer_fingerprint.py "$out/$set" | sed -n 's/^RESULT files_per_s=//p')
  printf '%-8s %-22s %10.2f %12s\n' "$set" "python peer (1 core)" "$peer" "1.00"
  for t in 1 2; do
    res=$("$bin" "$out/$set" "$t")
    fps=$(sed -n 's/^RESULT files_per_s=//p' <<<"$res")
    printf '%-8s %-22s %10.2f %12.2f\n' "$set" "sightline $t thread(s)" "$fps" "$(python3 -c "print($fps/$peer)")"
    sed -n 2p <<<"$res" | sed 's/^/         /'
  done
  # What ingest does on top: framed-photo regions and centre crops.
  res=$("$bin" "$out/$set" 1 --regions)
  fps=$(sed -n 's/^RESULT files_per_s=//p' <<<"$res")
  printf '%-8s %-22s %10.2f %12.2f
' "$set" "sightline 1 + regions" "$fps" "$(python3 -c "print($fps/$peer)")"
  sed -n 2p <<<"$res" | sed 's/^/         /'
done
