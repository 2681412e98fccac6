//! What a catalog promises, whatever database is behind it.

use std::fmt;

use sightline_core::{
    Assessment, AuditEvent, Derivative, Derivatives, EvidenceItem, Fingerprints, Incident,
    Metadata, OriginKey, ReviewDecision, Sha256, Sighting, SightingId,
};

use crate::error::Result;

/// One collected file, ready to be recorded: the item its bytes are (used
/// only if the item is new) and the sighting.
#[derive(Debug, Clone)]
pub struct Record {
    pub item: EvidenceItem,
    pub sighting: Sighting,
    /// Fingerprints of the item's pixels, recorded if the catalog has none
    /// for it yet.
    pub fingerprints: Option<Fingerprints>,
    /// What the file says about itself, recorded if the catalog has none
    /// for the item yet.
    pub metadata: Option<Metadata>,
    /// Files made from the item for analysts (their blobs already stored),
    /// recorded if the catalog has none for the item yet.
    pub derivatives: Option<Derivatives>,
    /// Who is responsible for this change, for the audit trail.
    pub actor: String,
}

/// What recording did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    /// New bytes: an item and its first sighting were created.
    NewItem,
    /// Known bytes seen somewhere new: a sighting was added.
    NewSighting,
    /// This exact sighting was already recorded: nothing changed.
    Duplicate,
}

/// One PDQ hash stored for an item: slot 0 is the whole image, slots 1.. its
/// regions in the order of `Fingerprints::regions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdqEntry {
    pub item: Sha256,
    pub slot: u8,
    pub hash: [u8; 32],
    pub quality: u8,
    /// The region's kind (`RegionFingerprint::kind`); empty for slot 0.
    pub kind: String,
}

/// What saving an incident did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "changed")]
pub enum IncidentSaved {
    Created,
    /// The fields that changed.
    Edited(Vec<String>),
    /// Identical to what was stored: no event written.
    Unchanged,
}

/// A group of items that are near-duplicates of each other.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cluster {
    pub id: u64,
    pub members: Vec<Sha256>,
}

/// Totals for a quick look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub items: u64,
    pub sightings: u64,
    /// Items with fingerprints.
    pub fingerprinted: u64,
    pub events: u64,
}

/// The catalog of evidence items and sightings.
///
/// Contract (checked for every backend by [`crate::contract`]):
/// - `record` is atomic and idempotent: the sighting's id is its
///   idempotency key, stored in the same transaction as the sighting; a
///   second `record` of the same sighting returns [`Recorded::Duplicate`] and
///   changes nothing.
/// - An item is created once, by the first sighting of its bytes; later
///   records never change it.
/// - Every change is an [`AuditEvent`], visible through `history` in order.
/// - When `record` returns `Ok`, the change is durable.
pub trait Catalog: Send + Sync + fmt::Debug {
    fn record(&self, record: Record) -> Result<Recorded>;
    fn item(&self, sha: &Sha256) -> Result<Option<EvidenceItem>>;
    /// Items whose hex address starts with `prefix` (at most `limit`).
    fn items_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EvidenceItem>>;
    /// Every item, ordered by address.
    fn items(&self) -> Result<Box<dyn Iterator<Item = Result<EvidenceItem>> + '_>>;
    fn sighting(&self, id: &SightingId) -> Result<Option<Sighting>>;
    /// The latest sighting recorded at `origin` (a place and post,
    /// whatever the bytes), so a job can skip what it collected before.
    fn sighting_from(&self, origin: &OriginKey) -> Result<Option<SightingId>>;
    /// The item's sightings, ordered by collection time.
    fn sightings_of(&self, sha: &Sha256) -> Result<Vec<Sighting>>;
    /// Every sighting, ordered by id.
    fn sightings(&self) -> Result<Box<dyn Iterator<Item = Result<Sighting>> + '_>>;
    fn counts(&self) -> Result<Counts>;
    fn fingerprints(&self, sha: &Sha256) -> Result<Option<Fingerprints>>;
    /// Record fingerprints for an item that has none (e.g. one preserved
    /// before fingerprinting existed). Returns `false` if it already had some.
    fn add_fingerprints(
        &self,
        item: &Sha256,
        fingerprints: Fingerprints,
        actor: &str,
    ) -> Result<bool>;
    /// The item's metadata, if it was read.
    fn metadata(&self, sha: &Sha256) -> Result<Option<Metadata>>;
    /// Record metadata for an item that has none. Returns `false` if it
    /// already had some.
    fn add_metadata(&self, item: &Sha256, metadata: Metadata, actor: &str) -> Result<bool>;
    /// What was derived from an item (keyframes and the like), if anything.
    fn derivatives(&self, sha: &Sha256) -> Result<Option<Derivatives>>;
    /// Record derivatives (whose blobs are stored) for an item that has
    /// none. Returns `false` if it already had some (they stand).
    fn add_derivatives(&self, item: &Sha256, derivatives: Derivatives, actor: &str)
    -> Result<bool>;
    /// Every derived file, with the item it was made from.
    fn derived_blobs(&self) -> Result<Vec<(Sha256, Derivative)>>;
    /// Every stored PDQ hash, compactly, for building a search index.
    fn pdq_entries(&self) -> Result<Box<dyn Iterator<Item = Result<PdqEntry>> + '_>>;

