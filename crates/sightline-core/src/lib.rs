//! Sightline's domain model, with no I/O.
//!
//! The main types are [`EvidenceItem`] (one media file, content-addressed by
//! its SHA-256, [`Sha256`]) and [`Sighting`] (where and when that file was
//! seen and how it was collected). One file seen in three posts is one
//! evidence item with three sightings. Every state change is recorded as an
//! [`AuditEvent`]; the sequence of events is the history from which any
//! catalog can be rebuilt.
//!
//! Later stages hang their results off the same identifiers:
//! [`Fingerprints`], [`Metadata`], [`Derivatives`] (keyframes and the like,
//! kept beside the original), [`Incident`], the machine's [`Assessment`]
//! of which incidents an item shows, and the analyst's [`ReviewDecision`].
//!
//! Serialized forms are stable: field names are part of the on-disk journal
//! format, versioned by [`SCHEMA_VERSION`].

mod derived;
mod event;
mod hash;
mod incident;
mod item;
mod media;
mod metadata;
mod sighting;
mod time;

pub use derived::{Derivative, Derivatives, DerivedKind};
pub use event::{AuditEvent, Event, GENESIS};
pub use hash::{ParseHashError, Sha256, Sha256Hasher};
pub use incident::{
    Assessment, AssessmentFlag, Band, Candidate, Fingerprints, Incident, PdqFingerprint,
    RegionFingerprint, ReviewDecision, ReviewVerdict, VideoFrameHash, valid_incident_id,
};
pub use item::EvidenceItem;
pub use media::MediaKind;
pub use metadata::{
    C2paAction, C2paInfo, C2paIngredient, C2paManifest, C2paStatus, GeoPoint, MetaField, MetaFlag,
    MetaIssue, MetaSummary, MetaTime, Metadata, ThumbnailInfo, VideoMeta, VideoStream,
};
pub use sighting::{OriginKey, Sighting, SightingId, SightingKey, Source, SourceKind, Tool};
pub use time::{PostTime, parse_post_time};

/// Version of the serialized forms in this crate. Bump when a field changes
/// meaning; readers refuse journals written by a newer schema.
pub const SCHEMA_VERSION: u32 = 1;
