//! The behaviour every store backend must have, written once. A backend's
//! test suite calls [`run_all`] with a function that makes a fresh, empty
//! store; each check panics with a message naming the broken promise.

use std::io::{Read, Write};

use chrono::{DateTime, TimeZone, Utc};
use sightline_core::{
    Assessment, Band, Candidate, Event, EvidenceItem, Fingerprints, Incident, MediaKind,
    PdqFingerprint, RegionFingerprint, ReviewDecision, ReviewVerdict, Sha256, Sighting,
    SightingKey, Source, SourceKind, Tool,
};

use crate::{IncidentSaved, PdqEntry, Record, Recorded, Store};

/// Run every contract check, each on a fresh store from `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Store) {
    record_is_idempotent(&fresh());
    origins_remember_where_things_were_collected(&fresh());
    items_are_immutable(&fresh());
    history_lists_every_change_in_order(&fresh());
    inconsistent_records_are_refused(&fresh());
    blobs_are_content_addressed(&fresh());
    concurrent_records_create_one_item(&fresh());
    prefix_lookup_finds_items(&fresh());
    fingerprints_are_recorded_once(&fresh());
    metadata_is_recorded_once(&fresh());
    derivatives_are_recorded_once_and_checked(&fresh());
    clusters_merge_and_clear(&fresh());
    incidents_and_decisions_are_journaled(&fresh());
}

/// A sound incident with the given id and date (`YYYY-MM-DD`).
pub fn sample_incident(id: &str, date: &str) -> Incident {
    Incident {
        event_type: "Explosions/Remote violence".into(),
        sub_event_type: "Suicide bomb".into(),
        country: "Afghanistan".into(),
        geo_precision: 1,
        tags: vec!["isis-k".into()],
        ..Incident::new(id, date.parse().expect("date"), "Kabul", 34.5, 69.2)
    }
}

/// Fingerprints whose PDQ hash is `byte` repeated, with one region.
pub fn sample_fingerprints(byte: u8) -> Fingerprints {
    let pdq = |b: u8, q: u8| PdqFingerprint {
        hash: hex::encode([b; 32]),
        quality: q,
    };
    Fingerprints {
        mode: "te".into(),
        width: 10,
        height: 10,
        frames: None,
        orientation: None,
        pdq: pdq(byte, 90),
        pdq_dihedral: vec![hex::encode([byte; 32]); 7],
        ahash: "00".into(),
        dhash: "00".into(),
        phash: "00".into(),
        blockhash: "00".into(),
        regions: vec![RegionFingerprint {
            kind: "borderless".into(),
            rect: [1, 2, 3, 4],
            pdq: pdq(byte.wrapping_add(1), 70),
            dihedral: Vec::new(),
        }],
        vpdq: Vec::new(),
        duration_ms: None,
        query_frames: Vec::new(),
    }
}

/// An item and a sighting of it at `locator`, as an ingest would make them.
pub fn sample(bytes: &[u8], locator: &str, collected_secs: i64) -> Record {
    let sha = Sha256::of(bytes);
    let at: DateTime<Utc> = Utc
        .timestamp_opt(1_700_000_000 + collected_secs, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH);
    let source = Source::file(locator);
    let id = SightingKey {
        item: &sha,
        kind: SourceKind::File,
        locator,
        platform: None,
        post_id: None,
    }
    .id();
    Record {
        item: EvidenceItem {
            sha256: sha,
            size: bytes.len() as u64,
            kind: MediaKind::Image,
            format: "png".into(),
            media_type: "image/png".into(),
            width: Some(1),
            height: Some(1),
            trailing_bytes: 0,
            warnings: Vec::new(),
            first_collected_at: at,
        },
        sighting: Sighting {
            id,
            item: sha,
            source,
            platform: None,
            post_id: None,
            author: None,
            caption: Some("<script>alert(1)</script> كابل".into()),
            posted_at: None,
            post_url: None,
            lang: None,
            forwarded_from: None,
            links: Vec::new(),
            tags: Vec::new(),
            collected_at: at,
            collector: "contract".into(),
            tool: Tool {
                name: "contract-tests".into(),
                version: "0".into(),
            },
            job_id: "job-1".into(),
            received_sha256: sha,
        },
        fingerprints: None,
        metadata: None,
        derivatives: None,
        actor: "contract".into(),
    }
}

