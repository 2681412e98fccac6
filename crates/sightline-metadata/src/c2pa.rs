//! C2PA Content Credentials: find a manifest store in a file, validate it and
//! report what it says in Sightline's [`C2paInfo`].
//!
//! Reading is done by the `c2pa` crate (built without any HTTP feature) on
//! the bytes the caller already holds. On top of that build-time guarantee
//! the reader is configured so that it never reaches the network: remote
//! manifests and OCSP are not fetched and the network allow-list is empty.
//!
//! Validation is honest about trust. Without trust anchors no signer can be
//! trusted, so a file whose hashes and signature check out reads as
//! `state: "valid"`, `signer_trusted: false` (with the crate's
//! `signingCredential.untrusted` status). Only when an operator passes trust
//! anchors ([`C2paValidator::with_trust_anchors`]) can a file read as
//! `"trusted"`.
//!
//! # When is a file "AI generated"
//!
//! [`C2paInfo::ai_generated`] is true when any action, in any manifest of the
//! store (the active one and its ingredients' manifests), declares a digital
//! source type whose last path segment is one of [`AI_SOURCE_TYPES`]. Source
//! types are matched by that last segment, so the IPTC URI, the C2PA URI and
//! the bare short form all count. `c2pa.training-mining` assertions are not
//! used: they state whether a file may be used for AI training, not how it
//! was made.
//!
//! # What `None` means
//!
//! [`read_c2pa`] returns `None` when the file carries no manifest store: the
//! crate finds no JUMBF store, or reading fails and the bytes do not contain
//! the C2PA manifest-store box type at all (so a truncated JPEG without
//! Content Credentials is not reported as a broken manifest). A store that
//! is present but cannot be read gives `Some` with `state: "invalid"` and
//! [`C2paInfo::error`] set; so does a file whose XMP points at a remote
//! store (`dcterms:provenance` URL), which is never fetched.
//!
//! # Notes on the crate (c2pa 0.90.22)
//!
//! - `signed_at` comes only from an RFC 3161 timestamp; files signed without
//!   a timestamp authority have none, and the certificate is then checked
//!   against the current time.
//! - The crate's `SignatureInfo::issuer` is the signer's own organisation;
//!   [`C2paManifest::issuer`] here is the issuer named in the signing
//!   certificate.
//! - For JPEG the crate copies the whole file into its own buffer, so peak
//!   memory is about twice the file size.
//! - A panic inside the crate is caught, but the default panic hook still
//!   prints it to stderr.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock};

use c2pa::{Context, Manifest, Reader, Settings, ValidationState};
use serde_json::Value;
use sightline_core::{C2paAction, C2paInfo, C2paIngredient, C2paManifest, C2paStatus};

/// Last path segments of digital source types that declare generative AI or
/// algorithmic creation (IPTC `trainedAlgorithmicMedia`,
/// `compositeWithTrainedAlgorithmicMedia`, and C2PA `trainedAlgorithmicData`).
/// IPTC's `algorithmicMedia` (made by an algorithm without training data)
/// and `compositeSynthetic` (a composite that may or may not include AI)
/// do not count: they do not say generative AI was used.
pub const AI_SOURCE_TYPES: &[&str] = &[
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "trainedAlgorithmicData",
];

/// The JUMBF box type of a C2PA manifest store (`c2pa` then the ISO suffix):
/// present in any file that embeds a store.
const C2PA_STORE_UUID: [u8; 16] = [
    0x63, 0x32, 0x70, 0x61, 0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// The status code the crate reports when the signer chains to a trust anchor.
const SIGNING_CREDENTIAL_TRUSTED: &str = "signingCredential.trusted";

/// Why a validator could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum C2paConfigError {
    /// The trust anchors were not a PEM bundle the crate accepts.
    #[error("trust anchors rejected: {0}")]
    TrustAnchors(String),
    /// The crate refused the settings.
    #[error("c2pa settings rejected: {0}")]
    Settings(String),
}

/// A configured C2PA reader: build once, read many files (it is cheap to
/// clone and can be shared between threads).
#[derive(Debug, Clone)]
pub struct C2paValidator {
    context: Arc<Context>,
}

impl C2paValidator {
    /// A validator with no trust anchors: signatures and hashes are checked,
    /// no signer is trusted.
    pub fn new() -> Result<Self, C2paConfigError> {
        Self::build(None)
    }

    /// A validator that trusts signers chaining to these root certificates
    /// (a PEM bundle, e.g. the C2PA trust list or an organisation's root).
    pub fn with_trust_anchors(pem: &str) -> Result<Self, C2paConfigError> {
        Self::build(Some(pem))
    }

