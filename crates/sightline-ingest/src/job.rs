//! Jobs: run a checked [`Plan`] — every source, every medium — into the
//! store.
//!
//! ```text
//!  sources ─▶ posts ─▶ fetch (async, `fetch` at once) ─▶ preserve (N threads) ─▶ record
//!  tokio       one      URL bodies stream into staging;    probe, fingerprint,      caller's
//!  tasks       channel  files are handed on as paths       metadata, store blob     thread
//! ```
//!
//! Sources and downloads run on a tokio runtime; the CPU-bound preserve
//! stage runs on its own threads, and only the record stage writes to the
//! catalog. Every channel is bounded, so a fast source waits for a slow
//! stage instead of filling memory.
//!
//! Resuming: a URL whose origin (place and post) is already recorded is
//! not fetched again; a file already recorded at the same place is a
//! duplicate. Either way nothing is recorded twice, because the sighting id
//! is the idempotency key and is committed with the sighting.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::StreamExt;
use serde::Serialize;
use sightline_collect::http::{BodySink, FetchError, Fetched, Fetcher};
use sightline_collect::plan::{Plan, SourceSpec, Timeline};
use sightline_collect::sources::{self, Context, Source as _};
use sightline_collect::{MediaRef, Post, SourceError};
use sightline_core::{Source, SourceKind};
use sightline_store::Store;

use crate::preserve::{self, Arrived, Intake, Origin, PostFacts};
use crate::{
    FileOutcome, IngestError, IngestOptions, Observer, Outcome, Preserved, RunError, Summary,
};

/// Time spent per stage, summed over items (seconds). With concurrency the
/// sums exceed the wall time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Downloading (and hashing while writing to staging) or reading files.
    pub fetch_s: f64,
    /// Probing, decoding and fingerprinting.
    pub fingerprint_s: f64,
    /// Reading metadata (EXIF, XMP, C2PA, container).
    pub metadata_s: f64,
    /// Video passes (vPDQ, keyframe survey).
    pub video_s: f64,
    /// Moving the blob into place.
    pub store_s: f64,
    /// Committing the record (journal append and fsync, indexes).
    pub record_s: f64,
    /// Matching near-duplicates and updating clusters.
    pub cluster_s: f64,
}

/// Nanosecond counters the stages add to from any thread.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    pub fetch: AtomicU64,
    pub fingerprint: AtomicU64,
    pub metadata: AtomicU64,
    pub video: AtomicU64,
    pub store: AtomicU64,
    pub record: AtomicU64,
    pub cluster: AtomicU64,
}

