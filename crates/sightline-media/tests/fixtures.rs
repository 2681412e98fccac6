//! Probe every file listed in the workspace's `fixtures/expected.json` and
//! compare with the recorded expectation.
//!
//! Entries are either
//! `{"path", "status", "kind", "format", "width", "height"}` for files that
//! must be accepted, or `{"path", "status": "rejected", "code"}` for files
//! that must be rejected with that error code. Paths are relative to the
//! fixtures folder.

use std::fs::File;
use std::path::PathBuf;

use serde_json::Value;
use sightline_media::{Limits, probe};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn field<'a>(entry: &'a Value, name: &str) -> Option<&'a Value> {
    entry.get(name).filter(|v| !v.is_null())
}

fn as_dim(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .map(|n| u32::try_from(n).expect("dimension fits u32"))
}

#[test]
fn fixtures_match_expectations() {
    let dir = fixtures_dir();
    let manifest = dir.join("expected.json");
    let text = std::fs::read_to_string(&manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    let entries: Vec<Value> = serde_json::from_str(&text).expect("expected.json is a json array");
    assert!(!entries.is_empty(), "expected.json lists no files");
    let limits = Limits::default();
    let mut failures = Vec::new();
    for entry in &entries {
        let rel = field(entry, "path")
            .and_then(Value::as_str)
            .expect("every entry has a path");
        let path = dir.join(rel);
        let mut file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let len = file.metadata().expect("metadata").len();
        let result = probe(&mut file, len, &limits);
        let status = field(entry, "status").and_then(Value::as_str).unwrap_or("");
        if status == "rejected" {
            let want = field(entry, "code").and_then(Value::as_str).unwrap_or("?");
            match result {
                Err(e) if e.code() == want => {}
                Err(e) => failures.push(format!("{rel}: expected {want}, got {}: {e}", e.code())),
                Ok(info) => failures.push(format!("{rel}: expected {want}, accepted as {info:?}")),
            }
            continue;
        }
        let info = match result {
            Ok(info) => info,
            Err(e) => {
                failures.push(format!("{rel}: expected acceptance, got {}: {e}", e.code()));
                continue;
            }
        };
        if let Some(format) = field(entry, "format").and_then(Value::as_str)
            && info.format.name() != format
        {
            failures.push(format!(
                "{rel}: format {} != expected {format}",
                info.format
            ));
        }
        if let Some(kind) = field(entry, "kind").and_then(Value::as_str)
            && info.kind().as_str() != kind
        {
            failures.push(format!("{rel}: kind {} != expected {kind}", info.kind()));
        }
        let want = (
            as_dim(field(entry, "width")),
            as_dim(field(entry, "height")),
        );
        if (info.width, info.height) != want {
            failures.push(format!(
                "{rel}: dimensions {:?}x{:?} != expected {:?}x{:?}",
                info.width, info.height, want.0, want.1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}
