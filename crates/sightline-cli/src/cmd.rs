//! One function per subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sightline_core::{DerivedKind, Event};
use sightline_ingest::{FileOutcome, IngestOptions, Observer, Quiet};
use sightline_store::{Severity, Store};

use crate::cli::{Cli, Command, IngestArgs, JobArgs, RunArgs, ShowArgs};
use crate::output::{bytes, json_line, safe, say};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let dir = data_dir(cli.data_dir)?;
    match cli.command {
        Command::Ingest(args) => ingest(&dir, args),
        Command::Run(args) => run_pipeline(&dir, args),
        Command::Ls(args) => ls(&open(&dir)?, args.json),
        Command::Show(args) => show(&open(&dir)?, args),
        Command::Check(args) => check(&open(&dir)?, args.json),
        Command::Rebuild(args) => rebuild(&dir, args.json),
        Command::History(args) => history(&open(&dir)?, args.json),
        Command::Fingerprint(args) => crate::similar::fingerprint(args),
        Command::Similar(args) => crate::similar::similar(&open(&dir)?, args),
        Command::Clusters(args) => crate::similar::clusters(&open(&dir)?, args.json),
        Command::Reindex(args) => crate::similar::reindex(&open(&dir)?, args.json),
        Command::Metadata(args) => crate::metadata::metadata(args),
        Command::Keyframes(args) => crate::keyframes::keyframes(&open(&dir)?, args),
        Command::Incidents(args) => crate::incidents::incidents(&open(&dir)?, args.command),
        Command::Candidates(args) => crate::incidents::candidates(&open(&dir)?, args),
        Command::Decide(args) => crate::incidents::decide(&open(&dir)?, args),
        Command::Gazetteer(args) => crate::incidents::gazetteer_cmd(&dir, args.command),
    }
}

/// `--data-dir`, then `SIGHTLINE_DATA` (both via clap), then the platform's
/// data dir.
fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = given {
        // A relative data dir is taken from where the command runs.
        return std::path::absolute(&d).with_context(|| format!("data dir {}", d.display()));
    }
    match dirs::data_dir() {
        Some(d) => Ok(d.join("sightline")),
        None => bail!("no data dir: pass --data-dir or set SIGHTLINE_DATA"),
    }
}

fn open(dir: &std::path::Path) -> anyhow::Result<Store> {
    Store::open_embedded(dir).with_context(|| format!("cannot open the store in {}", dir.display()))
}

fn ingest(dir: &std::path::Path, args: IngestArgs) -> anyhow::Result<ExitCode> {
    use sightline_collect::plan::{Plan, SourceSpec};
    let mut plan = Plan::adhoc("ingest");
    let is_url = |p: &PathBuf| {
        p.to_str()
            .is_some_and(|s| s.starts_with("http://") || s.starts_with("https://"))
    };
    let (urls, paths): (Vec<PathBuf>, Vec<PathBuf>) = args.paths.into_iter().partition(is_url);
    let urls: Vec<String> = urls
        .iter()
        .filter_map(|u| u.to_str().map(str::to_string))
        .collect();
    for u in &urls {
        sightline_collect::plan::web_url(u).map_err(anyhow::Error::msg)?;
    }
    if !paths.is_empty() {
        plan.sources.push(SourceSpec::Folder { paths });
    }
    if !urls.is_empty() {
        plan.sources.push(SourceSpec::Urls { urls });
    }
    for m in args.manifest {
        plan.sources.push(SourceSpec::Manifest { path: m });
    }
    let allow: Vec<&str> = args.allow.iter().map(String::as_str).collect();
    plan.fetch.guard = sightline_collect::guard::Guard::new(&allow).context("--allow")?;
    plan.fetch_concurrency = args.fetch_concurrency.clamp(1, 256);
    let job_id = args.common.job_id.clone().unwrap_or_else(|| {
        format!(
            "ingest-{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
            std::process::id()
        )
    });
    run_job(dir, plan, job_id, None, args.common)
}