impl Clock {
    pub(crate) fn add(counter: &AtomicU64, since: Instant) {
        counter.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn timings(&self) -> Timings {
        let s = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 1e9;
        Timings {
            fetch_s: s(&self.fetch),
            fingerprint_s: s(&self.fingerprint),
            metadata_s: s(&self.metadata),
            video_s: s(&self.video),
            store_s: s(&self.store),
            record_s: s(&self.record),
            cluster_s: s(&self.cluster),
        }
    }
}

/// One medium to collect: what to show, where it came from, where it is.
struct Task {
    label: String,
    origin: Origin,
    media: Media,
}

enum Media {
    File(PathBuf),
    Url(String),
}

/// What the collect side hands the preserve threads.
enum Work {
    /// A local file: read it there.
    File {
        label: String,
        origin: Box<Origin>,
        path: PathBuf,
    },
    /// Bytes that arrived over HTTP.
    Arrived {
        label: String,
        origin: Box<Origin>,
        arrived: Arrived,
        content_type: Option<String>,
    },
}

/// What the collect and preserve sides tell the record stage.
enum Msg {
    Discovered,
    Done(Preserved),
    /// Collected by an earlier run: not fetched again.
    Skipped {
        label: String,
    },
}

/// Run every source of `plan` into the store. `opts` supplies the
/// collector, job id, limits and fingerprinting settings; the plan's own
/// limits (file size, workers) take precedence where it sets them.
pub fn run_plan(
    store: &Store,
    plan: &Plan,
    opts: &IngestOptions,
    observer: &mut dyn Observer,
) -> Result<Summary, RunError> {
    let started_at = Utc::now();
    let wall = Instant::now();
    let mut opts = opts.clone();
    opts.max_file_bytes = opts.max_file_bytes.min(plan.max_file_bytes);
    let opts = &opts;
    let mut verifier = crate::verify::StoreVerifier::new(store, opts.limits);
    let mut matcher = crate::similar::open_matcher(store.catalog(), &mut verifier)?;
    // Folders never need the network; anything else may.
    let needs_http = plan
        .sources
        .iter()
        .any(|s| !matches!(s, SourceSpec::Folder { .. }));
    let fetcher = if needs_http {
        Some(Fetcher::new(plan.fetch.clone()).map_err(|e| RunError::Setup(e.to_string()))?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sightline-collect")
        .enable_all()
        .build()
        .map_err(|e| RunError::Setup(format!("cannot start the async runtime: {e}")))?;

    let workers = plan.preserve_workers.max(1);
    let (work_tx, work_rx) = tokio::sync::mpsc::channel::<Work>(workers * 2);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<Msg>(workers * 4 + 64);
    let clock = Clock::default();
    let mut summary = Summary::new(&opts.job_id, started_at);

    std::thread::scope(|scope| -> Result<(), RunError> {
        // Collect: sources and downloads on the runtime.
        let collect_done = done_tx.clone();
        let (rt, clock_ref, fetcher_ref) = (&runtime, &clock, fetcher.as_ref());
        let collector = scope.spawn(move || {
            rt.block_on(collect(
                store,
                plan,
                opts,
                fetcher_ref,
                work_tx,
                collect_done,
                clock_ref,
            ));
        });

        // Preserve: CPU-bound, on threads of its own.
        let mut pool = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (work_rx, done_tx, clock) = (&work_rx, done_tx.clone(), &clock);
            pool.push(scope.spawn(move || {
                loop {
                    let next = work_rx.lock().map(|mut rx| rx.blocking_recv());
                    let Ok(Some(work)) = next else { return };
                    let msg = Msg::Done(preserve_work(store, work, opts, clock));
                    if done_tx.send(msg).is_err() {
                        return;
                    }
                }
            }));
        }
        drop(done_tx);

        // Record: here, one at a time.
        for msg in done_rx {
            match msg {
                Msg::Discovered => observer.discovered(),
                Msg::Skipped { label } => {
                    let outcome = FileOutcome {
                        path: label,
                        result: Outcome::Skipped,
                    };
                    summary.tally(&outcome);
                    observer.finished(&outcome);
                    summary.outcomes.push(outcome);
                }
                Msg::Done(p) => crate::record(
                    store,
                    (&mut matcher, &mut verifier),
                    p,
                    &mut summary,
                    observer,
                    &clock,
                ),
            }
        }
        collector
            .join()
            .map_err(|_| RunError::Thread("collector".into()))?;
        for w in pool {
            w.join()
                .map_err(|_| RunError::Thread("preserve worker".into()))?;
        }
        Ok(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));

    let _ = store.catalog().flush();
    summary.finished_at = Utc::now();
    summary.elapsed_s = wall.elapsed().as_secs_f64();
    summary.timings = clock.timings();
    Ok(summary)
}

/// The async side: run the sources, turn posts into tasks, fetch.
async fn collect(
    store: &Store,
    plan: &Plan,
    opts: &IngestOptions,
    fetcher: Option<&Fetcher>,
    work: tokio::sync::mpsc::Sender<Work>,
    done: crossbeam_channel::Sender<Msg>,
    clock: &Clock,
) {
    let cx = Context {
        fetcher: fetcher.cloned(),
        max_document_bytes: plan.max_document_bytes,
        max_pages: plan.max_pages,
    };
    let (post_tx, post_rx) = tokio::sync::mpsc::channel::<Result<Post, SourceError>>(64);
    let run_sources = async move {
        for spec in &plan.sources {
            run_source(spec, &cx, &post_tx).await;
        }
        drop(post_tx);
    };

    let tags = plan.tags.clone();
    let tasks = futures_util::stream::unfold(post_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .flat_map(move |item| {
        futures_util::stream::iter(match item {
            Ok(post) => tasks_of(&post, &tags),
            Err(e) => vec![Err(e)],
        })
    });

    let fetch_all = tasks.for_each_concurrent(plan.fetch_concurrency.max(1), |item| {
        let (work, done) = (work.clone(), done.clone());
        async move {
            let _ = done.send(Msg::Discovered);
            let task = match item {
                Ok(t) => t,
                Err(e) => {
                    let _ = done.send(Msg::Done(Preserved::Rejected(FileOutcome {
                        path: e.origin.clone(),
                        result: Outcome::Rejected {
                            code: e.code,
                            reason: e.reason.clone(),
                        },
                    })));
                    return;
                }
            };
            let Task {
                label,
                origin,
                media,
            } = task;
            let next = match media {
                Media::File(path) => Some(Work::File {
                    label,
                    origin: Box::new(origin),
                    path,
                }),
                Media::Url(_) => fetch_one(store, opts, fetcher, label, origin, &done, clock).await,
            };
            if let Some(w) = next {
                let _ = work.send(w).await;
            }
        }
    });
    tokio::join!(run_sources, fetch_all);
}

async fn run_source(spec: &SourceSpec, cx: &Context, out: &sources::Emit) {
    match spec {
        SourceSpec::Folder { paths } => {
            let (paths, out2) = (paths.clone(), out.clone());
            let walked = tokio::task::spawn_blocking(move || {
                crate::walk::walk(&paths, |found| {
                    let post = match found.verdict {
                        Ok(()) => Ok(Post {
                            origin: found.shown.clone(),
                            media: vec![MediaRef::Path(found.path)],
                            ..Post::default()
                        }),
                        Err(e) => Err(SourceError {
                            origin: found.shown,
                            code: e.code(),
                            reason: e.to_string(),
                        }),
                    };
                    out2.blocking_send(post).is_ok()
                });
            })
            .await;
            if let Err(e) = walked {
                tracing::error!("folder walker failed: {e}");
            }
        }
        SourceSpec::Manifest { path } => {
            sources::manifest::ManifestSource { path: path.clone() }
                .run(cx, out)
                .await
        }
        SourceSpec::Urls { urls } => {
            for u in urls {
                let post = Post {
                    origin: u.clone(),
                    media: vec![MediaRef::Url(u.clone())],
                    ..Post::default()
                };
                if out.send(Ok(post)).await.is_err() {
                    return;
                }
            }
        }
        SourceSpec::Telegram { export } => {
            sources::telegram::TelegramSource {
                export: export.clone(),
            }
            .run(cx, out)
            .await
        }
        SourceSpec::Mastodon {
            instance,
            timeline,
            max_pages,
        } => {
            let timeline = match timeline {
                Timeline::Account(a) => sources::mastodon::Timeline::Account(a.clone()),
                Timeline::Hashtag(h) => sources::mastodon::Timeline::Hashtag(h.clone()),
            };
            sources::mastodon::MastodonSource {
                instance: instance.clone(),
                timeline,
                max_pages: *max_pages,
                only_media: true,
            }
            .run(cx, out)
            .await
        }
        SourceSpec::Feed { url } => {
            sources::feed::FeedSource { url: url.clone() }
                .run(cx, out)
                .await
        }
    }
}

/// One task per medium of a post.
fn tasks_of(post: &Post, tags: &[String]) -> Vec<Result<Task, SourceError>> {
    let facts = PostFacts {
        platform: post.platform.clone(),
        post_id: post.post_id.clone(),
        post_url: post.url.clone(),
        author: post.author.clone(),
        caption: post.caption.clone(),
        posted_at: post.posted_at.clone(),
        lang: post.lang.clone(),
        forwarded_from: post.forwarded_from.clone(),
        links: post.links.clone(),
        tags: tags.to_vec(),
    };
    let several = post.media.len() > 1;
    post.media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let via = if several {
                format!("{} medium {}", post.origin, i + 1)
            } else {
                post.origin.clone()
            };
            let (kind, locator, media) = match m {
                MediaRef::Path(p) => {
                    let locator = crate::walk::locator(p).unwrap_or_else(|_| crate::walk::show(p));
                    (SourceKind::File, locator, Media::File(p.clone()))
                }
                MediaRef::Url(u) => (SourceKind::Url, u.clone(), Media::Url(u.clone())),
                MediaRef::Missing { what, reason } => {
                    return Err(SourceError {
                        origin: format!("{via}: {what}"),
                        code: "media-missing",
                        reason: reason.clone(),
                    });
                }
            };
            let label = match &media {
                Media::File(p) => crate::walk::show(p),
                Media::Url(u) => u.clone(),
            };
            Ok(Task {
                label,
                origin: Origin {
                    source: Source {
                        kind,
                        locator,
                        final_url: None,
                        redirects: Vec::new(),
                        http_status: None,
                        headers: Vec::new(),
                        remote_addr: None,
                        via: Some(via),
                    },
                    post: facts.clone(),
                },
                media,
            })
        })
        .collect()
}

/// Download one URL into staging, unless an earlier run collected it.
async fn fetch_one(
    store: &Store,
    opts: &IngestOptions,
    fetcher: Option<&Fetcher>,
    label: String,
    mut origin: Origin,
    done: &crossbeam_channel::Sender<Msg>,
    clock: &Clock,
) -> Option<Work> {
    // A URL medium's locator is the URL asked for.
    let url = origin.source.locator.clone();
    let url = url.as_str();
    let reject = |code: &'static str, reason: String| {
        let _ = done.send(Msg::Done(Preserved::Rejected(FileOutcome {
            path: label.clone(),
            result: Outcome::Rejected { code, reason },
        })));
    };
    match store.catalog().sighting_from(&origin.origin_key()) {
        Ok(Some(_)) => {
            let _ = done.send(Msg::Skipped {
                label: label.clone(),
            });
            return None;
        }
        Ok(None) => {}
        Err(e) => {
            reject("store", e.to_string());
            return None;
        }
    }
    let Some(fetcher) = fetcher else {
        reject("no-fetcher", "no http client configured".into());
        return None;
    };
    let t = Instant::now();
    let mut sink = match IntakeSink::new(store, opts) {
        Ok(s) => s,
        Err(e) => {
            reject(e.code(), e.to_string());
            return None;
        }
    };
    let result = fetcher.fetch(url, opts.max_file_bytes, &mut sink).await;
    Clock::add(&clock.fetch, t);
    let fetched = match result {
        Ok(f) => f,
        Err(e) => {
            let (code, reason) = match (&e, sink.failed.take()) {
                // The intake refused the bytes (size, disk): say why.
                (FetchError::Sink(_), Some(inner)) => (inner.code(), inner.to_string()),
                _ => (e.code(), e.to_string()),
            };
            tracing::warn!(url, code, "fetch failed: {reason}");
            reject(code, reason);
            return None;
        }
    };
    let arrived = match sink.intake.finish() {
        Ok(a) => a,
        Err(e) => {
            reject(e.code(), e.to_string());
            return None;
        }
    };
    fill_source(&mut origin.source, &fetched);
    Some(Work::Arrived {
        label,
        origin: Box::new(origin),
        arrived,
        content_type: fetched.header("content-type").map(str::to_string),
    })
}

/// The collection facts of a fetch, on the sighting's source.
fn fill_source(source: &mut Source, f: &Fetched) {
    source.final_url = Some(f.final_url.clone());
    source.redirects = f.redirects.iter().map(|h| h.url.clone()).collect();
    source.http_status = Some(f.status);
    source.headers = f.headers.clone();
    source.remote_addr = f.remote_addr.clone();
}

/// An [`Intake`] as the fetcher's body sink.
struct IntakeSink<'s> {
    intake: Intake<'s>,
    /// Why the intake refused a chunk (the fetcher only sees an io error).
    failed: Option<IngestError>,
}

