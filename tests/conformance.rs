//! Conformance against the reference outputs in `../shared/conformance`
//! (ExifTool's reading of 100 real camera files, the reference PDQ tool's
//! reading of Meta's test images, the reference vPDQ videos).
//!
//! That folder is not part of the project, so these tests are `#[ignore]`d
//! in a plain `cargo test`; `./sightline.sh test` runs them with
//! `--ignored` whenever the folder is there and says so when it is not.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::*;
use serde_json::Value;

fn conformance() -> PathBuf {
    std::env::var_os("SIGHTLINE_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/conformance"))
}

/// Ingest folders of real files; return path → (outcome, item) for each.
fn ingest_all(dirs: &[PathBuf]) -> BTreeMap<String, (Value, Option<Value>)> {
    let data = tempfile::tempdir().expect("tempdir");
    let mut args = vec!["ingest".to_string(), "--json".to_string()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let summary = json(data.path(), &args);
    let items: BTreeMap<String, Value> = json_lines(data.path(), &["ls", "--json"])
        .into_iter()
        .map(|i| (s(&i["item"], "sha256").to_string(), i["item"].clone()))
        .collect();
    summary["summary"]["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| {
            let item = o["sha256"].as_str().and_then(|h| items.get(h)).cloned();
            (s(o, "path").to_string(), (o.clone(), item))
        })
        .collect()
}

/// ExifTool's `File:FileType` in Sightline's format names.
fn exiftool_format(t: &str) -> &'static str {
    match t {
        "JPEG" => "jpeg",
        "TIFF" => "tiff",
        "HEIC" | "HEIF" => "heif",
        "PNG" => "png",
        "WEBP" => "webp",
        "GIF" => "gif",
        _ => "unknown",
    }
}

#[test]
#[ignore = "needs ../shared/conformance; ./sightline.sh test runs it"]
fn formats_and_dimensions_agree_with_exiftool_on_real_camera_files() {
    let root = conformance().join("exif");
    let reference: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("exiftool_n.json")).expect("exiftool_n.json"),
    )
    .expect("json");
    let images = root.join("images");
    let got = ingest_all(std::slice::from_ref(&images));
    let (mut format_ok, mut dims_ok, mut dims_total) = (0, 0, 0);
    let mut failures = Vec::new();
    for r in &reference {
        let rel = s(r, "SourceFile").trim_start_matches("./");
        let path = images.join(rel).display().to_string();
        let (outcome, item) = got
            .get(&path)
            .unwrap_or_else(|| panic!("{rel} not reported"));
        let want = exiftool_format(s(r, "File:FileType"));
        let Some(item) = item else {
            failures.push(format!("{rel}: rejected: {}", outcome["reason"]));
            continue;
        };
        if s(item, "format") == want {
            format_ok += 1;
        } else {
            failures.push(format!(
                "{rel}: format {} but ExifTool says {want}",
                s(item, "format")
            ));
        }
        if let (Some(w), Some(h)) = (
            r["File:ImageWidth"].as_u64(),
            r["File:ImageHeight"].as_u64(),
        ) && want != "heif"
        {
            dims_total += 1;
            if item["width"].as_u64() == Some(w) && item["height"].as_u64() == Some(h) {
                dims_ok += 1;
            } else {
                failures.push(format!(
                    "{rel}: {}x{} but ExifTool says {w}x{h}",
                    item["width"], item["height"]
                ));
            }
        }
    }
    eprintln!(
        "exif conformance: format {format_ok}/{} files, header dimensions {dims_ok}/{dims_total}",
        reference.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
#[ignore = "needs ../shared/conformance; ./sightline.sh test runs it"]
fn pdq_test_images_and_vpdq_videos_are_all_recognised() {
    let root = conformance();
    let csv = std::fs::read_to_string(root.join("pdq/reference_te_dihedral.csv")).expect("csv");
    let images = root.join("pdq/images");
    let videos = root.join("vpdq/videos");
    let got = ingest_all(&[images.clone(), videos.clone()]);
    let mut failures = Vec::new();
    let mut rows = 0;
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (w, h, rel) = (f[2], f[3], f[4]);
        rows += 1;
        let path = images.join(rel).display().to_string();
        match got.get(&path) {
            Some((_, Some(item))) => {
                let dims = format!("{}x{}", item["width"], item["height"]);
                if dims != format!("{w}x{h}") {
                    failures.push(format!("{rel}: {dims}, reference decoded {w}x{h}"));
                }
            }
            Some((o, None)) => failures.push(format!("{rel}: rejected: {}", o["reason"])),
            None => failures.push(format!("{rel}: not reported")),
        }
    }
    let mut video_count = 0;
    for (path, (o, item)) in &got {
        if path.starts_with(&videos.display().to_string()) {
            video_count += 1;
            match item {
                Some(i) if s(i, "kind") == "video" && s(i, "format") == "mp4" => {}
                _ => failures.push(format!("{path}: {o}")),
            }
        }
    }
    eprintln!("pdq images: {rows} reference rows; vpdq videos: {video_count}");
    assert!(rows >= 50 && video_count >= 14);
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
