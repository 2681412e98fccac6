//! Source adapters against the fixtures in `fixtures/sources/` (see its
//! README): parsed output is compared with the `expected*.json` files
//! beside the fixtures, and the HTTP adapters run end to end against a
//! loopback [`FixtureServer`].
//!
//! `SIGHTLINE_BLESS=1 cargo test -p sightline-collect --test sources`
//! rewrites the expected files from the current output (review the diff).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sightline_collect::guard::Guard;
use sightline_collect::http::{FetchOptions, Fetcher};
use sightline_collect::sources::feed::{FeedSource, parse_feed};
use sightline_collect::sources::manifest::ManifestSource;
use sightline_collect::sources::mastodon::{MastodonSource, Timeline, parse_page};
use sightline_collect::sources::telegram::{TelegramSource, parse_export, read_export};
use sightline_collect::sources::{Context, Source};
use sightline_collect::testing::{FixtureServer, Reply, Request};
use sightline_collect::{MediaRef, Post, SourceError};

type Item = Result<Post, SourceError>;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sources")
}

/// Items as JSON: `{"post": ...}` or `{"error": ...}` each.
fn to_json(items: &[Item]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|item| match item {
                Ok(post) => json!({ "post": post }),
                Err(err) => json!({ "error": err }),
            })
            .collect(),
    )
}

/// Media paths under `dir` made relative to it (with `/`), so expected
/// files do not depend on where the repository is.
fn relativise(items: &mut [Item], dir: &Path) {
    for post in items.iter_mut().flatten() {
        for m in &mut post.media {
            if let MediaRef::Path(p) = m
                && let Ok(rel) = p.strip_prefix(dir)
            {
                let rel: Vec<_> = rel
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect();
                *p = PathBuf::from(rel.join("/"));
            }
        }
    }
}

/// Replace `from` by `to` in every string of a JSON value (longest
/// replacements first is the caller's business).
fn replace_strings(v: &mut Value, from: &str, to: &str) {
    match v {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(a) => a.iter_mut().for_each(|v| replace_strings(v, from, to)),
        Value::Object(o) => o.values_mut().for_each(|v| replace_strings(v, from, to)),
        _ => {}
    }
}

/// Compare with (or, under SIGHTLINE_BLESS, write) an expected file.
fn check_expected(file: &Path, actual: &Value) {
    if std::env::var_os("SIGHTLINE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
        std::fs::write(file, text).unwrap();
        return;
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display())),
    )
    .unwrap();
    if &expected != actual {
        panic!(
            "{} differs from the output.\nexpected:\n{}\nactual:\n{}",
            file.display(),
            serde_json::to_string_pretty(&expected).unwrap(),
            serde_json::to_string_pretty(actual).unwrap()
        );
    }
}

/// An expected file holds an object of named cases.
fn expected_case(file: &Path, case: &str) -> Value {
    let all: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    all[case].clone()
}

/// Run a source to the end, collecting what it emits.
async fn collect(source: &impl Source, cx: &Context) -> Vec<Item> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let run = async move {
        source.run(cx, &tx).await;
        // Dropping the sender ends the gathering below.
        drop(tx);
    };
    let gather = async {
        let mut items = Vec::new();
        while let Some(item) = rx.recv().await {
            items.push(item);
        }
        items
    };
    let ((), items) = tokio::join!(run, gather);
    items
}

fn context() -> Context {
    let opts = FetchOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(5),
        retries: 0,
        guard: Guard::new(&["127.0.0.1/32"]).unwrap(),
        ..FetchOptions::default()
    };
    Context {
        fetcher: Some(Fetcher::new(opts).unwrap()),
        ..Context::default()
    }
}

// --- manifest ---------------------------------------------------------------

#[tokio::test]
async fn manifest_matches_expected() {
    let dir = fixtures().join("manifest");
    let source = ManifestSource {
        path: dir.join("posts.jsonl"),
    };
    let mut items = collect(&source, &Context::default()).await;
    relativise(&mut items, &dir);
    check_expected(&dir.join("expected.json"), &to_json(&items));
}

