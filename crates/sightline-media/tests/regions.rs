//! `regions::find_regions` against the fixtures' ground truth (the rectangle
//! where the generator placed the photo in each letterbox and screenshot
//! re-post), against every original (no region), and against hostile and
//! synthetic inputs.

use std::path::PathBuf;

use sightline_media::regions::{Region, RegionKind, crop_rgb, find_regions, iou};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn expected() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixtures_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn decode(rel: &str) -> (Vec<u8>, u32, u32) {
    let img = image::ImageReader::open(fixtures_dir().join(rel))
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| e.to_string())
        .and_then(|r| r.decode().map_err(|e| e.to_string()))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .to_rgb8();
    let (w, h) = img.dimensions();
    (img.into_raw(), w, h)
}

fn rect_of(v: &serde_json::Value) -> Option<[u32; 4]> {
    let a = v.as_array()?;
    if a.len() != 4 {
        return None;
    }
    let mut r = [0u32; 4];
    for (o, x) in r.iter_mut().zip(a) {
        *o = u32::try_from(x.as_u64()?).ok()?;
    }
    Some(r)
}

/// Largest difference between the edges of two rectangles, in pixels.
fn edge_error(a: [u32; 4], b: [u32; 4]) -> u32 {
    let e = |a: [u32; 4]| [a[0], a[1], a[0] + a[2], a[1] + a[3]];
    let (a, b) = (e(a), e(b));
    (0..4).map(|i| a[i].abs_diff(b[i])).max().unwrap_or(0)
}

#[test]
fn finds_the_photo_in_every_framed_fixture() {
    let mut checked = 0;
    for e in expected() {
        let Some(truth) = e.get("photo_rect").and_then(rect_of) else {
            continue;
        };
        let rel = e["path"].as_str().unwrap();
        let (rgb, w, h) = decode(rel);
        let regions = find_regions(&rgb, w, h);
        let best = regions
            .iter()
            .max_by(|a, b| iou(a.rect, truth).total_cmp(&iou(b.rect, truth)))
            .unwrap_or_else(|| panic!("{rel}: no region, truth {truth:?}"));
        let err = edge_error(best.rect, truth);
        println!(
            "{rel}: {} {:?} truth {truth:?} edge error {err} px, IoU {:.4}",
            best.kind,
            best.rect,
            iou(best.rect, truth)
        );
        assert!(
            err <= 3 && iou(best.rect, truth) >= 0.95,
            "{rel}: found {regions:?}, truth {truth:?}"
        );
        // Stable: the same pixels give the same regions.
        assert_eq!(find_regions(&rgb, w, h), regions, "{rel}");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} fixtures carry a photo_rect");
}

#[test]
fn no_region_for_plain_photos_and_unframed_reposts() {
    let mut checked = 0;
    for e in expected() {
        let rel = e["path"].as_str().unwrap();
        if e["status"] != "accepted" || e["kind"] != "image" || e.get("photo_rect").is_some() {
            continue;
        }
        let (rgb, w, h) = decode(rel);
        let regions = find_regions(&rgb, w, h);
        assert!(regions.is_empty(), "{rel}: {regions:?}");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} images checked");
}

#[test]
fn kinds_have_stable_names() {
    for (k, name) in [
        (RegionKind::Borderless, "borderless"),
        (RegionKind::ScreenshotPhoto, "screenshot-photo"),
    ] {
        assert_eq!(k.as_str(), name);
        assert_eq!(k.to_string(), name);
        assert_eq!(RegionKind::from_name(name), Some(k));
    }
    assert_eq!(RegionKind::from_name("nope"), None);
}

// ------------------------------------------------------------- synthetic

/// Deterministic pseudo-random bytes (SplitMix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

/// A textured "photo": smooth colour fields, shapes and grain.
fn photo(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let n = i32::from(rng.byte() % 24) - 12;
            let fx = x as f32 / w as f32;
            let fy = y as f32 / h as f32;
            let stripes = if ((x / 23) + (y / 31)) % 3 == 0 {
                40
            } else {
                0
            };
            let r = 60.0 + 120.0 * fx + stripes as f32;
            let g = 90.0 + 80.0 * fy;
            let b = 140.0 - 60.0 * fx * fy + (x % 7) as f32 * 3.0;
            for v in [r, g, b] {
                out.push((v as i32 + n).clamp(0, 255) as u8);
            }
        }
    }
    out
}

