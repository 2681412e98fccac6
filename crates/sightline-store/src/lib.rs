//! Sightline's evidence store. The main type is [`Store`]: a [`BlobStore`]
//! holding originals by SHA-256 and a [`Catalog`] of items, sightings and
//! their audit trail.
//!
//! This is the only crate that knows which database is underneath. The
//! embedded backend, for one machine with nothing to install, is a folder:
//!
//! ```text
//! <data dir>/
//!   LOCK                     held by the one process using the folder
//!   blobs/sha256/ab/cd/<hex> originals, read-only, named by their SHA-256
//!   blobs/tmp/               staging; anything left here is from a dead process
//!   journal/events.jsonl     the hash-chained audit journal: the source of truth
//!   catalog/                 sled indexes derived from the journal
//! ```
//!
//! The blob folder plus the journal are enough to rebuild everything else
//! ([`Store::rebuild_embedded`]); [`Store::check`] verifies that they agree.
//! Backends plug in behind the two traits; [`contract`] holds the tests every
//! backend must pass.

mod blob;
mod catalog;
mod check;
pub mod contract;
mod error;
pub mod journal;
mod sled_catalog;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use blob::{BlobStore, FsBlobStore, StagedBlob, Stager};
pub use catalog::{Catalog, Cluster, Counts, IncidentSaved, PdqEntry, Record, Recorded};
pub use check::{CheckReport, Problem, Severity};
pub use error::{Result, StoreError};
pub use sled_catalog::SledCatalog;

/// An open evidence store.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    blobs: Arc<dyn BlobStore>,
    catalog: Arc<dyn Catalog>,
    _lock: Arc<File>,
}

/// Where each part of the embedded store lives inside a data dir.
#[derive(Debug, Clone)]
pub struct EmbeddedLayout {
    pub root: PathBuf,
}

impl EmbeddedLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        EmbeddedLayout { root: root.into() }
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join("LOCK")
    }
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal").join("events.jsonl")
    }
    pub fn catalog(&self) -> PathBuf {
        self.root.join("catalog")
    }
}

impl Store {
    /// Open (creating if needed) the embedded store in `dir`: take the lock,
    /// clear dead staging files, and bring the catalog up to date with the
    /// journal.
    pub fn open_embedded(dir: &Path) -> Result<Store> {
        let layout = EmbeddedLayout::new(dir);
        let lock = take_lock(&layout)?;
        let blobs = FsBlobStore::open(layout.blobs())?;
        blobs.clear_staging()?;
        blob::create_dir_durable(&layout.root.join("journal"))?;
        let catalog = SledCatalog::open(&layout.catalog(), &layout.journal())?;
        Ok(Store {
            root: layout.root,
            blobs: Arc::new(blobs),
            catalog: Arc::new(catalog),
            _lock: Arc::new(lock),
        })
    }

    /// Throw away the embedded catalog and rebuild it from the journal.
    ///
    /// The old catalog is set aside first and a fresh one is built in its
    /// place by replaying the journal. A rebuild interrupted half-way needs
    /// no care: the new catalog stores its journal position in every
    /// transaction, so the next open simply carries on replaying.
    pub fn rebuild_embedded(dir: &Path) -> Result<Store> {
        let layout = EmbeddedLayout::new(dir);
        if !layout.journal().exists() {
            return Err(StoreError::Invalid(format!(
                "{} has no journal to rebuild from",
                dir.display()
            )));
        }
        let lock = take_lock(&layout)?;
        let old = layout.root.join("catalog.old");
        if old.exists() {
            std::fs::remove_dir_all(&old)
                .map_err(StoreError::io(format!("remove {}", old.display())))?;
        }
        if layout.catalog().exists() {
            std::fs::rename(layout.catalog(), &old)
                .map_err(StoreError::io("set the old catalog aside"))?;
            blob::sync_dir(&layout.root)?;
        }
        let blobs = FsBlobStore::open(layout.blobs())?;
        blobs.clear_staging()?;
        let catalog = SledCatalog::open(&layout.catalog(), &layout.journal())?;
        catalog.flush()?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(StoreError::io("remove the old catalog"))?;
        }
        Ok(Store {
            root: layout.root,
            blobs: Arc::new(blobs),
            catalog: Arc::new(catalog),
            _lock: Arc::new(lock),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blobs(&self) -> &dyn BlobStore {
        self.blobs.as_ref()
    }

    pub fn catalog(&self) -> &dyn Catalog {
        self.catalog.as_ref()
    }

    /// Verify the store: every blob re-hashes to its address, every item has
    /// its blob, every blob has its item, every sighting its item, and the
    /// audit trail is an unbroken chain that agrees with the catalog.
    pub fn check(&self, progress: &mut dyn FnMut(u64)) -> Result<CheckReport> {
        check::run(self.blobs(), self.catalog(), progress)
    }
}

fn take_lock(layout: &EmbeddedLayout) -> Result<File> {
    blob::create_dir_durable(&layout.root)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(layout.lock())
        .map_err(StoreError::io(format!("open {}", layout.lock().display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(layout.root.clone())),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(format!(
            "lock {}",
            layout.lock().display()
        ))(e)),
    }
}
