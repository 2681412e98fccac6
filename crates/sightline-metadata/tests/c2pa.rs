//! C2PA reading against real signed fixtures (made by
//! `examples/make_c2pa_fixtures.rs`); each fixture's `NAME.expected.json`
//! holds the stable facts asserted here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sightline_core::{C2paInfo, C2paManifest};
use sightline_metadata::c2pa::{C2paValidator, read_c2pa, read_c2pa_with_trust};

const FIXTURES: &[&str] = &[
    "c2pa-created.jpg",
    "c2pa-ai.jpg",
    "c2pa-edited.png",
    "c2pa-tampered.jpg",
    "c2pa-none.jpg",
    "c2pa-garbage.jpg",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/metadata/c2pa")
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join(format!("{name}.expected.json")))
        .unwrap_or_else(|e| panic!("read {name}.expected.json: {e}"));
    serde_json::from_str(&text).expect("expected.json parses")
}

fn mime(name: &str) -> &'static str {
    if name.ends_with(".png") {
        "image/png"
    } else {
        "image/jpeg"
    }
}

fn root_pem() -> String {
    std::fs::read_to_string(dir().join("certs/test-only-root.pem")).expect("root pem")
}

fn active(info: &C2paInfo) -> &C2paManifest {
    let label = info.active.as_deref().expect("active label");
    info.manifests
        .iter()
        .find(|m| m.label == label)
        .expect("active manifest listed")
}

fn strs(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn opt(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn check(name: &str, info: Option<&C2paInfo>, exp: &Value) {
    if exp["present"] == false {
        assert_eq!(info, None, "{name}: no manifest store expected");
        return;
    }
    let info = info.unwrap_or_else(|| panic!("{name}: manifest store expected"));
    assert_eq!(info.state, exp["state"].as_str().unwrap(), "{name}: state");
    assert_eq!(
        info.signer_trusted, exp["signer_trusted"],
        "{name}: signer_trusted"
    );
    assert_eq!(
        info.ai_generated, exp["ai_generated"],
        "{name}: ai_generated"
    );
    assert_eq!(
        info.manifests.len() as u64,
        exp["manifest_count"].as_u64().unwrap(),
        "{name}: manifest count"
    );
    if let Some(prefix) = exp.get("error_starts_with").and_then(Value::as_str) {
        let error = info
            .error
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: error expected"));
        assert!(error.starts_with(prefix), "{name}: error {error:?}");
        assert!(!error.ends_with('.'), "{name}: error ends with a period");
        assert_ne!(error, "c2pa reader panicked");
        return;
    }
    assert_eq!(info.error, None, "{name}: no error expected");

    let failures: BTreeSet<String> = info
        .status
        .iter()
        .filter(|s| !s.success)
        .map(|s| s.code.clone())
        .collect();
    assert_eq!(
        failures,
        strs(&exp["failure_codes"]),
        "{name}: failure codes"
    );
    let successes: BTreeSet<String> = info
        .status
        .iter()
        .filter(|s| s.success)
        .map(|s| s.code.clone())
        .collect();
    for code in strs(&exp["success_codes"]) {
        assert!(
            successes.contains(&code),
            "{name}: success code {code} missing"
        );
    }

    let m = active(info);
    let want = &exp["active"];
    assert_eq!(m.title, opt(&want["title"]), "{name}: title");
    assert_eq!(
        m.claim_generator,
        opt(&want["claim_generator"]),
        "{name}: generator"
    );
    assert_eq!(m.signer, opt(&want["signer"]), "{name}: signer");
    assert_eq!(m.issuer, opt(&want["issuer"]), "{name}: issuer");
    let actions: Vec<(String, Option<String>)> = m
        .actions
        .iter()
        .map(|a| (a.action.clone(), a.digital_source_type.clone()))
        .collect();
    let want_actions: Vec<(String, Option<String>)> = want["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap().to_string(),
                opt(&a["digital_source_type"]),
            )
        })
        .collect();
    assert_eq!(actions, want_actions, "{name}: actions");
    let want_ingredients = want["ingredients"].as_array().unwrap();
    assert_eq!(
        m.ingredients.len(),
        want_ingredients.len(),
        "{name}: ingredients"
    );
    for (got, want) in m.ingredients.iter().zip(want_ingredients) {
        assert_eq!(got.title, opt(&want["title"]), "{name}: ingredient title");
        assert_eq!(
            got.format,
            opt(&want["format"]),
            "{name}: ingredient format"
        );
        assert_eq!(
            got.relationship,
            opt(&want["relationship"]),
            "{name}: relationship"
        );
        assert_eq!(
            got.manifest,
            opt(&want["manifest"]),
            "{name}: ingredient manifest"
        );
    }
}

