//! Preserve: copy one file's bytes into the store while hashing them,
//! validate them, and prepare the record that will make them evidence.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use std::time::Instant;

use chrono::Utc;
use sightline_core::{
    EvidenceItem, Fingerprints, MediaKind, Metadata, Sighting, SightingKey, Source,
};
use sightline_media::{Sniffed, probe, probe_bytes, sniff};
use sightline_store::{Record, Store};

use crate::job::Clock;
use crate::{IngestError, IngestOptions};

/// Bytes read per read call while copying.
const CHUNK: usize = 1 << 20;

/// What the collector knows about the post around some bytes. Text is
/// kept verbatim as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostFacts {
    pub platform: Option<String>,
    pub post_id: Option<String>,
    pub post_url: Option<String>,
    pub author: Option<String>,
    pub caption: Option<String>,
    pub posted_at: Option<String>,
    pub lang: Option<String>,
    pub forwarded_from: Option<String>,
    pub links: Vec<String>,
    pub tags: Vec<String>,
}

/// Where some bytes came from: the place they were read and the post
/// around them. Becomes the sighting.
#[derive(Debug, Clone)]
pub struct Origin {
    pub source: Source,
    pub post: PostFacts,
}

impl Origin {
    /// A file found on disk, with no post around it.
    pub fn file(locator: String) -> Origin {
        Origin {
            source: Source::file(locator),
            post: PostFacts::default(),
        }
    }

    /// The sighting key these bytes would be recorded under.
    pub fn key<'a>(&'a self, item: &'a sightline_core::Sha256) -> SightingKey<'a> {
        SightingKey {
            item,
            kind: self.source.kind,
            locator: &self.source.locator,
            platform: self.post.platform.as_deref(),
            post_id: self.post.post_id.as_deref(),
        }
    }

    /// Where and in which post, whatever the bytes: a job skips an origin
    /// it has recorded before.
    pub fn origin_key(&self) -> sightline_core::OriginKey {
        self.key(&sightline_core::Sha256([0; 32])).origin()
    }
}

/// Bytes as they arrive (from a file or a response body): written to a
/// staging file and hashed as they pass, and an image small enough to
/// decode also kept in memory (recognised from its first bytes), so it is
/// probed and decoded without being read a second time. Anything else is
/// never held whole.
pub struct Intake<'s> {
    store: &'s Store,
    stager: sightline_store::Stager,
    kept: Option<Vec<u8>>,
    first: bool,
    /// The size announced before reading (file length, Content-Length).
    expected: Option<u64>,
    max_file_bytes: u64,
    max_decode_bytes: u64,
}

impl std::fmt::Debug for Intake<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("size", &self.stager.size())
            .field("kept", &self.kept.as_ref().map(Vec::len))
            .finish()
    }
}

/// Bytes fully received and staged, not yet stored.
#[derive(Debug)]
pub struct Arrived {
    pub staged: sightline_store::StagedBlob,
    kept: Option<Vec<u8>>,
    pub collected_at: chrono::DateTime<Utc>,
}

impl<'s> Intake<'s> {
    pub fn new(
        store: &'s Store,
        expected: Option<u64>,
        opts: &IngestOptions,
    ) -> Result<Self, IngestError> {
        Ok(Intake {
            store,
            stager: store.blobs().stage()?,
            kept: None,
            first: true,
            expected,
            max_file_bytes: opts.max_file_bytes,
            max_decode_bytes: opts.max_decode_bytes,
        })
    }

    /// Take the next bytes.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), IngestError> {
        let n = chunk.len() as u64;
        if self.stager.size() + n > self.max_file_bytes {
            return Err(IngestError::TooLarge {
                size: self.stager.size() + n,
                limit: self.max_file_bytes,
            });
        }
        if self.first && !chunk.is_empty() {
            self.first = false;
            let image = matches!(sniff(chunk), Sniffed::Media(f) if f.kind() == MediaKind::Image);
            let fits = self.expected.is_none_or(|len| len <= self.max_decode_bytes);
            if image && fits {
                let cap = self.expected.unwrap_or(0).min(self.max_decode_bytes);
                self.kept = Some(Vec::with_capacity(cap as usize));
            }
        }
        if let Some(k) = self.kept.as_mut() {
            if k.len() as u64 + n > self.max_decode_bytes {
                self.kept = None; // grew past the limit while being read
            } else {
                k.extend_from_slice(chunk);
            }
        }
        self.stager.write_all(chunk).map_err(|e| {
            IngestError::Store(sightline_store::StoreError::Io {
                context: "write staging file".into(),
                source: e,
            })
        })
    }

    /// Drop what was taken so far (a retried download starts again).
    pub fn restart(&mut self) -> Result<(), IngestError> {
        self.stager = self.store.blobs().stage()?;
        self.kept = None;
        self.first = true;
        Ok(())
    }

    /// Bytes taken so far.
    pub fn size(&self) -> u64 {
        self.stager.size()
    }

    /// All bytes are in: make the staged file complete.
    pub fn finish(self) -> Result<Arrived, IngestError> {
        let collected_at = Utc::now();
        Ok(Arrived {
            staged: self.stager.finish()?,
            kept: self.kept,
            collected_at,
        })
    }
}

