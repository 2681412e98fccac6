//! Conformance of our vPDQ with the reference's outputs in
//! `../shared/conformance/vpdq` (path from `SIGHTLINE_CONFORMANCE`, default
//! `../shared/conformance`):
//!
//! * `reference_1s/*.txt`: pip `vpdq` 0.2.5 at one hash per second on this
//!   machine's ffmpeg: must be identical, line for line, text included.
//! * `expected/*.txt`: ThreatExchange's `vpdq/sample-hashes`, every frame
//!   (`-128x128`: frames squashed to 128×128 first). The reference's own
//!   regression rule must hold with the default conversion (every frame of
//!   quality ≥ 50 on both sides within Hamming 31); and with the conversion
//!   each file was made with ([`RgbConversion::SampleHashes`] for all but
//!   `test-padded-dimensions`, added later), at least 95% must be identical.
//!
//! Run: `cargo test --release --test vpdq_conformance -- --ignored --nocapture`.

use std::path::{Path, PathBuf};

use sightline_media::pdq::hamming;
use sightline_media::video_hash::{
    RgbConversion, VpdqFrame, VpdqOptions, format_frame, hash_video_file, parse_vpdq_text,
};

fn root() -> PathBuf {
    std::env::var_os("SIGHTLINE_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        })
        .join("vpdq")
}

fn txt_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    v.sort();
    v
}

fn read(p: &Path) -> Vec<VpdqFrame> {
    parse_vpdq_text(&std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[derive(Debug, Default, Clone, Copy)]
struct Cmp {
    frames: usize,
    identical: usize,
    /// Max distance over pairs with both qualities >= 50.
    max_q50: u32,
    /// Max distance over all pairs.
    max_all: u32,
    quality_mismatch: usize,
    frame_number_mismatch: usize,
    text_mismatch: usize,
    count_mismatch: bool,
}

fn compare(exp: &[VpdqFrame], got: &[VpdqFrame]) -> Cmp {
    let mut c = Cmp {
        frames: exp.len(),
        count_mismatch: exp.len() != got.len(),
        ..Cmp::default()
    };
    for (e, g) in exp.iter().zip(got) {
        let d = hamming(&e.hash, &g.hash);
        c.identical += usize::from(d == 0 && e.quality == g.quality);
        c.max_all = c.max_all.max(d);
        if e.quality >= 50 && g.quality >= 50 {
            c.max_q50 = c.max_q50.max(d);
        }
        c.quality_mismatch += usize::from(e.quality != g.quality);
        c.frame_number_mismatch += usize::from(e.frame != g.frame);
        c.text_mismatch += usize::from(format_frame(e) != format_frame(g));
    }
    c
}

fn hash(video: &Path, spf: f64, dim: Option<u32>, conversion: RgbConversion) -> Vec<VpdqFrame> {
    let opts = VpdqOptions {
        seconds_per_hash: spf,
        downsample: dim.map(|d| (d, d)),
        conversion,
        ..VpdqOptions::default()
    };
    hash_video_file(video, &opts)
        .unwrap_or_else(|e| panic!("{}: {e} [{}]", video.display(), e.code()))
        .frames
}

#[test]
#[ignore = "conformance: needs ../shared/conformance"]
fn reference_1s_identical() {
    let dir = root();
    println!("\nreference_1s (pip vpdq 0.2.5, 1 s)");
    println!("| file | frames | identical | max distance (q>=50) | text lines equal |");
    println!("|---|---:|---:|---:|---:|");
    let (mut total, mut identical, mut max) = (0usize, 0usize, 0u32);
    for exp_path in txt_files(&dir.join("reference_1s")) {
        let stem = exp_path.file_stem().unwrap().to_string_lossy().into_owned();
        let video = dir.join("videos").join(format!("{stem}.mp4"));
        let exp = read(&exp_path);
        let got = hash(&video, 1.0, None, RgbConversion::Reference);
        let c = compare(&exp, &got);
        println!(
            "| {stem} | {} | {} | {} | {} |",
            c.frames,
            c.identical,
            c.max_q50,
            c.frames - c.text_mismatch
        );
        assert!(
            !c.count_mismatch,
            "{stem}: {} frames expected, {} hashed",
            exp.len(),
            got.len()
        );
        assert_eq!(c.frame_number_mismatch, 0, "{stem}: frame numbers differ");
        assert!(c.max_q50 <= 31, "{stem}: distance {} > 31", c.max_q50);
        total += c.frames;
        identical += c.identical;
        max = max.max(c.max_q50);
    }
    let share = identical as f64 / total as f64;
    println!(
        "total: {identical}/{total} identical ({:.2}%), max distance {max}",
        share * 100.0
    );
    assert!(total > 0);
    assert!(share >= 0.95, "identical share {share:.3} < 0.95");
}

#[test]
#[ignore = "conformance: needs ../shared/conformance"]
fn expected_every_frame() {
    let dir = root();
    println!("\nexpected (ThreatExchange sample-hashes, every frame)");
    println!(
        "| file | frames | identical (reference conv.) | max dist q>=50 | identical (sample-hashes conv.) | max dist q>=50 |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let (mut total, mut best_identical, mut ref_identical, mut ref_max, mut skipped) =
        (0usize, 0usize, 0usize, 0u32, Vec::new());
    for exp_path in txt_files(&dir.join("expected")) {
        let stem = exp_path.file_stem().unwrap().to_string_lossy().into_owned();
        let (name, dim) = match stem.strip_suffix("-128x128") {
            Some(n) => (n.to_string(), Some(128)),
            None => (stem.clone(), None),
        };
        let video = dir.join("videos").join(format!("{name}.mp4"));
        if !video.exists() {
            skipped.push(stem);
            continue;
        }
        let exp = read(&exp_path);
        let r = compare(&exp, &hash(&video, 0.0, dim, RgbConversion::Reference));
        let s = compare(&exp, &hash(&video, 0.0, dim, RgbConversion::SampleHashes));
        println!(
            "| {stem} | {} | {} | {} | {} | {} |",
            r.frames, r.identical, r.max_q50, s.identical, s.max_q50
        );
        assert!(
            !r.count_mismatch && !s.count_mismatch,
            "{stem}: frame count differs"
        );
        assert_eq!(
            r.frame_number_mismatch + s.frame_number_mismatch,
            0,
            "{stem}: frame numbers differ"
        );
        // The reference's regression rule, with our default conversion.
        assert!(r.max_q50 <= 31, "{stem}: distance {} > 31", r.max_q50);
        total += r.frames;
        ref_identical += r.identical;
        ref_max = ref_max.max(r.max_q50);
        best_identical += r.identical.max(s.identical);
    }
    let share = best_identical as f64 / total as f64;
    println!(
        "total: {total} frames; reference conversion {ref_identical} identical ({:.2}%), max distance {ref_max}; \
         with each file's own conversion {best_identical} identical ({:.2}%)",
        ref_identical as f64 * 100.0 / total as f64,
        share * 100.0
    );
    println!(
        "skipped (video not in conformance/vpdq/videos): {}",
        skipped.join(", ")
    );
    assert!(total > 0);
    assert!(share >= 0.95, "identical share {share:.3} < 0.95");
}
