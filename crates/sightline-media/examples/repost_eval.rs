//! Re-post matching evaluation on the set made by `bench/repost/make_set.py`.
//!
//! `cargo run --release -p sightline-media --example repost_eval -- SET_DIR`
//!
//! Every image of the set (originals and re-posts) is decoded as the ingest
//! pipeline decodes it (te mode) and fingerprinted. Then, for each method,
//! the best distance between every two images is computed, and the tool
//! prints (markdown):
//!
//! * per transform, the recall: the share of re-posts whose distance to
//!   their own original is within the threshold (PDQ: ≤ 31 with quality ≥ 50
//!   on both hashes; pHash/dHash: ≤ 10 of 64 bits);
//! * the pairwise precision over all pairs of images in the set: of the
//!   pairs within the threshold, the share that are the same photo (an
//!   original with its re-posts, or two re-posts of one original);
//! * how well `find_regions` found the photo in the letterbox and
//!   screenshot re-posts (IoU ≥ 0.9 with where the generator put it) and how
//!   often it proposed a region for anything else;
//! * time per image for each stage.
//!
//! Methods: `pdq` (whole image against whole image), `pdq+dihedral` (the 8
//! dihedral hashes of one against the whole hash of the other), `+regions`
//! (plus the PDQ of every region `find_regions` proposes, on both sides),
//! `+centre` (plus the PDQ of centred crops at fixed scales, on both sides),
//! `phash`, `dhash` (image_hasher: DCT + median, gradient; 8×8 bits).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use image_hasher::{HashAlg, HasherConfig};
use sightline_media::Limits;
use sightline_media::decode::{DecodeMode, decode};
use sightline_media::pdq::{LumaModel, PdqHash, PdqHasher, hamming};
use sightline_media::regions::{centre_rect, crop_rgb, find_regions, iou};

const PDQ_T: u32 = 31;
const PDQ_Q: u8 = 50;
const IMG_T: u32 = 10;
/// Centre-crop scales hashed for the `+centre` methods.
const CENTRE: [f64; 4] = [0.9, 0.8, 0.7, 0.6];

struct Row {
    path: String,
    original: String,
    transform: String,
    truth: Option<[u32; 4]>,
}

/// A PDQ hash with its quality.
#[derive(Clone, Copy)]
struct H {
    hash: PdqHash,
    q: u8,
}

#[derive(Default)]
struct Fp {
    /// The 8 dihedral hashes of the whole image (index 0 = as is).
    whole: Vec<H>,
    /// Per region: its 8 dihedral hashes.
    regions: Vec<Vec<H>>,
    region_rects: Vec<[u32; 4]>,
    /// Per centre scale (CENTRE order): its 8 dihedral hashes.
    centre: Vec<Vec<H>>,
    phash: u64,
    dhash: u64,
    ms_decode: f64,
    ms_pdq: f64,
    ms_regions: f64,
    ms_centre: f64,
    /// Local features, for confirming doubtful candidates.
    features: Option<sightline_media::features::Features>,
    ms_features: f64,
    ok: bool,
}

fn read_labels(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("labels.csv")).expect("labels.csv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let truth = f.get(3).and_then(|s| {
                let v: Vec<u32> = s
                    .split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect();
                (v.len() == 4).then(|| [v[0], v[1], v[2], v[3]])
            });
            Row {
                path: f[0].to_string(),
                original: f[1].to_string(),
                transform: f[2].to_string(),
                truth,
            }
        })
        .collect()
}

