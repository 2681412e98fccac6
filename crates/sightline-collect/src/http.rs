//! [`Fetcher`]: the one HTTP client.
//!
//! Every request goes through the SSRF [`Guard`]:
//!
//! - IP-literal hosts (which never reach a resolver) are checked with
//!   [`Guard::check_url`] before each request and each redirect hop;
//! - host names are resolved by the fetcher's own resolver, which drops
//!   every refused address and fails when none is left. The connection is
//!   made to exactly the addresses checked, so a name that answers
//!   differently the second time (DNS rebinding) gains nothing.
//!
//! Redirects are followed by hand, each hop checked like the first request.
//! Bodies stream into a [`BodySink`] under a byte cap, with connect, read
//! and whole-attempt timeouts; transient failures are retried with capped,
//! jittered exponential backoff, or after the server's Retry-After (seconds
//! or an HTTP date).
//!
//! With [`FetchOptions::proxy`] set the proxy resolves and connects, so the
//! guard can only check what the fetcher itself resolves beforehand (every
//! address must pass); that check is advisory, as the proxy may see other
//! answers.

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use serde::Serialize;
use url::{Host, Url};

use crate::guard::{Guard, Refusal};

/// How fetching is done. Defaults suit a collector on a normal link.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub user_agent: String,
    /// TCP + TLS connect, per attempt.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Longest a whole attempt (headers and body, every redirect) may take:
    /// the bound on a server that drips bytes.
    pub total_timeout: Duration,
    pub max_redirects: usize,
    /// Extra attempts after a transient failure (connect error, timeout,
    /// reset, 429, 5xx).
    pub retries: u32,
    /// First backoff; doubles per attempt, with full jitter, capped.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Least time between two request starts to one host (zero: no limit).
    /// Waiting for a slot counts toward `total_timeout`.
    pub per_host_interval: Duration,
    /// A proxy URL; the environment's proxy variables are never used.
    pub proxy: Option<String>,
    pub guard: Guard,
}

impl Default for FetchOptions {
    fn default() -> FetchOptions {
        FetchOptions {
            user_agent: format!(
                "sightline/{} (+evidence preservation)",
                env!("CARGO_PKG_VERSION")
            ),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(300),
            max_redirects: 10,
            retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            per_host_interval: Duration::ZERO,
            proxy: None,
            guard: Guard::default(),
        }
    }
}

/// One hop of a redirect chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub url: String,
    pub status: u16,
}

/// What a successful fetch saw, for the sighting's collection facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fetched {
    /// The URL asked for.
    pub submitted: String,
    /// The URL the body came from.
    pub final_url: String,
    /// Every redirect response, in order (empty when there was none).
    pub redirects: Vec<Hop>,
    pub status: u16,
    /// Selected response headers (content-type, content-length,
    /// content-disposition, last-modified, etag, date, server, link),
    /// lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    /// The address the body was read from.
    pub remote_addr: Option<String>,
    /// Body bytes written to the sink.
    pub bytes: u64,
    /// Attempts made (1 when the first succeeded).
    pub attempts: u32,
}

impl Fetched {
    /// The first value of a header kept in [`Fetched::headers`].
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where a body goes as it streams in.
pub trait BodySink: Send {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()>;
    /// Forget what was written: a retry starts the body again.
    fn restart(&mut self) -> std::io::Result<()>;
}

impl BodySink for Vec<u8> {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(chunk);
        Ok(())
    }
    fn restart(&mut self) -> std::io::Result<()> {
        self.clear();
        Ok(())
    }
}

/// Why a fetch failed. Each has a stable [`FetchError::code`].
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("bad url: {0}")]
    BadUrl(String),
    #[error("scheme {0:?} is not http or https")]
    Scheme(String),
    #[error("refused: {host} is {addr}, a {reason} address")]
    Refused {
        host: String,
        addr: std::net::IpAddr,
        reason: &'static str,
    },
    #[error("cannot resolve {host}: {reason}")]
    Dns { host: String, reason: String },
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("server answered {status}")]
    Status { status: u16 },
    #[error("body is over the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("redirect loop back to {0}")]
    RedirectLoop(String),
    #[error("redirect without a usable location: {0}")]
    BadRedirect(String),
    #[error("connection failed mid-response: {0}")]
    Body(String),
    #[error("cannot store the body: {0}")]
    Sink(#[source] std::io::Error),
    #[error("http client: {0}")]
    Client(String),
}

