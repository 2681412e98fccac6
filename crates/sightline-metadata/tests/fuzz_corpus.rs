//! Replays the fuzz corpus (`fuzz/corpus/<target>/`, grown by
//! `cargo fuzz run <target>`) through the same entry points as the fuzz
//! targets in `fuzz/fuzz_targets/`, on stable Rust, so every input the
//! fuzzer ever kept stays a regression test: no panic, and a result.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let p = e.unwrap().path();
            (p.display().to_string(), std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "empty corpus {}", dir.display());
    out
}

#[test]
fn image_metadata_corpus() {
    let ex = sightline_metadata::Extractor::default();
    for (name, data) in corpus("image_metadata") {
        let m = ex.image(&data, None);
        // Every problem names where it is.
        assert!(m.issues.iter().all(|i| !i.origin.is_empty()), "{name}");
    }
}

#[test]
fn bmff_metadata_corpus() {
    for (name, data) in corpus("bmff_metadata") {
        let r = sightline_metadata::video::read_bmff_bytes(&data);
        assert!(r.issues.iter().all(|i| !i.code.is_empty()), "{name}");
    }
}

#[test]
fn xmp_corpus() {
    for (name, data) in corpus("xmp") {
        let (fields, _) = sightline_metadata::xmp_fields(&data);
        assert!(fields.len() <= 10_000, "{name}");
    }
}

#[test]
fn iso6709_corpus() {
    for (_, data) in corpus("iso6709") {
        if let Ok(s) = std::str::from_utf8(&data)
            && let Ok(p) = sightline_metadata::video::parse_iso6709(s)
        {
            assert!(p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0, "{s}");
        }
    }
}
