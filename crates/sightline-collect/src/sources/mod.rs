//! Source adapters: where posts come from.
//!
//! Each adapter is a small struct implementing [`Source`] around pure parse
//! functions that do the real work and are tested without I/O:
//!
//! - [`manifest::ManifestSource`]: a JSON Lines file, one post per line;
//! - [`telegram::TelegramSource`]: a Telegram Desktop export folder;
//! - [`feed::FeedSource`]: an RSS, Atom or JSON feed over HTTP;
//! - [`mastodon::MastodonSource`]: an account or hashtag timeline of a
//!   Mastodon-compatible server.
//!
//! A source emits every post in source order on an [`Emit`] channel. A
//! problem with one entry is emitted as a [`SourceError`] and the source
//! goes on; a problem with the whole source (file missing, first page
//! refused) is one error and the end of the source.
//!
//! Text from sources is data: [`html_to_text`] flattens markup without
//! evaluating anything, and captions are otherwise kept verbatim.

use std::future::Future;

use crate::{Post, SourceError};

pub mod feed;
pub mod manifest;
pub mod mastodon;
pub mod telegram;

/// Where a source sends its posts and per-entry errors.
pub type Emit = tokio::sync::mpsc::Sender<Result<Post, SourceError>>;

/// Limits and tools sources share.
#[derive(Debug, Clone)]
pub struct Context {
    /// The HTTP client; sources that need one fail with `no-fetcher`
    /// without it.
    pub fetcher: Option<crate::http::Fetcher>,
    /// Largest document (feed, API page) read into memory.
    pub max_document_bytes: u64,
    /// Most pages a paginated source reads.
    pub max_pages: usize,
}

impl Default for Context {
    fn default() -> Context {
        Context {
            fetcher: None,
            max_document_bytes: 16 * 1024 * 1024,
            max_pages: 50,
        }
    }
}

/// A source of posts.
pub trait Source {
    /// Emit every post, in source order; per-entry problems are emitted as
    /// errors and the source goes on. A whole-source failure (file missing,
    /// first page refused) is one error. Returns early when the receiver
    /// is gone.
    fn run(&self, cx: &Context, out: &Emit) -> impl Future<Output = ()> + Send;
}

/// Send one item; false when nobody listens any more.
pub(crate) async fn emit(out: &Emit, item: Result<Post, SourceError>) -> bool {
    out.send(item).await.is_ok()
}

/// The context's fetcher; without one, a `no-fetcher` error is emitted
/// for `origin` and `None` returned (the source ends).
pub(crate) async fn fetcher_or_error<'c>(
    cx: &'c Context,
    origin: &str,
    out: &Emit,
) -> Option<&'c crate::http::Fetcher> {
    if cx.fetcher.is_none() {
        let err = source_error(origin, "no-fetcher", "no http client to fetch with");
        emit(out, Err(err)).await;
    }
    cx.fetcher.as_ref()
}

/// A [`SourceError`] with an owned origin and reason.
pub(crate) fn source_error(
    origin: impl Into<String>,
    code: &'static str,
    reason: impl Into<String>,
) -> SourceError {
    SourceError {
        origin: origin.into(),
        code,
        reason: reason.into(),
    }
}

