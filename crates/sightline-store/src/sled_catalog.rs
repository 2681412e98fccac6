//! The embedded catalog: a journal that is the source of truth, and a sled
//! database of indexes derived from it.
//!
//! Write path (`record`), under one writer lock:
//! 1. decide from sled what the record adds (nothing, a sighting, or an item
//!    and a sighting);
//! 2. append those events to the journal and fsync — the commit point;
//! 3. apply them to sled in one transaction that also stores the journal
//!    position they end at.
//!
//! On open, any journal events past sled's stored position are applied, so a
//! crash between 2 and 3 loses nothing and applies nothing twice.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::Utc;
use sightline_core::{
    Assessment, AuditEvent, Derivative, Derivatives, Event, EvidenceItem, Fingerprints, Incident,
    Metadata, OriginKey, ReviewDecision, Sha256, Sighting, SightingId,
};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::catalog::{Catalog, Cluster, Counts, IncidentSaved, PdqEntry, Record, Recorded};
use crate::error::{Result, StoreError};
use crate::journal::{self, Entry, Journal, Position};

const POSITION_KEY: &[u8] = b"journal_position";
const NEXT_CLUSTER_KEY: &[u8] = b"next_cluster";
const REPLAY_BATCH: usize = 512;

/// The embedded catalog. Open it through [`crate::Store::open_embedded`],
/// which also holds the data dir's lock.
#[derive(Debug)]
pub struct SledCatalog {
    db: sled::Db,
    trees: Trees,
    journal: Mutex<Journal>,
    journal_path: PathBuf,
}

/// The derived indexes.
#[derive(Debug)]
struct Trees {
    /// sha256 → `EvidenceItem` JSON
    items: sled::Tree,
    /// sighting id → `Sighting` JSON
    sightings: sled::Tree,
    /// item sha256 ‖ sighting id → ()
    by_item: sled::Tree,
    /// origin key (where and in which post, see `SightingKey::origin`) →
    /// the latest sighting id recorded there
    origins: sled::Tree,
    /// item sha256 → `Fingerprints` JSON
    fingerprints: sled::Tree,
    /// item sha256 → `Metadata` JSON
    metadata: sled::Tree,
    /// item sha256 → `Derivatives` JSON
    derived: sled::Tree,
    /// item sha256 ‖ slot → PDQ hash (32 bytes) ‖ quality (1 byte) ‖ kind
    pdq: sled::Tree,
    /// `journal_position` → `Position` JSON; `next_cluster` → u64 BE
    meta: sled::Tree,
    /// The incident registry and analysts' decisions:
    /// `i` ‖ 0 ‖ incident id → `Incident` JSON;
    /// `d` ‖ 0 ‖ item sha256 ‖ incident id → the latest `ReviewDecision` JSON
    registry: sled::Tree,
    /// Derived, not journaled: item sha256 → `Assessment` JSON
    assessments: sled::Tree,
    /// Derived from fingerprints, not from the journal:
    /// item sha256 → cluster id (u64 BE)
    cluster_of: sled::Tree,
    /// cluster id (u64 BE) ‖ item sha256 → ()
    cluster_members: sled::Tree,
    /// item sha256 → (): fingerprinted but not yet clustered. Written with
    /// the fingerprints, cleared with the cluster link, so a crash between
    /// the two is caught up later (an outbox).
    pending_cluster: sled::Tree,
}

