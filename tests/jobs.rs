//! Batch jobs end to end: the real `sightline run` against a real HTTP
//! server on loopback (the fixture web site, and a hostile one), the
//! example pipelines in `pipelines/`, resuming, and the SSRF guard.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use serde_json::Value;
use sightline_collect::testing::{FixtureServer, Reply, Request, fixture_site};

/// `sightline run PIPELINE --json` with `--var fixtures=BASE`: the summary.
fn run_job(data: &Path, pipeline: &Path, base: &str) -> Value {
    let var = format!("fixtures={base}");
    let out = json(
        data,
        &[
            "run",
            pipeline.to_str().expect("utf-8 path"),
            "--var",
            &var,
            "--json",
            "--collector",
            "jobs-test",
        ],
    );
    out["summary"].clone()
}

fn by_code(summary: &Value) -> BTreeMap<String, u64> {
    summary["rejected_by_code"]
        .as_object()
        .expect("rejected_by_code")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect()
}

fn counts(summary: &Value) -> [u64; 5] {
    [
        n(summary, "new_items"),
        n(summary, "new_sightings"),
        n(summary, "duplicates"),
        n(summary, "skipped"),
        n(summary, "rejected"),
    ]
}

/// Every sighting in the store, from `show --json` of every item.
fn sightings(data: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    for item in json_lines(data, &["ls", "--json"]) {
        let shown = json(data, &["show", s(&item["item"], "sha256"), "--json"]);
        out.extend(
            shown["sightings"]
                .as_array()
                .expect("sightings")
                .iter()
                .cloned(),
        );
    }
    out
}

fn check_clean(data: &Path) {
    let report = json(data, &["check", "--json"]);
    assert_eq!(report["clean"], true, "check found problems: {report}");
}

#[test]
fn telegram_export_pipeline_keeps_the_post_around_each_medium() {
    let data = tempfile::tempdir().expect("tempdir");
    let summary = run_job(
        data.path(),
        &repo().join("pipelines/telegram-fixtures.toml"),
        "http://127.0.0.1:1",
    );
    assert_eq!(counts(&summary), [4, 0, 0, 0, 7], "{summary}");
    assert_eq!(
        by_code(&summary),
        BTreeMap::from([("bad-message".into(), 2), ("media-missing".into(), 5)])
    );
    let reasons: Vec<String> = summary["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|r| format!("{} {}", s(r, "path"), s(r, "reason")))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("../../etc/passwd") && r.contains("path leaves the export folder")),
        "{reasons:?}"
    );
    let all = sightings(data.path());
    assert_eq!(all.len(), 4);
    let dari = all
        .iter()
        .find(|s| s["post_id"] == "1876543210/3")
        .expect("message 3");
    assert_eq!(dari["platform"], "telegram");
    assert_eq!(dari["posted_at"], "2021-11-02T10:35:40Z");
    assert!(
        s(dari, "caption").starts_with("فوری: دود غلیظ از ساحه شفاخانه نظامی"),
        "caption kept verbatim: {dari}"
    );
    assert_eq!(dari["links"][0], "https://example.org/kabul/2021-11-02");
    assert_eq!(dari["tags"], serde_json::json!(["fixtures", "telegram"]));
    assert_eq!(dari["job_id"], "telegram-fixtures");
    assert_eq!(dari["collector"], "jobs-test");
    assert!(
        s(&dari["source"], "via").ends_with("fixtures/sources/telegram-export message 3"),
        "{dari}"
    );
    check_clean(data.path());

    // The same export again: nothing new, every medium a duplicate.
    let again = run_job(
        data.path(),
        &repo().join("pipelines/telegram-fixtures.toml"),
        "http://127.0.0.1:1",
    );
    assert_eq!(counts(&again), [0, 0, 4, 0, 7], "{again}");
}

