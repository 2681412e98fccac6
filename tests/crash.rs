//! Crash safety: an ingest killed with SIGKILL at random points and then
//! re-run must end with every file ingested exactly once — no blob without
//! its record, no record without its blob, no sighting twice.

mod common;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A small deterministic generator (splitmix64); the seed is printed so a
/// failing run can be replayed with SIGHTLINE_TEST_SEED.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// `SIGHTLINE_TEST_SEED`, else the clock.
fn seed() -> u64 {
    std::env::var("SIGHTLINE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        })
}

const KILLS: usize = 20;
const COPIES: usize = 3;

#[test]
fn sigkill_at_twenty_random_points_then_rerun_ingests_everything_exactly_once() {
    let seed = seed();
    eprintln!("crash test seed: {seed} (set SIGHTLINE_TEST_SEED={seed} to replay)");
    let mut rng = Rng(seed);

    // Input: the media fixtures, three times over in separate folders, so
    // each file has three sightings and there is enough work to interrupt.
    let input = tempfile::tempdir().expect("tempdir");
    for i in 0..COPIES {
        for sub in ["images", "videos", "hostile"] {
            copy_tree(
                &fixtures().join(sub),
                &input.path().join(format!("copy{i}/{sub}")),
            );
        }
    }
    let expected = expected();
    let accepted: Vec<_> = expected
        .iter()
        .filter(|e| s(e, "status") == "accepted")
        .collect();
    let distinct: BTreeSet<&str> = accepted.iter().map(|e| s(e, "sha256")).collect();
    let rejected = expected.len() - accepted.len();

    // The reference: one uninterrupted run, and how long it takes.
    let reference = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    json(
        reference.path(),
        &["ingest", "--json", &input.path().display().to_string()],
    );
    let full = t.elapsed();
    let reference_check = json(reference.path(), &["check", "--json"]);
    let full_events = n(&reference_check["report"], "events") as usize;
    // Keyframes, thumbnails and contact sheets of the videos.
    let full_derived = n(&reference_check["report"], "derived") as usize;
    assert!(full_derived > 0);
    eprintln!("uninterrupted run: {full:?}, {full_events} events");
    let clusters = |data: &std::path::Path| -> BTreeSet<Vec<String>> {
        json_lines(data, &["clusters", "--json"])
            .iter()
            .map(|c| {
                let mut m: Vec<String> = c["members"]
                    .as_array()
                    .expect("members")
                    .iter()
                    .map(|x| s(x, "sha256").to_string())
                    .collect();
                m.sort();
                m
            })
            .collect()
    };
    let listing = |data: &std::path::Path| -> BTreeSet<(String, u64)> {
        json_lines(data, &["ls", "--json"])
            .iter()
            .map(|i| (s(&i["item"], "sha256").to_string(), n(i, "sightings")))
            .collect()
    };
    let want = listing(reference.path());
    let want_clusters = clusters(reference.path());
    assert!(
        !want_clusters.is_empty(),
        "the fixtures hold near-duplicates"
    );

    // Each kill is its own experiment: a fresh store, the whole job, SIGKILL
    // at a random moment, then the same job again to completion.
    let mut partial = 0;
    for k in 0..KILLS {
        let data = tempfile::tempdir().expect("tempdir");
        let at = Duration::from_micros(rng.next() % (full.as_micros() as u64 + 1));
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(data.path())
            .args(["ingest", "--json"])
            .arg(input.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(at);
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let journal = std::fs::read(data.path().join("journal/events.jsonl")).unwrap_or_default();
        let done = journal.iter().filter(|&&b| b == b'\n').count();
        if done > 0 && done < full_events {
            partial += 1;
        }

        let last = json(
            data.path(),
            &["ingest", "--json", &input.path().display().to_string()],
        );
        let summary = &last["summary"];
        assert_eq!(
            n(summary, "rejected") as usize,
            rejected * COPIES,
            "kill {k}"
        );

        let check = json(data.path(), &["check", "--json"]);
        assert_eq!(
            check["clean"], true,
            "kill {k} at {at:?}: store not clean: {check}"
        );
        let report = &check["report"];
        assert_eq!(n(report, "items") as usize, distinct.len(), "kill {k}");
        assert_eq!(n(report, "derived") as usize, full_derived, "kill {k}");
        assert_eq!(
            n(report, "blobs") as usize,
            distinct.len() + full_derived,
            "kill {k}: orphan blob"
        );
        assert_eq!(
            n(report, "sightings") as usize,
            accepted.len() * COPIES,
            "kill {k}: every file exactly once"
        );
        assert_eq!(n(report, "events") as usize, full_events, "kill {k}");
        assert_eq!(
            listing(data.path()),
            want,
            "kill {k}: same store as uninterrupted"
        );
        assert_eq!(
            clusters(data.path()),
            want_clusters,
            "kill {k}: same clusters as uninterrupted"
        );

        // One more run is pure duplicates.
        let again = json(
            data.path(),
            &["ingest", "--json", &input.path().display().to_string()],
        );
        assert_eq!(
            n(&again["summary"], "duplicates") as usize,
            accepted.len() * COPIES
        );
        assert_eq!(n(&again["summary"], "new_items"), 0);
    }
    eprintln!("{partial} of {KILLS} kills landed after some but not all of the job was recorded");
    assert!(partial >= KILLS / 4, "kills must interrupt real work");
}

/// Items in the HTTP job.
const URL_ITEMS: usize = 2000;
/// SIGKILLs during the HTTP job.
const URL_KILLS: usize = 10;

/// Journal lines written so far (each is one audit event).
fn journal_events(data: &std::path::Path) -> usize {
    std::fs::read(data.join("journal/events.jsonl"))
        .map(|j| j.iter().filter(|&&b| b == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn a_2000_url_job_killed_at_ten_random_points_and_resumed_records_every_item_exactly_once() {
    use std::sync::Arc;

    use sightline_collect::testing::{FixtureServer, Reply};

    let seed = seed();
    eprintln!("url job crash test seed: {seed} (set SIGHTLINE_TEST_SEED={seed} to replay)");
    let mut rng = Rng(seed ^ 0x5EED);

    // 2000 distinct small JPEGs, served at /item/N.jpg.
    let bodies: Vec<Arc<[u8]>> = (0..URL_ITEMS)
        .map(|i| {
            let mut px = Rng(i as u64 + 1);
            let img = image::RgbImage::from_fn(48, 48, |_, _| {
                let v = px.next();
                image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
            });
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
                .encode_image(&img)
                .expect("encode");
            out.into()
        })
        .collect();
    let served = bodies.clone();
    let server = FixtureServer::start(move |req| {
        let n = req
            .path_only()
            .strip_prefix("/item/")
            .and_then(|p| p.strip_suffix(".jpg"))
            .and_then(|p| p.parse::<usize>().ok());
        match n.and_then(|n| served.get(n)) {
            Some(b) => Reply::ok("image/jpeg", b.clone()),
            None => Reply::NotFound,
        }
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let list: String = (0..URL_ITEMS)
        .map(|i| server.url(&format!("item/{i}.jpg")) + "\n")
        .collect();
    std::fs::write(dir.path().join("urls.txt"), list).expect("write urls");
    let pipeline = dir.path().join("job.toml");
    std::fs::write(
        &pipeline,
        "version = 1\nname = \"crash-urls\"\n[concurrency]\nfetch = 8\npreserve = 2\n\
         [network]\nallow = [\"127.0.0.1/32\"]\n[[sources]]\nkind = \"urls\"\nfile = \"urls.txt\"\n",
    )
    .expect("write pipeline");
    // Four events per new image: preserved, sighted, fingerprinted, described.
    let full_events = URL_ITEMS * 4;

    // Kill points: each a random journal length past the last one, spread
    // so that all ten fall inside the job.
    let data = tempfile::tempdir().expect("tempdir");
    let mut kills = 0;
    let mut attempts = 0;
    while kills < URL_KILLS && attempts < 3 * URL_KILLS {
        attempts += 1;
        let at = journal_events(data.path());
        let room = (full_events.saturating_sub(at) / (URL_KILLS - kills + 1)).max(1);
        let target = at + 1 + (rng.next() % room as u64) as usize;
        let mut child = Command::new(bin())
            .arg("--data-dir")
            .arg(data.path())
            .args(["run", "--json"])
            .arg(&pipeline)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(300);
        while journal_events(data.path()) < target
            && child.try_wait().expect("poll").is_none()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        // Land somewhere in the middle of whatever is in flight.
        std::thread::sleep(Duration::from_micros(rng.next() % 20_000));
        if child.try_wait().expect("poll").is_none() {
            kills += 1;
        }
        child.kill().ok();
        child.wait().expect("reap");
    }
    eprintln!("{kills} kills landed mid-job in {attempts} runs");
    assert_eq!(kills, URL_KILLS, "kills must interrupt real work");

    let last = json(
        data.path(),
        &["run", "--json", pipeline.to_str().expect("utf-8")],
    );
    let summary = &last["summary"];
    assert_eq!(n(summary, "rejected"), 0, "{summary}");
    assert_eq!(n(summary, "files") as usize, URL_ITEMS);
    // What earlier runs recorded is skipped, never fetched or recorded twice.
    assert_eq!(
        (n(summary, "new_items") + n(summary, "skipped")) as usize,
        URL_ITEMS,
        "{summary}"
    );
    assert_eq!(n(summary, "duplicates"), 0, "{summary}");

    let check = json(data.path(), &["check", "--json"]);
    assert_eq!(check["clean"], true, "store not clean: {check}");
    let report = &check["report"];
    assert_eq!(n(report, "items") as usize, URL_ITEMS);
    assert_eq!(
        n(report, "sightings") as usize,
        URL_ITEMS,
        "every URL exactly once"
    );
    assert_eq!(n(report, "blobs") as usize, URL_ITEMS, "no orphan blob");
    assert_eq!(
        n(report, "events") as usize,
        full_events,
        "seed {seed}: four events per item: {check}"
    );
    // Every item is the bytes its URL served.
    let stored: BTreeSet<String> = json_lines(data.path(), &["ls", "--json"])
        .iter()
        .map(|i| s(&i["item"], "sha256").to_string())
        .collect();
    let served: BTreeSet<String> = bodies.iter().map(|b| sha256_hex(b)).collect();
    assert_eq!(stored, served);
}