#[tokio::test]
async fn manifest_keeps_hostile_text_verbatim() {
    let dir = fixtures().join("manifest");
    let items = collect(
        &ManifestSource {
            path: dir.join("posts.jsonl"),
        },
        &Context::default(),
    )
    .await;
    let hostile = items
        .iter()
        .flatten()
        .find(|p| p.post_id.as_deref() == Some("hostile"))
        .unwrap();
    assert_eq!(
        hostile.caption.as_deref(),
        Some("<script>alert(1)</script> \"quoted\" null:\0 end")
    );
    assert_eq!(hostile.author.as_deref(), Some("\u{202e}evil\u{202c}"));
    let typo = items
        .iter()
        .find_map(|i| i.as_ref().err().filter(|e| e.reason.contains("captoin")));
    assert!(typo.is_some(), "an unknown key is an error naming it");
}

#[tokio::test]
async fn manifest_that_cannot_be_opened_is_one_error() {
    let items = collect(
        &ManifestSource {
            path: fixtures().join("manifest/no-such.jsonl"),
        },
        &Context::default(),
    )
    .await;
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.code, "read");
    assert!(err.reason.starts_with("cannot open: "), "{}", err.reason);
}

// --- telegram ---------------------------------------------------------------

fn telegram_dir() -> PathBuf {
    fixtures().join("telegram-export")
}

#[test]
fn telegram_export_matches_expected() {
    let dir = telegram_dir();
    let (json, read_dir) = read_export(&dir).unwrap();
    assert_eq!(read_dir, dir);
    let mut items = parse_export(&json, &dir, "telegram-export").unwrap();
    relativise(&mut items, &dir);
    check_expected(&dir.join("expected.json"), &to_json(&items));
}

#[tokio::test]
async fn telegram_source_reads_the_folder_or_result_json() {
    let dir = telegram_dir();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    for export in [dir.clone(), dir.join("result.json")] {
        let mut items = collect(
            &TelegramSource {
                export: export.clone(),
            },
            &Context::default(),
        )
        .await;
        relativise(&mut items, &dir);
        let mut actual = to_json(&items);
        replace_strings(
            &mut actual,
            &format!("telegram export {}", export.display()),
            "telegram export telegram-export",
        );
        assert_eq!(actual, expected, "reading {}", export.display());
    }
}

#[tokio::test]
async fn telegram_missing_export_is_one_error() {
    let items = collect(
        &TelegramSource {
            export: fixtures().join("no-such-export"),
        },
        &Context::default(),
    )
    .await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().unwrap_err().code, "read");
}

#[test]
fn telegram_export_over_the_cap_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(tmp.path().join("result.json")).unwrap();
    // Sparse: takes no disk space.
    file.set_len(512 * 1024 * 1024 + 1).unwrap();
    let err = read_export(tmp.path()).unwrap_err();
    assert_eq!(err.code, "too-large");
    assert!(
        err.reason.ends_with("over the 536870912-byte limit"),
        "{}",
        err.reason
    );
}

#[cfg(unix)]
#[test]
fn telegram_symlinks_out_of_the_export_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.jpg"), b"not yours").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("photos")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.jpg"),
        dir.join("photos/link.jpg"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("linked_folder")).unwrap();
    std::fs::write(dir.join("photos/real.jpg"), b"jpeg").unwrap();
    std::os::unix::fs::symlink(
        dir.join("photos/real.jpg"),
        dir.join("photos/inner_link.jpg"),
    )
    .unwrap();
    let export = json!({"name": "c", "type": "private_channel", "id": 5, "messages": [
        {"id": 1, "type": "message", "date": "2024-01-01T00:00:00", "photo": "photos/link.jpg", "text": ""},
        {"id": 2, "type": "message", "date": "2024-01-01T00:00:00", "photo": "linked_folder/secret.jpg", "text": ""},
        {"id": 3, "type": "message", "date": "2024-01-01T00:00:00", "photo": "./photos/inner_link.jpg", "text": ""},
        {"id": 4, "type": "message", "date": "2024-01-01T00:00:00", "photo": "photos\\..\\..\\x.jpg", "text": ""}
    ]});
    let items = parse_export(export.to_string().as_bytes(), dir, "t").unwrap();
    let media: Vec<_> = items
        .into_iter()
        .map(|i| i.unwrap().media.remove(0))
        .collect();
    let leaves = |what: &str| MediaRef::Missing {
        what: what.into(),
        reason: "path leaves the export folder".into(),
    };
    assert_eq!(media[0], leaves("photos/link.jpg"));
    assert_eq!(media[1], leaves("linked_folder/secret.jpg"));
    assert_eq!(
        media[2],
        MediaRef::Path(dir.join("./photos/inner_link.jpg"))
    );
    assert_eq!(media[3], leaves("photos\\..\\..\\x.jpg"));
}

