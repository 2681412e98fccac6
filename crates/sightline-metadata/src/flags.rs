//! Analyst flags: each a stable code and one line saying why.
//!
//! [`file_flags`] needs only the file; [`post_flags`] compares the file
//! with the post it came with (the capture time against the post time).

use chrono::{DateTime, Duration, Utc};
use sightline_core::{MetaFlag, Metadata};

use crate::summary::parse_naive;

/// Thresholds for the flags.
#[derive(Debug, Clone)]
pub struct FlagOptions {
    /// Capture time further than this from the post time is flagged.
    pub max_post_gap: Duration,
    /// Embedded thumbnail with a PDQ distance above this from the image is
    /// flagged as differing (a re-encode of the same picture stays far
    /// below; PDQ's own match threshold is 31).
    pub thumbnail_max_distance: u32,
}

impl Default for FlagOptions {
    fn default() -> Self {
        FlagOptions {
            max_post_gap: Duration::days(2),
            thumbnail_max_distance: 40,
        }
    }
}

/// Names (lowercase substrings) of editing and generating software.
const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "pixelmator",
    "affinity",
    "paint.net",
    "canva",
    "facetune",
    "faceapp",
    "meitu",
    "fireworks",
    "capture one",
    "darktable",
    "rawtherapee",
    "luminar",
    "photoscape",
    "inshot",
    "vsco",
    "photodirector",
    "corel",
    "acdsee",
    "imagemagick",
    "graphicsmagick",
    "midjourney",
    "stable diffusion",
    "dall-e",
    "firefly",
];

fn flag(code: &str, reason: String) -> MetaFlag {
    MetaFlag {
        code: code.into(),
        reason,
    }
}

/// Flags that follow from the file alone.
pub fn file_flags(m: &Metadata, opts: &FlagOptions) -> Vec<MetaFlag> {
    let mut out = Vec::new();
    let s = &m.summary;
    let camera_fields = m
        .fields
        .iter()
        .filter(|f| {
            !f.key.starts_with("File:")
                && !f.key.starts_with("PNG:")
                && !f.key.starts_with("Composite:")
        })
        .count();
    if m.video.is_none() && camera_fields == 0 {
        out.push(flag(
            "metadata-stripped",
            "no exif or xmp: typical of a platform re-encode; the post's own metadata is the primary source".into(),
        ));
    }
    if let Some(v) = &m.video
        && v.creation_time.is_none()
        && v.make.is_none()
        && v.location.is_none()
    {
        out.push(flag(
                "metadata-stripped",
                "no creation time, device or location in the container: typical of a platform re-encode".into(),
            ));
    }
    for sw in &s.software {
        let l = sw.to_lowercase();
        if let Some(ed) = EDITORS.iter().find(|e| l.contains(*e)) {
            out.push(flag(
                "editing-software",
                format!("software \"{sw}\" ({ed}) touched the file"),
            ));
            break;
        }
    }
    if let Some(v) = m.video.as_ref().and_then(|v| v.encoder.as_ref()) {
        let l = v.to_lowercase();
        if EDITORS.iter().any(|e| l.contains(e)) {
            out.push(flag(
                "editing-software",
                format!("encoder \"{v}\" is editing software"),
            ));
        }
    }
    if let Some(t) = &s.taken_at {
        if t.offset.is_none() {
            out.push(flag(
                "timezone-missing",
                format!(
                    "capture time {} ({}) has no utc offset: local time of an unknown zone",
                    t.value, t.origin
                ),
            ));
        }
        if parse_naive(&t.value).is_none() {
            out.push(flag(
                "time-invalid",
                format!(
                    "capture time \"{}\" ({}) is not a valid date",
                    t.value, t.origin
                ),
            ));
        }
    }
    if let (Some(t), Some(mo)) = (&s.taken_at, &s.modified_at)
        && let (Some(a), Some(b)) = (parse_naive(&t.value), parse_naive(&mo.value))
    {
        let gap = b - a;
        if gap > Duration::minutes(5) {
            out.push(flag(
                "modified-after-capture",
                format!(
                    "modified {} after capture ({} → {})",
                    human(gap),
                    t.value,
                    mo.value
                ),
            ));
        }
    }
    let n = |k: &str| m.get(k).and_then(|f| f.value.as_u64());
    if let (Some(ew), Some(eh), Some(w), Some(h)) = (
        n("ExifIFD:ExifImageWidth"),
        n("ExifIFD:ExifImageHeight"),
        n("File:ImageWidth"),
        n("File:ImageHeight"),
    ) && (ew, eh) != (w, h)
        && (eh, ew) != (w, h)
        && ew > 0
        && eh > 0
    {
        out.push(flag(
            "dimensions-differ",
            format!(
                "exif says {ew}x{eh}, the pixels are {w}x{h}: resized or cropped after capture"
            ),
        ));
    }
    let gps = s
        .gps
        .as_ref()
        .or(m.video.as_ref().and_then(|v| v.location.as_ref()));
    if let Some(g) = gps {
        if !g.lat.is_finite() || !g.lon.is_finite() || g.lat.abs() > 90.0 || g.lon.abs() > 180.0 {
            out.push(flag(
                "gps-impossible",
                format!("gps position {}, {} is not on earth", g.lat, g.lon),
            ));
        } else if g.lat == 0.0 && g.lon == 0.0 {
            out.push(flag(
                "gps-null-island",
                "gps position is exactly 0, 0: a device default, not a place".into(),
            ));
        }
    }
    if let Some(d) = s.thumbnail.as_ref().and_then(|t| t.pdq_distance)
        && d > opts.thumbnail_max_distance
    {
        out.push(flag(
                "thumbnail-differs",
                format!(
                    "embedded thumbnail is {d} bits (pdq) from the image (limit {}): the picture may have been edited after the thumbnail was made",
                    opts.thumbnail_max_distance
                ),
            ));
    }
    if let Some(c) = &m.c2pa {
        match (c.state.as_str(), &c.error) {
            (_, Some(e)) => out.push(flag(
                "c2pa-invalid",
                format!("content credentials unreadable: {e}"),
            )),
            ("invalid", _) => {
                let failed: Vec<&str> = c
                    .status
                    .iter()
                    .filter(|s| !s.success)
                    .map(|s| s.code.as_str())
                    .collect();
                out.push(flag(
                    "c2pa-invalid",
                    format!("content credentials fail validation: {}", failed.join(", ")),
                ));
            }
            (state, _) => {
                let signer = c
                    .manifests
                    .iter()
                    .find(|mf| Some(&mf.label) == c.active.as_ref())
                    .and_then(|mf| mf.signer.clone())
                    .unwrap_or_else(|| "unknown signer".into());
                let trust = if c.signer_trusted {
                    "trusted"
                } else {
                    "not on a trust list"
                };
                out.push(flag(
                    "c2pa-present",
                    format!("content credentials {state}, signed by {signer} ({trust})"),
                ));
            }
        }
        if c.ai_generated {
            out.push(flag(
                "c2pa-ai-generated",
                "content credentials declare generative ai in the making of this file".into(),
            ));
        }
    }
    if !m.issues.is_empty() {
        let codes: Vec<&str> = m.issues.iter().map(|i| i.code.as_str()).take(5).collect();
        out.push(flag(
            "metadata-damaged",
            format!(
                "{} metadata problem(s): {}",
                m.issues.len(),
                codes.join(", ")
            ),
        ));
    }
    out
}