/// Paste `src` (`sw` × `sh`) into a `w` × `h` frame of `fill` at (`x`, `y`).
fn frame(
    src: &[u8],
    (sw, sh): (usize, usize),
    (w, h): (usize, usize),
    (x, y): (usize, usize),
    fill: [u8; 3],
) -> Vec<u8> {
    let mut out: Vec<u8> = fill.iter().copied().cycle().take(w * h * 3).collect();
    for row in 0..sh {
        let d = ((y + row) * w + x) * 3;
        out[d..d + sw * 3].copy_from_slice(&src[row * sw * 3..(row + 1) * sw * 3]);
    }
    out
}

fn only(regions: &[Region], kind: RegionKind) -> [u32; 4] {
    let r: Vec<_> = regions.iter().filter(|r| r.kind == kind).collect();
    assert_eq!(r.len(), 1, "{regions:?}");
    r[0].rect
}

#[test]
fn letterbox_black_bars_top_and_bottom() {
    let (pw, ph) = (720, 540);
    let p = photo(pw, ph, 1);
    let img = frame(&p, (pw, ph), (720, 1280), (0, 370), [0, 0, 0]);
    let r = find_regions(&img, 720, 1280);
    let rect = only(&r, RegionKind::Borderless);
    assert!(edge_error(rect, [0, 370, 720, 540]) <= 2, "{rect:?}");
}

#[test]
fn pillarbox_and_four_sided_white_frame() {
    let (pw, ph) = (600, 600);
    let p = photo(pw, ph, 2);
    let img = frame(&p, (pw, ph), (1000, 600), (200, 0), [255, 255, 255]);
    let rect = only(&find_regions(&img, 1000, 600), RegionKind::Borderless);
    assert!(edge_error(rect, [200, 0, 600, 600]) <= 2, "{rect:?}");
    let img = frame(&p, (pw, ph), (800, 760), (100, 80), [250, 250, 250]);
    let rect = only(&find_regions(&img, 800, 760), RegionKind::Borderless);
    assert!(edge_error(rect, [100, 80, 600, 600]) <= 2, "{rect:?}");
}

#[test]
fn blurred_bars_are_removed() {
    let (pw, ph) = (720, 480);
    let p = photo(pw, ph, 3);
    let (w, h) = (720, 1280);
    // Smooth, darker fill: a slow gradient, as a blurred enlarged copy is.
    let mut img = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let t = (x + y) as f32 / (w + h) as f32;
            img.extend_from_slice(&[(30.0 + 50.0 * t) as u8, (40.0 + 30.0 * t) as u8, 35]);
        }
    }
    let y0 = 400;
    for row in 0..ph {
        let d = ((y0 + row) * w) * 3;
        img[d..d + pw * 3].copy_from_slice(&p[row * pw * 3..(row + 1) * pw * 3]);
    }
    let rect = only(
        &find_regions(&img, w as u32, h as u32),
        RegionKind::Borderless,
    );
    assert!(edge_error(rect, [0, 400, 720, 480]) <= 2, "{rect:?}");
}

#[test]
fn screenshot_with_ui_chrome() {
    let (w, h) = (540usize, 1170usize);
    let bg = [250u8, 250, 250];
    let mut img: Vec<u8> = bg.iter().copied().cycle().take(w * h * 3).collect();
    let mut block = |x0: usize, y0: usize, bw: usize, bh: usize, c: [u8; 3]| {
        for y in y0..y0 + bh {
            for x in x0..x0 + bw {
                img[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
            }
        }
    };
    // Status bar, avatar, name, caption lines ("text" as runs of small blocks).
    for (y, n) in [(12, 5), (70, 9), (150, 30), (176, 26), (202, 18)] {
        for k in 0..n {
            block(20 + k * 14, y, 9, 12, [20, 20, 20]);
        }
    }
    block(20, 60, 40, 40, [200, 60, 60]);
    // The photo, inset 16 px.
    let (px, py, pw, ph) = (16, 240, 508, 381);
    let p = photo(pw, ph, 4);
    for row in 0..ph {
        let d = ((py + row) * w + px) * 3;
        img[d..d + pw * 3].copy_from_slice(&p[row * pw * 3..(row + 1) * pw * 3]);
    }
    // Action bar and more text below.
    let mut block = |x0: usize, y0: usize, bw: usize, bh: usize, c: [u8; 3]| {
        for y in y0..y0 + bh {
            for x in x0..x0 + bw {
                img[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&c);
            }
        }
    };
    for k in 0..4 {
        block(20 + k * 50, 650, 28, 28, [30, 30, 30]);
    }
    for (y, n) in [(700, 12), (730, 28), (760, 22), (1100, 36)] {
        for k in 0..n {
            block(20 + k * 14, y, 9, 12, [20, 20, 20]);
        }
    }
    let r = find_regions(&img, w as u32, h as u32);
    assert!(
        r.iter()
            .any(|g| edge_error(g.rect, [16, 240, 508, 381]) <= 2),
        "{r:?}"
    );
    assert_eq!(find_regions(&img, w as u32, h as u32), r);
}

#[test]
fn a_dark_sky_is_not_a_bar() {
    // Night photo: a near-black noisy sky over an irregular skyline.
    let (w, h) = (900usize, 600usize);
    let mut rng = Rng(9);
    let mut img = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let sky_line = 180 + ((x / 40) * 37 % 90);
            let n = rng.byte() % 6;
            let v = if y < sky_line {
                4 + n
            } else {
                60 + (x % 50) as u8 + n * 4
            };
            img.extend_from_slice(&[v, v, v.saturating_add(3)]);
        }
    }
    assert_eq!(find_regions(&img, w as u32, h as u32), vec![]);
    // The same with the sky clipped to pure black.
    for y in 0..h {
        for x in 0..w {
            let i = (y * w + x) * 3;
            if img[i] < 20 {
                img[i..i + 3].copy_from_slice(&[0, 0, 0]);
            }
        }
    }
    assert_eq!(find_regions(&img, w as u32, h as u32), vec![]);
}