#[test]
fn every_fixture_matches_its_expected_json() {
    for name in FIXTURES {
        let info = read_c2pa(&bytes(name), mime(name));
        check(name, info.as_ref(), &expected(name));
    }
}

#[test]
fn good_signature_without_trust_list_is_valid_but_untrusted() {
    let info = read_c2pa(&bytes("c2pa-created.jpg"), "image/jpeg").unwrap();
    assert_eq!(info.state, "valid");
    assert!(!info.signer_trusted);
    assert!(
        info.status
            .iter()
            .any(|s| s.code == "signingCredential.untrusted" && !s.success)
    );
    assert!(
        info.status
            .iter()
            .any(|s| s.code == "claimSignature.validated" && s.success)
    );
}

#[test]
fn test_root_as_trust_anchor_makes_signer_trusted() {
    let pem = root_pem();
    for name in FIXTURES {
        let exp = expected(name);
        let Some(want) = exp.get("trusted_with_test_root") else {
            continue;
        };
        let info = read_c2pa_with_trust(&bytes(name), mime(name), Some(&pem))
            .expect("root accepted")
            .unwrap_or_else(|| panic!("{name}: manifest expected"));
        assert_eq!(
            info.state,
            want["state"].as_str().unwrap(),
            "{name}: trusted state"
        );
        assert_eq!(
            info.signer_trusted, want["signer_trusted"],
            "{name}: signer_trusted"
        );
        assert!(
            info.status
                .iter()
                .all(|s| s.code != "signingCredential.untrusted"),
            "{name}: no untrusted status once the root is an anchor"
        );
    }
}

#[test]
fn unrelated_trust_anchor_does_not_trust_signer() {
    let pem = std::fs::read_to_string(dir().join("certs/test-only-unrelated-root.pem")).unwrap();
    let info = read_c2pa_with_trust(&bytes("c2pa-created.jpg"), "image/jpeg", Some(&pem))
        .unwrap()
        .unwrap();
    assert_eq!(info.state, "valid");
    assert!(!info.signer_trusted);
}

#[test]
fn no_trust_anchors_is_the_same_as_read_c2pa() {
    let file = bytes("c2pa-ai.jpg");
    let a = read_c2pa_with_trust(&file, "image/jpeg", None).unwrap();
    let b = read_c2pa(&file, "image/jpeg");
    assert_eq!(a, b);
}