pub fn record_is_idempotent(store: &Store) {
    let c = store.catalog();
    let first = sample(b"one", "/a/one.png", 0);
    assert_eq!(c.record(first.clone()).expect("record"), Recorded::NewItem);
    assert_eq!(
        c.record(first.clone()).expect("record again"),
        Recorded::Duplicate,
        "the same sighting twice must change nothing"
    );
    // Same bytes elsewhere, collected later: a new sighting of the same item.
    let elsewhere = sample(b"one", "/b/copy.png", 60);
    assert_eq!(c.record(elsewhere).expect("record"), Recorded::NewSighting);
    let counts = c.counts().expect("counts");
    assert_eq!((counts.items, counts.sightings, counts.events), (1, 2, 3));
    let seen = c.sightings_of(&first.item.sha256).expect("sightings");
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].source.locator, "/a/one.png",
        "ordered by collection time"
    );
    assert_eq!(
        seen[0].caption, first.sighting.caption,
        "captions kept verbatim"
    );
    assert_eq!(
        c.sighting(&first.sighting.id).expect("get").as_ref(),
        Some(&first.sighting)
    );
}

/// A job asks whether it collected from a place and post before, whatever
/// the bytes were; the answer survives a rebuild from the journal.
pub fn origins_remember_where_things_were_collected(store: &Store) {
    let c = store.catalog();
    let first = sample(b"one", "https://example.org/a.jpg", 0);
    let origin = first.sighting.key().origin();
    assert_eq!(c.sighting_from(&origin).expect("lookup"), None);
    c.record(first.clone()).expect("record");
    assert_eq!(
        c.sighting_from(&origin).expect("lookup"),
        Some(first.sighting.id)
    );
    // The same place later served other bytes: the origin points at the
    // latest sighting; another place is still unknown.
    let mut changed = sample(b"two", "https://example.org/a.jpg", 60);
    changed.sighting.id = changed.sighting.key().id();
    assert_eq!(changed.sighting.key().origin(), origin);
    c.record(changed.clone()).expect("record");
    assert_eq!(
        c.sighting_from(&origin).expect("lookup"),
        Some(changed.sighting.id)
    );
    let other = sample(b"one", "https://example.org/b.jpg", 0);
    assert_eq!(
        c.sighting_from(&other.sighting.key().origin())
            .expect("lookup"),
        None
    );
    // Platform and post id are part of the origin.
    let mut in_post = sample(b"one", "https://example.org/a.jpg", 0);
    in_post.sighting.post_id = Some("42".into());
    assert_ne!(in_post.sighting.key().origin(), origin);
}

pub fn items_are_immutable(store: &Store) {
    let c = store.catalog();
    let first = sample(b"two", "/a/two.png", 0);
    c.record(first.clone()).expect("record");
    let mut later = sample(b"two", "/b/two.png", 3600);
    later.item.format = "jpeg".into();
    c.record(later).expect("record");
    let item = c.item(&first.item.sha256).expect("get").expect("present");
    assert_eq!(
        item, first.item,
        "a later sighting must not rewrite the item"
    );
}

pub fn history_lists_every_change_in_order(store: &Store) {
    let c = store.catalog();
    c.record(sample(b"x", "/x", 0)).expect("record");
    c.record(sample(b"x", "/y", 1)).expect("record");
    c.record(sample(b"z", "/z", 2)).expect("record");
    let mut seen = Vec::new();
    c.history(&mut |ev| {
        seen.push((ev.seq, ev.event.name()));
        Ok(())
    })
    .expect("history");
    assert_eq!(
        seen,
        vec![
            (1, "item_preserved"),
            (2, "sighting_recorded"),
            (3, "sighting_recorded"),
            (4, "item_preserved"),
            (5, "sighting_recorded"),
        ]
    );
}