#[test]
fn url_feed_and_mastodon_pipelines_fetch_from_the_fixture_site_and_resume() {
    let site = FixtureServer::start(fixture_site(fixtures()));
    let base = site.url("").trim_end_matches('/').to_string();
    let data = tempfile::tempdir().expect("tempdir");
    let pipelines = repo().join("pipelines");

    let urls = run_job(data.path(), &pipelines.join("urls-fixtures.toml"), &base);
    assert_eq!(counts(&urls), [4, 0, 0, 0, 1], "{urls}");
    assert_eq!(by_code(&urls), BTreeMap::from([("http-status".into(), 1)]));

    // Collection facts of a fetched medium.
    let all = sightings(data.path());
    let webp = all
        .iter()
        .find(|s| s["source"]["locator"] == format!("{base}/media/mofa_02.webp"))
        .expect("the webp was collected");
    let src = &webp["source"];
    assert_eq!(src["kind"], "url");
    assert_eq!(src["final_url"], format!("{base}/media/mofa_02.webp"));
    assert_eq!(src["http_status"], 200);
    assert_eq!(
        src["remote_addr"],
        site.addr().to_string(),
        "the address the bytes came from"
    );
    assert!(
        src["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .any(|h| h[0] == "content-type" && h[1] == "image/webp"),
        "{src}"
    );
    assert_eq!(webp["item"], webp["received_sha256"]);

    // A re-run fetches nothing it already has.
    let hits = site.hits();
    let again = run_job(data.path(), &pipelines.join("urls-fixtures.toml"), &base);
    assert_eq!(counts(&again), [0, 0, 0, 4, 1], "{again}");
    assert_eq!(
        site.hits() - hits,
        1,
        "only the URL that failed is asked for again"
    );

    let feeds = run_job(data.path(), &pipelines.join("feed-fixtures.toml"), &base);
    assert_eq!(n(&feeds, "rejected"), 1, "{feeds}");
    assert_eq!(
        n(&feeds, "new_items") + n(&feeds, "new_sightings"),
        7,
        "{feeds}"
    );
    let mastodon = run_job(
        data.path(),
        &pipelines.join("mastodon-fixtures.toml"),
        &base,
    );
    assert!(
        n(&mastodon, "new_items") + n(&mastodon, "new_sightings") >= 4,
        "{mastodon}"
    );
    let codes = by_code(&mastodon);
    assert_eq!(codes.get("bad-status"), Some(&1), "{mastodon}");

    let all = sightings(data.path());
    let toot = all
        .iter()
        .find(|s| s["platform"] == "mastodon" && s["lang"].is_string())
        .expect("a mastodon sighting");
    assert!(s(toot, "post_id").contains('/'), "{toot}");
    assert!(s(toot, "post_url").starts_with(&base), "{toot}");
    let rss = all
        .iter()
        .find(|s| s["platform"] == "rss")
        .expect("a feed sighting");
    assert!(s(&rss["source"], "via").starts_with("feed "), "{rss}");
    check_clean(data.path());
}

#[test]
fn manifest_ingest_reports_bad_lines_by_number_and_keeps_captions_verbatim() {
    let site = FixtureServer::start(fixture_site(fixtures()));
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("posts.jsonl");
    let photo = fixtures().join("images/originals/2021-08-26_kabul-abbey-gate_01.jpg");
    let lines = [
        serde_json::json!({
            "id": "p1", "url": "https://example.org/p/1", "platform": "x", "author": "\u{202e}evil\u{202c}",
            "caption": "<script>alert(1)</script> & <img src=x onerror=alert(2)>",
            "posted_at": "2021-08-26 18:00 +0430", "lang": "en",
            "media": [{"path": photo.to_str().expect("utf-8")}, {"url": site.url("media/embassy_01.jpg")}]
        })
        .to_string(),
        "{\"id\": \"broken\", \"media\": [".to_string(),
        String::new(),
        serde_json::json!({"id": "internal", "media": [{"url": "http://169.254.169.254/latest/meta-data/"}]})
            .to_string(),
        serde_json::json!({"id": "typo", "captoin": "x", "media": [{"path": "a.jpg"}]}).to_string(),
    ];
    std::fs::write(&manifest, lines.join("\n")).expect("write manifest");
    let data = tempfile::tempdir().expect("tempdir");
    let out = json(
        data.path(),
        &[
            "ingest",
            "--manifest",
            manifest.to_str().expect("utf-8"),
            "--allow",
            "127.0.0.1/32",
            "--json",
        ],
    );
    let summary = &out["summary"];
    assert_eq!(counts(summary), [2, 0, 0, 0, 3], "{summary}");
    let rejections = summary["rejections"].as_array().expect("rejections");
    let about = |needle: &str| {
        rejections
            .iter()
            .find(|r| s(r, "path").contains(needle))
            .unwrap_or_else(|| panic!("no rejection naming {needle:?}: {rejections:?}"))
    };
    assert_eq!(about("line 2")["code"], "bad-line");
    assert_eq!(about("line 5")["code"], "bad-line");
    assert!(s(about("line 5"), "reason").contains("captoin"));
    let refused = about("169.254.169.254");
    assert_eq!(refused["code"], "refused-address");
    assert!(s(refused, "reason").contains("cloud metadata"), "{refused}");

    let all = sightings(data.path());
    assert_eq!(all.len(), 2);
    for sg in &all {
        assert_eq!(
            sg["caption"], "<script>alert(1)</script> & <img src=x onerror=alert(2)>",
            "captions are data, kept byte for byte"
        );
        assert_eq!(sg["author"], "\u{202e}evil\u{202c}");
        assert_eq!(
            sg["posted_at"], "2021-08-26 18:00 +0430",
            "post time as given"
        );
        assert_eq!(sg["post_id"], "p1");
        assert!(s(&sg["source"], "via").contains("line 1"), "{sg}");
    }
}

/// A real photo's bytes.
fn photo() -> Arc<[u8]> {
    std::fs::read(fixtures().join("images/originals/2021-08-26_kabul-abbey-gate_01.jpg"))
        .expect("fixture")
        .into()
}

/// A server that misbehaves in every way a source can, on separate paths.
fn hostile_server(jpeg: Arc<[u8]>) -> FixtureServer {
    let flaky = Arc::new(AtomicUsize::new(0));
    let other: Arc<[u8]> =
        std::fs::read(fixtures().join("images/originals/2022-09-05_kabul-russian-embassy_01.jpg"))
            .expect("fixture")
            .into();
    FixtureServer::start(move |req: &Request| match req.path_only() {
        "/ok.jpg" => Reply::ok("image/jpeg", jpeg.clone()),
        // Media called something else: kept, with a warning.
        "/disguised" => Reply::ok("text/html; charset=utf-8", other.clone()),
        // Fails once, then answers: a retry gets it.
        "/flaky.jpg" => {
            if flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(503)
            } else {
                Reply::ok("image/jpeg", jpeg.clone())
            }
        }
        "/always-500.jpg" => Reply::status(500),
        "/reset.jpg" => Reply::Reset,
        "/stall.jpg" => Reply::Stall(Duration::from_secs(20)),
        "/drip.jpg" => Reply::Drip {
            body: jpeg.to_vec(),
            every: Duration::from_millis(200),
        },
        "/huge.jpg" => Reply::Endless {
            content_type: "image/jpeg".into(),
            declare_length: false,
        },
        "/huge-declared.jpg" => Reply::Endless {
            content_type: "image/jpeg".into(),
            declare_length: true,
        },
        "/lies.jpg" => Reply::ok(
            "image/jpeg",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
        "/loop-a" => Reply::redirect("/loop-b"),
        "/loop-b" => Reply::redirect("/loop-a"),
        "/to-metadata" => Reply::redirect("http://169.254.169.254/latest/meta-data/"),
        "/to-private" => Reply::redirect("http://10.0.0.1/x.jpg"),
        _ => Reply::NotFound,
    })
}

fn write_pipeline(dir: &Path, name: &str, allow: &[&str], urls: &[String]) -> std::path::PathBuf {
    let allow: Vec<String> = allow.iter().map(|a| format!("{a:?}")).collect();
    let urls: Vec<String> = urls.iter().map(|u| format!("  {u:?},")).collect();
    let text = format!(
        r#"version = 1
name = "{name}"

[limits]
max_file_mb = 1
read_timeout_s = 1
total_timeout_s = 2
retries = 1

[concurrency]
fetch = 8

[network]
allow = [{}]

[[sources]]
kind = "urls"
urls = [
{}
]
"#,
        allow.join(", "),
        urls.join("\n")
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("write pipeline");
    path
}

#[test]
fn a_hostile_source_ends_every_item_in_a_clear_error_and_the_job_finishes() {
    let server = hostile_server(photo());
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = [
        "ok.jpg",
        "disguised",
        "flaky.jpg",
        "always-500.jpg",
        "reset.jpg",
        "stall.jpg",
        "drip.jpg",
        "huge.jpg",
        "huge-declared.jpg",
        "lies.jpg",
        "loop-a",
        "to-metadata",
        "to-private",
    ];
    let mut urls: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    urls.push("http://10.1.2.3/direct.jpg".into());
    urls.push("http://0xa9fea9fe/hex.jpg".into()); // 169.254.169.254
    let pipeline = write_pipeline(dir.path(), "hostile", &["127.0.0.1/32"], &urls);
    let data = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let summary = run_job(data.path(), &pipeline, "unused");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "stalls and drips are bounded by the timeouts"
    );
    assert_eq!(n(&summary, "files"), urls.len() as u64, "{summary}");
    // ok.jpg and flaky.jpg are the same bytes: one item, two sightings;
    // the disguised photo is the other new item.
    assert_eq!(counts(&summary)[..2], [2, 1], "{summary}");
    let disguised = summary["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .find(|o| s(o, "path").ends_with("/disguised"))
        .expect("disguised outcome");
    let item = json(data.path(), &["show", s(disguised, "sha256"), "--json"]);
    assert!(
        item["item"]["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w == "the server said text/html; the bytes are image/jpeg"),
        "{item}"
    );
    let outcome = |path: &str| -> (String, String) {
        let r = summary["rejections"]
            .as_array()
            .expect("rejections")
            .iter()
            .find(|r| s(r, "path").ends_with(path))
            .unwrap_or_else(|| panic!("{path} was not rejected: {summary}"));
        (s(r, "code").to_string(), s(r, "reason").to_string())
    };
    assert_eq!(
        outcome("/always-500.jpg"),
        ("http-status".into(), "server answered 500".into())
    );
    let (code, _) = outcome("/reset.jpg");
    assert!(code == "body" || code == "connect", "reset: {code}");
    assert_eq!(outcome("/stall.jpg").0, "timeout");
    assert_eq!(outcome("/drip.jpg").0, "timeout");
    assert_eq!(outcome("/huge.jpg").0, "too-large");
    assert_eq!(outcome("/huge-declared.jpg").0, "too-large");
    let (code, reason) = outcome("/lies.jpg");
    assert_eq!(code, "not-media");
    assert!(reason.contains("the server said image/jpeg"), "{reason}");
    assert_eq!(outcome("/loop-a").0, "redirect-loop");
    let (code, reason) = outcome("/to-metadata");
    assert_eq!(code, "refused-address");
    assert!(reason.contains("cloud metadata"), "{reason}");
    assert_eq!(outcome("/to-private").0, "refused-address");
    assert_eq!(outcome("/direct.jpg").0, "refused-address");
    assert_eq!(outcome("/hex.jpg").0, "refused-address");
    assert_eq!(n(&summary, "rejected"), 12, "{summary}");
    assert_eq!(
        server.hits_for("/flaky.jpg"),
        2,
        "a transient 503 is retried once"
    );
    assert_eq!(server.hits_for("/always-500.jpg"), 2, "retries = 1");
    // Nothing half-written is left behind.
    check_clean(data.path());
}

#[test]
fn the_guard_refuses_loopback_unless_the_operator_allows_it() {
    let server = hostile_server(photo());
    let dir = tempfile::tempdir().expect("tempdir");
    let urls = vec![server.url("ok.jpg")];
    let data = tempfile::tempdir().expect("tempdir");

    let closed = write_pipeline(dir.path(), "closed", &[], &urls);
    let summary = run_job(data.path(), &closed, "unused");
    assert_eq!(counts(&summary), [0, 0, 0, 0, 1], "{summary}");
    let r = &summary["rejections"][0];
    assert_eq!(r["code"], "refused-address");
    assert!(s(r, "reason").contains("loopback"), "{r}");
    assert_eq!(server.hits(), 0, "no request reached the server");

    let open = write_pipeline(dir.path(), "open", &["127.0.0.1/32"], &urls);
    let summary = run_job(data.path(), &open, "unused");
    assert_eq!(counts(&summary), [1, 0, 0, 0, 0], "{summary}");
    assert_eq!(server.hits(), 1);
}

#[test]
fn a_bad_pipeline_is_refused_before_anything_runs_with_every_problem_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "version = 1\nname = \"bad\"\n[concurrency]\nfetch = 0\n[[sources]]\nkind = \"telegram\"\nexport = \"nowhere\"\n[[sources]]\nkind = \"urls\"\nurls = [\"file:///etc/passwd\"]\n",
    )
    .expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let out = run(
        data.path(),
        &["run", path.to_str().expect("utf-8"), "--json"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "concurrency.fetch",
        "sources[0].export",
        "sources[1].urls[0]",
        "file",
    ] {
        assert!(err.contains(want), "{want:?} missing from: {err}");
    }
    assert!(
        !data.path().join("blobs").exists()
            || std::fs::read_dir(data.path().join("blobs/sha256")).map_or(0, |d| d.count()) == 0,
        "nothing was stored"
    );
}
