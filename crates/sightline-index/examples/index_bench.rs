//! Benchmark of `PdqIndex` against brute force (not a test: it measures).
//!
//! ```text
//! cargo run --release -p sightline-index --example index_bench -- \
//!     --n 1000000 --queries 1000 --d 31 --out /tmp/pdq-1m.bin --results /tmp/pdq-1m.res
//! ```
//!
//! Generates `n` hashes (90% random, 10% in near-duplicate groups of 20-200
//! hashes, each up to 24 bits from its group's centre, ids shuffled), builds
//! the index in bulk, runs the queries (half a stored hash moved by 0-31
//! bits, half random), and prints latency percentiles, candidates verified,
//! memory against the raw hashes, and brute force on the same queries, whose
//! answers must equal the index's (the run fails otherwise). `--out` writes
//! the hashes and queries, `--results` the index's answers, for
//! `bench/index/faiss_peer.py`. `--tables T` (8 to 12) builds the index
//! with `PdqIndex::with_tables(T)`. The last line, `RESULT k=v ...`, is for
//! `bench/index/run.sh`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use sightline_index::testing::Rng;
use sightline_index::{Hash256, PdqIndex, SearchPlan, brute_force};

struct Args {
    n: usize,
    queries: usize,
    d: u32,
    seed: u64,
    clustered: f64,
    brute: usize,
    incremental: usize,
    tables: usize,
    plan: SearchPlan,
    out: Option<String>,
    results: Option<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        n: 1_000_000,
        queries: 1000,
        d: 31,
        seed: 42,
        clustered: 0.10,
        brute: usize::MAX,
        incremental: 200_000,
        tables: 8,
        plan: SearchPlan::Auto,
        out: None,
        results: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--n" => a.n = v.parse().expect("--n N"),
            "--queries" => a.queries = v.parse().expect("--queries Q"),
            "--d" => a.d = v.parse().expect("--d D"),
            "--seed" => a.seed = v.parse().expect("--seed S"),
            "--clustered" => a.clustered = v.parse().expect("--clustered FRACTION"),
            "--brute" => a.brute = v.parse().expect("--brute QUERIES"),
            "--incremental" => a.incremental = v.parse().expect("--incremental N"),
            "--tables" => a.tables = v.parse().expect("--tables 8..12"),
            "--plan" => {
                a.plan = match v.as_str() {
                    "auto" => SearchPlan::Auto,
                    "index" => SearchPlan::Index,
                    "scan" => SearchPlan::Scan,
                    _ => panic!("--plan auto|index|scan"),
                }
            }
            "--out" => a.out = Some(v),
            "--results" => a.results = Some(v),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    a
}

fn generate(rng: &mut Rng, n: usize, clustered: f64) -> Vec<Hash256> {
    let in_groups = (n as f64 * clustered) as usize;
    let mut hashes = Vec::with_capacity(n);
    while hashes.len() < in_groups {
        let centre = rng.hash();
        let size = 20 + rng.below(181) as usize;
        for _ in 0..size.min(in_groups - hashes.len()) {
            let k = rng.below(25) as u32;
            hashes.push(rng.flip(&centre, k));
        }
    }
    while hashes.len() < n {
        hashes.push(rng.hash());
    }
    for i in (1..hashes.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        hashes.swap(i, j);
    }
    hashes
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// (nanoseconds on a CPU, nanoseconds waiting for one) of this thread so far.
fn schedstat() -> Option<(u64, u64)> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

fn write_data(path: &str, hashes: &[Hash256], queries: &[Hash256], d: u32) -> std::io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    w.write_all(b"SLIDXv1\0")?;
    w.write_all(&(hashes.len() as u64).to_le_bytes())?;
    w.write_all(&(queries.len() as u64).to_le_bytes())?;
    w.write_all(&d.to_le_bytes())?;
    w.write_all(&0u32.to_le_bytes())?;
    for h in hashes.iter().chain(queries) {
        w.write_all(h)?;
    }
    w.flush()
}

