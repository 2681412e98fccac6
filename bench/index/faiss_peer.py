#!/usr/bin/env python3
"""FAISS on the same data as Sightline's index_bench, at the same radius.

    pip install faiss-cpu numpy
    python3 bench/index/faiss_peer.py DATA.bin RESULTS.res --index flat|NHASHxB [--queries N]

DATA.bin and RESULTS.res are written by
`cargo run --release -p sightline-index --example index_bench -- --out DATA.bin --results RESULTS.res`:
the stored hashes, the queries and the radius d, then Sightline's answer to
every query. This script measures, single-threaded, per-query range search
with

* IndexBinaryFlat (exact, a linear scan), and
* IndexBinaryMultiHash(256, nhash, b) with nflip = floor(d / nhash), the
  pigeonhole setting that makes it exact (bits left out when
  nhash * b < 256 only lower the distance, so it stays exact),

and compares every FAISS answer with Sightline's: "misses" are pairs
Sightline found that FAISS did not (FAISS recall below 1), "extras" pairs
FAISS found that Sightline did not (a Sightline miss). FAISS's binary range
search keeps distances strictly below its radius, so it is given d + 1.
Memory is the RSS growth while the index is built (the codes FAISS copies
plus its tables): run one index per process, as run.sh does, or the
allocator's reuse of freed memory hides it. The last line, `RESULT k=v ...`,
is for run.sh.
"""

import argparse
import struct
import time

import numpy as np

import faiss


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def load_data(path):
    with open(path, "rb") as f:
        head = f.read(32)
        assert head[:8] == b"SLIDXv1\0", "not an index_bench data file"
        n, q, d, _ = struct.unpack("<QQII", head[8:])
        codes = np.fromfile(f, dtype=np.uint8, count=(n + q) * 32).reshape(n + q, 32)
    return codes[:n], codes[n:], d


def load_results(path):
    raw = np.fromfile(path, dtype=np.uint8)
    assert raw[:8].tobytes() == b"SLIDRv1\0", "not an index_bench results file"
    (q,) = struct.unpack("<Q", raw[8:16].tobytes())
    words = raw[16:].view("<u4")
    out, pos = [], 0
    for _ in range(q):
        count = int(words[pos])
        pairs = words[pos + 1 : pos + 1 + 2 * count].reshape(count, 2)
        out.append(set(map(tuple, pairs.tolist())))
        pos += 1 + 2 * count
    return out


def pct(values, p):
    s = sorted(values)
    if not s:
        return 0.0
    i = min(len(s), max(1, int(np.ceil(len(s) * p)))) - 1
    return s[i]


def run(name, index, queries, d, ours, limit):
    lat, misses, extras, found = [], 0, 0, 0
    for i in range(min(limit, len(queries))):
        q = queries[i : i + 1]
        t = time.perf_counter()
        lims, dist, ids = index.range_search(q, d + 1)
        lat.append((time.perf_counter() - t) * 1e6)
        got = set(zip(ids[lims[0] : lims[1]].tolist(), dist[lims[0] : lims[1]].astype(int).tolist()))
        want = ours[i]
        misses += len(want - got)
        extras += len(got - want)
        found += len(want)
    recall = 1.0 - misses / found if found else 1.0
    print(
        f"{name}: {len(lat)} queries, p50 {pct(lat, 0.5):.1f} us, p99 {pct(lat, 0.99):.1f} us, "
        f"mean {np.mean(lat):.1f} us; recall vs Sightline {recall:.4f} "
        f"({misses} of {found} pairs missed), {extras} pairs Sightline lacks"
    )
    return lat, recall, misses, extras


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("results")
    ap.add_argument("--index", default="flat", help="flat, or NHASHxB for IndexBinaryMultiHash")
    ap.add_argument("--queries", type=int, default=1 << 30, help="measure only the first N queries")
    args = ap.parse_args()

    faiss.omp_set_num_threads(1)
    xb, xq, d = load_data(args.data)
    ours = load_results(args.results)
    n = len(xb)
    print(f"faiss {faiss.__version__}, {n} hashes, {len(xq)} queries, d = {d}, 1 thread")

    r0 = rss_bytes()
    t = time.perf_counter()
    if args.index == "flat":
        tag, name = "faiss-flat", "IndexBinaryFlat"
        index = faiss.IndexBinaryFlat(256)
    else:
        nhash, b = (int(x) for x in args.index.split("x"))
        nflip = d // nhash
        tag = f"faiss-multihash-{nhash}x{b}"
        name = f"IndexBinaryMultiHash(nhash={nhash}, b={b}, nflip={nflip})"
        index = faiss.IndexBinaryMultiHash(256, nhash, b)
        index.nflip = nflip
    index.add(xb)
    build = time.perf_counter() - t
    mem = rss_bytes() - r0
    print(f"{name}: built in {build:.2f} s, RSS +{mem / 1e6:.0f} MB ({mem / (32 * n):.2f} x raw)")
    lat, recall, misses, extras = run(name, index, xq, d, ours, args.queries)
    print(
        f"RESULT index={tag} n={n} build_s={build:.3f} mem_bytes={mem} mem_ratio={mem / (32 * n):.3f} "
        f"queries={len(lat)} p50_us={pct(lat, 0.5):.1f} p99_us={pct(lat, 0.99):.1f} "
        f"mean_us={np.mean(lat):.1f} recall={recall:.4f} misses={misses} extras={extras}"
    )


if __name__ == "__main__":
    main()
