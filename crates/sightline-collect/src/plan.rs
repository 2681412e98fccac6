//! Batch jobs as files: a pipeline TOML is read into [`RawPipeline`]
//! (exactly what the file says, unknown keys refused) and checked into a
//! [`Plan`] (paths resolved and present, URLs parsed, limits in range)
//! before anything runs. Every problem is reported at once, each naming
//! the key it is about.
//!
//! ```toml
//! version = 1
//! name = "kabul-telegram"
//! collector = "analyst@example.org"
//! tags = ["isis-k"]
//!
//! [vars]                      # ${base} in any string below
//! base = "http://127.0.0.1:8765"
//!
//! [limits]
//! max_file_mb = 512
//!
//! [concurrency]
//! fetch = 8
//!
//! [network]
//! allow = ["127.0.0.1/32"]    # ranges the SSRF guard lets through
//!
//! [[sources]]
//! kind = "telegram"
//! export = "../fixtures/sources/telegram-export"
//!
//! [[sources]]
//! kind = "feed"
//! url = "${base}/feeds/rss.xml"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::guard::Guard;
use crate::http::FetchOptions;

/// The only pipeline format version there is.
pub const VERSION: u32 = 1;

/// A pipeline file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    pub version: u32,
    pub name: String,
    pub collector: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The incident set to match against (CSV or GeoJSON), for when
    /// incident matching runs at ingest.
    pub incidents: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub concurrency: RawConcurrency,
    #[serde(default)]
    pub network: RawNetwork,
    #[serde(default)]
    pub sources: Vec<RawSource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Largest medium kept, in MiB.
    pub max_file_mb: Option<u64>,
    /// Largest feed or API page read, in MiB.
    pub max_document_mb: Option<u64>,
    pub max_pages: Option<usize>,
    pub connect_timeout_s: Option<f64>,
    pub read_timeout_s: Option<f64>,
    pub total_timeout_s: Option<f64>,
    pub retries: Option<u32>,
    pub max_redirects: Option<usize>,
    /// Least time between two requests to one host, in milliseconds.
    pub per_host_interval_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConcurrency {
    /// Downloads in flight.
    pub fetch: Option<usize>,
    /// Items validated and fingerprinted at once (CPU-bound).
    pub preserve: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    /// Address ranges the SSRF guard lets through (CIDR).
    #[serde(default)]
    pub allow: Vec<String>,
    pub proxy: Option<String>,
    pub user_agent: Option<String>,
}

/// One source as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawSource {
    /// Image and video files under folders, recursively.
    Folder {
        #[serde(default)]
        path: Option<String>,
        #[serde(default)]
        paths: Vec<String>,
    },
    /// A JSON Lines post manifest.
    Manifest { path: String },
    /// Media URLs, listed here or one per line in a file.
    Urls {
        #[serde(default)]
        urls: Vec<String>,
        #[serde(default)]
        file: Option<String>,
    },
    /// A Telegram Desktop export folder (with `result.json`).
    Telegram { export: String },
    /// A Mastodon-compatible account or hashtag timeline.
    Mastodon {
        instance: String,
        account: Option<String>,
        hashtag: Option<String>,
        max_pages: Option<usize>,
    },
    /// An RSS or Atom feed.
    Feed { url: String },
}

/// A checked source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Folder {
        paths: Vec<PathBuf>,
    },
    Manifest {
        path: PathBuf,
    },
    Urls {
        urls: Vec<String>,
    },
    Telegram {
        export: PathBuf,
    },
    Mastodon {
        instance: String,
        timeline: Timeline,
        max_pages: Option<usize>,
    },
    Feed {
        url: String,
    },
}

impl SourceSpec {
    /// The kind's name, as in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSpec::Folder { .. } => "folder",
            SourceSpec::Manifest { .. } => "manifest",
            SourceSpec::Urls { .. } => "urls",
            SourceSpec::Telegram { .. } => "telegram",
            SourceSpec::Mastodon { .. } => "mastodon",
            SourceSpec::Feed { .. } => "feed",
        }
    }
}

/// Which Mastodon timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timeline {
    Account(String),
    Hashtag(String),
}

