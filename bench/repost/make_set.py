#!/usr/bin/env python3
"""Build Sightline's labelled re-post evaluation set.

    pip install pillow scikit-image numpy
    python3 bench/repost/make_set.py OUT_DIR [--exif-dir DIR] [--max-originals N]

Originals are real photos: scikit-image's bundled sample photos
(`skimage.data`, those shipped inside the package, no download) and the
camera JPEGs under ../shared/conformance/exif/images/jpg (at least 256 px a
side; near-identical ones, such as one scene in eight EXIF orientations, are
kept once), resized to at most 1600 px and saved as JPEG quality 95.

Every original gets the re-posts in TRANSFORMS: recompressed, shrunk,
cropped, watermarked, letterboxed into a 1080x1920 story (black and blurred
bars, story UI drawn on the bars), screenshotted in a synthetic phone app
(dark and light themes, layouts varied per original: header, caption text,
photo full-width or inset, action bar, likes, comments, navigation bar),
mirrored, tilted, and combinations. Everything is seeded: the same inputs
give the same set.

Writes OUT_DIR/originals/*.jpg, OUT_DIR/reposts/*.jpg and OUT_DIR/labels.csv
with columns `path,original,transform,photo_rect`: paths relative to OUT_DIR;
`original` is the path of the original (itself for originals, whose
transform is `original`); `photo_rect` is `x y w h`, where the generator put
the photo, for letterbox and screenshot re-posts (empty otherwise).
"""

import argparse
import csv
import math
import os
import random
import sys
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

MAX_SIDE = 1600
SKIMAGE_PHOTOS = [
    "astronaut", "camera", "chelsea", "coffee", "coins", "hubble_deep_field",
    "immunohistochemistry", "moon", "retina", "rocket", "stereo_motorcycle",
    "clock", "brick", "grass", "gravel", "cell",
]

WORDS = ("breaking explosion near the gate reports say several injured police "
         "closed road video sent by follower unverified share with care smoke "
         "seen from the market witnesses heard two blasts this morning city "
         "centre update more soon").split()


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font, fixed size
        return ImageFont.load_default()


def seed_of(name):
    return zlib.crc32(name.encode())


# ---------------------------------------------------------------- originals

def load_originals(exif_dir, limit):
    out = []  # (name, PIL RGB image)
    try:
        import skimage.data as skd
    except ImportError:
        sys.exit("scikit-image is needed: pip install scikit-image")
    for n in SKIMAGE_PHOTOS:
        try:
            a = getattr(skd, n)()
        except Exception as e:  # noqa: BLE001 - some need a download
            print(f"skip skimage {n}: {type(e).__name__}", file=sys.stderr)
            continue
        if isinstance(a, tuple):
            a = a[0]
        a = np.asarray(a)
        if a.dtype != np.uint8:
            a = (255 * (a.astype(np.float64) / max(1e-9, float(a.max())))).astype(np.uint8)
        im = Image.fromarray(a)
        out.append((f"sk-{n}", im.convert("RGB")))
    if exif_dir and os.path.isdir(exif_dir):
        for root, _, files in sorted(os.walk(exif_dir)):
            for f in sorted(files):
                if not f.lower().endswith((".jpg", ".jpeg")):
                    continue
                p = os.path.join(root, f)
                try:
                    im = Image.open(p)
                    im.load()
                except Exception as e:  # noqa: BLE001 - broken samples exist
                    print(f"skip {p}: {e}", file=sys.stderr)
                    continue
                if min(im.size) < 256:
                    continue
                rel = os.path.relpath(p, exif_dir)
                name = "cam-" + "".join(c if c.isalnum() else "-" for c in os.path.splitext(rel)[0])
                out.append((name, im.convert("RGB")))
    # Resize, then drop near-duplicates (same scene twice).
    kept, thumbs = [], []
    for name, im in out:
        if max(im.size) > MAX_SIDE:
            s = MAX_SIDE / max(im.size)
            im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.LANCZOS)
        t = np.asarray(ImageOps.exif_transpose(im).convert("L").resize((16, 16), Image.BILINEAR), dtype=np.float64)
        t = (t - t.mean()) / (t.std() + 1e-6)
        tf = np.asarray(im.convert("L").resize((16, 16), Image.BILINEAR), dtype=np.float64)
        tf = (tf - tf.mean()) / (tf.std() + 1e-6)
        if np.asarray(im.convert("L"), dtype=np.float64).std() < 8:
            print(f"skip flat image {name}", file=sys.stderr)
            continue
        dup = False
        for u in thumbs:
            for v in (t, tf, tf.T, np.rot90(tf), np.rot90(tf, 2), np.rot90(tf, 3), tf[:, ::-1], tf[::-1]):
                if v.shape == u.shape and np.mean(np.abs(v - u)) < 0.5:
                    dup = True
        if dup:
            print(f"skip near-duplicate {name}", file=sys.stderr)
            continue
        thumbs.append(tf)
        kept.append((name, im))
        if limit and len(kept) >= limit:
            break
    return kept