fn db_err(e: sled::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

impl SledCatalog {
    /// Open the catalog in `db_dir`, with its journal at `journal_path`,
    /// catching up on any journal events the database has not applied.
    pub fn open(db_dir: &Path, journal_path: &Path) -> Result<SledCatalog> {
        let db = sled::Config::new()
            .path(db_dir)
            .mode(sled::Mode::HighThroughput)
            .open()
            .map_err(db_err)?;
        let tree = |name: &str| db.open_tree(name).map_err(db_err);
        let trees = Trees {
            items: tree("items")?,
            sightings: tree("sightings")?,
            by_item: tree("item_sightings")?,
            origins: tree("origins")?,
            fingerprints: tree("fingerprints")?,
            metadata: tree("metadata")?,
            derived: tree("derived")?,
            pdq: tree("pdq")?,
            meta: tree("meta")?,
            registry: tree("registry")?,
            assessments: tree("assessments")?,
            cluster_of: tree("cluster_of")?,
            cluster_members: tree("cluster_members")?,
            pending_cluster: tree("pending_cluster")?,
        };
        let applied = trees.applied()?;
        let mut batch = Vec::with_capacity(REPLAY_BATCH);
        let journal = Journal::open(journal_path, applied, |entry| {
            batch.push(entry);
            if batch.len() == REPLAY_BATCH {
                trees.apply(&batch)?;
                batch.clear();
            }
            Ok(())
        })?;
        trees.apply(&batch)?;
        trees.backfill_origins()?;
        if journal.end() != applied {
            db.flush().map_err(db_err)?;
        }
        Ok(SledCatalog {
            db,
            trees,
            journal: Mutex::new(journal),
            journal_path: journal_path.to_path_buf(),
        })
    }

    /// Events in the journal that this catalog has applied.
    pub fn applied(&self) -> Result<Position> {
        self.trees.applied()
    }

    /// The one writer: holds the journal.
    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Journal>> {
        self.journal
            .lock()
            .map_err(|_| StoreError::Database("journal lock poisoned".into()))
    }

    /// Append `event` about an existing `item` unless `tree` already holds
    /// something for it (the first record stands): `Ok(false)` then.
    fn add_once(
        &self,
        tree: &sled::Tree,
        item: &Sha256,
        verb: &str,
        event: Event,
        actor: &str,
    ) -> Result<bool> {
        let mut journal = self.writer()?;
        if !self.trees.items.contains_key(item.0).map_err(db_err)? {
            return Err(StoreError::Invalid(format!("no item {item} to {verb}")));
        }
        if tree.contains_key(item.0).map_err(db_err)? {
            return Ok(false);
        }
        let entries = journal.append(actor, Utc::now(), vec![event])?;
        self.trees.apply(&entries)?;
        Ok(true)
    }

    fn get_json<T: serde::de::DeserializeOwned>(
        tree: &sled::Tree,
        key: &[u8],
    ) -> Result<Option<T>> {
        match tree.get(key).map_err(db_err)? {
            Some(v) => Ok(Some(serde_json::from_slice(&v)?)),
            None => Ok(None),
        }
    }
}

impl Trees {
    fn applied(&self) -> Result<Position> {
        match self.meta.get(POSITION_KEY).map_err(db_err)? {
            Some(v) => Ok(serde_json::from_slice(&v)?),
            None => Ok(Position::START),
        }
    }

    /// Apply journal entries to the indexes in one transaction, together
    /// with the position after the last of them.
    fn apply(&self, entries: &[Entry]) -> Result<()> {
        let Some(last) = entries.last() else {
            return Ok(());
        };
        let position = serde_json::to_vec(&last.after)?;
        let mut encoded = Vec::with_capacity(entries.len());
        for e in entries {
            encoded.push(Encoded::of(&e.event.event)?);
        }
        let result = (
            &self.items,
            &self.sightings,
            &self.by_item,
            &self.fingerprints,
            &self.pdq,
            &self.pending_cluster,
            &self.meta,
            &self.metadata,
            &self.derived,
            &self.origins,
            &self.registry,
        )
            .transaction(
                |(
                    items,
                    sightings,
                    by_item,
                    fingerprints,
                    pdq,
                    pending,
                    meta,
                    metadata,
                    derived,
                    origins,
                    registry,
                )| {
                    let views = Views {
                        items,
                        sightings,
                        by_item,
                        origins,
                        fingerprints,
                        pdq,
                        pending,
                        metadata,
                        derived,
                        registry,
                    };
                    for e in &encoded {
                        e.apply(&views)?;
                    }
                    meta.insert(POSITION_KEY, position.as_slice())?;
                    Ok(())
                },
            );
        result.map_err(tx_err)
    }
}

impl Trees {
    /// A catalog made before the origins index existed gets it from its
    /// sightings, once.
    fn backfill_origins(&self) -> Result<()> {
        if !self.origins.is_empty() || self.sightings.is_empty() {
            return Ok(());
        }
        for kv in self.sightings.iter() {
            let (k, v) = kv.map_err(db_err)?;
            let s: Sighting = serde_json::from_slice(&v)?;
            self.origins
                .insert(s.key().origin().0.0, k)
                .map_err(db_err)?;
        }
        Ok(())
    }
}

fn tx_err(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => db_err(e),
    }
}