/// A job ready to run: everything in it has been checked.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    /// The file it was read from.
    pub file: Option<PathBuf>,
    pub collector: Option<String>,
    pub tags: Vec<String>,
    pub incidents: Option<PathBuf>,
    pub fetch: FetchOptions,
    pub max_file_bytes: u64,
    pub max_document_bytes: u64,
    pub max_pages: usize,
    pub fetch_concurrency: usize,
    pub preserve_workers: usize,
    pub sources: Vec<SourceSpec>,
}

/// Why a pipeline file cannot run: every problem found, each naming its
/// key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}", problems.join("; "))]
pub struct PlanError {
    pub file: String,
    pub problems: Vec<String>,
}

impl PlanError {
    pub fn code(&self) -> &'static str {
        "bad-pipeline"
    }
}

impl Plan {
    /// A plan with defaults and no sources (what `sightline ingest` runs).
    pub fn adhoc(name: impl Into<String>) -> Plan {
        Plan {
            name: name.into(),
            file: None,
            collector: None,
            tags: Vec::new(),
            incidents: None,
            fetch: FetchOptions::default(),
            max_file_bytes: 8 << 30,
            max_document_bytes: 16 << 20,
            max_pages: 50,
            fetch_concurrency: 8,
            preserve_workers: default_workers(),
            sources: Vec::new(),
        }
    }