/// `s` as a normalised absolute http(s) URL with a host, or `None`.
pub fn http_url(s: &str) -> Option<String> {
    let url = url::Url::parse(s.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    Some(url.to_string())
}

/// Flatten HTML to plain text, as a reader would see it, without
/// evaluating anything: tags and comments are dropped (the text inside
/// any element, `<script>` included, is kept as text), `<br>` becomes a
/// line break and the end of a paragraph or block (`</p>`, `</div>`,
/// `</li>`, `</h1>`..., `</blockquote>`, `</tr>`) a blank line or a line
/// break, runs of source white space become one space, and character
/// references are decoded (`&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;
/// &#NNN; &#xHH;`; others are kept as written). A `<` that does not start
/// a tag is text.
pub fn html_to_text(html: &str) -> String {
    html_to_text_and_links(html).0
}

/// [`html_to_text`], plus the http(s) `href`s of the `<a>` elements, in
/// order, without duplicates.
pub fn html_to_text_and_links(html: &str) -> (String, Vec<String>) {
    let mut out = TextOut::default();
    let mut links: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                if let Some(after) = rest.strip_prefix("<!--") {
                    // A comment; unterminated ones run to the end.
                    rest = after.find("-->").map_or("", |end| &after[end + 3..]);
                    continue;
                }
                let next = rest[1..].chars().next();
                let is_tag =
                    next.is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
                match (is_tag, tag_end(rest)) {
                    (true, Some(end)) => {
                        let tag = &rest[1..end];
                        handle_tag(tag, &mut out, &mut links);
                        rest = &rest[end + 1..];
                    }
                    _ => {
                        out.text('<');
                        rest = &rest[1..];
                    }
                }
            }
            '&' => {
                let (decoded, used) = decode_entity(rest);
                match decoded {
                    Some(d) => out.literal(d),
                    None => out.text('&'),
                }
                rest = &rest[used..];
            }
            _ => {
                out.text(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    (out.finish(), links)
}

/// The byte index of the `>` closing the tag that starts `s` (at its
/// `<`), honouring quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, b) in s.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i),
            (None, _) => {}
        }
    }
    None
}

fn handle_tag(tag: &str, out: &mut TextOut, links: &mut Vec<String>) {
    let closing = tag.starts_with('/');
    let body = tag.trim_start_matches('/');
    let name_len = body
        .find(|c: char| c.is_ascii_whitespace() || c == '/')
        .unwrap_or(body.len());
    let name = body[..name_len].to_ascii_lowercase();
    match (closing, name.as_str()) {
        (_, "br") => out.newline(),
        (true, "p" | "div" | "blockquote" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "pre") => {
            out.newline();
            out.newline();
        }
        (true, "li" | "tr" | "dt" | "dd") => out.newline(),
        (false, "a") => {
            if let Some(href) = attribute(&body[name_len..], "href")
                && let Some(url) = http_url(&html_to_text(&href))
                && !links.contains(&url)
            {
                links.push(url);
            }
        }
        _ => {}
    }
}

/// The raw value of attribute `name` in a tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_len = rest
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let key = &rest[..key_len];
        rest = rest[key_len..].trim_start();
        let mut value = "";
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let end = inner.find(q).unwrap_or(inner.len());
                    value = &inner[..end];
                    rest = inner.get(end + 1..).unwrap_or("");
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    value = &after[..end];
                    rest = &after[end..];
                }
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(value.to_string());
        }
        if key.is_empty() {
            // Stray '=': skip it so the loop always advances.
            rest = rest.get(1..).unwrap_or("");
        }
    }
}

/// Decode the character reference at the start of `s` (at its `&`): the
/// character and the bytes used, or `None` and 1 when it is not one.
fn decode_entity(s: &str) -> (Option<char>, usize) {
    let Some(semi) = s[1..]
        .find(';')
        .filter(|&i| i > 0 && i <= 32)
        .map(|i| i + 1)
    else {
        return (None, 1);
    };
    let name = &s[1..semi];
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()
            }
            None if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) => {
                num.parse::<u32>().ok()
            }
            _ => return (None, 1),
        };
        // Out of range, surrogates and NUL become U+FFFD, as in HTML.
        Some(
            code.filter(|&c| c != 0)
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}'),
        )
    } else {
        match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => None,
        }
    };
    match c {
        Some(c) => (Some(c), semi + 1),
        None => (None, 1),
    }
}

/// Text being built: source white space collapses, line breaks do not.
#[derive(Default)]
struct TextOut {
    s: String,
    pending_space: bool,
}

impl TextOut {
    /// A character of source text.
    fn text(&mut self, c: char) {
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c') {
            self.pending_space = true;
        } else {
            self.literal(c);
        }
    }

    /// A character that is kept as it is (decoded references, text).
    fn literal(&mut self, c: char) {
        if self.pending_space && !self.s.is_empty() && !self.s.ends_with('\n') {
            self.s.push(' ');
        }
        self.pending_space = false;
        self.s.push(c);
    }

    /// A line break from markup; at most one blank line in a row and none
    /// at the start.
    fn newline(&mut self) {
        self.pending_space = false;
        while self.s.ends_with(' ') {
            self.s.pop();
        }
        if !self.s.is_empty() && !self.s.ends_with("\n\n") {
            self.s.push('\n');
        }
    }

    fn finish(mut self) -> String {
        while self.s.ends_with(['\n', ' ']) {
            self.s.pop();
        }
        self.s
    }
}