/// The journal-derived trees inside one transaction.
struct Views<'a> {
    items: &'a TransactionalTree,
    sightings: &'a TransactionalTree,
    by_item: &'a TransactionalTree,
    origins: &'a TransactionalTree,
    fingerprints: &'a TransactionalTree,
    pdq: &'a TransactionalTree,
    pending: &'a TransactionalTree,
    metadata: &'a TransactionalTree,
    derived: &'a TransactionalTree,
    registry: &'a TransactionalTree,
}

fn incident_key(id: &str) -> Vec<u8> {
    let mut k = b"i\0".to_vec();
    k.extend_from_slice(id.as_bytes());
    k
}

fn decision_key(item: &Sha256, incident: &str) -> Vec<u8> {
    let mut k = b"d\0".to_vec();
    k.extend_from_slice(&item.0);
    k.extend_from_slice(incident.as_bytes());
    k
}

/// The fields of two incidents that differ, by their serialized names.
fn changed_fields(old: &Incident, new: &Incident) -> Result<Vec<String>> {
    let (serde_json::Value::Object(a), serde_json::Value::Object(b)) =
        (serde_json::to_value(old)?, serde_json::to_value(new)?)
    else {
        return Ok(Vec::new());
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    Ok(keys
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect())
}

fn pdq_key(item: &Sha256, slot: u8) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[..32].copy_from_slice(&item.0);
    k[32] = slot;
    k
}

/// The compact PDQ rows of a set of fingerprints: whole image, then regions.
/// Row value: hash (32) ‖ quality (1) ‖ region kind (UTF-8, at most 64
/// bytes; empty for the whole image), so loading an index decodes nothing.
fn pdq_rows(item: &Sha256, fp: &Fingerprints) -> Vec<([u8; 33], Vec<u8>)> {
    let mut rows = Vec::new();
    let whole = std::iter::once((&fp.pdq, ""));
    let regions = fp.regions.iter().map(|r| (&r.pdq, r.kind.as_str()));
    for (slot, (pdq, kind)) in whole.chain(regions).enumerate() {
        let mut v = vec![0u8; 33];
        if slot > u8::MAX as usize || hex::decode_to_slice(&pdq.hash, &mut v[..32]).is_err() {
            continue;
        }
        v[32] = pdq.quality;
        let mut end = kind.len().min(64);
        while !kind.is_char_boundary(end) {
            end -= 1;
        }
        v.extend_from_slice(&kind.as_bytes()[..end]);
        rows.push((pdq_key(item, slot as u8), v));
    }
    rows
}

/// An event reduced to the key/value writes it makes.
enum Encoded {
    Fingerprints {
        item: [u8; 32],
        value: Vec<u8>,
        rows: Vec<([u8; 33], Vec<u8>)>,
    },
    Item {
        key: [u8; 32],
        value: Vec<u8>,
    },
    Metadata {
        item: [u8; 32],
        value: Vec<u8>,
    },
    Derived {
        item: [u8; 32],
        value: Vec<u8>,
    },
    Sighting {
        id: [u8; 32],
        item: [u8; 32],
        origin: [u8; 32],
        value: Vec<u8>,
    },
    /// An incident's new state, or an item–incident pairing's latest
    /// decision: the last one written stands.
    Registry {
        key: Vec<u8>,
        value: Vec<u8>,
    },
}

