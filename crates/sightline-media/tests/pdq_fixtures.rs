//! PDQ and decoding on the project's own fixtures and on images built here.
//!
//! `fixtures/expected-pdq.csv` holds what the reference (pip `pdqhash` on
//! python-threatexchange's pixels) computes for every fixture image; ours
//! must be identical.

use std::path::{Path, PathBuf};

use image::codecs::gif::GifEncoder;
use image::{Delay, Frame, Rgba, RgbaImage};
use sightline_media::decode::{DecodeMode, Pixels, decode, decode_pixels};
use sightline_media::pdq::{
    LumaModel, PdqHash, PdqHasher, hamming, pdq_dihedral_from_rgb, pdq_from_rgb,
};
use sightline_media::{Limits, fingerprint_image};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_fixture_image_hashes_exactly_as_the_reference() {
    let csv = std::fs::read_to_string(repo().join("fixtures/expected-pdq.csv"))
        .expect("expected-pdq.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let mut n = 0;
    let mut bad = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let path = f[col("path")];
        let bytes = std::fs::read(repo().join(path)).expect(path);
        let fp =
            fingerprint_image(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(fp.mode, "te");
        assert_eq!(fp.width.to_string(), f[col("width")], "{path}");
        assert_eq!(fp.height.to_string(), f[col("height")], "{path}");
        let mut dists = vec![hamming(
            &fp.pdq.hash,
            &f[col("hash")].parse().expect("hash"),
        )];
        for (k, name) in [
            "r90",
            "r180",
            "r270",
            "flipx",
            "flipy",
            "flipplus1",
            "flipminus1",
        ]
        .iter()
        .enumerate()
        {
            let want: PdqHash = f[col(name)].parse().expect("hash");
            dists.push(hamming(&fp.pdq_dihedral[k], &want));
        }
        if dists.iter().any(|&d| d != 0) || fp.pdq.quality.to_string() != f[col("quality")] {
            bad.push(format!(
                "{path}: distances {dists:?} quality {}",
                fp.pdq.quality
            ));
        }
        n += 1;
    }
    assert!(n >= 30, "only {n} fixture rows");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn code(bytes: &[u8]) -> &'static str {
    match decode(bytes, &Limits::default(), DecodeMode::Te) {
        Ok(d) => panic!("expected an error, got {}x{}", d.width, d.height),
        Err(e) => e.code(),
    }
}

#[test]
fn hostile_files_are_refused_with_stable_codes() {
    let h = |name: &str| std::fs::read(repo().join("fixtures/hostile").join(name)).expect(name);
    assert_eq!(code(&h("truncated.jpg")), "truncated");
    // 100000x100000 in the header: refused from the header, before any
    // pixel buffer exists (the test would take gigabytes otherwise).
    let start = std::time::Instant::now();
    assert_eq!(code(&h("bomb.png")), "dimensions");
    assert!(start.elapsed().as_secs() < 2);
    assert_eq!(code(&h("zero-dims.png")), "dimensions");
    assert_eq!(code(&h("random.bin")), "not-media");
    assert_eq!(code(&h("empty.jpg")), "empty");
    assert_eq!(code(&h("notes.jpg")), "not-media");
    assert_eq!(code(&h("no-moov.mp4")), "malformed");
    // Every prefix of a real JPEG and PNG fails cleanly or decodes; none panics.
    for name in ["png-named-as.jpg"] {
        let b = h(name);
        for cut in (0..b.len()).step_by(b.len() / 97 + 1) {
            let _ = decode(&b[..cut], &Limits::default(), DecodeMode::Te);
        }
    }
    let jpg = std::fs::read(
        repo().join("fixtures/images/reposts/2021-11-02_kabul-military-hospital_01__shrink.jpg"),
    )
    .expect("jpg");
    for cut in (0..jpg.len()).step_by(jpg.len() / 61 + 1) {
        let _ = decode(&jpg[..cut], &Limits::default(), DecodeMode::Te);
    }
    // Bytes flipped inside the entropy-coded data: decoders carry on (as
    // libjpeg does) or fail; they do not panic.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..40 {
        let mut b = jpg.clone();
        for _ in 0..8 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let at = 600 + (s as usize) % (b.len() - 700);
            b[at] = (s >> 32) as u8;
        }
        let _ = decode(&b, &Limits::default(), DecodeMode::Te);
    }
}

