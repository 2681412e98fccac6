#!/usr/bin/env bash
# URL job benchmark: items/s end to end (fetch from a loopback HTTP server,
# preserve, fingerprint, metadata, record, cluster) at 1/2/4/8 downloads in
# flight, where the time goes, and the Python peer on the same URLs in the
# same run.
#
#   bench/jobs/run.sh                 inputs under /tmp/sightline-bench/social
#   BENCH_DIR=DIR CONCURRENCY="1 8" bench/jobs/run.sh
#
# Needs python3 with `pip install pdqhash pillow numpy imagehash exifread`
# (as bench/fingerprint.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${BENCH_DIR:-/tmp/sightline-bench}"
levels="${CONCURRENCY:-1 2 4 8}"
port="${PORT:-8799}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

cargo build --release -q -p sightline -p xtask
bin="$CARGO_TARGET_DIR/release/sightline"
if [ ! -d "$out/social" ]; then
  srcs=(fixtures/images)
  [ -d ../shared/conformance/exif/images ] && srcs+=(../shared/conformance/exif/images)
  python3 bench/make_inputs.py "$out" "${srcs[@]}"
fi

"$CARGO_TARGET_DIR/release/xtask" serve --dir "$out/social" "127.0.0.1:$port" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 0.5

work=$(mktemp -d)
(cd "$out/social" && ls) | sed "s|^|http://127.0.0.1:$port/|" > "$work/urls.txt"
n=$(wc -l < "$work/urls.txt")
bytes=$(du -sb "$out/social" | cut -f1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "inputs: $n JPEGs, longest side 1080, $((bytes / n / 1024)) KiB average"
printf '| fetch concurrency | Sightline items/s | Python peer items/s | Sightline / peer | fetch | fingerprint | metadata | store | record | cluster |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for c in $levels; do
  cat > "$work/job.toml" <<TOML
version = 1
name = "bench-$c"
[concurrency]
fetch = $c
[network]
allow = ["127.0.0.1/32"]
[[sources]]
kind = "urls"
file = "urls.txt"
TOML
  rm -rf "$work/data"
  "$bin" --data-dir "$work/data" run "$work/job.toml" --json > "$work/sightline-$c.json"
  rm -rf "$work/peer"
  peer=$(python3 bench/jobs/peer_fetch.py "$work/urls.txt" "$work/peer" "$c" | sed -n 's/^RESULT items_per_s=//p')
  python3 - "$work/sightline-$c.json" "$c" "$peer" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
c, peer = sys.argv[2], float(sys.argv[3])
assert s["rejected"] == 0, s["rejections"]
rate = s["files"] / s["elapsed_s"]
t = s["timings"]
per = lambda k: f'{1000 * t[k] / s["files"]:.1f} ms'
print(f'| {c} | {rate:.1f} | {peer:.1f} | {rate / peer:.2f}x | {per("fetch_s")} | {per("fingerprint_s")} | {per("metadata_s")} | {per("store_s")} | {per("record_s")} | {per("cluster_s")} |')
PY
done
echo "(stage columns: time per item summed over threads; with several in flight they overlap)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$work"