/// Flags that compare the file with its post: capture time far from the
/// post time. Without an offset the capture time is local time somewhere;
/// the gap is then measured with 14 hours of slack either way.
pub fn post_flags(m: &Metadata, posted_at: DateTime<Utc>, opts: &FlagOptions) -> Vec<MetaFlag> {
    let mut out = Vec::new();
    let Some(t) = m
        .summary
        .taken_at
        .as_ref()
        .or(m.summary.created_at.as_ref())
    else {
        return out;
    };
    let (gap, slack) = match (t.utc, parse_naive(&t.value)) {
        (Some(u), _) => (posted_at - u, Duration::zero()),
        (None, Some(n)) => (posted_at.naive_utc() - n, Duration::hours(14)),
        (None, None) => return out,
    };
    let abs = if gap < Duration::zero() { -gap } else { gap };
    if abs - slack > opts.max_post_gap {
        let dir = if gap > Duration::zero() {
            "before"
        } else {
            "after"
        };
        out.push(flag(
            "time-far-from-post",
            format!(
                "captured {} {dir} the post ({} {}, posted {})",
                human(abs),
                t.origin,
                t.value,
                posted_at.format("%Y-%m-%d %H:%M UTC")
            ),
        ));
    }
    out
}

/// `3 h`, `2 days`, `1 year 4 months`.
pub(crate) fn human(d: Duration) -> String {
    let mins = d.num_minutes();
    let days = d.num_days();
    if mins < 120 {
        format!("{mins} min")
    } else if days < 2 {
        format!("{} h", d.num_hours())
    } else if days < 60 {
        format!("{days} days")
    } else if days < 730 {
        format!("{} months", days / 30)
    } else {
        format!("{} years", days / 365)
    }
}