#[test]
fn telegram_full_account_export() {
    let dir = telegram_dir();
    let account = json!({
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1},
        "chats": {"about": "This page lists all chats from this export.", "list": [
            {"name": "Saved Messages", "type": "saved_messages", "id": 1, "messages": [
                {"id": 10, "type": "message", "date": "2024-01-01T10:00:00", "date_unixtime": "1704103200",
                 "from": null, "photo": "photos/photo_1@08-10-2021_13-40-12.jpg", "text": "saved"}]},
            {"name": "Group", "type": "private_group", "id": 2, "messages": [
                {"id": 11, "type": "message", "date": "2024-01-01T10:00:00", "from": "Ahmad",
                 "photo": "photos/photo_2@02-11-2021_15-05-40.jpg", "text": ["hi ", {"type": "mention", "text": "@x"}]},
                {"type": "message"}]}
        ]},
        "left_chats": {"list": [
            {"name": "Old channel", "type": "public_channel", "id": 3, "messages": [
                {"id": 12, "type": "message", "date": "2024-01-01T10:00:00", "from": "Old channel",
                 "file": "video_files/IMG_4821.mp4", "mime_type": "video/mp4", "text": ""}]}
        ]}
    });
    let mut items = parse_export(account.to_string().as_bytes(), &dir, "t").unwrap();
    relativise(&mut items, &dir);
    let summary: Vec<String> = items
        .iter()
        .map(|i| match i {
            Ok(p) => format!(
                "{} | {} | {} | {:?} | {:?}",
                p.origin,
                p.post_id.as_deref().unwrap_or("-"),
                p.author.as_deref().unwrap_or("-"),
                p.caption,
                p.media
            ),
            Err(e) => format!("error {} | {} | {}", e.origin, e.code, e.reason),
        })
        .collect();
    assert_eq!(
        summary,
        [
            r#"telegram export t chat 1 message 10 | 1/10 | - | Some("saved") | [Path("photos/photo_1@08-10-2021_13-40-12.jpg")]"#,
            r#"telegram export t chat 2 message 11 | 2/11 | Ahmad | Some("hi @x") | [Path("photos/photo_2@02-11-2021_15-05-40.jpg")]"#,
            "error telegram export t chat 2 message index 1 | bad-message | message has no id",
            r#"telegram export t chat 3 message 12 | 3/12 | Old channel | None | [Path("video_files/IMG_4821.mp4")]"#,
        ]
    );
}

// --- feeds ------------------------------------------------------------------

/// A feed fixture with `{base}` replaced.
fn feed_text(name: &str, base: &str) -> Vec<u8> {
    std::fs::read_to_string(fixtures().join("feeds").join(name))
        .unwrap()
        .replace("{base}", base)
        .into_bytes()
}

/// Parse results as JSON with the base URL put back as `{base}`.
fn feed_json(result: Result<Vec<Post>, SourceError>, base: &str) -> Value {
    let mut v = match result {
        Ok(posts) => json!({ "posts": posts }),
        Err(e) => json!({ "error": e }),
    };
    replace_strings(&mut v, base, "{base}");
    v
}

#[test]
fn feeds_match_expected() {
    // Any base works for the pure parser: the test server's form.
    let base = "http://127.0.0.1:9";
    let mut all = serde_json::Map::new();
    for name in ["rss.xml", "atom.xml", "broken.xml"] {
        let url = format!("{base}/feeds/{name}");
        all.insert(
            name.to_string(),
            feed_json(parse_feed(&feed_text(name, base), &url), base),
        );
    }
    check_expected(&fixtures().join("feeds/expected.json"), &Value::Object(all));
}

#[test]
fn feed_without_entries_gives_nothing() {
    let rss =
        br#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>"#;
    assert_eq!(parse_feed(rss, "https://example.org/f").unwrap(), []);
    let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id></feed>"#;
    assert_eq!(parse_feed(atom, "https://example.org/f").unwrap(), []);
    let err = parse_feed(b"", "https://example.org/f").unwrap_err();
    assert_eq!(
        (err.code, err.origin.as_str()),
        ("bad-feed", "feed https://example.org/f")
    );
}

