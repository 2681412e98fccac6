//! The img_hash family on the fixtures: re-posts that keep the picture
//! (exact copy, recompression, shrinking, a watermark) stay close to their
//! original; unrelated originals are far apart. And the one entry point
//! returns everything from one decode.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sightline_media::{ImageFingerprint, Limits, fingerprint_image};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hex_distance(a: &str, b: &str) -> u32 {
    assert_eq!(a.len(), b.len());
    let nib = |c: u8| (c as char).to_digit(16).expect("hex");
    a.bytes()
        .zip(b.bytes())
        .map(|(x, y)| (nib(x) ^ nib(y)).count_ones())
        .sum()
}

/// (re-post, original, transform) for every derived fixture.
type Derived = Vec<(String, String, String)>;

fn fixtures() -> (BTreeMap<String, ImageFingerprint>, Derived) {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo().join("fixtures/expected.json")).expect("expected.json"),
    )
    .expect("json");
    let mut prints = BTreeMap::new();
    let mut derived = Vec::new();
    for e in json.as_array().expect("array") {
        let path = e["path"].as_str().expect("path");
        if !path.starts_with("images/") {
            continue;
        }
        let bytes = std::fs::read(repo().join("fixtures").join(path)).expect(path);
        let fp =
            fingerprint_image(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
        if let (Some(from), Some(t)) = (e["derived_from"].as_str(), e["transform"].as_str()) {
            derived.push((path.to_string(), from.to_string(), t.to_string()));
        }
        prints.insert(path.to_string(), fp);
    }
    (prints, derived)
}

#[test]
fn near_duplicates_are_close_and_unrelated_images_far() {
    let (prints, derived) = fixtures();
    assert!(prints.len() >= 30);
    let kinds = |fp: &ImageFingerprint| {
        [
            fp.ahash.clone(),
            fp.dhash.clone(),
            fp.phash.clone(),
            fp.blockhash.clone(),
        ]
    };
    let names = ["ahash", "dhash", "phash", "blockhash"];
    // Transforms that keep the whole picture in place.
    let mut checked = 0;
    let mut max_near = [0u32; 4];
    for (path, from, t) in &derived {
        if !matches!(
            t.as_str(),
            "exact-copy" | "recompress" | "shrink" | "watermark"
        ) {
            continue;
        }
        let (a, b) = (kinds(&prints[path]), kinds(&prints[from]));
        for k in 0..4 {
            let d = hex_distance(&a[k], &b[k]);
            let bits = a[k].len() as u32 * 4;
            println!("{t:<10} {:<9} {d:>3}/{bits} {path}", names[k]);
            max_near[k] = max_near[k].max(d);
            assert!(
                d * 8 <= bits,
                "{t} {}: {d} of {bits} bits from its original ({path})",
                names[k]
            );
        }
        checked += 1;
    }
    assert!(checked >= 8);
    // Every pair of distinct originals is farther apart than any re-post
    // from its original, for every hash; pHash by a quarter of its bits (the
    // synthetic originals share a generator, so some are alike).
    let originals: Vec<&String> = prints
        .keys()
        .filter(|p| p.starts_with("images/originals/"))
        .collect();
    let mut min = [u32::MAX; 4];
    for (i, a) in originals.iter().enumerate() {
        for b in &originals[i + 1..] {
            let (x, y) = (kinds(&prints[*a]), kinds(&prints[*b]));
            for k in 0..4 {
                min[k] = min[k].min(hex_distance(&x[k], &y[k]));
            }
        }
    }
    println!("farthest re-post: {max_near:?}, closest unrelated originals: {min:?}");
    for k in 0..4 {
        assert!(
            max_near[k] < min[k],
            "{}: re-posts up to {} bits, unrelated from {}",
            names[k],
            max_near[k],
            min[k]
        );
    }
    assert!(
        min[2] >= 16,
        "phash: unrelated originals {} bits apart",
        min[2]
    );
    // pHash must not be near-constant: its bits are balanced across images.
    let distinct: std::collections::BTreeSet<&String> = prints.values().map(|f| &f.phash).collect();
    assert!(distinct.len() >= 12);
}

#[test]
fn one_entry_point_fills_every_field() {
    let path =
        repo().join("fixtures/images/originals/2022-09-30_kabul-kaaj-educational-center_02.png");
    let fp = fingerprint_image(&std::fs::read(path).expect("png"), &Limits::default())
        .expect("fingerprint");
    assert_eq!(
        (fp.width, fp.height, fp.mode, fp.frames),
        (800, 600, "te", None)
    );
    assert_eq!(fp.ahash.len(), 16);
    assert_eq!(fp.dhash.len(), 16);
    assert_eq!(fp.phash.len(), 16);
    assert_eq!(fp.blockhash.len(), 64);
    assert_eq!(fp.pdq_dihedral.len(), 7);
    assert!(fp.pdq.quality > 0);
    let json = serde_json::to_value(&fp).expect("serialize");
    assert_eq!(json["pdq"]["hash"].as_str().map(str::len), Some(64));
}

#[test]
fn fingerprint_errors_have_codes() {
    for (bytes, code) in [
        (&b""[..], "empty"),
        (&b"GIF89a"[..], "truncated"),
        (&[0u8; 64][..], "not-media"),
    ] {
        let e = fingerprint_image(bytes, &Limits::default()).expect_err("must fail");
        assert_eq!(e.code(), code, "{e}");
        let msg = e.to_string();
        assert!(
            !msg.ends_with('.') && msg.chars().next().is_some_and(|c| !c.is_uppercase()),
            "{msg}"
        );
    }
}
