//! `sightline incidents`, `candidates`, `decide` and `gazetteer`: the
//! registry, the machine's candidates, and the analyst's decisions.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::json;
use sightline_core::{Assessment, Incident, ReviewDecision, ReviewVerdict, Sha256};
use sightline_incidents::{Gazetteer, registry};
use sightline_store::{IncidentSaved, Store};

use crate::cli::{
    CandidatesArgs, DecideArgs, ExportFormat, GazetteerCommand, IncidentFields, IncidentsCommand,
    Verdict,
};
use crate::output::{json_line, safe, say};

/// Largest registry or gazetteer file read.
const MAX_FILE: u64 = 512 << 20;

/// The data dir's own places (from `gazetteer import`), beside the
/// built-in table.
fn local_gazetteer(root: &Path) -> std::path::PathBuf {
    root.join("gazetteer.tsv")
}

/// The built-in gazetteer plus this data dir's imported places.
pub fn gazetteer(root: &Path) -> anyhow::Result<Gazetteer> {
    let mut g = Gazetteer::builtin();
    let path = local_gazetteer(root);
    if path.exists() {
        let text = read_capped(&path)?;
        let (places, problems) = Gazetteer::read_tsv(&String::from_utf8_lossy(&text));
        if let Some(p) = problems.first() {
            bail!("{}: {p}", path.display());
        }
        g.extend(places);
    }
    Ok(g)
}

fn read_capped(path: &Path) -> anyhow::Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_FILE {
        bail!("{} is {len} bytes; the limit is {MAX_FILE}", path.display());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn analyst(given: Option<String>) -> String {
    given.unwrap_or_else(crate::cmd::current_user)
}

pub fn incidents(store: &Store, command: IncidentsCommand) -> anyhow::Result<ExitCode> {
    match command {
        IncidentsCommand::Import { files, json } => import(store, &files, json),
        IncidentsCommand::Ls { json } => ls(store, json),
        IncidentsCommand::Show { id, json } => show(store, &id, json),
        IncidentsCommand::Export { format, out } => export(store, format, out.as_deref()),
        IncidentsCommand::Add(fields) => save(store, fields, true),
        IncidentsCommand::Edit(fields) => save(store, fields, false),
        IncidentsCommand::Proposals { json } => proposals(store, json),
        IncidentsCommand::Accept {
            proposal,
            id,
            analyst: who,
        } => accept(store, &proposal, &id, analyst(who)),
    }
}

/// Import registry files into the store; returns how many rows were
/// refused. Used by `incidents import` and by pipelines naming a registry.
pub fn import_files(
    store: &Store,
    files: &[std::path::PathBuf],
    actor: &str,
    each: &mut dyn FnMut(&Path, &ImportReport) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut refused = 0;
    for file in files {
        let bytes = read_capped(file)?;
        let name = file.display().to_string();
        let geo = file
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("geojson") || e.eq_ignore_ascii_case("json"));
        let parsed = if geo {
            registry::read_geojson(&name, &bytes)?
        } else {
            registry::read_csv(&name, &bytes)?
        };
        let mut report = ImportReport {
            problems: parsed
                .problems
                .iter()
                .map(|p| json!({"row": p.row, "id": p.id, "message": p.message}))
                .collect(),
            ..ImportReport::default()
        };
        for incident in parsed.incidents {
            match store.catalog().put_incident(incident, actor)? {
                IncidentSaved::Created => report.created += 1,
                IncidentSaved::Edited(_) => report.edited += 1,
                IncidentSaved::Unchanged => report.unchanged += 1,
            }
        }
        refused += report.problems.len();
        each(file, &report)?;
    }
    Ok(refused)
}

#[derive(Debug, Default, serde::Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub edited: usize,
    pub unchanged: usize,
    pub problems: Vec<serde_json::Value>,
}

