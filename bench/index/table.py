#!/usr/bin/env python3
"""Prints the markdown table of a bench/index/run.sh output folder.

    python3 bench/index/table.py OUT_DIR N [N ...]
"""

import glob
import os
import sys


def results(path):
    with open(path) as f:
        for line in f:
            if line.startswith("RESULT "):
                return dict(kv.split("=", 1) for kv in line.split()[1:])
    return None


def main():
    out, sizes = sys.argv[1], sys.argv[2:]
    print("| N | method | build | p50 | p99 | mean | memory (x raw) | answers vs Sightline | p50 / p99 vs Sightline |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        ours = results(os.path.join(out, f"sightline-{n}.log"))
        if not ours:
            continue
        p50, p99 = float(ours["p50_us"]), float(ours["p99_us"])
        label = f"{int(n) / 1e6:g}M"

        def row(method, build, r50, r99, mean, mem, answers):
            ratio = f"{r50 / p50:.1f}x / {r99 / p99:.1f}x slower" if r50 >= p50 else f"{p50 / r50:.1f}x / {p99 / r99:.1f}x faster"
            if method.startswith("**Sightline"):
                ratio = "1 / 1"
            print(f"| {label} | {method} | {build} | {r50:.0f} us | {r99:.0f} us | {mean:.0f} us | {mem} | {answers} | {ratio} |")

        row(
            "**Sightline PdqIndex**",
            f"{float(ours['build_s']):.1f} s",
            p50,
            p99,
            float(ours["mean_us"]),
            f"{int(ours['mem_bytes']) / 1e6:.0f} MB ({float(ours['mem_ratio']):.2f}x)",
            f"exact: {ours['misses']} misses, {ours['extras']} extras vs brute force on {ours['brute_n']} queries",
        )
        row(
            "brute force (Rust, popcount)",
            "none",
            float(ours["brute_p50_us"]),
            float(ours["brute_p99_us"]),
            float(ours["brute_mean_us"]),
            "1.00x",
            f"the oracle ({ours['brute_n']} queries)",
        )
        for path in sorted(glob.glob(os.path.join(out, f"faiss-*-{n}.log"))):
            r = results(path)
            if not r:
                continue
            name = {"faiss-flat": "FAISS IndexBinaryFlat"}.get(r["index"], r["index"])
            if name.startswith("faiss-multihash-"):
                nhash, b = name.removeprefix("faiss-multihash-").split("x")
                name = f"FAISS IndexBinaryMultiHash nhash={nhash} b={b} nflip={31 // int(nhash)}"
            row(
                name,
                f"{float(r['build_s']):.1f} s",
                float(r["p50_us"]),
                float(r["p99_us"]),
                float(r["mean_us"]),
                f"{int(r['mem_bytes']) / 1e6:.0f} MB ({float(r['mem_ratio']):.2f}x)",
                f"recall {r['recall']}, {r['extras']} pairs Sightline lacks ({r['queries']} queries)",
            )
    print()
    print("Sightline one-by-one insert vs bulk build:")
    for n in sizes:
        ours = results(os.path.join(out, f"sightline-{n}.log"))
        if ours and int(ours["insert1by1_n"]) > 0:
            k = int(ours["insert1by1_n"])
            print(f"- N = {n}: {k} inserts one by one took {float(ours['insert1by1_s']):.2f} s "
                  f"({float(ours['insert1by1_s']) * 1e6 / k:.2f} us each)")
    print()
    print("Query CPU time and time spent waiting for a CPU (other processes on the machine):")
    for n in sizes:
        ours = results(os.path.join(out, f"sightline-{n}.log"))
        if ours:
            print(f"- N = {n}: on-CPU {ours['cpu_us']} us per query, waiting {ours['wait_us']} us per query; "
                  f"mean {ours['cand_mean']} candidates verified, {ours['probes_mean']} bucket probes")


if __name__ == "__main__":
    main()
