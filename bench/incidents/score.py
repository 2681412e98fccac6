#!/usr/bin/env python3
"""Score `sightline candidates --all --json` against the labelled set.

usage: score.py EVAL_DIR CANDIDATES.jsonl [--verbose]

Each labelled post's media file is hashed (SHA-256 = item id) to find its
line. Posts the analyst decided on (decisions.jsonl) are left out of the
accuracy: their answer was given, not found.
"""
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ev = Path(sys.argv[1])
verbose = "--verbose" in sys.argv
cands = {}
for line in open(sys.argv[2], encoding="utf-8"):
    d = json.loads(line)
    cands[d["sha256"]] = d
posts = {}
for line in open(ev / "manifest.jsonl", encoding="utf-8"):
    p = json.loads(line)
    posts[p["id"]] = p
decided = {json.loads(l)["post"] for l in open(ev / "decisions.jsonl", encoding="utf-8") if l.strip()}
labels = [json.loads(l) for l in open(ev / "labels.jsonl", encoding="utf-8") if l.strip()]


def sha_of(post):
    return hashlib.sha256((ev / posts[post]["media"][0]["path"]).read_bytes()).hexdigest()


# Recycling is a property of the item: the same bytes posted as the
# original and again as a re-post make one item, flagged for the re-post.
item_recycled = defaultdict(bool)
for lab in labels:
    item_recycled[sha_of(lab["post"])] |= lab["recycled"]

n = correct = wrong_high = 0
recycled = recycled_flagged = 0
false_recycled = 0
by_case = defaultdict(lambda: [0, 0])
bands = defaultdict(lambda: [0, 0])
misses = []
for lab in labels:
    if lab["post"] in decided:
        continue
    sha = sha_of(lab["post"])
    c = cands.get(sha)
    if c is None:
        print(f"no candidates line for {lab['post']}", file=sys.stderr)
        continue
    top = c["candidates"][0] if c["candidates"] else None
    # A post of no registered incident is right when nothing is ranked
    # above the low band.
    if lab["incident"] is None:
        ok = top is None or top["band"] == "low"
    else:
        ok = top is not None and top["incident"] == lab["incident"]
    n += 1
    correct += ok
    by_case[lab["case"]][0] += ok
    by_case[lab["case"]][1] += 1
    if top is not None:
        right = top["incident"] == lab["incident"]
        bands[top["band"]][0] += right
        bands[top["band"]][1] += 1
        if top["band"] == "high" and not right:
            wrong_high += 1
    flagged = any(f["code"] == "recycled-footage" for f in c["flags"])
    if lab["recycled"]:
        recycled += 1
        recycled_flagged += flagged
    elif flagged and not item_recycled[sha]:
        false_recycled += 1
    if not ok and verbose:
        misses.append((lab, top, c["flags"]))

print(f"posts scored          {n}")
print(f"top-1 accuracy        {correct}/{n} = {100*correct/n:.1f}%")
print(f"wrong incident first in the high band: {wrong_high}")
print(f"recycled detected     {recycled_flagged}/{recycled}; flagged wrongly {false_recycled}")
print("by case:")
for k, (a, b) in sorted(by_case.items()):
    print(f"  {k:<24} {a}/{b}")
print("top candidate by band (right/total):")
for k in ["high", "medium", "low"]:
    a, b = bands[k]
    if b:
        print(f"  {k:<7} {a}/{b} = {100*a/b:.0f}%")
for lab, top, flags in misses:
    print("MISS", lab["post"], lab["case"], "want", lab["incident"], "got",
          top and (top["incident"], top["score"], top["band"]), "|", lab["note"])
    if top:
        for w in top["why"]:
            print("      ", w)
print(json.dumps({"n": n, "correct": correct, "wrong_high": wrong_high,
                  "recycled": recycled, "recycled_flagged": recycled_flagged,
                  "false_recycled": false_recycled}))
