//! [`MastodonSource`]: an account's or a hashtag's statuses from a
//! Mastodon-compatible REST API (no login).
//!
//! - account: `GET {instance}/api/v1/accounts/lookup?acct=NAME` for the
//!   id, then `GET /api/v1/accounts/{id}/statuses?limit=40`;
//! - hashtag: `GET /api/v1/timelines/tag/{tag}?limit=40`;
//!
//! with `&only_media=true` when asked. Pages follow the `Link` header's
//! `rel="next"` until there is none, a page is empty, or the page limit
//! (the smaller of [`MastodonSource::max_pages`] and
//! [`Context::max_pages`]) is reached. A next link to another host or
//! scheme stops the source with an `off-host-link` error.
//!
//! A status becomes a [`Post`] describing the status itself. A boost is
//! read as a Telegram forward is: the boosted status's text, media and time,
//! the booster as `author`, the original author as `forwarded_from`, and the
//! boost's own id as the post id. Statuses without image, video or gifv
//! attachments are skipped.

use serde_json::Value;
use url::Url;

use super::{
    Context, Emit, Source, emit, html_to_text_and_links, http_url, join_caption, source_error,
};
use crate::{MediaRef, Post, SourceError};

/// Statuses asked for per page (Mastodon's maximum).
pub const PAGE_LIMIT: usize = 40;

/// Which statuses to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timeline {
    /// An account: `user` (on the instance) or `user@host`.
    Account(String),
    /// A hashtag, with or without its `#`.
    Hashtag(String),
}

/// A timeline of a Mastodon-compatible server.
#[derive(Debug, Clone)]
pub struct MastodonSource {
    /// `https://host` (a path, if any, is ignored).
    pub instance: String,
    pub timeline: Timeline,
    /// At most this many pages (and never more than [`Context::max_pages`]).
    pub max_pages: Option<usize>,
    /// Ask the server for statuses with media only.
    pub only_media: bool,
}

impl MastodonSource {
    fn origin(&self) -> String {
        match &self.timeline {
            Timeline::Account(a) => format!("mastodon {} account {a}", self.instance),
            Timeline::Hashtag(t) => format!("mastodon {} hashtag {t}", self.instance),
        }
    }

    /// The instance's base URL.
    fn base(&self) -> Result<Url, SourceError> {
        let bad = |reason: String| source_error(self.origin(), "bad-instance", reason);
        let url = Url::parse(&self.instance)
            .map_err(|e| bad(format!("instance {:?} is not a URL: {e}", self.instance)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(bad(format!(
                "instance {:?} is not an http or https URL",
                self.instance
            )));
        }
        let mut base = url;
        base.set_path("/");
        base.set_query(None);
        base.set_fragment(None);
        Ok(base)
    }

    /// The URL of the lookup for an account name.
    pub fn lookup_url(base: &Url, acct: &str) -> Url {
        let mut url = base.clone();
        url.set_path("/api/v1/accounts/lookup");
        url.query_pairs_mut()
            .append_pair("acct", acct.trim_start_matches('@'));
        url
    }

    /// The first page of statuses of an account id, or of a hashtag.
    pub fn first_page_url(
        base: &Url,
        timeline: &Timeline,
        account_id: Option<&str>,
        only_media: bool,
    ) -> Url {
        let mut url = base.clone();
        {
            let mut segments = url.path_segments_mut().expect("http URLs have paths");
            segments.clear();
            match timeline {
                Timeline::Account(_) => {
                    segments.extend([
                        "api",
                        "v1",
                        "accounts",
                        account_id.unwrap_or(""),
                        "statuses",
                    ]);
                }
                Timeline::Hashtag(tag) => {
                    segments.extend(["api", "v1", "timelines", "tag", tag.trim_start_matches('#')]);
                }
            }
        }
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("limit", &PAGE_LIMIT.to_string());
            if only_media {
                query.append_pair("only_media", "true");
            }
        }
        url
    }
}

