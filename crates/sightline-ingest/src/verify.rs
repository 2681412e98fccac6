//! Confirming doubtful near-duplicate candidates with local features.
//!
//! PDQ within distance 31 is a match on its own. Between 32 and
//! [`DOUBTFUL_MAX_DISTANCE`] a pair is only a *candidate*: tilted copies,
//! screenshots whose photo drifted when scaled, and a few unrelated photos
//! land there. A candidate becomes a match only when both images show the
//! same keypoints under one similarity transform
//! ([`sightline_media::features`]); the transform is kept so the match can be
//! explained ("rotated 4.1°, scale 0.62, 57 matching keypoints").

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use serde::Serialize;
use sightline_core::{MediaKind, Sha256};
use sightline_media::Limits;
use sightline_media::features::{self, Features};
use sightline_store::Store;

/// Candidates up to this PDQ distance are checked with local features. On
/// the labelled re-post set, 34 of 554,000 pairs of different photos fall
/// in 32..=79 (against 40 of 118 tilted copies).
pub const DOUBTFUL_MAX_DISTANCE: u32 = 79;

/// Images larger than this are not decoded for verification.
const MAX_VERIFY_BYTES: u64 = 64 << 20;

/// How a candidate was confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LocalMatch {
    /// Keypoints that agree with the transform.
    pub inliers: u32,
    /// Keypoint matches before the geometric check.
    pub matches: u32,
    /// Rotation of the stored image onto the query, degrees.
    pub rotation_deg: f32,
    /// Scale of the stored image onto the query.
    pub scale: f32,
}

/// The image whose candidates are being checked.
#[derive(Debug, Clone, Copy)]
pub enum Query<'a> {
    /// An item in the store.
    Stored(&'a Sha256),
    /// Features of an image that is not stored (`sightline similar FILE`).
    Features(&'a Features),
}

/// Checks a candidate pair; `None` is "not confirmed" (including "could not
/// look": not an image, unreadable).
pub trait Verifier {
    fn verify(&mut self, query: Query<'_>, stored: &Sha256) -> Option<LocalMatch>;
}

/// Confirms nothing: only PDQ matches count.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoVerifier;

impl Verifier for NoVerifier {
    fn verify(&mut self, _: Query<'_>, _: &Sha256) -> Option<LocalMatch> {
        None
    }
}

/// Verifies against the store's blobs, decoding each image once while it
/// is in a small cache.
#[derive(Debug)]
pub struct StoreVerifier<'a> {
    store: &'a Store,
    limits: Limits,
    cache: HashMap<Sha256, Option<Arc<Features>>>,
}

const CACHE_ITEMS: usize = 256;

impl<'a> StoreVerifier<'a> {
    pub fn new(store: &'a Store, limits: Limits) -> Self {
        StoreVerifier {
            store,
            limits,
            cache: HashMap::new(),
        }
    }

    fn features(&mut self, sha: &Sha256) -> Option<Arc<Features>> {
        if let Some(f) = self.cache.get(sha) {
            return f.clone();
        }
        let f = self.load(sha).map(Arc::new);
        if self.cache.len() >= CACHE_ITEMS {
            self.cache.clear();
        }
        self.cache.insert(*sha, f.clone());
        f
    }

    fn load(&self, sha: &Sha256) -> Option<Features> {
        let item = self.store.catalog().item(sha).ok()??;
        if item.kind != MediaKind::Image || item.size > MAX_VERIFY_BYTES {
            return None;
        }
        let mut bytes = Vec::with_capacity(item.size as usize);
        self.store
            .blobs()
            .open(sha)
            .ok()?
            .take(MAX_VERIFY_BYTES)
            .read_to_end(&mut bytes)
            .ok()?;
        features_of_image(&bytes, &self.limits)
    }
}

/// Local features of an encoded image (decoded as for fingerprints).
pub fn features_of_image(bytes: &[u8], limits: &Limits) -> Option<Features> {
    let d = sightline_media::decode(bytes, limits, sightline_media::DecodeMode::Te).ok()?;
    Some(features::extract_rgb(&d.rgb, d.width, d.height))
}

impl Verifier for StoreVerifier<'_> {
    fn verify(&mut self, query: Query<'_>, stored: &Sha256) -> Option<LocalMatch> {
        let theirs = self.features(stored)?;
        let v = match query {
            Query::Stored(sha) => {
                let ours = self.features(sha)?;
                features::confirm(&ours, &theirs)
            }
            Query::Features(ours) => features::confirm(ours, &theirs),
        }?;
        Some(LocalMatch {
            inliers: v.inliers,
            matches: v.matches,
            rotation_deg: v.rotation_deg,
            scale: v.scale,
        })
    }
}
