#!/usr/bin/env python3
"""Make the benchmark's two input sets from real photos and the fixtures:

    python3 bench/make_inputs.py OUT SOURCE_DIR...

OUT/social: ~200 JPEGs, longest side 1080, quality 85 (what social media serve)
OUT/camera: ~40 JPEGs of 4000x3000, quality 92 (a 12-MP phone camera),
upscaled and cropped from the sources where they are smaller.
"""
import os
import sys

from PIL import Image, ImageOps

EXTS = {".jpg", ".jpeg", ".png", ".webp"}


def sources(dirs):
    out = []
    for root in dirs:
        for d, _, names in sorted(os.walk(root)):
            for n in sorted(names):
                if os.path.splitext(n)[1].lower() in EXTS:
                    out.append(os.path.join(d, n))
    return out


def load(path):
    try:
        img = Image.open(path)
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB")
        return img if min(img.size) >= 64 else None
    except Exception:  # noqa: BLE001 - skip what Pillow cannot read
        return None


def main():
    out = sys.argv[1]
    srcs = [im for im in (load(p) for p in sources(sys.argv[2:])) if im is not None]
    if not srcs:
        sys.exit("no usable source images")
    social = os.path.join(out, "social")
    camera = os.path.join(out, "camera")
    os.makedirs(social, exist_ok=True)
    os.makedirs(camera, exist_ok=True)
    for i in range(200):
        im = srcs[i % len(srcs)]
        # vary the crop so repeated sources are different files
        k = i // len(srcs)
        w, h = im.size
        dx, dy = (k * w) // 40, (k * h) // 40
        im = im.crop((dx, dy, w - dx, h - dy))
        s = 1080 / max(im.size)
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.LANCZOS)
        im.save(os.path.join(social, f"s{i:03d}.jpg"), quality=85)
    for i in range(40):
        im = srcs[(i * 7) % len(srcs)]
        w, h = im.size
        if w < h:
            im = im.rotate(90, expand=True)
            w, h = im.size
        s = max(4000 / w, 3000 / h)
        im = im.resize((round(w * s) + 1, round(h * s) + 1), Image.BICUBIC)
        x0 = (im.size[0] - 4000) // 2
        y0 = (im.size[1] - 3000) // 2
        im = im.crop((x0, y0, x0 + 4000, y0 + 3000))
        im.save(os.path.join(camera, f"c{i:02d}.jpg"), quality=92)
    print(f"{len(srcs)} sources -> {social} (200), {camera} (40)")


if __name__ == "__main__":
    main()