    fn build(trust_anchors_pem: Option<&str>) -> Result<Self, C2paConfigError> {
        let settings = offline_settings().map_err(C2paConfigError::Settings)?;
        let settings = match trust_anchors_pem {
            Some(pem) => {
                if !pem.contains("-----BEGIN CERTIFICATE-----") {
                    return Err(C2paConfigError::TrustAnchors(
                        "no pem certificate found".to_string(),
                    ));
                }
                settings
                    .with_value("trust.trust_anchors", pem)
                    .map_err(|e| C2paConfigError::TrustAnchors(tidy(&e.to_string())))?
            }
            None => settings,
        };
        let context = Context::new()
            .with_settings(settings)
            .map_err(|e| C2paConfigError::Settings(tidy(&e.to_string())))?;
        Ok(Self {
            context: context.into_shared(),
        })
    }

    /// Read and validate the manifest store of a file held in memory.
    ///
    /// `mime` is a hint (MIME type or extension): the crate detects the
    /// container from the bytes first. Returns `None` when the file carries
    /// no manifest store; never panics (a panic inside the crate is caught
    /// and reported as an error).
    pub fn read(&self, bytes: &[u8], mime: &str) -> Option<C2paInfo> {
        let outcome = catch_unwind(AssertUnwindSafe(|| self.read_inner(bytes, mime)));
        outcome.unwrap_or_else(|_| Some(failed("c2pa reader panicked".to_string())))
    }

    fn read_inner(&self, bytes: &[u8], mime: &str) -> Option<C2paInfo> {
        let result =
            Reader::from_shared_context(&self.context).with_stream(mime, Cursor::new(bytes));
        match result {
            Ok(reader) => Some(summarise(&reader)),
            Err(c2pa::Error::JumbfNotFound) => None,
            Err(c2pa::Error::RemoteManifestUrl(url)) => Some(failed(format!(
                "manifest store is remote and was not fetched: {url}"
            ))),
            Err(e) if has_store_marker(bytes) => Some(failed(format!(
                "c2pa manifest store unreadable: {}",
                tidy(&e.to_string())
            ))),
            Err(_) => None,
        }
    }
}

/// Settings that keep the reader off the network whatever features the
/// crate is built with, and keep trust checking on.
fn offline_settings() -> Result<Settings, String> {
    let settings = Settings::new();
    let set = |s: Settings, path: &str, v: Value| {
        s.with_value(path, v)
            .map_err(|e| format!("{path}: {}", tidy(&e.to_string())))
    };
    let settings = set(settings, "verify.remote_manifest_fetch", Value::Bool(false))?;
    let settings = set(settings, "verify.ocsp_fetch", Value::Bool(false))?;
    let settings = set(settings, "verify.verify_trust", Value::Bool(true))?;
    let settings = set(settings, "verify.verify_after_reading", Value::Bool(true))?;
    set(
        settings,
        "core.allowed_network_hosts",
        Value::Array(Vec::new()),
    )
}

static DEFAULT_VALIDATOR: LazyLock<Result<C2paValidator, C2paConfigError>> =
    LazyLock::new(C2paValidator::new);

/// Read and validate a file's C2PA manifest store with no trust anchors.
///
/// `None` when the file carries no C2PA manifest store at all.
pub fn read_c2pa(bytes: &[u8], mime: &str) -> Option<C2paInfo> {
    match &*DEFAULT_VALIDATOR {
        Ok(validator) => validator.read(bytes, mime),
        Err(e) => Some(failed(e.to_string())),
    }
}

/// Like [`read_c2pa`], trusting signers that chain to `trust_anchors_pem`
/// when given. Builds a validator per call: for many files build a
/// [`C2paValidator`] once instead.
pub fn read_c2pa_with_trust(
    bytes: &[u8],
    mime: &str,
    trust_anchors_pem: Option<&str>,
) -> Result<Option<C2paInfo>, C2paConfigError> {
    let validator = match trust_anchors_pem {
        Some(pem) => C2paValidator::with_trust_anchors(pem)?,
        None => C2paValidator::new()?,
    };
    Ok(validator.read(bytes, mime))
}

/// A store that is there but could not be read.
fn failed(error: String) -> C2paInfo {
    C2paInfo {
        state: "invalid".to_string(),
        error: Some(error),
        ..C2paInfo::default()
    }
}

/// Whether the bytes contain a C2PA manifest-store box type anywhere.
fn has_store_marker(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, &C2PA_STORE_UUID).is_some()
}