impl Source for MastodonSource {
    async fn run(&self, cx: &Context, out: &Emit) {
        let origin = self.origin();
        let Some(fetcher) = super::fetcher_or_error(cx, &origin, out).await else {
            return;
        };
        let base = match self.base() {
            Ok(b) => b,
            Err(e) => {
                emit(out, Err(e)).await;
                return;
            }
        };
        let host = host_label(&base);
        let account_id = match &self.timeline {
            Timeline::Hashtag(_) => None,
            Timeline::Account(acct) => {
                let url = Self::lookup_url(&base, acct);
                let id = match fetcher.document(url.as_str(), cx.max_document_bytes).await {
                    Ok((_, body)) => parse_lookup(&body, url.as_str()),
                    Err(e) => Err(source_error(
                        format!("mastodon {url}"),
                        e.code(),
                        e.to_string(),
                    )),
                };
                match id {
                    Ok(id) => Some(id),
                    Err(e) => {
                        emit(out, Err(e)).await;
                        return;
                    }
                }
            }
        };
        let max_pages = self.max_pages.unwrap_or(usize::MAX).min(cx.max_pages);
        let mut next = Some(Self::first_page_url(
            &base,
            &self.timeline,
            account_id.as_deref(),
            self.only_media,
        ));
        let mut pages = 0;
        let mut seen: Vec<Url> = Vec::new();
        while let Some(url) = next.take() {
            if pages >= max_pages {
                tracing::info!("{origin}: stopped after {pages} pages (the page limit)");
                break;
            }
            if seen.contains(&url) {
                tracing::warn!("{origin}: the next page {url} was read before; stopped");
                break;
            }
            seen.push(url.clone());
            pages += 1;
            let (fetched, body) = match fetcher.document(url.as_str(), cx.max_document_bytes).await
            {
                Ok(r) => r,
                Err(e) => {
                    emit(
                        out,
                        Err(source_error(
                            format!("mastodon {url}"),
                            e.code(),
                            e.to_string(),
                        )),
                    )
                    .await;
                    return;
                }
            };
            let items = match parse_page(&body, url.as_str(), &host) {
                Ok(items) => items,
                Err(e) => {
                    emit(out, Err(e)).await;
                    return;
                }
            };
            if items.statuses == 0 {
                break;
            }
            for item in items.items {
                if !emit(out, item).await {
                    return;
                }
            }
            let Some(link) = fetched.header("link").and_then(next_link) else {
                break;
            };
            let page_url = Url::parse(&fetched.final_url).unwrap_or(url);
            match page_url.join(&link) {
                Ok(n)
                    if n.scheme() == base.scheme()
                        && n.host() == base.host()
                        && n.port() == base.port() =>
                {
                    next = Some(n);
                }
                Ok(n) => {
                    let err = source_error(
                        format!("mastodon {page_url}"),
                        "off-host-link",
                        format!("next page {n} is not on {host}"),
                    );
                    emit(out, Err(err)).await;
                    return;
                }
                Err(e) => {
                    let err = source_error(
                        format!("mastodon {page_url}"),
                        "bad-link",
                        format!("next page {link:?} is not a URL: {e}"),
                    );
                    emit(out, Err(err)).await;
                    return;
                }
            }
        }
    }
}

/// `host` or `host:port` of a URL, as status ids are prefixed.
fn host_label(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// The account id in an account lookup answer.
pub fn parse_lookup(body: &[u8], url: &str) -> Result<String, SourceError> {
    let bad = |reason: String| source_error(format!("mastodon {url}"), "bad-page", reason);
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    match v.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(bad("the account lookup has no id".into())),
    }
}

/// A page of statuses: the posts and per-status errors, and how many
/// statuses it had (0 ends the timeline).
#[derive(Debug)]
pub struct Page {
    pub items: Vec<Result<Post, SourceError>>,
    pub statuses: usize,
}

/// Parse a page of statuses fetched from `url`; `host` prefixes post ids.
pub fn parse_page(body: &[u8], url: &str, host: &str) -> Result<Page, SourceError> {
    let bad = |reason: String| source_error(format!("mastodon {url}"), "bad-page", reason);
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let Value::Array(statuses) = v else {
        return Err(bad("not an array of statuses".into()));
    };
    let items = statuses
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            parse_status(s, host).map(|r| {
                r.map_err(|reason| {
                    source_error(
                        format!("mastodon {url} status index {i}"),
                        "bad-status",
                        reason,
                    )
                })
            })
        })
        .collect();
    Ok(Page {
        items,
        statuses: statuses.len(),
    })
}

