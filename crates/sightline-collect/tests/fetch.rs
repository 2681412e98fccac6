//! The fetcher against a real loopback server: guard, redirects, retries,
//! timeouts, caps and the per-host rate limit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sightline_collect::guard::Guard;
use sightline_collect::http::{BodySink, FetchError, FetchOptions, Fetched, Fetcher, Hop};
use sightline_collect::testing::{FixtureServer, Reply, Request};

fn loopback() -> Guard {
    Guard::new(&["127.0.0.1/32"]).unwrap()
}

/// Small timeouts and backoffs so failures are quick.
fn options(guard: Guard) -> FetchOptions {
    FetchOptions {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(5),
        retries: 2,
        backoff_base: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
        guard,
        ..FetchOptions::default()
    }
}

fn fetcher(opts: FetchOptions) -> Fetcher {
    Fetcher::new(opts).unwrap()
}

async fn get(f: &Fetcher, url: &str, cap: u64) -> (Result<Fetched, FetchError>, Vec<u8>) {
    let mut body = Vec::new();
    let result = f.fetch(url, cap, &mut body).await;
    (result, body)
}

fn refusal(result: Result<Fetched, FetchError>) -> (String, std::net::IpAddr, &'static str) {
    match result {
        Err(FetchError::Refused { host, addr, reason }) => (host, addr, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn code(result: &Result<Fetched, FetchError>) -> &'static str {
    match result {
        Ok(f) => panic!("expected an error, got {f:?}"),
        Err(e) => e.code(),
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test]
async fn plain_fetch_from_an_allow_listed_server() {
    let body: Arc<[u8]> = pattern(1000).into();
    let served = Arc::clone(&body);
    let agent = Arc::new(Mutex::new(None));
    let seen_agent = Arc::clone(&agent);
    let server = FixtureServer::start(move |r: &Request| {
        *seen_agent.lock().unwrap() = r.header("user-agent").map(str::to_owned);
        Reply::Ok {
            content_type: "image/jpeg".into(),
            body: Arc::clone(&served),
            headers: vec![
                ("ETag".into(), "\"v1\"".into()),
                (
                    "Last-Modified".into(),
                    "Sun, 01 Nov 2026 10:00:00 GMT".into(),
                ),
                (
                    "Content-Disposition".into(),
                    "inline; filename=\"a.jpg\"".into(),
                ),
                ("X-Not-Kept".into(), "1".into()),
            ],
        }
    });
    let f = fetcher(options(loopback()));
    let url = server.url("/img/a.jpg?size=large#frag");
    let (result, got) = get(&f, &url, 1_000_000).await;
    let fetched = result.unwrap();
    assert_eq!(got, &*body);
    assert_eq!(fetched.bytes, 1000);
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.attempts, 1);
    assert_eq!(fetched.submitted, url);
    assert_eq!(fetched.final_url, server.url("/img/a.jpg?size=large"));
    assert!(fetched.redirects.is_empty());
    assert_eq!(fetched.header("content-type"), Some("image/jpeg"));
    assert_eq!(fetched.header("Content-Length"), Some("1000"));
    assert_eq!(fetched.header("etag"), Some("\"v1\""));
    assert_eq!(
        fetched.header("last-modified"),
        Some("Sun, 01 Nov 2026 10:00:00 GMT")
    );
    assert_eq!(
        fetched.header("content-disposition"),
        Some("inline; filename=\"a.jpg\"")
    );
    assert_eq!(fetched.header("x-not-kept"), None);
    assert!(
        fetched
            .headers
            .iter()
            .all(|(n, _)| *n == n.to_ascii_lowercase())
    );
    assert_eq!(
        fetched.remote_addr.as_deref(),
        Some(server.addr().to_string().as_str())
    );
    assert_eq!(server.hits_for("/img/a.jpg"), 1);
    let agent = agent.lock().unwrap().clone().unwrap();
    assert!(agent.starts_with("sightline/"), "{agent}");

    // The document helper and a body exactly at the cap.
    let (fetched, doc) = f.document(&server.url("/x"), 1000).await.unwrap();
    assert_eq!((fetched.bytes, doc.len()), (1000, 1000));
}

#[tokio::test]
async fn a_server_not_allow_listed_is_never_contacted() {
    let server = FixtureServer::start(|_: &Request| Reply::ok("text/plain", b"secret".to_vec()));
    let f = fetcher(options(Guard::default()));
    let result = get(&f, &server.url("/"), 1000).await.0;
    assert_eq!(code(&result), "refused-address");
    let (host, addr, reason) = refusal(result);
    assert_eq!(host, "127.0.0.1");
    assert_eq!(addr.to_string(), "127.0.0.1");
    assert_eq!(reason, "loopback");
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn localhost_is_refused_after_resolution() {
    let server = FixtureServer::start(|_: &Request| Reply::ok("text/plain", b"hi".to_vec()));
    let url = format!("http://localhost:{}/", server.addr().port());
    let f = fetcher(options(Guard::default()));
    let result = get(&f, &url, 1000).await.0;
    let err = result.as_ref().unwrap_err();
    assert_eq!(err.code(), "refused-address");
    let msg = err.to_string();
    assert!(msg.starts_with("refused: localhost is "), "{msg}");
    assert!(msg.ends_with(", a loopback address"), "{msg}");
    let (host, addr, reason) = refusal(result);
    assert_eq!((host.as_str(), reason), ("localhost", "loopback"));
    assert!(addr.is_loopback());
    assert_eq!(server.hits(), 0);

    // With 127.0.0.1 allow-listed only that address of localhost is used.
    let f = fetcher(options(loopback()));
    let (result, body) = get(&f, &url, 1000).await;
    let fetched = result.unwrap();
    assert_eq!(body, b"hi");
    assert_eq!(
        fetched.remote_addr.as_deref(),
        Some(server.addr().to_string().as_str())
    );
}

#[tokio::test]
async fn ip_literal_notations_are_refused_before_connecting() {
    let server = FixtureServer::start(|_: &Request| Reply::ok("text/plain", b"hi".to_vec()));
    let port = server.addr().port();
    let f = fetcher(options(Guard::default()));
    for (host, reason) in [
        ("127.0.0.1", "loopback"),
        ("2130706433", "loopback"),
        ("0x7f000001", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("0x7f.1", "loopback"),
        ("127.1", "loopback"),
        ("[::ffff:127.0.0.1]", "ipv4-mapped"),
        ("[::1]", "loopback"),
        ("[0:0:0:0:0:0:0:1]", "loopback"),
        ("0", "unspecified"),
    ] {
        let url = format!("http://{host}:{port}/");
        let result = get(&f, &url, 1000).await.0;
        assert_eq!(refusal(result).2, reason, "{url}");
    }
    // Allow-listing 127.0.0.1 does not allow its IPv4-mapped form.
    let f = fetcher(options(loopback()));
    let result = get(&f, &format!("http://[::ffff:127.0.0.1]:{port}/"), 1000)
        .await
        .0;
    assert_eq!(refusal(result).2, "ipv4-mapped");
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn redirects_are_guarded_hop_by_hop() {
    let server = FixtureServer::start(|r: &Request| match r.path.as_str() {
        "/meta" => Reply::redirect("http://169.254.169.254/latest/meta-data/"),
        "/private" => Reply::Redirect {
            status: 301,
            location: "http://10.0.0.1/".into(),
        },
        "/v6" => Reply::redirect("http://[::1]/"),
        "/ftp" => Reply::redirect("ftp://127.0.0.1/file"),
        "/nowhere" => Reply::Status {
            status: 302,
            headers: vec![],
            body: vec![],
        },
        _ => Reply::NotFound,
    });
    let f = fetcher(options(loopback()));
    let result = get(&f, &server.url("/meta"), 1000).await.0;
    let (host, addr, reason) = refusal(result);
    assert_eq!(
        (host.as_str(), addr.to_string().as_str(), reason),
        ("169.254.169.254", "169.254.169.254", "cloud metadata")
    );
    let (_, _, reason) = refusal(get(&f, &server.url("/private"), 1000).await.0);
    assert_eq!(reason, "private");
    let (_, _, reason) = refusal(get(&f, &server.url("/v6"), 1000).await.0);
    assert_eq!(reason, "loopback");
    let result = get(&f, &server.url("/ftp"), 1000).await.0;
    assert_eq!(code(&result), "bad-scheme");
    let result = get(&f, &server.url("/nowhere"), 1000).await.0;
    assert_eq!(code(&result), "bad-redirect");
    // Each was asked once: none of these is retried.
    for path in ["/meta", "/private", "/v6", "/ftp", "/nowhere"] {
        assert_eq!(server.hits_for(path), 1, "{path}");
    }
    assert_eq!(server.hits(), 5);
}

#[tokio::test]
async fn redirect_chain_is_recorded_in_order() {
    let server = Arc::new(Mutex::new(None::<String>));
    let base = Arc::clone(&server);
    let fixture = FixtureServer::start(move |r: &Request| match r.path.as_str() {
        "/a" => Reply::Redirect {
            status: 301,
            location: "/b".into(),
        },
        "/b" => Reply::Redirect {
            status: 302,
            location: "c?x=1".into(),
        },
        "/c?x=1" => Reply::Redirect {
            status: 307,
            location: format!("{}/d", base.lock().unwrap().as_deref().unwrap()),
        },
        "/d" => Reply::ok("text/plain", b"done".to_vec()),
        _ => Reply::NotFound,
    });
    *server.lock().unwrap() = Some(fixture.url("").trim_end_matches('/').to_owned());
    let f = fetcher(options(loopback()));
    let (result, body) = get(&f, &fixture.url("/a"), 1000).await;
    let fetched = result.unwrap();
    assert_eq!(body, b"done");
    assert_eq!(
        fetched.redirects,
        vec![
            Hop {
                url: fixture.url("/a"),
                status: 301
            },
            Hop {
                url: fixture.url("/b"),
                status: 302
            },
            Hop {
                url: fixture.url("/c?x=1"),
                status: 307
            },
        ]
    );
    assert_eq!(fetched.final_url, fixture.url("/d"));
    assert_eq!(fetched.submitted, fixture.url("/a"));
    assert_eq!(fetched.attempts, 1);
}

#[tokio::test]
async fn redirect_loops_and_limits() {
    let server = FixtureServer::start(|r: &Request| {
        let path = r.path.as_str();
        if path == "/loop1" {
            return Reply::redirect("/loop2");
        }
        if path == "/loop2" {
            return Reply::redirect("/loop1#again");
        }
        if let Some(n) = path.strip_prefix("/r/") {
            let n: u32 = n.parse().unwrap();
            return if n < 12 {
                Reply::redirect(format!("/r/{}", n + 1))
            } else {
                Reply::ok("text/plain", b"end".to_vec())
            };
        }
        Reply::NotFound
    });
    let f = fetcher(options(loopback()));
    let result = get(&f, &server.url("/loop1"), 1000).await.0;
    assert_eq!(code(&result), "redirect-loop");
    assert_eq!(server.hits(), 2);

    let result = get(&f, &server.url("/r/0"), 1000).await.0;
    assert_eq!(code(&result), "redirect-limit");
    assert_eq!(result.unwrap_err().to_string(), "more than 10 redirects");
    assert_eq!(server.hits_for("/r/10"), 1);
    assert_eq!(server.hits_for("/r/11"), 0);

    let f = fetcher(FetchOptions {
        max_redirects: 12,
        ..options(loopback())
    });
    let fetched = get(&f, &server.url("/r/0"), 1000).await.0.unwrap();
    assert_eq!(fetched.redirects.len(), 12);
    assert_eq!(fetched.final_url, server.url("/r/12"));
}

#[tokio::test]
async fn only_http_and_https() {
    let f = fetcher(options(loopback()));
    for url in [
        "ftp://127.0.0.1/file",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
    ] {
        let result = get(&f, url, 1000).await.0;
        assert_eq!(code(&result), "bad-scheme", "{url}");
    }
    assert_eq!(code(&get(&f, "no scheme", 1000).await.0), "bad-url");
}

#[tokio::test]
async fn transient_statuses_are_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let server = FixtureServer::start(move |r: &Request| match r.path.as_str() {
        "/flaky" => {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::status(500)
            } else {
                Reply::ok("text/plain", b"ok".to_vec())
            }
        }
        "/down" => Reply::status(500),
        "/busy" => Reply::Status {
            status: 503,
            headers: vec![("Retry-After".into(), "3600".into())],
            body: b"come back later".to_vec(),
        },
        "/gone" => Reply::NotFound,
        "/forbidden" => Reply::status(403),
        _ => Reply::NotFound,
    });
    let f = fetcher(options(loopback()));

    let fetched = get(&f, &server.url("/flaky"), 1000).await.0.unwrap();
    assert_eq!(fetched.attempts, 2);
    assert_eq!(server.hits_for("/flaky"), 2);

    let result = get(&f, &server.url("/down"), 1000).await.0;
    assert!(matches!(result, Err(FetchError::Status { status: 500 })));
    assert_eq!(server.hits_for("/down"), 3);

    // Retry-After is honoured but capped at backoff_max.
    let f_slow = fetcher(FetchOptions {
        backoff_max: Duration::from_millis(100),
        retries: 1,
        ..options(loopback())
    });
    let started = Instant::now();
    let result = get(&f_slow, &server.url("/busy"), 1000).await.0;
    assert!(matches!(result, Err(FetchError::Status { status: 503 })));
    assert_eq!(server.hits_for("/busy"), 2);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(100), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");

    for path in ["/gone", "/forbidden"] {
        let result = get(&f, &server.url(path), 1000).await.0;
        assert_eq!(code(&result), "http-status");
        assert_eq!(server.hits_for(path), 1, "{path}");
    }
}

/// A sink that counts restarts.
#[derive(Default)]
struct Recording {
    data: Vec<u8>,
    restarts: usize,
}

impl BodySink for Recording {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(chunk);
        Ok(())
    }
    fn restart(&mut self) -> std::io::Result<()> {
        self.restarts += 1;
        self.data.clear();
        Ok(())
    }
}

#[tokio::test]
async fn resets_are_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let full = pattern(100_000);
    let full_served: Arc<[u8]> = full.clone().into();
    let server = FixtureServer::start(move |r: &Request| match r.path.as_str() {
        "/reset" => Reply::Reset,
        "/midbody" => {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::ResetMidBody {
                    content_length: 100_000,
                    send: full_served[..40_000].to_vec(),
                }
            } else {
                Reply::ok("application/octet-stream", Arc::clone(&full_served))
            }
        }
        "/always-midbody" => Reply::ResetMidBody {
            content_length: 1000,
            send: vec![1; 10],
        },
        _ => Reply::NotFound,
    });
    let f = fetcher(options(loopback()));

    let result = get(&f, &server.url("/reset"), 1000).await.0;
    let c = code(&result);
    assert!(c == "body" || c == "connect", "{c}: {result:?}");
    assert_eq!(server.hits_for("/reset"), 3);

    let mut sink = Recording::default();
    let fetched = f
        .fetch(&server.url("/midbody"), 1_000_000, &mut sink)
        .await
        .unwrap();
    assert_eq!(fetched.attempts, 2);
    assert_eq!(fetched.bytes, 100_000);
    assert_eq!(sink.restarts, 1);
    assert!(sink.data == full, "body differs after the retry");

    let mut sink = Recording::default();
    let result = f
        .fetch(&server.url("/always-midbody"), 1_000_000, &mut sink)
        .await;
    assert_eq!(code(&result), "body");
    assert_eq!(server.hits_for("/always-midbody"), 3);
    assert_eq!(sink.restarts, 2);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let f = fetcher(options(loopback()));
    let result = get(&f, &format!("http://127.0.0.1:{port}/"), 1000).await.0;
    assert_eq!(code(&result), "connect");
}