pub fn inconsistent_records_are_refused(store: &Store) {
    let c = store.catalog();
    let mut wrong_item = sample(b"a", "/a", 0);
    wrong_item.item.sha256 = Sha256::of(b"b");
    let err = c.record(wrong_item).expect_err("sighting of another item");
    assert_eq!(err.code(), "invalid");
    let mut wrong_id = sample(b"a", "/a", 0);
    wrong_id.sighting.source.locator = "/elsewhere".into();
    let err = c.record(wrong_id).expect_err("id not matching key");
    assert_eq!(err.code(), "invalid");
    assert_eq!(c.counts().expect("counts").events, 0, "nothing recorded");
}

pub fn blobs_are_content_addressed(store: &Store) {
    let b = store.blobs();
    let put = |bytes: &[u8]| {
        let mut s = b.stage().expect("stage");
        s.write_all(bytes).expect("write");
        let staged = s.finish().expect("finish");
        assert_eq!(staged.sha256(), Sha256::of(bytes));
        assert_eq!(staged.size(), bytes.len() as u64);
        b.put(staged).expect("put")
    };
    assert!(put(b"hello"), "first put stores");
    assert!(!put(b"hello"), "second put finds it present");
    let sha = Sha256::of(b"hello");
    assert!(b.contains(&sha).expect("contains"));
    assert_eq!(b.size(&sha).expect("size"), Some(5));
    let mut back = Vec::new();
    b.open(&sha)
        .expect("open")
        .read_to_end(&mut back)
        .expect("read");
    assert_eq!(back, b"hello");
    let missing = Sha256::of(b"absent");
    assert!(!b.contains(&missing).expect("contains"));
    assert_eq!(
        b.open(&missing).err().map(|e| e.code()),
        Some("blob-missing")
    );
    // Abandoned staging leaves nothing behind.
    {
        let mut s = b.stage().expect("stage");
        s.write_all(b"abandoned").expect("write");
        let _staged = s.finish().expect("finish");
    }
    assert!(b.stale_staging().expect("staging").is_empty());
    let all: Vec<Sha256> = b
        .list()
        .expect("list")
        .collect::<Result<_, _>>()
        .expect("list");
    assert_eq!(all, vec![sha]);
}