fn run_pipeline(dir: &std::path::Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let vars = args.vars.iter().cloned().collect();
    let plan = sightline_collect::plan::Plan::load(&args.pipeline, &vars)?;
    if args.check {
        say!("{} is valid: job {:?}", args.pipeline.display(), plan.name);
        for s in &plan.sources {
            say!("  source {:<9} {}", s.kind(), safe(&format!("{s:?}")));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let job_id = args
        .common
        .job_id
        .clone()
        .unwrap_or_else(|| plan.name.clone());
    let collector = plan.collector.clone();
    run_job(dir, plan, job_id, collector, args.common)
}

/// Run a plan with the options every job takes, and report.
fn run_job(
    dir: &std::path::Path,
    mut plan: sightline_collect::plan::Plan,
    job_id: String,
    plan_collector: Option<String>,
    args: JobArgs,
) -> anyhow::Result<ExitCode> {
    let store = open(dir)?;
    let collector = args
        .collector
        .or(plan_collector)
        .unwrap_or_else(current_user);
    let mut opts = IngestOptions::new(collector, job_id);
    opts.max_file_bytes = args.max_file_size;
    opts.limits.max_pixels = args.max_pixels;
    if let Some(w) = args.workers {
        plan.preserve_workers = w.max(1);
    }
    if args.no_keyframes {
        opts.keep_keyframes = false;
    }
    opts.metadata = crate::metadata::extractor(
        sightline_metadata::Options::default(),
        args.c2pa_trust.as_deref(),
    )?;
    // The pipeline's incident registry is brought up to date first, so new
    // items are scored against it.
    let mut registry_refused = 0;
    if let Some(reg) = &plan.incidents {
        registry_refused = crate::incidents::import_files(
            &store,
            std::slice::from_ref(reg),
            &opts.collector,
            &mut |_, _| Ok(()),
        )?;
    }

    let summary = if args.json {
        sightline_ingest::job::run_plan(&store, &plan, &opts, &mut Quiet)?
    } else {
        let mut bar = Bar::new();
        let s = sightline_ingest::job::run_plan(&store, &plan, &opts, &mut bar)?;
        bar.0.finish_and_clear();
        s
    };

    // Score what this job added (and its near-duplicates) against the
    // registry.
    let touched: Vec<sightline_core::Sha256> = summary
        .outcomes
        .iter()
        .filter_map(|o| match &o.result {
            sightline_ingest::Outcome::Recorded {
                recorded, sha256, ..
            } if *recorded != sightline_store::Recorded::Duplicate => Some(*sha256),
            _ => None,
        })
        .collect();
    let candidates = if !touched.is_empty() && !store.catalog().incidents()?.is_empty() {
        Some(sightline_incidents::refresh_items(
            store.catalog(),
            &crate::incidents::gazetteer(store.root())?,
            &touched,
        )?)
    } else {
        None
    };

    if args.json {
        json_line(&serde_json::json!({
            "data_dir": store.root(),
            "summary": summary,
            "candidates": candidates,
            "registry_rows_refused": registry_refused,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let rate = summary.files as f64 / summary.elapsed_s.max(1e-9);
    say!(
        "collected {} items in {:.2} s ({rate:.0} items/s) into {}",
        summary.files,
        summary.elapsed_s,
        store.root().display()
    );
    say!(
        "  new items      {:>6}  ({} preserved)",
        summary.new_items,
        bytes(summary.bytes_preserved)
    );
    say!(
        "  new sightings  {:>6}  (known bytes seen somewhere new)",
        summary.new_sightings
    );
    say!(
        "  duplicates     {:>6}  (already recorded from the same place)",
        summary.duplicates
    );
    if summary.skipped > 0 {
        say!(
            "  skipped        {:>6}  (collected by an earlier run, not fetched again)",
            summary.skipped
        );
    }
    say!("  rejected       {:>6}", summary.rejected);
    for (code, n) in &summary.rejected_by_code {
        say!("    {code:<18} {n:>6}");
    }
    if !summary.rejections.is_empty() {
        say!("rejected:");
        for r in &summary.rejections {
            say!("  {}  [{}] {}", safe(&r.path), r.code, safe(&r.reason));
        }
    }
    if registry_refused > 0 {
        say!(
            "  incident registry: {registry_refused} rows refused (see `sightline incidents import`)"
        );
    }
    if let Some(c) = &candidates {
        say!(
            "  candidates     {:>6}  items scored: {} high, {} medium, {} flagged as recycled",
            c.items,
            c.high,
            c.medium,
            c.flagged_recycled
        );
    }
    say!("job {}", summary.job_id);
    say!("next: sightline ls · sightline show <id> · sightline candidates --all · sightline check");
    Ok(ExitCode::SUCCESS)
}

/// The account running this process: `$USER`, `$LOGNAME`, else the name
/// `/etc/passwd` gives our uid, else `uid-N`.
pub(crate) fn current_user() -> String {
    use std::os::unix::fs::MetadataExt;
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            return v;
        }
    }
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| format!("uid-{uid}"))
}

/// The progress bar, on stderr, drawn only on a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Bar {
        let pb = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} files · {per_sec} · {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        pb.set_style(style);
        Bar(pb)
    }
}

impl Observer for Bar {
    fn discovered(&mut self) {
        self.0.inc_length(1);
    }
    fn finished(&mut self, o: &FileOutcome) {
        self.0.inc(1);
        self.0
            .set_message(o.path.rsplit('/').next().map(safe).unwrap_or_default());
    }
}

fn ls(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let catalog = store.catalog();
    let mut items = Vec::new();
    for item in catalog.items()? {
        items.push(item?);
    }
    items.sort_by_key(|i| (i.first_collected_at, i.sha256));
    if !json {
        say!(
            "{:<12}  {:<5}  {:<9}  {:>11}  {:>9}  {:>9}  first collected",
            "id",
            "kind",
            "format",
            "size (px)",
            "bytes",
            "sightings"
        );
    }
    for item in items {
        let n = catalog.sightings_of(&item.sha256)?.len();
        if json {
            json_line(&serde_json::json!({
                "id": item.sha256.short(),
                "item": item,
                "sightings": n,
            }))?;
        } else {
            let dims = match (item.width, item.height) {
                (Some(w), Some(h)) => format!("{w}x{h}"),
                _ => "-".into(),
            };
            say!(
                "{:<12}  {:<5}  {:<9}  {:>11}  {:>9}  {:>9}  {}",
                item.sha256.short(),
                item.kind,
                item.format,
                dims,
                bytes(item.size),
                n,
                item.first_collected_at.format("%Y-%m-%d %H:%M:%SZ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(store: &Store, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let item = crate::similar::resolve(store, &args.id)?;
    let sightings = store.catalog().sightings_of(&item.sha256)?;
    let fingerprints = store.catalog().fingerprints(&item.sha256)?;
    let cluster = store.catalog().cluster_of(&item.sha256)?;
    let metadata = store.catalog().metadata(&item.sha256)?;
    let derivatives = store.catalog().derivatives(&item.sha256)?;
    // Flags comparing the file with each post that carried it.
    let flag_opts = sightline_metadata::FlagOptions::default();
    let post_flags: Vec<(sightline_core::SightingId, Vec<sightline_core::MetaFlag>)> = sightings
        .iter()
        .filter_map(|s| {
            let m = metadata.as_ref()?;
            let posted = s.posted_at.as_deref()?;
            let posted = chrono::DateTime::parse_from_rfc3339(posted).ok()?;
            let f =
                sightline_metadata::post_flags(m, posted.with_timezone(&chrono::Utc), &flag_opts);
            (!f.is_empty()).then_some((s.id, f))
        })
        .collect();
    if args.json {
        json_line(&serde_json::json!({
            "item": item,
            "sightings": sightings,
            "fingerprints": fingerprints,
            "cluster": cluster,
            "metadata": metadata,
            "derivatives": derivatives,
            "post_flags": post_flags
                .iter()
                .map(|(id, f)| serde_json::json!({"sighting": id, "flags": f}))
                .collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    say!("item {}", item.sha256);
    say!(
        "  kind        {} ({}, {})",
        item.kind,
        item.format,
        item.media_type
    );
    say!("  size        {} bytes", item.size);
    if let (Some(w), Some(h)) = (item.width, item.height) {
        say!("  pixels      {w}x{h}");
    }
    if item.trailing_bytes > 0 {
        say!(
            "  trailing    {} bytes after the end of the image data",
            item.trailing_bytes
        );
    }
    for w in &item.warnings {
        say!("  warning     {w}");
    }
    say!("  first seen  {}", item.first_collected_at.to_rfc3339());
    say!("  blob        {}", blob_hint(store, &item.sha256));
    if let Some(fp) = &fingerprints {
        say!("  pdq         {} quality {}", fp.pdq.hash, fp.pdq.quality);
        say!("  phash       {}  dhash {}", fp.phash, fp.dhash);
    }
    if let Some(c) = cluster {
        say!(
            "  cluster     {c} (sightline clusters; sightline similar {})",
            item.sha256.short()
        );
    }
    if let Some(d) = &derivatives {
        let times: Vec<String> = d
            .of_kind(DerivedKind::Keyframe)
            .map(|f| {
                format!(
                    "{:.1}s {}",
                    f.time_ms.unwrap_or(0) as f64 / 1000.0,
                    f.reason.as_deref().unwrap_or("")
                )
            })
            .collect();
        say!(
            "  keyframes   {} ({}; sightline keyframes {} --out DIR)",
            times.len(),
            times.join(", "),
            item.sha256.short()
        );
    }
    if let Some(m) = &metadata {
        say!(
            "metadata ({} fields; sightline metadata on the blob lists them):",
            m.fields.len()
        );
        crate::metadata::print_summary(m)?;
    }
    say!("sightings ({}):", sightings.len());
    for s in &sightings {
        say!(
            "  {}  {} {}",
            s.id.short(),
            s.source.kind.as_str(),
            safe(&s.source.locator)
        );
        say!(
            "      collected {} by {} with {} {} (job {})",
            s.collected_at.to_rfc3339(),
            safe(&s.collector),
            s.tool.name,
            s.tool.version,
            safe(&s.job_id)
        );
        let src = &s.source;
        let status = src.http_status.map(|c| c.to_string());
        let content_type = src
            .headers
            .iter()
            .find(|(n, _)| n == "content-type")
            .map(|(_, v)| v.clone());
        for (label, v) in [
            ("via", &src.via),
            ("final url", &src.final_url),
            ("status", &status),
            ("type", &content_type),
            ("from addr", &src.remote_addr),
            ("platform", &s.platform),
            ("post", &s.post_id),
            ("post url", &s.post_url),
            ("author", &s.author),
            ("posted", &s.posted_at),
            ("lang", &s.lang),
            ("forwarded", &s.forwarded_from),
            ("caption", &s.caption),
        ] {
            if let Some(v) = v {
                say!("      {label:<9} {}", safe(v));
            }
        }
        for hop in &src.redirects {
            say!("      redirect  {}", safe(hop));
        }
        for link in &s.links {
            say!("      link      {}", safe(link));
        }
        if !s.tags.is_empty() {
            say!("      tags      {}", safe(&s.tags.join(", ")));
        }
        for (_, flags) in post_flags.iter().filter(|(id, _)| *id == s.id) {
            for f in flags {
                say!("      ! {:<20} {}", f.code, safe(&f.reason));
            }
        }
        if s.received_sha256 != s.item {
            say!("      received bytes hashed to {}", s.received_sha256);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn blob_hint(store: &Store, sha: &sightline_core::Sha256) -> String {
    let hex = sha.to_hex();
    store
        .root()
        .join("blobs/sha256")
        .join(&hex[0..2])
        .join(&hex[2..4])
        .join(&hex)
        .display()
        .to_string()
}

fn check(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    let report = store.check(&mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    let code = if report.errors() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    if json {
        json_line(&serde_json::json!({ "clean": report.is_clean(), "report": report }))?;
        return Ok(code);
    }
    say!(
        "checked {} blobs ({}), {} items, {} sightings, {} audit events",
        report.blobs,
        bytes(report.bytes),
        report.items,
        report.sightings,
        report.events
    );
    if report.is_clean() {
        say!("clean: every blob matches its address and every record its blob");
    }
    for p in &report.problems {
        let tag = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        say!("  {tag} [{}] {}", p.code, p.detail);
    }
    Ok(code)
}

fn rebuild(dir: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::rebuild_embedded(dir)
        .with_context(|| format!("cannot rebuild the catalog in {}", dir.display()))?;
    let clusters = sightline_ingest::similar::recluster(
        store.catalog(),
        &mut sightline_ingest::verify::StoreVerifier::new(
            &store,
            sightline_media::Limits::default(),
        ),
    )?;
    let counts = store.catalog().counts()?;
    if json {
        json_line(&serde_json::json!({ "rebuilt": counts, "clusters": clusters }))?;
    } else {
        say!(
            "rebuilt the catalog from the journal: {} items, {} sightings, {} events",
            counts.items,
            counts.sightings,
            counts.events
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn history(store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let mut failed = None;
    store.catalog().history(&mut |ev| {
        if failed.is_none()
            && let Err(e) = print_event(ev, json)
        {
            failed = Some(e);
        }
        Ok(())
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn print_event(ev: &sightline_core::AuditEvent, json: bool) -> anyhow::Result<()> {
    if json {
        return json_line(ev);
    }
    let what = match &ev.event {
        Event::ItemPreserved { item } => format!(
            "preserved {} ({}, {} bytes)",
            item.sha256.short(),
            item.format,
            item.size
        ),
        Event::SightingRecorded { sighting } => format!(
            "sighting {} of {} at {}",
            sighting.id.short(),
            sighting.item.short(),
            safe(&sighting.source.locator)
        ),
        Event::FingerprintsComputed { item, fingerprints } => format!(
            "fingerprinted {} (pdq {} quality {})",
            item.short(),
            fingerprints.pdq.hash.get(..16).unwrap_or("?"),
            fingerprints.pdq.quality
        ),
        Event::MetadataExtracted { item, metadata } => {
            let codes: Vec<&str> = metadata.flags.iter().map(|f| f.code.as_str()).collect();
            format!(
                "metadata of {} ({} fields{}{})",
                item.short(),
                metadata.fields.len(),
                if codes.is_empty() { "" } else { "; flags " },
                codes.join(", ")
            )
        }
        Event::DerivativesMade { item, derivatives } => format!(
            "derived from {}: {} keyframes, {} thumbnails, {} contact sheet",
            item.short(),
            derivatives.of_kind(DerivedKind::Keyframe).count(),
            derivatives.of_kind(DerivedKind::Thumbnail).count(),
            derivatives.of_kind(DerivedKind::ContactSheet).count(),
        ),
        Event::IncidentCreated { incident } => format!(
            "incident {} created ({}, {})",
            safe(&incident.id),
            incident.event_date,
            safe(&incident.location)
        ),
        Event::IncidentEdited { incident, changed } => format!(
            "incident {} edited: {}",
            safe(&incident.id),
            changed.join(", ")
        ),
        Event::ReviewDecided { decision } => format!(
            "decision: {} {} shows {}{}",
            decision.verdict.as_str(),
            decision.evidence.short(),
            safe(&decision.incident),
            if decision.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", safe(&decision.note))
            }
        ),
    };
    say!(
        "{:>6}  {}  {:<12}  {what}",
        ev.seq,
        ev.at.format("%Y-%m-%dT%H:%M:%SZ"),
        safe(&ev.actor)
    );
    Ok(())
}
