//! The survey pass over a new video, and what is derived from it: the
//! files analysts look at (keyframes, their thumbnails, a contact sheet),
//! stored as blobs, and dense frame hashes for matching. The original is
//! never touched.

use std::path::Path;

use chrono::Utc;
use sightline_core::{Derivative, Derivatives, DerivedKind, VideoFrameHash};
use sightline_media::keyframes::{
    KeyframeOptions, Keyframes, SheetOptions, contact_sheet, extract_keyframes,
};
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

/// One sandboxed decode of the video at `path`: keyframes (encoded only
/// with `stills`) and the PDQ of every sample.
pub fn survey_video(path: &Path, opts: &DeriveOptions, stills: bool) -> Result<Keyframes, String> {
    let o = KeyframeOptions {
        stills,
        hash_samples: true,
        ..opts.keyframes.clone()
    };
    extract_keyframes(path, &o).map_err(|e| e.to_string())
}

/// The dense sample hashes of a survey, as stored query frames.
pub fn query_frames(kf: &Keyframes) -> Vec<VideoFrameHash> {
    kf.sample_hashes
        .iter()
        .map(|s| VideoFrameHash {
            frame: s.sample,
            quality: s.pdq.quality,
            hash: s.pdq.hash.to_string(),
            timestamp_ms: s.time_ms,
        })
        .collect()
}

/// Store every derived file of a survey made with stills as a blob and
/// return their description. Blobs are durable before this returns; the
/// caller records the description (blob first, record second, as for
/// originals).
pub fn store_derivatives(
    store: &Store,
    kf: &Keyframes,
    opts: &DeriveOptions,
) -> Result<Derivatives, String> {
    let mut files = Vec::with_capacity(kf.frames.len() * 2 + 1);
    let mut put = |kind: DerivedKind,
                   bytes: &[u8],
                   (width, height): (u32, u32),
                   time_ms: Option<u64>,
                   reason: Option<&str>|
     -> Result<(), String> {
        if bytes.is_empty() {
            return Err("the survey was made without stills".into());
        }
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
    if let Some((jpeg, w, h)) = contact_sheet(kf, &opts.sheet) {
        put(DerivedKind::ContactSheet, &jpeg, (w, h), None, None)?;
    }
    Ok(Derivatives {
        made_by: opts.made_by(),
        made_at: Utc::now(),
        files,
        capped: kf.capped,
    })
}

/// Survey a video and store what is derived from it.
pub fn derive_video(
    store: &Store,
    path: &Path,
    opts: &DeriveOptions,
) -> Result<Derivatives, String> {
    let kf = survey_video(path, opts, true)?;
    store_derivatives(store, &kf, opts)
}