    /// Put `item` in one cluster with every item in `matches`, merging the
    /// clusters they were in. Clusters are derived from fingerprints (the
    /// same fingerprints always give the same groups), so they are kept as an
    /// index, not as audit events. Clears the item from
    /// `pending_clusters`. Returns the cluster id, or `None` when `matches`
    /// is empty and the item stays alone.
    fn link(&self, item: &Sha256, matches: &[Sha256]) -> Result<Option<u64>>;
    fn cluster_of(&self, sha: &Sha256) -> Result<Option<u64>>;
    /// The members of one cluster, ordered by address.
    fn cluster_members(&self, id: u64) -> Result<Vec<Sha256>>;
    /// Every cluster (two or more members), members ordered by address.
    fn clusters(&self) -> Result<Vec<Cluster>>;
    /// Items fingerprinted but not yet linked (`link` clears them); after a
    /// crash between recording and clustering, these are caught up.
    fn pending_clusters(&self) -> Result<Vec<Sha256>>;
    /// Forget every cluster (before recomputing them).
    fn clear_clusters(&self) -> Result<()>;
    /// Create or replace an incident (by `id`), journaling
    /// `IncidentCreated` or `IncidentEdited`; nothing when unchanged. The
    /// incident must be sound (`Incident::problems` empty).
    fn put_incident(&self, incident: Incident, actor: &str) -> Result<IncidentSaved>;
    fn incident(&self, id: &str) -> Result<Option<Incident>>;
    /// Every incident, ordered by id.
    fn incidents(&self) -> Result<Vec<Incident>>;
    /// Journal an analyst's decision; the item and incident must exist.
    fn decide(&self, decision: ReviewDecision) -> Result<()>;
    /// The latest decision on each incident for an item.
    fn decisions_of(&self, item: &Sha256) -> Result<Vec<ReviewDecision>>;
    /// The latest decision on every decided item–incident pairing.
    fn decisions(&self) -> Result<Vec<ReviewDecision>>;
    /// Store the machine's assessment of an item, replacing the last one.
    /// Derived data, like clusters: not journaled.
    fn put_assessment(&self, assessment: &Assessment) -> Result<()>;
    fn assessment(&self, item: &Sha256) -> Result<Option<Assessment>>;
    /// The audit trail, oldest first, with its chain verified as it is read.
    fn history(&self, each: &mut dyn FnMut(&AuditEvent) -> Result<()>) -> Result<()>;
    /// Make everything recorded so far durable in the catalog's own files
    /// (it already is in its log).
    fn flush(&self) -> Result<()>;
}
