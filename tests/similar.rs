//! `sightline fingerprint`, `similar` and `clusters` end to end on the
//! fixtures, against expectations computed by the reference PDQ
//! (`fixtures/expected-pdq.csv`) and the fixtures' own lineage
//! (`fixtures/expected.json`: `derived_from`, `transform`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::Value;

/// `fixtures/expected-pdq.csv`: path → row.
fn reference_pdq() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(fixtures().join("expected-pdq.csv")).expect("csv");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<String> = l.split(',').map(str::to_string).collect();
            (f[4].trim_start_matches("fixtures/").to_string(), f)
        })
        .collect()
}

#[test]
fn fingerprint_gives_reference_pdq_for_fixtures_and_a_clear_error_for_the_rest() {
    let reference = reference_pdq();
    assert!(reference.len() >= 30);
    let expected = expected();
    let sha_of: BTreeMap<&str, &str> = expected
        .iter()
        .map(|e| (s(e, "path"), s(e, "sha256")))
        .collect();
    let mut paths: Vec<String> = reference.keys().cloned().collect();
    let hostile = [
        "hostile/truncated.jpg",
        "hostile/bomb.png",
        "hostile/random.bin",
        "hostile/empty.jpg",
    ];
    paths.extend(hostile.iter().map(|p| p.to_string()));
    let video = expected
        .iter()
        .find(|e| e["kind"] == "video")
        .expect("a video");
    paths.push(s(video, "path").to_string());
    let args: Vec<String> = paths
        .iter()
        .map(|p| fixtures().join(p).display().to_string())
        .collect();
    let mut argv = vec!["fingerprint", "--json"];
    argv.extend(args.iter().map(String::as_str));
    let data = tempfile::tempdir().expect("tempdir");
    let lines = json_lines(data.path(), &argv);
    assert_eq!(lines.len(), paths.len(), "one line per file, in order");

    for (rel, line) in paths.iter().zip(&lines) {
        assert!(s(line, "path").ends_with(rel.as_str()), "{rel}: {line}");
        match reference.get(rel) {
            Some(row) => {
                assert_eq!(s(&line["pdq"], "hash"), row[0], "{rel}: pdq");
                assert_eq!(
                    n(&line["pdq"], "quality").to_string(),
                    row[1],
                    "{rel}: quality"
                );
                assert_eq!(n(line, "width").to_string(), row[2], "{rel}");
                assert_eq!(n(line, "height").to_string(), row[3], "{rel}");
                let dihedral: Vec<&str> = line["pdq_dihedral"]
                    .as_array()
                    .expect("dihedral")
                    .iter()
                    .map(|v| v.as_str().expect("hex"))
                    .collect();
                assert_eq!(
                    dihedral,
                    row[5..12].iter().map(String::as_str).collect::<Vec<_>>(),
                    "{rel}"
                );
                assert_eq!(s(line, "sha256"), sha_of[rel.as_str()], "{rel}");
                for key in ["ahash", "dhash", "phash", "blockhash"] {
                    assert!(
                        s(line, key).bytes().all(|b| b.is_ascii_hexdigit()),
                        "{rel}: {key}"
                    );
                }
                assert!(s(line, "media_type").starts_with("image/"));
            }
            None if rel.starts_with("videos/") => {
                // Videos: vPDQ, one hash per second of the stream.
                assert_eq!(s(line, "mode"), "vpdq", "{rel}");
                assert!(!line["vpdq"].as_array().expect("vpdq").is_empty(), "{rel}");
            }
            None => {
                assert!(line.get("pdq").is_none(), "{rel}: {line}");
                assert!(!s(line, "error").is_empty(), "{rel}: {line}");
            }
        }
    }
    // Framed re-posts report the photo where the generator put it.
    for e in expected.iter().filter(|e| e["photo_rect"].is_array()) {
        let i = paths
            .iter()
            .position(|x| x == s(e, "path"))
            .expect("fingerprinted");
        let want: Vec<u64> = e["photo_rect"]
            .as_array()
            .expect("rect")
            .iter()
            .map(|v| v.as_u64().expect("n"))
            .collect();
        let found = lines[i]["regions"]
            .as_array()
            .expect("regions")
            .iter()
            .any(|r| {
                let got: Vec<u64> = r["rect"]
                    .as_array()
                    .expect("rect")
                    .iter()
                    .map(|v| v.as_u64().expect("n"))
                    .collect();
                ["borderless", "screenshot-photo"].contains(&s(r, "kind")) && got == want
            });
        assert!(
            found,
            "{}: photo at {want:?} not found in {}",
            s(e, "path"),
            lines[i]["regions"]
        );
    }
    let err = |p: &str| {
        let i = paths.iter().position(|x| x == p).expect("listed");
        s(&lines[i], "error").to_string()
    };
    assert!(
        err("hostile/bomb.png").contains("100000"),
        "{}",
        err("hostile/bomb.png")
    );
    assert!(err("hostile/empty.jpg").contains("empty"));
    let i = paths
        .iter()
        .position(|x| x == s(video, "path"))
        .expect("listed");
    assert!(lines[i].get("error").is_none(), "{}", lines[i]);
}

