//! Near-duplicate matching and clustering over PDQ hashes.
//!
//! A [`Matcher`] holds every stored PDQ hash (whole images and their
//! regions) in an exact radius index. Two items match when any hash of one
//! is within the distance of any hash of the other, both of quality at least
//! [`MIN_QUALITY`]: the whole image, one of its seven dihedral transforms
//! (rotated or mirrored copies), or a region (the photo inside a screenshot,
//! the picture without its letterbox bars). Matches join items into clusters.

use std::collections::HashMap;

use serde::Serialize;
use sightline_core::{Fingerprints, Sha256};
use sightline_index::PdqIndex;
use sightline_media::pdq::DIHEDRAL_NAMES;
use sightline_store::{Catalog, StoreError};

use crate::verify::{DOUBTFUL_MAX_DISTANCE, LocalMatch, Query, Verifier};

/// Reference vPDQ/PDQ practice: hashes below this quality are not trusted.
pub const MIN_QUALITY: u8 = 50;
/// Default match distance (of 256 bits), as ThreatExchange uses.
pub const DEFAULT_MAX_DISTANCE: u32 = 31;

/// Which pair of hashes matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub item: Sha256,
    pub distance: u32,
    /// The query side: `pdq`, a dihedral name (`r90`, `flipx`, …),
    /// `region:<kind>` (a video's 1 s frames are `region:frame@<s>`) or a
    /// video's dense sample `sample@<s>`.
    pub query: String,
    /// The stored side: `pdq` or `region:<kind>`.
    pub stored: String,
    /// Set when the PDQ distance alone was too large (32..=79) and local
    /// features confirmed the pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<LocalMatch>,
}

/// The exact index over every stored PDQ hash.
#[derive(Debug, Default)]
pub struct Matcher {
    index: PdqIndex,
    /// Index id → what the stored hash is.
    entries: Vec<Entry>,
    /// Names of the parts hashed: `pdq` for the whole image, then
    /// `region:<kind>`, each stored once.
    kinds: Vec<String>,
}

/// One stored hash, compactly.
#[derive(Debug, Clone, Copy)]
struct Entry {
    item: Sha256,
    quality: u8,
    /// Index into `Matcher::kinds`.
    kind: u16,
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex, &mut out).ok().map(|()| out)
}

impl Matcher {
    /// Load every stored PDQ hash from the catalog, building the index in
    /// bulk (much faster than one insert at a time). Reads only the compact
    /// PDQ rows.
    pub fn load(catalog: &dyn Catalog) -> Result<Matcher, StoreError> {
        let mut m = Matcher::default();
        let mut hashes = Vec::new();
        for e in catalog.pdq_entries()? {
            let e = e?;
            let kind = m.kind_id(&e.kind);
            m.entries.push(Entry {
                item: e.item,
                quality: e.quality,
                kind,
            });
            hashes.push(e.hash);
        }
        m.index = hashes
            .iter()
            .enumerate()
            .map(|(id, h)| (id as u32, *h))
            .collect();
        Ok(m)
    }

