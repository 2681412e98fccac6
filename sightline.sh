#!/usr/bin/env bash
# The two commands of the README.
#   ./sightline.sh demo   ingest the bundled fixtures into the embedded store and show what happened
#   ./sightline.sh test   everything CI runs: format, lints, tests, fixture determinism, conformance
# Both install what they need on a fresh Debian machine (run as root) and
# need nothing else but the Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")"

# Install Debian packages that are missing (needs root; a no-op when present).
need_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Build-time packages: nasm assembles libjpeg-turbo's SIMD decoder (via the
# mozjpeg crate), which gives the exact JPEG pixels the PDQ reference hashes.
BUILD_PACKAGES=(nasm)
# Run-time packages: ffprobe (from ffmpeg) reads video containers.
RUN_PACKAGES=(ffmpeg)

demo() {
  need_apt "${BUILD_PACKAGES[@]}" "${RUN_PACKAGES[@]}"
  cargo build --release -q -p sightline -p xtask
  local bin=target/release/sightline
  local data="${SIGHTLINE_DATA:-$PWD/demo-data}"
  echo "==> sightline ingest fixtures/   (data dir: $data)"
  "$bin" --data-dir "$data" ingest fixtures/
  echo
  echo "==> sightline run pipelines/telegram-fixtures.toml   (a Telegram Desktop export: posts around the media, media left out)"
  "$bin" --data-dir "$data" run pipelines/telegram-fixtures.toml
  # The fixture web site (feeds, a Mastodon-compatible API, media) on loopback.
  local port="${SIGHTLINE_DEMO_PORT:-8765}"
  target/release/xtask serve "127.0.0.1:$port" >/dev/null &
  DEMO_SITE=$!
  trap 'kill "${DEMO_SITE:-}" 2>/dev/null || true' EXIT
  sleep 0.5
  for p in mastodon feed; do
    echo
    echo "==> sightline run pipelines/$p-fixtures.toml   (fetched from http://127.0.0.1:$port through the SSRF guard)"
    "$bin" --data-dir "$data" run "pipelines/$p-fixtures.toml" --var "fixtures=http://127.0.0.1:$port"
  done
  kill "$DEMO_SITE" 2>/dev/null || true
  echo
  echo "==> sightline run pipelines/incidents-fixtures.toml   (labelled posts in English, Dari, Pashto, Russian, scored against the incident registry)"
  "$bin" --data-dir "$data" run pipelines/incidents-fixtures.toml
  echo
  echo "==> sightline ls"
  "$bin" --data-dir "$data" ls
  echo
  echo "==> sightline check"
  "$bin" --data-dir "$data" check
  local first
  first=$("$bin" --data-dir "$data" ls --json | head -n 1 | sed -E 's/.*"id":"([0-9a-f]+)".*/\1/')
  echo
  echo "==> sightline show $first"
  "$bin" --data-dir "$data" show "$first"
  echo
  echo "==> sightline clusters   (re-posts grouped with the earliest-seen copy)"
  "$bin" --data-dir "$data" clusters
  local shot
  shot=$(ls fixtures/images/reposts/*__screenshot.jpg | head -n 1)
  echo
  echo "==> sightline similar $shot"
  "$bin" --data-dir "$data" similar "$shot"
  local recycled
  recycled=$("$bin" --data-dir "$data" candidates --all --json | grep -m1 recycled-footage | sed -E 's/.*"evidence":"([0-9a-f]+)".*/\1/')
  echo
  echo "==> sightline candidates $recycled   (an old picture re-posted as a new attack: ranked, explained, flagged)"
  "$bin" --data-dir "$data" candidates "$recycled"
  echo
  echo "==> sightline metadata fixtures/metadata/edited.jpg   (what the file says, and what an analyst should notice)"
  "$bin" metadata fixtures/metadata/edited.jpg | grep -v '^    '
  cat <<TXT

Where to look next:
  $bin --data-dir $data show <id>     one item and every place it was seen
  $bin --data-dir $data similar FILE  stored near-duplicates of any file
  $bin fingerprint --json FILE        PDQ (exchangeable with ThreatExchange), pHash, ...
  $bin metadata --json FILE           EXIF/XMP/container/C2PA fields with origins, and flags
  $bin --data-dir $data candidates --all   the incident each item may show, every score explained
  $bin --data-dir $data incidents ls      the incident registry (import/export ACLED CSV, GeoJSON)
  $bin --data-dir $data history       the audit trail
  $data/blobs/sha256/                 the preserved originals, byte for byte
  pipelines/README.md                 batch jobs: folders, manifests, URLs, Telegram, Mastodon, feeds
Run this again: the second ingest finds only duplicates, and every job skips what it collected.
TXT
}

run_tests() {
  # coreutils (mkfifo) and util-linux (setpriv) are used by the tests; both
  # are essential packages on Debian, listed here so the need is written down.
  need_apt "${BUILD_PACKAGES[@]}" "${RUN_PACKAGES[@]}" coreutils util-linux
  echo "==> cargo fmt --check"
  cargo fmt --all -- --check
  echo "==> cargo clippy"
  cargo clippy --workspace --all-targets -q -- -D warnings
  echo "==> fixtures are what the generator makes"
  cargo run -q -p xtask -- fixtures --check
  echo "==> cargo test"
  cargo test --workspace
  local conf="${SIGHTLINE_CONFORMANCE:-$PWD/../shared/conformance}"
  if [ -d "$conf" ]; then
    echo "==> conformance suite against $conf"
    # Conformance tests are the workspace's only #[ignore]d tests.
    SIGHTLINE_CONFORMANCE="$conf" cargo test --workspace -- --ignored
  else
    echo "==> conformance suite NOT run: $conf not found (it holds reference outputs that live beside the project, not in it)"
  fi
}

case "${1:-}" in
  demo) demo ;;
  test) run_tests ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
