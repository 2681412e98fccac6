//! Large images look for regions on a box-downscaled copy: the averages are
//! exact and the photo is still found, reported in full-resolution pixels.

use std::path::Path;

use sightline_media::Limits;
use sightline_media::fingerprint::fingerprint_image;
use sightline_media::regions::{box_downscale, region_scale};

#[test]
fn box_downscale_averages_blocks_and_drops_ragged_edges() {
    // 5x2 image, k = 2: two 2x2 blocks; the fifth column is dropped.
    #[rustfmt::skip]
    let rgb: Vec<u8> = [
        [0, 10, 255], [2, 10, 255], [100, 0, 0], [101, 0, 0], [9, 9, 9],
        [0, 12, 255], [2, 12, 254], [100, 0, 1], [102, 1, 0], [9, 9, 9],
    ].concat();
    let (out, w, h) = box_downscale(&rgb, 5, 2, 2);
    assert_eq!((w, h), (2, 1));
    assert_eq!(out, vec![1, 11, 255, 101, 0, 0]);
    assert_eq!(
        box_downscale(&rgb[..10], 5, 2, 2).1,
        0,
        "short buffer gives nothing"
    );
    assert_eq!(
        region_scale(1080, 1920),
        1,
        "social sizes stay full resolution"
    );
    assert_eq!(region_scale(4000, 3000), 4);
}

#[test]
fn a_letterboxed_photo_is_found_in_a_large_frame() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let expected: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("expected.json")).unwrap())
            .unwrap();
    let e = expected
        .iter()
        .find(|e| e["transform"] == "letterbox" && e["photo_rect"].is_array())
        .expect("a letterbox fixture with its truth");
    let truth: Vec<u32> = e["photo_rect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect();
    let img = image::open(fixtures.join(e["path"].as_str().unwrap()))
        .unwrap()
        .to_rgb8();
    // Twice the size: short side 2160, so regions work at 1/3 scale.
    let big = image::imageops::resize(
        &img,
        img.width() * 2,
        img.height() * 2,
        image::imageops::FilterType::Nearest,
    );
    assert_eq!(region_scale(big.width(), big.height()), 3);
    let mut png = Vec::new();
    big.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let fp = fingerprint_image(&png, &Limits::default()).unwrap();
    let found = fp
        .regions
        .iter()
        .find(|r| r.kind == "borderless")
        .unwrap_or_else(|| panic!("no borderless region in {:?}", fp.regions));
    for (got, want) in found.rect.iter().zip(&truth) {
        assert!(
            got.abs_diff(want * 2) <= 3,
            "{:?} vs 2 × {truth:?}",
            found.rect
        );
    }
    assert!(found.pdq.quality >= 50);
    // The centre crops are reported in full-resolution pixels too.
    let c80 = fp
        .regions
        .iter()
        .find(|r| r.kind == "centre-80")
        .expect("centre-80");
    assert!(
        c80.rect[2].abs_diff(big.width() * 4 / 5) <= 3,
        "{:?}",
        c80.rect
    );
}
