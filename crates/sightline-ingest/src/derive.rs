//! Derive: make the files analysts look at from a video (keyframes, their
//! thumbnails, a contact sheet), store them as blobs, and describe them
//! for the catalog. The original is never touched.

use std::path::Path;

use chrono::Utc;
use sightline_core::{Derivative, Derivatives, DerivedKind};
use sightline_media::keyframes::{KeyframeOptions, SheetOptions, contact_sheet, extract_keyframes};
use sightline_store::Store;

/// How keyframes and the contact sheet are made.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeriveOptions {
    pub keyframes: KeyframeOptions,
    pub sheet: SheetOptions,
}

impl DeriveOptions {
    /// The tool and settings, as recorded with what they made.
    pub fn made_by(&self) -> String {
        let k = &self.keyframes;
        format!(
            "sightline {} keyframes: {} samples/s, cut {:.2}, drift {:.2}, gaps {}..{} s, \
             at most {}, stills {} px, thumbnails {} px, jpeg q{}; contact sheet {} columns",
            env!("CARGO_PKG_VERSION"),
            k.sample_fps,
            k.cut_threshold,
            k.drift_threshold,
            k.min_gap_secs,
            k.max_gap_secs,
            k.max_keyframes,
            k.max_side,
            k.thumb_side,
            k.jpeg_quality,
            self.sheet.columns,
        )
    }
}

/// Extract keyframes from the video at `path`, store every derived file
/// as a blob, and return their description. Blobs are durable before this
/// returns; the caller records the description (blob first, record second,
/// as for originals).
pub fn derive_video(
    store: &Store,
    path: &Path,
    opts: &DeriveOptions,
) -> Result<Derivatives, String> {
    let kf = extract_keyframes(path, &opts.keyframes).map_err(|e| e.to_string())?;
    let mut files = Vec::with_capacity(kf.frames.len() * 2 + 1);
    let mut put = |kind: DerivedKind,
                   bytes: &[u8],
                   (width, height): (u32, u32),
                   time_ms: Option<u64>,
                   reason: Option<&str>|
     -> Result<(), String> {
        let (sha256, _) = store.blobs().put_bytes(bytes).map_err(|e| e.to_string())?;
        files.push(Derivative {
            kind,
            sha256,
            size: bytes.len() as u64,
            media_type: "image/jpeg".into(),
            width,
            height,
            time_ms,
            reason: reason.map(str::to_string),
        });
        Ok(())
    };
    for f in &kf.frames {
        let reason = Some(f.reason.as_str());
        put(
            DerivedKind::Keyframe,
            &f.jpeg,
            (kf.width, kf.height),
            Some(f.time_ms),
            reason,
        )?;
        put(
            DerivedKind::Thumbnail,
            &f.thumb_jpeg,
            (kf.thumb_width, kf.thumb_height),
            Some(f.time_ms),
            reason,
        )?;
    }
    if let Some((jpeg, w, h)) = contact_sheet(&kf, &opts.sheet) {
        put(DerivedKind::ContactSheet, &jpeg, (w, h), None, None)?;
    }
    Ok(Derivatives {
        made_by: opts.made_by(),
        made_at: Utc::now(),
        files,
        capped: kf.capped,
    })
}