pub fn concurrent_records_create_one_item(store: &Store) {
    let outcomes: Vec<Recorded> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let c = store.catalog();
                scope.spawn(move || {
                    // Four threads race on the same sighting, four on others.
                    let locator = if i % 2 == 0 {
                        "/same".to_string()
                    } else {
                        format!("/p{i}")
                    };
                    c.record(sample(b"raced", &locator, i)).expect("record")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let count = |r: Recorded| outcomes.iter().filter(|&&o| o == r).count();
    assert_eq!(count(Recorded::NewItem), 1, "{outcomes:?}");
    assert_eq!(count(Recorded::Duplicate), 3, "{outcomes:?}");
    assert_eq!(count(Recorded::NewSighting), 4, "{outcomes:?}");
    let counts = store.catalog().counts().expect("counts");
    assert_eq!((counts.items, counts.sightings), (1, 5));
}

pub fn prefix_lookup_finds_items(store: &Store) {
    let c = store.catalog();
    let r = sample(b"prefixed", "/p", 0);
    c.record(r.clone()).expect("record");
    let hex = r.item.sha256.to_hex();
    for len in [1, 5, 12, 64] {
        let found = c.items_with_prefix(&hex[..len], 10).expect("prefix");
        assert_eq!(found.len(), 1, "prefix of length {len}");
    }
    assert!(
        c.items_with_prefix("not hex", 10)
            .expect("prefix")
            .is_empty()
    );
    assert!(c.items_with_prefix("", 10).expect("prefix").is_empty());
}

pub fn fingerprints_are_recorded_once(store: &Store) {
    let c = store.catalog();
    let mut first = sample(b"fp", "/fp/1", 0);
    first.fingerprints = Some(sample_fingerprints(7));
    c.record(first.clone()).expect("record");
    let mut second = sample(b"fp", "/fp/2", 1);
    second.fingerprints = Some(sample_fingerprints(9));
    c.record(second).expect("record");
    let sha = first.item.sha256;
    assert_eq!(
        c.fingerprints(&sha).expect("get"),
        first.fingerprints,
        "first fingerprints stand"
    );
    let rows: Vec<PdqEntry> = c
        .pdq_entries()
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        rows,
        vec![
            PdqEntry {
                item: sha,
                slot: 0,
                hash: [7; 32],
                quality: 90,
                kind: String::new(),
            },
            PdqEntry {
                item: sha,
                slot: 1,
                hash: [8; 32],
                quality: 70,
                kind: "borderless".into(),
            },
        ]
    );
    let counts = c.counts().expect("counts");
    assert_eq!((counts.fingerprinted, counts.events), (1, 4));
    assert_eq!(
        c.pending_clusters().expect("pending"),
        vec![sha],
        "waits to be clustered"
    );
    assert_eq!(c.link(&sha, &[]).expect("link"), None);
    assert!(
        c.pending_clusters().expect("pending").is_empty(),
        "link clears it"
    );

    // Backfilling: only for a known item without fingerprints, once.
    let bare = sample(b"bare", "/bare", 2);
    c.record(bare.clone()).expect("record");
    let absent = Sha256::of(b"never stored");
    assert_eq!(
        c.add_fingerprints(&absent, sample_fingerprints(1), "t")
            .err()
            .map(|e| e.code()),
        Some("invalid")
    );
    assert!(
        c.add_fingerprints(&bare.item.sha256, sample_fingerprints(3), "t")
            .expect("add")
    );
    assert!(
        !c.add_fingerprints(&bare.item.sha256, sample_fingerprints(4), "t")
            .expect("again")
    );
    assert_eq!(c.counts().expect("counts").fingerprinted, 2);
}

pub fn metadata_is_recorded_once(store: &Store) {
    let c = store.catalog();
    let meta = |code: &str| sightline_core::Metadata {
        flags: vec![sightline_core::MetaFlag {
            code: code.into(),
            reason: "contract".into(),
        }],
        ..Default::default()
    };
    let mut first = sample(b"md", "/md/1", 0);
    first.metadata = Some(meta("first"));
    c.record(first.clone()).expect("record");
    let mut second = sample(b"md", "/md/2", 1);
    second.metadata = Some(meta("second"));
    c.record(second).expect("record");
    let sha = first.item.sha256;
    assert_eq!(
        c.metadata(&sha).expect("get"),
        first.metadata,
        "first metadata stands"
    );
    assert_eq!(c.counts().expect("counts").events, 4);
    let bare = sample(b"md-bare", "/md/bare", 2);
    c.record(bare.clone()).expect("record");
    assert_eq!(c.metadata(&bare.item.sha256).expect("get"), None);
    assert!(
        c.add_metadata(&bare.item.sha256, meta("late"), "t")
            .expect("add")
    );
    assert!(
        !c.add_metadata(&bare.item.sha256, meta("later"), "t")
            .expect("again")
    );
    assert_eq!(
        c.metadata(&bare.item.sha256).expect("get"),
        Some(meta("late"))
    );
    let absent = Sha256::of(b"never stored");
    assert_eq!(
        c.add_metadata(&absent, meta("x"), "t")
            .err()
            .map(|e| e.code()),
        Some("invalid")
    );
}

pub fn derivatives_are_recorded_once_and_checked(store: &Store) {
    use sightline_core::{Derivative, Derivatives, DerivedKind};
    let c = store.catalog();
    // A derived file is stored as a blob first, like an original.
    let put = |bytes: &[u8]| store.blobs().put_bytes(bytes).expect("put").0;
    let still = put(b"a keyframe's jpeg bytes");
    let derived = |sha: Sha256, size: u64, made_by: &str| Derivatives {
        made_by: made_by.into(),
        made_at: Utc.timestamp_opt(1_700_000_000, 0).single().expect("time"),
        files: vec![Derivative {
            kind: DerivedKind::Keyframe,
            sha256: sha,
            size,
            media_type: "image/jpeg".into(),
            width: 4,
            height: 3,
            time_ms: Some(1500),
            reason: Some("cut".into()),
        }],
        capped: false,
    };
    let mut first = sample(b"video", "/v/1", 0);
    first.derivatives = Some(derived(still, 23, "first"));
    let original = first.item.sha256;
    put(b"video");
    c.record(first.clone()).expect("record");
    let mut second = sample(b"video", "/v/2", 1);
    second.derivatives = Some(derived(still, 23, "second"));
    c.record(second).expect("record");
    assert_eq!(
        c.derivatives(&original).expect("get"),
        first.derivatives,
        "first derivatives stand"
    );
    assert!(
        !c.add_derivatives(&original, derived(still, 23, "late"), "t")
            .expect("again")
    );
    assert_eq!(
        c.derived_blobs().expect("list"),
        vec![(original, derived(still, 23, "x").files[0].clone())]
    );
    // The derived blob is not an orphan; the store checks clean.
    let report = store.check(&mut |_| {}).expect("check");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.derived, 1);

    // A derivative whose blob is missing is an error.
    let bare = sample(b"bare video", "/v/bare", 2);
    put(b"bare video");
    c.record(bare.clone()).expect("record");
    let ghost = Sha256::of(b"never stored");
    assert!(
        c.add_derivatives(&bare.item.sha256, derived(ghost, 5, "ghost"), "t")
            .expect("add")
    );
    let report = store.check(&mut |_| {}).expect("check");
    let codes: Vec<&str> = report.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, vec!["derived-missing"]);
    assert_eq!(
        c.add_derivatives(&ghost, derived(still, 23, "x"), "t")
            .err()
            .map(|e| e.code()),
        Some("invalid")
    );
    // Every change was an event.
    let mut names = Vec::new();
    c.history(&mut |e| {
        names.push(e.event.name());
        Ok(())
    })
    .expect("history");
    assert_eq!(
        names.iter().filter(|n| **n == "derivatives_made").count(),
        2
    );
}

