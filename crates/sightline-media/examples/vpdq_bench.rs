//! vPDQ command line: hash videos, time hashing, match hash files.
//!
//! ```text
//! vpdq_bench hash  [--spf S] [--dim N] [--hash-threads T] [--decode-threads T] [--conversion reference|sample-hashes] [--outdir DIR] VIDEO...
//! vpdq_bench bench [--spf S] [--dim N] [--hash-threads T] [--decode-threads T] [--runs R] VIDEO...
//! vpdq_bench match QUERY.txt COMPARED.txt [--distance D] [--quality Q]
//! ```
//!
//! `hash` writes the reference text format (to DIR/<stem>[-NxN].txt, or to
//! stdout); `bench` prints one tab-separated line per video:
//! `path  seconds  hashed_frames  decoded_frames  duration_s  decoded_fps  x_realtime`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use sightline_media::video_hash::{
    MatchOptions, RgbConversion, VpdqOptions, hash_video_file, match_vpdq, parse_vpdq_text,
    to_vpdq_text,
};

struct Args {
    cmd: String,
    opts: VpdqOptions,
    outdir: Option<PathBuf>,
    runs: usize,
    files: Vec<PathBuf>,
    distance: u32,
    quality: u8,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().ok_or("usage: vpdq_bench hash|bench|match ...")?;
    let mut a = Args {
        cmd,
        opts: VpdqOptions::default(),
        outdir: None,
        runs: 1,
        files: Vec::new(),
        distance: 31,
        quality: 50,
    };
    while let Some(arg) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--spf" => {
                a.opts.seconds_per_hash =
                    val("--spf")?.parse().map_err(|e| format!("--spf: {e}"))?
            }
            "--dim" => {
                let d: u32 = val("--dim")?.parse().map_err(|e| format!("--dim: {e}"))?;
                a.opts.downsample = (d > 0).then_some((d, d));
            }
            "--hash-threads" => {
                a.opts.hash_threads = val("--hash-threads")?.parse().map_err(|e| format!("{e}"))?;
            }
            "--decode-threads" => {
                a.opts.decode_threads = val("--decode-threads")?
                    .parse()
                    .map_err(|e| format!("{e}"))?;
            }
            "--timeout" => {
                let s: u64 = val("--timeout")?.parse().map_err(|e| format!("{e}"))?;
                a.opts.limits.timeout = std::time::Duration::from_secs(s);
            }
            "--conversion" => {
                a.opts.conversion = match val("--conversion")?.as_str() {
                    "reference" => RgbConversion::Reference,
                    "sample-hashes" => RgbConversion::SampleHashes,
                    other => return Err(format!("unknown conversion {other}")),
                }
            }
            "--outdir" => a.outdir = Some(PathBuf::from(val("--outdir")?)),
            "--runs" => a.runs = val("--runs")?.parse().map_err(|e| format!("{e}"))?,
            "--distance" => a.distance = val("--distance")?.parse().map_err(|e| format!("{e}"))?,
            "--quality" => a.quality = val("--quality")?.parse().map_err(|e| format!("{e}"))?,
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}")),
            _ => a.files.push(PathBuf::from(arg)),
        }
    }
    Ok(a)
}

fn stem(path: &Path, dim: Option<(u32, u32)>) -> String {
    let s = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match dim {
        Some((w, h)) => format!("{s}-{w}x{h}"),
        None => s,
    }
}

fn run() -> Result<(), String> {
    let a = parse_args()?;
    match a.cmd.as_str() {
        "hash" => {
            for f in &a.files {
                let t = Instant::now();
                let v = hash_video_file(f, &a.opts)
                    .map_err(|e| format!("{}: {e} [{}]", f.display(), e.code()))?;
                let text = to_vpdq_text(&v.frames);
                match &a.outdir {
                    Some(d) => {
                        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
                        let out = d.join(format!("{}.txt", stem(f, a.opts.downsample)));
                        std::fs::write(&out, text).map_err(|e| e.to_string())?;
                        eprintln!(
                            "{}: {} frames in {:.2}s -> {}",
                            f.display(),
                            v.frames.len(),
                            t.elapsed().as_secs_f64(),
                            out.display()
                        );
                    }
                    None => print!("{text}"),
                }
            }
            Ok(())
        }
        "bench" => {
            for f in &a.files {
                let mut best = f64::INFINITY;
                let mut last = None;
                for _ in 0..a.runs.max(1) {
                    let t = Instant::now();
                    let v =
                        hash_video_file(f, &a.opts).map_err(|e| format!("{}: {e}", f.display()))?;
                    best = best.min(t.elapsed().as_secs_f64());
                    last = Some(v);
                }
                let v = last.ok_or("no run")?;
                let duration = v.stream.duration_secs.unwrap_or(0.0);
                let decoded = (duration * v.stream.frame_rate).round();
                println!(
                    "{}\t{:.3}\t{}\t{}\t{:.2}\t{:.1}\t{:.1}",
                    f.display(),
                    best,
                    v.frames.len(),
                    decoded,
                    duration,
                    decoded / best,
                    duration / best
                );
            }
            Ok(())
        }
        "match" => {
            let [q, c] = a.files.as_slice() else {
                return Err("match takes two hash files".into());
            };
            let read = |p: &Path| -> Result<_, String> {
                let s = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
                parse_vpdq_text(&s).map_err(|e| format!("{}: {e}", p.display()))
            };
            let opts = MatchOptions {
                distance_threshold: a.distance,
                quality_threshold: a.quality,
                ..MatchOptions::default()
            };
            let m = match_vpdq(&read(q)?, &read(c)?, &opts);
            println!(
                "{}",
                serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        other => Err(format!("unknown command {other}")),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
