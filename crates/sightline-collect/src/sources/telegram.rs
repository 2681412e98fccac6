//! [`TelegramSource`]: a Telegram Desktop export (`result.json` and the
//! media folders beside it).
//!
//! Both a single-chat export (`{"name","type","id","messages":[...]}`) and
//! a full-account export (`{"chats":{"list":[...]}, "left_chats":...}`)
//! are read. Every message of type `message` that carries a photo, a video
//! or an image file becomes a [`Post`]; service messages and messages
//! without such media are skipped.
//!
//! The export is treated as hostile: a media path that leaves the export
//! folder (absolute, `..`, or a symlink pointing out) is never followed and
//! becomes [`MediaRef::Missing`], as do Telegram's placeholders for files
//! the export left out and names of files that are not there.

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, SecondsFormat};
use serde_json::{Map, Value};

use super::{Context, Emit, Source, emit, source_error};
use crate::{MediaRef, Post, SourceError};

/// Largest `result.json` read.
pub const MAX_EXPORT_BYTES: u64 = 512 * 1024 * 1024;

/// A Telegram Desktop export: the folder holding `result.json`, or the
/// `result.json` itself.
#[derive(Debug, Clone)]
pub struct TelegramSource {
    pub export: PathBuf,
}

impl Source for TelegramSource {
    async fn run(&self, _cx: &Context, out: &Emit) {
        let export = self.export.clone();
        let label = export.display().to_string();
        let read = tokio::task::spawn_blocking(move || read_export(&export)).await;
        let items = match read {
            Ok(Ok((json, dir))) => match parse_export(&json, &dir, &label) {
                Ok(items) => items,
                Err(e) => vec![Err(e)],
            },
            Ok(Err(e)) => vec![Err(e)],
            Err(e) => vec![Err(source_error(
                format!("telegram export {label}"),
                "read",
                format!("reader failed: {e}"),
            ))],
        };
        for item in items {
            if !emit(out, item).await {
                return;
            }
        }
    }
}

