//! Files made *from* an original for analysts (keyframes, thumbnails, a
//! contact sheet). They live in the same content-addressed blob store as
//! originals but are never evidence themselves: the original is never
//! replaced, and every derivative names the original and the tool that
//! made it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Sha256;

/// What a derivative is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DerivedKind {
    /// A still of one moment of a video, at a readable size.
    Keyframe,
    /// A small version of a keyframe.
    Thumbnail,
    /// Every keyframe's thumbnail on one image, labelled with its time.
    ContactSheet,
}

impl DerivedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DerivedKind::Keyframe => "keyframe",
            DerivedKind::Thumbnail => "thumbnail",
            DerivedKind::ContactSheet => "contact_sheet",
        }
    }
}

/// One derived file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derivative {
    pub kind: DerivedKind,
    /// Address of its bytes in the blob store.
    pub sha256: Sha256,
    pub size: u64,
    pub media_type: String,
    pub width: u32,
    pub height: u32,
    /// Where in the video (keyframes and their thumbnails), milliseconds
    /// from the first frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<u64>,
    /// Why this moment was chosen: `first`, `cut`, `drift`, `gap`, `last`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything derived from one original, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derivatives {
    /// The program, its version and settings (`sightline 0.1.0 keyframes:
    /// 4 samples/s, ...`).
    pub made_by: String,
    pub made_at: DateTime<Utc>,
    /// In time order: each keyframe followed by its thumbnail; the contact
    /// sheet last.
    pub files: Vec<Derivative>,
    /// More shot changes were found than were kept.
    #[serde(default)]
    pub capped: bool,
}

impl Derivatives {
    /// The files of one kind, in order.
    pub fn of_kind(&self, kind: DerivedKind) -> impl Iterator<Item = &Derivative> {
        self.files.iter().filter(move |f| f.kind == kind)
    }
}
