//! Time the keyframe survey pass (decode, shot detection, stills, sample
//! hashes) on videos; used by `bench/keyframes/run.sh`.
//!
//! ```text
//! keyframes_bench [--runs R] [--no-stills] VIDEO...
//! ```
//!
//! Prints one tab-separated line per video: `path  best_seconds  samples
//! keyframes  times_ms` (times comma-separated).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use sightline_media::keyframes::{KeyframeOptions, extract_keyframes};

fn main() -> ExitCode {
    let mut runs = 1usize;
    let mut opts = KeyframeOptions::default();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(1).max(1),
            "--no-stills" => opts.stills = false,
            _ => files.push(a.into()),
        }
    }
    for f in &files {
        let mut best = f64::INFINITY;
        let mut last = None;
        for _ in 0..runs {
            let t = Instant::now();
            match extract_keyframes(f, &opts) {
                Ok(kf) => {
                    best = best.min(t.elapsed().as_secs_f64());
                    last = Some(kf);
                }
                Err(e) => {
                    eprintln!("{}: {e}", f.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        let kf = last.expect("at least one run");
        let times: Vec<String> = kf.frames.iter().map(|k| k.time_ms.to_string()).collect();
        println!(
            "{}\t{best:.3}\t{}\t{}\t{}",
            f.display(),
            kf.samples,
            kf.frames.len(),
            times.join(",")
        );
    }
    ExitCode::SUCCESS
}