    /// Read and check a pipeline file. `vars` override the file's `[vars]`.
    pub fn load(path: &Path, vars: &BTreeMap<String, String>) -> Result<Plan, PlanError> {
        let shown = path.display().to_string();
        let fail = |p: String| PlanError {
            file: shown.clone(),
            problems: vec![p],
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if meta.len() > 1 << 20 {
            return Err(fail("pipeline file is over 1 MiB".into()));
        }
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut plan = Plan::parse(&text, base, vars).map_err(|mut e| {
            e.file = shown.clone();
            e
        })?;
        plan.file = Some(path.to_path_buf());
        Ok(plan)
    }

    /// Check pipeline text; relative paths resolve against `base`.
    pub fn parse(
        text: &str,
        base: &Path,
        vars: &BTreeMap<String, String>,
    ) -> Result<Plan, PlanError> {
        let raw: RawPipeline = toml::from_str(text).map_err(|e| PlanError {
            file: String::new(),
            problems: vec![e.to_string().trim().replace('\n', " ")],
        })?;
        check(raw, base, vars)
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

/// Raw → checked.
fn check(
    raw: RawPipeline,
    base: &Path,
    overrides: &BTreeMap<String, String>,
) -> Result<Plan, PlanError> {
    let mut problems = Vec::new();
    let mut vars = raw.vars.clone();
    vars.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    let text = |key: &str, value: &str, problems: &mut Vec<String>| -> String {
        match expand(value, &vars) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{key}: {e}"));
                value.to_string()
            }
        }
    };

    if raw.version != VERSION {
        problems.push(format!(
            "version: {} is not a known version (this build reads {VERSION})",
            raw.version
        ));
    }
    let name_ok = !raw.name.is_empty()
        && raw.name.len() <= 64
        && raw
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !name_ok {
        problems.push(format!(
            "name: {:?} must be 1-64 letters, digits, '-', '_' or '.'",
            raw.name
        ));
    }
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            clean(p)
        } else {
            clean(&base.join(p))
        }
    };
    let must_exist = |key: &str, p: &Path, problems: &mut Vec<String>| {
        if !p.exists() {
            problems.push(format!("{key}: {} does not exist", p.display()));
        }
    };
    let incidents = raw.incidents.as_deref().map(|p| {
        let p = resolve(&text("incidents", p, &mut problems));
        must_exist("incidents", &p, &mut problems);
        p
    });

    let l = &raw.limits;
    let mut fetch = FetchOptions::default();
    let secs = |key: &str, v: Option<f64>, default: Duration, problems: &mut Vec<String>| match v {
        None => default,
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Duration::from_secs_f64(s),
        Some(s) => {
            problems.push(format!(
                "limits.{key}: {s} is not between 0 and 86400 seconds"
            ));
            default
        }
    };
    fetch.connect_timeout = secs(
        "connect_timeout_s",
        l.connect_timeout_s,
        fetch.connect_timeout,
        &mut problems,
    );
    fetch.read_timeout = secs(
        "read_timeout_s",
        l.read_timeout_s,
        fetch.read_timeout,
        &mut problems,
    );
    fetch.total_timeout = secs(
        "total_timeout_s",
        l.total_timeout_s,
        fetch.total_timeout,
        &mut problems,
    );
    if let Some(r) = l.retries {
        if r > 10 {
            problems.push(format!("limits.retries: {r} is over 10"));
        }
        fetch.retries = r.min(10);
    }
    if let Some(r) = l.max_redirects {
        if r > 30 {
            problems.push(format!("limits.max_redirects: {r} is over 30"));
        }
        fetch.max_redirects = r.min(30);
    }
    if let Some(ms) = l.per_host_interval_ms {
        fetch.per_host_interval = Duration::from_millis(ms.min(3_600_000));
    }
    let mib =
        |key: &str, v: Option<u64>, default: u64, max: u64, problems: &mut Vec<String>| match v {
            None => default,
            Some(0) => {
                problems.push(format!("limits.{key}: must be at least 1"));
                default
            }
            Some(m) if m > max => {
                problems.push(format!("limits.{key}: {m} is over {max}"));
                default
            }
            Some(m) => m << 20,
        };
    let max_file_bytes = mib(
        "max_file_mb",
        l.max_file_mb,
        8 << 30,
        64 << 10,
        &mut problems,
    );
    let max_document_bytes = mib(
        "max_document_mb",
        l.max_document_mb,
        16 << 20,
        1 << 10,
        &mut problems,
    );
    let max_pages = match l.max_pages {
        None => 50,
        Some(n @ 1..=100_000) => n,
        Some(n) => {
            problems.push(format!("limits.max_pages: {n} is not between 1 and 100000"));
            50
        }
    };

    let c = &raw.concurrency;
    let fetch_concurrency = match c.fetch {
        None => 8,
        Some(n @ 1..=256) => n,
        Some(n) => {
            problems.push(format!("concurrency.fetch: {n} is not between 1 and 256"));
            8
        }
    };
    let preserve_workers = match c.preserve {
        None => default_workers(),
        Some(n @ 1..=64) => n,
        Some(n) => {
            problems.push(format!("concurrency.preserve: {n} is not between 1 and 64"));
            default_workers()
        }
    };

    let n = &raw.network;
    let allow: Vec<String> = n
        .allow
        .iter()
        .enumerate()
        .map(|(i, a)| text(&format!("network.allow[{i}]"), a, &mut problems))
        .collect();
    let allow_refs: Vec<&str> = allow.iter().map(String::as_str).collect();
    match Guard::new(&allow_refs) {
        Ok(g) => fetch.guard = g,
        Err(e) => problems.push(format!("network.allow: {e}")),
    }
    if let Some(p) = &n.proxy {
        let p = text("network.proxy", p, &mut problems);
        match url::Url::parse(&p) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => {
                fetch.proxy = Some(p)
            }
            _ => problems.push(format!(
                "network.proxy: {p:?} is not an http(s) or socks5 URL"
            )),
        }
    }
    if let Some(ua) = &n.user_agent {
        if ua.is_empty() || ua.len() > 256 || ua.chars().any(char::is_control) {
            problems.push("network.user_agent: must be 1-256 printable characters".into());
        } else {
            fetch.user_agent = ua.clone();
        }
    }

    let mut sources = Vec::new();
    if raw.sources.is_empty() {
        problems.push("sources: a pipeline needs at least one [[sources]] entry".into());
    }
    for (i, s) in raw.sources.iter().enumerate() {
        let key = |field: &str| format!("sources[{i}].{field}");
        let web = |field: &str, u: &str, problems: &mut Vec<String>| -> String {
            let u = text(&key(field), u, problems);
            if let Err(e) = web_url(&u) {
                problems.push(format!("{}: {e}", key(field)));
            }
            u
        };
        let spec = match s {
            RawSource::Folder { path, paths } => {
                let all: Vec<PathBuf> = path
                    .iter()
                    .chain(paths.iter())
                    .map(|p| resolve(&text(&key("path"), p, &mut problems)))
                    .collect();
                if all.is_empty() {
                    problems.push(format!(
                        "{}: a folder source needs path or paths",
                        key("path")
                    ));
                }
                for p in &all {
                    must_exist(&key("path"), p, &mut problems);
                }
                SourceSpec::Folder { paths: all }
            }
            RawSource::Manifest { path } => {
                let p = resolve(&text(&key("path"), path, &mut problems));
                must_exist(&key("path"), &p, &mut problems);
                SourceSpec::Manifest { path: p }
            }
            RawSource::Urls { urls, file } => {
                let mut all: Vec<String> = urls
                    .iter()
                    .enumerate()
                    .map(|(j, u)| web(&format!("urls[{j}]"), u, &mut problems))
                    .collect();
                if let Some(f) = file {
                    let p = resolve(&text(&key("file"), f, &mut problems));
                    match read_url_list(&p) {
                        Ok(list) => {
                            for (line, u) in list {
                                match web_url(&u) {
                                    Ok(()) => all.push(u),
                                    Err(e) => {
                                        problems.push(format!("{} line {line}: {e}", key("file")))
                                    }
                                }
                            }
                        }
                        Err(e) => problems.push(format!("{}: {e}", key("file"))),
                    }
                }
                if all.is_empty() {
                    problems.push(format!("{}: a urls source needs urls or file", key("urls")));
                }
                SourceSpec::Urls { urls: all }
            }
            RawSource::Telegram { export } => {
                let p = resolve(&text(&key("export"), export, &mut problems));
                must_exist(&key("export"), &p, &mut problems);
                SourceSpec::Telegram { export: p }
            }
            RawSource::Mastodon {
                instance,
                account,
                hashtag,
                max_pages,
            } => {
                let instance = web("instance", instance, &mut problems)
                    .trim_end_matches('/')
                    .to_string();
                let timeline = match (account, hashtag) {
                    (Some(a), None) => Timeline::Account(
                        text(&key("account"), a, &mut problems)
                            .trim_start_matches('@')
                            .to_string(),
                    ),
                    (None, Some(h)) => Timeline::Hashtag(
                        text(&key("hashtag"), h, &mut problems)
                            .trim_start_matches('#')
                            .to_string(),
                    ),
                    _ => {
                        problems.push(format!(
                            "sources[{i}]: a mastodon source needs exactly one of account and hashtag"
                        ));
                        Timeline::Hashtag(String::new())
                    }
                };
                SourceSpec::Mastodon {
                    instance,
                    timeline,
                    max_pages: *max_pages,
                }
            }
            RawSource::Feed { url } => SourceSpec::Feed {
                url: web("url", url, &mut problems),
            },
        };
        sources.push(spec);
    }

    if !problems.is_empty() {
        return Err(PlanError {
            file: String::new(),
            problems,
        });
    }
    Ok(Plan {
        name: raw.name,
        file: None,
        collector: raw.collector,
        tags: raw.tags,
        incidents,
        fetch,
        max_file_bytes,
        max_document_bytes,
        max_pages,
        fetch_concurrency,
        preserve_workers,
        sources,
    })
}

