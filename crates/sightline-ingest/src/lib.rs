//! Ingest: take evidence into the store. The main entry point is
//! [`job::run_plan`], which runs a checked pipeline plan (sources from
//! `sightline-collect`) through stages joined by bounded channels:
//!
//! ```text
//! sources + fetch (tokio) ──▶ preserve (N threads) ──▶ record (caller's thread)
//!  posts, downloads into        validate, fingerprint,     commit to the catalog,
//!  staging, files handed on     describe, put the blob     cluster, tell the Observer
//! ```
//!
//! [`ingest_paths`] is a job with one folder source. Only the record stage
//! writes to the catalog, so outcomes are counted in one place. An item that
//! fails at any stage becomes a [`Rejection`] naming it and the reason; the
//! batch goes on.

pub mod derive;
mod error;
pub mod job;
pub mod preserve;
pub mod similar;
pub mod verify;
pub mod walk;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sightline_core::{Sha256, Tool};
use sightline_media::Limits;
use sightline_store::{Record, Recorded, Store};

pub use error::IngestError;

/// How an ingest run is done and attributed.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The operator responsible, recorded on every sighting.
    pub collector: String,
    pub tool: Tool,
    pub job_id: String,
    pub limits: Limits,
    /// Files larger than this are refused before reading.
    pub max_file_bytes: u64,
    /// Images larger than this (in bytes) are kept but not decoded.
    pub max_decode_bytes: u64,
    /// Preserve workers (hashing and validating run in parallel).
    pub workers: usize,
    /// Reads what each new file says about itself.
    pub metadata: sightline_metadata::Extractor,
    /// How videos are sampled and hashed (vPDQ, 1 frame per second).
    pub vpdq: sightline_media::video_hash::VpdqOptions,
    /// The survey pass over each new video: keyframes and dense query
    /// hashes for matching.
    pub survey: derive::DeriveOptions,
    /// Store keyframes, thumbnails and a contact sheet for each new video.
    pub keep_keyframes: bool,
}

impl IngestOptions {
    pub fn new(collector: impl Into<String>, job_id: impl Into<String>) -> Self {
        IngestOptions {
            collector: collector.into(),
            tool: Tool {
                name: "sightline".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            job_id: job_id.into(),
            limits: Limits::default(),
            max_file_bytes: 8 << 30,
            max_decode_bytes: 256 << 20,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            metadata: sightline_metadata::Extractor::default(),
            vpdq: sightline_media::video_hash::VpdqOptions::default(),
            survey: derive::DeriveOptions::default(),
            keep_keyframes: true,
        }
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    pub path: String,
    #[serde(flatten)]
    pub result: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Recorded {
        recorded: Recorded,
        sha256: Sha256,
        /// Bytes newly written to the blob store (0 for a known file).
        bytes: u64,
        /// Near-duplicates already in the store that a new item matched.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        similar: Vec<similar::Match>,
        /// Set when the item was recorded but could not be clustered
        /// (`sightline reindex` recomputes clusters).
        #[serde(skip_serializing_if = "Option::is_none")]
        cluster_error: Option<String>,
    },
    Rejected {
        code: &'static str,
        reason: String,
    },
    /// Collected by an earlier run of the job: not fetched again.
    Skipped,
}

/// A file not taken in, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Rejection {
    pub path: String,
    pub code: &'static str,
    pub reason: String,
}

/// The end-of-run account.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub job_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub elapsed_s: f64,
    pub files: u64,
    pub new_items: u64,
    pub new_sightings: u64,
    pub duplicates: u64,
    /// URLs an earlier run collected (not fetched again).
    pub skipped: u64,
    pub rejected: u64,
    /// Rejections counted by their code.
    pub rejected_by_code: std::collections::BTreeMap<&'static str, u64>,
    /// Where the time went.
    pub timings: job::Timings,
    pub bytes_preserved: u64,
    /// New items that matched a stored near-duplicate.
    pub near_duplicates: u64,
    pub rejections: Vec<Rejection>,
    /// Every file and its outcome, in the order recorded.
    pub outcomes: Vec<FileOutcome>,
}

/// Watches a run; the progress bar is one.
pub trait Observer {
    /// One more file found to process.
    fn discovered(&mut self) {}
    /// A file is done.
    fn finished(&mut self, _outcome: &FileOutcome) {}
}

/// An observer that watches nothing.
#[derive(Debug, Default)]
pub struct Quiet;
impl Observer for Quiet {}

/// A failure of the run itself (not of one file).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("a pipeline thread died: {0}")]
    Thread(String),
    #[error("cannot start: {0}")]
    Setup(String),
    #[error("cannot load the near-duplicate index: {0}")]
    Index(#[from] sightline_store::StoreError),
}