/// Fixture lineage: each media path → the original it was made from.
fn root_of(expected: &[Value]) -> BTreeMap<String, String> {
    expected
        .iter()
        .filter(|e| s(e, "status") == "accepted")
        .map(|e| {
            let root = e["derived_from"].as_str().unwrap_or(s(e, "path"));
            (s(e, "sha256").to_string(), root.to_string())
        })
        .collect()
}

#[test]
fn reposts_cluster_with_their_original_and_nothing_else() {
    let expected = expected();
    let data = tempfile::tempdir().expect("tempdir");
    // Originals first, re-posts later: the originals are seen first.
    json(
        data.path(),
        &[
            "ingest",
            "--json",
            &fixtures().join("images/originals").display().to_string(),
        ],
    );
    let second = json(
        data.path(),
        &[
            "ingest",
            "--json",
            &fixtures().join("images/reposts").display().to_string(),
        ],
    );
    assert!(
        n(&second["summary"], "near_duplicates") >= 8,
        "{}",
        second["summary"]
    );

    let clusters = json_lines(data.path(), &["clusters", "--json"]);
    let roots = root_of(&expected);
    let mut cluster_of: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for c in &clusters {
        let members: Vec<&str> = c["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| s(m, "sha256"))
            .collect();
        // Precision: every member of a cluster comes from the same original.
        let lineage: BTreeSet<&String> = members.iter().map(|m| &roots[*m]).collect();
        assert_eq!(lineage.len(), 1, "cluster mixes originals: {c}");
        // The original is the earliest seen, and it is the fixture original.
        let original = s(c, "original");
        let original_sha = members
            .iter()
            .find(|m| m.starts_with(original))
            .expect("original is a member");
        assert_eq!(&&roots[*original_sha], lineage.iter().next().expect("root"));
        let original_path = expected
            .iter()
            .find(|e| s(e, "sha256") == *original_sha)
            .expect("known");
        assert!(
            s(original_path, "path").starts_with("images/originals/"),
            "{c}"
        );
        for m in members {
            cluster_of.insert(m.to_string(), (n(c, "cluster"), original.to_string()));
        }
    }
    // Recall: every re-post must be found, through the whole image, its
    // dihedral variants, a framed photo region or a centred crop.
    for e in expected.iter().filter(|e| e["derived_from"].is_string()) {
        let transform = s(e, "transform");
        // Exact copies are the same item (a new sighting), not a cluster.
        if transform == "exact-copy" {
            continue;
        }
        assert!(
            [
                "recompress",
                "shrink",
                "mirror",
                "watermark",
                "crop",
                "letterbox",
                "screenshot"
            ]
            .contains(&transform),
            "a fixture transform this test does not know: {transform}"
        );
        let original = expected
            .iter()
            .find(|o| s(o, "path") == s(e, "derived_from"))
            .expect("original listed");
        let mine = cluster_of.get(s(e, "sha256"));
        let theirs = cluster_of.get(s(original, "sha256"));
        assert!(
            mine.is_some() && mine == theirs,
            "{} ({transform}) not clustered with its original",
            s(e, "path")
        );
    }
}

#[test]
fn similar_finds_the_original_of_a_file_and_the_copies_of_an_item() {
    let expected = expected();
    let data = tempfile::tempdir().expect("tempdir");
    json(
        data.path(),
        &[
            "ingest",
            "--json",
            &fixtures().join("images").display().to_string(),
            &fixtures().join("videos").display().to_string(),
        ],
    );
    let mirror = expected
        .iter()
        .find(|e| e["transform"] == "mirror")
        .expect("a mirrored re-post");
    let original = s(mirror, "derived_from");
    let original_sha = expected
        .iter()
        .find(|e| s(e, "path") == original)
        .map(|e| s(e, "sha256"))
        .expect("sha");

    // By file: a copy on disk, not in the store under this path.
    let copy = tempfile::tempdir().expect("tempdir");
    let file = copy.path().join("forwarded.jpg");
    std::fs::copy(fixtures().join(s(mirror, "path")), &file).expect("copy");
    let found = json_lines(
        data.path(),
        &["similar", "--json", &file.display().to_string()],
    );
    let hit = found
        .iter()
        .find(|m| s(m, "sha256") == original_sha)
        .expect("original found");
    assert_eq!(s(&hit["matched"], "stored"), "pdq");
    assert!(
        s(&hit["matched"], "query").starts_with("flip"),
        "mirror found by a flip: {hit}"
    );
    // The mirror itself is stored too: it is found at distance 0.
    let me = found
        .iter()
        .find(|m| s(m, "sha256") == s(mirror, "sha256"))
        .expect("itself");
    assert_eq!(n(me, "distance"), 0);

    // By id: the original's copies, never itself; the limit is respected.
    let copies = json_lines(data.path(), &["similar", "--json", &original_sha[..10]]);
    assert!(copies.iter().all(|m| s(m, "sha256") != original_sha));
    assert!(copies.iter().any(|m| s(m, "sha256") == s(mirror, "sha256")));
    for m in &copies {
        assert!(n(m, "distance") <= 31);
    }
    let none = json_lines(
        data.path(),
        &[
            "similar",
            "--json",
            "--max-distance",
            "0",
            &original_sha[..10],
        ],
    );
    assert!(none.iter().all(|m| n(m, "distance") == 0));

    // A stored video is searched by its frames (tests/video.rs has the
    // clip-in-compilation case).
    let video = expected
        .iter()
        .find(|e| e["kind"] == "video")
        .expect("video");
    ok(data.path(), &["similar", &s(video, "sha256")[..12]]);
}

/// Tilted re-posts of real photos (`fixtures/local-features/`, made by its
/// `make.py`; `expected.json` names each one's original): PDQ puts them
/// 32..79 bits from their original, too far to match on its own, and local
/// features confirm them, with the rotation the re-poster applied.
#[test]
fn tilted_reposts_are_confirmed_by_local_features() {
    let dir = fixtures().join("local-features");
    let expected: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    ok(&data, &["ingest", "--json", dir.to_str().unwrap()]);
    let sha_of = |p: &str| sha256_hex(&std::fs::read(dir.join(p)).unwrap());

    // Clusters: each tilted copy with its original, nothing else joined.
    let mut want: BTreeSet<Vec<String>> = BTreeSet::new();
    for e in expected.iter().filter(|e| e["transform"] == "tilt") {
        let mut pair = vec![sha_of(s(e, "path")), sha_of(s(e, "original"))];
        pair.sort();
        want.insert(pair);
    }
    let got: BTreeSet<Vec<String>> = json_lines(&data, &["clusters", "--json"])
        .iter()
        .map(|c| {
            let mut m: Vec<String> = c["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| s(x, "sha256").to_string())
                .collect();
            m.sort();
            m
        })
        .collect();
    assert_eq!(got, want);

    // `similar` explains the match: beyond PDQ's threshold, confirmed by
    // keypoints under the re-poster's rotation.
    for e in expected.iter().filter(|e| e["transform"] == "tilt") {
        let file = dir.join(s(e, "path"));
        let hits = json_lines(&data, &["similar", "--json", file.to_str().unwrap()]);
        let hit = hits
            .iter()
            .find(|h| h["sha256"] == sha_of(s(e, "original")).as_str())
            .unwrap_or_else(|| panic!("{} not matched: {hits:?}", s(e, "path")));
        assert!(hit["distance"].as_u64().unwrap() > 31, "{hit}");
        let v = &hit["verified"];
        assert!(v["inliers"].as_u64().unwrap() >= 12, "{hit}");
        let rot = v["rotation_deg"].as_f64().unwrap();
        let truth = e["degrees"].as_f64().unwrap();
        assert!(
            (rot.abs() - truth.abs()).abs() < 1.0,
            "rotation {rot} vs {truth}"
        );
        // Nothing else but the file itself (it is stored too).
        let me = sha_of(s(e, "path"));
        let others: Vec<&Value> = hits.iter().filter(|h| h["sha256"] != me.as_str()).collect();
        assert_eq!(others.len(), 1, "{hits:?}");
    }
}