impl Encoded {
    fn of(event: &Event) -> Result<Encoded> {
        Ok(match event {
            Event::ItemPreserved { item } => Encoded::Item {
                key: item.sha256.0,
                value: serde_json::to_vec(item)?,
            },
            Event::SightingRecorded { sighting } => Encoded::Sighting {
                id: sighting.id.0.0,
                item: sighting.item.0,
                origin: sighting.key().origin().0.0,
                value: serde_json::to_vec(sighting)?,
            },
            Event::FingerprintsComputed { item, fingerprints } => Encoded::Fingerprints {
                item: item.0,
                value: serde_json::to_vec(fingerprints)?,
                rows: pdq_rows(item, fingerprints),
            },
            Event::MetadataExtracted { item, metadata } => Encoded::Metadata {
                item: item.0,
                value: serde_json::to_vec(metadata)?,
            },
            Event::DerivativesMade { item, derivatives } => Encoded::Derived {
                item: item.0,
                value: serde_json::to_vec(derivatives)?,
            },
            Event::IncidentCreated { incident } | Event::IncidentEdited { incident, .. } => {
                Encoded::Registry {
                    key: incident_key(&incident.id),
                    value: serde_json::to_vec(incident)?,
                }
            }
            Event::ReviewDecided { decision } => Encoded::Registry {
                key: decision_key(&decision.evidence, &decision.incident),
                value: serde_json::to_vec(decision)?,
            },
        })
    }

    fn apply(
        &self,
        v: &Views<'_>,
    ) -> std::result::Result<(), ConflictableTransactionError<StoreError>> {
        let (items, sightings, by_item) = (v.items, v.sightings, v.by_item);
        match self {
            // The first fingerprints recorded for an item stand.
            Encoded::Fingerprints { item, value, rows } => {
                if v.fingerprints.get(item)?.is_none() {
                    v.fingerprints.insert(&item[..], value.as_slice())?;
                    for (k, row) in rows {
                        v.pdq.insert(&k[..], row.as_slice())?;
                    }
                    v.pending.insert(&item[..], &[][..])?;
                }
            }
            // The first metadata recorded for an item stands.
            Encoded::Metadata { item, value } => {
                if v.metadata.get(item)?.is_none() {
                    v.metadata.insert(&item[..], value.as_slice())?;
                }
            }
            // The first derivatives recorded for an item stand.
            Encoded::Derived { item, value } => {
                if v.derived.get(item)?.is_none() {
                    v.derived.insert(&item[..], value.as_slice())?;
                }
            }
            // Replaying must be idempotent: an item is written only once.
            Encoded::Item { key, value } => {
                if items.get(key)?.is_none() {
                    items.insert(&key[..], value.as_slice())?;
                }
            }
            Encoded::Registry { key, value } => {
                v.registry.insert(key.as_slice(), value.as_slice())?;
            }
            Encoded::Sighting {
                id,
                item,
                origin,
                value,
            } => {
                sightings.insert(&id[..], value.as_slice())?;
                v.origins.insert(&origin[..], &id[..])?;
                let mut k = [0u8; 64];
                k[..32].copy_from_slice(item);
                k[32..].copy_from_slice(id);
                by_item.insert(&k[..], &[][..])?;
            }
        }
        Ok(())
    }
}