impl<'s> IntakeSink<'s> {
    fn new(store: &'s Store, opts: &IngestOptions) -> Result<Self, IngestError> {
        Ok(IntakeSink {
            intake: Intake::new(store, None, opts)?,
            failed: None,
        })
    }
}

impl BodySink for IntakeSink<'_> {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.intake.push(chunk).map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            self.failed = Some(e);
            io
        })
    }

    fn restart(&mut self) -> std::io::Result<()> {
        self.failed = None;
        self.intake
            .restart()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// The preserve stage for one piece of work.
fn preserve_work(store: &Store, work: Work, opts: &IngestOptions, clock: &Clock) -> Preserved {
    match work {
        Work::File {
            label,
            origin,
            path,
        } => {
            let t = Instant::now();
            let arrived = preserve::take_file(store, &path, opts);
            Clock::add(&clock.fetch, t);
            match arrived {
                Ok(a) => finish(store, label, *origin, a, None, opts, clock),
                Err(e) => Preserved::Rejected(crate::rejected(label, &e)),
            }
        }
        Work::Arrived {
            label,
            origin,
            arrived,
            content_type,
        } => finish(store, label, *origin, arrived, content_type, opts, clock),
    }
}

fn finish(
    store: &Store,
    label: String,
    origin: Origin,
    arrived: Arrived,
    content_type: Option<String>,
    opts: &IngestOptions,
    clock: &Clock,
) -> Preserved {
    match preserve::preserve_arrived_timed(store, arrived, origin, opts, clock) {
        Ok((mut record, bytes)) => {
            // The bytes decide what a file is; a server that named another
            // type is worth a line on a new item (a known item stands as
            // first recorded).
            if let Some(ct) = content_type.as_deref()
                && let Some(said) = declared_type_disagrees(ct, &record.item.media_type)
            {
                record.item.warnings.push(format!(
                    "the server said {said}; the bytes are {}",
                    record.item.media_type
                ));
            }
            Preserved::Ready {
                path: label,
                record: Box::new(record),
                bytes,
            }
        }
        Err(e) => {
            let mut outcome = crate::rejected(label, &e);
            // A server that called this media but sent something else:
            // say what it claimed.
            if let (Some(ct), Outcome::Rejected { reason, .. }) =
                (content_type, &mut outcome.result)
            {
                reason.push_str(&format!(" (the server said {ct})"));
            }
            Preserved::Rejected(outcome)
        }
    }
}

/// The declared media type (without parameters, lower case) when it names a
/// specific type other than the sniffed one; `None` when it agrees or says
/// nothing specific (`application/octet-stream` and the like).
fn declared_type_disagrees(content_type: &str, sniffed: &str) -> Option<String> {
    let declared = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let canonical = |t: &str| -> String {
        match t {
            "image/jpg" | "image/pjpeg" => "image/jpeg".into(),
            "image/x-png" => "image/png".into(),
            "video/x-m4v" => "video/mp4".into(),
            other => other.into(),
        }
    };
    let generic = declared.is_empty()
        || declared == "application/octet-stream"
        || declared == "binary/octet-stream"
        || declared == "application/binary";
    (!generic && canonical(&declared) != canonical(&sniffed.to_ascii_lowercase()))
        .then_some(declared)
}

#[cfg(test)]
mod tests {
    use super::declared_type_disagrees;

    #[test]
    fn a_declared_type_is_compared_with_what_the_bytes_are() {
        assert_eq!(declared_type_disagrees("image/jpeg", "image/jpeg"), None);
        assert_eq!(
            declared_type_disagrees("IMAGE/JPG; q=1", "image/jpeg"),
            None
        );
        assert_eq!(
            declared_type_disagrees("application/octet-stream", "video/mp4"),
            None
        );
        assert_eq!(
            declared_type_disagrees("text/html; charset=utf-8", "image/png").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            declared_type_disagrees("image/png", "image/webp").as_deref(),
            Some("image/png")
        );
    }
}