/// Read a local file into an [`Intake`].
pub fn take_file(store: &Store, path: &Path, opts: &IngestOptions) -> Result<Arrived, IngestError> {
    let mut file = open_regular(path)?;
    let len = file.metadata().map_err(IngestError::from_io)?.len();
    if len > opts.max_file_bytes {
        return Err(IngestError::TooLarge {
            size: len,
            limit: opts.max_file_bytes,
        });
    }
    let mut intake = Intake::new(store, Some(len), opts)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(IngestError::from_io(e)),
        };
        intake.push(&buf[..n])?;
    }
    intake.finish()
}

/// Copy `path` into the store and return the record to commit. The blob is
/// durable before this returns (blob first, record second), so a crash
/// leaves at worst a blob whose record a re-run adds.
pub fn preserve(
    store: &Store,
    path: &Path,
    opts: &IngestOptions,
) -> Result<(Record, u64), IngestError> {
    let locator = crate::walk::locator(path)?;
    let arrived = take_file(store, path, opts)?;
    preserve_arrived(store, arrived, Origin::file(locator), opts)
}

/// Validate, fingerprint and describe bytes that have arrived, store them,
/// and return the record that makes them evidence (not yet committed) and
/// the number of bytes newly stored.
pub fn preserve_arrived(
    store: &Store,
    arrived: Arrived,
    origin: Origin,
    opts: &IngestOptions,
) -> Result<(Record, u64), IngestError> {
    preserve_arrived_timed(store, arrived, origin, opts, &Clock::default())
}

/// [`preserve_arrived`], adding the time of each stage to `clock`.
pub(crate) fn preserve_arrived_timed(
    store: &Store,
    arrived: Arrived,
    origin: Origin,
    opts: &IngestOptions,
    clock: &Clock,
) -> Result<(Record, u64), IngestError> {
    let Arrived {
        staged,
        kept,
        collected_at,
    } = arrived;
    let sha = staged.sha256();

    let mut fingerprints = None;
    let mut metadata = None;
    let mut derivatives = None;
    let item = match store.catalog().item(&sha)? {
        // Known bytes were validated (and fingerprinted) when first preserved.
        Some(item) => item,
        None => {
            let t = Instant::now();
            let info = match &kept {
                Some(bytes) => probe_bytes(bytes, &opts.limits)?,
                None => probe(&mut staged.reopen()?, staged.size(), &opts.limits)?,
            };
            let mut warnings = info.warnings;
            if info.format.kind() == MediaKind::Image {
                match image_bytes(kept.as_deref(), &staged, opts) {
                    Ok(bytes) => {
                        let (fp, md) = fingerprint_and_describe(&bytes, opts, t, clock);
                        match fp {
                            Ok(fp) => fingerprints = Some(fp),
                            // The bytes are still evidence: keep them, say
                            // why they have no fingerprints.
                            Err(reason) => warnings.push(format!("not fingerprinted: {reason}")),
                        }
                        metadata = Some(md);
                    }
                    Err(reason) => warnings.push(format!("not fingerprinted: {reason}")),
                }
            } else {
                // Tools read the staged bytes (what is preserved), under
                // the store's own file name.
                Clock::add(&clock.fingerprint, t);
                let t = Instant::now();
                metadata = Some(opts.metadata.video(staged.path(), info.format));
                Clock::add(&clock.metadata, t);
                let t = Instant::now();
                match sightline_media::video_hash::hash_video_file(staged.path(), &opts.vpdq) {
                    Ok(v) => fingerprints = Some(crate::fingerprints_of_video(&v)),
                    Err(e) => warnings.push(format!("not fingerprinted: {e}")),
                }
                let survey =
                    crate::derive::survey_video(staged.path(), &opts.survey, opts.keep_keyframes);
                match survey {
                    Ok(kf) => {
                        if let Some(fp) = fingerprints.as_mut() {
                            fp.query_frames = crate::derive::query_frames(&kf);
                        }
                        if opts.keep_keyframes {
                            match crate::derive::store_derivatives(store, &kf, &opts.survey) {
                                Ok(d) => derivatives = Some(d),
                                Err(e) => warnings.push(format!("no keyframes: {e}")),
                            }
                        }
                    }
                    Err(e) => warnings.push(format!("no keyframes: {e}")),
                }
                Clock::add(&clock.video, t);
            }
            EvidenceItem {
                sha256: sha,
                size: staged.size(),
                kind: info.format.kind(),
                format: info.format.name().to_string(),
                media_type: info.format.mime().to_string(),
                width: info.width,
                height: info.height,
                trailing_bytes: info.trailing_bytes,
                warnings,
                first_collected_at: collected_at,
            }
        }
    };
    let size = staged.size();
    let t = Instant::now();
    let stored_new = store.blobs().put(staged)?;
    Clock::add(&clock.store, t);

    let id = origin.key(&sha).id();
    let Origin { source, post } = origin;
    let sighting = Sighting {
        id,
        item: sha,
        source,
        platform: post.platform,
        post_id: post.post_id,
        author: post.author,
        caption: post.caption,
        posted_at: post.posted_at,
        post_url: post.post_url,
        lang: post.lang,
        forwarded_from: post.forwarded_from,
        links: post.links,
        tags: post.tags,
        collected_at,
        collector: opts.collector.clone(),
        tool: opts.tool.clone(),
        job_id: opts.job_id.clone(),
        received_sha256: sha,
    };
    let record = Record {
        item,
        sighting,
        fingerprints,
        metadata,
        derivatives,
        actor: opts.collector.clone(),
    };
    Ok((record, if stored_new { size } else { 0 }))
}

