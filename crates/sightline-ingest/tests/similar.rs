//! Matching rules and crash catch-up of clustering, on a real embedded store.

use sightline_core::{Fingerprints, PdqFingerprint, RegionFingerprint};
use sightline_ingest::similar::{Matcher, open_matcher};
use sightline_store::Store;
use sightline_store::contract::{sample, sample_fingerprints};

/// Fingerprints whose PDQ hash is `byte` repeated, with `flips` low bits
/// of the first byte flipped.
fn fp(byte: u8, flips: u32, quality: u8) -> Fingerprints {
    let mut h = [byte; 32];
    h[0] ^= ((1u16 << flips.min(8)) - 1) as u8;
    let mut f = sample_fingerprints(byte);
    f.pdq = PdqFingerprint {
        hash: hex::encode(h),
        quality,
    };
    f.pdq_dihedral = vec![hex::encode([!byte; 32]); 7];
    f.regions.clear();
    f
}

fn store() -> (tempfile::TempDir, Store) {
    let d = tempfile::tempdir().expect("tempdir");
    let s = Store::open_embedded(d.path()).expect("open");
    (d, s)
}

#[test]
fn items_recorded_but_never_linked_are_clustered_on_the_next_load() {
    // As if the process died after recording each item and before linking.
    let (_d, s) = store();
    for (bytes, loc) in [(b"one", "/1"), (b"two", "/2")] {
        let mut r = sample(bytes, loc, 0);
        r.fingerprints = Some(fp(0x33, 0, 90));
        s.catalog().record(r).expect("record");
    }
    let mut lone = sample(b"lone", "/3", 0);
    lone.fingerprints = Some(fp(0x55, 0, 90));
    s.catalog().record(lone).expect("record");
    assert_eq!(s.catalog().pending_clusters().expect("pending").len(), 3);
    assert!(s.catalog().clusters().expect("clusters").is_empty());

    open_matcher(s.catalog(), &mut sightline_ingest::verify::NoVerifier).expect("catch up");
    let clusters = s.catalog().clusters().expect("clusters");
    assert_eq!(
        clusters.len(),
        1,
        "the two identical hashes form one cluster"
    );
    assert_eq!(clusters[0].members.len(), 2);
    let left = s.catalog().pending_clusters().expect("pending");
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn matching_rules_distance_quality_dihedral_regions_and_self() {
    let (_d, s) = store();
    let mut m = Matcher::default();
    let a = sample(b"a", "/a", 0).item.sha256;
    let weak = sample(b"weak", "/w", 0).item.sha256;
    let screenshot = sample(b"shot", "/s", 0).item.sha256;
    m.add(a, &fp(0x0f, 0, 90));
    m.add(weak, &fp(0x0f, 0, 30));
    let mut shot = fp(0xaa, 0, 80);
    shot.regions.push(RegionFingerprint {
        kind: "screenshot-photo".into(),
        rect: [0, 100, 1080, 1080],
        pdq: PdqFingerprint {
            hash: hex::encode([0x0f; 32]),
            quality: 85,
        },
        dihedral: Vec::new(),
    });
    m.add(screenshot, &shot);
    assert_eq!(m.len(), 4, "three whole-image hashes and one region");

    // 5 bits away: matches a (quality 90) and the screenshot's region, not
    // the low-quality copy.
    let near = fp(0x0f, 5, 90);
    let found = m.matches(None, &near, 31);
    let got: Vec<(_, u32, &str, &str)> = found
        .iter()
        .map(|x| (x.item, x.distance, x.query.as_str(), x.stored.as_str()))
        .collect();
    let mut want = vec![
        (a, 5, "pdq", "pdq"),
        (screenshot, 5, "pdq", "region:screenshot-photo"),
    ];
    want.sort_by_key(|w| (w.1, w.0));
    assert_eq!(got, want);
    assert!(
        m.matches(None, &near, 4).is_empty(),
        "distance is a hard limit"
    );

    // An item never matches itself.
    assert!(
        m.matches(Some(&a), &fp(0x0f, 0, 90), 31)
            .iter()
            .all(|x| x.item != a)
    );

    // A mirrored copy: its flipx hash equals the stored original's hash.
    let mut mirrored = fp(0xf0, 0, 90);
    mirrored.pdq_dihedral = vec![hex::encode([0x99; 32]); 7];
    mirrored.pdq_dihedral[3] = hex::encode([0x0f; 32]);
    let found = m.matches(None, &mirrored, 31);
    let via_a = found.iter().find(|x| x.item == a).expect("a found");
    assert_eq!((via_a.distance, via_a.query.as_str()), (0, "flipx"));

    // A query below quality 50 asks nothing.
    assert!(m.matches(None, &fp(0x0f, 0, 49), 31).is_empty());
    drop(s);
}
