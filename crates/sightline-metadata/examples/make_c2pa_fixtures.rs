//! Writes the C2PA test fixtures in `fixtures/metadata/c2pa/`, each with a
//! `NAME.expected.json` holding only the stable facts the tests assert.
//!
//! Signing uses the TEST-ONLY chain made by `fixtures/metadata/c2pa/make_certs.sh`
//! (root CA -> intermediate -> ES256 signer); no timestamp authority, no
//! network. Manifest labels, instance ids and salts are random, so the
//! signed files differ from run to run; the expected facts do not.
//!
//! Run: `cargo run -p sightline-metadata --example make_c2pa_fixtures`.

use std::error::Error;
use std::fs;
use std::io::{Cursor, Seek};
use std::path::{Path, PathBuf};

use c2pa::{Builder, BuilderIntent, Context, Reader, Signer, SigningAlg, create_signer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ImageEncoder, RgbImage};
use serde_json::{Value, json};

type Res<T> = Result<T, Box<dyn Error>>;

const GENERATOR: (&str, &str) = ("sightline-fixtures", "1.0");
const IPTC: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";
const SIGNER_CN: &str = "Sightline Test-Only Signer";
const ISSUER_CN: &str = "Sightline Test-Only Intermediate CA";
const WHEN: &str = "2025-01-01T12:00:00Z";

fn main() -> Res<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/metadata/c2pa");
    let chain = fs::read(dir.join("certs/test-only-signer-chain.pem"))?;
    let key = fs::read(dir.join("certs/test-only-signer.key"))?;
    let signer = create_signer::from_keys(&chain, &key, SigningAlg::Es256, None)?;

    let plain_jpeg = jpeg(&gradient(false))?;
    let plain_png = png(&gradient(true))?;

    // 1. created by a camera
    let created = sign(
        signer.as_ref(),
        "image/jpeg",
        &plain_jpeg,
        "c2pa-created.jpg",
        vec![created_action("digitalCapture")],
        None,
    )?;
    write(&dir, "c2pa-created.jpg", &created)?;
    let created_label = active_label(&created, "image/jpeg")?;
    expect(
        &dir,
        "c2pa-created.jpg",
        json!({
            "present": true,
            "state": "valid",
            "signer_trusted": false,
            "ai_generated": false,
            "failure_codes": ["signingCredential.untrusted"],
            "success_codes": ["claimSignature.validated", "claimSignature.insideValidity",
                              "assertion.dataHash.match"],
            "manifest_count": 1,
            "active": active_facts("c2pa-created.jpg", &[("c2pa.created", Some("digitalCapture"))], json!([])),
            "trusted_with_test_root": {"state": "trusted", "signer_trusted": true},
        }),
    )?;

    // 2. made by generative AI
    let ai = sign(
        signer.as_ref(),
        "image/jpeg",
        &plain_jpeg,
        "c2pa-ai.jpg",
        vec![created_action("trainedAlgorithmicMedia")],
        None,
    )?;
    write(&dir, "c2pa-ai.jpg", &ai)?;
    expect(
        &dir,
        "c2pa-ai.jpg",
        json!({
            "present": true,
            "state": "valid",
            "signer_trusted": false,
            "ai_generated": true,
            "failure_codes": ["signingCredential.untrusted"],
            "success_codes": ["claimSignature.validated", "assertion.dataHash.match"],
            "manifest_count": 1,
            "active": active_facts("c2pa-ai.jpg", &[("c2pa.created", Some("trainedAlgorithmicMedia"))], json!([])),
            "trusted_with_test_root": {"state": "trusted", "signer_trusted": true},
        }),
    )?;

    // 3. an edit whose parent is fixture 1
    let edited_action = json!({
        "action": "c2pa.edited",
        "softwareAgent": {"name": GENERATOR.0, "version": GENERATOR.1},
        "when": WHEN,
    });
    let edited = sign(
        signer.as_ref(),
        "image/png",
        &plain_png,
        "c2pa-edited.png",
        vec![edited_action],
        Some(("c2pa-created.jpg", "image/jpeg", created.as_slice())),
    )?;
    write(&dir, "c2pa-edited.png", &edited)?;
    expect(
        &dir,
        "c2pa-edited.png",
        json!({
            "present": true,
            "state": "valid",
            "signer_trusted": false,
            "ai_generated": false,
            "failure_codes": ["signingCredential.untrusted"],
            "success_codes": ["claimSignature.validated", "assertion.dataHash.match"],
            "manifest_count": 2,
            "active": active_facts(
                "c2pa-edited.png",
                &[("c2pa.opened", None), ("c2pa.edited", None)],
                json!([{
                    "title": "c2pa-created.jpg",
                    "format": "image/jpeg",
                    "relationship": "parentOf",
                    "manifest": created_label,
                }]),
            ),
            "trusted_with_test_root": {"state": "trusted", "signer_trusted": true},
        }),
    )?;

    // 4. fixture 1 with scan data changed after signing
    let tampered = tamper(&created)?;
    write(&dir, "c2pa-tampered.jpg", &tampered)?;
    expect(
        &dir,
        "c2pa-tampered.jpg",
        json!({
            "present": true,
            "state": "invalid",
            "signer_trusted": false,
            "ai_generated": false,
            "failure_codes": ["assertion.dataHash.mismatch", "signingCredential.untrusted"],
            "success_codes": ["claimSignature.validated"],
            "manifest_count": 1,
            "active": active_facts("c2pa-created.jpg", &[("c2pa.created", Some("digitalCapture"))], json!([])),
            "trusted_with_test_root": {"state": "invalid", "signer_trusted": true},
        }),
    )?;

    // 5. no Content Credentials at all
    write(&dir, "c2pa-none.jpg", &plain_jpeg)?;
    expect(&dir, "c2pa-none.jpg", json!({"present": false}))?;

    // 6. an APP11 JUMBF segment that announces a C2PA store, then junk
    write(&dir, "c2pa-garbage.jpg", &with_junk_store(&plain_jpeg)?)?;
    expect(
        &dir,
        "c2pa-garbage.jpg",
        json!({
            "present": true,
            "state": "invalid",
            "signer_trusted": false,
            "ai_generated": false,
            "error_starts_with": "c2pa manifest store unreadable",
            "manifest_count": 0,
        }),
    )?;

    println!("fixtures written to {}", dir.display());
    Ok(())
}

