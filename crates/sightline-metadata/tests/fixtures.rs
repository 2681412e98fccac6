//! The project's own metadata fixtures (`fixtures/metadata`, made by
//! `fixtures/metadata/make.py` from the generated images): every field of
//! the issue's list equals ExifTool's value in `expected-exiftool.json`,
//! and each file raises exactly the flags and issues in `expected.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;
use sightline_metadata::Extractor;

mod common;
use common::{FIELDS, equal};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Where Sightline deliberately differs from ExifTool, and why.
const DIFFERENT: &[(&str, &str, &str)] = &[(
    "metadata/hostile-latin1.jpg",
    "IFD0:Artist",
    "the bytes are latin-1; exiftool prints '?' for them, we decode them and raise exif-encoding",
)];

#[test]
fn fields_equal_exiftool() {
    let json: Vec<BTreeMap<String, Value>> = serde_json::from_slice(
        &std::fs::read(fixtures().join("metadata/expected-exiftool.json")).unwrap(),
    )
    .unwrap();
    assert!(
        json.len() >= 40,
        "expected-exiftool.json lists {} files",
        json.len()
    );
    let ex = Extractor::default();
    let (mut matched, mut present) = (0, 0);
    let mut misses = Vec::new();
    for entry in &json {
        let src = entry["SourceFile"].as_str().unwrap();
        let meta = ex.file(&fixtures().join(src)).unwrap();
        for &key in FIELDS {
            let Some(want) = entry.get(key) else { continue };
            if DIFFERENT.iter().any(|(f, k, _)| *f == src && *k == key) {
                continue;
            }
            present += 1;
            match meta.get(key) {
                Some(f) if equal(key, want, &f.value) => matched += 1,
                got => misses.push(format!("{src} {key}: exiftool {want}, ours {got:?}")),
            }
        }
    }
    assert!(present > 400, "only {present} fields compared");
    assert!(
        misses.is_empty(),
        "{matched}/{present} equal; differ:\n{}",
        misses.join("\n")
    );
}

#[test]
fn flags_and_issues_as_expected() {
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("metadata/expected.json")).unwrap())
            .unwrap();
    let ex = Extractor::default();
    let files = expected["files"].as_object().unwrap();
    assert!(files.len() >= 40);
    for (name, want) in files {
        let meta = ex.file(&fixtures().join(name)).unwrap();
        let mut flags: Vec<&str> = meta.flags.iter().map(|f| f.code.as_str()).collect();
        flags.sort();
        let mut issues: Vec<&str> = meta.issues.iter().map(|i| i.code.as_str()).collect();
        issues.sort();
        let codes = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(flags, codes(&want["flags"]), "{name}: flags");
        assert_eq!(issues, codes(&want["issues"]), "{name}: issues");
        match (&want.get("gps"), &meta.summary.gps) {
            (Some(g), Some(got)) => {
                assert!(
                    (g[0].as_f64().unwrap() - got.lat).abs() < 1e-6,
                    "{name}: lat"
                );
                assert!(
                    (g[1].as_f64().unwrap() - got.lon).abs() < 1e-6,
                    "{name}: lon"
                );
            }
            (None, None) => {}
            (w, g) => panic!("{name}: gps expected {w:?}, got {g:?}"),
        }
        if let Some(t) = want.get("taken_utc") {
            let got = meta.summary.taken_at.as_ref().and_then(|t| t.utc);
            let got = got.map(|u| u.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            assert_eq!(got.as_deref(), t.as_str(), "{name}: taken_at utc");
        }
        // Every reason is one line; every origin is named.
        for f in &meta.flags {
            assert!(
                !f.reason.is_empty() && !f.reason.contains('\n'),
                "{name}: {f:?}"
            );
        }
        for i in &meta.issues {
            assert!(
                !i.origin.is_empty() && !i.message.contains('\n'),
                "{name}: {i:?}"
            );
        }
    }
}

#[test]
fn capture_time_far_from_post_is_flagged() {
    let ex = Extractor::default();
    let meta = ex.file(&fixtures().join("metadata/edited.jpg")).unwrap();
    let opts = sightline_metadata::FlagOptions::default();
    // Taken 2021-08-26 13:22:10 UTC. Posted the same evening: nothing.
    let same_day = "2021-08-26T18:00:00Z".parse().unwrap();
    assert!(sightline_metadata::post_flags(&meta, same_day, &opts).is_empty());
    // Posted a year later: flagged, and the reason says by how much.
    let later = "2022-09-01T00:00:00Z".parse().unwrap();
    let f = sightline_metadata::post_flags(&meta, later, &opts);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].code, "time-far-from-post");
    assert!(
        f[0].reason.contains("12 months before the post"),
        "{}",
        f[0].reason
    );
    // No offset (null-island.jpg): 14 h of slack either way.
    let meta = ex
        .file(&fixtures().join("metadata/null-island.jpg"))
        .unwrap();
    let near = "2022-12-14T00:00:00Z".parse().unwrap();
    assert!(sightline_metadata::post_flags(&meta, near, &opts).is_empty());
    let far = "2022-12-20T00:00:00Z".parse().unwrap();
    assert_eq!(sightline_metadata::post_flags(&meta, far, &opts).len(), 1);
}

#[test]
fn thumbnail_of_the_same_picture_is_close() {
    let ex = Extractor::default();
    let own = ex
        .file(&fixtures().join("metadata/camera-thumbnail.jpg"))
        .unwrap();
    let t = own.summary.thumbnail.unwrap();
    assert_eq!((t.width, t.height), (Some(160), Some(120)));
    assert!(t.pdq_distance.unwrap() <= 31, "{t:?}");
    let edited = ex.file(&fixtures().join("metadata/edited.jpg")).unwrap();
    assert!(edited.summary.thumbnail.unwrap().pdq_distance.unwrap() > 64);
}

#[test]
fn unreadable_files_are_errors_with_codes() {
    let ex = Extractor::default();
    let e = ex
        .file(&fixtures().join("hostile/does-not-exist.jpg"))
        .unwrap_err();
    assert_eq!(e.code(), "not-found");
    let e = ex.file(&fixtures().join("metadata/make.py")).unwrap_err();
    assert_eq!(e.code(), "not-media");
    let e = ex.file(&fixtures().join("metadata")).unwrap_err();
    assert_eq!(e.code(), "not-a-file");
}