/// A server for the feed fixtures at `/feeds/NAME`, with `{base}` filled.
fn feed_server() -> FixtureServer {
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let for_route = Arc::clone(&base);
    let server = FixtureServer::start(move |req: &Request| {
        let base = for_route.get().expect("base set");
        match req.path.strip_prefix("/feeds/") {
            Some(name @ ("rss.xml" | "atom.xml" | "broken.xml")) => {
                Reply::ok("application/xml", feed_text(name, base))
            }
            Some("moved.xml") => Reply::redirect(format!("{base}/feeds/rss.xml")),
            _ => Reply::NotFound,
        }
    });
    base.set(base_of(&server)).unwrap();
    server
}

fn base_of(server: &FixtureServer) -> String {
    format!("http://{}", server.addr())
}

#[tokio::test]
async fn feed_source_end_to_end() {
    let server = feed_server();
    let base = base_of(&server);
    let cx = context();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("feeds/expected.json")).unwrap(),
    )
    .unwrap();
    for name in ["rss.xml", "atom.xml", "broken.xml"] {
        let items = collect(
            &FeedSource {
                url: server.url(&format!("/feeds/{name}")),
            },
            &cx,
        )
        .await;
        let result = match items.iter().find_map(|i| i.as_ref().err()) {
            Some(e) => Err(e.clone()),
            None => Ok(items.into_iter().map(Result::unwrap).collect()),
        };
        assert_eq!(feed_json(result, &base), expected[name], "{name}");
    }
}

#[tokio::test]
async fn feed_source_resolves_against_the_final_url_and_reports_fetch_errors() {
    let server = feed_server();
    let cx = context();
    let items = collect(
        &FeedSource {
            url: server.url("/feeds/moved.xml"),
        },
        &cx,
    )
    .await;
    let posts: Vec<Post> = items.into_iter().map(Result::unwrap).collect();
    assert_eq!(posts.len(), 3);
    // The relative enclosure resolves against where the feed came from.
    assert!(
        posts[2]
            .media
            .contains(&MediaRef::Url(server.url("/feeds/media/mofa_01.jpg")))
    );
    assert_eq!(
        posts[2].origin,
        format!("feed {} entry 4", server.url("/feeds/rss.xml"))
    );

    let items = collect(
        &FeedSource {
            url: server.url("/feeds/gone.xml"),
        },
        &cx,
    )
    .await;
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.code, "http-status");
    assert_eq!(
        err.origin,
        format!("feed {}", server.url("/feeds/gone.xml"))
    );

    let items = collect(
        &FeedSource {
            url: "https://example.org/f".into(),
        },
        &Context::default(),
    )
    .await;
    assert_eq!(items[0].as_ref().unwrap_err().code, "no-fetcher");
}

// --- mastodon ---------------------------------------------------------------

fn mastodon_dir() -> PathBuf {
    fixtures().join("mastodon")
}

/// A page file with `{base}` filled.
fn mastodon_file(name: &str, base: &str) -> Vec<u8> {
    std::fs::read_to_string(mastodon_dir().join(name))
        .unwrap()
        .replace("{base}", base)
        .into_bytes()
}

/// Items as JSON with the base URL and host put back as placeholders.
fn mastodon_json(items: &[Item], base: &str) -> Value {
    let mut v = to_json(items);
    replace_strings(&mut v, base, "{base}");
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    replace_strings(&mut v, host, "{host}");
    v
}

#[test]
fn mastodon_pages_match_expected() {
    let base = "https://social.example.org";
    let host = "social.example.org";
    let mut all = serde_json::Map::new();
    let cases = [
        (
            "account",
            &["account-page-1.json", "account-page-2.json"][..],
        ),
        ("hashtag", &["tag-page-1.json"][..]),
    ];
    for (case, pages) in cases {
        let mut items = Vec::new();
        for page in pages {
            let url = format!("{base}/{page}");
            let parsed = parse_page(&mastodon_file(page, base), &url, host).unwrap();
            items.extend(parsed.items);
        }
        // Page URLs in error origins are the test server's own; use the
        // file names here and compare errors' codes and reasons end to end.
        let mut v = mastodon_json(&items, base);
        for page in pages {
            replace_strings(
                &mut v,
                &format!("{{base}}/{page}"),
                &format!("{{page {page}}}"),
            );
        }
        all.insert(case.to_string(), v);
    }
    check_expected(&mastodon_dir().join("expected.json"), &Value::Object(all));
}

