//! Sightline developer tasks.
//!
//! `cargo run -p xtask -- fixtures [--out DIR] [--check]` regenerates the
//! deterministic test fixture set (see fixtures/README.md).

mod canvas;
mod encode;
mod exif;
mod font;
mod generate;
mod hostile;
mod incidents;
mod noise;
mod reposts;
mod rng;
mod scene;
mod video;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo run -p xtask -- fixtures [--out DIR] [--check]

  fixtures            regenerate every fixture into DIR (default: <workspace>/fixtures)
  fixtures --check    regenerate into a temporary directory and fail if any
                      Rust-generated file differs from DIR (ffmpeg-made videos
                      are taken from DIR as they are, not re-encoded)
  fixtures --reuse-videos
                      regenerate everything except the ffmpeg-made videos, which
                      are kept as they are in DIR (no ffmpeg needed; use it to
                      update expected.json and README.md without re-encoding)
       cargo run -p xtask -- serve [--dir DIR] [ADDR]

  serve               serve the fixture web site (feeds, a Mastodon API, media;
                      see sightline_collect::testing::fixture_site) on ADDR
                      (default 127.0.0.1:8765) until killed: the example
                      pipelines in pipelines/ fetch from it; with --dir, the
                      files under DIR instead (benchmarks)";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn run() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("fixtures") => {}
        Some("serve") => {
            let mut addr = "127.0.0.1:8765".to_string();
            let mut dir = None;
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--dir" => {
                        dir = Some(PathBuf::from(it.next().context("--dir needs a folder")?))
                    }
                    other => addr = other.to_string(),
                }
            }
            let addr: std::net::SocketAddr = addr.parse().context("ADDR is host:port")?;
            use sightline_collect::testing::{FixtureServer, fixture_site, serve_dir};
            let server = match dir {
                Some(d) => FixtureServer::start_on(addr, serve_dir(d)),
                None => {
                    FixtureServer::start_on(addr, fixture_site(workspace_root().join("fixtures")))
                }
            }
            .with_context(|| format!("cannot listen on {addr}"))?;
            println!(
                "serving fixtures on http://{}/ (ctrl-c to stop)",
                server.addr()
            );
            server.run_forever();
            return Ok(ExitCode::SUCCESS);
        }
        Some("-h" | "--help") | None => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(other) => bail!("unknown task {other:?}\n{USAGE}"),
    }
    let mut out = workspace_root().join("fixtures");
    let mut check = false;
    let mut reuse = false;
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(it.next().context("--out needs a directory")?),
            "--check" => check = true,
            "--reuse-videos" => reuse = true,
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    if check {
        check_fixtures(&out)
    } else if reuse {
        rewrite_reusing_videos(&out)
    } else {
        write_fixtures(&out)
    }
}

fn write_fixtures(out: &Path) -> Result<ExitCode> {
    if !video::ffmpeg_available() {
        bail!(
            "ffmpeg not found on PATH; it is needed to encode the videos (apt-get install ffmpeg)"
        );
    }
    std::fs::create_dir_all(out)?;
    // Remove only what this generator owns, so stale files do not linger.
    for d in generate::OWNED_DIRS {
        let p = out.join(d);
        if p.exists() {
            std::fs::remove_dir_all(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    for f in generate::OWNED_FILES {
        let p = out.join(f);
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    let summary = generate::generate(out, generate::Videos::Encode)?;
    println!(
        "wrote {} files, {} bytes, to {}",
        summary.files,
        summary.bytes,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Regenerate into a temporary directory with the videos taken from `dir`,
/// then copy every generated file into `dir`.
fn rewrite_reusing_videos(dir: &Path) -> Result<ExitCode> {
    let tmp = std::env::temp_dir().join(format!("sightline-fixtures-reuse-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let result = (|| -> Result<generate::Summary> {
        let summary = generate::generate(&tmp, generate::Videos::ReuseFrom(dir.to_path_buf()))?;
        for rel in list_files(&tmp)? {
            let to = dir.join(&rel);
            if let Some(d) = to.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::copy(tmp.join(&rel), &to)
                .with_context(|| format!("writing {}", to.display()))?;
        }
        Ok(summary)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    let summary = result?;
    println!(
        "wrote {} files, {} bytes, to {} (videos kept as they were)",
        summary.files,
        summary.bytes,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn check_fixtures(dir: &Path) -> Result<ExitCode> {
    let tmp = std::env::temp_dir().join(format!("sightline-fixtures-check-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let result = (|| -> Result<Vec<String>> {
        generate::generate(&tmp, generate::Videos::ReuseFrom(dir.to_path_buf()))?;
        let want = list_files(&tmp)?;
        let have = list_files(dir)?;
        let mut problems = Vec::new();
        for rel in &want {
            if generate::is_ffmpeg_output(rel) {
                continue;
            }
            let a = std::fs::read(tmp.join(rel))?;
            match std::fs::read(dir.join(rel)) {
                Ok(b) if a == b => {}
                Ok(_) => problems.push(format!("differs: {rel}")),
                Err(_) => problems.push(format!("missing: {rel}")),
            }
        }
        for rel in &have {
            // Expectations made by reference tools from the fixtures (e.g.
            // `expected-pdq.csv` from the PDQ oracle) live beside them.
            if !want.contains(rel) && !is_oracle_output(rel) {
                problems.push(format!("unexpected: {rel}"));
            }
        }
        Ok(problems)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    let problems = result?;
    println!(
        "note: videos made by ffmpeg ({}) are not compared, because encoder output differs between \
         ffmpeg versions; they were taken from {} as they are and everything derived from them was checked",
        generate::ffmpeg_outputs().join(", "),
        dir.display()
    );
    if problems.is_empty() {
        println!("fixtures are up to date");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            println!("{p}");
        }
        println!(
            "{} fixture file(s) out of date; run `cargo run -p xtask -- fixtures`",
            problems.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// All files under `root`, as sorted forward-slash relative paths.
fn list_files(root: &Path) -> Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
        for ent in std::fs::read_dir(dir)? {
            let ent = ent?;
            let p = ent.path();
            if ent.file_type()?.is_dir() {
                walk(root, &p, out)?;
            } else {
                let rel = p.strip_prefix(root)?;
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if root.exists() {
        walk(root, root, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// Files in `fixtures/` that this generator does not make: expectations
/// reference tools compute from the fixtures (`expected-<tool>.csv`), and
/// the sets made by their own scripts from the generated images
/// (`metadata/`, by `metadata/make.py` with ExifTool; `vpdq/`, by
/// `vpdq/make_fixtures.sh` with ffmpeg and the reference vPDQ;
/// `keyframes/` and `local-features/`, by their `make.py` from
/// scikit-image's photos; `sources/` and `incidents/`, by their `make.py`
/// or by hand, with expectations beside them).
fn is_oracle_output(rel: &str) -> bool {
    (rel.starts_with("expected-") && rel.ends_with(".csv") && !rel.contains('/'))
        || rel.starts_with("metadata/")
        || rel.starts_with("vpdq/")
        || rel.starts_with("keyframes/")
        || rel.starts_with("local-features/")
        || rel.starts_with("sources/")
        || rel.starts_with("incidents/")
}
