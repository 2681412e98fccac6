//! Fingerprint every image in a folder and report throughput and where the
//! time goes. Not a test: run it with `bench/fingerprint.sh`.
//!
//! ```text
//! cargo run --release -p sightline-media --example fingerprint_bench -- FOLDER [THREADS]
//! ```
//!
//! Each file is read, SHA-256'd, decoded once (te mode), PDQ-hashed with
//! its dihedral variants and hashed by the img_hash family, exactly as
//! `fingerprint_image` does, with each stage timed apart.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sightline_media::Limits;
use sightline_media::decode::decode_pixels;
use sightline_media::fingerprint::{Fingerprinter, split_views};
use sightline_media::pdq::LumaModel;

#[derive(Default, Clone, Copy)]
struct Stages {
    read: Duration,
    sha: Duration,
    decode: Duration,
    pdq: Duration,
    img: Duration,
    regions: Duration,
    files: usize,
    failed: usize,
    pixels: u64,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: fingerprint_bench FOLDER [THREADS] [--regions]");
        std::process::exit(2);
    }
    let threads: usize = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1).max(1);
    // Also find framed photos and hash them and the centre crops, as ingest
    // does (beyond the issue's definition of full fingerprinting).
    let with_regions = args.iter().any(|a| a == "--regions");
    let mut files = Vec::new();
    walk(Path::new(&args[1]), &mut files);
    let next = AtomicUsize::new(0);
    let limits = Limits::default();
    let start = Instant::now();
    let totals: Vec<Stages> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut st = Stages::default();
                    let mut fp = Fingerprinter::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let t0 = Instant::now();
                        let Ok(bytes) = std::fs::read(path) else {
                            st.failed += 1;
                            continue;
                        };
                        let t1 = Instant::now();
                        let digest = Sha256::digest(&bytes);
                        std::hint::black_box(digest);
                        let t2 = Instant::now();
                        let decoded = match decode_pixels(&bytes, &limits) {
                            Ok(d) => d,
                            Err(_) => {
                                st.failed += 1;
                                continue;
                            }
                        };
                        let (w, h) = (decoded.width, decoded.height);
                        let (te, seen) = split_views(decoded.pixels);
                        let t3 = Instant::now();
                        let p = fp
                            .pdq_hasher()
                            .pdq_and_dihedral(&te, w, h, LumaModel::Pdqhash);
                        std::hint::black_box(p);
                        let t4 = Instant::now();
                        let img = fp.img_hashes_rgb(seen.as_deref().unwrap_or(&te), w, h);
                        std::hint::black_box(img);
                        let t5 = Instant::now();
                        if with_regions {
                            let r = fp.region_hashes(&te, seen.as_deref().unwrap_or(&te), w, h);
                            std::hint::black_box(r);
                        }
                        st.regions += t5.elapsed();
                        st.read += t1 - t0;
                        st.sha += t2 - t1;
                        st.decode += t3 - t2;
                        st.pdq += t4 - t3;
                        st.img += t5 - t4;
                        st.files += 1;
                        st.pixels += u64::from(w) * u64::from(h);
                    }
                    st
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let mut t = Stages::default();
    for s in &totals {
        t.read += s.read;
        t.sha += s.sha;
        t.decode += s.decode;
        t.pdq += s.pdq;
        t.img += s.img;
        t.regions += s.regions;
        t.files += s.files;
        t.failed += s.failed;
        t.pixels += s.pixels;
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / t.files.max(1) as f64;
    println!(
        "files {} (failed {}), threads {threads}, {:.2} s, {:.1} files/s, {:.1} Mpixel/s",
        t.files,
        t.failed,
        wall,
        t.files as f64 / wall,
        t.pixels as f64 / wall / 1e6
    );
    println!(
        "per file (ms, summed over threads): read {:.2}  decode {:.2}  pdq+dihedral {:.2}  img_hash family {:.2}  sha256 {:.2}  regions {:.2}",
        per(t.read),
        per(t.decode),
        per(t.pdq),
        per(t.img),
        per(t.sha),
        per(t.regions)
    );
    println!("RESULT files_per_s={:.3}", t.files as f64 / wall);
}