/// A server answering from `routes.json` (see the fixtures' README).
fn mastodon_server() -> FixtureServer {
    let routes: Value =
        serde_json::from_str(&std::fs::read_to_string(mastodon_dir().join("routes.json")).unwrap())
            .unwrap();
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let for_route = Arc::clone(&base);
    let server = FixtureServer::start(move |req: &Request| {
        let base = for_route.get().expect("base set");
        let Some(route) = routes.get(&req.path) else {
            return Reply::NotFound;
        };
        let body = mastodon_file(route["file"].as_str().unwrap(), base);
        let mut headers = Vec::new();
        if let Some(link) = route.get("link").and_then(Value::as_str) {
            headers.push(("Link".to_string(), link.replace("{base}", base)));
        }
        Reply::Ok {
            content_type: "application/json; charset=utf-8".into(),
            body: body.into(),
            headers,
        }
    });
    base.set(base_of(&server)).unwrap();
    server
}

/// End-to-end items with page URLs in origins named like the pure test's.
fn mastodon_e2e_json(items: &[Item], base: &str, pages: &[(&str, &str)]) -> Value {
    let mut v = mastodon_json(items, base);
    for (path, file) in pages {
        replace_strings(
            &mut v,
            &format!("{{base}}{path}"),
            &format!("{{page {file}}}"),
        );
    }
    v
}

const STATUSES: &str = "/api/v1/accounts/109876543210987654/statuses?limit=40&only_media=true";
const TAG_PATH: &str = "/api/v1/timelines/tag/%DA%A9%D8%A7%D8%A8%D9%84?limit=40&only_media=true";

fn account_source(server: &FixtureServer, max_pages: Option<usize>) -> MastodonSource {
    MastodonSource {
        instance: base_of(server),
        timeline: Timeline::Account("@kabulwatch".into()),
        max_pages,
        only_media: true,
    }
}

#[tokio::test]
async fn mastodon_account_end_to_end() {
    let server = mastodon_server();
    let base = base_of(&server);
    let items = collect(&account_source(&server, None), &context()).await;
    let page2 = format!("{STATUSES}&max_id=111222333444555001");
    let actual = mastodon_e2e_json(
        &items,
        &base,
        &[
            (page2.as_str(), "account-page-2.json"),
            (STATUSES, "account-page-1.json"),
        ],
    );
    assert_eq!(
        actual,
        expected_case(&mastodon_dir().join("expected.json"), "account")
    );
    // Lookup, two pages, then the empty page ends it (its next link is not followed).
    assert_eq!(
        server.requests(),
        [
            "/api/v1/accounts/lookup?acct=kabulwatch".to_string(),
            STATUSES.to_string(),
            page2,
            format!("{STATUSES}&max_id=111222333444554001"),
        ]
    );
}

#[tokio::test]
async fn mastodon_hashtag_end_to_end() {
    let server = mastodon_server();
    let base = base_of(&server);
    let source = MastodonSource {
        instance: format!("{base}/some/path"),
        timeline: Timeline::Hashtag("#کابل".into()),
        max_pages: None,
        only_media: true,
    };
    let items = collect(&source, &context()).await;
    let actual = mastodon_e2e_json(&items, &base, &[(TAG_PATH, "tag-page-1.json")]);
    assert_eq!(
        actual,
        expected_case(&mastodon_dir().join("expected.json"), "hashtag")
    );
    assert_eq!(server.requests(), [TAG_PATH]);
}

#[tokio::test]
async fn mastodon_page_limit() {
    let server = mastodon_server();
    let items = collect(&account_source(&server, Some(1)), &context()).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(server.hits(), 2);

    let cx = Context {
        max_pages: 1,
        ..context()
    };
    let items = collect(&account_source(&server, Some(5)), &cx).await;
    assert_eq!(items.len(), 2);
}