#[tokio::test]
async fn stalls_and_drips_time_out() {
    let server = FixtureServer::start(|r: &Request| match r.path.as_str() {
        "/stall" => Reply::Stall(Duration::from_secs(5)),
        "/drip" => Reply::Drip {
            body: vec![b'x'; 100],
            every: Duration::from_millis(100),
        },
        _ => Reply::NotFound,
    });

    let f = fetcher(FetchOptions {
        read_timeout: Duration::from_millis(200),
        retries: 1,
        ..options(loopback())
    });
    let started = Instant::now();
    let result = get(&f, &server.url("/stall"), 1000).await.0;
    assert_eq!(code(&result), "timeout");
    assert_eq!(result.unwrap_err().to_string(), "timed out reading");
    assert_eq!(server.hits_for("/stall"), 2);
    assert!(started.elapsed() < Duration::from_secs(3));

    let f = fetcher(FetchOptions {
        total_timeout: Duration::from_secs(1),
        retries: 0,
        ..options(loopback())
    });
    let started = Instant::now();
    let mut sink = Vec::new();
    let result = f.fetch(&server.url("/drip"), 1000, &mut sink).await;
    let took = started.elapsed();
    assert_eq!(code(&result), "timeout");
    assert_eq!(result.unwrap_err().to_string(), "timed out overall");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(!sink.is_empty() && sink.len() < 100, "{}", sink.len());
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    let server = FixtureServer::start(|r: &Request| match r.path.as_str() {
        "/big" => Reply::ok("image/png", vec![7u8; 10_000]),
        "/endless-declared" => Reply::Endless {
            content_type: "video/mp4".into(),
            declare_length: true,
        },
        "/endless" => Reply::Endless {
            content_type: "video/mp4".into(),
            declare_length: false,
        },
        _ => Reply::NotFound,
    });
    let f = fetcher(options(loopback()));

    let (result, body) = get(&f, &server.url("/big"), 9_999).await;
    assert_eq!(code(&result), "too-large");
    assert!(body.is_empty());

    let started = Instant::now();
    let (result, body) = get(&f, &server.url("/endless-declared"), 1 << 20).await;
    assert_eq!(code(&result), "too-large");
    assert!(body.is_empty());
    assert!(started.elapsed() < Duration::from_secs(2));

    let cap = 300_000;
    let (result, body) = get(&f, &server.url("/endless"), cap).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { limit }) if limit == cap),
        "{result:?}"
    );
    assert!(body.len() as u64 <= cap);
    assert!(body.len() as u64 > cap / 2, "{}", body.len());
    // Too large is final: not retried.
    assert_eq!(server.hits_for("/endless"), 1);
    assert_eq!(server.hits_for("/endless-declared"), 1);
}

