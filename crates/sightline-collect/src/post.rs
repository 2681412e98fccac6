//! [`Post`]: one post as a source gives it, before anything is fetched.

use std::path::PathBuf;

use serde::Serialize;

/// One post (a message, a status, a feed entry, a manifest line) and the
/// media it carries. Every text field is kept verbatim as data: nothing in
/// a caption is ever interpreted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Post {
    /// Where the post was read, for people: `manifest posts.jsonl line 3`,
    /// `telegram export ./chat message 42`, a status URL.
    pub origin: String,
    /// `telegram`, `mastodon`, `rss`, or what a manifest says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The platform's id for the post (Telegram: `<chat id>/<message id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post_id: Option<String>,
    /// The post's own address (not its media's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The post's text as plain text (markup flattened, nothing evaluated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The post time exactly as the source gives it (RFC 3339 when the
    /// source's time is unambiguous).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub posted_at: Option<String>,
    /// Language tag, when the source gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Who the post was forwarded or boosted from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// Links found in the text (Telegram entities, manifest fields).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    pub media: Vec<MediaRef>,
}

/// Where one medium of a post is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaRef {
    /// A local file (already resolved against the source's folder).
    Path(PathBuf),
    /// An http(s) URL to fetch.
    Url(String),
    /// The source names a medium it does not have (e.g. a Telegram export
    /// made without media): an error for that item, not for the post.
    Missing { what: String, reason: String },
}

/// A problem with one entry of a source (a manifest line, a message, a
/// feed), or with the whole source. The source goes on where it can.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct SourceError {
    /// What failed, for people: `manifest posts.jsonl line 7`.
    pub origin: String,
    /// Stable code for summaries and scripts (`bad-json`, `bad-xml`, ...).
    pub code: &'static str,
    pub reason: String,
}
