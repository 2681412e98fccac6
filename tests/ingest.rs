//! `sightline ingest`, `ls`, `show`, `check` and `rebuild` end to end on the
//! bundled fixtures, through the real binary and a real data dir.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use common::*;
use serde_json::Value;

/// Path of a summary outcome, relative to the fixtures folder.
fn rel(path: &str) -> String {
    let root = fixtures().display().to_string();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .trim_start_matches('/')
        .to_string()
}

fn outcomes(summary: &Value) -> BTreeMap<String, Value> {
    summary["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| (rel(s(o, "path")), o.clone()))
        .collect()
}

#[test]
fn fixtures_ingest_as_expected_and_a_second_run_changes_nothing() {
    let data = tempfile::tempdir().expect("tempdir");
    // The xtask-made fixtures (fixtures/metadata has its own tests).
    let dirs: Vec<String> = ["images", "videos", "hostile"]
        .iter()
        .map(|d| fixtures().join(d).display().to_string())
        .collect();
    let mut args = vec!["ingest", "--json"];
    args.extend(dirs.iter().map(String::as_str));
    let first = json(data.path(), &args);
    let summary = &first["summary"];
    let got = outcomes(summary);

    let expected = expected();
    let mut accepted = 0u64;
    let mut distinct = BTreeSet::new();
    for e in &expected {
        let path = s(e, "path");
        let o = got
            .get(path)
            .unwrap_or_else(|| panic!("{path} was not reported"));
        match s(e, "status") {
            "accepted" => {
                accepted += 1;
                distinct.insert(s(e, "sha256").to_string());
                assert_eq!(s(o, "outcome"), "recorded", "{path}: {o}");
                assert_eq!(s(o, "sha256"), s(e, "sha256"), "{path}");
            }
            "rejected" => {
                assert_eq!(s(o, "outcome"), "rejected", "{path}: {o}");
                assert_eq!(s(o, "code"), s(e, "code"), "{path}: {o}");
                assert!(!s(o, "reason").is_empty());
            }
            other => panic!("unknown status {other}"),
        }
    }
    // Files beside the fixtures that are not media (README, expected.json).
    for (path, o) in &got {
        if !expected.iter().any(|e| s(e, "path") == path) {
            assert_eq!(s(o, "code"), "not-media", "{path}: {o}");
        }
    }
    assert_eq!(n(summary, "new_items"), distinct.len() as u64);
    assert_eq!(
        n(summary, "new_sightings"),
        accepted - distinct.len() as u64
    );
    assert_eq!(n(summary, "duplicates"), 0);
    let rejected = n(summary, "rejected");
    assert_eq!(n(summary, "files"), got.len() as u64);

    // What `ls` says matches what the fixtures are.
    let items = json_lines(data.path(), &["ls", "--json"]);
    assert_eq!(items.len(), distinct.len());
    for e in expected.iter().filter(|e| s(e, "status") == "accepted") {
        let item = items
            .iter()
            .map(|i| &i["item"])
            .find(|i| s(i, "sha256") == s(e, "sha256"))
            .unwrap_or_else(|| panic!("{} not listed", s(e, "path")));
        assert_eq!(s(item, "format"), s(e, "format"), "{}", s(e, "path"));
        assert_eq!(s(item, "kind"), s(e, "kind"), "{}", s(e, "path"));
        assert_eq!(n(item, "size"), n(e, "size"), "{}", s(e, "path"));
        if e["kind"] == "image" {
            assert_eq!(item["width"], e["width"], "{}", s(e, "path"));
            assert_eq!(item["height"], e["height"], "{}", s(e, "path"));
        }
    }
    let journal_before = fs::read(data.path().join("journal/events.jsonl")).expect("journal");

    // Twice: only duplicates, nothing new, nothing changed.
    let second = json(data.path(), &args);
    let s2 = &second["summary"];
    assert_eq!(n(s2, "new_items"), 0);
    assert_eq!(n(s2, "new_sightings"), 0);
    assert_eq!(n(s2, "duplicates"), accepted);
    assert_eq!(n(s2, "rejected"), rejected);
    assert_eq!(json_lines(data.path(), &["ls", "--json"]), items);
    let journal_after = fs::read(data.path().join("journal/events.jsonl")).expect("journal");
    assert_eq!(
        journal_before, journal_after,
        "a re-run must not write history"
    );

    // The same bytes somewhere else are a new sighting of the same item.
    let e = expected
        .iter()
        .find(|e| s(e, "path").starts_with("images/originals/"))
        .expect("an original");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let copy = elsewhere.path().join("forwarded.jpg");
    fs::copy(fixtures().join(s(e, "path")), &copy).expect("copy");
    let third = json(
        data.path(),
        &["ingest", "--json", &copy.display().to_string()],
    );
    assert_eq!(n(&third["summary"], "new_sightings"), 1);
    assert_eq!(n(&third["summary"], "new_items"), 0);
    let shown = json(data.path(), &["show", "--json", &s(e, "sha256")[..12]]);
    let locators: Vec<&str> = shown["sightings"]
        .as_array()
        .expect("sightings")
        .iter()
        .map(|x| s(&x["source"], "locator"))
        .collect();
    assert!(locators.contains(&copy.canonicalize().expect("canon").to_str().expect("utf8")));
    assert!(
        locators.iter().any(|l| l.ends_with(s(e, "path"))),
        "{locators:?}"
    );
    for sighting in shown["sightings"].as_array().expect("sightings") {
        assert_eq!(s(sighting, "received_sha256"), s(e, "sha256"));
        assert_eq!(s(&sighting["tool"], "name"), "sightline");
        assert!(!s(sighting, "collector").is_empty());
        assert!(s(sighting, "job_id").starts_with("ingest-"));
    }

    let check = json(data.path(), &["check", "--json"]);
    assert_eq!(check["clean"], true, "{check}");
    assert_eq!(n(&check["report"], "items"), distinct.len() as u64);
}

#[test]
fn hostile_paths_are_named_the_batch_goes_on_and_nothing_stored_changes() {
    let expected = expected();
    let originals: Vec<&Value> = expected
        .iter()
        .filter(|e| s(e, "path").starts_with("images/originals/") && s(e, "format") == "jpeg")
        .collect();
    assert!(originals.len() >= 3, "need three original JPEGs");
    let src = |i: usize| fixtures().join(s(originals[i], "path"));

    let data = tempfile::tempdir().expect("tempdir");
    let earlier = tempfile::tempdir().expect("tempdir");
    fs::copy(src(0), earlier.path().join("earlier.jpg")).expect("copy");
    json(
        data.path(),
        &["ingest", "--json", &earlier.path().display().to_string()],
    );
    let items_before = json_lines(data.path(), &["ls", "--json"]);
    let shown_before = json(data.path(), &["show", "--json", s(originals[0], "sha256")]);
    let journal_before = fs::read(data.path().join("journal/events.jsonl")).expect("journal");

    let d = tempfile::tempdir().expect("tempdir");
    let p = d.path();
    fs::copy(src(1), p.join("good.jpg")).expect("copy");
    let bad_name = std::ffi::OsStr::from_bytes(b"caf\xe9-latin1.jpg");
    fs::copy(src(2), p.join(bad_name)).expect("copy");
    fs::create_dir(p.join("sub")).expect("mkdir");
    std::os::unix::fs::symlink("..", p.join("sub/loop")).expect("symlink loop");
    std::os::unix::fs::symlink("nowhere.jpg", p.join("dangling.jpg")).expect("symlink");
    let fifo = Command::new("mkfifo")
        .arg(p.join("pipe.jpg"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    fs::write(p.join("big.mp4"), vec![0u8; 3_000_000]).expect("big");
    fs::write(p.join("empty.jpg"), b"").expect("empty");
    fs::write(p.join("caption.jpg"), "<script>alert('x')</script>\n").expect("text");
    let missing = p.join("not-there");

    let out = json(
        data.path(),
        &[
            "ingest",
            "--json",
            "--max-file-size",
            "2000000",
            &p.display().to_string(),
            &missing.display().to_string(),
        ],
    );
    let summary = &out["summary"];
    let by_name: BTreeMap<String, Value> = summary["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| {
            let path = s(o, "path");
            (
                path.strip_prefix(&format!("{}/", p.display()))
                    .unwrap_or(path)
                    .to_string(),
                o.clone(),
            )
        })
        .collect();
    let code = |name: &str| {
        let o = by_name
            .get(name)
            .unwrap_or_else(|| panic!("{name} not reported: {by_name:?}"));
        o["code"].as_str().unwrap_or("recorded").to_string()
    };
    assert_eq!(code("good.jpg"), "recorded");
    assert_eq!(code("caf\\xe9-latin1.jpg"), "non-utf8-path");
    assert_eq!(code("sub/loop"), "symlink-loop");
    assert_eq!(code("dangling.jpg"), "not-found");
    assert_eq!(code("pipe.jpg"), "not-a-file");
    assert_eq!(code("big.mp4"), "too-large");
    assert_eq!(code("empty.jpg"), "empty");
    assert_eq!(code("caption.jpg"), "not-media");
    assert_eq!(code("not-there"), "not-found");
    assert!(s(&by_name["pipe.jpg"], "reason").contains("named pipe"));
    assert!(s(&by_name["big.mp4"], "reason").contains("2000000"));
    assert_eq!(n(summary, "new_items"), 1);
    assert_eq!(n(summary, "rejected"), 8);

    // What was stored before is exactly as it was; history only grew.
    let shown_after = json(data.path(), &["show", "--json", s(originals[0], "sha256")]);
    assert_eq!(shown_before, shown_after);
    let items_after = json_lines(data.path(), &["ls", "--json"]);
    for before in &items_before {
        assert!(items_after.contains(before), "item changed: {before}");
    }
    let journal_after = fs::read(data.path().join("journal/events.jsonl")).expect("journal");
    assert!(journal_after.starts_with(&journal_before));
    let check = json(data.path(), &["check", "--json"]);
    assert_eq!(check["clean"], true, "{check}");

    // The human summary names each rejected path and its reason.
    let human = ok(data.path(), &["ingest", &p.display().to_string()]);
    assert!(
        human.contains("[not-a-file] is a named pipe, not a regular file"),
        "{human}"
    );
    assert!(
        human.contains("caf\\xe9-latin1.jpg  [non-utf8-path]"),
        "{human}"
    );
}

/// Permission errors need an unprivileged process: as root, the test runs
/// the binary as `nobody` through setpriv.
#[test]
fn unreadable_files_are_reported_as_permission_denied() {
    use std::os::unix::fs::PermissionsExt;
    let expected = expected();
    let original = expected
        .iter()
        .find(|e| s(e, "path").starts_with("images/originals/"))
        .expect("an original");
    let root = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(root.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
    let input = root.path().join("in");
    fs::create_dir(&input).expect("mkdir");
    fs::set_permissions(&input, fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::copy(
        fixtures().join(s(original, "path")),
        input.join("readable.jpg"),
    )
    .expect("copy");
    fs::set_permissions(
        input.join("readable.jpg"),
        fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    fs::copy(
        fixtures().join(s(original, "path")),
        input.join("secret.jpg"),
    )
    .expect("copy");
    fs::set_permissions(input.join("secret.jpg"), fs::Permissions::from_mode(0o000))
        .expect("chmod");
    let data = root.path().join("data");

    let is_root = Command::new("id").arg("-u").output().expect("id").stdout == b"0\n";
    let mut cmd = if is_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()]);
        c
    } else {
        Command::new(bin())
    };
    let out = cmd
        .arg("--data-dir")
        .arg(&data)
        .args(["ingest", "--json"])
        .arg(&input)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let o = v["summary"]["outcomes"].as_array().expect("outcomes");
    let secret = o
        .iter()
        .find(|x| s(x, "path").ends_with("secret.jpg"))
        .expect("secret reported");
    assert_eq!(s(secret, "code"), "permission-denied");
    let readable = o
        .iter()
        .find(|x| s(x, "path").ends_with("readable.jpg"))
        .expect("readable");
    assert_eq!(s(readable, "outcome"), "recorded");
}

#[test]
fn a_lost_catalog_is_rebuilt_from_journal_and_blobs() {
    let data = tempfile::tempdir().expect("tempdir");
    json(
        data.path(),
        &["ingest", "--json", &fixtures().display().to_string()],
    );
    let items = json_lines(data.path(), &["ls", "--json"]);
    let history = ok(data.path(), &["history", "--json"]);
    fs::remove_dir_all(data.path().join("catalog")).expect("lose the catalog");
    let rebuilt = json(data.path(), &["rebuild", "--json"]);
    assert_eq!(n(&rebuilt["rebuilt"], "items"), items.len() as u64);
    assert_eq!(json_lines(data.path(), &["ls", "--json"]), items);
    assert_eq!(ok(data.path(), &["history", "--json"]), history);
    assert_eq!(json(data.path(), &["check", "--json"])["clean"], true);
}

#[test]
fn check_fails_loudly_when_a_blob_is_altered() {
    use std::os::unix::fs::PermissionsExt;
    let data = tempfile::tempdir().expect("tempdir");
    let one = expected()
        .into_iter()
        .find(|e| s(e, "status") == "accepted")
        .expect("a fixture");
    json(
        data.path(),
        &[
            "ingest",
            "--json",
            &fixtures().join(s(&one, "path")).display().to_string(),
        ],
    );
    let hex = s(&one, "sha256");
    let blob = data
        .path()
        .join("blobs/sha256")
        .join(&hex[0..2])
        .join(&hex[2..4])
        .join(hex);
    fs::set_permissions(&blob, fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut bytes = fs::read(&blob).expect("blob");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(&blob, bytes).expect("alter");
    let out = run(data.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[blob-hash-mismatch]") && text.contains(hex),
        "{text}"
    );
}

#[test]
fn a_second_process_on_the_same_data_dir_is_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    let _held = sightline_store::Store::open_embedded(data.path()).expect("open");
    let out = run(data.path(), &["ls"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another sightline process"), "{err}");
}

#[test]
fn show_refuses_unknown_and_malformed_ids() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = run(data.path(), &["show", "abcd"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no item with id abcd"));
    let out = run(data.path(), &["show", "../etc"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 4 hex characters"));
}

#[test]
fn an_image_that_will_not_decode_is_kept_with_the_reason_and_no_fingerprints() {
    // A real PNG whose compressed pixel data is scrambled: every chunk is
    // where its length says, so the structure is sound, but zlib fails.
    let png = expected()
        .into_iter()
        .find(|e| s(e, "path").starts_with("images/originals/") && s(e, "format") == "png")
        .expect("a PNG original");
    let mut bytes = fs::read(fixtures().join(s(&png, "path"))).expect("png");
    let idat = bytes
        .windows(4)
        .position(|w| w == b"IDAT")
        .expect("an IDAT chunk");
    for b in &mut bytes[idat + 4..idat + 4 + 64] {
        *b ^= 0x5a;
    }
    let d = tempfile::tempdir().expect("tempdir");
    fs::write(d.path().join("scrambled.png"), &bytes).expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let out = json(
        data.path(),
        &["ingest", "--json", &d.path().display().to_string()],
    );
    assert_eq!(
        n(&out["summary"], "new_items"),
        1,
        "the bytes are evidence: kept"
    );
    let sha = s(&out["summary"]["outcomes"][0], "sha256").to_string();
    let shown = json(data.path(), &["show", "--json", &sha]);
    assert!(shown["fingerprints"].is_null(), "{shown}");
    let warnings = shown["item"]["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w
            .as_str()
            .is_some_and(|w| w.starts_with("not fingerprinted:"))),
        "{warnings:?}"
    );
    // And `fingerprint` says why, per file, without failing the run.
    let line = json(
        data.path(),
        &[
            "fingerprint",
            "--json",
            &d.path().join("scrambled.png").display().to_string(),
        ],
    );
    assert!(!s(&line, "error").is_empty(), "{line}");
    assert_eq!(json(data.path(), &["check", "--json"])["clean"], true);
}