impl FetchError {
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::BadUrl(_) => "bad-url",
            FetchError::Scheme(_) => "bad-scheme",
            FetchError::Refused { .. } => "refused-address",
            FetchError::Dns { .. } => "dns",
            FetchError::Connect(_) => "connect",
            FetchError::Timeout(_) => "timeout",
            FetchError::Status { .. } => "http-status",
            FetchError::TooLarge { .. } => "too-large",
            FetchError::TooManyRedirects(_) => "redirect-limit",
            FetchError::RedirectLoop(_) => "redirect-loop",
            FetchError::BadRedirect(_) => "bad-redirect",
            FetchError::Body(_) => "body",
            FetchError::Sink(_) => "write",
            FetchError::Client(_) => "client",
        }
    }

    /// Whether trying again may help: connect errors, timeouts, connections
    /// lost mid-response, 429 and 500/502/503/504. Refusals, other statuses,
    /// oversize bodies, redirect and URL errors are final.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Connect(_) | FetchError::Timeout(_) | FetchError::Body(_) => true,
            FetchError::Status { status } => matches!(status, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }
}

/// Response headers kept in [`Fetched::headers`].
const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-disposition",
    "last-modified",
    "etag",
    "date",
    "server",
    "link",
];

/// Resolver-side failures, carried through reqwest's error chain so that a
/// refusal inside the resolver surfaces as [`FetchError::Refused`].
#[derive(Debug, Clone, thiserror::Error)]
enum ResolveFailure {
    #[error("refused: {host} is {}, a {} address", .refusal.addr, .refusal.reason)]
    Refused { host: String, refusal: Refusal },
    #[error("cannot resolve {host}: {reason}")]
    Dns { host: String, reason: String },
}

impl From<ResolveFailure> for FetchError {
    fn from(failure: ResolveFailure) -> FetchError {
        match failure {
            ResolveFailure::Refused { host, refusal } => FetchError::Refused {
                host,
                addr: refusal.addr,
                reason: refusal.reason,
            },
            ResolveFailure::Dns { host, reason } => FetchError::Dns { host, reason },
        }
    }
}

/// Resolve `host` and keep the addresses the guard allows. Fails with the
/// first refusal when none is allowed; with `strict`, when any is refused.
async fn resolve_checked(
    guard: &Guard,
    host: &str,
    strict: bool,
) -> Result<Vec<SocketAddr>, ResolveFailure> {
    let found = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| ResolveFailure::Dns {
            host: host.to_owned(),
            reason: e.to_string(),
        })?;
    let mut allowed = Vec::new();
    let mut refused = None;
    for addr in found {
        match guard.check(addr.ip()) {
            Ok(()) => allowed.push(addr),
            Err(refusal) => {
                refused.get_or_insert(refusal);
            }
        }
    }
    match refused {
        Some(refusal) if strict || allowed.is_empty() => Err(ResolveFailure::Refused {
            host: host.to_owned(),
            refusal,
        }),
        _ if allowed.is_empty() => Err(ResolveFailure::Dns {
            host: host.to_owned(),
            reason: "no addresses".to_owned(),
        }),
        _ => Ok(allowed),
    }
}

/// The resolver reqwest connects through: system resolution, then the guard.
#[derive(Debug)]
struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            match resolve_checked(&guard, &host, false).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(failure) => {
                    if let ResolveFailure::Refused { host, refusal } = &failure {
                        tracing::debug!(%host, addr = %refusal.addr, reason = refusal.reason, "resolver refused address");
                    }
                    Err(Box::new(failure) as Box<dyn StdError + Send + Sync>)
                }
            }
        })
    }
}

/// A failed attempt, with the server's Retry-After when it sent one.
#[derive(Debug)]
struct Failure {
    error: FetchError,
    retry_after: Option<Duration>,
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Failure {
        Failure {
            error,
            retry_after: None,
        }
    }
}

/// An error and its sources, as one line.
fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = e.source();
    }
    text
}