pub fn clusters_merge_and_clear(store: &Store) {
    let c = store.catalog();
    let [a, b, x, y, z] = [b"a", b"b", b"x", b"y", b"z"].map(|n| Sha256::of(n));
    assert_eq!(
        c.link(&a, &[]).expect("alone"),
        None,
        "no match, no cluster"
    );
    let ab = c.link(&a, &[b]).expect("link").expect("cluster");
    let xy = c.link(&x, &[y]).expect("link").expect("cluster");
    assert_ne!(ab, xy);
    assert_eq!(c.clusters().expect("clusters").len(), 2);
    // z matches a and y: the two clusters become one.
    let all = c.link(&z, &[a, y]).expect("link").expect("cluster");
    let clusters = c.clusters().expect("clusters");
    assert_eq!(clusters.len(), 1);
    let mut want = vec![a, b, x, y, z];
    want.sort();
    assert_eq!(clusters[0].members, want);
    assert_eq!(clusters[0].id, all);
    assert_eq!(c.cluster_members(all).expect("members"), want);
    for sha in &want {
        assert_eq!(c.cluster_of(sha).expect("of"), Some(all));
    }
    c.clear_clusters().expect("clear");
    assert!(c.clusters().expect("clusters").is_empty());
    assert_eq!(c.cluster_of(&a).expect("of"), None);
}

