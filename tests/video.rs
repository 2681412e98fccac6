//! Video fingerprints end to end: `sightline fingerprint` gives the
//! reference vPDQ (`fixtures/vpdq/*.1s.txt`, made by pip `vpdq`), ingest
//! stores it, and `sightline similar` finds the 3-second clip inside the
//! compilation fixture with its time ranges on both sides
//! (`fixtures/expected.json`: `contains_clip`).

mod common;

use common::*;
use serde_json::Value;

#[test]
fn fingerprint_gives_the_reference_vpdq() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["h264-aac.mp4", "vfr.mkv", "odd-size.avi"] {
        let file = fixtures().join("vpdq").join(name);
        let out = json(
            dir.path(),
            &["fingerprint", "--json", file.to_str().unwrap()],
        );
        let want = std::fs::read_to_string(fixtures().join("vpdq").join(format!("{name}.1s.txt")))
            .unwrap();
        let got: Vec<String> = out["vpdq"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{},{},{},{:.3}",
                    f["frame"],
                    f["quality"],
                    f["hash"].as_str().unwrap(),
                    f["timestamp"].as_f64().unwrap()
                )
            })
            .collect();
        let want: Vec<&str> = want.lines().collect();
        assert_eq!(got, want, "{name}");
        assert!(out["duration"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn a_clip_inside_a_compilation_is_found_with_its_time_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(
        &data,
        &[
            "ingest",
            "--json",
            fixtures().join("videos").to_str().unwrap(),
        ],
    );
    let expected = expected();
    let comp = expected
        .iter()
        .find(|e| e.get("contains_clip").is_some())
        .unwrap();
    let clip = &comp["contains_clip"];
    let source = expected
        .iter()
        .find(|e| e["path"] == clip["source"])
        .unwrap();
    let hits = json_lines(
        &data,
        &[
            "similar",
            "--json",
            fixtures().join(s(comp, "path")).to_str().unwrap(),
        ],
    );
    let hit: &Value = hits
        .iter()
        .find(|h| h["sha256"] == source["sha256"])
        .unwrap_or_else(|| panic!("clip source not found in {hits:?}"));
    let v = &hit["vpdq"];
    assert!(v["compared_match_percent"].as_f64().unwrap() >= 50.0, "{v}");
    // Where in the stored source: inside [source_start, source_start + duration].
    let (src_start, dur, at) = (
        clip["source_start_s"].as_f64().unwrap(),
        clip["duration_s"].as_f64().unwrap(),
        clip["start_s"].as_f64().unwrap(),
    );
    for r in v["stored_ranges"].as_array().unwrap() {
        assert!(
            r[0].as_f64().unwrap() >= src_start - 0.01
                && r[1].as_f64().unwrap() <= src_start + dur + 0.01,
            "{v}"
        );
    }
    // Where in the compilation: inside [start, start + duration].
    for r in v["query_ranges"].as_array().unwrap() {
        assert!(
            r[0].as_f64().unwrap() >= at - 0.05 && r[1].as_f64().unwrap() <= at + dur + 0.05,
            "{v}"
        );
    }
    // Ingest stored the vPDQ of every video.
    for it in json_lines(&data, &["ls", "--json"]) {
        let shown = json(
            &data,
            &["show", "--json", it["item"]["sha256"].as_str().unwrap()],
        );
        let fp = &shown["fingerprints"];
        assert_eq!(fp["mode"], "vpdq");
        assert!(!fp["vpdq"].as_array().unwrap().is_empty());
        assert!(fp["duration_ms"].as_u64().unwrap() >= 3000);
    }
}

#[test]
fn a_frame_grab_joins_the_video_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let video = fixtures().join("videos/2022-12-12_kabul-shahr-e-naw-hotel_pan.mp4");
    ok(&data, &["ingest", "--json", video.to_str().unwrap()]);
    // A screenshot of the video at 2 s, as an analyst or a re-poster makes one.
    let grab = dir.path().join("grab.jpg");
    let st = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-ss", "2.0", "-i"])
        .arg(&video)
        .args(["-frames:v", "1"])
        .arg(&grab)
        .status()
        .expect("ffmpeg");
    assert!(st.success());
    let out = json(&data, &["ingest", "--json", grab.to_str().unwrap()]);
    let o = &out["summary"]["outcomes"][0];
    let similar = o["similar"].as_array().expect("matched on ingest");
    assert!(
        similar
            .iter()
            .any(|m| m["stored"].as_str().unwrap().starts_with("region:frame@2.")),
        "{o}"
    );
    let clusters = json_lines(&data, &["clusters", "--json"]);
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(clusters[0]["members"].as_array().unwrap().len(), 2);
}