/// What a preserve worker hands to the record stage.
pub(crate) enum Preserved {
    /// Bytes are durable in the blob store; the record is ready to commit.
    Ready {
        path: String,
        record: Box<Record>,
        bytes: u64,
    },
    /// Nothing to commit: the file was rejected.
    Rejected(FileOutcome),
}

/// Ingest every image and video under `paths` (files and folders,
/// recursively). Exact copies of known bytes become new sightings of the
/// existing item; a file already recorded at the same place changes nothing.
/// The same pipeline as a job ([`job::run_plan`]) with one folder source.
pub fn ingest_paths(
    store: &Store,
    paths: &[PathBuf],
    opts: &IngestOptions,
    observer: &mut dyn Observer,
) -> Result<Summary, RunError> {
    let mut plan = sightline_collect::plan::Plan::adhoc(opts.job_id.clone());
    plan.preserve_workers = opts.workers.max(1);
    plan.max_file_bytes = opts.max_file_bytes;
    plan.sources = vec![sightline_collect::plan::SourceSpec::Folder {
        paths: paths.to_vec(),
    }];
    job::run_plan(store, &plan, opts, observer)
}

pub(crate) fn rejected(path: String, e: &IngestError) -> FileOutcome {
    FileOutcome {
        path,
        result: Outcome::Rejected {
            code: e.code(),
            reason: e.to_string(),
        },
    }
}

/// Stage 3 for one file: commit, count, tell the observer.
pub(crate) fn record(
    store: &Store,
    (matcher, verifier): (&mut similar::Matcher, &mut dyn verify::Verifier),
    p: Preserved,
    summary: &mut Summary,
    observer: &mut dyn Observer,
    clock: &job::Clock,
) {
    let outcome = commit(store, matcher, verifier, p, clock);
    match &outcome.result {
        Outcome::Recorded {
            recorded, sha256, ..
        } => {
            tracing::info!(job = %summary.job_id, item = %outcome.path, sha256 = %sha256, outcome = ?recorded, "recorded")
        }
        Outcome::Rejected { code, reason } => {
            tracing::warn!(job = %summary.job_id, item = %outcome.path, code, reason, "rejected")
        }
        Outcome::Skipped => {}
    }
    summary.tally(&outcome);
    observer.finished(&outcome);
    summary.outcomes.push(outcome);
}

fn commit(
    store: &Store,
    matcher: &mut similar::Matcher,
    verifier: &mut dyn verify::Verifier,
    p: Preserved,
    clock: &job::Clock,
) -> FileOutcome {
    match p {
        Preserved::Rejected(outcome) => outcome,
        Preserved::Ready {
            path,
            record,
            bytes,
        } => {
            let sha256 = record.item.sha256;
            let fingerprints = record.fingerprints.clone();
            let t = std::time::Instant::now();
            let recorded = store.catalog().record(*record);
            job::Clock::add(&clock.record, t);
            let recorded = match recorded {
                Ok(r) => r,
                Err(e) => return rejected(path, &IngestError::Store(e)),
            };
            let t = std::time::Instant::now();
            // A new item joins the clusters of what it matches. Clusters are
            // derived data: if this fails the record stands and `sightline
            // reindex` recomputes them.
            let (mut similar, mut cluster_error) = (Vec::new(), None);
            if recorded == Recorded::NewItem
                && let Some(fp) = &fingerprints
            {
                match similar::cluster_new(store.catalog(), matcher, sha256, fp, verifier) {
                    Ok(found) => similar = found,
                    Err(e) => cluster_error = Some(e.to_string()),
                }
            }
            job::Clock::add(&clock.cluster, t);
            FileOutcome {
                path,
                result: Outcome::Recorded {
                    recorded,
                    sha256,
                    bytes,
                    similar,
                    cluster_error,
                },
            }
        }
    }
}

impl Summary {
    pub(crate) fn new(job_id: &str, started_at: DateTime<Utc>) -> Summary {
        Summary {
            job_id: job_id.to_string(),
            started_at,
            finished_at: started_at,
            elapsed_s: 0.0,
            files: 0,
            new_items: 0,
            new_sightings: 0,
            duplicates: 0,
            skipped: 0,
            rejected: 0,
            bytes_preserved: 0,
            near_duplicates: 0,
            rejected_by_code: std::collections::BTreeMap::new(),
            timings: job::Timings::default(),
            rejections: Vec::new(),
            outcomes: Vec::new(),
        }
    }

    pub(crate) fn tally(&mut self, o: &FileOutcome) {
        tally(self, o)
    }
}