fn import(store: &Store, files: &[std::path::PathBuf], as_json: bool) -> anyhow::Result<ExitCode> {
    let actor = crate::cmd::current_user();
    let refused = import_files(store, files, &actor, &mut |file, r| {
        if as_json {
            json_line(&json!({"file": file, "report": r}))?;
        } else {
            say!(
                "{}: {} created, {} updated, {} unchanged, {} rows refused",
                file.display(),
                r.created,
                r.edited,
                r.unchanged,
                r.problems.len()
            );
            for p in &r.problems {
                say!(
                    "  row {}{}: {}",
                    p["row"],
                    p["id"]
                        .as_str()
                        .map(|i| format!(" ({})", safe(i)))
                        .unwrap_or_default(),
                    safe(p["message"].as_str().unwrap_or_default())
                );
            }
        }
        Ok(())
    })?;
    let done = sightline_incidents::refresh_all(store.catalog(), &gazetteer(store.root())?)?;
    if as_json {
        json_line(&json!({"refreshed": done}))?;
    } else {
        say!(
            "candidates recomputed for {} items: {} high, {} medium, {} flagged as recycled",
            done.items,
            done.high,
            done.medium,
            done.flagged_recycled
        );
    }
    // Some rows refused: the rest imported, but say so to scripts.
    Ok(if refused > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn ls(store: &Store, as_json: bool) -> anyhow::Result<ExitCode> {
    for i in store.catalog().incidents()? {
        if as_json {
            json_line(&i)?;
        } else {
            say!(
                "{:<34} {}  {:<28} {}",
                safe(&i.id),
                i.event_date,
                safe(&i.location),
                safe(&i.sub_event_type)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Items whose best candidate is `id`, best first.
fn items_for(store: &Store, id: &str) -> anyhow::Result<Vec<(Sha256, f64, String)>> {
    let mut out = Vec::new();
    for item in store.catalog().items()? {
        let item = item?;
        if let Some(a) = store.catalog().assessment(&item.sha256)?
            && let Some(top) = a.candidates.first()
            && top.incident == id
        {
            out.push((item.sha256, top.score, top.band.as_str().to_string()));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(out)
}

fn show(store: &Store, id: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let Some(i) = store.catalog().incident(id)? else {
        bail!("no incident {id}");
    };
    let items = items_for(store, id)?;
    if as_json {
        json_line(&json!({
            "incident": i,
            "items": items.iter().map(|(s, score, band)| json!({"sha256": s, "score": score, "band": band})).collect::<Vec<_>>(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    say!("{}", safe(&i.id));
    say!(
        "  date       {} (precision {})",
        i.event_date,
        i.time_precision
    );
    say!(
        "  type       {} / {}",
        safe(&i.event_type),
        safe(&i.sub_event_type)
    );
    say!(
        "  place      {}, {}, {} ({:.4}, {:.4}; precision {})",
        safe(&i.location),
        safe(&i.admin1),
        safe(&i.country),
        i.latitude,
        i.longitude,
        i.geo_precision
    );
    if !i.actor1.is_empty() {
        say!("  actors     {} / {}", safe(&i.actor1), safe(&i.actor2));
    }
    if let Some(f) = i.fatalities {
        say!("  fatalities {f}");
    }
    if !i.notes.is_empty() {
        say!("  notes      {}", safe(&i.notes));
    }
    if !i.tags.is_empty() {
        say!("  tags       {}", safe(&i.tags.join("; ")));
    }
    say!("  best candidate for {} items", items.len());
    for (sha, score, band) in items {
        say!("    {}  {score:.3} {band}", &sha.to_string()[..16]);
    }
    Ok(ExitCode::SUCCESS)
}

fn export(store: &Store, format: ExportFormat, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let incidents = store.catalog().incidents()?;
    let text = match format {
        ExportFormat::Csv => registry::write_csv(&incidents),
        ExportFormat::Geojson => {
            serde_json::to_string_pretty(&registry::write_geojson(&incidents))? + "\n"
        }
        ExportFormat::Json => serde_json::to_string_pretty(&incidents)? + "\n",
    };
    match out {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn save(store: &Store, f: IncidentFields, create: bool) -> anyhow::Result<ExitCode> {
    let existing = store.catalog().incident(&f.id)?;
    let mut i = match (existing, create) {
        (Some(_), true) => bail!("incident {} exists: use `incidents edit`", f.id),
        (None, false) => bail!("no incident {}", f.id),
        (Some(i), false) => i,
        (None, true) => {
            let (Some(date), Some(latitude), Some(longitude), Some(location)) =
                (&f.date, f.latitude, f.longitude, &f.location)
            else {
                bail!("a new incident needs --date, --latitude, --longitude and --location");
            };
            Incident::new(
                f.id.clone(),
                sightline_incidents::dates::parse_event_date(date).map_err(anyhow::Error::msg)?,
                location.clone(),
                latitude,
                longitude,
            )
        }
    };
    if let Some(d) = &f.date {
        i.event_date =
            sightline_incidents::dates::parse_event_date(d).map_err(anyhow::Error::msg)?;
    }
    let set = |slot: &mut String, v: Option<String>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut i.location, f.location);
    set(&mut i.country, f.country);
    set(&mut i.admin1, f.admin1);
    set(&mut i.admin2, f.admin2);
    set(&mut i.event_type, f.event_type);
    set(&mut i.sub_event_type, f.sub_event_type);
    set(&mut i.actor1, f.actor1);
    set(&mut i.notes, f.notes);
    if let Some(v) = f.latitude {
        i.latitude = v;
    }
    if let Some(v) = f.longitude {
        i.longitude = v;
    }
    if let Some(v) = f.time_precision {
        i.time_precision = v;
    }
    if let Some(v) = f.geo_precision {
        i.geo_precision = v;
    }
    if f.fatalities.is_some() {
        i.fatalities = f.fatalities;
    }
    if let Some(t) = f.tags {
        i.tags = t
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect();
    }
    let saved = store.catalog().put_incident(i, &analyst(f.analyst))?;
    match &saved {
        IncidentSaved::Created => say!("created {}", safe(&f.id)),
        IncidentSaved::Edited(changed) => say!("{}: changed {}", safe(&f.id), changed.join(", ")),
        IncidentSaved::Unchanged => say!("{}: nothing changed", safe(&f.id)),
    }
    if saved != IncidentSaved::Unchanged {
        sightline_incidents::refresh_all(store.catalog(), &gazetteer(store.root())?)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn proposals(store: &Store, as_json: bool) -> anyhow::Result<ExitCode> {
    let done = sightline_incidents::refresh_all(store.catalog(), &gazetteer(store.root())?)?;
    if !as_json && done.proposals.is_empty() {
        say!("no proposals: all dated, placed evidence of violence fits a registered incident");
    }
    for p in &done.proposals {
        if as_json {
            json_line(p)?;
        } else {
            say!("{}", safe(&p.id));
            say!(
                "  {} at {} ({:.4}, {:.4}): {}",
                p.date,
                safe(&p.place.name),
                p.place.latitude,
                p.place.longitude,
                safe(&p.why)
            );
            for s in &p.items {
                say!("    {}", &s.to_string()[..16]);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn accept(store: &Store, proposal: &str, id: &str, who: String) -> anyhow::Result<ExitCode> {
    let g = gazetteer(store.root())?;
    let done = sightline_incidents::refresh_all(store.catalog(), &g)?;
    let Some(p) = done.proposals.iter().find(|p| p.id == proposal) else {
        bail!("no proposal {proposal} (see `sightline incidents proposals`)");
    };
    if store.catalog().incident(id)?.is_some() {
        bail!("incident {id} exists");
    }
    store.catalog().put_incident(p.to_incident(id), &who)?;
    let done = sightline_incidents::refresh_all(store.catalog(), &g)?;
    say!(
        "created {} from {proposal}; candidates recomputed for {} items",
        safe(id),
        done.items
    );
    Ok(ExitCode::SUCCESS)
}

/// The line `candidates` prints for one item.
fn candidate_line(a: &Assessment) -> serde_json::Value {
    let hex = a.item.to_string();
    json!({
        "evidence": &hex[..12],
        "sha256": hex,
        "candidates": a.candidates.iter().map(|c| {
            let mut v = json!({"incident": c.incident, "score": c.score, "band": c.band, "why": c.why});
            if let Some(d) = c.decided {
                v["decided"] = json!(d);
            }
            v
        }).collect::<Vec<_>>(),
        "flags": a.flags,
    })
}

pub fn candidates(store: &Store, args: CandidatesArgs) -> anyhow::Result<ExitCode> {
    let c = store.catalog();
    let items: Vec<Sha256> = match &args.id {
        Some(id) => vec![crate::similar::resolve(store, id)?.sha256],
        None => c
            .items()?
            .map(|i| i.map(|i| i.sha256))
            .collect::<Result<_, _>>()?,
    };
    let missing = items
        .iter()
        .any(|i| c.assessment(i).ok().flatten().is_none());
    if args.refresh || missing {
        let g = gazetteer(store.root())?;
        if args.all {
            sightline_incidents::refresh_all(c, &g)?;
        } else {
            sightline_incidents::refresh_items(c, &g, &items)?;
        }
    }
    for item in items {
        let Some(a) = c.assessment(&item)? else {
            continue;
        };
        if args.json {
            json_line(&candidate_line(&a))?;
            continue;
        }
        say!("{}", &item.to_string()[..16]);
        for f in &a.flags {
            say!("  ! {}: {}", f.code, safe(&f.message));
        }
        if a.candidates.is_empty() {
            say!("  no candidate incident");
        }
        for cand in &a.candidates {
            let decided = cand
                .decided
                .map(|d| format!(" [{}]", d.as_str()))
                .unwrap_or_default();
            say!(
                "  {:<34} {:.3} {:<6}{decided}",
                safe(&cand.incident),
                cand.score,
                cand.band.as_str()
            );
            for w in &cand.why {
                say!("      {}", safe(w));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn decide(store: &Store, args: DecideArgs) -> anyhow::Result<ExitCode> {
    let item = crate::similar::resolve(store, &args.item)?.sha256;
    let verdict = match args.verdict {
        Verdict::Confirm => ReviewVerdict::Confirm,
        Verdict::Reject => ReviewVerdict::Reject,
        Verdict::NeedsMoreInfo => ReviewVerdict::NeedsMoreInfo,
    };
    let decision = ReviewDecision {
        evidence: item,
        incident: args.incident.clone(),
        verdict,
        analyst: analyst(args.analyst),
        note: args.note,
        at: chrono::Utc::now(),
    };
    store.catalog().decide(decision.clone())?;
    let done =
        sightline_incidents::refresh_items(store.catalog(), &gazetteer(store.root())?, &[item])?;
    if args.json {
        json_line(&json!({"decision": decision, "refreshed": done.items}))?;
    } else {
        say!(
            "{} {} {}: recorded; candidates recomputed for {} items (its near-duplicates too)",
            verdict.as_str(),
            &item.to_string()[..16],
            safe(&args.incident),
            done.items
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn gazetteer_cmd(root: &Path, command: GazetteerCommand) -> anyhow::Result<ExitCode> {
    match command {
        GazetteerCommand::Find { text, json } => {
            let g = gazetteer(root)?;
            for m in g.find(&text) {
                let p = &g.places()[m.place];
                if json {
                    json_line(&json!({"words": m.words, "place": p}))?;
                } else {
                    say!(
                        "{:<24} {} {} ({:.4}, {:.4}) {}",
                        safe(&m.words),
                        p.kind.as_str(),
                        safe(&p.name),
                        p.latitude,
                        p.longitude,
                        safe(&p.id)
                    );
                }
            }
        }
        GazetteerCommand::Import {
            file,
            min_population,
            json,
        } => {
            let text = read_capped(&file)?;
            let got = Gazetteer::import_geonames(&String::from_utf8_lossy(&text), min_population)?;
            std::fs::create_dir_all(root)?;
            let path = local_gazetteer(root);
            let mut places = if path.exists() {
                Gazetteer::read_tsv(&String::from_utf8_lossy(&read_capped(&path)?)).0
            } else {
                Vec::new()
            };
            let before = places.len();
            let merged = Gazetteer::from_places({
                places.extend(got.places.iter().cloned());
                places
            });
            let tmp = path.with_extension("tsv.tmp");
            std::fs::write(&tmp, Gazetteer::to_tsv(merged.places()))?;
            std::fs::rename(&tmp, &path)?;
            let report = json!({
                "file": file,
                "places": got.places.len(),
                "skipped": got.skipped,
                "bad_rows": got.bad_rows,
                "first_problem": got.first_problem,
                "gazetteer": path,
                "total": merged.places().len(),
                "before": before,
            });
            if json {
                json_line(&report)?;
            } else {
                say!(
                    "{}: {} places kept, {} other features skipped, {} bad rows; {} now holds {} places",
                    file.display(),
                    got.places.len(),
                    got.skipped,
                    got.bad_rows,
                    path.display(),
                    merged.places().len()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
