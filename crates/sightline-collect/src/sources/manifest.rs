//! [`ManifestSource`]: a JSON Lines file of posts someone prepared.
//!
//! One post per line:
//!
//! ```json
//! {"id":"p1","url":"https://example.org/p/1","platform":"x","author":"a","caption":"...",
//!  "posted_at":"2024-03-22T18:00:00Z","lang":"en","forwarded_from":"b","links":["https://..."],
//!  "media":[{"path":"media/1.jpg"},{"url":"https://example.org/1.mp4"}]}
//! ```
//!
//! Every key but `media` is optional (`null` is the same as absent);
//! `media` must name at least one medium, each with exactly one of `path`
//! (relative paths resolve against the manifest's folder) or `url` (http or
//! https only). Unknown keys are refused, so a typo ("captoin") cannot drop
//! data silently. Blank lines are skipped; a malformed line is a
//! `bad-line` error and the rest of the file goes on. Text is kept
//! verbatim.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Context, Emit, Source, http_url, source_error};
use crate::{MediaRef, Post, SourceError};

/// Longest line read; longer ones are refused.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// A manifest file.
#[derive(Debug, Clone)]
pub struct ManifestSource {
    pub path: PathBuf,
}

impl Source for ManifestSource {
    async fn run(&self, _cx: &Context, out: &Emit) {
        let path = self.path.clone();
        let out = out.clone();
        // File reading blocks: do it on the blocking pool, streaming.
        let task = tokio::task::spawn_blocking(move || {
            let name = file_label(&path);
            let file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    let err = source_error(
                        format!("manifest {}", path.display()),
                        "read",
                        format!("cannot open: {e}"),
                    );
                    let _ = out.blocking_send(Err(err));
                    return;
                }
            };
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let reader = std::io::BufReader::new(file);
            for item in read_manifest(reader, &dir, &name) {
                if out.blocking_send(item).is_err() {
                    return;
                }
            }
        });
        if let Err(e) = task.await {
            tracing::error!("manifest reader failed: {e}");
        }
    }
}