/// A crate message as one line, without a final period.
fn tidy(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    line.trim_end_matches('.').to_string()
}

fn summarise(reader: &Reader) -> C2paInfo {
    let manifests: Vec<C2paManifest> = ordered_manifests(reader)
        .into_iter()
        .map(|(label, m)| manifest_info(label, m))
        .collect();
    let ai_generated = manifests.iter().flat_map(|m| &m.actions).any(|a| {
        a.digital_source_type
            .as_deref()
            .is_some_and(is_ai_source_type)
    });
    let (status, signer_trusted) = statuses(reader);
    let state = match reader.validation_state() {
        ValidationState::Invalid => "invalid",
        ValidationState::Valid => "valid",
        ValidationState::Trusted => "trusted",
    };
    C2paInfo {
        active: reader.active_label().map(str::to_string),
        manifests,
        state: state.to_string(),
        signer_trusted,
        status,
        ai_generated,
        error: None,
    }
}

/// Whether a digital source type declares generative AI / algorithmic media
/// (matched on its last path segment, see [`AI_SOURCE_TYPES`]).
pub fn is_ai_source_type(source_type: &str) -> bool {
    let last = source_type
        .trim()
        .trim_end_matches('/')
        .rsplit(['/', '#', ':'])
        .next()
        .unwrap_or("");
    AI_SOURCE_TYPES.contains(&last)
}

/// The active manifest first, then its ingredients' manifests breadth-first,
/// then any others in label order.
fn ordered_manifests(reader: &Reader) -> Vec<(&str, &Manifest)> {
    let all = reader.manifests();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(all.len());
    let mut queue: VecDeque<&str> = reader.active_label().into_iter().collect();
    while let Some(label) = queue.pop_front() {
        let Some((key, manifest)) = all.get_key_value(label) else {
            continue;
        };
        if !seen.insert(key.as_str()) {
            continue;
        }
        out.push((key.as_str(), manifest));
        queue.extend(
            manifest
                .ingredients()
                .iter()
                .filter_map(|i| i.active_manifest()),
        );
    }
    let rest: BTreeSet<&str> = all
        .keys()
        .map(String::as_str)
        .filter(|k| !seen.contains(k))
        .collect();
    for key in rest {
        if let Some(manifest) = all.get(key) {
            out.push((key, manifest));
        }
    }
    out
}

fn manifest_info(label: &str, manifest: &Manifest) -> C2paManifest {
    let signature = manifest.signature_info();
    let (cert_subject_cn, cert_issuer) = signature
        .map(|s| cert_names(s.cert_chain()))
        .unwrap_or_default();
    C2paManifest {
        label: label.to_string(),
        title: manifest.title().map(str::to_string),
        claim_generator: claim_generator(manifest),
        signer: signature
            .and_then(|s| s.common_name.clone())
            .or(cert_subject_cn)
            .or_else(|| signature.and_then(|s| s.issuer.clone())),
        issuer: cert_issuer,
        signed_at: signature.and_then(|s| s.time.clone()),
        actions: actions(manifest),
        ingredients: manifest
            .ingredients()
            .iter()
            .map(|i| C2paIngredient {
                title: i.title().map(str::to_string),
                format: i.format().map(str::to_string),
                relationship: Some(i.relationship().as_str().to_string()),
                manifest: i.active_manifest().map(str::to_string),
            })
            .collect(),
    }
}

/// `claim_generator` for v1 claims; for v2 claims, the first
/// `claim_generator_info` entry as `name/version`.
fn claim_generator(manifest: &Manifest) -> Option<String> {
    if let Some(generator) = manifest.claim_generator() {
        return Some(generator.to_string());
    }
    let info = manifest.claim_generator_info.as_ref()?.first()?;
    Some(match &info.version {
        Some(version) => format!("{}/{}", info.name, version),
        None => info.name.clone(),
    })
}

/// Subject common name and issuer (common name, else organisation) of the
/// signing certificate, the first one in the chain.
fn cert_names(chain_pem: &str) -> (Option<String>, Option<String>) {
    use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
    let Some(Ok(pem)) = x509_parser::pem::Pem::iter_from_buffer(chain_pem.as_bytes()).next() else {
        return (None, None);
    };
    let Ok((_, cert)) = X509Certificate::from_der(&pem.contents) else {
        return (None, None);
    };
    let cn = |name: &X509Name| -> Option<String> {
        let attr = name.iter_common_name().next()?;
        attr.as_str().ok().map(str::to_string)
    };
    let org = |name: &X509Name| -> Option<String> {
        let attr = name.iter_organization().next()?;
        attr.as_str().ok().map(str::to_string)
    };
    let subject = cn(cert.subject());
    let issuer = cn(cert.issuer()).or_else(|| org(cert.issuer()));
    (subject, issuer)
}