fn bits64(h: &image_hasher::ImageHash) -> u64 {
    h.as_bytes()
        .iter()
        .take(8)
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn dihedral(hasher: &mut PdqHasher, rgb: &[u8], w: u32, h: u32) -> Vec<H> {
    let d = hasher.dihedral(rgb, w, h, LumaModel::Pdqhash);
    d.hashes
        .iter()
        .map(|&hash| H { hash, q: d.quality })
        .collect()
}

fn fingerprint(path: &Path) -> Fp {
    let mut fp = Fp::default();
    let Ok(bytes) = std::fs::read(path) else {
        return fp;
    };
    let t = Instant::now();
    let Ok(d) = decode(&bytes, &Limits::default(), DecodeMode::Te) else {
        return fp;
    };
    fp.ms_decode = t.elapsed().as_secs_f64() * 1e3;
    let (w, h) = (d.width, d.height);
    let mut hasher = PdqHasher::new();
    let t = Instant::now();
    fp.whole = dihedral(&mut hasher, &d.rgb, w, h);
    fp.ms_pdq = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let regions = find_regions(&d.rgb, w, h);
    fp.ms_regions = t.elapsed().as_secs_f64() * 1e3;
    for r in &regions {
        if let Some(px) = crop_rgb(&d.rgb, w, h, r.rect) {
            fp.regions
                .push(dihedral(&mut hasher, &px, r.rect[2], r.rect[3]));
            fp.region_rects.push(r.rect);
        }
    }
    let t = Instant::now();
    for s in CENTRE {
        let r = centre_rect(w, h, s);
        let px = crop_rgb(&d.rgb, w, h, r).unwrap_or_default();
        fp.centre.push(dihedral(&mut hasher, &px, r[2], r[3]));
    }
    fp.ms_centre = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    fp.features = Some(sightline_media::features::extract_rgb(&d.rgb, w, h));
    fp.ms_features = t.elapsed().as_secs_f64() * 1e3;
    if let Some(img) = image::RgbImage::from_raw(w, h, d.rgb) {
        let img = image::DynamicImage::ImageRgb8(img);
        let ph = HasherConfig::new()
            .hash_size(8, 8)
            .preproc_dct()
            .hash_alg(HashAlg::Median)
            .to_hasher();
        let dh = HasherConfig::new()
            .hash_size(8, 8)
            .hash_alg(HashAlg::Gradient)
            .to_hasher();
        fp.phash = bits64(&ph.hash_image(&img));
        fp.dhash = bits64(&dh.hash_image(&img));
    }
    fp.ok = true;
    fp
}

/// Best distance from any of `query` to any of `stored`, among hashes of
/// quality ≥ PDQ_Q.
fn best(query: &[&H], stored: &[&H]) -> u32 {
    let mut d = u32::MAX;
    for a in query {
        if a.q < PDQ_Q {
            continue;
        }
        for b in stored {
            if b.q >= PDQ_Q {
                d = d.min(hamming(&a.hash, &b.hash));
            }
        }
    }
    d
}

/// Which hashes a method queries with and stores.
#[derive(Clone, Copy)]
struct Method {
    name: &'static str,
    dihedral: bool,
    regions: bool,
    /// Bit mask over CENTRE.
    centre: u8,
}

fn take(v: &[H], all: bool) -> impl Iterator<Item = &H> {
    v.iter().take(if all { v.len() } else { 1 })
}

fn hashes(fp: &Fp, m: Method, query: bool) -> Vec<&H> {
    let all = query && m.dihedral;
    let mut out: Vec<&H> = take(&fp.whole, all).collect();
    if m.regions {
        for r in &fp.regions {
            out.extend(take(r, all));
        }
    }
    for (i, c) in fp.centre.iter().enumerate() {
        if m.centre & (1 << i) != 0 {
            out.extend(take(c, all));
        }
    }
    out
}

fn pdq_distance(a: &Fp, b: &Fp, m: Method) -> u32 {
    let (qa, sa) = (hashes(a, m, true), hashes(a, m, false));
    let (qb, sb) = (hashes(b, m, true), hashes(b, m, false));
    best(&qa, &sb).min(best(&qb, &sa))
}

/// The distance ingest's doubtful pass sees (`Matcher::matches_verified`):
/// queries are the whole image (unless a frame was found in it: then its
/// whole hash is mostly the frame), its found regions and centre crops at
/// 80% and 60%, without dihedral variants, against everything stored.
fn doubtful_distance(a: &Fp, b: &Fp) -> u32 {
    let m = Method {
        name: "",
        dihedral: false,
        regions: true,
        centre: 0b1010,
    };
    fn queries(fp: &Fp, m: Method) -> Vec<&H> {
        let mut q = hashes(fp, m, true);
        if !fp.regions.is_empty() {
            q.remove(0);
        }
        q
    }
    best(&queries(a, m), &hashes(b, m, false)).min(best(&queries(b, m), &hashes(a, m, false)))
}

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: repost_eval SET_DIR");
        std::process::exit(2);
    };
    let rows = read_labels(&dir);
    let n = rows.len();
    eprintln!("{n} images");
    let next = AtomicUsize::new(0);
    let fps: Mutex<Vec<Option<Fp>>> = Mutex::new((0..n).map(|_| None).collect());
    let threads = std::thread::available_parallelism()
        .map_or(2, |v| v.get())
        .min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let fp = fingerprint(&dir.join(&rows[i].path));
                    if let Ok(mut v) = fps.lock() {
                        v[i] = Some(fp);
                    }
                }
            });
        }
    });
    let fps: Vec<Fp> = fps
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    let bad = fps.iter().filter(|f| !f.ok).count();
    if bad > 0 {
        eprintln!("{bad} images failed to decode");
    }
    let orig_index: BTreeMap<&str, usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.transform == "original")
        .map(|(i, r)| (r.path.as_str(), i))
        .collect();
    let family: Vec<usize> = rows
        .iter()
        .map(|r| {
            orig_index
                .get(r.original.as_str())
                .copied()
                .unwrap_or(usize::MAX)
        })
        .collect();

    let methods = [
        Method {
            name: "pdq",
            dihedral: false,
            regions: false,
            centre: 0,
        },
        Method {
            name: "pdq+dihedral",
            dihedral: true,
            regions: false,
            centre: 0,
        },
        Method {
            name: "+regions",
            dihedral: true,
            regions: true,
            centre: 0,
        },
        Method {
            name: "+regions+c80",
            dihedral: true,
            regions: true,
            centre: 0b0010,
        },
        Method {
            name: "+regions+c80,c60",
            dihedral: true,
            regions: true,
            centre: 0b1010,
        },
        Method {
            name: "+regions+c90..c60",
            dihedral: true,
            regions: true,
            centre: 0b1111,
        },
    ];
    // Distances of every unordered pair, per method (PDQ methods, then
    // pHash, dHash).
    // PDQ methods, pHash, dHash, then `+c80,c60+verified`: the ingest
    // method, plus pairs at 32..=79 that local features confirm.
    let nm = methods.len() + 3;
    let verified_k = nm - 1;
    let mut verify_ms = 0.0f64;
    let mut verify_n = 0usize;
    let mut within = vec![0usize; nm];
    let mut true_within = vec![0usize; nm];
    let mut own: Vec<Vec<u32>> = vec![vec![u32::MAX; n]; nm];
    // Different-photo pairs by distance band, for the ingest method
    // (`+regions+c80,c60`) and dHash: how many a looser candidate
    // threshold would let through to verification.
    const BANDS: [u32; 6] = [31, 47, 63, 79, 95, u32::MAX];
    let mut wrong_bands = [[0usize; 6]; 2];
    for i in 0..n {
        if !fps[i].ok {
            continue;
        }
        for j in i + 1..n {
            if !fps[j].ok {
                continue;
            }
            let same = family[i] == family[j];
            let pair_is_own = (rows[i].transform == "original" && family[j] == i)
                || (rows[j].transform == "original" && family[i] == j);
            for (k, m) in methods.iter().enumerate() {
                let d = pdq_distance(&fps[i], &fps[j], *m);
                if k == 4 {
                    let hit = d <= PDQ_T
                        || (doubtful_distance(&fps[i], &fps[j]) <= 79 && {
                            let t = Instant::now();
                            let c = match (&fps[i].features, &fps[j].features) {
                                (Some(a), Some(b)) => {
                                    sightline_media::features::confirm(a, b).is_some()
                                }
                                _ => false,
                            };
                            verify_ms += t.elapsed().as_secs_f64() * 1e3;
                            verify_n += 1;
                            c
                        });
                    if hit && !same && d > PDQ_T && std::env::var_os("REPOST_BANDS").is_some() {
                        eprintln!(
                            "false confirmation: {} ~ {} (distance {d})",
                            rows[i].path, rows[j].path
                        );
                    }
                    if hit {
                        within[verified_k] += 1;
                        true_within[verified_k] += usize::from(same);
                    }
                    if pair_is_own {
                        let r = if rows[i].transform == "original" {
                            j
                        } else {
                            i
                        };
                        own[verified_k][r] = if hit { 0 } else { u32::MAX };
                    }
                }
                if k == 4 && !same {
                    wrong_bands[0][BANDS.iter().position(|&b| d <= b).unwrap_or(5)] += 1;
                }
                if d <= PDQ_T {
                    within[k] += 1;
                    true_within[k] += usize::from(same);
                }
                if pair_is_own {
                    let r = if rows[i].transform == "original" {
                        j
                    } else {
                        i
                    };
                    own[k][r] = d;
                }
            }
            for (k, d) in [
                (methods.len(), (fps[i].phash ^ fps[j].phash).count_ones()),
                (
                    methods.len() + 1,
                    (fps[i].dhash ^ fps[j].dhash).count_ones(),
                ),
            ] {
                if k == methods.len() + 1 && !same {
                    let dd = d * 4; // 64-bit dHash on the 256-bit scale
                    wrong_bands[1][BANDS.iter().position(|&b| dd <= b).unwrap_or(5)] += 1;
                }
                if d <= IMG_T {
                    within[k] += 1;
                    true_within[k] += usize::from(same);
                }
                if pair_is_own {
                    let r = if rows[i].transform == "original" {
                        j
                    } else {
                        i
                    };
                    own[k][r] = d;
                }
            }
        }
    }
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m.name)
        .chain(["phash", "dhash", "+c80,c60+verified"])
        .collect();
    let thresholds: Vec<u32> = (0..nm)
        .map(|k| {
            if k < methods.len() {
                PDQ_T
            } else if k == verified_k {
                0
            } else {
                IMG_T
            }
        })
        .collect();
    eprintln!(
        "verification: {verify_n} pairs in 32..=79 checked, {:.2} ms each",
        verify_ms / verify_n.max(1) as f64
    );
    // Per-transform recall.
    let mut transforms: Vec<&str> = rows
        .iter()
        .filter(|r| r.transform != "original")
        .map(|r| r.transform.as_str())
        .collect();
    transforms.sort_unstable();
    transforms.dedup();
    println!("| transform | n | {} |", names.join(" | "));
    println!("|---|---:|{}|", vec!["---:"; nm].join("|"));
    let mut all_hit = vec![0usize; nm];
    let mut all_n = 0usize;
    for t in &transforms {
        let idx: Vec<usize> = (0..n)
            .filter(|&i| rows[i].transform == *t && fps[i].ok)
            .collect();
        all_n += idx.len();
        let cells: Vec<String> = (0..nm)
            .map(|k| {
                let hit = idx.iter().filter(|&&i| own[k][i] <= thresholds[k]).count();
                all_hit[k] += hit;
                format!("{:.0}%", 100.0 * hit as f64 / idx.len().max(1) as f64)
            })
            .collect();
        println!("| {t} | {} | {} |", idx.len(), cells.join(" | "));
    }
    let cells: Vec<String> = (0..nm)
        .map(|k| {
            format!(
                "**{:.0}%**",
                100.0 * all_hit[k] as f64 / all_n.max(1) as f64
            )
        })
        .collect();
    println!("| **all re-posts** | {all_n} | {} |", cells.join(" | "));
    let cells: Vec<String> = (0..nm)
        .map(|k| {
            format!(
                "{:.4} ({}/{})",
                true_within[k] as f64 / within[k].max(1) as f64,
                true_within[k],
                within[k]
            )
        })
        .collect();
    println!(
        "| **pairwise precision** | {} pairs | {} |",
        n * (n - 1) / 2,
        cells.join(" | ")
    );
    if std::env::var_os("REPOST_BANDS").is_some() {
        let label = |k: usize| {
            let lo = if k == 0 { 0 } else { BANDS[k - 1] + 1 };
            if BANDS[k] == u32::MAX {
                format!("≥{lo}")
            } else {
                format!("{lo}–{}", BANDS[k])
            }
        };
        let head: Vec<String> = (0..6).map(label).collect();
        println!("\n| distance band (of 256) | {} |", head.join(" | "));
        println!("|---|{}|", ["---:"; 6].join("|"));
        for t in &transforms {
            let idx: Vec<usize> = (0..n)
                .filter(|&i| rows[i].transform == *t && fps[i].ok)
                .collect();
            let mut c = [0usize; 6];
            for &i in &idx {
                c[BANDS.iter().position(|&b| own[4][i] <= b).unwrap_or(5)] += 1;
            }
            let cells: Vec<String> = c.iter().map(|x| x.to_string()).collect();
            println!("| {t} (+regions+c80,c60) | {} |", cells.join(" | "));
        }
        for (name, b) in [
            ("different photos, +regions+c80,c60", 0),
            ("different photos, dHash×4", 1),
        ] {
            let cells: Vec<String> = wrong_bands[b].iter().map(|x| x.to_string()).collect();
            println!("| {name} | {} |", cells.join(" | "));
        }
        println!();
    }

    // Region detection on the set.
    let mut framed = 0;
    let mut found = 0;
    let mut false_props = BTreeMap::<&str, (usize, usize)>::new();
    for (i, r) in rows.iter().enumerate() {
        match r.truth {
            Some(t) => {
                framed += 1;
                if fps[i].region_rects.iter().any(|&g| iou(g, t) >= 0.9) {
                    found += 1;
                }
            }
            None => {
                let e = false_props.entry(r.transform.as_str()).or_default();
                e.1 += 1;
                if !fps[i].region_rects.is_empty() {
                    e.0 += 1;
                }
            }
        }
    }
    println!();
    println!("regions: photo found (IoU >= 0.9) in {found}/{framed} letterbox/screenshot re-posts");
    let fp_desc: Vec<String> = false_props
        .iter()
        .map(|(t, (k, m))| format!("{t} {k}/{m}"))
        .collect();
    println!(
        "regions proposed where there is no frame: {}",
        fp_desc.join(", ")
    );
    let mut per_t: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        if let Some(t) = r.truth {
            let e = per_t.entry(r.transform.as_str()).or_default();
            e.1 += 1;
            if fps[i].region_rects.iter().any(|&g| iou(g, t) >= 0.9) {
                e.0 += 1;
            }
        }
    }
    let d: Vec<String> = per_t
        .iter()
        .map(|(t, (k, m))| format!("{t} {k}/{m}"))
        .collect();
    println!("regions found per framed transform: {}", d.join(", "));
    let avg = |f: &dyn Fn(&Fp) -> f64| {
        fps.iter().filter(|x| x.ok).map(f).sum::<f64>()
            / fps.iter().filter(|x| x.ok).count().max(1) as f64
    };
    println!(
        "ms per image (mean, one thread): decode {:.1}, pdq+dihedral {:.1}, find_regions {:.2}, {} centre crops {:.1}, local features {:.2}",
        avg(&|x| x.ms_decode),
        avg(&|x| x.ms_pdq),
        avg(&|x| x.ms_regions),
        CENTRE.len(),
        avg(&|x| x.ms_centre),
        avg(&|x| x.ms_features)
    );
}
