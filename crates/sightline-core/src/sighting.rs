use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Sha256;

/// How a sighting's bytes reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A file on a local or mounted file system.
    File,
    /// An HTTP(S) URL.
    Url,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Url => "url",
        }
    }
}

/// Where the bytes were taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    /// Absolute path for files; the submitted URL for URLs.
    pub locator: String,
    /// Final URL after redirects, when fetched over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
    /// Every hop of the redirect chain, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Selected response headers (lower-case names, as received).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The address the bytes were read from, when fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_addr: Option<String>,
    /// The source adapter and entry that named these bytes, for people:
    /// `manifest posts.jsonl line 3`, `telegram export ./chat message 42`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

impl Source {
    pub fn file(absolute_path: impl Into<String>) -> Self {
        Source {
            kind: SourceKind::File,
            locator: absolute_path.into(),
            final_url: None,
            redirects: Vec::new(),
            http_status: None,
            headers: Vec::new(),
            remote_addr: None,
            via: None,
        }
    }
}

/// The program that collected a sighting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Identifier of a sighting, derived from what makes it distinct (see
/// [`SightingKey`]); re-collecting the same file from the same place yields
/// the same id, which is what makes ingest idempotent.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SightingId(pub Sha256);

impl SightingId {
    pub fn short(&self) -> String {
        self.0.short()
    }
}

impl fmt::Display for SightingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for SightingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SightingId({})", self.0.short())
    }
}

/// Where and in which post bytes were seen, whatever the bytes (see
/// [`SightingKey::origin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OriginKey(pub Sha256);

/// The fields that make two sightings the same sighting: the bytes, the
/// kind of source, where they were found, and the platform's post id. The
/// collection time, collector and job are deliberately not part of it.
#[derive(Debug, Clone, Copy)]
pub struct SightingKey<'a> {
    pub item: &'a Sha256,
    pub kind: SourceKind,
    pub locator: &'a str,
    pub platform: Option<&'a str>,
    pub post_id: Option<&'a str>,
}

impl SightingKey<'_> {
    /// The key without the bytes: where and in which post something was
    /// seen. A job that finds a sighting with this origin already recorded
    /// has collected it before and need not fetch it again.
    pub fn origin(&self) -> OriginKey {
        OriginKey(self.digest(b"sightline/origin/v1", None))
    }

    /// SHA-256 over a length-prefixed encoding of the key fields, so no two
    /// different keys can encode to the same bytes.
    pub fn id(&self) -> SightingId {
        SightingId(self.digest(b"sightline/sighting/v1", Some(self.item)))
    }

    /// SHA-256 of `domain`, then each field length-prefixed: the item (when
    /// given), kind, locator, platform, post id.
    fn digest(&self, domain: &[u8], item: Option<&Sha256>) -> Sha256 {
        let mut h = crate::Sha256Hasher::new();
        h.update(domain);
        let mut field = |bytes: &[u8]| {
            h.update(&(bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        if let Some(item) = item {
            field(item.as_bytes());
        }
        field(self.kind.as_str().as_bytes());
        field(self.locator.as_bytes());
        field(self.platform.unwrap_or("").as_bytes());
        field(self.post_id.unwrap_or("").as_bytes());
        h.finish()
    }
}

/// One time a piece of evidence was seen: where, in which post, and how it
/// was collected. Captions and handles are kept verbatim as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    pub id: SightingId,
    /// The evidence item these bytes are.
    pub item: Sha256,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Post time exactly as the platform or file gave it; never reinterpreted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posted_at: Option<String>,
    /// The post's own address (the media's is in `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Who the post was forwarded or boosted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<String>,
    /// Links in the post's text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// The job's tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub collected_at: DateTime<Utc>,
    /// The operator who ran the collection.
    pub collector: String,
    pub tool: Tool,
    pub job_id: String,
    /// SHA-256 of the bytes as received, computed while they streamed in.
    pub received_sha256: Sha256,
}

impl Sighting {
    /// When this sighting dates the media: the post time if it can be read
    /// (see [`crate::parse_post_time`]; a time without a zone is read as
    /// UTC, up to 14 hours off), else when it was collected.
    pub fn seen_at(&self) -> DateTime<Utc> {
        self.posted_time().map_or(self.collected_at, |t| t.utc)
    }

    /// The post time, read, with how far off it may be.
    pub fn posted_time(&self) -> Option<crate::PostTime> {
        self.posted_at.as_deref().and_then(crate::parse_post_time)
    }

    /// The key this sighting's id must equal.
    pub fn key(&self) -> SightingKey<'_> {
        SightingKey {
            item: &self.item,
            kind: self.source.kind,
            locator: &self.source.locator,
            platform: self.platform.as_deref(),
            post_id: self.post_id.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(item: &'a Sha256, locator: &'a str, post: Option<&'a str>) -> SightingId {
        SightingKey {
            item,
            kind: SourceKind::File,
            locator,
            platform: None,
            post_id: post,
        }
        .id()
    }

    #[test]
    fn same_place_same_id_other_place_other_id() {
        let a = Sha256::of(b"a");
        let b = Sha256::of(b"b");
        assert_eq!(key(&a, "/x/1.jpg", None), key(&a, "/x/1.jpg", None));
        assert_ne!(key(&a, "/x/1.jpg", None), key(&a, "/x/2.jpg", None));
        assert_ne!(key(&a, "/x/1.jpg", None), key(&b, "/x/1.jpg", None));
        assert_ne!(key(&a, "/x/1.jpg", None), key(&a, "/x/1.jpg", Some("7")));
    }

    #[test]
    fn seen_at_prefers_a_parseable_post_time() {
        let item = Sha256::of(b"x");
        let collected: DateTime<Utc> = "2024-03-23T10:00:00Z".parse().expect("time");
        let mut s = Sighting {
            id: key(&item, "/x", None),
            item,
            source: Source::file("/x"),
            platform: None,
            post_id: None,
            author: None,
            caption: None,
            posted_at: Some("2024-03-22T20:15:00+03:00".into()),
            post_url: None,
            lang: None,
            forwarded_from: None,
            links: Vec::new(),
            tags: Vec::new(),
            collected_at: collected,
            collector: "t".into(),
            tool: Tool {
                name: "t".into(),
                version: "0".into(),
            },
            job_id: "j".into(),
            received_sha256: item,
        };
        assert_eq!(s.seen_at().to_rfc3339(), "2024-03-22T17:15:00+00:00");
        // Telegram-style times with a numeric offset are read too.
        s.posted_at = Some("2024-03-22 20:15 +0300".into());
        assert_eq!(s.seen_at().to_rfc3339(), "2024-03-22T17:15:00+00:00");
        s.posted_at = Some("yesterday evening".into());
        assert_eq!(s.seen_at(), collected);
    }

    #[test]
    fn fields_cannot_bleed_into_each_other() {
        let a = Sha256::of(b"a");
        // "ab" + "" must differ from "a" + "b".
        let one = SightingKey {
            item: &a,
            kind: SourceKind::Url,
            locator: "ab",
            platform: Some(""),
            post_id: None,
        };
        let two = SightingKey {
            locator: "a",
            platform: Some("b"),
            ..one
        };
        assert_ne!(one.id(), two.id());
    }
}