/// Every action of every `c2pa.actions` / `c2pa.actions.v2` assertion, read
/// from the assertion JSON so unknown fields and types never fail the read.
fn actions(manifest: &Manifest) -> Vec<C2paAction> {
    let mut out = Vec::new();
    for assertion in manifest.assertions() {
        if !assertion.label().starts_with("c2pa.actions") {
            continue;
        }
        let Ok(value) = assertion.value() else {
            continue;
        };
        let Some(list) = value.get("actions").and_then(Value::as_array) else {
            continue;
        };
        for action in list {
            let Some(name) = action.get("action").and_then(Value::as_str) else {
                continue;
            };
            let source_type = action
                .get("digitalSourceType")
                .or_else(|| action.pointer("/parameters/digitalSourceType"))
                .and_then(Value::as_str);
            out.push(C2paAction {
                action: name.to_string(),
                software_agent: action.get("softwareAgent").and_then(software_agent),
                digital_source_type: source_type.map(str::to_string),
                when: action
                    .get("when")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
    }
    out
}

/// A software agent given as a string or as claim-generator info.
fn software_agent(value: &Value) -> Option<String> {
    if let Some(s) = value.as_str() {
        return Some(s.to_string());
    }
    let name = value.get("name")?.as_str()?;
    Some(match value.get("version").and_then(Value::as_str) {
        Some(version) => format!("{name}/{version}"),
        None => name.to_string(),
    })
}

/// Validation statuses (active manifest: successes, informational, failures;
/// then ingredient deltas) and whether the active signer was trusted.
fn statuses(reader: &Reader) -> (Vec<C2paStatus>, bool) {
    let convert = |s: &c2pa::validation_status::ValidationStatus, success: bool| C2paStatus {
        code: s.code().to_string(),
        success,
        url: s.url().map(str::to_string),
        explanation: s.explanation().map(str::to_string),
    };
    let Some(results) = reader.validation_results() else {
        let list = reader.validation_status().unwrap_or_default();
        let trusted = list
            .iter()
            .any(|s| s.code() == SIGNING_CREDENTIAL_TRUSTED && s.passed());
        return (
            list.iter().map(|s| convert(s, s.passed())).collect(),
            trusted,
        );
    };
    let mut out = Vec::new();
    let mut trusted = false;
    if let Some(active) = results.active_manifest() {
        trusted = active
            .success()
            .iter()
            .any(|s| s.code() == SIGNING_CREDENTIAL_TRUSTED);
        out.extend(active.success().iter().map(|s| convert(s, true)));
        out.extend(active.informational().iter().map(|s| convert(s, true)));
        out.extend(active.failure().iter().map(|s| convert(s, false)));
    }
    for delta in results.ingredient_deltas().into_iter().flatten() {
        let codes = delta.validation_deltas();
        out.extend(codes.success().iter().map(|s| convert(s, true)));
        out.extend(codes.informational().iter().map(|s| convert(s, true)));
        out.extend(codes.failure().iter().map(|s| convert(s, false)));
    }
    (out, trusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ai_source_types_match_on_last_segment() {
        assert!(is_ai_source_type(
            "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
        ));
        assert!(is_ai_source_type(
            "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
        ));
        assert!(is_ai_source_type("trainedAlgorithmicMedia"));
        assert!(is_ai_source_type(
            "http://c2pa.org/digitalsourcetype/trainedAlgorithmicData"
        ));
        assert!(!is_ai_source_type(
            "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
        ));
        assert!(!is_ai_source_type(
            "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicallyEnhanced"
        ));
        assert!(!is_ai_source_type(""));
    }

    #[test]
    fn messages_are_one_line_without_final_period() {
        assert_eq!(tidy("Bad thing\n happened."), "Bad thing happened");
    }

    #[test]
    fn validator_is_shareable() {
        fn check<T: Send + Sync>() {}
        check::<C2paValidator>();
    }

    #[test]
    fn trust_anchors_without_certificate_are_rejected() {
        assert!(C2paValidator::with_trust_anchors("not a pem").is_err());
    }

    #[test]
    fn bytes_without_store_read_as_none() {
        assert_eq!(read_c2pa(b"plain text", "text/plain"), None);
        assert_eq!(read_c2pa(&[0xff, 0xd8, 0xff], "image/jpeg"), None);
        assert_eq!(read_c2pa(&[], "image/png"), None);
    }
}
