//! The fingerprint subcommands: `fingerprint`, `similar`, `clusters`,
//! `reindex`.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use sightline_core::{Fingerprints, MediaKind, Sha256};
use sightline_ingest::similar::{Match, open_matcher, recluster};
use sightline_ingest::verify::{Query, StoreVerifier, features_of_image};
use sightline_media::Limits;
use sightline_store::Store;

use crate::cli::{FingerprintArgs, SimilarArgs};
use crate::output::{json_line, safe, say};

/// Largest file `fingerprint` and `similar` will read into memory.
const MAX_DECODE_BYTES: u64 = 256 << 20;

/// What one file fingerprints to.
struct Fingerprinted {
    sha256: Sha256,
    media_type: &'static str,
    fp: Fingerprints,
}

fn fingerprint_bytes(bytes: &[u8]) -> Result<Fingerprinted, String> {
    let sha256 = Sha256::of(bytes);
    let limits = Limits::default();
    let info = sightline_media::probe_bytes(bytes, &limits).map_err(|e| e.to_string())?;
    if info.format.kind() == MediaKind::Video {
        return Err(format!(
            "{} is a video; video fingerprints (vPDQ) are not computed yet",
            info.format
        ));
    }
    let fp = sightline_media::fingerprint_image(bytes, &limits).map_err(|e| e.to_string())?;
    Ok(Fingerprinted {
        sha256,
        media_type: info.format.mime(),
        fp: sightline_ingest::fingerprints_of(&fp),
    })
}

fn read_capped(r: &mut dyn Read, what: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    r.take(MAX_DECODE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if bytes.len() as u64 > MAX_DECODE_BYTES {
        return Err(format!("{what} is over the {MAX_DECODE_BYTES}-byte limit"));
    }
    Ok(bytes)
}

fn fingerprint_path(path: &Path) -> Result<Fingerprinted, String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    if !f.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err("not a regular file".into());
    }
    let mut head = Vec::with_capacity(64);
    (&mut f)
        .take(64)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read: {e}"))?;
    let video = sightline_media::sniff(&head)
        .format()
        .is_some_and(|fmt| fmt.kind() == MediaKind::Video);
    if video {
        return fingerprint_video(path, &mut f, head);
    }
    let mut bytes = head;
    (&mut f)
        .take(MAX_DECODE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if bytes.len() as u64 > MAX_DECODE_BYTES {
        return Err(format!("file is over the {MAX_DECODE_BYTES}-byte limit"));
    }
    fingerprint_bytes(&bytes)
}