/// A 64x64 gradient; `flip` gives a different picture for the PNG.
fn gradient(flip: bool) -> RgbImage {
    RgbImage::from_fn(64, 64, |x, y| {
        let (a, b) = if flip { (63 - x, y) } else { (x, y) };
        image::Rgb([(a * 4) as u8, (b * 4) as u8, ((a + b) * 2) as u8])
    })
}

fn jpeg(img: &RgbImage) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

fn png(img: &RgbImage) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

fn created_action(source_type: &str) -> Value {
    json!({
        "action": "c2pa.created",
        "digitalSourceType": format!("{IPTC}{source_type}"),
        "softwareAgent": {"name": GENERATOR.0, "version": GENERATOR.1},
        "when": WHEN,
    })
}

/// Signs `source` with a manifest holding `actions` and, for an edit, its
/// parent ingredient (title, format, bytes).
fn sign(
    signer: &dyn Signer,
    format: &str,
    source: &[u8],
    title: &str,
    actions: Vec<Value>,
    parent: Option<(&str, &str, &[u8])>,
) -> Res<Vec<u8>> {
    let context = Context::new().with_settings(json!({
        "verify": {"remote_manifest_fetch": false, "ocsp_fetch": false},
        "core": {"allowed_network_hosts": []},
    }))?;
    let definition = json!({
        "title": title,
        "claim_generator_info": [{"name": GENERATOR.0, "version": GENERATOR.1}],
        "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}],
    });
    let mut builder = Builder::from_context(context).with_definition(definition)?;
    if let Some((parent_title, parent_format, bytes)) = parent {
        builder.set_intent(BuilderIntent::Edit);
        let ingredient = json!({"title": parent_title, "relationship": "parentOf"});
        builder.add_ingredient_from_stream(
            ingredient.to_string(),
            parent_format,
            &mut Cursor::new(bytes),
        )?;
    }
    let mut dest = Cursor::new(Vec::new());
    builder.sign(signer, format, &mut Cursor::new(source), &mut dest)?;
    dest.rewind()?;
    Ok(dest.into_inner())
}