/// Read `result.json` (at most [`MAX_EXPORT_BYTES`]); also returns the
/// export folder.
pub fn read_export(export: &Path) -> Result<(Vec<u8>, PathBuf), SourceError> {
    let origin = format!("telegram export {}", export.display());
    let (file, dir) = if export.is_dir() {
        (export.join("result.json"), export.to_path_buf())
    } else {
        let dir = export.parent().map(Path::to_path_buf).unwrap_or_default();
        (export.to_path_buf(), dir)
    };
    let meta = std::fs::metadata(&file).map_err(|e| {
        source_error(
            &origin,
            "read",
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    if meta.len() > MAX_EXPORT_BYTES {
        return Err(source_error(
            &origin,
            "too-large",
            format!(
                "{} is {} bytes, over the {MAX_EXPORT_BYTES}-byte limit",
                file.display(),
                meta.len()
            ),
        ));
    }
    let mut bytes = Vec::new();
    let f = std::fs::File::open(&file).map_err(|e| {
        source_error(
            &origin,
            "read",
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    // Read at most one byte past the limit, in case the file grew.
    std::io::Read::read_to_end(
        &mut std::io::Read::take(f, MAX_EXPORT_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| {
        source_error(
            &origin,
            "read",
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    if bytes.len() as u64 > MAX_EXPORT_BYTES {
        return Err(source_error(
            &origin,
            "too-large",
            format!("{} grew over the limit", file.display()),
        ));
    }
    Ok((bytes, dir))
}

/// Parse an export's `result.json` into posts and per-message errors, in
/// order. `dir` is the export folder (media paths resolve against it and
/// must stay in it); `label` names the export in origins. Media files are
/// looked up on disk to tell a missing or escaping file.
pub fn parse_export(
    json: &[u8],
    dir: &Path,
    label: &str,
) -> Result<Vec<Result<Post, SourceError>>, SourceError> {
    let origin = format!("telegram export {label}");
    let root: Value = serde_json::from_slice(json).map_err(|e| {
        source_error(
            &origin,
            "bad-export",
            format!("result.json is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(root) = root else {
        return Err(source_error(
            &origin,
            "bad-export",
            "result.json is not a JSON object",
        ));
    };
    let root_dir = std::fs::canonicalize(dir).ok();
    let ctx = Export {
        dir,
        root_dir: root_dir.as_deref(),
        label,
    };
    let mut items = Vec::new();
    if root.contains_key("messages") {
        ctx.chat(&root, None, &mut items);
    } else if root.contains_key("chats") || root.contains_key("left_chats") {
        for key in ["chats", "left_chats"] {
            let list = root.get(key).and_then(|c| c.get("list"));
            match list {
                None => {}
                Some(Value::Array(chats)) => {
                    for (i, chat) in chats.iter().enumerate() {
                        match chat {
                            Value::Object(chat) => ctx.chat(chat, Some((key, i)), &mut items),
                            _ => items.push(Err(source_error(
                                format!("{origin} {key} index {i}"),
                                "bad-chat",
                                "chat is not a JSON object",
                            ))),
                        }
                    }
                }
                Some(_) => items.push(Err(source_error(
                    &origin,
                    "bad-export",
                    format!("{key}.list is not an array"),
                ))),
            }
        }
    } else {
        return Err(source_error(
            &origin,
            "bad-export",
            "result.json has neither messages nor chats",
        ));
    }
    Ok(items)
}

struct Export<'a> {
    dir: &'a Path,
    root_dir: Option<&'a Path>,
    label: &'a str,
}

/// The parts of a chat every message needs.
struct Chat {
    id: String,
    /// The chat's name, when it may stand for a message's author: in a
    /// channel, where the channel posts; never in a group, where an
    /// unknown sender is not the group.
    author_fallback: Option<String>,
    username: Option<String>,
    /// `telegram export <label>` plus, in an account export, the chat.
    origin: String,
}

impl Export<'_> {
    fn chat(
        &self,
        chat: &Map<String, Value>,
        place: Option<(&str, usize)>,
        items: &mut Vec<Result<Post, SourceError>>,
    ) {
        let id = chat.get("id").and_then(scalar_string);
        let mut origin = format!("telegram export {}", self.label);
        if let Some((key, i)) = place {
            match &id {
                Some(id) => origin.push_str(&format!(" chat {id}")),
                None => origin.push_str(&format!(" {key} index {i}")),
            }
        }
        let Some(id) = id else {
            items.push(Err(source_error(origin, "bad-chat", "chat has no id")));
            return;
        };
        let chat_info = Chat {
            id,
            author_fallback: chat
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|_| {
                    let kind = chat.get("type").and_then(Value::as_str).unwrap_or("");
                    kind.ends_with("channel")
                }),
            username: chat
                .get("username")
                .and_then(Value::as_str)
                .map(|u| u.trim_start_matches('@').to_string())
                .filter(|u| is_username(u)),
            origin,
        };
        match chat.get("messages") {
            Some(Value::Array(messages)) => {
                for (index, message) in messages.iter().enumerate() {
                    if let Some(item) = self.message(&chat_info, index, message) {
                        items.push(item);
                    }
                }
            }
            _ => items.push(Err(source_error(
                &chat_info.origin,
                "bad-chat",
                "messages is not an array",
            ))),
        }
    }

    /// One message: `None` when it is skipped (service, no media).
    fn message(
        &self,
        chat: &Chat,
        index: usize,
        message: &Value,
    ) -> Option<Result<Post, SourceError>> {
        let bad = |reason: &str| {
            source_error(
                format!("{} message index {index}", chat.origin),
                "bad-message",
                reason,
            )
        };
        let Value::Object(m) = message else {
            return Some(Err(bad("message is not a JSON object")));
        };
        let Some(id) = m.get("id").and_then(scalar_string) else {
            return Some(Err(bad("message has no id")));
        };
        if m.get("type").and_then(Value::as_str) != Some("message") {
            return None;
        }
        let media = self.media(m);
        if media.is_empty() {
            return None;
        }
        let (caption, links) = flatten_text(m.get("text"));
        let posted_at = m
            .get("date_unixtime")
            .and_then(scalar_string)
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .or_else(|| m.get("date").and_then(Value::as_str).map(str::to_string));
        Some(Ok(Post {
            origin: format!("{} message {id}", chat.origin),
            platform: Some("telegram".into()),
            post_id: Some(format!("{}/{id}", chat.id)),
            url: chat
                .username
                .as_ref()
                .map(|u| format!("https://t.me/{u}/{id}")),
            author: m
                .get("from")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| chat.author_fallback.clone()),
            caption: Some(caption).filter(|c| !c.is_empty()),
            posted_at,
            lang: None,
            forwarded_from: m
                .get("forwarded_from")
                .and_then(Value::as_str)
                .map(str::to_string),
            links,
            media,
        }))
    }

    /// The message's photo and video/image file, if any.
    fn media(&self, m: &Map<String, Value>) -> Vec<MediaRef> {
        let mut media = Vec::new();
        if let Some(photo) = m.get("photo").and_then(Value::as_str) {
            media.push(self.media_ref(photo, "photo"));
        }
        if let Some(file) = m.get("file").and_then(Value::as_str) {
            let media_type = m.get("media_type").and_then(Value::as_str).unwrap_or("");
            let mime = m
                .get("mime_type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let visual = matches!(
                media_type,
                "video_file" | "animation" | "video_message" | "sticker"
            ) || mime.starts_with("image/")
                || mime.starts_with("video/");
            if visual {
                let what = m.get("file_name").and_then(Value::as_str).unwrap_or(
                    if media_type.is_empty() {
                        "file"
                    } else {
                        media_type
                    },
                );
                media.push(self.media_ref(file, what));
            }
        }
        media
    }

    /// A media path of the export as a [`MediaRef`]. A missing medium is
    /// named by its path, or by `what` (file name or kind) when the export
    /// gives only a placeholder.
    fn media_ref(&self, path: &str, what: &str) -> MediaRef {
        if path.starts_with("(File") {
            // Telegram's placeholder, e.g. "(File not included. Change data
            // exporting settings to download.)": kept as the reason.
            return MediaRef::Missing {
                what: what.to_string(),
                reason: path.to_string(),
            };
        }
        let missing = |reason: &str| MediaRef::Missing {
            what: path.to_string(),
            reason: reason.to_string(),
        };
        let rel = Path::new(path);
        let inside = !path.is_empty()
            && !path.contains('\\')
            && rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return missing("path leaves the export folder");
        }
        let full = self.dir.join(rel);
        match (std::fs::canonicalize(&full), self.root_dir) {
            // A symlink (or a folder symlink on the way) pointing out.
            (Ok(real), Some(root)) if !real.starts_with(root) => {
                missing("path leaves the export folder")
            }
            (Ok(_), _) => MediaRef::Path(full),
            (Err(_), _) => missing("file is not in the export"),
        }
    }
}

/// A Telegram public username: 4-32 of `[A-Za-z0-9_]`.
fn is_username(u: &str) -> bool {
    (4..=32).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A string, or a number as its decimal text.
fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A message's `text` (a string, or an array of strings and entities
/// `{"type","text","href"?}`) as plain text, and its links: every `href`
/// and the text of every `link` entity, in order, without duplicates.
pub fn flatten_text(text: Option<&Value>) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut links: Vec<String> = Vec::new();
    let mut add_link = |l: &str| {
        let l = l.trim();
        if !l.is_empty() && !links.iter().any(|x| x == l) {
            links.push(l.to_string());
        }
    };
    match text {
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Array(parts)) => {
            for part in parts {
                match part {
                    Value::String(s) => out.push_str(s),
                    Value::Object(e) => {
                        let t = e.get("text").and_then(Value::as_str).unwrap_or("");
                        out.push_str(t);
                        if e.get("type").and_then(Value::as_str) == Some("link") {
                            add_link(t);
                        }
                        if let Some(href) = e.get("href").and_then(Value::as_str) {
                            add_link(href);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    (out, links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_flattening() {
        let text = json!([
            "a ",
            {"type": "bold", "text": "b"},
            {"type": "link", "text": "https://example.org/x"},
            {"type": "text_link", "text": "here", "href": "https://example.org/y"},
            {"type": "mention_name", "text": "Someone", "user_id": 5},
            7,
            {"type": "link", "text": "https://example.org/x"}
        ]);
        let (caption, links) = flatten_text(Some(&text));
        assert_eq!(
            caption,
            "a bhttps://example.org/xhereSomeonehttps://example.org/x"
        );
        assert_eq!(links, ["https://example.org/x", "https://example.org/y"]);
        assert_eq!(flatten_text(Some(&json!("plain"))).0, "plain");
        assert_eq!(flatten_text(None), (String::new(), vec![]));
    }

    #[test]
    fn public_username_gives_a_url_and_a_chat_without_id_is_an_error() {
        let dir = std::env::temp_dir();
        let export = json!({"name": "Chan", "type": "public_channel", "id": 42, "username": "@chan_name",
            "messages": [{"id": 7, "type": "message", "date": "2024-01-02T03:04:05",
                "photo": "(File not included. Change data exporting settings to download.)", "text": ""}]});
        let items = parse_export(export.to_string().as_bytes(), &dir, "x").unwrap();
        let post = items[0].as_ref().unwrap();
        assert_eq!(post.url.as_deref(), Some("https://t.me/chan_name/7"));
        assert_eq!(post.posted_at.as_deref(), Some("2024-01-02T03:04:05"));
        assert_eq!(post.author.as_deref(), Some("Chan"));
        assert_eq!(post.caption, None);

        let account = json!({"chats": {"list": [{"name": "no id", "messages": []}, 5]}});
        let items = parse_export(account.to_string().as_bytes(), &dir, "x").unwrap();
        let errors: Vec<_> = items.into_iter().map(|i| i.unwrap_err()).collect();
        assert_eq!(errors[0].origin, "telegram export x chats index 0");
        assert_eq!(errors[1].reason, "chat is not a JSON object");
    }

    #[test]
    fn whole_export_errors() {
        let dir = Path::new(".");
        assert_eq!(parse_export(b"[", dir, "x").unwrap_err().code, "bad-export");
        assert_eq!(
            parse_export(b"[]", dir, "x").unwrap_err().reason,
            "result.json is not a JSON object"
        );
        assert_eq!(
            parse_export(b"{}", dir, "x").unwrap_err().reason,
            "result.json has neither messages nor chats"
        );
    }

    #[test]
    fn usernames() {
        assert!(is_username("kabul_news"));
        assert!(!is_username("a/b"));
        assert!(!is_username("abc"));
    }
}