/// One status as a post: `None` when it has no image or video, `Err` with
/// the reason when it lacks what a status must have.
pub fn parse_status(status: &Value, host: &str) -> Option<Result<Post, String>> {
    let Value::Object(_) = status else {
        return Some(Err("status is not a JSON object".into()));
    };
    let (original, booster) = match status.get("reblog") {
        Some(r @ Value::Object(_)) => {
            let booster = match acct(status) {
                Ok(a) => a,
                Err(e) => return Some(Err(format!("boost: {e}"))),
            };
            (r, Some(booster))
        }
        None | Some(Value::Null) => (status, None),
        Some(_) => return Some(Err("reblog is not a status".into())),
    };
    let Some(id) = original
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    else {
        return Some(Err("status has no id".into()));
    };
    let original_author = match acct(original) {
        Ok(a) => a,
        Err(e) => return Some(Err(e)),
    };
    // A boost is seen in the booster's timeline: like a Telegram forward,
    // the booster is the author, the original's author is who it was
    // forwarded from, and the boost's own id is the post id (the original
    // and a boost of it are two sightings).
    let (author, forwarded_from, post_id) = match &booster {
        Some(b) => {
            let boost_id = status
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or(id);
            (b.clone(), Some(original_author), boost_id)
        }
        None => (original_author, None, id),
    };
    let Some(Value::Array(attachments)) = original.get("media_attachments") else {
        return Some(Err(format!("status {id} has no media_attachments list")));
    };
    let media: Vec<MediaRef> = attachments
        .iter()
        .filter(|a| {
            matches!(
                a.get("type").and_then(Value::as_str),
                Some("image" | "video" | "gifv")
            )
        })
        .filter_map(|a| {
            let url = a.get("url").and_then(Value::as_str).and_then(http_url);
            url.or_else(|| {
                a.get("remote_url")
                    .and_then(Value::as_str)
                    .and_then(http_url)
            })
        })
        .fold(Vec::new(), |mut v, u| {
            if !v.contains(&u) {
                v.push(u);
            }
            v
        })
        .into_iter()
        .map(MediaRef::Url)
        .collect();
    if media.is_empty() {
        return None;
    }
    let str_field = |k: &str| {
        original
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (content, links) = html_to_text_and_links(str_field("content").unwrap_or(""));
    let spoiler = str_field("spoiler_text").map(str::to_string);
    Some(Ok(Post {
        origin: str_field("url")
            .or(str_field("uri"))
            .map_or_else(|| format!("mastodon {host} status {id}"), str::to_string),
        platform: Some("mastodon".into()),
        post_id: Some(format!("{host}/{post_id}")),
        url: str_field("url")
            .and_then(http_url)
            .or_else(|| str_field("uri").and_then(http_url)),
        author: Some(author),
        caption: join_caption(spoiler, Some(content)),
        posted_at: str_field("created_at").map(str::to_string),
        lang: str_field("language").map(str::to_string),
        forwarded_from,
        links,
        media,
    }))
}

/// A status's `account.acct`.
fn acct(status: &Value) -> Result<String, String> {
    status
        .get("account")
        .and_then(|a| a.get("acct"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| "status has no account.acct".to_string())
}

/// The target of the first `rel="next"` link in a `Link` header value
/// (RFC 8288): several comma-separated links, parameters in any order,
/// quoted or bare values, several relation types in one `rel`.
pub fn next_link(header: &str) -> Option<String> {
    parse_link_header(header)
        .into_iter()
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
        .map(|(target, _)| target)
}

/// Every link of a `Link` header: its target and relation types.
/// Malformed parts are skipped.
pub fn parse_link_header(header: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let b = header.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t') {
            *i += 1;
        }
    };
    // Skip to just past the next ',' outside quotes and angle brackets.
    let skip_link = |i: &mut usize| {
        let mut quoted = false;
        while *i < b.len() {
            match b[*i] {
                b'"' => quoted = !quoted,
                b'\\' if quoted => *i += 1,
                b',' if !quoted => {
                    *i += 1;
                    return;
                }
                _ => {}
            }
            *i += 1;
        }
    };
    while i < b.len() {
        skip_ws(&mut i);
        if i < b.len() && b[i] == b',' {
            i += 1;
            continue;
        }
        if i >= b.len() {
            break;
        }
        if b[i] != b'<' {
            skip_link(&mut i);
            continue;
        }
        let Some(end) = header[i + 1..].find('>').map(|e| e + i + 1) else {
            break;
        };
        let target = header[i + 1..end].trim().to_string();
        i = end + 1;
        let mut rels = Vec::new();
        loop {
            skip_ws(&mut i);
            if i >= b.len() {
                break;
            }
            if b[i] == b',' {
                i += 1;
                break;
            }
            if b[i] != b';' {
                skip_link(&mut i);
                break;
            }
            i += 1;
            skip_ws(&mut i);
            let name_start = i;
            while i < b.len() && !matches!(b[i], b'=' | b';' | b',' | b' ' | b'\t') {
                i += 1;
            }
            let name = header[name_start..i].to_ascii_lowercase();
            skip_ws(&mut i);
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                skip_ws(&mut i);
                if i < b.len() && b[i] == b'"' {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        if b[i] == b'\\' && i + 1 < b.len() {
                            i += 1;
                        }
                        // Push whole characters: values may be UTF-8.
                        let ch = header[i..].chars().next().unwrap_or('\u{fffd}');
                        value.push(ch);
                        i += ch.len_utf8();
                    }
                    i += 1;
                } else {
                    let start = i;
                    while i < b.len() && !matches!(b[i], b';' | b',' | b' ' | b'\t') {
                        i += 1;
                    }
                    value.push_str(&header[start..i]);
                }
            }
            // Only the first rel counts (RFC 8288 section 3.3).
            if name == "rel" && rels.is_empty() {
                rels = value.split_ascii_whitespace().map(str::to_string).collect();
            }
        }
        links.push((target, rels));
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn link_header_forms() {
        let h = r#"<https://h/api/v1/accounts/1/statuses?max_id=9>; rel="next", <https://h/api/v1/accounts/1/statuses?min_id=20>; rel="prev""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://h/api/v1/accounts/1/statuses?max_id=9")
        );
        let h = r#"<https://h/p?min_id=1>; rel="prev", <https://h/p?max_id=2>; title="a, b; c"; rel=next"#;
        assert_eq!(next_link(h).as_deref(), Some("https://h/p?max_id=2"));
        let h = r#"<https://h/x,y>; rel="last next"; type="application/json""#;
        assert_eq!(next_link(h).as_deref(), Some("https://h/x,y"));
        assert_eq!(
            next_link(r#"<https://h/p>; REL="Next""#).as_deref(),
            Some("https://h/p")
        );
        assert_eq!(next_link(r#"<https://h/p>; rel="prev""#), None);
        assert_eq!(
            next_link(r#"garbage, <https://h/q>; rel=next"#).as_deref(),
            Some("https://h/q")
        );
        assert_eq!(next_link(r#"<https://h/p; rel=next"#), None);
        assert_eq!(next_link(r#"<https://h/a>; rel="prev"; rel="next""#), None);
        assert_eq!(
            next_link(r#"<https://h/a>; title="\"é\""; rel="next""#).as_deref(),
            Some("https://h/a")
        );
        assert_eq!(next_link(""), None);
        assert_eq!(parse_link_header(r#"<a>;rel=next,<b>;rel="prev""#).len(), 2);
    }

    #[test]
    fn urls() {
        let base = Url::parse("https://social.example/").unwrap();
        assert_eq!(
            MastodonSource::lookup_url(&base, "@user@other.example").as_str(),
            "https://social.example/api/v1/accounts/lookup?acct=user%40other.example"
        );
        let tag = Timeline::Hashtag("#کابل/x?y".into());
        assert_eq!(
            MastodonSource::first_page_url(&base, &tag, None, true).as_str(),
            "https://social.example/api/v1/timelines/tag/%DA%A9%D8%A7%D8%A8%D9%84%2Fx%3Fy?limit=40&only_media=true"
        );
        let acct = Timeline::Account("user".into());
        assert_eq!(
            MastodonSource::first_page_url(&base, &acct, Some("109"), false).as_str(),
            "https://social.example/api/v1/accounts/109/statuses?limit=40"
        );
    }

    #[test]
    fn status_rules() {
        let image = json!([{"type": "image", "url": null, "remote_url": "https://r.example/a.jpg"},
            {"type": "audio", "url": "https://h/a.mp3"}, {"type": "video", "url": "javascript:x"}]);
        let status = json!({"id": "1", "account": {"acct": "a"}, "media_attachments": image,
            "content": "", "spoiler_text": "cw", "created_at": "2024-01-01T00:00:00.000Z"});
        let post = parse_status(&status, "h").unwrap().unwrap();
        assert_eq!(
            post.media,
            [MediaRef::Url("https://r.example/a.jpg".into())]
        );
        assert_eq!(post.caption.as_deref(), Some("cw"));
        assert_eq!(post.origin, "mastodon h status 1");
        assert_eq!(post.url, None);

        let no_media = json!({"id": "2", "account": {"acct": "a"}, "media_attachments": []});
        assert!(parse_status(&no_media, "h").is_none());
        let no_id = json!({"account": {"acct": "a"}, "media_attachments": image});
        assert_eq!(
            parse_status(&no_id, "h").unwrap().unwrap_err(),
            "status has no id"
        );
        let boost_no_acct = json!({"id": "3", "reblog": {"id": "1"}});
        assert_eq!(
            parse_status(&boost_no_acct, "h").unwrap().unwrap_err(),
            "boost: status has no account.acct"
        );
        assert_eq!(
            parse_status(&json!(5), "h").unwrap().unwrap_err(),
            "status is not a JSON object"
        );
    }

    #[test]
    fn pages_and_lookups() {
        assert_eq!(
            parse_page(b"<html>", "u", "h").unwrap_err().code,
            "bad-page"
        );
        assert_eq!(
            parse_page(b"{}", "u", "h").unwrap_err().reason,
            "not an array of statuses"
        );
        assert_eq!(parse_page(b"[]", "u", "h").unwrap().statuses, 0);
        assert_eq!(parse_lookup(br#"{"id":"77"}"#, "u").unwrap(), "77");
        assert_eq!(
            parse_lookup(br#"{"error":"Record not found"}"#, "u")
                .unwrap_err()
                .reason,
            "the account lookup has no id"
        );
    }
}