#[tokio::test]
async fn per_host_interval_spaces_requests() {
    let server = FixtureServer::start(|_: &Request| Reply::ok("text/plain", b"x".to_vec()));
    let f = fetcher(FetchOptions {
        per_host_interval: Duration::from_millis(200),
        ..options(loopback())
    });
    let started = Instant::now();
    for i in 0..3 {
        get(&f, &server.url(&format!("/{i}")), 10).await.0.unwrap();
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(400), "{took:?}");

    // Clones share the schedule, also when fetching concurrently.
    let g = f.clone();
    let started = Instant::now();
    let url_a = server.url("/a");
    let url_b = server.url("/b");
    let (a, b) = tokio::join!(get(&f, &url_a, 10), get(&g, &url_b, 10));
    a.0.unwrap();
    b.0.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn unresolvable_names_are_dns_errors() {
    let f = fetcher(options(loopback()));
    let result = get(&f, "http://no-such-host.invalid/", 10).await.0;
    assert_eq!(code(&result), "dns", "{result:?}");
}

#[tokio::test]
async fn through_a_proxy_targets_are_still_checked() {
    // The fixture plays an HTTP proxy: it receives absolute-form requests.
    let proxy =
        FixtureServer::start(|r: &Request| Reply::ok("text/plain", r.path.as_bytes().to_vec()));
    let f = fetcher(FetchOptions {
        proxy: Some(proxy.url("")),
        ..options(Guard::default())
    });
    // A public literal goes through the (loopback, operator-chosen) proxy.
    let (result, body) = get(&f, "http://93.184.215.14/a.jpg", 1000).await;
    result.unwrap();
    assert_eq!(body, b"http://93.184.215.14/a.jpg");
    // Refused targets never reach the proxy.
    let result = get(&f, "http://localhost/", 1000).await.0;
    assert_eq!(refusal(result).2, "loopback");
    let result = get(&f, "http://169.254.169.254/latest/meta-data/", 1000)
        .await
        .0;
    assert_eq!(refusal(result).2, "cloud metadata");
    assert_eq!(proxy.hits(), 1);
}
