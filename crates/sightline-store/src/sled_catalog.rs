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
use sightline_core::{AuditEvent, Event, EvidenceItem, Sha256, Sighting, SightingId};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::catalog::{Catalog, Counts, Record, Recorded};
use crate::error::{Result, StoreError};
use crate::journal::{self, Entry, Journal, Position};

const POSITION_KEY: &[u8] = b"journal_position";
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
    /// `journal_position` → `Position` JSON
    meta: sled::Tree,
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
            meta: tree("meta")?,
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
        let result = (&self.items, &self.sightings, &self.by_item, &self.meta).transaction(
            |(items, sightings, by_item, meta)| {
                for e in &encoded {
                    e.apply(items, sightings, by_item)?;
                }
                meta.insert(POSITION_KEY, position.as_slice())?;
                Ok(())
            },
        );
        result.map_err(|e: TransactionError<StoreError>| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => db_err(e),
        })
    }
}

/// An event reduced to the key/value writes it makes.
enum Encoded {
    Item {
        key: [u8; 32],
        value: Vec<u8>,
    },
    Sighting {
        id: [u8; 32],
        item: [u8; 32],
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
                value: serde_json::to_vec(sighting)?,
            },
        })
    }

    fn apply(
        &self,
        items: &TransactionalTree,
        sightings: &TransactionalTree,
        by_item: &TransactionalTree,
    ) -> std::result::Result<(), ConflictableTransactionError<StoreError>> {
        match self {
            // Replaying must be idempotent: an item is written only once.
            Encoded::Item { key, value } => {
                if items.get(key)?.is_none() {
                    items.insert(&key[..], value.as_slice())?;
                }
            }
            Encoded::Sighting { id, item, value } => {
                sightings.insert(&id[..], value.as_slice())?;
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
        let mut journal = self
            .journal
            .lock()
            .map_err(|_| StoreError::Database("journal lock poisoned".into()))?;
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
        let mut events = Vec::with_capacity(2);
        if new_item {
            events.push(Event::ItemPreserved { item });
        }
        events.push(Event::SightingRecorded {
            sighting: Box::new(sighting),
        });
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
            events: self.applied()?.seq,
        })
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

    fn flush(&self) -> Result<()> {
        self.db.flush().map_err(db_err)?;
        Ok(())
    }
}