/// `a/b/../c` as `a/c`, without touching the file system (a path shown in
/// origins reads as the operator would write it).
fn clean(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            // Above the root is the root.
            Component::ParentDir if out.has_root() && out.parent().is_none() => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// `${name}` replaced by its value; an unknown name is an error.
fn expand(s: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
        let name = &after[..end];
        let value = vars.get(name).ok_or_else(|| {
            format!("unknown variable ${{{name}}} (set it in [vars] or with --var)")
        })?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An http(s) URL with a host.
pub fn web_url(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("{u:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "{u:?}: scheme {} is not http or https",
            parsed.scheme()
        ));
    }
    if parsed.host().is_none() {
        return Err(format!("{u:?} has no host"));
    }
    Ok(())
}

/// URLs one per line; blank lines and `#` comments skipped.
fn read_url_list(p: &Path) -> Result<Vec<(usize, String)>, String> {
    let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    if meta.len() > 64 << 20 {
        return Err(format!("{} is over 64 MiB", p.display()));
    }
    let text =
        std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Plan, PlanError> {
        let dir = std::env::temp_dir();
        Plan::parse(text, &dir, &BTreeMap::new())
    }

    #[test]
    fn a_full_pipeline_is_checked_into_a_plan() {
        let plan = parse(
            r##"
version = 1
name = "job-1"
collector = "ana"
tags = ["a", "b"]
[vars]
base = "http://127.0.0.1:9"
[limits]
max_file_mb = 2
retries = 1
per_host_interval_ms = 50
[concurrency]
fetch = 3
preserve = 1
[network]
allow = ["127.0.0.1/32"]
[[sources]]
kind = "urls"
urls = ["${base}/a.jpg", "https://example.org/b.png"]
[[sources]]
kind = "feed"
url = "${base}/feed.xml"
[[sources]]
kind = "mastodon"
instance = "${base}/"
hashtag = "#kabul"
"##,
        )
        .expect("valid");
        assert_eq!(plan.name, "job-1");
        assert_eq!(plan.max_file_bytes, 2 << 20);
        assert_eq!((plan.fetch_concurrency, plan.preserve_workers), (3, 1));
        assert_eq!(plan.fetch.retries, 1);
        assert_eq!(plan.fetch.per_host_interval, Duration::from_millis(50));
        assert_eq!(
            plan.sources,
            vec![
                SourceSpec::Urls {
                    urls: vec![
                        "http://127.0.0.1:9/a.jpg".into(),
                        "https://example.org/b.png".into()
                    ]
                },
                SourceSpec::Feed {
                    url: "http://127.0.0.1:9/feed.xml".into()
                },
                SourceSpec::Mastodon {
                    instance: "http://127.0.0.1:9".into(),
                    timeline: Timeline::Hashtag("kabul".into()),
                    max_pages: None
                }
            ]
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let e = parse("version = 1\nname = \"x\"\nconcurency = 3\n").expect_err("typo");
        assert!(e.problems[0].contains("concurency"), "{e}");
        let e = parse("version = 1\nname = \"x\"\n[[sources]]\nkind = \"feed\"\nurl = \"http://a/\"\nurll = 1\n")
            .expect_err("typo in a source");
        assert!(e.problems[0].contains("urll"), "{e}");
        let e =
            parse("version = 1\nname = \"x\"\n[[sources]]\nkind = \"ftp\"\n").expect_err("kind");
        assert!(e.problems[0].contains("ftp"), "{e}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = parse(
            r#"
version = 2
name = "bad name!"
[limits]
max_file_mb = 0
[concurrency]
fetch = 1000
[network]
allow = ["not-a-range"]
[[sources]]
kind = "urls"
urls = ["ftp://example.org/x", "${nope}/y"]
[[sources]]
kind = "manifest"
path = "/definitely/not/here.jsonl"
[[sources]]
kind = "mastodon"
instance = "https://example.org"
"#,
        )
        .expect_err("invalid");
        let all = e.problems.join("\n");
        for want in [
            "version: 2",
            "name:",
            "limits.max_file_mb",
            "concurrency.fetch",
            "network.allow",
            "sources[0].urls[0]",
            "unknown variable ${nope}",
            "sources[1].path",
            "exactly one of account and hashtag",
        ] {
            assert!(all.contains(want), "missing {want:?} in:\n{all}");
        }
    }

    #[test]
    fn paths_are_cleaned_lexically() {
        assert_eq!(
            clean(Path::new("pipelines/../fixtures/x")),
            PathBuf::from("fixtures/x")
        );
        assert_eq!(clean(Path::new("../a/./b")), PathBuf::from("../a/b"));
        assert_eq!(clean(Path::new("/a/../../b")), PathBuf::from("/b"));
        assert_eq!(clean(Path::new("a/..")), PathBuf::from("."));
    }

    #[test]
    fn variables_expand_and_can_be_overridden() {
        let mut vars = BTreeMap::new();
        vars.insert("base".to_string(), "http://10.1.1.1".to_string());
        assert_eq!(
            expand("${base}/x", &vars).as_deref(),
            Ok("http://10.1.1.1/x")
        );
        assert_eq!(expand("no vars", &vars).as_deref(), Ok("no vars"));
        assert!(expand("${base", &vars).is_err());
        assert!(expand("${other}", &vars).is_err());
        let plan = Plan::parse(
            "version = 1\nname = \"v\"\n[vars]\nbase = \"http://a\"\n[[sources]]\nkind = \"feed\"\nurl = \"${base}/f\"\n",
            Path::new("/"),
            &vars,
        )
        .expect("valid");
        assert_eq!(
            plan.sources,
            vec![SourceSpec::Feed {
                url: "http://10.1.1.1/f".into()
            }]
        );
    }
}
