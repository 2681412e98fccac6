//! Types that later stages fill in. They are defined here, at the bottom of
//! the dependency graph, so every crate speaks of them the same way.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Sha256;

/// A PDQ hash with its quality, as ThreatExchange exchanges them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PdqFingerprint {
    /// 64 hex characters, as the reference `Hash256::format()` prints them.
    pub hash: String,
    /// 0..=100; matches are trusted only at 50 and above.
    pub quality: u8,
}

/// A hash of part of an image (the photo inside a screenshot, the picture
/// without its letterbox bars), with where that part is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionFingerprint {
    /// What the region is: `borderless`, `screenshot-photo`, `centre-80`,
    /// `centre-60`.
    pub kind: String,
    /// x, y, width, height in pixels of the decoded image.
    pub rect: [u32; 4],
    pub pdq: PdqFingerprint,
    /// The region's seven other dihedral hashes (mirrored crops).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dihedral: Vec<String>,
}

/// One sampled video frame's PDQ, as the reference vPDQ writes it
/// (`frame,quality,hash,timestamp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFrameHash {
    /// Index of the frame in the decoded stream.
    pub frame: u32,
    pub quality: u8,
    /// PDQ, 64 hex digits.
    pub hash: String,
    /// Presentation time in milliseconds (the reference prints seconds
    /// with three decimals).
    pub timestamp_ms: u64,
}

/// Perceptual fingerprints of an image's pixels, or of a video's sampled
/// frames (`vpdq`; then `pdq` is the best-quality frame and `regions` hold
/// the distinct frame hashes as `frame@<seconds>`, so photos and other
/// videos are matched against frames by the same index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprints {
    /// How the pixels were decoded for hashing: `te` is exactly what the
    /// reference tooling (python-threatexchange) decodes.
    pub mode: String,
    pub width: u32,
    pub height: u32,
    /// Frames in an animated image (the first is hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// EXIF orientation found in the file; recorded, not applied (as the
    /// reference does not apply it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u16>,
    pub pdq: PdqFingerprint,
    /// PDQ of the seven other dihedral transforms: r90, r180, r270, flipx,
    /// flipy, flipplus1, flipminus1.
    pub pdq_dihedral: Vec<String>,
    pub ahash: String,
    pub dhash: String,
    pub phash: String,
    pub blockhash: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionFingerprint>,
    /// Video only: every sampled frame (1 per second by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpdq: Vec<VideoFrameHash>,
    /// Video only: duration in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Video only: PDQ of frames sampled densely (4 per second, `frame` is
    /// the sample number) at a reduced size, used only as *queries* when
    /// matching: whatever the phase of another copy's 1 s frames, one of
    /// these lies within an eighth of a second of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_frames: Vec<VideoFrameHash>,
}

/// An event that evidence may show; ACLED-compatible, `id` is `event_id_cnty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub event_date: NaiveDate,
    /// ACLED time precision: 1 day, 2 week, 3 month.
    pub time_precision: u8,
    pub event_type: String,
    pub sub_event_type: String,
    pub country: String,
    pub location: String,
    pub latitude: f64,
    pub longitude: f64,
    /// ACLED geo precision: 1 exact place, 2 near, 3 region.
    pub geo_precision: u8,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The state of a link between an evidence item and an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentStatus {
    /// Proposed by the machine, not yet looked at.
    Candidate,
    /// An analyst confirmed it.
    Confirmed,
    /// An analyst rejected it.
    Rejected,
}

/// Evidence item ↔ incident, with the machine's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub evidence: Sha256,
    pub incident: String,
    pub status: AttachmentStatus,
    /// Calibrated 0..=1.
    pub score: f32,
}

/// What an analyst decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    Confirm,
    Reject,
    NeedsMoreInfo,
}

/// One analyst decision on one attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDecision {
    pub evidence: Sha256,
    pub incident: String,
    pub verdict: ReviewVerdict,
    pub analyst: String,
    #[serde(default)]
    pub note: String,
    pub at: DateTime<Utc>,
}
