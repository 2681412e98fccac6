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

/// An event that evidence may show: an attack, a blast, a clash. The fields
/// are ACLED's columns, so a registry can go to and from ACLED exports;
/// `id` is `event_id_cnty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    /// The local date of the event.
    pub event_date: NaiveDate,
    /// ACLED time precision: 1 the day is known, 2 the week, 3 the month.
    pub time_precision: u8,
    pub event_type: String,
    pub sub_event_type: String,
    #[serde(default)]
    pub actor1: String,
    #[serde(default)]
    pub actor2: String,
    pub country: String,
    #[serde(default)]
    pub admin1: String,
    #[serde(default)]
    pub admin2: String,
    #[serde(default)]
    pub admin3: String,
    pub location: String,
    pub latitude: f64,
    pub longitude: f64,
    /// ACLED geo precision: 1 the exact place, 2 near it (a part of a city,
    /// a town nearby), 3 the region (province or district).
    pub geo_precision: u8,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fatalities: Option<u32>,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Incident {
    /// An incident known only by its id, date and place: the day is known
    /// (time precision 1), the place is near the point (geo precision 2),
    /// every other column blank.
    pub fn new(
        id: impl Into<String>,
        event_date: NaiveDate,
        location: impl Into<String>,
        latitude: f64,
        longitude: f64,
    ) -> Incident {
        Incident {
            id: id.into(),
            event_date,
            time_precision: 1,
            event_type: String::new(),
            sub_event_type: String::new(),
            actor1: String::new(),
            actor2: String::new(),
            country: String::new(),
            admin1: String::new(),
            admin2: String::new(),
            admin3: String::new(),
            location: location.into(),
            latitude,
            longitude,
            geo_precision: 2,
            source: String::new(),
            notes: String::new(),
            fatalities: None,
            tags: Vec::new(),
        }
    }

    /// What is wrong with this incident as a record, one message per field;
    /// empty when it is sound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !valid_incident_id(&self.id) {
            out.push(format!(
                "event_id_cnty {:?} must be 1 to 64 letters, digits, '-', '_' or '.'",
                self.id
            ));
        }
        if !(1..=3).contains(&self.time_precision) {
            out.push(format!(
                "time_precision {} must be 1 (day), 2 (week) or 3 (month)",
                self.time_precision
            ));
        }
        if !(1..=3).contains(&self.geo_precision) {
            out.push(format!(
                "geo_precision {} must be 1 (exact), 2 (near) or 3 (region)",
                self.geo_precision
            ));
        }
        if !self.latitude.is_finite() || !(-90.0..=90.0).contains(&self.latitude) {
            out.push(format!(
                "latitude {} is not between -90 and 90",
                self.latitude
            ));
        }
        if !self.longitude.is_finite() || !(-180.0..=180.0).contains(&self.longitude) {
            out.push(format!(
                "longitude {} is not between -180 and 180",
                self.longitude
            ));
        }
        if self.latitude == 0.0 && self.longitude == 0.0 {
            out.push("latitude and longitude are both 0 (null island): a missing place".into());
        }
        out
    }
}

/// Incident ids appear in file names, URLs and CSV cells.
pub fn valid_incident_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// How sure the machine is that an item shows an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    Low,
    Medium,
    High,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        match self {
            Band::Low => "low",
            Band::Medium => "medium",
            Band::High => "high",
        }
    }
}

/// One incident an item may show, with the machine's score and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub incident: String,
    /// Probability that the item shows this incident, 0..=1.
    pub score: f64,
    pub band: Band,
    /// One line per factor (time, place, text, cluster).
    pub why: Vec<String>,
    /// An analyst's decision on this pairing, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided: Option<ReviewVerdict>,
}

/// Something an analyst must see about an item before trusting any
/// candidate: recycled footage, a camera clock that disagrees, no time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentFlag {
    /// Stable: `recycled-footage`, `capture-predates-post`, `no-post-time`,
    /// `ambiguous-time-zone`, `decided`.
    pub code: String,
    pub message: String,
}

/// The machine's view of which incidents an item shows. Derived data: it
/// is recomputed whenever incidents, clusters or decisions change, and is
/// not part of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub item: Sha256,
    /// Best first; at most a handful.
    pub candidates: Vec<Candidate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<AssessmentFlag>,
    pub computed_at: DateTime<Utc>,
}

/// What an analyst decided about an item and an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewVerdict {
    Confirm,
    Reject,
    NeedsMoreInfo,
}

impl ReviewVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewVerdict::Confirm => "confirm",
            ReviewVerdict::Reject => "reject",
            ReviewVerdict::NeedsMoreInfo => "needs_more_info",
        }
    }
}

/// One analyst decision on one item–incident pairing. The latest decision
/// on a pairing is the one that counts; earlier ones stay in the journal.
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