/// The file name used in origins (`manifest posts.jsonl line 3`).
fn file_label(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The posts and errors of a manifest, line by line, streaming. `dir` is
/// the folder relative media paths resolve against; `name` names the file
/// in origins. A read error ends the iteration after one `read` error.
pub fn read_manifest<R: BufRead>(reader: R, dir: &Path, name: &str) -> ManifestLines<R> {
    ManifestLines {
        reader,
        dir: dir.to_path_buf(),
        name: name.to_string(),
        line_no: 0,
        done: false,
        buf: Vec::new(),
    }
}

/// Iterator returned by [`read_manifest`].
#[derive(Debug)]
pub struct ManifestLines<R> {
    reader: R,
    dir: PathBuf,
    name: String,
    line_no: usize,
    done: bool,
    buf: Vec<u8>,
}

enum Line {
    Eof,
    Ok,
    TooLong,
}

impl<R: BufRead> ManifestLines<R> {
    /// Read the next line into `buf` (without its end), at most
    /// [`MAX_LINE_BYTES`]; the rest of a longer line is skipped.
    fn next_line(&mut self) -> std::io::Result<Line> {
        self.buf.clear();
        let mut any = false;
        let mut too_long = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (part, found) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (&chunk[..i], Some(i)),
                None => (chunk, None),
            };
            if !too_long {
                if self.buf.len() + part.len() > MAX_LINE_BYTES + 1 {
                    // +1 leaves room for a '\r' before the '\n'.
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            let used = found.map_or(chunk.len(), |i| i + 1);
            self.reader.consume(used);
            if found.is_some() {
                break;
            }
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if !too_long && self.buf.len() > MAX_LINE_BYTES {
            too_long = true;
        }
        Ok(match (any, too_long) {
            (false, _) => Line::Eof,
            (true, true) => Line::TooLong,
            (true, false) => Line::Ok,
        })
    }
}

impl<R: BufRead> Iterator for ManifestLines<R> {
    type Item = Result<Post, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let line = self.next_line();
            self.line_no += 1;
            let origin = format!("manifest {} line {}", self.name, self.line_no);
            match line {
                Err(e) => {
                    self.done = true;
                    return Some(Err(source_error(
                        origin,
                        "read",
                        format!("cannot read: {e}"),
                    )));
                }
                Ok(Line::Eof) => self.done = true,
                Ok(Line::TooLong) => {
                    return Some(Err(source_error(origin, "bad-line", "line is over 1 MiB")));
                }
                Ok(Line::Ok) => {
                    let Ok(text) = std::str::from_utf8(&self.buf) else {
                        return Some(Err(source_error(origin, "bad-line", "line is not UTF-8")));
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    return Some(parse_line(text, &self.dir, origin));
                }
            }
        }
        None
    }
}

/// The keys a line may have.
const KEYS: [&str; 10] = [
    "id",
    "url",
    "platform",
    "author",
    "caption",
    "posted_at",
    "lang",
    "forwarded_from",
    "links",
    "media",
];

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One manifest line (not blank) as a post; `origin` names the line.
pub fn parse_line(line: &str, dir: &Path, origin: String) -> Result<Post, SourceError> {
    let bad = |reason: String| source_error(origin.clone(), "bad-line", reason);
    let value: Value = serde_json::from_str(line).map_err(|e| {
        // Every line is line 1 to serde_json: say only the column.
        bad(format!(
            "not valid JSON: {}",
            e.to_string().replace(" at line 1 column ", " at column ")
        ))
    })?;
    let Value::Object(obj) = value else {
        return Err(bad(format!("line is {}, not a JSON object", kind(&value))));
    };
    if let Some(key) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!("unknown key {key:?}")));
    }
    // A string key: absent and null are the same.
    let text = |key: &str| -> Result<Option<String>, SourceError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(bad(format!("{key:?} must be a string, not {}", kind(v)))),
        }
    };
    let url = match text("url")? {
        Some(u) => Some(
            http_url(&u).ok_or_else(|| bad(format!("url {u:?} is not an http or https URL")))?,
        ),
        None => None,
    };
    let mut links = Vec::new();
    match obj.get("links") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for link in items {
                let Value::String(link) = link else {
                    return Err(bad(format!(
                        "\"links\" must hold strings, not {}",
                        kind(link)
                    )));
                };
                links
                    .push(http_url(link).ok_or_else(|| {
                        bad(format!("link {link:?} is not an http or https URL"))
                    })?);
            }
        }
        Some(v) => return Err(bad(format!("\"links\" must be an array, not {}", kind(v)))),
    }
    let entries = match obj.get("media") {
        None => return Err(bad("no \"media\"".into())),
        Some(Value::Array(entries)) if entries.is_empty() => return Err(bad("no media".into())),
        Some(Value::Array(entries)) => entries,
        Some(v) => return Err(bad(format!("\"media\" must be an array, not {}", kind(v)))),
    };
    let mut media = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let n = i + 1;
        let Value::Object(m) = entry else {
            return Err(bad(format!("media {n}: is {}, not an object", kind(entry))));
        };
        if let Some(key) = m.keys().find(|k| !matches!(k.as_str(), "path" | "url")) {
            return Err(bad(format!("media {n}: unknown key {key:?}")));
        }
        let field = |key: &str| match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(bad(format!(
                "media {n}: {key:?} must be a string, not {}",
                kind(v)
            ))),
        };
        media.push(match (field("path")?, field("url")?) {
            (Some(""), None) => return Err(bad(format!("media {n}: empty path"))),
            (Some(p), None) => MediaRef::Path(dir.join(p)),
            (None, Some(u)) => {
                MediaRef::Url(http_url(u).ok_or_else(|| {
                    bad(format!("media {n}: url {u:?} is not an http or https URL"))
                })?)
            }
            (Some(_), Some(_)) => return Err(bad(format!("media {n}: has both path and url"))),
            (None, None) => return Err(bad(format!("media {n}: has neither path nor url"))),
        });
    }
    Ok(Post {
        origin: origin.clone(),
        platform: text("platform")?,
        post_id: text("id")?,
        url,
        author: text("author")?,
        caption: text("caption")?,
        posted_at: text("posted_at")?,
        lang: text("lang")?,
        forwarded_from: text("forwarded_from")?,
        links,
        media,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8]) -> Vec<Result<Post, SourceError>> {
        read_manifest(text, Path::new("/m"), "t.jsonl").collect()
    }

    #[test]
    fn crlf_blank_and_last_line_without_newline() {
        let items = lines(b"\r\n{\"media\":[{\"path\":\"a.jpg\"}]}\r\n   \n{\"media\":[{\"url\":\"http://h/x\"}]}");
        assert_eq!(items.len(), 2);
        let first = items[0].as_ref().unwrap();
        assert_eq!(first.origin, "manifest t.jsonl line 2");
        assert_eq!(first.media, [MediaRef::Path("/m/a.jpg".into())]);
        let second = items[1].as_ref().unwrap();
        assert_eq!(second.origin, "manifest t.jsonl line 4");
        assert_eq!(second.media, [MediaRef::Url("http://h/x".into())]);
    }

    #[test]
    fn long_lines_are_refused_and_skipped() {
        let mut text = vec![b'x'; MAX_LINE_BYTES + 5];
        text.extend_from_slice(b"\n{\"media\":[{\"path\":\"a.jpg\"}]}\n");
        // A small buffer makes the long line arrive in many chunks.
        let reader = std::io::BufReader::with_capacity(4096, &text[..]);
        let items: Vec<_> = read_manifest(reader, Path::new("/m"), "t.jsonl").collect();
        assert_eq!(items.len(), 2);
        let err = items[0].as_ref().unwrap_err();
        assert_eq!(
            (err.code, err.reason.as_str()),
            ("bad-line", "line is over 1 MiB")
        );
        assert_eq!(items[1].as_ref().unwrap().origin, "manifest t.jsonl line 2");
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read() {
        let mut text = b"{\"media\":[{\"path\":\"a.jpg\"}],\"caption\":\"".to_vec();
        let pad = MAX_LINE_BYTES - text.len() - 2;
        text.extend(std::iter::repeat_n(b'c', pad));
        text.extend_from_slice(b"\"}\r\n");
        let items = lines(&text);
        assert_eq!(
            items[0].as_ref().unwrap().caption.as_ref().unwrap().len(),
            pad
        );
    }

    #[test]
    fn bad_utf8_is_a_bad_line() {
        let items = lines(b"{\"media\":[{\"path\":\"\xff\"}]}\n");
        assert_eq!(items[0].as_ref().unwrap_err().reason, "line is not UTF-8");
    }

    #[test]
    fn media_rules() {
        let dir = Path::new("/m");
        let err = |l: &str| parse_line(l, dir, "o".into()).unwrap_err().reason;
        assert_eq!(err(r#"{"media":[]}"#), "no media");
        assert_eq!(
            err(r#"{"media":[{"path":"a","url":"http://h/"}]}"#),
            "media 1: has both path and url"
        );
        assert_eq!(
            err(r#"{"media":[{"path":"a"},{}]}"#),
            "media 2: has neither path nor url"
        );
        assert_eq!(err(r#"{"media":[{"path":""}]}"#), "media 1: empty path");
        assert_eq!(
            err(r#"{"media":[{"url":"ftp://h/x"}]}"#),
            r#"media 1: url "ftp://h/x" is not an http or https URL"#
        );
        assert_eq!(
            err(r#"{"url":"javascript:alert(1)","media":[{"path":"a"}]}"#),
            r#"url "javascript:alert(1)" is not an http or https URL"#
        );
        assert_eq!(
            err(r#"{"media":[{"path":"a","size":3}]}"#),
            r#"media 1: unknown key "size""#
        );
        assert_eq!(
            err(r#"{"caption":5,"media":[{"path":"a"}]}"#),
            r#""caption" must be a string, not a number"#
        );
        assert_eq!(
            err(r#"{"media":[["a.jpg",null]]}"#),
            "media 1: is an array, not an object"
        );
        assert_eq!(
            err(r#"{"media":{"path":"a"}}"#),
            r#""media" must be an array, not an object"#
        );
        assert_eq!(
            err(r#"{"media":[{"path":7}]}"#),
            r#"media 1: "path" must be a string, not a number"#
        );
        assert_eq!(
            err(r#"{"links":"https://h/","media":[{"path":"a"}]}"#),
            r#""links" must be an array, not a string"#
        );
        assert_eq!(
            err(r#"{"links":[1],"media":[{"path":"a"}]}"#),
            r#""links" must hold strings, not a number"#
        );
        assert_eq!(err("[1,2]"), "line is an array, not a JSON object");
        assert_eq!(
            err("{"),
            "not valid JSON: EOF while parsing an object at column 1"
        );
        let abs = parse_line(
            r#"{"media":[{"path":"/abs/a.jpg"}],"lang":null}"#,
            dir,
            "o".into(),
        )
        .unwrap();
        assert_eq!(abs.media, [MediaRef::Path("/abs/a.jpg".into())]);
    }
}