impl Catalog for SledCatalog {
    fn record(&self, record: Record) -> Result<Recorded> {
        let Record {
            item,
            sighting,
            fingerprints,
            metadata,
            derivatives,
            actor,
        } = record;
        if sighting.item != item.sha256 {
            return Err(StoreError::Invalid(format!(
                "sighting {} is of {} but the item is {}",
                sighting.id.short(),
                sighting.item.short(),
                item.sha256.short()
            )));
        }
        if sighting.key().id() != sighting.id {
            return Err(StoreError::Invalid(format!(
                "sighting id {} does not match its key",
                sighting.id.short()
            )));
        }
        let mut journal = self.writer()?;
        if self
            .trees
            .sightings
            .contains_key(sighting.id.0.0)
            .map_err(db_err)?
        {
            return Ok(Recorded::Duplicate);
        }
        let new_item = !self
            .trees
            .items
            .contains_key(item.sha256.0)
            .map_err(db_err)?;
        let sha = item.sha256;
        let mut events = Vec::with_capacity(3);
        if new_item {
            events.push(Event::ItemPreserved { item });
        }
        events.push(Event::SightingRecorded {
            sighting: Box::new(sighting),
        });
        if let Some(fp) = fingerprints
            && !self
                .trees
                .fingerprints
                .contains_key(sha.0)
                .map_err(db_err)?
        {
            events.push(Event::FingerprintsComputed {
                item: sha,
                fingerprints: Box::new(fp),
            });
        }
        if let Some(m) = metadata
            && !self.trees.metadata.contains_key(sha.0).map_err(db_err)?
        {
            events.push(Event::MetadataExtracted {
                item: sha,
                metadata: Box::new(m),
            });
        }
        if let Some(d) = derivatives
            && !self.trees.derived.contains_key(sha.0).map_err(db_err)?
        {
            events.push(Event::DerivativesMade {
                item: sha,
                derivatives: Box::new(d),
            });
        }
        let entries = journal.append(&actor, Utc::now(), events)?;
        self.trees.apply(&entries)?;
        Ok(if new_item {
            Recorded::NewItem
        } else {
            Recorded::NewSighting
        })
    }

    fn item(&self, sha: &Sha256) -> Result<Option<EvidenceItem>> {
        Self::get_json(&self.trees.items, &sha.0)
    }

    fn items_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EvidenceItem>> {
        let prefix = prefix.to_ascii_lowercase();
        if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Ok(Vec::new());
        }
        // Scan from the whole bytes the prefix fixes, then filter on the
        // odd nibble if there is one.
        let whole = hex::decode(&prefix[..prefix.len() / 2 * 2]).unwrap_or_default();
        let mut out = Vec::new();
        for kv in self.trees.items.scan_prefix(&whole) {
            let (k, v) = kv.map_err(db_err)?;
            if hex::encode(&k).starts_with(&prefix) {
                out.push(serde_json::from_slice(&v)?);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn items(&self) -> Result<Box<dyn Iterator<Item = Result<EvidenceItem>> + '_>> {
        Ok(Box::new(self.trees.items.iter().map(|kv| {
            let (_, v) = kv.map_err(db_err)?;
            Ok(serde_json::from_slice(&v)?)
        })))
    }

    fn sighting(&self, id: &SightingId) -> Result<Option<Sighting>> {
        Self::get_json(&self.trees.sightings, &id.0.0)
    }

    fn sighting_from(&self, origin: &OriginKey) -> Result<Option<SightingId>> {
        Ok(self
            .trees
            .origins
            .get(origin.0.0)
            .map_err(db_err)?
            .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok())
            .map(|id| SightingId(Sha256(id))))
    }

    fn sightings_of(&self, sha: &Sha256) -> Result<Vec<Sighting>> {
        let mut out: Vec<Sighting> = Vec::new();
        for kv in self.trees.by_item.scan_prefix(sha.0) {
            let (k, _) = kv.map_err(db_err)?;
            let id = &k[32..];
            match Self::get_json(&self.trees.sightings, id)? {
                Some(s) => out.push(s),
                None => {
                    return Err(StoreError::Database(format!(
                        "index names sighting {} which is missing",
                        hex::encode(id)
                    )));
                }
            }
        }
        out.sort_by_key(|s| (s.collected_at, s.id));
        Ok(out)
    }

