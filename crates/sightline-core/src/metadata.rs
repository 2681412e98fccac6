//! What a file says about itself: [`Metadata`].
//!
//! Every value keeps its origin (container, IFD or namespace, tag) and its
//! raw form; parse problems are recorded per field in
//! [`Metadata::issues`], never silently repaired. The [`MetaSummary`] picks
//! the handful of values analysts read first, each pointing back at the
//! field it came from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Metadata extracted from one file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Every field read, in file order, keyed ExifTool-style (`IFD0:Make`,
    /// `GPS:GPSLatitude`, `XMP-xmp:CreatorTool`, `QuickTime:CreationDate`).
    #[serde(default)]
    pub fields: Vec<MetaField>,
    /// Per-field or per-parser problems: the field is kept raw or left out,
    /// and the rest of the file is still read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<MetaIssue>,
    /// The values analysts read first.
    #[serde(default)]
    pub summary: MetaSummary,
    /// Container facts for audio/video files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoMeta>,
    /// C2PA Content Credentials, when the file carries a manifest store (or
    /// a broken one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c2pa: Option<C2paInfo>,
    /// What an analyst should notice, each with a one-line reason.
    #[serde(default)]
    pub flags: Vec<MetaFlag>,
}

impl Metadata {
    /// The first field with this key.
    pub fn get(&self, key: &str) -> Option<&MetaField> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// Whether a flag with this code is raised.
    pub fn has_flag(&self, code: &str) -> bool {
        self.flags.iter().any(|f| f.code == code)
    }
}

/// One value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaField {
    /// `Group:Tag`, ExifTool's group-1 naming where ExifTool has one.
    pub key: String,
    /// The value as ExifTool prints it with `-n`: strings as written
    /// (trailing NULs removed), numbers as numbers, GPS in decimal degrees,
    /// repeated values as arrays.
    pub value: serde_json::Value,
    /// Where in the file: container, segment, IFD or namespace, tag id,
    /// e.g. `jpeg:APP1/exif/IFD0/0x010f`.
    pub origin: String,
}

/// A problem reading one field or one part of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaIssue {
    /// Where the problem is (same form as [`MetaField::origin`]).
    pub origin: String,
    /// Stable code, e.g. `exif-offset`, `xmp-malformed`, `ffprobe-timeout`.
    pub code: String,
    /// Lowercase, one line.
    pub message: String,
}

/// A date/time as written, with its offset and UTC form when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaTime {
    /// Exactly as written, e.g. `2021:04:11 15:47:53`.
    pub value: String,
    /// Sub-seconds as written, if recorded separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsec: Option<String>,
    /// UTC offset as written (`-05:00`), from the value itself or from the
    /// matching OffsetTime* tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// Normalised UTC, only when an offset is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc: Option<DateTime<Utc>>,
    /// The field key it came from.
    pub origin: String,
}

/// A point on the earth in signed decimal degrees (WGS 84).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<f64>,
}

/// The embedded preview image and how it compares with the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThumbnailInfo {
    /// Where the thumbnail's bytes were found.
    pub origin: String,
    pub length: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// PDQ of the thumbnail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// PDQ Hamming distance from the thumbnail to the main image (0..=256),
    /// orientation taken into account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_distance: Option<u32>,
}

/// The values analysts read first, each chosen from [`Metadata::fields`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetaSummary {
    /// When the picture was taken (DateTimeOriginal, else XMP / QuickTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<MetaTime>,
    /// When the file was digitised / created (CreateDate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<MetaTime>,
    /// Last modification (ModifyDate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<MetaTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<GeoPoint>,
    /// The field key the position came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps_origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lens: Option<String>,
    /// Software / CreatorTool / encoder, whichever names an editor or app.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub software: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orientation: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<ThumbnailInfo>,
}

/// Container-level facts of an audio/video file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoMeta {
    /// Container as ffprobe names it, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    #[serde(default)]
    pub streams: Vec<VideoStream>,
    /// `creation_time` as the container writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    /// The location string as written (ISO 6709 or 3GPP `loci`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_raw: Option<String>,
    /// The field key the location came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_origin: Option<String>,
}

/// One stream of a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoStream {
    pub index: u32,
    /// `video`, `audio`, `subtitle`, `data`.
    pub kind: String,
    pub codec: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Average frame rate, frames per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    /// Display rotation in degrees, from the display matrix or `rotate` tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
}

/// C2PA Content Credentials found in a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct C2paInfo {
    /// The active manifest's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    #[serde(default)]
    pub manifests: Vec<C2paManifest>,
    /// `valid`, `invalid` or `trusted` (C2PA validation state). `valid`
    /// means the signatures and hashes check out; it says nothing about who
    /// signed.
    pub state: String,
    /// Whether the signer chains to a trust list Sightline was given.
    pub signer_trusted: bool,
    /// Validation status entries: failures and, where the SDK reports them,
    /// successes.
    #[serde(default)]
    pub status: Vec<C2paStatus>,
    /// Whether any action or assertion declares generative AI.
    pub ai_generated: bool,
    /// When the manifest store could not be read at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One manifest in a C2PA manifest store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct C2paManifest {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_generator: Option<String>,
    /// Signer as named in the certificate (common name / organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    #[serde(default)]
    pub actions: Vec<C2paAction>,
    #[serde(default)]
    pub ingredients: Vec<C2paIngredient>,
}

/// One `c2pa.actions` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct C2paAction {
    /// e.g. `c2pa.created`, `c2pa.edited`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_agent: Option<String>,
    /// IPTC digital source type URI, e.g. `…/trainedAlgorithmicMedia`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

/// One ingredient (a file this one was made from).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct C2paIngredient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `parentOf`, `componentOf`, `inputTo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
    /// Label of the ingredient's own manifest, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// One validation status entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct C2paStatus {
    /// C2PA status code, e.g. `claimSignature.validated`,
    /// `assertion.dataHash.mismatch`.
    pub code: String,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// One thing an analyst should notice about a file's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFlag {
    /// Stable code, e.g. `metadata-stripped`.
    pub code: String,
    /// One line saying why.
    pub reason: String,
}
