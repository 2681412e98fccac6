//! `sightline metadata`, and metadata stored by `ingest` and shown by
//! `show`, end to end on the metadata fixtures (`fixtures/metadata`).

mod common;

use common::*;
use serde_json::Value;

fn codes(v: &Value) -> Vec<String> {
    let mut c: Vec<String> = v
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c
}

#[test]
fn metadata_command_prints_one_stable_object_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let edited = fixtures().join("metadata/edited.jpg");
    let missing = fixtures().join("metadata/missing.jpg");
    let out = run(
        dir.path(),
        &[
            "metadata",
            "--json",
            "--posted-at",
            "2023-01-01T00:00:00Z",
            edited.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
    );
    // One file could not be read: exit 1, but the other is still reported.
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let m = &lines[0];
    assert_eq!(m["file"], edited.to_str().unwrap());
    assert_eq!(m["sha256"].as_str().unwrap().len(), 64);
    // GPS as {lat, lon, alt}; times as written plus UTC.
    let gps = &m["summary"]["gps"];
    assert!((gps["lat"].as_f64().unwrap() - 34.561822).abs() < 1e-6);
    assert!((gps["lon"].as_f64().unwrap() - 69.214292).abs() < 1e-6);
    assert_eq!(gps["alt"].as_f64(), Some(1791.0));
    let taken = &m["summary"]["taken_at"];
    assert_eq!(taken["value"], "2021:08:26 17:52:10");
    assert_eq!(taken["offset"], "+04:30");
    assert_eq!(taken["utc"], "2021-08-26T13:22:10Z");
    assert_eq!(taken["origin"], "ExifIFD:DateTimeOriginal");
    // Every field keeps its origin.
    let make = m["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "IFD0:Make")
        .unwrap();
    assert_eq!(make["value"], "samsung");
    assert_eq!(make["origin"], "jpeg:APP1/exif/IFD0/0x010f");
    assert_eq!(
        codes(&m["flags"]),
        [
            "dimensions-differ",
            "editing-software",
            "modified-after-capture",
            "thumbnail-differs",
            "time-far-from-post"
        ]
    );
    assert_eq!(lines[1]["error"]["code"], "not-found");
}

#[test]
fn ingest_stores_metadata_and_show_prints_it_with_flags() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let edited = fixtures().join("metadata/edited.jpg");
    let stripped = fixtures().join("images/reposts/2021-08-26_kabul-abbey-gate_01__recompress.jpg");
    ok(
        &data,
        &[
            "ingest",
            "--json",
            edited.to_str().unwrap(),
            stripped.to_str().unwrap(),
        ],
    );
    let items = json_lines(&data, &["ls", "--json"]);
    assert_eq!(items.len(), 2);
    let mut seen = Vec::new();
    for it in &items {
        let sha = it["item"]["sha256"].as_str().unwrap();
        let shown = json(&data, &["show", "--json", sha]);
        seen.push(codes(&shown["metadata"]["flags"]));
        let human = ok(&data, &["show", sha]);
        assert!(human.contains("metadata ("), "{human}");
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            vec![
                "dimensions-differ".to_string(),
                "editing-software".into(),
                "modified-after-capture".into(),
                "thumbnail-differs".into()
            ],
            vec!["metadata-stripped".to_string()],
        ]
    );
    // Metadata is an audit event, and survives a rebuild from the journal.
    let history = json_lines(&data, &["history", "--json"]);
    let n = history
        .iter()
        .filter(|e| e["event"]["type"] == "metadata_extracted")
        .count();
    assert_eq!(n, 2);
    let before: Vec<Value> = items
        .iter()
        .map(|it| {
            json(
                &data,
                &["show", "--json", it["item"]["sha256"].as_str().unwrap()],
            )["metadata"]
                .clone()
        })
        .collect();
    ok(&data, &["rebuild"]);
    let after: Vec<Value> = items
        .iter()
        .map(|it| {
            json(
                &data,
                &["show", "--json", it["item"]["sha256"].as_str().unwrap()],
            )["metadata"]
                .clone()
        })
        .collect();
    assert_eq!(before, after);
    ok(&data, &["check"]);
}