    fn sightings(&self) -> Result<Box<dyn Iterator<Item = Result<Sighting>> + '_>> {
        Ok(Box::new(self.trees.sightings.iter().map(|kv| {
            let (_, v) = kv.map_err(db_err)?;
            Ok(serde_json::from_slice(&v)?)
        })))
    }

    fn counts(&self) -> Result<Counts> {
        Ok(Counts {
            items: self.trees.items.len() as u64,
            sightings: self.trees.sightings.len() as u64,
            fingerprinted: self.trees.fingerprints.len() as u64,
            events: self.applied()?.seq,
        })
    }

    fn put_incident(&self, incident: Incident, actor: &str) -> Result<IncidentSaved> {
        let problems = incident.problems();
        if !problems.is_empty() {
            return Err(StoreError::Invalid(format!(
                "incident {}: {}",
                incident.id,
                problems.join("; ")
            )));
        }
        let mut journal = self.writer()?;
        let old: Option<Incident> =
            Self::get_json(&self.trees.registry, &incident_key(&incident.id))?;
        let (event, saved) = match old {
            None => (
                Event::IncidentCreated {
                    incident: Box::new(incident),
                },
                IncidentSaved::Created,
            ),
            Some(old) => {
                let changed = changed_fields(&old, &incident)?;
                if changed.is_empty() {
                    return Ok(IncidentSaved::Unchanged);
                }
                (
                    Event::IncidentEdited {
                        incident: Box::new(incident),
                        changed: changed.clone(),
                    },
                    IncidentSaved::Edited(changed),
                )
            }
        };
        let entries = journal.append(actor, Utc::now(), vec![event])?;
        self.trees.apply(&entries)?;
        Ok(saved)
    }

    fn incident(&self, id: &str) -> Result<Option<Incident>> {
        Self::get_json(&self.trees.registry, &incident_key(id))
    }

    fn incidents(&self) -> Result<Vec<Incident>> {
        let mut out = Vec::new();
        for kv in self.trees.registry.scan_prefix(b"i\0") {
            let (_, v) = kv.map_err(db_err)?;
            out.push(serde_json::from_slice(&v)?);
        }
        Ok(out)
    }

    fn decide(&self, decision: ReviewDecision) -> Result<()> {
        let mut journal = self.writer()?;
        if !self
            .trees
            .items
            .contains_key(decision.evidence.0)
            .map_err(db_err)?
        {
            return Err(StoreError::Invalid(format!(
                "no item {} to decide on",
                decision.evidence
            )));
        }
        if !self
            .trees
            .registry
            .contains_key(incident_key(&decision.incident))
            .map_err(db_err)?
        {
            return Err(StoreError::Invalid(format!(
                "no incident {}",
                decision.incident
            )));
        }
        let actor = decision.analyst.clone();
        let entries =
            journal.append(&actor, Utc::now(), vec![Event::ReviewDecided { decision }])?;
        self.trees.apply(&entries)?;
        Ok(())
    }

    fn decisions_of(&self, item: &Sha256) -> Result<Vec<ReviewDecision>> {
        let mut prefix = b"d\0".to_vec();
        prefix.extend_from_slice(&item.0);
        let mut out = Vec::new();
        for kv in self.trees.registry.scan_prefix(prefix) {
            let (_, v) = kv.map_err(db_err)?;
            out.push(serde_json::from_slice(&v)?);
        }
        Ok(out)
    }

    fn decisions(&self) -> Result<Vec<ReviewDecision>> {
        let mut out = Vec::new();
        for kv in self.trees.registry.scan_prefix(b"d\0") {
            let (_, v) = kv.map_err(db_err)?;
            out.push(serde_json::from_slice(&v)?);
        }
        Ok(out)
    }

    fn put_assessment(&self, assessment: &Assessment) -> Result<()> {
        self.trees
            .assessments
            .insert(assessment.item.0, serde_json::to_vec(assessment)?)
            .map_err(db_err)?;
        Ok(())
    }

    fn assessment(&self, item: &Sha256) -> Result<Option<Assessment>> {
        Self::get_json(&self.trees.assessments, &item.0)
    }

    fn history(&self, each: &mut dyn FnMut(&AuditEvent) -> Result<()>) -> Result<()> {
        // Hold the writer lock so the file is not growing under the reader.
        let _guard = self
            .journal
            .lock()
            .map_err(|_| StoreError::Database("journal lock poisoned".into()))?;
        journal::read_from(&self.journal_path, Position::START, |e| each(&e.event))?;
        Ok(())
    }

    fn fingerprints(&self, sha: &Sha256) -> Result<Option<Fingerprints>> {
        Self::get_json(&self.trees.fingerprints, &sha.0)
    }

    fn add_fingerprints(
        &self,
        item: &Sha256,
        fingerprints: Fingerprints,
        actor: &str,
    ) -> Result<bool> {
        let event = Event::FingerprintsComputed {
            item: *item,
            fingerprints: Box::new(fingerprints),
        };
        self.add_once(&self.trees.fingerprints, item, "fingerprint", event, actor)
    }

    fn metadata(&self, sha: &Sha256) -> Result<Option<Metadata>> {
        Self::get_json(&self.trees.metadata, &sha.0)
    }

    fn add_metadata(&self, item: &Sha256, metadata: Metadata, actor: &str) -> Result<bool> {
        let event = Event::MetadataExtracted {
            item: *item,
            metadata: Box::new(metadata),
        };
        self.add_once(&self.trees.metadata, item, "describe", event, actor)
    }

    fn derivatives(&self, sha: &Sha256) -> Result<Option<Derivatives>> {
        Self::get_json(&self.trees.derived, &sha.0)
    }

    fn add_derivatives(
        &self,
        item: &Sha256,
        derivatives: Derivatives,
        actor: &str,
    ) -> Result<bool> {
        let event = Event::DerivativesMade {
            item: *item,
            derivatives: Box::new(derivatives),
        };
        self.add_once(&self.trees.derived, item, "derive from", event, actor)
    }

    fn derived_blobs(&self) -> Result<Vec<(Sha256, Derivative)>> {
        let mut out = Vec::new();
        for kv in self.trees.derived.iter() {
            let (k, v) = kv.map_err(db_err)?;
            let mut item = [0u8; 32];
            if k.len() != 32 {
                return Err(StoreError::Database("malformed derived row".into()));
            }
            item.copy_from_slice(&k);
            let d: Derivatives = serde_json::from_slice(&v)?;
            out.extend(d.files.into_iter().map(|f| (Sha256(item), f)));
        }
        Ok(out)
    }

    fn pdq_entries(&self) -> Result<Box<dyn Iterator<Item = Result<PdqEntry>> + '_>> {
        Ok(Box::new(self.trees.pdq.iter().map(|kv| {
            let (k, v) = kv.map_err(db_err)?;
            if k.len() != 33 || v.len() < 33 {
                return Err(StoreError::Database("malformed pdq row".into()));
            }
            let mut item = [0u8; 32];
            item.copy_from_slice(&k[..32]);
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&v[..32]);
            Ok(PdqEntry {
                item: Sha256(item),
                slot: k[32],
                hash,
                quality: v[32],
                kind: String::from_utf8_lossy(&v[33..]).into_owned(),
            })
        })))
    }

    fn link(&self, item: &Sha256, matches: &[Sha256]) -> Result<Option<u64>> {
        let _writer = self.writer()?;
        let t = &self.trees;
        if matches.iter().all(|m| m == item) {
            t.pending_cluster.remove(item.0).map_err(db_err)?;
            return Ok(None);
        }
        let mut all: Vec<Sha256> = matches
            .iter()
            .chain(std::iter::once(item))
            .copied()
            .collect();
        all.sort();
        all.dedup();
        // The clusters involved, with their sizes.
        let mut involved: Vec<(u64, usize)> = Vec::new();
        for sha in &all {
            if let Some(id) = self.cluster_of(sha)?
                && !involved.iter().any(|(i, _)| *i == id)
            {
                let size = t.cluster_members.scan_prefix(id.to_be_bytes()).count();
                involved.push((id, size));
            }
        }
        // Merge into the largest (then oldest) cluster, or start a new one.
        involved.sort_by_key(|&(id, size)| (std::cmp::Reverse(size), id));
        let (target, fresh) = match involved.first() {
            Some(&(id, _)) => (id, false),
            None => {
                let next = match t.meta.get(NEXT_CLUSTER_KEY).map_err(db_err)? {
                    Some(v) if v.len() == 8 => {
                        u64::from_be_bytes(v.as_ref().try_into().unwrap_or([0; 8]))
                    }
                    _ => 1,
                };
                (next, true)
            }
        };
        let mut moving: Vec<Sha256> = Vec::new();
        for &(id, _) in involved.iter().skip(1) {
            for kv in t.cluster_members.scan_prefix(id.to_be_bytes()) {
                let (k, _) = kv.map_err(db_err)?;
                let mut sha = [0u8; 32];
                sha.copy_from_slice(&k[8..]);
                moving.push(Sha256(sha));
            }
        }
        for sha in &all {
            if self.cluster_of(sha)?.is_none() {
                moving.push(*sha);
            }
        }
        let trees = (
            &t.cluster_of,
            &t.cluster_members,
            &t.meta,
            &t.pending_cluster,
        );
        let result = trees.transaction(|(of, members, meta, pending)| {
            pending.remove(&item.0[..])?;
            for sha in &moving {
                if let Some(old) = of.insert(&sha.0[..], &target.to_be_bytes()[..])? {
                    let mut k = [0u8; 40];
                    k[..8].copy_from_slice(&old);
                    k[8..].copy_from_slice(&sha.0);
                    members.remove(&k[..])?;
                }
                let mut k = [0u8; 40];
                k[..8].copy_from_slice(&target.to_be_bytes());
                k[8..].copy_from_slice(&sha.0);
                members.insert(&k[..], &[][..])?;
            }
            if fresh {
                meta.insert(NEXT_CLUSTER_KEY, &(target + 1).to_be_bytes()[..])?;
            }
            Ok(())
        });
        result.map_err(tx_err)?;
        Ok(Some(target))
    }

    fn cluster_of(&self, sha: &Sha256) -> Result<Option<u64>> {
        Ok(self
            .trees
            .cluster_of
            .get(sha.0)
            .map_err(db_err)?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes)))
    }

    fn clusters(&self) -> Result<Vec<Cluster>> {
        let mut out: Vec<Cluster> = Vec::new();
        for kv in self.trees.cluster_members.iter() {
            let (k, _) = kv.map_err(db_err)?;
            if k.len() != 40 {
                return Err(StoreError::Database("malformed cluster row".into()));
            }
            let id = u64::from_be_bytes(k[..8].try_into().unwrap_or([0; 8]));
            let mut sha = [0u8; 32];
            sha.copy_from_slice(&k[8..]);
            match out.last_mut() {
                Some(c) if c.id == id => c.members.push(Sha256(sha)),
                _ => out.push(Cluster {
                    id,
                    members: vec![Sha256(sha)],
                }),
            }
        }
        out.retain(|c| c.members.len() >= 2);
        Ok(out)
    }

    fn cluster_members(&self, id: u64) -> Result<Vec<Sha256>> {
        let mut out = Vec::new();
        for kv in self.trees.cluster_members.scan_prefix(id.to_be_bytes()) {
            let (k, _) = kv.map_err(db_err)?;
            let sha: [u8; 32] = k
                .get(8..)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| StoreError::Database("malformed cluster row".into()))?;
            out.push(Sha256(sha));
        }
        Ok(out)
    }

    fn pending_clusters(&self) -> Result<Vec<Sha256>> {
        let mut out = Vec::new();
        for kv in self.trees.pending_cluster.iter() {
            let (k, _) = kv.map_err(db_err)?;
            let mut sha = [0u8; 32];
            if k.len() == 32 {
                sha.copy_from_slice(&k);
                out.push(Sha256(sha));
            }
        }
        Ok(out)
    }

    fn clear_clusters(&self) -> Result<()> {
        let _writer = self.writer()?;
        self.trees.cluster_of.clear().map_err(db_err)?;
        self.trees.cluster_members.clear().map_err(db_err)?;
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(db_err)?;
        Ok(())
    }
}
