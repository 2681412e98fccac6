use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{MediaKind, Sha256};

/// One media file, preserved byte for byte and addressed by its SHA-256.
///
/// The item holds only what is true of the bytes themselves; where and when
/// they were seen lives in [`crate::Sighting`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceItem {
    /// SHA-256 of the original bytes; the item's id and its blob's address.
    pub sha256: Sha256,
    /// Size of the original in bytes.
    pub size: u64,
    pub kind: MediaKind,
    /// Container format recognised from the content (`jpeg`, `mp4`, ...).
    pub format: String,
    /// MIME type of that format.
    pub media_type: String,
    /// Pixel dimensions when the container states them in its header.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Bytes found after the format's end marker (data appended to an image).
    #[serde(default)]
    pub trailing_bytes: u64,
    /// Damage that decoders tolerate (so the file was kept) but an analyst
    /// should know about, one line each, as found when first preserved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// When the first sighting of these bytes was collected.
    pub first_collected_at: DateTime<Utc>,
}
