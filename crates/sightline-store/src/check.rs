//! `sightline check`: does the store hold together?

use std::collections::HashSet;
use std::io::Read;

use sightline_core::{Event, Sha256, Sha256Hasher};

use crate::blob::BlobStore;
use crate::catalog::Catalog;
use crate::error::Result;

/// How bad a problem is. Errors mean evidence or history is damaged;
/// warnings are leftovers of an interrupted run that a re-run clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub severity: Severity,
    /// Stable code: `blob-hash-mismatch`, `blob-missing`, `blob-size-mismatch`,
    /// `orphan-blob`, `orphan-sighting`, `orphan-derived`, `derived-missing`,
    /// `history-mismatch`, `history-broken`, `stale-staging`,
    /// `unreadable-blob`.
    pub code: &'static str,
    pub detail: String,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckReport {
    pub blobs: u64,
    pub bytes: u64,
    pub items: u64,
    pub sightings: u64,
    /// Derived files (keyframes, thumbnails, contact sheets).
    pub derived: u64,
    pub incidents: u64,
    /// Item–incident pairings an analyst has decided.
    pub decisions: u64,
    pub events: u64,
    pub problems: Vec<Problem>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
    pub fn errors(&self) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count()
    }
    fn push(&mut self, severity: Severity, code: &'static str, detail: String) {
        self.problems.push(Problem {
            severity,
            code,
            detail,
        });
    }
}

