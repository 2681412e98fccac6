//! A loopback HTTP/1.1 server for tests and local fixture runs.
//!
//! [`FixtureServer`] answers each request with the [`Reply`] a route
//! function picks, including misbehaviour a collector must survive: resets,
//! stalls, slow drips, endless bodies. It runs on plain threads (one per
//! connection), so it works under any async runtime or none. Connections are
//! kept alive for ordinary replies (several requests, also pipelined, may
//! arrive on one connection); misbehaving replies close theirs.
//!
//! Not for production: it trusts nothing but is built for tests, not load.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    /// Path and query, exactly as sent.
    pub path: String,
    /// Header names as sent, in order.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path_only(&self) -> &str {
        self.path.split_once('?').map_or(&self.path, |(p, _)| p)
    }
}

/// How to answer a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this body.
    Ok {
        content_type: String,
        body: Arc<[u8]>,
        headers: Vec<(String, String)>,
    },
    /// Any status, with these headers (Content-Length is added).
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Redirect {
        status: u16,
        location: String,
    },
    /// Read the request, then drop the connection without answering.
    Reset,
    /// Headers promising `content_length` bytes, then only `send`, then close.
    ResetMidBody {
        content_length: u64,
        send: Vec<u8>,
    },
    /// Read the request, send nothing for this long, then close.
    Stall(Duration),
    /// Valid headers, then one byte per `every` (a slowloris server).
    Drip {
        body: Vec<u8>,
        every: Duration,
    },
    /// Zeros until the client goes away; with `declare_length` the headers
    /// claim a terabyte, without they give no length (close-delimited).
    Endless {
        content_type: String,
        declare_length: bool,
    },
    NotFound,
}

impl Reply {
    /// 200 with a body.
    pub fn ok(content_type: &str, body: impl Into<Arc<[u8]>>) -> Reply {
        Reply::Ok {
            content_type: content_type.to_owned(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// A status with an empty body.
    pub fn status(status: u16) -> Reply {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A 302 to `location`.
    pub fn redirect(location: impl Into<String>) -> Reply {
        Reply::Redirect {
            status: 302,
            location: location.into(),
        }
    }
}

/// The length an [`Reply::Endless`] body claims when it declares one.
pub const ENDLESS_DECLARED_LENGTH: u64 = 1 << 40;

/// Longest a request's head may be.
const MAX_HEAD: usize = 64 * 1024;
/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// An idle kept-alive connection is closed after this long.
const IDLE: Duration = Duration::from_secs(60);

type Route = dyn Fn(&Request) -> Reply + Send + Sync;

struct Shared {
    route: Box<Route>,
    stop: AtomicBool,
    /// The path (with query) of every request read, in order.
    seen: Mutex<Vec<String>>,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleep for `d`, waking early when the server stops. False if stopped.
    fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.stopped() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            thread::sleep((end - now).min(POLL));
        }
    }
}

/// A loopback HTTP/1.1 server answering with a route function.
pub struct FixtureServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl fmt::Debug for FixtureServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixtureServer")
            .field("addr", &self.addr)
            .field("hits", &self.hits())
            .finish()
    }
}

