#!/usr/bin/env bash
# Candidate-incident quality on the labelled sets (fixtures/incidents/eval,
# the development set the weights were set on, and fixtures/incidents/
# holdout, written separately and never tuned on), and how long scoring
# takes with the fixture registry and with one 25 times larger.
#
#   bench/incidents/run.sh            [--verbose to list every miss]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release -q -p sightline
bin="$CARGO_TARGET_DIR/release/sightline"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"

# Ingest a labelled set with the registry, apply its analyst decisions,
# write every item's candidates to $2.
prepare() {
  local set=$1 out=$2 data=$3 registry=${4:-fixtures/incidents/registry.csv}
  "$bin" --data-dir "$data" incidents import "$registry" >/dev/null
  "$bin" --data-dir "$data" ingest --json --manifest "$set/manifest.jsonl" >/dev/null
  python3 - "$set" "$bin" "$data" <<'PY'
import hashlib, json, subprocess, sys
from pathlib import Path
s, binary, data = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
posts = {json.loads(l)["id"]: json.loads(l) for l in open(s / "manifest.jsonl", encoding="utf-8") if l.strip()}
for l in open(s / "decisions.jsonl", encoding="utf-8"):
    if not l.strip():
        continue
    d = json.loads(l)
    sha = hashlib.sha256((s / posts[d["post"]]["media"][0]["path"]).read_bytes()).hexdigest()
    subprocess.run([binary, "--data-dir", data, "decide", sha, d["incident"],
                    "--verdict", "confirm", "--analyst", "eval"], check=True, stdout=subprocess.DEVNULL)
PY
  "$bin" --data-dir "$data" candidates --all --refresh --json > "$out"
}

for set in eval holdout; do
  dir=fixtures/incidents/$set
  [ -f "$dir/labels.jsonl" ] || continue
  echo
  echo "== $set set"
  prepare "$dir" "$work/$set.jsonl" "$work/data-$set"
  python3 bench/incidents/score.py "$dir" "$work/$set.jsonl" "$@"
done

# Scoring time: every item of the eval set against the registry, then
# against the registry repeated 25 times (shifted a year at a time, so the
# extra incidents are plausible decoys).
echo
echo "== scoring time (candidates --all --refresh, best of 3)"
python3 - fixtures/incidents/registry.csv "$work/big.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    for k in range(25):
        for r in rows:
            r = dict(r)
            y, rest = r["event_date"][:4], r["event_date"][4:]
            if k:
                r["event_id_cnty"] += f"-y{k}"
                r["event_date"] = f"{int(y) + k}{rest}".replace("-02-29", "-02-28")
            w.writerow(r)
PY
"$bin" --data-dir "$work/data-big" incidents import "$work/big.csv" >/dev/null
"$bin" --data-dir "$work/data-big" ingest --json --manifest fixtures/incidents/eval/manifest.jsonl >/dev/null
items=$("$bin" --data-dir "$work/data-eval" ls --json | wc -l)
for data in data-eval data-big; do
  incidents=$("$bin" --data-dir "$work/$data" incidents ls --json | wc -l)
  best=""
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    "$bin" --data-dir "$work/$data" candidates --all --refresh --json >/dev/null
    e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  printf '%s items x %s incidents: %.3f s (%.0f item-incident pairs/s, process start included)\n' \
    "$items" "$incidents" "$best" "$(echo "$items * $incidents / $best" | bc -l)"
done