#[test]
fn limits_refuse_large_images_before_decoding() {
    let jpg = std::fs::read(
        repo().join("fixtures/images/reposts/2021-11-02_kabul-military-hospital_01__shrink.jpg"),
    )
    .expect("jpg");
    let small = Limits {
        max_pixels: 100_000,
        max_dimension: 65_535,
    };
    match decode(&jpg, &small, DecodeMode::Te) {
        Err(e) => assert_eq!(e.code(), "dimensions", "{e}"),
        Ok(_) => panic!("512x384 is over 100000 pixels"),
    }
}

fn png_bytes(
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    palette: Option<Vec<u8>>,
    data: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(color);
        enc.set_depth(depth);
        if let Some(p) = palette {
            enc.set_palette(p);
        }
        let mut wr = enc.write_header().expect("header");
        wr.write_image_data(data).expect("data");
    }
    out
}

/// A smooth test picture with structure at every scale.
fn picture(w: usize, h: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let r = ((x * 255) / w.max(1)) as u8;
            let g = ((y * 255) / h.max(1)) as u8;
            let b = (((x / 7 + y / 5) % 2) * 120 + ((x * y) % 97)) as u8;
            v.extend_from_slice(&[r, g, b]);
        }
    }
    v
}

fn stack(grey: &[u8]) -> Vec<u8> {
    grey.iter().flat_map(|&g| [g, g, g]).collect()
}

#[test]
fn sixteen_bit_png_is_clipped_as_pillow_converts_it() {
    let (w, h) = (40u32, 30u32);
    let samples: Vec<u16> = (0..w * h).map(|i| (i * 53 % 700) as u16).collect();
    let data: Vec<u8> = samples.iter().flat_map(|v| v.to_be_bytes()).collect();
    let png = png_bytes(
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        None,
        &data,
    );
    let d = decode_pixels(&png, &Limits::default()).expect("decode");
    assert_eq!(d.pixels.mode_name(), "I;16");
    let te = decode(&png, &Limits::default(), DecodeMode::Te).expect("decode");
    let clipped: Vec<u8> = samples.iter().map(|&v| v.min(255) as u8).collect();
    assert_eq!(te.rgb, stack(&clipped));
    assert_eq!(
        pdq_from_rgb(&te.rgb, w, h),
        pdq_from_rgb(&stack(&clipped), w, h)
    );
    // 16-bit RGB keeps the high byte of each sample, as Pillow's unpacker
    let rgb16: Vec<u8> = (0..w * h * 3)
        .flat_map(|i| ((i * 331 % 65536) as u16).to_be_bytes())
        .collect();
    let png = png_bytes(
        w,
        h,
        png::ColorType::Rgb,
        png::BitDepth::Sixteen,
        None,
        &rgb16,
    );
    let te = decode(&png, &Limits::default(), DecodeMode::Te).expect("decode");
    let high: Vec<u8> = rgb16.chunks_exact(2).map(|s| s[0]).collect();
    assert_eq!(te.rgb, high);
}