fn write_results(path: &str, results: &[Vec<(u32, u32)>]) -> std::io::Result<()> {
    let mut w = BufWriter::new(File::create(path)?);
    w.write_all(b"SLIDRv1\0")?;
    w.write_all(&(results.len() as u64).to_le_bytes())?;
    for r in results {
        w.write_all(&(r.len() as u32).to_le_bytes())?;
        for &(id, dist) in r {
            w.write_all(&id.to_le_bytes())?;
            w.write_all(&dist.to_le_bytes())?;
        }
    }
    w.flush()
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    let mut rng = Rng(args.seed);
    let t = Instant::now();
    let hashes = generate(&mut rng, args.n, args.clustered);
    let queries: Vec<Hash256> = (0..args.queries)
        .map(|i| {
            if i % 2 == 0 {
                let base = hashes[rng.below(hashes.len() as u64) as usize];
                let k = rng.below(u64::from(args.d) + 1) as u32;
                rng.flip(&base, k)
            } else {
                rng.hash()
            }
        })
        .collect();
    println!(
        "data: {} hashes ({:.0}% in near-duplicate groups), {} queries, d = {}, generated in {:.1} s",
        args.n,
        args.clustered * 100.0,
        args.queries,
        args.d,
        t.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.out {
        write_data(path, &hashes, &queries, args.d)?;
        println!("wrote {path}");
    }

    let rss_before = rss_bytes();
    let t = Instant::now();
    let mut index = PdqIndex::with_tables(args.tables).reserved(hashes.len());
    index.extend(hashes.iter().enumerate().map(|(i, h)| (i as u32, h)));
    let build = t.elapsed();
    let rss_after = rss_bytes();
    let raw = 32 * hashes.len();
    let mem = index.memory_bytes();
    println!(
        "build (bulk): {:.2} s; memory_bytes {:.1} MB = {:.3} x raw ({:.1} MB); RSS grew {:.1} MB",
        build.as_secs_f64(),
        mem as f64 / 1e6,
        mem as f64 / raw as f64,
        raw as f64 / 1e6,
        match (rss_before, rss_after) {
            (Some(a), Some(b)) => (b.saturating_sub(a)) as f64 / 1e6,
            _ => f64::NAN,
        }
    );
    println!("{index:?}");

    // Warm up with queries not in the measured set.
    for _ in 0..200 {
        let q = rng.hash();
        std::hint::black_box(index.radius_with(&q, args.d, args.plan));
    }

    let sched_before = schedstat();
    let mut lat = Vec::with_capacity(queries.len());
    let mut results = Vec::with_capacity(queries.len());
    let (mut cand, mut probes, mut matches, mut scans) = (0u64, 0u64, 0u64, 0u64);
    for q in &queries {
        let t = Instant::now();
        let (r, stats) = index.radius_with(q, args.d, args.plan);
        lat.push(t.elapsed());
        cand += stats.candidates;
        probes += stats.probes;
        matches += stats.matches;
        scans += u64::from(stats.plan == SearchPlan::Scan);
        results.push(r);
    }
    let (cpu_us, wait_us) = match (sched_before, schedstat()) {
        (Some((r0, w0)), Some((r1, w1))) => (
            (r1 - r0) as f64 / 1e3 / queries.len().max(1) as f64,
            (w1 - w0) as f64 / 1e3 / queries.len().max(1) as f64,
        ),
        _ => (f64::NAN, f64::NAN),
    };
    // The same queries again, each run twice in a row and the second timed:
    // its lines are in cache, so this is the query's compute alone.
    let mut warm = Vec::with_capacity(queries.len());
    for q in &queries {
        std::hint::black_box(index.radius_with(q, args.d, args.plan));
        let t = Instant::now();
        std::hint::black_box(index.radius_with(q, args.d, args.plan));
        warm.push(t.elapsed());
    }
    warm.sort_unstable();
    let total: Duration = lat.iter().sum();
    let mut sorted = lat.clone();
    sorted.sort_unstable();
    let nq = queries.len().max(1) as f64;
    let near_lat: Vec<Duration> = lat.iter().step_by(2).copied().collect();
    let rand_lat: Vec<Duration> = lat.iter().skip(1).step_by(2).copied().collect();
    let p99_of = |mut v: Vec<Duration>| {
        v.sort_unstable();
        us(percentile(&v, 0.99))
    };
    println!(
        "index: p50 {:.1} us, p99 {:.1} us, max {:.1} us, mean {:.1} us; p99 near-dup queries {:.1} us, random {:.1} us",
        us(percentile(&sorted, 0.50)),
        us(percentile(&sorted, 0.99)),
        us(*sorted.last().unwrap_or(&Duration::ZERO)),
        us(total) / nq,
        p99_of(near_lat),
        p99_of(rand_lat),
    );
    println!(
        "       cached (each query run again at once): p50 {:.1} us, p99 {:.1} us",
        us(percentile(&warm, 0.50)),
        us(percentile(&warm, 0.99)),
    );
    println!(
        "       on-CPU {cpu_us:.1} us per query, waiting for a CPU {wait_us:.1} us per query (other load on the machine)"
    );
    println!(
        "       mean {:.0} candidates verified, {:.0} bucket probes, {:.2} matches per query; {} of {} queries scanned linearly",
        cand as f64 / nq,
        probes as f64 / nq,
        matches as f64 / nq,
        scans,
        queries.len()
    );
    if let Some(path) = &args.results {
        write_results(path, &results)?;
        println!("wrote {path}");
    }

    // One-by-one inserts of a prefix, for comparison with the bulk path
    // (after the measurement above, so its allocations do not blur the RSS
    // figure).
    let inc = args.incremental.min(args.n);
    let inc_secs = if inc > 0 {
        let t = Instant::now();
        let mut index = PdqIndex::with_tables(args.tables);
        for (i, h) in hashes[..inc].iter().enumerate() {
            index.insert(i as u32, h);
        }
        let secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut bulk = PdqIndex::with_tables(args.tables).reserved(inc);
        bulk.extend(hashes[..inc].iter().enumerate().map(|(i, h)| (i as u32, h)));
        let bulk_secs = t.elapsed().as_secs_f64();
        println!(
            "insert one by one: {inc} in {secs:.2} s ({:.2} us each, {} segments after); bulk: {bulk_secs:.2} s",
            secs * 1e6 / inc as f64,
            format!("{index:?}").matches("),").count() + 1,
        );
        drop((index, bulk));
        secs
    } else {
        0.0
    };

    // Brute force on (a prefix of) the same queries: timing and the check.
    let nb = args.brute.min(queries.len());
    let mut blat = Vec::with_capacity(nb);
    let (mut misses, mut extras) = (0usize, 0usize);
    for (q, got) in queries.iter().zip(&results).take(nb) {
        let t = Instant::now();
        let want = brute_force(&hashes, q, args.d);
        blat.push(t.elapsed());
        misses += want.iter().filter(|x| !got.contains(x)).count();
        extras += got.iter().filter(|x| !want.contains(x)).count();
    }
    blat.sort_unstable();
    let bmean = if nb > 0 {
        us(blat.iter().sum::<Duration>()) / nb as f64
    } else {
        0.0
    };
    println!(
        "brute force: {} queries, p50 {:.0} us, p99 {:.0} us, mean {:.0} us; misses {}, extras {}",
        nb,
        us(percentile(&blat, 0.50)),
        us(percentile(&blat, 0.99)),
        bmean,
        misses,
        extras
    );
    println!(
        "RESULT n={} tables={} queries={} d={} warm_p50_us={:.1} build_s={:.3} insert1by1_n={} insert1by1_s={:.3} p50_us={:.1} p99_us={:.1} max_us={:.1} mean_us={:.1} cand_mean={:.0} probes_mean={:.0} matches_mean={:.2} mem_bytes={} mem_ratio={:.3} cpu_us={:.1} wait_us={:.1} brute_n={} brute_p50_us={:.0} brute_p99_us={:.0} brute_mean_us={:.0} misses={} extras={}",
        args.n,
        args.tables,
        queries.len(),
        args.d,
        us(percentile(&warm, 0.50)),
        build.as_secs_f64(),
        inc,
        inc_secs,
        us(percentile(&sorted, 0.50)),
        us(percentile(&sorted, 0.99)),
        us(*sorted.last().unwrap_or(&Duration::ZERO)),
        us(total) / nq,
        cand as f64 / nq,
        probes as f64 / nq,
        matches as f64 / nq,
        mem,
        mem as f64 / raw as f64,
        cpu_us,
        wait_us,
        nb,
        us(percentile(&blat, 0.50)),
        us(percentile(&blat, 0.99)),
        bmean,
        misses,
        extras
    );
    if misses + extras > 0 {
        eprintln!("index and brute force disagree");
        std::process::exit(1);
    }
    Ok(())
}