impl FixtureServer {
    /// Start on `127.0.0.1` at a free port. Panics when it cannot bind.
    pub fn start(route: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> FixtureServer {
        FixtureServer::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), route)
            .expect("cannot start the fixture server on 127.0.0.1")
    }

    /// Start on `addr` (port 0 for a free one).
    pub fn start_on(
        addr: SocketAddr,
        route: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> io::Result<FixtureServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            route: Box::new(route),
            stop: AtomicBool::new(false),
            seen: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name(format!("fixture-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, for_thread))?;
        Ok(FixtureServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/path` (a leading slash is added when missing).
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    /// Requests read so far.
    pub fn hits(&self) -> usize {
        self.shared.seen().len()
    }

    /// Requests read so far for `path`: the exact path and query when `path`
    /// has a query, else any query.
    pub fn hits_for(&self, path: &str) -> usize {
        let with_query = path.contains('?');
        self.shared
            .seen()
            .iter()
            .filter(|seen| {
                if with_query {
                    seen.as_str() == path
                } else {
                    seen.split_once('?').map_or(seen.as_str(), |(p, _)| p) == path
                }
            })
            .count()
    }

    /// The path (with query) of every request read so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.seen().clone()
    }

    /// Serve until the process is killed.
    pub fn run_forever(mut self) {
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Drop for FixtureServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let Some(accept) = self.accept.take() else {
            return;
        };
        // Wake the blocked accept() with a connection of our own; join only
        // when that worked, so dropping never hangs.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        if TcpStream::connect_timeout(&wake, Duration::from_secs(1)).is_ok() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped() {
            return;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(_) => {
                // Out of descriptors or an aborted handshake: try again soon.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        let _ = thread::Builder::new()
            .name("fixture-conn".into())
            .spawn(move || serve_connection(stream, &shared));
    }
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let mut pending = Vec::new();
    while let Some((request, keep_alive)) = read_request(&mut stream, &mut pending, shared) {
        shared.seen().push(request.path.clone());
        let reply =
            catch_unwind(AssertUnwindSafe(|| (shared.route)(&request))).unwrap_or_else(|_| {
                Reply::Status {
                    status: 500,
                    headers: Vec::new(),
                    body: b"route panicked\n".to_vec(),
                }
            });
        match write_reply(&mut stream, &request, reply, keep_alive, shared) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Read into `pending` until `done(pending)`; false on close, error, stop or
/// idle timeout.
fn fill(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    shared: &Shared,
    done: impl Fn(&[u8]) -> bool,
) -> bool {
    let since = Instant::now();
    let mut chunk = [0u8; 8192];
    while !done(pending) {
        if shared.stopped() || since.elapsed() > IDLE || pending.len() > MAX_HEAD * 64 {
            return false;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return false,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

/// The next request on the connection (leftover bytes stay in `pending`),
/// and whether the connection may be kept after answering it.
fn read_request(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    shared: &Shared,
) -> Option<(Request, bool)> {
    let head_done = |buf: &[u8]| find_head_end(buf).is_some() || buf.len() > MAX_HEAD;
    if !fill(stream, pending, shared, head_done) {
        return None;
    }
    let end = find_head_end(pending)?;
    let head = String::from_utf8_lossy(&pending[..end]).into_owned();
    pending.drain(..end);

    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let method = start.next()?.to_owned();
    let path = start.next()?.to_owned();
    let version = start.next().unwrap_or("HTTP/1.0").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let request = Request {
        method,
        path,
        headers,
    };

    let mut keep_alive = version == "HTTP/1.1"
        && !request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
    if request.header("transfer-encoding").is_some() {
        // Chunked request bodies are not supported: answer, then close.
        keep_alive = false;
    } else if let Some(len) = request.header("content-length") {
        let len: usize = len.parse().ok()?;
        if !fill(stream, pending, shared, |buf| buf.len() >= len) {
            return None;
        }
        pending.drain(..len);
    }
    Some((request, keep_alive))
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn write_head(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    content_length: Option<u64>,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(len) = content_length {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    head.push_str(if keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    stream.write_all(head.as_bytes())
}

/// Answer; true when the connection may serve another request.
fn write_reply(
    stream: &mut TcpStream,
    request: &Request,
    reply: Reply,
    keep_alive: bool,
    shared: &Shared,
) -> io::Result<bool> {
    let head_only = request.method.eq_ignore_ascii_case("HEAD");
    let simple = |stream: &mut TcpStream,
                  status: u16,
                  headers: &[(String, String)],
                  body: &[u8]|
     -> io::Result<bool> {
        write_head(stream, status, headers, Some(body.len() as u64), keep_alive)?;
        if !head_only {
            stream.write_all(body)?;
        }
        stream.flush()?;
        Ok(keep_alive)
    };
    match reply {
        Reply::Ok {
            content_type,
            body,
            headers,
        } => {
            let mut all = vec![("Content-Type".to_owned(), content_type)];
            all.extend(headers);
            simple(stream, 200, &all, &body)
        }
        Reply::Status {
            status,
            headers,
            body,
        } => simple(stream, status, &headers, &body),
        Reply::Redirect { status, location } => {
            simple(stream, status, &[("Location".to_owned(), location)], b"")
        }
        Reply::NotFound => simple(
            stream,
            404,
            &[("Content-Type".to_owned(), "text/plain".to_owned())],
            b"not found\n",
        ),
        Reply::Reset => Ok(false),
        Reply::ResetMidBody {
            content_length,
            send,
        } => {
            write_head(stream, 200, &[], Some(content_length), false)?;
            stream.write_all(&send)?;
            stream.flush()?;
            Ok(false)
        }
        Reply::Stall(duration) => {
            shared.sleep(duration);
            Ok(false)
        }
        Reply::Drip { body, every } => {
            let ct = [(
                "Content-Type".to_owned(),
                "application/octet-stream".to_owned(),
            )];
            write_head(stream, 200, &ct, Some(body.len() as u64), false)?;
            stream.flush()?;
            for byte in body {
                if !shared.sleep(every) {
                    break;
                }
                stream.write_all(&[byte])?;
                stream.flush()?;
            }
            Ok(false)
        }
        Reply::Endless {
            content_type,
            declare_length,
        } => {
            let length = declare_length.then_some(ENDLESS_DECLARED_LENGTH);
            write_head(
                stream,
                200,
                &[("Content-Type".to_owned(), content_type)],
                length,
                false,
            )?;
            let zeros = vec![0u8; 64 * 1024];
            while !shared.stopped() {
                stream.write_all(&zeros)?;
            }
            Ok(false)
        }
    }
}

/// A route serving the files under `root`: GET and HEAD, content type by
/// extension, `index.html` for directories. Paths are percent-decoded; `..`
/// segments are refused (403) and symlinks leading outside `root` are not
/// followed (404).
pub fn serve_dir(root: PathBuf) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let root = root.canonicalize().unwrap_or(root);
    move |request| {
        if !matches!(request.method.as_str(), "GET" | "HEAD") {
            return Reply::status(405);
        }
        let Some(relative) = safe_relative_path(request.path_only()) else {
            return Reply::status(403);
        };
        let mut path = match root.join(relative).canonicalize() {
            Ok(p) if p.starts_with(&root) => p,
            _ => return Reply::NotFound,
        };
        if path.is_dir() {
            path.push("index.html");
        }
        match std::fs::read(&path) {
            Ok(bytes) => Reply::ok(content_type_for(&path), bytes),
            Err(_) => Reply::NotFound,
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = hex_value(*bytes.get(i + 1)?)?;
            let lo = hex_value(*bytes.get(i + 2)?)?;
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The request path as a relative file path, or `None` when it could
/// escape the root or name something odd.
fn safe_relative_path(path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path)?;
    let mut out = PathBuf::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            s if s.contains(['\\', '\0', ':']) => return None,
            s => out.push(s),
        }
    }
    Some(out)
}

/// The content type for a file name's extension.
pub fn content_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "heic" => "image/heic",
        "tif" | "tiff" => "image/tiff",
        "bmp" => "image/bmp",
        "svg" => "image/svg+xml",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "ts" => "video/mp2t",
        "m3u8" => "application/vnd.apple.mpegurl",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "ogg" | "oga" => "audio/ogg",
        "wav" => "audio/wav",
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "rss" => "application/rss+xml",
        "atom" => "application/atom+xml",
        "toml" => "application/toml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// The fixture web site the example pipelines run against (`cargo run -p
/// xtask -- serve`, and the job tests): under `fixtures` (the project's
/// `fixtures/` folder) it answers
///
/// - the Mastodon API pages of `sources/mastodon/routes.json`, with their
///   `Link` headers;
/// - `/feeds/NAME` from `sources/feeds/NAME`;
/// - the media URLs those name, from the files `sources/site.json` maps
///   them to;
/// - any other path as a static file under `fixtures`.
///
/// `{base}` in fixture text becomes `http://` plus the request's `Host`, so
/// links lead back to this server whatever its port.
pub fn fixture_site(fixtures: PathBuf) -> impl Fn(&Request) -> Reply + Send + Sync + 'static {
    let load = |rel: &str| -> serde_json::Map<String, serde_json::Value> {
        std::fs::read(fixtures.join(rel))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    let routes = load("sources/mastodon/routes.json");
    let site = load("sources/site.json");
    let statics = serve_dir(fixtures.clone());
    move |req| {
        let base = format!("http://{}", req.header("host").unwrap_or("127.0.0.1"));
        let with_base = |bytes: Vec<u8>| -> Vec<u8> {
            String::from_utf8_lossy(&bytes)
                .replace("{base}", &base)
                .into_bytes()
        };
        if let Some(route) = routes.get(&req.path) {
            let file = route.get("file").and_then(|f| f.as_str()).unwrap_or("");
            let Ok(body) = std::fs::read(fixtures.join("sources/mastodon").join(file)) else {
                return Reply::NotFound;
            };
            let mut headers = Vec::new();
            if let Some(link) = route.get("link").and_then(|l| l.as_str()) {
                headers.push(("Link".to_string(), link.replace("{base}", &base)));
            }
            return Reply::Ok {
                content_type: "application/json; charset=utf-8".into(),
                body: with_base(body).into(),
                headers,
            };
        }
        if let Some(file) = site.get(req.path_only()).and_then(|f| f.as_str()) {
            let path = fixtures.join(file);
            return match std::fs::read(&path) {
                Ok(b) => Reply::ok(content_type_for(&path), b),
                Err(_) => Reply::NotFound,
            };
        }
        if let Some(name) = req.path_only().strip_prefix("/feeds/")
            && !name.contains(['/', '\\'])
            && !name.starts_with('.')
        {
            let path = fixtures.join("sources/feeds").join(name);
            return match std::fs::read(&path) {
                Ok(b) => Reply::ok("application/xml; charset=utf-8", with_base(b)),
                Err(_) => Reply::NotFound,
            };
        }
        statics(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(server: &FixtureServer, request: &str) -> String {
        let mut s = TcpStream::connect(server.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn keep_alive_and_pipelining() {
        let server = FixtureServer::start(|r| Reply::ok("text/plain", r.path.as_bytes().to_vec()));
        let answer = raw(
            &server,
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 3, "{answer}");
        assert!(answer.contains("\r\n\r\n/a"));
        assert!(answer.contains("\r\n\r\n/b?q=1"));
        assert!(answer.ends_with("\r\n\r\n/c"));
        assert_eq!(server.hits(), 3);
        assert_eq!(server.hits_for("/b"), 1);
        assert_eq!(server.hits_for("/b?q=1"), 1);
        assert_eq!(server.hits_for("/b?q=2"), 0);
        assert_eq!(server.requests(), ["/a", "/b?q=1", "/c"]);
        assert!(server.url("x").ends_with("/x"));
    }

    #[test]
    fn survives_clients_leaving_and_panicking_routes() {
        let server = FixtureServer::start(|r| match r.path.as_str() {
            "/endless" => Reply::Endless {
                content_type: "application/octet-stream".into(),
                declare_length: false,
            },
            "/panic" => panic!("route panic (expected in this test)"),
            _ => Reply::status(204),
        });
        for _ in 0..3 {
            let mut s = TcpStream::connect(server.addr()).unwrap();
            s.write_all(b"GET /endless HTTP/1.1\r\n\r\n").unwrap();
            let mut buf = [0u8; 1000];
            s.read_exact(&mut buf).unwrap();
            drop(s);
        }
        assert!(
            raw(&server, "GET /panic HTTP/1.1\r\nConnection: close\r\n\r\n")
                .starts_with("HTTP/1.1 500")
        );
        assert!(raw(&server, "GET /ok HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 204"));
        let started = Instant::now();
        drop(server);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn serve_dir_serves_files_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a b.JPG"), b"jpeg").unwrap();
        std::fs::write(dir.path().join("sub/index.html"), b"<p>").unwrap();
        let route = serve_dir(dir.path().to_owned());
        let get = |path: &str| {
            route(&Request {
                method: "GET".into(),
                path: path.into(),
                headers: vec![],
            })
        };
        match get("/sub/a%20b.JPG?x=1") {
            Reply::Ok {
                content_type, body, ..
            } => {
                assert_eq!(content_type, "image/jpeg");
                assert_eq!(&*body, b"jpeg");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(get("/sub/"), Reply::Ok { .. }));
        assert!(matches!(get("/missing"), Reply::NotFound));
        for bad in [
            "/../etc/passwd",
            "/sub/../../x",
            "/%2e%2e/x",
            "/sub/%2E%2E/%2e%2e/x",
            "/a\\..\\b",
        ] {
            assert!(
                matches!(get(bad), Reply::Status { status: 403, .. }),
                "{bad}"
            );
        }
        let post = route(&Request {
            method: "POST".into(),
            path: "/sub/a%20b.JPG".into(),
            headers: vec![],
        });
        assert!(matches!(post, Reply::Status { status: 405, .. }));
    }
}