#[test]
fn palette_png_gives_indices_in_te_mode_and_colours_in_rgb_mode() {
    let (w, h) = (32u32, 24u32);
    let palette: Vec<u8> = (0..16u8)
        .flat_map(|i| [i * 16, 255 - i * 16, i * 7])
        .collect();
    let idx: Vec<u8> = (0..w * h).map(|i| ((i / 3 + i / 97) % 16) as u8).collect();
    let png = png_bytes(
        w,
        h,
        png::ColorType::Indexed,
        png::BitDepth::Eight,
        Some(palette.clone()),
        &idx,
    );
    let te = decode(&png, &Limits::default(), DecodeMode::Te).expect("decode");
    assert_eq!(te.source_mode, "P");
    assert_eq!(te.rgb, stack(&idx));
    let rgb = decode(&png, &Limits::default(), DecodeMode::Rgb).expect("decode");
    let want: Vec<u8> = idx
        .iter()
        .flat_map(|&i| palette[usize::from(i) * 3..usize::from(i) * 3 + 3].to_vec())
        .collect();
    assert_eq!(rgb.rgb, want);
    // 4-bit palette: the same indices, packed
    let packed: Vec<u8> = idx
        .chunks(2)
        .map(|p| (p[0] << 4) | p.get(1).copied().unwrap_or(0))
        .collect();
    let png4 = png_bytes(
        w,
        h,
        png::ColorType::Indexed,
        png::BitDepth::Four,
        Some(palette),
        &packed,
    );
    assert_eq!(
        decode(&png4, &Limits::default(), DecodeMode::Te)
            .expect("decode")
            .rgb,
        stack(&idx)
    );
}

#[test]
fn grey_alpha_and_bilevel_pngs() {
    let (w, h) = (20u32, 10u32);
    let grey: Vec<u8> = (0..w * h).map(|i| (i * 37 % 256) as u8).collect();
    let png = png_bytes(
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        None,
        &grey,
    );
    for mode in [DecodeMode::Te, DecodeMode::Rgb] {
        assert_eq!(
            decode(&png, &Limits::default(), mode).expect("grey").rgb,
            stack(&grey)
        );
    }
    let la: Vec<u8> = grey.iter().flat_map(|&g| [g, 255 - g]).collect();
    let png = png_bytes(
        w,
        h,
        png::ColorType::GrayscaleAlpha,
        png::BitDepth::Eight,
        None,
        &la,
    );
    assert_eq!(
        decode(&png, &Limits::default(), DecodeMode::Te)
            .expect("la")
            .rgb,
        stack(&grey)
    );
    let rgba: Vec<u8> = grey
        .iter()
        .flat_map(|&g| [g, g / 2, 255 - g, g ^ 0x55])
        .collect();
    let png = png_bytes(
        w,
        h,
        png::ColorType::Rgba,
        png::BitDepth::Eight,
        None,
        &rgba,
    );
    let want: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    assert_eq!(
        decode(&png, &Limits::default(), DecodeMode::Te)
            .expect("rgba")
            .rgb,
        want
    );
    // 1-bit: te sees 0 and 1 (NumPy's view of Pillow's mode "1"), rgb 0 and 255
    let bits: Vec<u8> = (0..h)
        .flat_map(|y| [0b1010_1010u8 ^ (y as u8), 0b1100_0000, 0xF0])
        .collect();
    let png = png_bytes(
        w,
        h,
        png::ColorType::Grayscale,
        png::BitDepth::One,
        None,
        &bits,
    );
    let d = decode_pixels(&png, &Limits::default()).expect("1-bit");
    assert_eq!(d.pixels.mode_name(), "1");
    let te = d.pixels.to_rgb(DecodeMode::Te);
    assert!(te.iter().all(|&v| v <= 1) && te.contains(&1));
    let rgb = d.pixels.to_rgb(DecodeMode::Rgb);
    assert!(rgb.iter().all(|&v| v == 0 || v == 255));
}

