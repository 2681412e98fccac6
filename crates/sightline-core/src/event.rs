use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Derivatives, EvidenceItem, Fingerprints, Incident, Metadata, ReviewDecision, Sha256, Sighting,
};

/// The `prev` of the first event in a journal.
pub const GENESIS: Sha256 = Sha256([0; 32]);

/// Something that changed the state of the catalog, with who did it and
/// when. Events are numbered and chained: `prev` is the SHA-256 of the
/// previous event's serialized line, so editing or dropping any past event
/// breaks every later link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub schema: u32,
    /// 1 for the first event, then +1 each.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The operator or analyst responsible.
    pub actor: String,
    pub prev: Sha256,
    /// True when the next event belongs to the same transaction. A
    /// transaction counts only once its last event (the one with `more`
    /// false) is complete; a journal cut inside one is cut back to before it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: bool,
    pub event: Event,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The state changes Sightline knows. New kinds are added as capabilities
/// land; existing kinds never change meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// New bytes were preserved and an evidence item created for them.
    ItemPreserved { item: EvidenceItem },
    /// The item was seen somewhere (again).
    SightingRecorded { sighting: Box<Sighting> },
    /// The item's pixels were fingerprinted.
    FingerprintsComputed {
        item: Sha256,
        fingerprints: Box<Fingerprints>,
    },
    /// What the item's file says about itself was read (EXIF, XMP,
    /// container, C2PA) with the flags it raises.
    MetadataExtracted {
        item: Sha256,
        metadata: Box<Metadata>,
    },
    /// Files for analysts were made from the item (video keyframes,
    /// thumbnails, a contact sheet) and stored beside it.
    DerivativesMade {
        item: Sha256,
        derivatives: Box<Derivatives>,
    },
    /// An incident entered the registry (imported, typed in, or accepted
    /// from a proposal).
    IncidentCreated { incident: Box<Incident> },
    /// An incident was changed; `incident` is its new state and `changed`
    /// names the fields that differ from the old one.
    IncidentEdited {
        incident: Box<Incident>,
        changed: Vec<String>,
    },
    /// An analyst decided whether an item shows an incident.
    ReviewDecided { decision: ReviewDecision },
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::ItemPreserved { .. } => "item_preserved",
            Event::SightingRecorded { .. } => "sighting_recorded",
            Event::FingerprintsComputed { .. } => "fingerprints_computed",
            Event::MetadataExtracted { .. } => "metadata_extracted",
            Event::DerivativesMade { .. } => "derivatives_made",
            Event::IncidentCreated { .. } => "incident_created",
            Event::IncidentEdited { .. } => "incident_edited",
            Event::ReviewDecided { .. } => "review_decided",
        }
    }
}