fn tally(s: &mut Summary, o: &FileOutcome) {
    s.files += 1;
    match &o.result {
        Outcome::Skipped => s.skipped += 1,
        Outcome::Recorded {
            recorded,
            bytes,
            similar,
            ..
        } => {
            s.bytes_preserved += bytes;
            if !similar.is_empty() {
                s.near_duplicates += 1;
            }
            match recorded {
                Recorded::NewItem => s.new_items += 1,
                Recorded::NewSighting => s.new_sightings += 1,
                Recorded::Duplicate => s.duplicates += 1,
            }
        }
        Outcome::Rejected { code, reason } => {
            s.rejected += 1;
            *s.rejected_by_code.entry(code).or_default() += 1;
            s.rejections.push(Rejection {
                path: o.path.clone(),
                code,
                reason: reason.clone(),
            });
        }
    }
}

/// The domain form of a media-crate fingerprint.
pub fn fingerprints_of(fp: &sightline_media::ImageFingerprint) -> sightline_core::Fingerprints {
    use sightline_core::PdqFingerprint;
    sightline_core::Fingerprints {
        mode: fp.mode.to_string(),
        width: fp.width,
        height: fp.height,
        frames: fp.frames,
        orientation: fp.orientation,
        pdq: PdqFingerprint {
            hash: fp.pdq.hash.to_string(),
            quality: fp.pdq.quality,
        },
        pdq_dihedral: fp.pdq_dihedral.iter().map(ToString::to_string).collect(),
        ahash: fp.ahash.clone(),
        dhash: fp.dhash.clone(),
        phash: fp.phash.clone(),
        blockhash: fp.blockhash.clone(),
        regions: fp
            .regions
            .iter()
            .map(|r| sightline_core::RegionFingerprint {
                kind: r.kind.to_string(),
                rect: r.rect,
                pdq: PdqFingerprint {
                    hash: r.pdq.hash.to_string(),
                    quality: r.pdq.quality,
                },
                dihedral: r.dihedral.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        vpdq: Vec::new(),
        duration_ms: None,
        query_frames: Vec::new(),
    }
}

/// Most frame rows a video puts in the near-duplicate index (the row slot
/// is one byte; slot 0 is the best frame).
pub const MAX_INDEXED_FRAMES: usize = 255;

/// The domain form of a video's vPDQ: every sampled frame, the best-quality
/// frame as `pdq`, and up to [`MAX_INDEXED_FRAMES`] distinct frame hashes
/// of quality ≥ 50 as `frame@<seconds>` regions (evenly spaced when there
/// are more), so the index matches photos and other videos against frames.
pub fn fingerprints_of_video(
    v: &sightline_media::video_hash::VpdqVideo,
) -> sightline_core::Fingerprints {
    use sightline_core::{PdqFingerprint, RegionFingerprint, VideoFrameHash};
    let ms = |t: f64| (t.max(0.0) * 1000.0).round() as u64;
    let best = v
        .frames
        .iter()
        .max_by_key(|f| (f.quality, std::cmp::Reverse(f.frame)));
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<&sightline_media::video_hash::VpdqFrame> = v
        .frames
        .iter()
        .filter(|f| f.quality >= 50 && seen.insert(f.hash))
        .collect();
    let keep = MAX_INDEXED_FRAMES - 1;
    let picked: Vec<&sightline_media::video_hash::VpdqFrame> = if distinct.len() <= keep {
        distinct
    } else {
        (0..keep)
            .map(|i| distinct[i * distinct.len() / keep])
            .collect()
    };
    let (w, h) = (v.hashed_width, v.hashed_height);
    sightline_core::Fingerprints {
        mode: "vpdq".into(),
        width: w,
        height: h,
        frames: Some(v.frames.len() as u32),
        orientation: None,
        pdq: PdqFingerprint {
            hash: best
                .map(|f| f.hash.to_string())
                .unwrap_or_else(|| "0".repeat(64)),
            quality: best.map_or(0, |f| f.quality),
        },
        pdq_dihedral: Vec::new(),
        ahash: String::new(),
        dhash: String::new(),
        phash: String::new(),
        blockhash: String::new(),
        regions: picked
            .iter()
            .map(|f| RegionFingerprint {
                kind: format!("frame@{:.3}", f.timestamp),
                rect: [0, 0, w, h],
                pdq: PdqFingerprint {
                    hash: f.hash.to_string(),
                    quality: f.quality,
                },
                dihedral: Vec::new(),
            })
            .collect(),
        vpdq: v
            .frames
            .iter()
            .map(|f| VideoFrameHash {
                frame: f.frame,
                quality: f.quality,
                hash: f.hash.to_string(),
                timestamp_ms: ms(f.timestamp),
            })
            .collect(),
        duration_ms: v.stream.duration_secs.map(ms),
        query_frames: Vec::new(),
    }
}