/// Every fingerprint (decoded once) and the metadata of an image; the
/// image's PDQ saves the metadata reader a second decode when it compares
/// the embedded thumbnail.
fn fingerprint_and_describe(
    bytes: &[u8],
    opts: &IngestOptions,
    started: Instant,
    clock: &Clock,
) -> (Result<Fingerprints, String>, Metadata) {
    let fp = sightline_media::fingerprint_image(bytes, &opts.limits);
    Clock::add(&clock.fingerprint, started);
    let t = Instant::now();
    let out = match fp {
        Ok(fp) => {
            let md = opts.metadata.image(bytes, Some(&fp.pdq.hash));
            (Ok(crate::fingerprints_of(&fp)), md)
        }
        Err(e) => (Err(e.to_string()), opts.metadata.image(bytes, None)),
    };
    Clock::add(&clock.metadata, t);
    out
}

/// The image bytes kept while copying; if they were not kept (the first
/// read was too short to recognise the image), the staged copy re-read.
fn image_bytes<'a>(
    kept: Option<&'a [u8]>,
    staged: &sightline_store::StagedBlob,
    opts: &IngestOptions,
) -> Result<std::borrow::Cow<'a, [u8]>, String> {
    let size = staged.size();
    if size > opts.max_decode_bytes {
        return Err(format!(
            "file is {size} bytes, over the {}-byte decode limit",
            opts.max_decode_bytes
        ));
    }
    let bytes = match kept {
        Some(b) => b,
        None => {
            let mut v = Vec::with_capacity(size as usize);
            staged
                .reopen()
                .map_err(|e| e.to_string())?
                .read_to_end(&mut v)
                .map_err(|e| format!("cannot reread the staged copy: {e}"))?;
            return Ok(v.into());
        }
    };
    Ok(bytes.into())
}

/// Open without blocking (a FIFO must not hang the batch) and insist on a
/// regular file, checked on the open descriptor so it cannot be swapped.
fn open_regular(path: &Path) -> Result<File, IngestError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(IngestError::from_io)?;
    let ft = file.metadata().map_err(IngestError::from_io)?.file_type();
    if ft.is_file() {
        return Ok(file);
    }
    Err(IngestError::NotAFile(if ft.is_fifo() {
        "named pipe"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "device"
    } else if ft.is_dir() {
        "directory"
    } else {
        "special file"
    }))
}