    /// The id of a part's name (`""` is the whole image).
    fn kind_id(&mut self, region: &str) -> u16 {
        let name = if region.is_empty() {
            "pdq".to_string()
        } else {
            format!("region:{region}")
        };
        match self.kinds.iter().position(|k| *k == name) {
            Some(i) => i as u16,
            None => {
                self.kinds.push(name);
                (self.kinds.len() - 1) as u16
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add an item's hashes so later queries can find it.
    pub fn add(&mut self, item: Sha256, fp: &Fingerprints) {
        let whole = std::iter::once((&fp.pdq, ""));
        let regions = fp.regions.iter().map(|r| (&r.pdq, r.kind.as_str()));
        for (pdq, region) in whole.chain(regions) {
            let Some(hash) = parse_hash(&pdq.hash) else {
                continue;
            };
            let kind = self.kind_id(region);
            let id = self.entries.len() as u32;
            self.index.insert(id, &hash);
            self.entries.push(Entry {
                item,
                quality: pdq.quality,
                kind,
            });
        }
    }

    /// Every other item that matches `fp` within `max_distance`, closest
    /// first, one entry per item (its best match).
    pub fn matches(
        &self,
        item: Option<&Sha256>,
        fp: &Fingerprints,
        max_distance: u32,
    ) -> Vec<Match> {
        let mut queries: Vec<([u8; 32], String)> = Vec::new();
        if fp.pdq.quality >= MIN_QUALITY {
            if let Some(h) = parse_hash(&fp.pdq.hash) {
                queries.push((h, "pdq".into()));
            }
            // `pdq_dihedral` holds every transform but the original, in order.
            for (hex, name) in fp.pdq_dihedral.iter().zip(&DIHEDRAL_NAMES[1..]) {
                if let Some(h) = parse_hash(hex) {
                    queries.push((h, (*name).into()));
                }
            }
        }
        for r in &fp.regions {
            if r.pdq.quality < MIN_QUALITY {
                continue;
            }
            if let Some(h) = parse_hash(&r.pdq.hash) {
                queries.push((h, format!("region:{}", r.kind)));
            }
            for (hex, name) in r.dihedral.iter().zip(&DIHEDRAL_NAMES[1..]) {
                if let Some(h) = parse_hash(hex) {
                    queries.push((h, format!("region:{}/{name}", r.kind)));
                }
            }
        }
        // A video's dense samples: queries only, never stored in the index.
        let mut seen: std::collections::HashSet<[u8; 32]> =
            queries.iter().map(|(h, _)| *h).collect();
        for f in &fp.query_frames {
            if f.quality < MIN_QUALITY {
                continue;
            }
            if let Some(h) = parse_hash(&f.hash)
                && seen.insert(h)
            {
                queries.push((h, format!("sample@{:.3}", f.timestamp_ms as f64 / 1000.0)));
            }
        }
        let mut best: HashMap<Sha256, Match> = HashMap::new();
        for (hash, query) in &queries {
            for (id, distance) in self.index.radius(hash, max_distance) {
                let Some(e) = self.entries.get(id as usize) else {
                    continue;
                };
                if Some(&e.item) == item || e.quality < MIN_QUALITY {
                    continue;
                }
                if best.get(&e.item).is_none_or(|m| distance < m.distance) {
                    let stored = self.kinds[usize::from(e.kind)].clone();
                    best.insert(
                        e.item,
                        Match {
                            item: e.item,
                            distance,
                            query: query.clone(),
                            stored,
                            verified: None,
                        },
                    );
                }
            }
        }
        let mut out: Vec<Match> = best.into_values().collect();
        out.sort_by_key(|m| (m.distance, m.item));
        out
    }
}

impl Matcher {
    /// [`matches`](Self::matches) within `max_distance`, plus the
    /// candidates of an image between `max_distance` and
    /// [`DOUBTFUL_MAX_DISTANCE`] that `verifier` confirms with local
    /// features. Only the whole image and its regions (found and centre
    /// crops) are queried that far, each query a scan of the index; not the
    /// dihedral variants, and not videos.
    pub fn matches_verified(
        &self,
        item: Option<&Sha256>,
        fp: &Fingerprints,
        max_distance: u32,
        query: Query<'_>,
        verifier: &mut dyn Verifier,
    ) -> Vec<Match> {
        let mut found = self.matches(item, fp, max_distance);
        // A tighter threshold than the default asks for close copies only.
        if fp.mode == "vpdq"
            || !(DEFAULT_MAX_DISTANCE..DOUBTFUL_MAX_DISTANCE).contains(&max_distance)
        {
            return found;
        }
        let mut doubtful = fp.clone();
        doubtful.pdq_dihedral.clear();
        // A framed image (a screenshot, a story) is its photo: its whole
        // hash is mostly the frame, which other photos share.
        if fp.regions.iter().any(|r| !r.kind.starts_with("centre-")) {
            doubtful.pdq.quality = 0;
        }
        doubtful.query_frames.clear();
        for r in &mut doubtful.regions {
            r.dihedral.clear();
        }
        let known: std::collections::HashSet<Sha256> = found.iter().map(|m| m.item).collect();
        let mut extra: Vec<Match> = self
            .matches(item, &doubtful, DOUBTFUL_MAX_DISTANCE)
            .into_iter()
            .filter(|m| m.distance > max_distance && !known.contains(&m.item))
            .filter(|m| !m.stored.starts_with("region:frame@"))
            .filter_map(|mut m| {
                m.verified = Some(verifier.verify(query, &m.item)?);
                Some(m)
            })
            .collect();
        found.append(&mut extra);
        found.sort_by_key(|m| (m.distance, m.item));
        found
    }
}

impl Matcher {
    /// What a stored item joins a cluster with: the clustering rule, the
    /// same at ingest, on catch-up and in `recluster`.
    pub fn cluster_matches(
        &self,
        item: &Sha256,
        fp: &Fingerprints,
        verifier: &mut dyn Verifier,
    ) -> Vec<Match> {
        self.matches_verified(
            Some(item),
            fp,
            DEFAULT_MAX_DISTANCE,
            Query::Stored(item),
            verifier,
        )
    }
}

/// Load the index and link every item still waiting to be clustered (left
/// by a run that died between recording an item and clustering it).
pub fn open_matcher(
    catalog: &dyn Catalog,
    verifier: &mut dyn Verifier,
) -> Result<Matcher, StoreError> {
    let matcher = Matcher::load(catalog)?;
    for item in catalog.pending_clusters()? {
        let others: Vec<Sha256> = match catalog.fingerprints(&item)? {
            Some(fp) => matcher
                .cluster_matches(&item, &fp, verifier)
                .iter()
                .map(|m| m.item)
                .collect(),
            None => Vec::new(),
        };
        catalog.link(&item, &others)?;
    }
    Ok(matcher)
}

/// Record a newly fingerprinted item: find what it matches, join their
/// clusters, and index it. Returns the matches.
pub fn cluster_new(
    catalog: &dyn Catalog,
    matcher: &mut Matcher,
    item: Sha256,
    fp: &Fingerprints,
    verifier: &mut dyn Verifier,
) -> Result<Vec<Match>, StoreError> {
    let found = matcher.cluster_matches(&item, fp, verifier);
    let others: Vec<Sha256> = found.iter().map(|m| m.item).collect();
    catalog.link(&item, &others)?;
    matcher.add(item, fp);
    Ok(found)
}

/// Recompute every cluster from the stored fingerprints (after a rebuild,
/// or when the matching rules change). Returns the number of clusters.
pub fn recluster(catalog: &dyn Catalog, verifier: &mut dyn Verifier) -> Result<usize, StoreError> {
    catalog.clear_clusters()?;
    let matcher = Matcher::load(catalog)?;
    let mut items: Vec<Sha256> = matcher.entries.iter().map(|e| e.item).collect();
    items.dedup();
    for item in items {
        if let Some(fp) = catalog.fingerprints(&item)? {
            let others: Vec<Sha256> = matcher
                .cluster_matches(&item, &fp, verifier)
                .iter()
                .map(|m| m.item)
                .collect();
            catalog.link(&item, &others)?;
        }
    }
    Ok(catalog.clusters()?.len())
}