/// vPDQ of a video (ffmpeg in a sandbox, 1 frame per second), with the
/// SHA-256 of its bytes streamed.
fn fingerprint_video(
    path: &Path,
    f: &mut std::fs::File,
    head: Vec<u8>,
) -> Result<Fingerprinted, String> {
    let mut hasher = sightline_core::Sha256Hasher::new();
    hasher.update(&head);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("cannot read: {e}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sha256 = hasher.finish();
    let opts = sightline_media::video_hash::VpdqOptions::default();
    let v = sightline_media::video_hash::hash_video_file(path, &opts).map_err(|e| e.to_string())?;
    let info = sightline_media::sniff(&head).format();
    Ok(Fingerprinted {
        sha256,
        media_type: info.map_or("video", |f| f.mime()),
        fp: sightline_ingest::fingerprints_of_video(&v),
    })
}

pub fn fingerprint(args: FingerprintArgs) -> anyhow::Result<ExitCode> {
    for path in &args.files {
        let shown = sightline_ingest::walk::show(path);
        match fingerprint_path(path) {
            Ok(f) => {
                let fp = &f.fp;
                if args.json {
                    json_line(&json!({
                        "path": shown,
                        "sha256": f.sha256,
                        "media_type": f.media_type,
                        "width": fp.width,
                        "height": fp.height,
                        "frames": fp.frames,
                        "orientation": fp.orientation,
                        "mode": fp.mode,
                        "pdq": { "hash": fp.pdq.hash, "quality": fp.pdq.quality },
                        "pdq_dihedral": fp.pdq_dihedral,
                        "ahash": fp.ahash,
                        "dhash": fp.dhash,
                        "phash": fp.phash,
                        "blockhash": fp.blockhash,
                        "regions": fp.regions.iter().map(|r| json!({
                            "kind": r.kind,
                            "rect": r.rect,
                            "pdq": { "hash": r.pdq.hash, "quality": r.pdq.quality },
                        })).collect::<Vec<_>>(),
                        "duration": fp.duration_ms.map(|d| d as f64 / 1000.0),
                        "vpdq": fp.vpdq.iter().map(|v| json!({
                            "frame": v.frame,
                            "quality": v.quality,
                            "hash": v.hash,
                            "timestamp": v.timestamp_ms as f64 / 1000.0,
                        })).collect::<Vec<_>>(),
                    }))?;
                } else {
                    say!("{}", safe(&shown));
                    say!("  sha256     {}", f.sha256);
                    say!("  media      {} {}x{}", f.media_type, fp.width, fp.height);
                    say!("  pdq        {} quality {}", fp.pdq.hash, fp.pdq.quality);
                    if let Some(d) = fp.duration_ms {
                        say!(
                            "  duration   {:.3} s, {} frames hashed (vpdq)",
                            d as f64 / 1000.0,
                            fp.vpdq.len()
                        );
                    }
                    if !fp.ahash.is_empty() {
                        say!("  ahash      {}", fp.ahash);
                        say!("  dhash      {}", fp.dhash);
                        say!("  phash      {}", fp.phash);
                        say!("  blockhash  {}", fp.blockhash);
                    }
                    for r in &fp.regions {
                        say!(
                            "  region     {} at {:?}: pdq {} quality {}",
                            r.kind,
                            r.rect,
                            r.pdq.hash,
                            r.pdq.quality
                        );
                    }
                }
            }
            Err(error) => {
                if args.json {
                    json_line(&json!({ "path": shown, "error": error }))?;
                } else {
                    say!("{}", safe(&shown));
                    say!("  error      {}", safe(&error));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Find a stored item by a unique prefix of its address.
pub fn resolve(store: &Store, id: &str) -> anyhow::Result<sightline_core::EvidenceItem> {
    let id = id.trim();
    if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "item id must be at least 4 hex characters of a sha-256, got {:?}",
            safe(id)
        );
    }
    let found = store.catalog().items_with_prefix(id, 10)?;
    match found.as_slice() {
        [] => bail!("no item with id {id}"),
        [one] => Ok(one.clone()),
        many => bail!(
            "id {id} is ambiguous: {}",
            many.iter()
                .map(|i| i.sha256.short())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub fn similar(store: &Store, args: SimilarArgs) -> anyhow::Result<ExitCode> {
    let path = Path::new(&args.target);
    if path.is_file() && is_video(path) {
        return similar_video(store, path, &args);
    }
    let (me, fp) = if path.is_file() {
        let f = fingerprint_path(path)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("cannot fingerprint {}", safe(&args.target)))?;
        (None, f.fp)
    } else {
        let item = resolve(store, &args.target)?;
        let Some(fp) = store.catalog().fingerprints(&item.sha256)? else {
            bail!(
                "item {} has no fingerprints (videos are not fingerprinted yet; `sightline reindex` fingerprints images stored before fingerprinting existed)",
                item.sha256.short()
            );
        };
        (Some(item.sha256), fp)
    };
    let mut verifier = StoreVerifier::new(store, Limits::default());
    let matcher = open_matcher(store.catalog(), &mut verifier)?;
    // Doubtful candidates are confirmed against the query's own pixels.
    let file_features = match me {
        Some(_) => None,
        None => std::fs::read(path)
            .ok()
            .and_then(|b| features_of_image(&b, &Limits::default())),
    };
    let query = match (&me, &file_features) {
        (Some(sha), _) => Some(Query::Stored(sha)),
        (None, Some(f)) => Some(Query::Features(f)),
        (None, None) => None,
    };
    let found = match query {
        Some(q) => matcher.matches_verified(me.as_ref(), &fp, args.max_distance, q, &mut verifier),
        None => matcher.matches(me.as_ref(), &fp, args.max_distance),
    };
    for m in &found {
        print_match(store, m, args.json)?;
    }
    if !args.json && found.is_empty() {
        say!("no stored item within distance {}", args.max_distance);
    }
    Ok(ExitCode::SUCCESS)
}

fn is_video(path: &Path) -> bool {
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .is_ok()
        && sightline_media::sniff(&head)
            .format()
            .is_some_and(|f| f.kind() == MediaKind::Video)
}

/// A video searched against the store: every frame of the query is hashed
/// (so a clip is found whatever its phase against the stored 1-second
/// samples), each distinct frame is looked up in the index, and every
/// stored video hit is then compared frame by frame with the reference
/// vPDQ rule, giving the matching time ranges on both sides.
fn similar_video(store: &Store, path: &Path, args: &SimilarArgs) -> anyhow::Result<ExitCode> {
    use sightline_media::video_hash::{
        MatchOptions, VpdqFrame, VpdqOptions, hash_video_file, match_vpdq,
    };
    let opts = VpdqOptions {
        seconds_per_hash: 0.0,
        ..VpdqOptions::default()
    };
    let v = hash_video_file(path, &opts)
        .with_context(|| format!("cannot hash {}", safe(&args.target)))?;
    // Every distinct frame of quality >= 50 becomes a query.
    let mut seen = std::collections::HashSet::new();
    let mut query = sightline_ingest::fingerprints_of_video(&v);
    query.regions = v
        .frames
        .iter()
        .filter(|f| f.quality >= 50 && seen.insert(f.hash))
        .map(|f| sightline_core::RegionFingerprint {
            kind: format!("frame@{:.3}", f.timestamp),
            rect: [0, 0, v.hashed_width, v.hashed_height],
            pdq: sightline_core::PdqFingerprint {
                hash: f.hash.to_string(),
                quality: f.quality,
            },
            dihedral: Vec::new(),
        })
        .collect();
    let matcher = open_matcher(
        store.catalog(),
        &mut StoreVerifier::new(store, Limits::default()),
    )?;
    let found = matcher.matches(None, &query, args.max_distance);
    let rule = MatchOptions {
        distance_threshold: args.max_distance,
        ..MatchOptions::default()
    };
    for m in &found {
        let stored = store.catalog().fingerprints(&m.item)?;
        let frames: Vec<VpdqFrame> = stored
            .iter()
            .flat_map(|fp| fp.vpdq.iter())
            .filter_map(|f| {
                Some(VpdqFrame {
                    frame: f.frame,
                    quality: f.quality,
                    hash: f.hash.parse().ok()?,
                    timestamp: f.timestamp_ms as f64 / 1000.0,
                })
            })
            .collect();
        if frames.is_empty() {
            // A still image matching one of the query's frames.
            print_match(store, m, args.json)?;
            continue;
        }
        let r = match_vpdq(&v.frames, &frames, &rule);
        let ms = |t: f64| (t * 1000.0).round() / 1000.0;
        let range = |rs: &[sightline_media::video_hash::MatchRange]| {
            rs.iter()
                .map(|r| json!([ms(r.start), ms(r.end)]))
                .collect::<Vec<_>>()
        };
        if args.json {
            json_line(&json!({
                "id": m.item.short(),
                "sha256": m.item,
                "distance": m.distance,
                "matched": { "query": m.query, "stored": m.stored },
                "vpdq": {
                    "query_match_percent": r.query_match_percent,
                    "compared_match_percent": r.compared_match_percent,
                    "query_ranges": range(&r.query_ranges),
                    "stored_ranges": range(&r.compared_ranges),
                },
                "first_seen": first_seen(store, &m.item)?,
            }))?;
        } else {
            print_match(store, m, false)?;
            let fmt = |rs: &[sightline_media::video_hash::MatchRange]| {
                rs.iter()
                    .map(|r| format!("{:.2}-{:.2} s", r.start, r.end))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            say!(
                "    {:.0}% of the stored video's frames found ({}), at {} of the query",
                r.compared_match_percent,
                fmt(&r.compared_ranges),
                fmt(&r.query_ranges)
            );
        }
    }
    if !args.json && found.is_empty() {
        say!("no stored item within distance {}", args.max_distance);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_match(store: &Store, m: &Match, json: bool) -> anyhow::Result<()> {
    let item = store.catalog().item(&m.item)?;
    let first_seen = first_seen(store, &m.item)?;
    if json {
        return json_line(&json!({
            "id": m.item.short(),
            "sha256": m.item,
            "distance": m.distance,
            "matched": { "query": m.query, "stored": m.stored },
            "verified": m.verified,
            "format": item.as_ref().map(|i| i.format.clone()),
            "first_seen": first_seen,
        }));
    }
    let confirmed = m.verified.map_or(String::new(), |v| {
        format!(
            "  confirmed by {} matching keypoints (rotated {:.1}°, scale {:.2})",
            v.inliers, v.rotation_deg, v.scale
        )
    });
    say!(
        "{}  distance {:>3}  {} ~ {}  first seen {}{confirmed}",
        m.item.short(),
        m.distance,
        m.query,
        m.stored,
        first_seen.map_or("-".into(), |t| t.to_rfc3339())
    );
    Ok(())
}

/// The item's earliest sighting: when it dates the item, and where it was.
fn earliest(
    store: &Store,
    sha: &Sha256,
) -> anyhow::Result<Option<(chrono::DateTime<chrono::Utc>, String)>> {
    Ok(store
        .catalog()
        .sightings_of(sha)?
        .into_iter()
        .map(|s| (s.seen_at(), s.source.locator))
        .min())
}

/// The earliest time any sighting of the item dates it.
fn first_seen(
    store: &Store,
    sha: &Sha256,
) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    Ok(earliest(store, sha)?.map(|(t, _)| t))
}

pub fn clusters(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    // Catch up on anything a crashed run left unclustered.
    open_matcher(
        store.catalog(),
        &mut StoreVerifier::new(store, Limits::default()),
    )?;
    for c in store.catalog().clusters()? {
        let mut members = Vec::with_capacity(c.members.len());
        for sha in &c.members {
            let first = earliest(store, sha)?;
            let (t, at) = first.map_or((None, None), |(t, at)| (Some(t), Some(at)));
            members.push((t, *sha, at));
        }
        // Earliest seen first; unknown times last; ties by address.
        members.sort_by_key(|(t, sha, _)| (t.is_none(), *t, *sha));
        let original = members[0].1;
        if json {
            json_line(&json!({
                "cluster": c.id,
                "members": members.iter().map(|(t, sha, at)| json!({
                    "id": sha.short(),
                    "sha256": sha,
                    "first_seen": t,
                    "first_seen_at": at,
                })).collect::<Vec<_>>(),
                "original": original.short(),
            }))?;
        } else {
            say!("cluster {} ({} items)", c.id, members.len());
            for (t, sha, at) in &members {
                let mark = if *sha == original {
                    "original"
                } else {
                    "        "
                };
                say!(
                    "  {}  {mark}  first seen {}  {}",
                    sha.short(),
                    t.map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()),
                    at.as_deref().map(safe).unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn reindex(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let actor = crate::cmd::current_user();
    let (mut added, mut failed) = (0u64, Vec::new());
    let mut pending = Vec::new();
    for item in store.catalog().items()? {
        let item = item?;
        if item.kind == MediaKind::Image && store.catalog().fingerprints(&item.sha256)?.is_none() {
            pending.push(item.sha256);
        }
    }
    for sha in pending {
        let result = store
            .blobs()
            .open(&sha)
            .map_err(|e| e.to_string())
            .and_then(|mut r| read_capped(&mut r, "blob"))
            .and_then(|bytes| fingerprint_bytes(&bytes));
        match result {
            Ok(f) => {
                if store.catalog().add_fingerprints(&sha, f.fp, &actor)? {
                    added += 1;
                }
            }
            Err(e) => failed.push((sha, e)),
        }
    }
    let clusters = recluster(
        store.catalog(),
        &mut StoreVerifier::new(store, Limits::default()),
    )?;
    // Clusters changed: what near-duplicates lend each item changed too.
    if !store.catalog().incidents()?.is_empty() {
        sightline_incidents::refresh_all(
            store.catalog(),
            &crate::incidents::gazetteer(store.root())?,
        )?;
    }
    if json {
        json_line(&json!({
            "fingerprinted": added,
            "failed": failed.iter().map(|(sha, e)| json!({"sha256": sha, "error": e})).collect::<Vec<_>>(),
            "clusters": clusters,
        }))?;
    } else {
        say!("fingerprinted {added} images; {clusters} clusters");
        for (sha, e) in &failed {
            say!("  {}  not fingerprinted: {}", sha.short(), safe(e));
        }
    }
    Ok(ExitCode::SUCCESS)
}
