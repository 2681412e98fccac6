//! [`FeedSource`]: an RSS, Atom or JSON Feed document over HTTP, read
//! with feed-rs.
//!
//! Each entry with media becomes a [`Post`] (platform `rss` for every
//! feed format): the entry's first alternate link, id, first author, title
//! and summary (or content) as plain text, publication (or update) time as
//! RFC 3339, and its media: Atom `rel="enclosure"` links, RSS enclosures
//! and Media RSS `media:content`, http(s) only, without duplicates, of
//! image or video type or no stated type (audio and documents are
//! skipped). Entries without media are skipped.

use chrono::SecondsFormat;
use feed_rs::model::{Entry, Feed, Text};

use super::{
    Context, Emit, Source, emit, html_to_text_and_links, http_url, join_caption, source_error,
};
use crate::{MediaRef, Post, SourceError};

/// A feed at an http(s) URL.
#[derive(Debug, Clone)]
pub struct FeedSource {
    pub url: String,
}

impl Source for FeedSource {
    async fn run(&self, cx: &Context, out: &Emit) {
        let origin = format!("feed {}", self.url);
        let Some(fetcher) = super::fetcher_or_error(cx, &origin, out).await else {
            return;
        };
        let (fetched, body) = match fetcher.document(&self.url, cx.max_document_bytes).await {
            Ok(r) => r,
            Err(e) => {
                emit(out, Err(source_error(origin, e.code(), e.to_string()))).await;
                return;
            }
        };
        // Relative links resolve against where the feed really came from.
        match parse_feed(&body, &fetched.final_url) {
            Ok(posts) => {
                for post in posts {
                    if !emit(out, Ok(post)).await {
                        return;
                    }
                }
            }
            Err(e) => {
                emit(out, Err(e)).await;
            }
        }
    }
}

/// Parse a feed document fetched from `feed_url` (relative URLs resolve
/// against it) into posts, in feed order. A document feed-rs cannot read
/// is one `bad-feed` error; a feed without entries gives no posts.
pub fn parse_feed(bytes: &[u8], feed_url: &str) -> Result<Vec<Post>, SourceError> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url))
        .sanitize_content(false)
        // Entries without an id keep none: no invented ids.
        .id_generator(|_, _, _| String::new())
        .build();
    let feed = parser.parse(bytes).map_err(|e| {
        source_error(
            format!("feed {feed_url}"),
            "bad-feed",
            format!("cannot read the feed: {e}"),
        )
    })?;
    Ok(feed
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| entry_post(&feed, entry, feed_url, i + 1))
        .collect())
}

/// One entry as a post; `None` when it has no media.
fn entry_post(feed: &Feed, entry: &Entry, feed_url: &str, n: usize) -> Option<Post> {
    let media = entry_media(entry);
    if media.is_empty() {
        return None;
    }
    let url = entry
        .links
        .iter()
        .filter(|l| {
            l.rel
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
        })
        .filter(|l| {
            l.media_type
                .as_deref()
                .is_none_or(|t| t.to_ascii_lowercase().contains("html"))
        })
        .find_map(|l| http_url(&l.href));
    let title = entry.title.as_ref().map(|t| text_of(t).0);
    let (body, links) = match (&entry.summary, &entry.content) {
        (Some(summary), _) if !summary.content.trim().is_empty() => text_of(summary),
        (_, Some(content)) => {
            let html = is_html(content.content_type.subty().as_str());
            let body = content.body.as_deref().unwrap_or("");
            if html {
                html_to_text_and_links(body)
            } else {
                (body.trim().to_string(), Vec::new())
            }
        }
        _ => (String::new(), Vec::new()),
    };
    let author =
        entry
            .authors
            .first()
            .or(feed.authors.first())
            .map(|p| match (&p.email, p.name.as_str()) {
                // RSS <author> gives an e-mail ("editor@example.org (Name)")
                // and feed-rs names the person after the element.
                (Some(email), "author") => email.clone(),
                _ => p.name.clone(),
            });
    Some(Post {
        origin: format!("feed {feed_url} entry {n}"),
        platform: Some("rss".into()),
        post_id: Some(entry.id.clone()).filter(|id| !id.is_empty()),
        url,
        author,
        caption: join_caption(title, Some(body)),
        posted_at: entry
            .published
            .or(entry.updated)
            .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        lang: entry.language.clone().or_else(|| feed.language.clone()),
        forwarded_from: None,
        links,
        media,
    })
}

fn is_html(subtype: &str) -> bool {
    subtype.eq_ignore_ascii_case("html") || subtype.eq_ignore_ascii_case("xhtml+xml")
}

/// A feed text as plain text, with the links of an HTML one.
fn text_of(t: &Text) -> (String, Vec<String>) {
    if is_html(t.content_type.subty().as_str()) {
        html_to_text_and_links(&t.content)
    } else {
        (t.content.trim().to_string(), Vec::new())
    }
}

/// Whether a stated media type may be an image or a video.
fn visual_type(media_type: Option<&str>) -> bool {
    let Some(t) = media_type else { return true };
    let t = t.trim().to_ascii_lowercase();
    t.is_empty()
        || t.starts_with("image/")
        || t.starts_with("video/")
        || t.starts_with("application/octet-stream")
}

fn entry_media(entry: &Entry) -> Vec<MediaRef> {
    let mut urls: Vec<String> = Vec::new();
    let mut add = |url: &str, media_type: Option<&str>| {
        if visual_type(media_type)
            && let Some(url) = http_url(url)
            && !urls.contains(&url)
        {
            urls.push(url);
        }
    };
    for link in &entry.links {
        // Atom enclosures; JSON Feed attachments come as typed links
        // without a relation.
        let enclosure = match link.rel.as_deref() {
            Some(rel) => rel.eq_ignore_ascii_case("enclosure"),
            None => link.media_type.is_some(),
        };
        if enclosure {
            add(&link.href, link.media_type.as_deref());
        }
    }
    for object in &entry.media {
        for content in &object.content {
            if let Some(url) = &content.url {
                let media_type = content.content_type.as_ref().map(|t| t.to_string());
                add(url.as_str(), media_type.as_deref());
            }
        }
    }
    urls.into_iter().map(MediaRef::Url).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert!(visual_type(None));
        assert!(visual_type(Some("image/jpeg")));
        assert!(visual_type(Some("Video/MP4")));
        assert!(!visual_type(Some("audio/mpeg")));
        assert!(!visual_type(Some("application/pdf")));
    }

    #[test]
    fn json_feed_and_relative_links() {
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[
            {"id":"1","url":"https://example.org/1","content_html":"<p>a &amp; b</p>",
             "attachments":[{"url":"https://example.org/1.mp4","mime_type":"video/mp4"},
                            {"url":"https://example.org/1.mp3","mime_type":"audio/mpeg"}]}]}"#;
        let posts = parse_feed(json, "https://example.org/feed.json").unwrap();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0].caption.as_deref(), Some("a & b"));
        assert_eq!(
            posts[0].media,
            [MediaRef::Url("https://example.org/1.mp4".into())]
        );

        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
            <item><link>/post/1</link><enclosure url="/m/1.jpg" type="image/jpeg" length="1"/></item>
            </channel></rss>"#;
        let posts = parse_feed(rss, "https://example.org/feeds/rss.xml").unwrap();
        assert_eq!(posts[0].url.as_deref(), Some("https://example.org/post/1"));
        assert_eq!(
            posts[0].media,
            [MediaRef::Url("https://example.org/m/1.jpg".into())]
        );
        assert_eq!(posts[0].post_id, None);
    }
}