/// Map a reqwest error (from sending, or from reading the body) to ours.
fn classify(error: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(failure) = e.downcast_ref::<ResolveFailure>() {
            return failure.clone().into();
        }
        source = e.source();
    }
    if error.is_timeout() {
        FetchError::Timeout(if error.is_connect() {
            "connecting"
        } else {
            "reading"
        })
    } else if error.is_connect() {
        FetchError::Connect(describe(error))
    } else if error.is_builder() {
        FetchError::Client(describe(error))
    } else {
        FetchError::Body(describe(error))
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    retry_after_at(headers, chrono::Utc::now())
}

/// Retry-After as seconds, or as an HTTP date (RFC 9110: IMF-fixdate, and
/// the obsolete RFC 850 and asctime forms) turned into the wait from `now`;
/// a date already past means no wait.
fn retry_after_at(headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    use chrono::{NaiveDateTime, TimeZone, Utc};
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(value, f).ok())
                .map(|n| Utc.from_utc_datetime(&n))
        })?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

#[derive(Debug)]
struct Inner {
    opts: FetchOptions,
    client: reqwest::Client,
    /// Per host, the earliest time the next request may start.
    next_start: Mutex<HashMap<String, Instant>>,
    /// xorshift64 state for backoff jitter.
    rng: AtomicU64,
}

/// The HTTP client. Cheap to clone; clones share connections and the
/// per-host rate limit.
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

impl Fetcher {
    pub fn new(opts: FetchOptions) -> Result<Fetcher, FetchError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(opts.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(opts.connect_timeout)
            .read_timeout(opts.read_timeout)
            .no_proxy();
        builder = match &opts.proxy {
            Some(proxy) => {
                let proxy = reqwest::Proxy::all(proxy.as_str())
                    .map_err(|e| FetchError::Client(format!("bad proxy {proxy:?}: {e}")))?;
                builder.proxy(proxy)
            }
            None => builder.dns_resolver(Arc::new(GuardedResolver {
                guard: opts.guard.clone(),
            })),
        };
        let client = builder
            .build()
            .map_err(|e| FetchError::Client(describe(&e)))?;
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Ok(Fetcher {
            inner: Arc::new(Inner {
                opts,
                client,
                next_start: Mutex::new(HashMap::new()),
                rng: AtomicU64::new(seed | 1),
            }),
        })
    }

    /// The options this fetcher was made with.
    pub fn options(&self) -> &FetchOptions {
        &self.inner.opts
    }