/// The active manifest label of a file we just signed.
fn active_label(bytes: &[u8], format: &str) -> Res<String> {
    let reader = Reader::from_context(Context::new()).with_stream(format, Cursor::new(bytes))?;
    Ok(reader
        .active_label()
        .ok_or("signed file has no active manifest")?
        .to_string())
}

fn active_facts(title: &str, actions: &[(&str, Option<&str>)], ingredients: Value) -> Value {
    let actions: Vec<Value> = actions
        .iter()
        .map(|(action, source)| {
            json!({
                "action": action,
                "digital_source_type": source.map(|s| format!("{IPTC}{s}")),
            })
        })
        .collect();
    json!({
        "title": title,
        "claim_generator": format!("{}/{}", GENERATOR.0, GENERATOR.1),
        "signer": SIGNER_CN,
        "issuer": ISSUER_CN,
        "actions": actions,
        "ingredients": ingredients,
    })
}

/// Changes a few bytes of entropy-coded scan data of the last scan, keeping
/// the JPEG structure intact (no 0xFF created or touched).
fn tamper(jpeg: &[u8]) -> Res<Vec<u8>> {
    let sos = jpeg
        .windows(2)
        .rposition(|w| w == [0xff, 0xda])
        .ok_or("no SOS marker")?;
    let header_len = usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    let start = sos + 2 + header_len + 16;
    let mut out = jpeg.to_vec();
    let mut changed = 0;
    let mut i = start;
    while changed < 4 && i + 1 < out.len() {
        let (prev, cur, next) = (out[i - 1], out[i], out[i + 1]);
        let new = cur ^ 0x10;
        if prev != 0xff && cur != 0xff && next != 0xff && new != 0xff {
            out[i] = new;
            changed += 1;
            i += 7;
        } else {
            i += 1;
        }
    }
    if changed == 0 {
        return Err("no scan byte could be changed".into());
    }
    Ok(out)
}

/// Inserts after SOI an APP11 segment in the JPEG XT / JUMBF layout that
/// C2PA uses, announcing a manifest store (`jumb` / `jumd` / c2pa type),
/// followed by junk instead of a description and manifests.
fn with_junk_store(jpeg: &[u8]) -> Res<Vec<u8>> {
    const C2PA_UUID: [u8; 16] = [
        0x63, 0x32, 0x70, 0x61, 0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b,
        0x71,
    ];
    let junk: Vec<u8> = (0u32..200)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut payload = Vec::new();
    payload.extend_from_slice(b"JP"); // JPEG XT common identifier
    payload.extend_from_slice(&1u16.to_be_bytes()); // box instance
    payload.extend_from_slice(&1u32.to_be_bytes()); // packet sequence
    let jumb_len = 8 + 8 + 16 + junk.len();
    payload.extend_from_slice(&u32::try_from(jumb_len)?.to_be_bytes());
    payload.extend_from_slice(b"jumb");
    payload.extend_from_slice(&0x0000_0030u32.to_be_bytes());
    payload.extend_from_slice(b"jumd");
    payload.extend_from_slice(&C2PA_UUID);
    payload.extend_from_slice(&junk);

    let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 4);
    out.extend_from_slice(&jpeg[..2]); // SOI
    out.extend_from_slice(&[0xff, 0xeb]);
    out.extend_from_slice(&u16::try_from(payload.len() + 2)?.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    Ok(out)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Res<()> {
    fs::write(dir.join(name), bytes)?;
    Ok(())
}

fn expect(dir: &Path, name: &str, facts: Value) -> Res<()> {
    let path: PathBuf = dir.join(format!("{name}.expected.json"));
    fs::write(path, serde_json::to_string_pretty(&facts)? + "\n")?;
    Ok(())
}