#[test]
fn hostile_metadata_does_not_stop_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The image fixtures (the folder's own files; video/ is tested apart).
    let files: Vec<String> = std::fs::read_dir(fixtures().join("metadata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["ingest", "--json"];
    args.extend(files.iter().map(String::as_str));
    let out = json(&data, &args);
    let summary = &out["summary"];
    // Every image is preserved, damaged metadata or not; only the
    // non-media files and the JPEG cut inside its first segment fail.
    let mut failed: Vec<(&str, &str)> = summary["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["outcome"] == "rejected")
        .map(|o| {
            let p = o["path"].as_str().unwrap();
            (p.rsplit('/').next().unwrap(), o["code"].as_str().unwrap())
        })
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            ("expected-exiftool.json", "not-media"),
            ("expected.json", "not-media"),
            ("hostile-segment-overrun.jpg", "truncated"),
            ("make.py", "not-media"),
        ]
    );
    assert_eq!(summary["new_items"], 13);
    for it in json_lines(&data, &["ls", "--json"]) {
        let sha = it["item"]["sha256"].as_str().unwrap();
        let shown = json(&data, &["show", "--json", sha]);
        assert!(shown["metadata"].is_object(), "{sha} has metadata");
    }
}

#[test]
fn ingested_video_carries_container_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mov = fixtures().join("metadata/video/apple-keys.mov");
    ok(&data, &["ingest", "--json", mov.to_str().unwrap()]);
    let items = json_lines(&data, &["ls", "--json"]);
    let sha = items[0]["item"]["sha256"].as_str().unwrap();
    let shown = json(&data, &["show", "--json", sha]);
    let m = &shown["metadata"];
    assert_eq!(m["video"]["location_origin"], "Keys:GPSCoordinates");
    assert!((m["summary"]["gps"]["lat"].as_f64().unwrap() - 31.6133).abs() < 1e-9);
    assert!((m["summary"]["gps"]["lon"].as_f64().unwrap() - 65.7101).abs() < 1e-9);
    assert_eq!(m["summary"]["make"], "Apple");
    assert_eq!(m["summary"]["taken_at"]["utc"], "2022-11-03T09:51:05Z");
    assert_eq!(m["video"]["streams"][0]["codec"], "h264");
}

#[test]
fn content_credentials_are_validated_and_trust_is_separate() {
    let dir = tempfile::tempdir().unwrap();
    let c2pa = fixtures().join("metadata/c2pa");
    let file = |n: &str| c2pa.join(n).display().to_string();
    let lines = json_lines(
        dir.path(),
        &[
            "metadata",
            "--json",
            &file("c2pa-created.jpg"),
            &file("c2pa-ai.jpg"),
            &file("c2pa-tampered.jpg"),
            &file("c2pa-none.jpg"),
        ],
    );
    let flags: Vec<Vec<String>> = lines.iter().map(|l| codes(&l["flags"])).collect();
    assert!(
        flags[0].contains(&"c2pa-present".to_string()),
        "{:?}",
        flags[0]
    );
    assert_eq!(lines[0]["c2pa"]["state"], "valid");
    assert_eq!(lines[0]["c2pa"]["signer_trusted"], false);
    assert!(
        flags[1].contains(&"c2pa-ai-generated".to_string()),
        "{:?}",
        flags[1]
    );
    assert!(
        flags[2].contains(&"c2pa-invalid".to_string()),
        "{:?}",
        flags[2]
    );
    assert!(lines[3]["c2pa"].is_null());
    // With the fixtures' root as a trust anchor, the same file is trusted.
    let trusted = json(
        dir.path(),
        &[
            "metadata",
            "--json",
            "--c2pa-trust",
            &file("certs/test-only-root.pem"),
            &file("c2pa-created.jpg"),
        ],
    );
    assert_eq!(trusted["c2pa"]["state"], "trusted");
    assert_eq!(trusted["c2pa"]["signer_trusted"], true);
}