#[test]
fn animated_gif_hashes_the_first_frame_and_counts_frames() {
    let (w, h) = (48u32, 40u32);
    let colours = [[200u8, 30, 30, 255], [30, 200, 30, 255], [30, 30, 200, 255]];
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        for (k, c) in colours.iter().enumerate() {
            let img = RgbaImage::from_fn(w, h, |x, y| {
                if (x / 8 + y / 8 + k as u32).is_multiple_of(2) {
                    Rgba(*c)
                } else {
                    Rgba([250, 250, 250, 255])
                }
            });
            enc.encode_frame(Frame::from_parts(
                img,
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            ))
            .expect("frame");
        }
    }
    let d = decode(&gif, &Limits::default(), DecodeMode::Rgb).expect("gif");
    assert_eq!(d.frames, Some(3));
    assert_eq!((d.width, d.height), (w, h));
    assert_eq!(&d.rgb[..3], &colours[0][..3], "first frame, first pixel");
    let te = decode(&gif, &Limits::default(), DecodeMode::Te).expect("gif");
    assert_eq!(te.source_mode, "P");
    let fp = fingerprint_image(&gif, &Limits::default()).expect("fingerprint");
    assert_eq!(fp.frames, Some(3));
    assert_eq!(fp.pdq, pdq_from_rgb(&te.rgb, w, h));
}

/// Pixel transforms of a square RGB image, in the order of the dihedral
/// hashes after the original.
fn transform(rgb: &[u8], n: usize, k: usize) -> Vec<u8> {
    let mut out = vec![0u8; rgb.len()];
    for y in 0..n {
        for x in 0..n {
            // (sx, sy): where output pixel (x, y) comes from
            let (sx, sy) = match k {
                1 => (n - 1 - y, x),         // rotate 90 (counter-clockwise)
                2 => (n - 1 - x, n - 1 - y), // rotate 180
                3 => (y, n - 1 - x),         // rotate 270
                4 => (x, n - 1 - y),         // flip top to bottom
                5 => (n - 1 - x, y),         // flip left to right
                6 => (y, x),                 // transpose
                _ => (n - 1 - y, n - 1 - x), // anti-transpose
            };
            out[(y * n + x) * 3..(y * n + x) * 3 + 3]
                .copy_from_slice(&rgb[(sy * n + sx) * 3..(sy * n + sx) * 3 + 3]);
        }
    }
    out
}

/// Exact whenever the filter is symmetric: the reference's box window is
/// `ceil(n / 128)` wide, and an even window averages one more pixel on one
/// side than on the other, so on a rotated image with an even window the
/// filtered image is shifted by one pixel and the hashes are near, not equal.
/// With an odd window (n ≤ 128, 257..=384, 513..=640, …) they are equal up
/// to float rounding: the filter runs along rows first, then columns, so on a
/// rotated image the same sums are rounded in another order and a
/// coefficient right at the median can flip (2 bits at 600×600 here).
#[test]
fn dihedral_hashes_equal_hashes_of_transformed_pixels() {
    for (n, bound) in [(64usize, 0), (100, 0), (257, 0), (320, 0), (600, 4)] {
        let rgb = picture(n, n);
        let d = pdq_dihedral_from_rgb(&rgb, n as u32, n as u32);
        assert!(d.quality > 0);
        for k in 1..8 {
            let t = transform(&rgb, n, k);
            let h = pdq_dihedral_from_rgb(&t, n as u32, n as u32);
            let dist = hamming(&h.hashes[0], &d.hashes[k]);
            assert!(dist <= bound, "size {n}, transform {k}: distance {dist}");
        }
    }
}

#[test]
fn cpp_luma_model_differs_only_in_rounding() {
    let rgb = picture(300, 200);
    let mut hasher = PdqHasher::new();
    let a = hasher.pdq(&rgb, 300, 200, LumaModel::Pdqhash);
    let b = hasher.pdq(&rgb, 300, 200, LumaModel::Cpp);
    assert!(hamming(&a.hash, &b.hash) <= 8);
}

#[test]
fn decoded_pixels_keep_exif_orientation() {
    let p: &Path = &repo().join("fixtures/images/originals/2021-08-26_kabul-abbey-gate_01.jpg");
    let d = decode_pixels(&std::fs::read(p).expect("jpg"), &Limits::default()).expect("decode");
    assert!(matches!(d.pixels, Pixels::Rgb(_)));
    assert!(d.orientation.is_none_or(|o| (1..=8).contains(&o)));
}
