//! Preserve: copy one file's bytes into the store while hashing them,
//! validate them, and prepare the record that will make them evidence.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use chrono::Utc;
use sightline_core::{
    EvidenceItem, Fingerprints, MediaKind, Metadata, Sighting, SightingKey, Source, SourceKind,
};
use sightline_media::{Sniffed, probe, probe_bytes, sniff};
use sightline_store::{Record, Store};

use crate::{IngestError, IngestOptions};

/// Bytes read per read call while copying.
const CHUNK: usize = 1 << 20;

/// Copy `path` into the store and return the record to commit. The blob is
/// durable before this returns (blob first, record second), so a crash
/// leaves at worst a blob whose record a re-run adds.
pub fn preserve(
    store: &Store,
    path: &Path,
    opts: &IngestOptions,
) -> Result<(Record, u64), IngestError> {
    let locator = crate::walk::locator(path)?;
    let mut file = open_regular(path)?;
    let len = file.metadata().map_err(IngestError::from_io)?.len();
    if len > opts.max_file_bytes {
        return Err(IngestError::TooLarge {
            size: len,
            limit: opts.max_file_bytes,
        });
    }

    // Stream into staging, hashing as we go. An image small enough to
    // decode is also kept in memory as it passes (recognised from its first
    // bytes), so it is probed and decoded without reading it a second time;
    // anything else is never held whole.
    let mut stager = store.blobs().stage()?;
    let mut buf = vec![0u8; CHUNK];
    let mut kept: Option<Vec<u8>> = None;
    let mut first = true;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(IngestError::from_io(e)),
        };
        if stager.size() + n as u64 > opts.max_file_bytes {
            // The file grew while we read it.
            return Err(IngestError::TooLarge {
                size: stager.size() + n as u64,
                limit: opts.max_file_bytes,
            });
        }
        if first {
            first = false;
            let image =
                matches!(sniff(&buf[..n]), Sniffed::Media(f) if f.kind() == MediaKind::Image);
            if image && len <= opts.max_decode_bytes {
                kept = Some(Vec::with_capacity(len as usize));
            }
        }
        if let Some(k) = kept.as_mut() {
            if (k.len() + n) as u64 > opts.max_decode_bytes {
                kept = None; // grew past the limit while being read
            } else {
                k.extend_from_slice(&buf[..n]);
            }
        }
        stager.write_all(&buf[..n]).map_err(|e| {
            IngestError::Store(sightline_store::StoreError::Io {
                context: "write staging file".into(),
                source: e,
            })
        })?;
    }
    let collected_at = Utc::now();
    let staged = stager.finish()?;
    let sha = staged.sha256();

    let mut fingerprints = None;
    let mut metadata = None;
    let mut derivatives = None;
    let item = match store.catalog().item(&sha)? {
        // Known bytes were validated (and fingerprinted) when first preserved.
        Some(item) => item,
        None => {
            let info = match &kept {
                Some(bytes) => probe_bytes(bytes, &opts.limits)?,
                None => probe(&mut staged.reopen()?, staged.size(), &opts.limits)?,
            };
            let mut warnings = info.warnings;
            if info.format.kind() == MediaKind::Image {
                match image_bytes(kept.as_deref(), &staged, opts) {
                    Ok(bytes) => {
                        let (fp, md) = fingerprint_and_describe(&bytes, opts);
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
                metadata = Some(opts.metadata.video(staged.path(), info.format));
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
    let stored_new = store.blobs().put(staged)?;

    let id = SightingKey {
        item: &sha,
        kind: SourceKind::File,
        locator: &locator,
        platform: None,
        post_id: None,
    }
    .id();
    let sighting = Sighting {
        id,
        item: sha,
        source: Source::file(locator),
        platform: None,
        post_id: None,
        author: None,
        caption: None,
        posted_at: None,
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
) -> (Result<Fingerprints, String>, Metadata) {
    match sightline_media::fingerprint_image(bytes, &opts.limits) {
        Ok(fp) => {
            let md = opts.metadata.image(bytes, Some(&fp.pdq.hash));
            (Ok(crate::fingerprints_of(&fp)), md)
        }
        Err(e) => (Err(e.to_string()), opts.metadata.image(bytes, None)),
    }
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