pub fn incidents_and_decisions_are_journaled(store: &Store) {
    let c = store.catalog();
    let a = sample_incident("AFG-20210826-abbey-gate", "2021-08-26");
    assert_eq!(
        c.put_incident(a.clone(), "ana").expect("create"),
        IncidentSaved::Created
    );
    assert_eq!(
        c.put_incident(a.clone(), "ana").expect("again"),
        IncidentSaved::Unchanged,
        "saving the same incident twice writes nothing"
    );
    let mut edited = a.clone();
    edited.fatalities = Some(183);
    edited.notes = "gate".into();
    assert_eq!(
        c.put_incident(edited.clone(), "ben").expect("edit"),
        IncidentSaved::Edited(vec!["fatalities".into(), "notes".into()])
    );
    assert_eq!(c.incident(&a.id).expect("get"), Some(edited.clone()));
    let mut bad = sample_incident("AFG-bad", "2021-08-26");
    bad.latitude = 123.0;
    let err = c
        .put_incident(bad, "ana")
        .expect_err("impossible coordinates");
    assert!(err.to_string().contains("latitude 123"), "{err}");
    c.put_incident(sample_incident("AFG-20211008-kunduz", "2021-10-08"), "ana")
        .expect("second");
    let ids: Vec<String> = c
        .incidents()
        .expect("list")
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, vec!["AFG-20210826-abbey-gate", "AFG-20211008-kunduz"]);

    // Decisions need an item and an incident; the latest one counts.
    let rec = sample(b"decided", "/d", 1);
    let sha = rec.item.sha256;
    let decision = |verdict, at| ReviewDecision {
        evidence: sha,
        incident: a.id.clone(),
        verdict,
        analyst: "ana".into(),
        note: String::new(),
        at: Utc.timestamp_opt(at, 0).single().expect("time"),
    };
    assert!(
        c.decide(decision(ReviewVerdict::Confirm, 10)).is_err(),
        "no item yet"
    );
    c.record(rec).expect("record");
    let mut nowhere = decision(ReviewVerdict::Confirm, 10);
    nowhere.incident = "AFG-none".into();
    assert!(c.decide(nowhere).is_err(), "no such incident");
    c.decide(decision(ReviewVerdict::Confirm, 10))
        .expect("confirm");
    c.decide(decision(ReviewVerdict::Reject, 20))
        .expect("reject");
    let now = c.decisions_of(&sha).expect("decisions");
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].verdict, ReviewVerdict::Reject);
    assert_eq!(c.decisions().expect("all").len(), 1);

    let mut kinds = Vec::new();
    c.history(&mut |e| {
        kinds.push(e.event.name());
        Ok(())
    })
    .expect("history");
    let registry: Vec<&str> = kinds
        .into_iter()
        .filter(|k| k.starts_with("incident") || k.starts_with("review"))
        .collect();
    assert_eq!(
        registry,
        vec![
            "incident_created",
            "incident_edited",
            "incident_created",
            "review_decided",
            "review_decided"
        ]
    );
    let mut last_edit = None;
    c.history(&mut |e| {
        if let Event::IncidentEdited { changed, .. } = &e.event {
            last_edit = Some(changed.clone());
        }
        Ok(())
    })
    .expect("history");
    assert_eq!(last_edit, Some(vec!["fatalities".into(), "notes".into()]));

    // Assessments are derived: stored and replaced, not journaled.
    let before = c.counts().expect("counts").events;
    let assessment = |score| Assessment {
        item: sha,
        candidates: vec![Candidate {
            incident: a.id.clone(),
            score,
            band: Band::High,
            why: vec!["posted 3 h after the event".into()],
            decided: None,
        }],
        flags: Vec::new(),
        computed_at: Utc.timestamp_opt(30, 0).single().expect("time"),
    };
    c.put_assessment(&assessment(0.9)).expect("assess");
    c.put_assessment(&assessment(0.8)).expect("reassess");
    assert_eq!(c.assessment(&sha).expect("get"), Some(assessment(0.8)));
    assert_eq!(c.counts().expect("counts").events, before);
}
