//! The embedded backend: the shared contract, plus what only a folder on
//! disk can do (survive reopening, rebuild from its journal, notice damage).

use std::fs;
use std::io::Write;

use sightline_store::contract::{self, sample};
use sightline_store::{EmbeddedLayout, Recorded, Store};

#[test]
fn embedded_store_meets_the_contract() {
    let dirs = std::cell::RefCell::new(Vec::new());
    contract::run_all(&|| {
        let d = tempfile::tempdir().expect("tempdir");
        let s = Store::open_embedded(d.path()).expect("open");
        dirs.borrow_mut().push(d);
        s
    });
}

#[test]
fn records_survive_reopen() {
    let d = tempfile::tempdir().expect("tempdir");
    {
        let s = Store::open_embedded(d.path()).expect("open");
        s.catalog()
            .record(sample(b"keep", "/k", 0))
            .expect("record");
    }
    let s = Store::open_embedded(d.path()).expect("reopen");
    let c = s.catalog().counts().expect("counts");
    assert_eq!((c.items, c.sightings, c.events), (1, 1, 2));
    assert_eq!(
        s.catalog()
            .record(sample(b"keep", "/k", 9))
            .expect("record"),
        Recorded::Duplicate
    );
}

#[test]
fn a_second_process_is_refused_clearly() {
    let d = tempfile::tempdir().expect("tempdir");
    let _first = Store::open_embedded(d.path()).expect("open");
    let err = Store::open_embedded(d.path()).expect_err("second open");
    assert_eq!(err.code(), "locked");
    assert!(
        err.to_string()
            .contains("in use by another sightline process")
    );
}

#[test]
fn catalog_lost_is_rebuilt_from_journal() {
    let d = tempfile::tempdir().expect("tempdir");
    let before = {
        let s = Store::open_embedded(d.path()).expect("open");
        for i in 0..50u8 {
            s.catalog()
                .record(sample(&[i % 20], &format!("/f/{i}"), i.into()))
                .expect("record");
        }
        let incident = contract::sample_incident("AFG-1", "2021-08-26");
        s.catalog()
            .put_incident(incident.clone(), "ana")
            .expect("incident");
        s.catalog()
            .decide(sightline_core::ReviewDecision {
                evidence: sample(&[3], "/f/3", 3).item.sha256,
                incident: incident.id,
                verdict: sightline_core::ReviewVerdict::Confirm,
                analyst: "ana".into(),
                note: String::new(),
                at: chrono::Utc::now(),
            })
            .expect("decide");
        s.catalog().counts().expect("counts")
    };
    assert_eq!((before.items, before.sightings), (20, 50));
    fs::remove_dir_all(EmbeddedLayout::new(d.path()).catalog()).expect("lose catalog");
    // Opening alone replays the journal into a new catalog...
    {
        let s = Store::open_embedded(d.path()).expect("open");
        assert_eq!(s.catalog().counts().expect("counts"), before);
    }
    // ...and an explicit rebuild gives the same.
    let s = Store::rebuild_embedded(d.path()).expect("rebuild");
    assert_eq!(s.catalog().counts().expect("counts"), before);
    let sha = sample(&[3], "/f/3", 3).item.sha256;
    let locs: Vec<String> = s
        .catalog()
        .sightings_of(&sha)
        .expect("sightings")
        .into_iter()
        .map(|x| x.source.locator)
        .collect();
    assert_eq!(locs, vec!["/f/3", "/f/23", "/f/43"]);
    // The registry and decisions come back too.
    assert_eq!(s.catalog().incidents().expect("incidents").len(), 1);
    assert_eq!(s.catalog().decisions_of(&sha).expect("decisions").len(), 1);
    // Where things were collected is rebuilt too (jobs resume from it).
    let again = sample(&[3], "/f/23", 23).sighting;
    assert_eq!(
        s.catalog()
            .sighting_from(&again.key().origin())
            .expect("origin"),
        Some(again.id)
    );
}

#[test]
fn check_finds_changed_missing_and_orphan_blobs() {
    let d = tempfile::tempdir().expect("tempdir");
    let s = Store::open_embedded(d.path()).expect("open");
    let put = |bytes: &[u8], locator: &str, record: bool| {
        let mut st = s.blobs().stage().expect("stage");
        st.write_all(bytes).expect("write");
        s.blobs().put(st.finish().expect("finish")).expect("put");
        if record {
            s.catalog()
                .record(sample(bytes, locator, 0))
                .expect("record");
        }
    };
    put(b"intact", "/i", true);
    put(b"changed", "/c", true);
    put(b"vanished", "/v", true);
    let clean = s.check(&mut |_| {}).expect("check");
    assert!(clean.is_clean(), "{:?}", clean.problems);
    assert_eq!(
        (clean.blobs, clean.items, clean.sightings, clean.events),
        (3, 3, 3, 6)
    );
    put(b"orphan", "/o", false);

    let fsb =
        sightline_store::FsBlobStore::open(EmbeddedLayout::new(d.path()).blobs()).expect("fs");
    let changed = fsb.path_of(&sightline_core::Sha256::of(b"changed"));
    let mut perms = fs::metadata(&changed).expect("stat").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&changed, perms).expect("chmod");
    fs::write(&changed, b"changeD").expect("tamper");
    fs::remove_file(fsb.path_of(&sightline_core::Sha256::of(b"vanished"))).expect("rm");

    let report = s.check(&mut |_| {}).expect("check");
    let mut codes: Vec<&str> = report.problems.iter().map(|p| p.code).collect();
    codes.sort();
    assert_eq!(
        codes,
        vec!["blob-hash-mismatch", "blob-missing", "orphan-blob"]
    );
    assert_eq!(report.errors(), 2);
}