#[test]
fn bad_trust_anchors_are_a_config_error() {
    let err = read_c2pa_with_trust(&bytes("c2pa-created.jpg"), "image/jpeg", Some("nope"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("trust anchors rejected"), "{err}");
    let garbled = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert!(C2paValidator::with_trust_anchors(garbled).is_err());
}

#[test]
fn edited_ingredient_points_at_created_manifest() {
    let created = read_c2pa(&bytes("c2pa-created.jpg"), "image/jpeg").unwrap();
    let edited = read_c2pa(&bytes("c2pa-edited.png"), "image/png").unwrap();
    let parent = &active(&edited).ingredients[0];
    assert_eq!(parent.relationship.as_deref(), Some("parentOf"));
    assert_eq!(parent.manifest, created.active);
    // The parent's manifest travels in the edited file's store.
    let inner = edited
        .manifests
        .iter()
        .find(|m| Some(&m.label) == created.active.as_ref())
        .expect("parent manifest in store");
    assert_eq!(inner.actions[0].action, "c2pa.created");
    assert_eq!(
        edited.manifests[0].label,
        edited.active.clone().unwrap(),
        "active first"
    );
}

#[test]
fn mime_hint_is_only_a_hint() {
    // The crate sniffs the container from the bytes.
    let info = read_c2pa(&bytes("c2pa-edited.png"), "application/octet-stream").unwrap();
    assert_eq!(info.state, "valid");
    let info = read_c2pa(&bytes("c2pa-created.jpg"), "image/png").unwrap();
    assert_eq!(info.state, "valid");
}

#[test]
fn files_without_store_are_none() {
    assert_eq!(read_c2pa(b"", "image/jpeg"), None);
    assert_eq!(read_c2pa(b"hello", "text/plain"), None);
    // a truncated plain JPEG is not a broken manifest store
    let plain = bytes("c2pa-none.jpg");
    assert_eq!(read_c2pa(&plain[..plain.len() / 2], "image/jpeg"), None);
    assert_eq!(read_c2pa(&plain[..3], "image/jpeg"), None);
}

/// Flips bytes across the manifest store and truncates the file at many
/// points: every read must return without panicking, and a damaged store
/// must never read as valid.
#[test]
fn damaged_stores_never_panic_or_validate() {
    for name in ["c2pa-created.jpg", "c2pa-edited.png"] {
        let good = bytes(name);
        let validator = C2paValidator::new().unwrap();
        let store = store_span(&good);
        let mut reads = 0;
        let step = (store.len() / 300).max(1);
        for i in store.clone().step_by(step) {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] ^= mask;
                let info = validator.read(&bad, mime(name));
                reads += 1;
                if let Some(info) = info {
                    assert_ne!(
                        info.error.as_deref(),
                        Some("c2pa reader panicked"),
                        "{name} @{i}"
                    );
                }
            }
        }
        for cut in (0..good.len()).step_by((good.len() / 200).max(1)) {
            let info = validator.read(&good[..cut], mime(name));
            reads += 1;
            if let Some(info) = info {
                assert_ne!(
                    info.error.as_deref(),
                    Some("c2pa reader panicked"),
                    "{name} cut {cut}"
                );
                assert_ne!(info.state, "valid", "{name} cut {cut} read as valid");
            }
        }
        assert!(reads > 500, "{name}: {reads} reads");
    }
}

/// Byte range of the embedded manifest store: from the first `jumb` box to
/// the end of the store's JUMBF, approximated by the segment/chunk sizes.
fn store_span(file: &[u8]) -> std::ops::Range<usize> {
    let start = memchr::memmem::find(file, b"jumb").expect("store present") - 4;
    let len = u32::from_be_bytes(file[start..start + 4].try_into().unwrap()) as usize;
    start..(start + len).min(file.len())
}

/// A JPEG whose XMP says its manifest store lives at a URL: the crate is
/// built without fetching, so this reports the reference and fetches nothing.
#[test]
fn remote_manifest_reference_is_reported_not_fetched() {
    let url = "https://example.invalid/store.c2pa";
    let xmp = format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
         xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description \
         xmlns:dcterms=\"http://purl.org/dc/terms/\" dcterms:provenance=\"{url}\"/>\
         </rdf:RDF></x:xmpmeta>"
    );
    let mut payload = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    payload.extend_from_slice(xmp.as_bytes());
    let plain = bytes("c2pa-none.jpg");
    let mut file = plain[..2].to_vec();
    file.extend_from_slice(&[0xff, 0xe1]);
    file.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
    file.extend_from_slice(&payload);
    file.extend_from_slice(&plain[2..]);

    let info = read_c2pa(&file, "image/jpeg").expect("remote reference reported");
    assert_eq!(info.state, "invalid");
    assert_eq!(
        info.error.as_deref(),
        Some("manifest store is remote and was not fetched: https://example.invalid/store.c2pa")
    );
}