#[test]
fn hostile_inputs_never_panic() {
    let mut rng = Rng(7);
    let cases: Vec<(u32, u32)> = vec![
        (1, 1),
        (1, 4000),
        (4000, 1),
        (2, 2),
        (63, 63),
        (64, 64),
        (65, 1000),
        (3000, 70),
        (513, 513),
        (1025, 77),
    ];
    for (w, h) in cases {
        let n = (w * h * 3) as usize;
        for fill in [0u8, 255, 128] {
            let img = vec![fill; n];
            assert!(find_regions(&img, w, h).is_empty(), "{w}x{h} fill {fill}");
        }
        let noise: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
        assert!(find_regions(&noise, w, h).is_empty(), "{w}x{h} noise");
        // Short buffers and absurd sizes give nothing.
        assert!(find_regions(&noise[..n / 2], w, h).is_empty());
    }
    assert!(find_regions(&[], 0, 0).is_empty());
    assert!(find_regions(&[0; 30], u32::MAX, u32::MAX).is_empty());
    assert!(find_regions(&[0; 30], 0, 10).is_empty());
    // Noise in a black frame is still a framed photo; a gradient is not.
    let (w, h) = (400usize, 700usize);
    let mut img = vec![0u8; w * h * 3];
    for y in 200..500 {
        for x in 0..w {
            for c in 0..3 {
                img[(y * w + x) * 3 + c] = rng.byte();
            }
        }
    }
    let r = find_regions(&img, w as u32, h as u32);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(edge_error(r[0].rect, [0, 200, 400, 300]) <= 2, "{r:?}");
    let grad: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i / 3 / w) * 255 / h) as u8)
        .collect();
    assert!(find_regions(&grad, w as u32, h as u32).is_empty());
}

#[test]
fn crop_and_iou_helpers() {
    let img: Vec<u8> = (0..4 * 3 * 3).map(|v| v as u8).collect();
    let c = crop_rgb(&img, 4, 3, [1, 1, 2, 2]).unwrap();
    assert_eq!(c, vec![15, 16, 17, 18, 19, 20, 27, 28, 29, 30, 31, 32]);
    assert!(crop_rgb(&img, 4, 3, [3, 0, 2, 1]).is_none());
    assert!(crop_rgb(&img, 4, 3, [0, 0, 0, 1]).is_none());
    assert!(crop_rgb(&img[..10], 4, 3, [0, 0, 1, 1]).is_none());
    assert!(crop_rgb(&img, 4, 3, [u32::MAX, 0, 2, 1]).is_none());
    assert_eq!(iou([0, 0, 10, 10], [0, 0, 10, 10]), 1.0);
    assert_eq!(iou([0, 0, 10, 10], [10, 10, 10, 10]), 0.0);
    assert!((iou([0, 0, 10, 10], [5, 0, 10, 10]) - 50.0 / 150.0).abs() < 1e-9);
    assert_eq!(iou([0, 0, 0, 0], [0, 0, 0, 0]), 0.0);
}
