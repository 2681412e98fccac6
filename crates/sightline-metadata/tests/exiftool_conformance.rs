//! Conformance with ExifTool on `../shared/conformance/exif` (100 real
//! camera files; `exiftool_n.json` made with `exiftool -j -n -G1`). For
//! every file and every field of the list that ExifTool reports,
//! our value must equal ExifTool's (GPS within 1e-6°, strings identical,
//! numbers equal). Prints coverage per field.
//!
//! Run: `cargo test -p sightline-metadata --test exiftool_conformance -- --ignored --nocapture`
//! (set `SIGHTLINE_CONFORMANCE` to the conformance folder if it is not at
//! `../shared/conformance`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use sightline_metadata::Extractor;

mod common;
use common::{FIELDS, MUST, equal};

fn conformance_dir() -> PathBuf {
    std::env::var_os("SIGHTLINE_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        })
        .join("exif")
}

#[test]
#[ignore = "conformance: needs ../shared/conformance"]
fn exiftool_fields_match() {
    let dir = conformance_dir();
    let json: Vec<BTreeMap<String, Value>> = serde_json::from_slice(
        &std::fs::read(dir.join("exiftool_n.json")).expect("exiftool_n.json"),
    )
    .expect("parse exiftool_n.json");
    let ex = Extractor::default();
    let mut per: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for entry in &json {
        let src = entry["SourceFile"].as_str().unwrap();
        let path = dir.join("images").join(src);
        let data = std::fs::read(&path).unwrap();
        let meta = ex.image(&data, None);
        for &key in FIELDS {
            let Some(want) = entry.get(key) else { continue };
            let slot = per.entry(key).or_default();
            slot.1 += 1;
            match meta.get(key) {
                Some(f) if equal(key, want, &f.value) => slot.0 += 1,
                Some(f) => misses.push(format!("{src} {key}: exiftool {want} ours {}", f.value)),
                None => misses.push(format!("{src} {key}: exiftool {want} ours missing")),
            }
        }
    }
    let (mut m, mut p) = (0, 0);
    println!("| field | matched / present |\n|---|---|");
    for (k, (a, b)) in &per {
        println!("| `{k}` | {a} / {b} |");
        m += a;
        p += b;
    }
    println!(
        "| **all** | **{m} / {p} ({:.1}%)** |",
        100.0 * m as f64 / p as f64
    );
    for x in &misses {
        println!("MISS {x}");
    }
    for k in MUST {
        if let Some((a, b)) = per.get(k) {
            assert_eq!(a, b, "{k} must match on every file");
        }
    }
    assert!(
        m as f64 >= 0.98 * p as f64,
        "overall coverage {m}/{p} is under 98%"
    );
}
