#!/usr/bin/env python3
"""The Python peer of a Sightline URL job, as a user would write it: a thread
pool fetches each URL (urllib), writes the bytes to disk under their SHA-256,
and fingerprints them (PDQ with dihedral hashes via pip `pdqhash`, the
imagehash trio, EXIF via exifread). Prints items/s.

    python3 bench/jobs/peer_fetch.py URLS.txt OUT_DIR CONCURRENCY
"""
import concurrent.futures
import hashlib
import io
import os
import sys
import time
import urllib.request

import exifread
import imagehash
import numpy as np
import pdqhash
from PIL import Image


def collect(url, out):
    with urllib.request.urlopen(url, timeout=30) as r:
        data = r.read()
    sha = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, sha), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    img = Image.open(io.BytesIO(data))
    rgb = np.asarray(img.convert("RGB"))
    pdq, quality = pdqhash.compute_dihedral(rgb)
    hashes = (imagehash.average_hash(img), imagehash.dhash(img), imagehash.phash(img))
    tags = exifread.process_file(io.BytesIO(data), details=False)
    return sha, pdq, quality, hashes, len(tags)


def main():
    urls = [u.strip() for u in open(sys.argv[1]) if u.strip()]
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    workers = int(sys.argv[3])
    start = time.perf_counter()
    done = 0
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for f in concurrent.futures.as_completed([pool.submit(collect, u, out) for u in urls]):
            try:
                f.result()
                done += 1
            except Exception as e:  # noqa: BLE001 - a benchmark counts failures
                print(f"failed: {e}", file=sys.stderr)
    secs = time.perf_counter() - start
    print(f"items {done}, {secs:.2f} s, {done / secs:.2f} items/s")
    print(f"RESULT items_per_s={done / secs:.3f}")


if __name__ == "__main__":
    main()