/// A one-route server for misbehaving instances.
fn statuses_server(
    route: impl Fn(&Request, &str) -> Reply + Send + Sync + 'static,
) -> FixtureServer {
    let base = Arc::new(std::sync::OnceLock::<String>::new());
    let for_route = Arc::clone(&base);
    let server =
        FixtureServer::start(move |req: &Request| route(req, for_route.get().expect("base set")));
    base.set(base_of(&server)).unwrap();
    server
}

fn hashtag(server: &FixtureServer, tag: &str) -> MastodonSource {
    MastodonSource {
        instance: base_of(server),
        timeline: Timeline::Hashtag(tag.into()),
        max_pages: None,
        only_media: false,
    }
}

#[tokio::test]
async fn mastodon_next_link_to_another_host_stops_with_an_error() {
    let server = statuses_server(|req, base| match req.path_only() {
        "/api/v1/timelines/tag/a" => Reply::Ok {
            content_type: "application/json".into(),
            body: mastodon_file("tag-page-1.json", base).into(),
            headers: vec![(
                "link".into(),
                "<http://169.254.169.254/latest/meta-data>; rel=\"next\"".into(),
            )],
        },
        _ => Reply::NotFound,
    });
    let items = collect(&hashtag(&server, "a"), &context()).await;
    assert_eq!(items.len(), 3);
    let err = items[2].as_ref().unwrap_err();
    assert_eq!(err.code, "off-host-link");
    assert_eq!(
        err.reason,
        format!(
            "next page http://169.254.169.254/latest/meta-data is not on {}",
            server.addr()
        )
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn mastodon_relative_next_link_and_bad_page() {
    let server = statuses_server(|req, base| match req.path.as_str() {
        "/api/v1/timelines/tag/b?limit=40" => Reply::Ok {
            content_type: "application/json".into(),
            body: mastodon_file("tag-page-1.json", base).into(),
            headers: vec![(
                "link".into(),
                "</api/v1/timelines/tag/b?max_id=5>; rel=next".into(),
            )],
        },
        "/api/v1/timelines/tag/b?max_id=5" => {
            Reply::ok("text/html", &b"<html>rate limited</html>"[..])
        }
        _ => Reply::NotFound,
    });
    let items = collect(&hashtag(&server, "b"), &context()).await;
    assert_eq!(items.len(), 3, "{items:?}");
    let err = items[2].as_ref().unwrap_err();
    assert_eq!(err.code, "bad-page");
    assert_eq!(
        err.origin,
        format!(
            "mastodon {}",
            server.url("/api/v1/timelines/tag/b?max_id=5")
        )
    );
    assert!(err.reason.starts_with("not valid JSON: "), "{}", err.reason);
}

#[tokio::test]
async fn mastodon_whole_source_failures() {
    let server = statuses_server(|_, _| Reply::NotFound);
    let source = MastodonSource {
        instance: base_of(&server),
        timeline: Timeline::Account("nobody".into()),
        max_pages: None,
        only_media: true,
    };
    let items = collect(&source, &context()).await;
    assert_eq!(items.len(), 1);
    let err = items[0].as_ref().unwrap_err();
    assert_eq!(err.code, "http-status");
    assert_eq!(
        err.origin,
        format!(
            "mastodon {}",
            server.url("/api/v1/accounts/lookup?acct=nobody")
        )
    );

    let bad = MastodonSource {
        instance: "ftp://social.example.org".into(),
        ..source.clone()
    };
    let items = collect(&bad, &context()).await;
    assert_eq!(items[0].as_ref().unwrap_err().code, "bad-instance");

    let items = collect(&source, &Context::default()).await;
    assert_eq!(items[0].as_ref().unwrap_err().code, "no-fetcher");
}

#[tokio::test]
async fn mastodon_next_link_loop_stops() {
    let server = statuses_server(|req, base| match req.path_only() {
        "/api/v1/timelines/tag/c" => Reply::Ok {
            content_type: "application/json".into(),
            body: mastodon_file("tag-page-1.json", base).into(),
            headers: vec![(
                "link".into(),
                format!("<{base}/api/v1/timelines/tag/c?limit=40>; rel=\"next\""),
            )],
        },
        _ => Reply::NotFound,
    });
    let items = collect(&hashtag(&server, "c"), &context()).await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(server.hits(), 1);
}