/// Join a title and a body as a caption: `title\n\nbody`, either alone
/// when the other is empty, `None` when both are.
pub(crate) fn join_caption(title: Option<String>, body: Option<String>) -> Option<String> {
    let title = title.filter(|t| !t.is_empty());
    let body = body.filter(|b| !b.is_empty());
    match (title, body) {
        (Some(t), Some(b)) => Some(format!("{t}\n\n{b}")),
        (t, b) => t.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_to_text_flattens_markup() {
        assert_eq!(
            html_to_text("<p>Kabul, <b>today</b></p><p>line<br>two<br/>three</p>"),
            "Kabul, today\n\nline\ntwo\nthree"
        );
        assert_eq!(html_to_text("  a \n\t b  "), "a b");
        assert_eq!(
            html_to_text("<ul><li>one</li><li>two</li></ul>"),
            "one\ntwo"
        );
        assert_eq!(html_to_text("a<!-- hidden <b> -->b"), "ab");
        assert_eq!(html_to_text("a<!-- never closed"), "a");
    }

    #[test]
    fn html_to_text_decodes_references() {
        assert_eq!(
            html_to_text("&amp; &lt; &gt; &quot; &#39; &apos; &#1583; &#x62F; &#X41;"),
            "& < > \" ' ' د د A"
        );
        assert_eq!(
            html_to_text("&#0; &#xD800; &#99999999999;"),
            "\u{fffd} \u{fffd} \u{fffd}"
        );
        assert_eq!(
            html_to_text("&unknown; &amp &; & x"),
            "&unknown; &amp &; & x"
        );
        assert_eq!(html_to_text("a&nbsp;b"), "a\u{a0}b");
        // Decoded markup is text, never parsed again.
        assert_eq!(
            html_to_text("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "<script>alert(1)</script>"
        );
        assert_eq!(html_to_text("&amp;lt;"), "&lt;");
    }

    #[test]
    fn html_to_text_keeps_text_that_is_not_a_tag() {
        assert_eq!(html_to_text("1 < 2 and 3 > 2"), "1 < 2 and 3 > 2");
        assert_eq!(html_to_text("a <b"), "a <b");
        assert_eq!(html_to_text("<"), "<");
        assert_eq!(html_to_text("<script>alert(1)</script>"), "alert(1)");
        assert_eq!(
            html_to_text(r#"<a title="x > y" href="/">link</a>"#),
            "link"
        );
        assert_eq!(html_to_text("د کابل <b>ښار</b>"), "د کابل ښار");
    }

    #[test]
    fn html_links_are_collected() {
        let (text, links) = html_to_text_and_links(
            r#"<p>see <a href="https://example.org/a?x=1&amp;y=2" rel="nofollow">this</a>, <a href='javascript:alert(1)'>that</a>, <A HREF=http://example.org/b>b</A> and <a href="https://example.org/a?x=1&amp;y=2">again</a></p>"#,
        );
        assert_eq!(text, "see this, that, b and again");
        assert_eq!(
            links,
            ["https://example.org/a?x=1&y=2", "http://example.org/b"]
        );
    }

    #[test]
    fn attribute_parsing_survives_odd_input() {
        assert_eq!(attribute(" = x href=y", "href").as_deref(), Some("y"));
        assert_eq!(attribute(" href", "href").as_deref(), Some(""));
        assert_eq!(
            attribute(r#" href="unterminated"#, "href").as_deref(),
            Some("unterminated")
        );
        assert_eq!(attribute(" / ", "href"), None);
    }

    #[test]
    fn http_urls_only() {
        assert_eq!(
            http_url("https://example.org").as_deref(),
            Some("https://example.org/")
        );
        assert_eq!(http_url("javascript:alert(1)"), None);
        assert_eq!(http_url("file:///etc/passwd"), None);
        assert_eq!(http_url("/relative"), None);
        assert_eq!(http_url("data:image/png;base64,AAAA"), None);
    }
}
