//! `sightline keyframes`: write a stored video's keyframes, thumbnails and
//! contact sheet to a folder, making them first if the video has none.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sightline_core::{Derivative, Derivatives, DerivedKind, EvidenceItem, MediaKind};
use sightline_ingest::derive::{DeriveOptions, derive_video};
use sightline_store::Store;

use crate::cli::KeyframesArgs;
use crate::output::{json_line, say};

pub fn keyframes(store: &Store, args: KeyframesArgs) -> anyhow::Result<ExitCode> {
    let item = crate::similar::resolve(store, &args.id)?;
    if item.kind != MediaKind::Video {
        bail!(
            "item {} is {} ({}), not a video",
            item.sha256.short(),
            item.kind,
            item.format
        );
    }
    let derived = match store.catalog().derivatives(&item.sha256)? {
        Some(d) => d,
        None => make(store, &item, &crate::cmd::current_user())?,
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let short = item.sha256.short();
    let mut listing = Vec::new();
    let mut n = 0;
    for f in &derived.files {
        if f.kind == DerivedKind::Keyframe {
            n += 1;
        }
        let name = file_name(&short, f, n);
        let path = args.out.join(&name);
        copy_blob(store, f, &path)?;
        if args.json {
            json_line(&serde_json::json!({
                "item": item.sha256,
                "kind": f.kind,
                "path": path,
                "sha256": f.sha256,
                "width": f.width,
                "height": f.height,
                "time_ms": f.time_ms,
                "reason": f.reason,
            }))?;
        } else {
            say!(
                "{:<13} {:>9}  {}x{}  {}",
                f.kind.as_str(),
                f.time_ms.map(time).unwrap_or_default(),
                f.width,
                f.height,
                path.display()
            );
        }
        listing.push(serde_json::json!({"file": name, "derivative": f}));
    }
    // The description beside the files, for whoever receives the folder.
    let manifest = serde_json::json!({
        "item": item.sha256,
        "media_type": item.media_type,
        "made_by": derived.made_by,
        "made_at": derived.made_at,
        "capped": derived.capped,
        "files": listing,
    });
    let manifest_path = args.out.join(format!("{short}-keyframes.json"));
    let mut text = serde_json::to_vec_pretty(&manifest)?;
    text.push(b'\n');
    std::fs::write(&manifest_path, text)
        .with_context(|| format!("cannot write {}", manifest_path.display()))?;
    if !args.json {
        say!(
            "{n} keyframes of {} written to {} (made by {})",
            item.sha256.short(),
            args.out.display(),
            derived.made_by
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Make and record the derivatives of a stored video: its blob is copied to
/// a staging file of the store (ffmpeg reads a path), which is dropped
/// afterwards.
fn make(store: &Store, item: &EvidenceItem, actor: &str) -> anyhow::Result<Derivatives> {
    let mut stager = store.blobs().stage()?;
    let mut blob = store.blobs().open(&item.sha256)?;
    std::io::copy(&mut blob, &mut stager).context("cannot copy the original out of the store")?;
    let staged = stager.finish()?;
    if staged.sha256() != item.sha256 {
        bail!(
            "the blob of {} no longer hashes to its address; run sightline check",
            item.sha256.short()
        );
    }
    let d = derive_video(store, staged.path(), &DeriveOptions::default())
        .map_err(|e| anyhow::anyhow!("no keyframes for {}: {e}", item.sha256.short()))?;
    store
        .catalog()
        .add_derivatives(&item.sha256, d.clone(), actor)?;
    // Another process may have recorded some first: theirs stand.
    Ok(store.catalog().derivatives(&item.sha256)?.unwrap_or(d))
}

fn copy_blob(store: &Store, f: &Derivative, to: &Path) -> anyhow::Result<()> {
    let mut bytes = Vec::with_capacity(f.size.min(64 << 20) as usize);
    store
        .blobs()
        .open(&f.sha256)?
        .take(64 << 20)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read derived blob {}", f.sha256))?;
    if sightline_core::Sha256::of(&bytes) != f.sha256 {
        bail!("derived blob {} is damaged; run sightline check", f.sha256);
    }
    std::fs::write(to, &bytes).with_context(|| format!("cannot write {}", to.display()))
}

/// `5a1b…-kf03-0m06.8s.jpg`, `…-thumb03-…`, `…-contact-sheet.jpg`.
fn file_name(short: &str, f: &Derivative, n: usize) -> String {
    let at = f.time_ms.map(time).unwrap_or_default();
    match f.kind {
        DerivedKind::Keyframe => format!("{short}-kf{n:02}-{at}.jpg"),
        DerivedKind::Thumbnail => format!("{short}-thumb{n:02}-{at}.jpg"),
        DerivedKind::ContactSheet => format!("{short}-contact-sheet.jpg"),
    }
}

/// `0m06.8s`, `1h02m03.4s`.
fn time(ms: u64) -> String {
    let tenths = (ms + 50) / 100;
    let (h, m, s, t) = (
        tenths / 36_000,
        tenths / 600 % 60,
        tenths / 10 % 60,
        tenths % 10,
    );
    if h > 0 {
        format!("{h}h{m:02}m{s:02}.{t}s")
    } else {
        format!("{m}m{s:02}.{t}s")
    }
}

#[cfg(test)]
mod tests {
    use super::time;

    #[test]
    fn times_in_file_names() {
        assert_eq!(time(0), "0m00.0s");
        assert_eq!(time(6750), "0m06.8s");
        assert_eq!(time(3_723_400), "1h02m03.4s");
    }
}