pub(crate) fn run(
    blobs: &dyn BlobStore,
    catalog: &dyn Catalog,
    progress: &mut dyn FnMut(u64),
) -> Result<CheckReport> {
    let mut report = CheckReport::default();

    // 1. Every blob re-hashes to its address.
    let mut present = HashSet::new();
    let mut buf = vec![0u8; 1 << 20];
    for sha in blobs.list()? {
        let sha = sha?;
        report.blobs += 1;
        match rehash(blobs, &sha, &mut buf) {
            Ok((actual, n)) => {
                report.bytes += n;
                progress(n);
                if actual != sha {
                    report.push(
                        Severity::Error,
                        "blob-hash-mismatch",
                        format!("blob {sha} now hashes to {actual}: its bytes changed"),
                    );
                }
            }
            Err(e) => report.push(
                Severity::Error,
                "unreadable-blob",
                format!("blob {sha} cannot be read: {e}"),
            ),
        }
        present.insert(sha);
    }

    // 2. Every item has its blob, of the right size.
    let mut items = HashSet::new();
    for item in catalog.items()? {
        let item = item?;
        report.items += 1;
        if !present.contains(&item.sha256) {
            report.push(
                Severity::Error,
                "blob-missing",
                format!("item {} has no blob", item.sha256),
            );
        } else if let Some(size) = blobs.size(&item.sha256)?
            && size != item.size
        {
            report.push(
                Severity::Error,
                "blob-size-mismatch",
                format!(
                    "item {} records {} bytes, blob has {size}",
                    item.sha256, item.size
                ),
            );
        }
        items.insert(item.sha256);
    }

    // 3. Every derived file has its blob and its original; every blob is
    // an item's or a derived file's.
    let mut known = items.clone();
    for (original, d) in catalog.derived_blobs()? {
        report.derived += 1;
        if !items.contains(&original) {
            report.push(
                Severity::Error,
                "orphan-derived",
                format!(
                    "{} {} was derived from item {original} which is not in the catalog",
                    d.kind.as_str(),
                    d.sha256
                ),
            );
        }
        if !present.contains(&d.sha256) {
            report.push(
                Severity::Error,
                "derived-missing",
                format!(
                    "{} {} of item {original} has no blob",
                    d.kind.as_str(),
                    d.sha256
                ),
            );
        } else if let Some(size) = blobs.size(&d.sha256)?
            && size != d.size
        {
            report.push(
                Severity::Error,
                "blob-size-mismatch",
                format!(
                    "{} {} records {} bytes, blob has {size}",
                    d.kind.as_str(),
                    d.sha256,
                    d.size
                ),
            );
        }
        known.insert(d.sha256);
    }
    for sha in present.difference(&known) {
        report.push(
            Severity::Warning,
            "orphan-blob",
            format!("blob {sha} has no item (an ingest was interrupted; re-running it records it)"),
        );
    }

    // 4. Every sighting has its item, and is listed under it.
    let mut sightings = 0u64;
    for s in catalog.sightings()? {
        let s = s?;
        sightings += 1;
        if !items.contains(&s.item) {
            report.push(
                Severity::Error,
                "orphan-sighting",
                format!(
                    "sighting {} names item {} which is not in the catalog",
                    s.id, s.item
                ),
            );
        }
    }
    report.sightings = sightings;
    let listed: u64 = items
        .iter()
        .map(|sha| catalog.sightings_of(sha).map(|v| v.len() as u64))
        .sum::<Result<u64>>()?;
    if listed != sightings {
        report.push(
            Severity::Error,
            "history-mismatch",
            format!("{sightings} sightings stored but {listed} listed under their items"),
        );
    }

    // 5. The history is an unbroken chain that says the same as the catalog.
    let (mut preserved, mut recorded, mut fingerprinted) = (0u64, 0u64, 0u64);
    let mut seen_sightings = HashSet::new();
    let mut duplicate_sightings = 0u64;
    let mut incidents = std::collections::BTreeSet::new();
    let mut decided = std::collections::BTreeSet::new();
    let history = catalog.history(&mut |ev| {
        report.events += 1;
        match &ev.event {
            Event::ItemPreserved { .. } => preserved += 1,
            Event::SightingRecorded { sighting } => {
                recorded += 1;
                if !seen_sightings.insert(sighting.id) {
                    duplicate_sightings += 1;
                }
            }
            Event::FingerprintsComputed { .. } => fingerprinted += 1,
            Event::MetadataExtracted { .. } | Event::DerivativesMade { .. } => {}
            Event::IncidentCreated { incident } | Event::IncidentEdited { incident, .. } => {
                incidents.insert(incident.id.clone());
            }
            Event::ReviewDecided { decision } => {
                decided.insert((decision.evidence, decision.incident.clone()));
            }
        }
        Ok(())
    });
    if let Err(e) = history {
        report.push(Severity::Error, "history-broken", e.to_string());
    }
    if duplicate_sightings > 0 {
        report.push(
            Severity::Error,
            "history-mismatch",
            format!("{duplicate_sightings} sightings were recorded more than once"),
        );
    }
    if preserved != report.items || recorded != sightings {
        report.push(
            Severity::Error,
            "history-mismatch",
            format!(
                "history has {preserved} items and {recorded} sightings; catalog has {} and {sightings}",
                report.items
            ),
        );
    }

    report.incidents = catalog.incidents()?.len() as u64;
    report.decisions = catalog.decisions()?.len() as u64;
    if incidents.len() as u64 != report.incidents || decided.len() as u64 != report.decisions {
        report.push(
            Severity::Error,
            "history-mismatch",
            format!(
                "history has {} incidents and {} decided pairings; catalog has {} and {}",
                incidents.len(),
                decided.len(),
                report.incidents,
                report.decisions
            ),
        );
    }

    let stored_fingerprints = catalog.counts()?.fingerprinted;
    if fingerprinted != stored_fingerprints {
        report.push(
            Severity::Error,
            "history-mismatch",
            format!(
                "history fingerprinted {fingerprinted} items; catalog holds fingerprints for {stored_fingerprints}"
            ),
        );
    }

    // 6. Staging leftovers.
    for p in blobs.stale_staging()? {
        report.push(
            Severity::Warning,
            "stale-staging",
            format!("staging file {} was left by a dead process", p.display()),
        );
    }
    Ok(report)
}

fn rehash(blobs: &dyn BlobStore, sha: &Sha256, buf: &mut [u8]) -> Result<(Sha256, u64)> {
    let mut r = blobs.open(sha)?;
    let mut h = Sha256Hasher::new();
    let mut n = 0u64;
    loop {
        let k = r
            .read(buf)
            .map_err(crate::error::StoreError::io(format!("read blob {sha}")))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finish(), n))
}