# ---------------------------------------------------------------- transforms

def scale(im, f):
    return im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))), Image.LANCZOS)


def crop_frac(im, f, fx=0.5, fy=0.5):
    w, h = round(im.width * f), round(im.height * f)
    x = round((im.width - w) * fx)
    y = round((im.height - h) * fy)
    return im.crop((x, y, x + w, y + h))


def watermark(im, rng, handle):
    im = im.copy().convert("RGBA")
    over = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(over)
    s = max(12, im.width // 28)
    f = font(s)
    tw = d.textlength(handle, font=f)
    pad = s // 2
    bw, bh = int(tw + 3 * pad + 2 * s), int(2 * s)
    corner = rng.choice(["br", "bl", "tr"])
    x0 = im.width - bw - im.width // 30 if corner in ("br", "tr") else im.width // 30
    y0 = im.height - bh - im.height // 25 if corner in ("br", "bl") else im.height // 25
    d.rounded_rectangle((x0, y0, x0 + bw, y0 + bh), radius=s // 3, fill=(0, 0, 0, 128))
    d.ellipse((x0 + pad, y0 + bh // 2 - s * 0.8, x0 + pad + 1.6 * s, y0 + bh // 2 + s * 0.8),
              fill=tuple(rng.randrange(60, 255) for _ in range(3)) + (220,))
    d.text((x0 + 2 * pad + 1.6 * s, y0 + bh // 2), handle, font=f, fill=(255, 255, 255, 210), anchor="lm")
    # A faint channel name across the middle, as many channels stamp.
    f2 = font(max(14, im.width // 12))
    d.text((im.width // 2, im.height // 2), handle.upper(), font=f2, fill=(255, 255, 255, 60), anchor="mm")
    return Image.alpha_composite(im, over).convert("RGB")


def story_ui(c, rng, handle):
    d = ImageDraw.Draw(c)
    n = rng.choice([2, 3, 4])
    seg = (c.width - 32 - 8 * (n - 1)) / n
    for k in range(n):
        x0 = 16 + k * (seg + 8)
        d.rectangle((x0, 28, x0 + seg, 33), fill=(200, 200, 200))
        if k == 0:
            d.rectangle((x0, 28, x0 + seg, 33), fill=(255, 255, 255))
    col = tuple(rng.randrange(40, 240) for _ in range(3))
    d.ellipse((34, 64, 106, 136), fill=col)
    d.text((124, 100), handle, font=font(34), fill=(255, 255, 255), anchor="lm")
    d.text((124 + d.textlength(handle, font=font(34)) + 20, 100), f"{rng.randrange(1, 23)}h",
           font=font(30), fill=(220, 220, 220), anchor="lm")


def letterbox(im, rng, handle, blurred):
    fw, fh = 1080, 1920
    s = min(fw / im.width, fh / im.height)
    pw, ph = round(im.width * s), round(im.height * s)
    fg = im.resize((pw, ph), Image.LANCZOS)
    if blurred:
        cs = max(fw / im.width, fh / im.height)
        cover = im.resize((math.ceil(im.width * cs), math.ceil(im.height * cs)), Image.BILINEAR)
        cx, cy = (cover.width - fw) // 2, (cover.height - fh) // 2
        bg = cover.crop((cx, cy, cx + fw, cy + fh)).resize((fw // 8, fh // 8), Image.BILINEAR)
        bg = bg.filter(ImageFilter.GaussianBlur(4)).resize((fw, fh), Image.BILINEAR)
        bg = Image.eval(bg, lambda v: int(v * 0.6))
    else:
        bg = Image.new("RGB", (fw, fh), (0, 0, 0))
    x, y = (fw - pw) // 2, (fh - ph) // 2
    bg.paste(fg, (x, y))
    story_ui(bg, rng, handle)
    return bg, (x, y, pw, ph)


def icon_row(d, y, fg, w, rng):
    # heart, comment bubble, share arrow, bookmark
    d.ellipse((40, y, 72, y + 32), outline=fg, width=4)
    d.ellipse((60, y, 92, y + 32), outline=fg, width=4)
    d.ellipse((130, y, 172, y + 40), outline=fg, width=4)
    d.polygon([(210, y), (262, y + 20), (210, y + 40), (222, y + 20)], fill=fg)
    d.polygon([(w - 80, y), (w - 44, y), (w - 44, y + 46), (w - 62, y + 32), (w - 80, y + 46)], fill=fg)


def screenshot(im, rng, name, handle, dark):
    sw, sh = rng.choice([(1080, 2340), (1080, 2400), (1170, 2532), (1080, 1920)])
    if dark:
        bg = rng.choice([(0, 0, 0), (16, 16, 18), (21, 32, 43), (24, 25, 26)])
        fg, grey = (240, 240, 240), (150, 150, 156)
    else:
        bg = rng.choice([(255, 255, 255), (250, 250, 250), (243, 242, 239)])
        fg, grey = (20, 20, 20), (110, 110, 116)
    link = (80, 150, 240)
    c = Image.new("RGB", (sw, sh), bg)
    d = ImageDraw.Draw(c)
    f3, f4, f5 = font(30), font(38), font(44)
    # Status bar.
    d.text((48, 44), f"{rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d}", font=f4, fill=fg, anchor="lm")
    for k in range(4):
        bh = 8 + k * 7
        d.rectangle((sw - 250 + k * 16, 58 - bh, sw - 240 + k * 16, 58), fill=fg)
    d.rectangle((sw - 100, 28, sw - 48, 58), outline=fg, width=4)
    d.rectangle((sw - 94, 34, sw - 70, 52), fill=fg)
    # Header: avatar, name, handle; layout varies.
    y = rng.choice([110, 130, 150])
    col = tuple(rng.randrange(40, 240) for _ in range(3))
    d.ellipse((40, y, 130, y + 90), fill=col)
    d.text((156, y + 26), name, font=f5, fill=fg, anchor="lm")
    d.text((156, y + 70), f"{handle} · {rng.randrange(1, 59)}m", font=f3, fill=grey, anchor="lm")
    for k in range(3):
        d.ellipse((sw - 66, y + 25 + k * 18, sw - 56, y + 35 + k * 18), fill=fg)
    y += 130
    caption_above = rng.random() < 0.6
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 8))) for _ in range(rng.randrange(1, 4))]
    if caption_above:
        for line in lines:
            d.text((48, y), line, font=f4, fill=fg, anchor="lt")
            y += 52
        y += 20
    # The photo: full width, or inset with margins (and rounded corners).
    margin = rng.choice([0, 0, 24, 40])
    pw = sw - 2 * margin
    ph = round(im.height * pw / im.width)
    max_ph = sh - y - 420
    if ph > max_ph:  # very tall photos: the app crops to a 4:5 box
        ph2 = min(max_ph, round(pw * 5 / 4))
        src = crop_frac(im, 1.0)
        k = ph2 / ph
        src = src.crop((0, round(src.height * (1 - k) / 2), src.width, round(src.height * (1 + k) / 2)))
        ph = ph2
    else:
        src = im
    photo = src.resize((pw, ph), Image.LANCZOS)
    if margin:
        mask = Image.new("L", (pw, ph), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, pw - 1, ph - 1), radius=24, fill=255)
        c.paste(photo, (margin, y), mask)
    else:
        c.paste(photo, (margin, y))
    rect = (margin, y, pw, ph)
    y += ph + 30
    icon_row(d, y, fg, sw, rng)
    y += 80
    d.text((48, y), f"{rng.randrange(100, 99999):,} likes", font=f4, fill=fg, anchor="lt")
    y += 56
    if not caption_above:
        for line in lines:
            d.text((48, y), line, font=f4, fill=fg, anchor="lt")
            y += 52
    d.text((48, y), "#" + " #".join(rng.sample(WORDS, 3)), font=f4, fill=link, anchor="lt")
    y += 56
    d.text((48, y), f"View all {rng.randrange(10, 2000)} comments", font=f4, fill=grey, anchor="lt")
    # Bottom navigation bar.
    ny = sh - 150
    d.rectangle((0, ny, sw, sh), fill=bg)
    d.line((0, ny, sw, ny), fill=grey, width=2)
    for k in range(5):
        ix = sw * (k + 0.5) / 5
        d.rounded_rectangle((ix - 28, ny + 42, ix + 28, ny + 98), radius=10, outline=fg, width=5)
    d.rounded_rectangle((sw * 0.35, sh - 24, sw * 0.65, sh - 14), radius=5, fill=fg)
    return c, rect


def tilt(im, rng, crop):
    a = rng.choice([-1, 1]) * rng.uniform(3, 5)
    if not crop:
        return im.rotate(a, resample=Image.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    r = im.rotate(a, resample=Image.BICUBIC, expand=False)
    # Largest centred crop without the rotated corners (approximately).
    t = math.radians(abs(a))
    f = 1 / (math.cos(t) + math.sin(t) * max(im.width / im.height, im.height / im.width))
    return crop_frac(r, min(1.0, f))


def make_reposts(name, im, rng):
    """Yield (transform, image, quality, photo_rect or None)."""
    handle = "@" + rng.choice(["kabulnow24", "breakingasia", "newswire", "citywatch", "osint_feed"])
    chan = handle[1:].upper()
    yield "recompress", im, rng.randrange(40, 61), None
    yield "shrink-50", scale(im, 0.5), 85, None
    yield "shrink-25", scale(im, 0.25), 85, None
    yield "crop-80", crop_frac(im, 0.8), 85, None
    yield "crop-60", crop_frac(im, 0.6), 85, None
    yield "crop-off", crop_frac(im, 0.7, rng.choice([0.1, 0.9]), rng.choice([0.1, 0.9])), 85, None
    yield "watermark", watermark(im, rng, handle), 85, None
    c, r = letterbox(im, rng, handle, blurred=False)
    yield "letterbox-black", c, 85, r
    c, r = letterbox(im, rng, handle, blurred=True)
    yield "letterbox-blur", c, 85, r
    c, r = screenshot(im, rng, chan, handle, dark=True)
    yield "screenshot-dark", c, 88, r
    c, r = screenshot(im, rng, chan, handle, dark=False)
    yield "screenshot-light", c, 88, r
    yield "mirror", ImageOps.mirror(im), 85, None
    yield "tilt", tilt(im, rng, crop=False), 85, None
    yield "tilt-crop", tilt(im, rng, crop=True), 85, None
    c, r = screenshot(scale(watermark(im, rng, handle), 0.5), rng, chan, handle, dark=rng.random() < 0.5)
    yield "combo-screenshot-watermark-shrink", c, 85, r
    c, r = letterbox(crop_frac(im, 0.8), rng, handle, blurred=True)
    yield "combo-story-crop", c, 80, r
    yield "combo-mirror-crop-recompress", ImageOps.mirror(crop_frac(im, 0.8)), 50, None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_exif = os.path.normpath(os.path.join(here, "../../../shared/conformance/exif/images/jpg"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--exif-dir", default=default_exif)
    ap.add_argument("--max-originals", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "originals"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "reposts"), exist_ok=True)
    originals = load_originals(args.exif_dir, args.max_originals)
    rows = []
    for name, im in originals:
        op = f"originals/{name}.jpg"
        im.save(os.path.join(args.out, op), quality=95)
        rows.append((op, op, "original", ""))
        rng = random.Random(seed_of(name))
        for t, c, q, r in make_reposts(name, im, rng):
            p = f"reposts/{name}__{t}.jpg"
            c.convert("RGB").save(os.path.join(args.out, p), quality=q)
            rows.append((p, op, t, " ".join(str(v) for v in r) if r else ""))
        print(f"{name}: {im.width}x{im.height}", file=sys.stderr)
    with open(os.path.join(args.out, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "original", "transform", "photo_rect"])
        w.writerows(rows)
    print(f"{len(originals)} originals, {len(rows) - len(originals)} re-posts in {args.out}")


if __name__ == "__main__":
    main()