    /// Stream `url`'s body into `sink` (at most `max_bytes`), following
    /// redirects under the guard, retrying transient failures.
    pub async fn fetch(
        &self,
        url: &str,
        max_bytes: u64,
        sink: &mut dyn BodySink,
    ) -> Result<Fetched, FetchError> {
        let submitted = Url::parse(url).map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
        let opts = &self.inner.opts;
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let mut wrote = false;
            let outcome = tokio::time::timeout(
                opts.total_timeout,
                self.attempt(&submitted, max_bytes, &mut *sink, &mut wrote),
            )
            .await
            .unwrap_or_else(|_| Err(FetchError::Timeout("overall").into()));
            let failure = match outcome {
                Ok(mut fetched) => {
                    fetched.submitted = url.to_owned();
                    fetched.attempts = attempts;
                    return Ok(fetched);
                }
                Err(failure) => failure,
            };
            let code = failure.error.code();
            if let FetchError::Refused { host, addr, reason } = &failure.error {
                tracing::warn!(url, %host, %addr, reason, attempt = attempts, code, "fetch refused");
            }
            if attempts > opts.retries || !failure.error.is_transient() {
                tracing::debug!(url, attempt = attempts, code, error = %failure.error, "fetch failed");
                return Err(failure.error);
            }
            let delay = self.backoff(attempts - 1, failure.retry_after);
            tracing::debug!(
                url,
                attempt = attempts,
                code,
                error = %failure.error,
                delay_ms = delay.as_millis() as u64,
                "retrying fetch"
            );
            if wrote {
                sink.restart().map_err(FetchError::Sink)?;
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// A small document (a feed, an API page) in memory.
    pub async fn document(
        &self,
        url: &str,
        max_bytes: u64,
    ) -> Result<(Fetched, Vec<u8>), FetchError> {
        let mut body = Vec::new();
        let fetched = self.fetch(url, max_bytes, &mut body).await?;
        Ok((fetched, body))
    }

    /// One attempt: the redirect chain from `submitted`, then the body.
    /// `wrote` is set once anything reached the sink.
    async fn attempt(
        &self,
        submitted: &Url,
        max_bytes: u64,
        sink: &mut dyn BodySink,
        wrote: &mut bool,
    ) -> Result<Fetched, Failure> {
        let opts = &self.inner.opts;
        let mut current = without_fragment(submitted);
        let mut seen = HashSet::from([current.as_str().to_owned()]);
        let mut redirects = Vec::new();
        let mut response = loop {
            opts.guard.check_url(&current)?;
            if opts.proxy.is_some() {
                self.precheck(&current).await?;
            }
            self.wait_turn(&current).await;
            let response = self
                .inner
                .client
                .get(current.clone())
                .send()
                .await
                .map_err(|e| classify(&e))?;
            let status = response.status().as_u16();
            if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                break response;
            }
            let location = response.headers().get(LOCATION).ok_or_else(|| {
                FetchError::BadRedirect(format!("{status} from {current} has no location"))
            })?;
            let location = location.to_str().map_err(|_| {
                FetchError::BadRedirect(format!("{status} from {current}: location is not text"))
            })?;
            let next = current.join(location.trim()).map_err(|e| {
                FetchError::BadRedirect(format!("{status} from {current} to {location:?}: {e}"))
            })?;
            let next = without_fragment(&next);
            redirects.push(Hop {
                url: current.to_string(),
                status,
            });
            if redirects.len() > opts.max_redirects {
                return Err(FetchError::TooManyRedirects(opts.max_redirects).into());
            }
            if !seen.insert(next.as_str().to_owned()) {
                return Err(FetchError::RedirectLoop(next.to_string()).into());
            }
            tracing::debug!(from = %current, to = %next, status, "following redirect");
            current = next;
        };

        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(Failure {
                error: FetchError::Status { status },
                retry_after: retry_after(response.headers()),
            });
        }
        if response.content_length().is_some_and(|len| len > max_bytes) {
            return Err(FetchError::TooLarge { limit: max_bytes }.into());
        }
        let headers = response
            .headers()
            .iter()
            .filter(|(name, _)| KEPT_HEADERS.contains(&name.as_str()))
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let remote_addr = response.remote_addr().map(|a| a.to_string());

        let mut bytes: u64 = 0;
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
            if chunk.is_empty() {
                continue;
            }
            let len = chunk.len() as u64;
            if bytes.saturating_add(len) > max_bytes {
                return Err(FetchError::TooLarge { limit: max_bytes }.into());
            }
            *wrote = true;
            sink.write(&chunk).map_err(FetchError::Sink)?;
            bytes += len;
        }

