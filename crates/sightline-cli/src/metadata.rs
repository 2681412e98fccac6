//! `sightline metadata FILE...`: what each file says about itself, with
//! the flags an analyst acts on.

use std::process::ExitCode;

use serde_json::json;
use sightline_core::{Metadata, Sha256};
use sightline_metadata::{Extractor, Options, post_flags};

use crate::cli::MetadataArgs;
use crate::output::{json_line, safe, say};

pub fn metadata(args: MetadataArgs) -> anyhow::Result<ExitCode> {
    let mut options = Options::default();
    if let Some(h) = args.max_post_gap_hours {
        options.flags.max_post_gap = chrono::Duration::hours(h);
    }
    options.thumbnail_check = !args.no_thumbnail_check;
    let ex = extractor(options, args.c2pa_trust.as_deref())?;
    let mut failed = false;
    // Folders are read recursively, in name order; symlinks are not
    // followed.
    let mut paths = Vec::new();
    for p in &args.files {
        if p.is_dir() {
            for e in walkdir::WalkDir::new(p).sort_by_file_name() {
                match e {
                    Ok(e) if e.file_type().is_file() => paths.push(e.into_path()),
                    Ok(_) => {}
                    Err(e) => {
                        failed = true;
                        eprintln!("{}: {e}", safe(&p.display().to_string()));
                    }
                }
            }
        } else {
            paths.push(p.clone());
        }
    }
    for path in &paths {
        let shown = path.display().to_string();
        match ex.file(path) {
            Ok(mut meta) => {
                if let Some(p) = args.posted_at {
                    meta.flags.extend(post_flags(&meta, p, &ex.options.flags));
                }
                let sha = std::fs::read(path).ok().map(|b| Sha256::of(&b).to_string());
                if args.json {
                    let mut v = serde_json::to_value(&meta)?;
                    if let Some(o) = v.as_object_mut() {
                        o.insert("file".into(), json!(shown));
                        o.insert("sha256".into(), json!(sha));
                    }
                    json_line(&v)?;
                } else {
                    print_human(&shown, &meta)?;
                }
            }
            Err(e) => {
                failed = true;
                if args.json {
                    json_line(
                        &json!({"file": shown, "error": {"code": e.code(), "message": e.to_string()}}),
                    )?;
                } else {
                    eprintln!("{}: {} ({})", safe(&shown), e, e.code());
                }
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// An extractor, trusting the C2PA signers under the roots in `trust` when
/// given.
pub fn extractor(options: Options, trust: Option<&std::path::Path>) -> anyhow::Result<Extractor> {
    use anyhow::Context as _;
    Ok(match trust {
        Some(p) => {
            let pem = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read c2pa trust anchors {}", p.display()))?;
            Extractor::with_trust_anchors(options, &pem)
                .with_context(|| format!("c2pa trust anchors in {}", p.display()))?
        }
        None => Extractor::new(options),
    })
}

/// The summary, flags, problems and every field with its origin.
pub fn print_human(title: &str, m: &Metadata) -> anyhow::Result<()> {
    say!("{}", safe(title));
    print_summary(m)?;
    if !m.fields.is_empty() {
        say!("  fields:");
        for f in &m.fields {
            let v = match &f.value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let v: String = v.chars().take(200).collect();
            say!("    {:<34} {}  [{}]", f.key, safe(&v), safe(&f.origin));
        }
    }
    Ok(())
}

/// The lines analysts read first, then flags and problems.
pub fn print_summary(m: &Metadata) -> anyhow::Result<()> {
    let s = &m.summary;
    for (label, t) in [
        ("taken", &s.taken_at),
        ("created", &s.created_at),
        ("modified", &s.modified_at),
    ] {
        if let Some(t) = t {
            let utc = t
                .utc
                .map(|u| format!(" = {}", u.format("%Y-%m-%d %H:%M:%S UTC")))
                .unwrap_or_default();
            let off = t
                .offset
                .as_deref()
                .map(|o| format!(" {o}"))
                .unwrap_or_default();
            say!("  {label:<9} {}{off}{utc}  [{}]", safe(&t.value), t.origin);
        }
    }
    if let Some(g) = &s.gps {
        let alt = g.alt.map(|a| format!(", {a:.1} m")).unwrap_or_default();
        say!("  gps       {:.6}, {:.6}{alt}", g.lat, g.lon);
    }
    let camera: Vec<&str> = [&s.make, &s.model, &s.lens]
        .iter()
        .filter_map(|x| x.as_deref())
        .collect();
    if !camera.is_empty() {
        say!("  camera    {}", safe(&camera.join(" / ")));
    }
    if !s.software.is_empty() {
        say!("  software  {}", safe(&s.software.join("; ")));
    }
    if let Some(t) = &s.thumbnail {
        let d = t
            .pdq_distance
            .map(|d| format!(", pdq distance {d} from the image"))
            .unwrap_or_default();
        say!("  thumbnail {} bytes{d}", t.length);
    }
    if let Some(v) = &m.video {
        let dur = v
            .duration
            .map(|d| format!(", {d:.1} s"))
            .unwrap_or_default();
        say!("  container {}{dur}", safe(&v.container));
        for st in &v.streams {
            let dims = match (st.width, st.height) {
                (Some(w), Some(h)) => format!(" {w}x{h}"),
                _ => String::new(),
            };
            let fps = st
                .frame_rate
                .map(|f| format!(" {f:.2} fps"))
                .unwrap_or_default();
            let rot = st
                .rotation
                .filter(|r| *r != 0.0)
                .map(|r| format!(" rotated {r}°"))
                .unwrap_or_default();
            say!(
                "  stream {}  {} {}{dims}{fps}{rot}",
                st.index,
                st.kind,
                safe(&st.codec)
            );
        }
        if let Some(l) = &v.location {
            say!(
                "  location  {:.6}, {:.6}  [{}]",
                l.lat,
                l.lon,
                v.location_origin.as_deref().unwrap_or("")
            );
        }
    }
    if let Some(c) = &m.c2pa {
        let active = c
            .manifests
            .iter()
            .find(|m| Some(&m.label) == c.active.as_ref());
        let signer = active
            .and_then(|m| m.signer.as_deref())
            .unwrap_or("unknown signer");
        let generator = active
            .and_then(|m| m.claim_generator.as_deref())
            .unwrap_or("?");
        say!(
            "  c2pa      {}; signed by {} ({}); made with {}",
            c.state,
            safe(signer),
            if c.signer_trusted {
                "trusted"
            } else {
                "not on a trust list"
            },
            safe(generator)
        );
        if let Some(m) = active {
            for a in &m.actions {
                let src = a
                    .digital_source_type
                    .as_deref()
                    .map(|d| format!(" ({})", safe(d)))
                    .unwrap_or_default();
                say!("    action  {}{src}", safe(&a.action));
            }
            for i in &m.ingredients {
                say!(
                    "    from    {} ({})",
                    safe(i.title.as_deref().unwrap_or("?")),
                    i.relationship.as_deref().unwrap_or("?")
                );
            }
        }
        for s in c.status.iter().filter(|s| !s.success) {
            say!("    failed  {}", safe(&s.code));
        }
    }
    for f in &m.flags {
        say!("  ! {:<22} {}", f.code, safe(&f.reason));
    }
    for i in &m.issues {
        say!(
            "  ? {:<22} {}  [{}]",
            i.code,
            safe(&i.message),
            safe(&i.origin)
        );
    }
    Ok(())
}
