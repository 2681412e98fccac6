#!/usr/bin/env python3
"""The Python peer of Sightline's image fingerprinting, as a user would write
it: for each file, one at a time, SHA-256, PDQ with its dihedral hashes on
Pillow-decoded RGB (pip `pdqhash`, Meta's C++), the imagehash trio and the
EXIF tags. Prints files/s.

    python3 bench/peer_fingerprint.py FOLDER
"""
import hashlib
import os
import sys
import time

import exifread
import imagehash
import numpy as np
import pdqhash
from PIL import Image


def files(root):
    for d, _, names in sorted(os.walk(root)):
        for n in sorted(names):
            yield os.path.join(d, n)


def fingerprint(path):
    with open(path, "rb") as f:
        data = f.read()
    sha = hashlib.sha256(data).hexdigest()
    img = Image.open(path)
    rgb = np.asarray(img.convert("RGB"))
    pdq, quality = pdqhash.compute_dihedral(rgb)
    hashes = (imagehash.average_hash(img), imagehash.dhash(img), imagehash.phash(img))
    with open(path, "rb") as f:
        tags = exifread.process_file(f, details=False)
    return sha, pdq, quality, hashes, len(tags)


def main():
    paths = list(files(sys.argv[1]))
    start = time.perf_counter()
    done = 0
    for p in paths:
        try:
            fingerprint(p)
            done += 1
        except Exception as e:  # noqa: BLE001 - a benchmark counts failures
            print(f"failed {p}: {e}", file=sys.stderr)
    secs = time.perf_counter() - start
    print(f"files {done}, {secs:.2f} s, {done / secs:.2f} files/s")
    print(f"RESULT files_per_s={done / secs:.3f}")


if __name__ == "__main__":
    main()