        Ok(Fetched {
            submitted: String::new(),
            final_url: current.to_string(),
            redirects,
            status,
            headers,
            remote_addr,
            bytes,
            attempts: 0,
        })
    }

    /// With a proxy, the proxy resolves names: check what they resolve to
    /// here first, refusing when any address is refused.
    async fn precheck(&self, url: &Url) -> Result<(), FetchError> {
        if let Some(Host::Domain(name)) = url.host() {
            resolve_checked(&self.inner.opts.guard, name, true).await?;
        }
        Ok(())
    }

    /// Wait for this host's next request slot (see
    /// [`FetchOptions::per_host_interval`]).
    async fn wait_turn(&self, url: &Url) {
        let interval = self.inner.opts.per_host_interval;
        if interval.is_zero() {
            return;
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let start = {
            let mut slots = self
                .inner
                .next_start
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            if slots.len() > 1024 {
                slots.retain(|_, next| *next > now);
            }
            let start = slots
                .get(&host)
                .copied()
                .filter(|t| *t > now)
                .unwrap_or(now);
            slots.insert(host, start + interval);
            start
        };
        tokio::time::sleep_until(start.into()).await;
    }

    /// The wait before retrying after failed attempt number `failed`
    /// (0-based): the server's Retry-After when given, else a random time up
    /// to `backoff_base * 2^failed`; capped at `backoff_max` either way.
    fn backoff(&self, failed: u32, retry_after: Option<Duration>) -> Duration {
        let opts = &self.inner.opts;
        if let Some(wait) = retry_after {
            return wait.min(opts.backoff_max);
        }
        let ceiling = opts
            .backoff_base
            .saturating_mul(2u32.saturating_pow(failed))
            .min(opts.backoff_max);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        match nanos.checked_add(1) {
            Some(span) => Duration::from_nanos(self.random() % span),
            None => Duration::from_nanos(self.random()),
        }
    }

    fn random(&self) -> u64 {
        let step = |mut x: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut current = self.inner.rng.load(Ordering::Relaxed);
        loop {
            let next = step(current);
            match self.inner.rng.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn fetcher(base_ms: u64, max_ms: u64) -> Fetcher {
        Fetcher::new(FetchOptions {
            backoff_base: Duration::from_millis(base_ms),
            backoff_max: Duration::from_millis(max_ms),
            ..FetchOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn defaults() {
        let o = FetchOptions::default();
        assert!(o.user_agent.starts_with("sightline/"));
        assert!(o.user_agent.ends_with(" (+evidence preservation)"));
        assert_eq!(o.max_redirects, 10);
        assert_eq!(o.retries, 3);
        assert!(o.proxy.is_none());
        assert!(!o.guard.allows_any());
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let f = fetcher(100, 1000);
        for failed in 0..40 {
            let ceiling = Duration::from_millis((100u64 << failed.min(20)).min(1000));
            for _ in 0..50 {
                assert!(f.backoff(failed, None) <= ceiling, "{failed}");
            }
        }
        // Not constant.
        let draws: HashSet<Duration> = (0..20).map(|_| f.backoff(5, None)).collect();
        assert!(draws.len() > 1);
        assert_eq!(
            f.backoff(0, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            f.backoff(0, Some(Duration::from_secs(60))),
            Duration::from_secs(1)
        );
        assert_eq!(fetcher(0, 0).backoff(3, None), Duration::ZERO);
    }

    #[test]
    fn transient_errors() {
        assert!(FetchError::Status { status: 503 }.is_transient());
        assert!(FetchError::Status { status: 429 }.is_transient());
        assert!(!FetchError::Status { status: 404 }.is_transient());
        assert!(!FetchError::Status { status: 501 }.is_transient());
        assert!(FetchError::Timeout("reading").is_transient());
        assert!(!FetchError::TooLarge { limit: 1 }.is_transient());
        assert!(!FetchError::RedirectLoop(String::new()).is_transient());
    }

    #[test]
    fn bad_proxy_is_a_client_error() {
        let err = Fetcher::new(FetchOptions {
            proxy: Some("not a url at all".into()),
            ..FetchOptions::default()
        })
        .unwrap_err();
        assert_eq!(err.code(), "client");
    }

    #[test]
    fn retry_after_seconds_or_http_date() {
        let now: chrono::DateTime<chrono::Utc> = "2015-10-21T07:27:30Z".parse().unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(retry_after_at(&h, now), None);
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after_at(&h, now), Some(Duration::from_secs(7)));
        // The three HTTP-date forms RFC 9110 asks a recipient to accept.
        for date in [
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            h.insert(RETRY_AFTER, date.parse().unwrap());
            assert_eq!(
                retry_after_at(&h, now),
                Some(Duration::from_secs(30)),
                "{date}"
            );
        }
        // A date already past: retry now; garbage: no opinion.
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after_at(&h, now), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after_at(&h, now), None);
    }

    #[tokio::test]
    async fn bad_urls() {
        let f = fetcher(1, 1);
        let mut sink = Vec::new();
        let e = f.fetch("not a url", 10, &mut sink).await.unwrap_err();
        assert_eq!(e.code(), "bad-url");
        let e = f
            .fetch("ftp://example.com/x", 10, &mut sink)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "bad-scheme");
        let e = f
            .fetch("file:///etc/passwd", 10, &mut sink)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "bad-scheme");
    }

    #[test]
    fn resolver_failure_carries_the_refusal() {
        let failure = ResolveFailure::Refused {
            host: "localhost".into(),
            refusal: Refusal {
                addr: IpAddr::from([127, 0, 0, 1]),
                reason: "loopback",
            },
        };
        let err = FetchError::from(failure);
        assert_eq!(err.code(), "refused-address");
        assert_eq!(
            err.to_string(),
            "refused: localhost is 127.0.0.1, a loopback address"
        );
    }
}
