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

/// Keyframes made at ingest (`fixtures/keyframes/shots.mp4`, 5 shots, see
/// `shots.json`): recorded as derived blobs, listed by `show`, written out
/// by `sightline keyframes`, and checked by `sightline check`.
#[test]
fn ingest_makes_keyframes_that_keyframes_writes_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let video = fixtures().join("keyframes/shots.mp4");
    ok(&data, &["ingest", "--json", video.to_str().unwrap()]);
    let sha = sha256_hex(&std::fs::read(&video).unwrap());
    let shown = json(&data, &["show", "--json", &sha]);
    let files = shown["derivatives"]["files"].as_array().unwrap();
    let kinds = |k: &str| files.iter().filter(|f| f["kind"] == k).count();
    assert_eq!(
        (
            kinds("keyframe"),
            kinds("thumbnail"),
            kinds("contact_sheet")
        ),
        (6, 6, 1)
    );
    let times: Vec<u64> = files
        .iter()
        .filter(|f| f["kind"] == "keyframe")
        .map(|f| f["time_ms"].as_u64().unwrap())
        .collect();
    // First frame, the cuts at 3.0, 8.5 and 10.5 s, the settled end of the
    // dissolve (5.48..6.48 s), the last frame.
    assert_eq!(times[..2], [0, 3000]);
    assert!((6500..=7500).contains(&times[2]), "{times:?}");
    assert_eq!(times[3..5], [8500, 10_500]);
    assert!(times[5] >= 11_500, "{times:?}");
    assert!(
        shown["derivatives"]["made_by"]
            .as_str()
            .unwrap()
            .contains("keyframes: 4 samples/s")
    );

    // Written out byte for byte as stored, with a description beside them.
    let out = dir.path().join("out");
    let written = json_lines(
        &data,
        &[
            "keyframes",
            "--json",
            &sha[..12],
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(written.len(), 13);
    for w in &written {
        let bytes = std::fs::read(w["path"].as_str().unwrap()).unwrap();
        assert_eq!(sha256_hex(&bytes), w["sha256"].as_str().unwrap());
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (u64::from(img.width()), u64::from(img.height())),
            (w["width"].as_u64().unwrap(), w["height"].as_u64().unwrap())
        );
    }
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("{}-keyframes.json", &sha[..12]))).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["item"], sha.as_str());
    assert_eq!(manifest["files"].as_array().unwrap().len(), 13);

    // The derived blobs belong to the store: check is clean, not "orphan".
    let report = json(&data, &["check", "--json"]);
    assert_eq!(report["clean"], true, "{report}");
    assert_eq!(report["report"]["derived"], 13);
}

#[test]
fn keyframes_are_made_on_demand_for_a_video_ingested_without() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let video = fixtures().join("videos/compilation_kabul-attacks-2022.mp4");
    ok(
        &data,
        &[
            "ingest",
            "--json",
            "--no-keyframes",
            video.to_str().unwrap(),
        ],
    );
    let sha = sha256_hex(&std::fs::read(&video).unwrap());
    assert!(json(&data, &["show", "--json", &sha])["derivatives"].is_null());
    let out = dir.path().join("out");
    let written = json_lines(
        &data,
        &["keyframes", "--json", &sha, "--out", out.to_str().unwrap()],
    );
    let kf: Vec<u64> = written
        .iter()
        .filter(|w| w["kind"] == "keyframe")
        .map(|w| w["time_ms"].as_u64().unwrap())
        .collect();
    // The compilation cuts at 3.52 s and 6.52 s.
    assert_eq!(kf, vec![0, 3500, 6500, 9750]);
    // Recorded, as an audit event, and reused the next time.
    let history = json_lines(&data, &["history", "--json"]);
    assert_eq!(
        history
            .iter()
            .filter(|e| e["event"]["type"] == "derivatives_made")
            .count(),
        1
    );
    json_lines(
        &data,
        &["keyframes", "--json", &sha, "--out", out.to_str().unwrap()],
    );
    assert_eq!(
        json_lines(&data, &["history", "--json"]).len(),
        history.len()
    );
    // No staging file is left behind.
    let report = json(&data, &["check", "--json"]);
    assert_eq!(report["clean"], true, "{report}");
}

#[test]
fn keyframes_of_an_image_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let img = fixtures().join("images/originals/2021-08-26_kabul-abbey-gate_01.jpg");
    ok(&data, &["ingest", "--json", img.to_str().unwrap()]);
    let sha = sha256_hex(&std::fs::read(&img).unwrap());
    let out = run(
        &data,
        &[
            "keyframes",
            &sha,
            "--out",
            dir.path().join("o").to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a video"), "{err}");
}

/// A re-upload trimmed by half a second (`fixtures/keyframes/
/// hotel-pan-from-0.5s.mp4`) of a panning video: none of its 1 s frames is
/// within distance 31 of the original's, but the dense samples taken at
/// ingest find them, so the two join one cluster, in either order.
#[test]
fn a_trimmed_reupload_clusters_with_its_original_whatever_the_phase() {
    let original = fixtures().join("videos/2022-12-12_kabul-shahr-e-naw-hotel_pan.mp4");
    let trimmed = fixtures().join("keyframes/hotel-pan-from-0.5s.mp4");
    let dir = tempfile::tempdir().unwrap();
    let frames = |p: &std::path::Path| -> Vec<(u8, Vec<u8>)> {
        let fp = json(
            &dir.path().join("scratch"),
            &["fingerprint", "--json", p.to_str().unwrap()],
        );
        fp["vpdq"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let h = f["hash"].as_str().unwrap();
                let bytes = (0..32)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                (f["quality"].as_u64().unwrap() as u8, bytes)
            })
            .collect()
    };
    let (a, b) = (frames(&original), frames(&trimmed));
    let closest = a
        .iter()
        .flat_map(|(_, x)| {
            b.iter().map(move |(_, y)| {
                x.iter()
                    .zip(y)
                    .map(|(p, q)| (p ^ q).count_ones())
                    .sum::<u32>()
            })
        })
        .min()
        .unwrap();
    assert!(closest > 31, "1 s frames alone already match ({closest})");

    for order in [[&original, &trimmed], [&trimmed, &original]] {
        let data = dir
            .path()
            .join(format!("data-{}", order[0].display().to_string().len()));
        for v in order {
            ok(&data, &["ingest", "--json", v.to_str().unwrap()]);
        }
        let clusters = json_lines(&data, &["clusters", "--json"]);
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        assert_eq!(clusters[0]["members"].as_array().unwrap().len(), 2);
        // And the same after recomputing every cluster from the store.
        ok(&data, &["reindex", "--json"]);
        assert_eq!(json_lines(&data, &["clusters", "--json"]).len(), 1);
    }
}
