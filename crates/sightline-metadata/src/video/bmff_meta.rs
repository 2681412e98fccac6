//! Our own ISO base media file format (MP4, QuickTime, 3GP) reader for the
//! metadata ffprobe leaves out or garbles: QuickTime user data (`©xyz`,
//! `©mak`, …), Apple `mdta` keys, iTunes-style item lists, 3GPP `loci`, and
//! each track's display matrix.
//!
//! Top-level boxes are walked by their headers with seeks, never reading the
//! media; only `moov` is read into memory, and only up to
//! [`MAX_MOOV_BYTES`]. Descent is by structure (`moov` → `trak`/`udta`/
//! `meta` → `ilst` → item → `data`), so nesting is at most six levels deep
//! however the file nests its boxes; every box counts against
//! [`MAX_MOOV_BOXES`]. A box size that lies (past its parent's end, smaller
//! than its header) ends the walk of that container with an issue.

use std::io::{Read, Seek, SeekFrom};

use serde_json::{Value, json};
use sightline_core::{GeoPoint, MetaField, MetaIssue};

use super::iso6709::parse_iso6709;

/// `moov` is read into memory only up to this size.
pub const MAX_MOOV_BYTES: u64 = 64 << 20;
/// At most this many top-level boxes are walked.
pub const MAX_TOP_LEVEL_BOXES: u32 = 100_000;
/// At most this many boxes inside `moov` are looked at, in all.
pub const MAX_MOOV_BOXES: u32 = 100_000;
/// Text values longer than this are cut (with an issue).
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Where a value came from, most trusted first: the order decides which
/// location / make / model wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    /// Apple `mdta` keys (`com.apple.quicktime.*`).
    Keys,
    /// QuickTime `udta/©xxx` user data.
    UserData,
    /// iTunes-style `udta/meta/ilst` items.
    ItemList,
    /// 3GPP `udta/loci`.
    Loci,
    /// A tag as ffprobe reports it.
    Ffprobe,
}

/// One value offered for a summary slot.
#[derive(Debug, Clone)]
pub(crate) struct Candidate<T> {
    pub source: Source,
    /// The [`MetaField::key`] it came from.
    pub key: String,
    pub value: T,
}

/// A decoded location and the text it was decoded from.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub point: GeoPoint,
    pub raw: String,
    /// Where it was read ([`MetaField::origin`] form).
    pub origin: String,
}

/// One `trak`'s header.
#[derive(Debug, Clone)]
pub(crate) struct TrackInfo {
    /// `track_ID` from `tkhd` (ffprobe reports it as the stream `id`).
    pub track_id: u32,
    /// Clockwise display rotation in degrees, `[0, 360)`.
    pub rotation: Option<f64>,
}

/// Everything the reader found.
#[derive(Debug, Default)]
pub(crate) struct BmffFindings {
    pub fields: Vec<MetaField>,
    pub issues: Vec<MetaIssue>,
    pub major_brand: Option<String>,
    /// Whether a `moov` was found and (at least partly) read.
    pub moov_read: bool,
    pub locations: Vec<Candidate<Located>>,
    pub makes: Vec<Candidate<String>>,
    pub models: Vec<Candidate<String>>,
    pub software: Vec<Candidate<String>>,
    pub dates: Vec<Candidate<String>>,
    pub tracks: Vec<TrackInfo>,
    /// Boxes looked at inside `moov` so far.
    boxes: u32,
    too_many_reported: bool,
}

/// A child box inside an in-memory buffer.
struct Child<'a> {
    kind: [u8; 4],
    body: &'a [u8],
    /// Absolute file offset of the body.
    body_offset: u64,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn bei32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A printable box type (`©` allowed).
fn valid_kind(kind: [u8; 4]) -> bool {
    kind.iter()
        .all(|&b| (0x20..=0x7E).contains(&b) || b == 0xA9)
}

/// A box type for paths and keys: `©` for 0xA9, `\xNN` for other
/// unprintable bytes.
pub(crate) fn box_name(kind: [u8; 4]) -> String {
    let mut s = String::new();
    for b in kind {
        match b {
            0x20..=0x7E => s.push(char::from(b)),
            0xA9 => s.push('\u{a9}'),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s
}

/// Text up to [`MAX_TEXT_BYTES`], trailing NULs removed, invalid UTF-8
/// replaced.
fn text(bytes: &[u8]) -> (String, bool) {
    let cut = bytes.len() > MAX_TEXT_BYTES;
    let bytes = &bytes[..bytes.len().min(MAX_TEXT_BYTES)];
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    (String::from_utf8_lossy(&bytes[..end]).into_owned(), cut)
}

fn utf16_text(bytes: &[u8], little_endian: bool) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .take(MAX_TEXT_BYTES / 2)
        .map(|c| {
            if little_endian {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        })
        .collect();
    let end = units.iter().rposition(|&u| u != 0).map_or(0, |p| p + 1);
    String::from_utf16_lossy(&units[..end])
}

/// A packed ISO 639-2/T language code (pad bit + three 5-bit letters).
fn language(code: u16) -> Option<String> {
    let letters = [(code >> 10) & 0x1F, (code >> 5) & 0x1F, code & 0x1F];
    if letters.iter().all(|&l| (1..=26).contains(&l)) {
        // Each letter is 1..=26, so this is a lowercase ASCII letter.
        Some(
            letters
                .iter()
                .map(|&l| char::from(b'a' + (l as u8 - 1)))
                .collect(),
        )
    } else {
        None
    }
}

/// ExifTool-style names for `©xxx` user-data / item-list entries.
fn copyright_item_name(kind: [u8; 4]) -> String {
    let name = match &kind[1..] {
        b"xyz" => "GPSCoordinates",
        b"mak" => "Make",
        b"mod" => "Model",
        b"swr" => "SoftwareVersion",
        b"day" => "ContentCreateDate",
        b"too" => "Encoder",
        b"nam" => "Title",
        b"cmt" => "Comment",
        b"des" => "Description",
        b"ART" => "Artist",
        b"alb" => "Album",
        b"aut" => "Author",
        b"cpy" => "Copyright",
        b"inf" => "Information",
        _ => return box_name(kind),
    };
    name.to_string()
}

/// ExifTool-style names for Apple `mdta` keys.
fn key_name(key: &str) -> String {
    match key {
        "com.apple.quicktime.location.ISO6709" => return "GPSCoordinates".into(),
        "com.apple.quicktime.make" => return "Make".into(),
        "com.apple.quicktime.model" => return "Model".into(),
        "com.apple.quicktime.software" => return "Software".into(),
        "com.apple.quicktime.creationdate" => return "CreationDate".into(),
        _ => {}
    }
    let short = key.strip_prefix("com.apple.quicktime.").unwrap_or(key);
    let mut out = String::new();
    for part in short.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        "Unknown".into()
    } else {
        out
    }
}

/// Read the metadata boxes of an ISO-BMFF file of `len` bytes.
pub(crate) fn read_bmff<R: Read + Seek>(file: &mut R, len: u64) -> BmffFindings {
    let mut f = BmffFindings::default();
    let mut pos = 0u64;
    let mut count = 0u32;
    let mut moov_seen = false;
    while pos < len {
        let left = len - pos;
        if left < 8 {
            f.issue(
                "bmff:file".into(),
                "bmff-trailing-bytes",
                format!("{left} bytes after the last box at offset {pos}"),
            );
            break;
        }
        count += 1;
        if count > MAX_TOP_LEVEL_BOXES {
            f.issue(
                "bmff:file".into(),
                "bmff-too-many-boxes",
                format!("more than {MAX_TOP_LEVEL_BOXES} top-level boxes; rest not read"),
            );
            break;
        }
        let mut head = [0u8; 16];
        let header_len = if left >= 16 { 16 } else { 8 };
        if let Err(e) = file
            .seek(SeekFrom::Start(pos))
            .and_then(|_| file.read_exact(&mut head[..header_len]))
        {
            f.issue(
                "bmff:file".into(),
                "bmff-read-error",
                format!("reading box header at offset {pos}: {e}"),
            );
            break;
        }
        let size32 = be32(&head, 0).unwrap_or(0);
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        // Built only when needed: this loop may run 100 000 times.
        let origin = || format!("bmff:{}", box_name(kind));
        if !valid_kind(kind) {
            f.issue(
                origin(),
                "bmff-box-invalid",
                format!("bytes at offset {pos} are not a box header; rest not read"),
            );
            break;
        }
        let (size, hlen) = match size32 {
            0 => (left, 8u64),
            1 => {
                if header_len < 16 {
                    f.issue(
                        origin(),
                        "bmff-box-truncated",
                        format!("64-bit box size at offset {pos} cut off by end of file"),
                    );
                    break;
                }
                (be64(&head, 8).unwrap_or(0), 16)
            }
            s => (u64::from(s), 8),
        };
        if size < hlen {
            f.issue(
                origin(),
                "bmff-box-size-invalid",
                format!(
                    "box at offset {pos} claims {size} bytes, less than its {hlen}-byte header; rest not read"
                ),
            );
            break;
        }
        let truncated = size > left;
        if truncated {
            f.issue(
                origin(),
                "bmff-box-truncated",
                format!("box at offset {pos} claims {size} bytes; only {left} remain in the file"),
            );
        }
        let body_start = pos + hlen;
        let body_len = size.min(left) - hlen;
        match &kind {
            b"ftyp" if f.major_brand.is_none() && body_len >= 4 => {
                let mut brand = [0u8; 4];
                if file
                    .seek(SeekFrom::Start(body_start))
                    .and_then(|_| file.read_exact(&mut brand))
                    .is_ok()
                {
                    f.major_brand = Some(String::from_utf8_lossy(&brand).into_owned());
                }
            }
            b"moov" if moov_seen => {
                f.issue(
                    origin(),
                    "bmff-moov-duplicate",
                    format!("second moov at offset {pos} ignored"),
                );
            }
            b"moov" => {
                moov_seen = true;
                if body_len > MAX_MOOV_BYTES {
                    f.issue(
                        origin(),
                        "bmff-moov-too-large",
                        format!(
                            "moov holds {body_len} bytes, over the {MAX_MOOV_BYTES}-byte limit; not read"
                        ),
                    );
                } else {
                    // body_len ≤ 64 MiB, so it fits in usize.
                    let mut body = vec![0u8; body_len as usize];
                    match file
                        .seek(SeekFrom::Start(body_start))
                        .and_then(|_| file.read_exact(&mut body))
                    {
                        Ok(()) => {
                            f.moov_read = true;
                            f.parse_moov(&body, body_start);
                        }
                        Err(e) => {
                            f.issue(origin(), "bmff-read-error", format!("reading moov: {e}"))
                        }
                    }
                }
            }
            _ => {}
        }
        if truncated {
            break;
        }
        pos += size;
    }
    if !moov_seen {
        f.issue(
            "bmff:moov".into(),
            "bmff-moov-missing",
            "no moov box: the file has no movie header".into(),
        );
    }
    f
}

impl BmffFindings {
    fn issue(&mut self, origin: String, code: &str, message: String) {
        self.issues.push(MetaIssue {
            origin,
            code: code.into(),
            message,
        });
    }

    fn field(&mut self, key: String, value: Value, origin: String) {
        self.fields.push(MetaField { key, value, origin });
    }

    /// The boxes directly inside `buf` (the body of the box at `path`,
    /// starting at file offset `base`).
    fn children<'a>(&mut self, buf: &'a [u8], base: u64, path: &str) -> Vec<Child<'a>> {
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pos < buf.len() {
            let left = buf.len() - pos;
            let at = base + pos as u64;
            if left < 8 {
                // QuickTime allows a 32-bit zero terminator at the end of
                // `udta`; anything else is a stray fragment.
                if buf[pos..].iter().any(|&b| b != 0) {
                    self.issue(
                        format!("bmff:{path}"),
                        "bmff-box-truncated",
                        format!("{left} stray bytes at offset {at}"),
                    );
                }
                break;
            }
            self.boxes += 1;
            if self.boxes > MAX_MOOV_BOXES {
                if !self.too_many_reported {
                    self.too_many_reported = true;
                    self.issue(
                        format!("bmff:{path}"),
                        "bmff-too-many-boxes",
                        format!("more than {MAX_MOOV_BOXES} boxes in moov; rest not read"),
                    );
                }
                break;
            }
            let size32 = be32(buf, pos).unwrap_or(0);
            let kind: [u8; 4] = [buf[pos + 4], buf[pos + 5], buf[pos + 6], buf[pos + 7]];
            let origin = || format!("bmff:{path}/{}", box_name(kind));
            let (size, hlen): (u64, usize) = match size32 {
                0 => (left as u64, 8),
                1 => match be64(buf, pos + 8) {
                    Some(large) => (large, 16),
                    None => {
                        self.issue(
                            origin(),
                            "bmff-box-truncated",
                            format!("64-bit box size at offset {at} cut off"),
                        );
                        break;
                    }
                },
                s => (u64::from(s), 8),
            };
            if size < hlen as u64 {
                self.issue(
                    origin(),
                    "bmff-box-size-invalid",
                    format!(
                        "box at offset {at} claims {size} bytes, less than its {hlen}-byte header; rest of {path} not read"
                    ),
                );
                break;
            }
            if size > left as u64 {
                self.issue(
                    origin(),
                    "bmff-box-truncated",
                    format!("box at offset {at} claims {size} bytes; its parent has {left} left"),
                );
                out.push(Child {
                    kind,
                    body: &buf[pos + hlen..],
                    body_offset: at + hlen as u64,
                });
                break;
            }
            // size ≤ left, so it fits in usize.
            let size = size as usize;
            out.push(Child {
                kind,
                body: &buf[pos + hlen..pos + size],
                body_offset: at + hlen as u64,
            });
            pos += size;
        }
        out
    }

    fn parse_moov(&mut self, body: &[u8], base: u64) {
        let mut trak = 0u32;
        for c in self.children(body, base, "moov") {
            let hbase = c.body_offset;
            match &c.kind {
                b"trak" => {
                    trak += 1;
                    self.parse_trak(c.body, hbase, trak);
                }
                b"udta" => self.parse_udta(c.body, hbase, "moov/udta"),
                b"meta" => self.parse_meta(c.body, hbase, "moov/meta"),
                _ => {}
            }
        }
    }

    fn parse_trak(&mut self, body: &[u8], base: u64, n: u32) {
        let path = format!("moov/trak[{n}]");
        let children = self.children(body, base, &path);
        let Some(tkhd) = children.iter().find(|c| &c.kind == b"tkhd") else {
            self.issue(
                format!("bmff:{path}"),
                "bmff-item-malformed",
                "track without a tkhd header".into(),
            );
            return;
        };
        let origin = format!("bmff:{path}/tkhd");
        let b = tkhd.body;
        let (id_at, matrix_at) = if b.first() == Some(&1) {
            (20, 52)
        } else {
            (12, 40)
        };
        let (Some(track_id), Some(a), Some(bm)) =
            (be32(b, id_at), bei32(b, matrix_at), bei32(b, matrix_at + 4))
        else {
            self.issue(
                origin,
                "bmff-item-malformed",
                format!("tkhd of {} bytes is too short", b.len()),
            );
            return;
        };
        let rotation = if a == 0 && bm == 0 {
            self.issue(
                origin.clone(),
                "bmff-item-malformed",
                "display matrix is degenerate".into(),
            );
            None
        } else {
            // QuickTime matrices act on row vectors: for a clockwise turn by
            // θ on screen, a = cos θ and b = sin θ.
            let degrees = f64::from(bm).atan2(f64::from(a)).to_degrees();
            Some(normalise_degrees(degrees))
        };
        if let Some(r) = rotation {
            self.field(format!("Track{n}:Rotation"), json!(r), origin);
        }
        self.tracks.push(TrackInfo { track_id, rotation });
    }

    fn parse_udta(&mut self, body: &[u8], base: u64, path: &str) {
        for c in self.children(body, base, path) {
            let cbase = c.body_offset;
            let child_path = format!("{path}/{}", box_name(c.kind));
            match c.kind {
                [0xA9, ..] => self.parse_user_text(c.kind, c.body, cbase, &child_path),
                [b'l', b'o', b'c', b'i'] => self.parse_loci(c.body, &child_path),
                [b'm', b'e', b't', b'a'] => self.parse_meta(c.body, cbase, &child_path),
                _ => {}
            }
        }
    }

    /// A QuickTime `udta/©xxx` entry: international text (16-bit length,
    /// 16-bit language, text), or an iTunes-style `data` box.
    fn parse_user_text(&mut self, kind: [u8; 4], body: &[u8], base: u64, path: &str) {
        let origin = format!("bmff:{path}");
        let key = format!("UserData:{}", copyright_item_name(kind));
        let value = if body.get(4..8) == Some(b"data") {
            let Some(data) = self.children(body, base, path).into_iter().next() else {
                return;
            };
            match decode_data(data.body) {
                Ok(v) => v,
                Err(m) => {
                    self.issue(origin, "bmff-item-malformed", m);
                    return;
                }
            }
        } else {
            let (Some(len), Some(_lang)) = (be16(body, 0), be16(body, 2)) else {
                self.issue(
                    origin,
                    "bmff-item-malformed",
                    format!("{} bytes, too short for a text entry", body.len()),
                );
                return;
            };
            let len = usize::from(len);
            let avail = body.len() - 4;
            if len > avail {
                self.issue(
                    origin.clone(),
                    "bmff-item-malformed",
                    format!("text length {len} exceeds the {avail} bytes present"),
                );
            }
            let (s, cut) = text(&body[4..4 + len.min(avail)]);
            if cut {
                self.issue(
                    origin.clone(),
                    "bmff-value-truncated",
                    format!("text over {MAX_TEXT_BYTES} bytes cut"),
                );
            }
            Value::String(s)
        };
        self.offer(Source::UserData, &key, &value, &origin);
        self.field(key, value, origin);
    }

    /// Route a decoded value to the summary candidates by its key's tag.
    fn offer(&mut self, source: Source, key: &str, value: &Value, origin: &str) {
        let Some(s) = value.as_str() else { return };
        let tag = key.rsplit(':').next().unwrap_or(key);
        let candidate = |value: String| Candidate {
            source,
            key: key.to_string(),
            value,
        };
        match tag {
            "GPSCoordinates" => match parse_iso6709(s) {
                Ok(point) => self.locations.push(Candidate {
                    source,
                    key: key.to_string(),
                    value: Located {
                        point,
                        raw: s.to_string(),
                        origin: origin.to_string(),
                    },
                }),
                Err(e) => self.issue(
                    origin.to_string(),
                    "location-invalid",
                    format!("{e} in {}", escape_short(s)),
                ),
            },
            "Make" => self.makes.push(candidate(s.to_string())),
            "Model" => self.models.push(candidate(s.to_string())),
            "Software" | "SoftwareVersion" | "Encoder" => {
                self.software.push(candidate(s.to_string()));
            }
            "CreationDate" | "ContentCreateDate" => self.dates.push(candidate(s.to_string())),
            _ => {}
        }
    }

    /// 3GPP TS 26.244 location information.
    fn parse_loci(&mut self, b: &[u8], path: &str) {
        let origin = format!("bmff:{path}");
        let malformed = |what: &str| format!("loci {what} ({} bytes)", b.len());
        let Some(lang) = be16(b, 4) else {
            self.issue(origin, "bmff-item-malformed", malformed("too short"));
            return;
        };
        let Some((name, mut pos)) = loci_string(b, 6) else {
            self.issue(
                origin,
                "bmff-item-malformed",
                malformed("name not terminated"),
            );
            return;
        };
        let (Some(&role), Some(lon), Some(lat), Some(alt)) = (
            b.get(pos),
            bei32(b, pos + 1),
            bei32(b, pos + 5),
            bei32(b, pos + 9),
        ) else {
            self.issue(
                origin,
                "bmff-item-malformed",
                malformed("ends before the coordinates"),
            );
            return;
        };
        pos += 13;
        let (body, notes) = match loci_string(b, pos) {
            Some((body, next)) => (Some(body), loci_string(b, next).map(|(n, _)| n)),
            None => (None, None),
        };
        let fixed = |v: i32| f64::from(v) / 65536.0;
        let (lon, lat, alt) = (fixed(lon), fixed(lat), fixed(alt));
        let raw = format!("lon={lon} lat={lat} alt={alt}");
        let key = "3GPP:loci".to_string();
        let mut value = json!({
            "name": name,
            "role": role,
            "longitude": lon,
            "latitude": lat,
            "altitude": alt,
        });
        if let Some(l) = language(lang) {
            value["language"] = json!(l);
        }
        if let Some(body) = body {
            value["body"] = json!(body);
        }
        if let Some(notes) = notes {
            value["notes"] = json!(notes);
        }
        if lat.abs() > 90.0 || lon.abs() > 180.0 {
            self.issue(
                origin.clone(),
                "location-invalid",
                format!("loci position out of range: {raw}"),
            );
        } else {
            self.locations.push(Candidate {
                source: Source::Loci,
                key: key.clone(),
                value: Located {
                    point: GeoPoint {
                        lat,
                        lon,
                        alt: Some(alt),
                    },
                    raw,
                    origin: origin.clone(),
                },
            });
        }
        self.field(key, value, origin);
    }

    /// A `meta` box: QuickTime style (no version/flags) or ISO style (full
    /// box); `hdlr` says whether `ilst` items are key indexes (`mdta`) or
    /// four-character codes.
    fn parse_meta(&mut self, body: &[u8], base: u64, path: &str) {
        // QuickTime `meta` starts straight with a child box; ISO `meta`
        // with 4 bytes of version and flags.
        let starts_with_box = be32(body, 0).is_some_and(|s| s >= 8 && s as usize <= body.len())
            && body
                .get(4..8)
                .is_some_and(|k| k.iter().all(u8::is_ascii_alphanumeric));
        let skip = if starts_with_box {
            0
        } else {
            4.min(body.len())
        };
        let children = self.children(&body[skip..], base + skip as u64, path);
        let handler = children
            .iter()
            .find(|c| &c.kind == b"hdlr")
            .and_then(|c| c.body.get(8..12))
            .map(|h| [h[0], h[1], h[2], h[3]]);
        let keys = match children.iter().find(|c| &c.kind == b"keys") {
            Some(k) => self.parse_keys(k.body, &format!("{path}/keys")),
            None => Vec::new(),
        };
        let mdta = handler == Some(*b"mdta");
        for ilst in children.iter().filter(|c| &c.kind == b"ilst") {
            let ilst_path = format!("{path}/ilst");
            let ibase = ilst.body_offset;
            for item in self.children(ilst.body, ibase, &ilst_path) {
                let (key, origin) = if mdta {
                    let index = u32::from_be_bytes(item.kind);
                    let Some(name) = index
                        .checked_sub(1)
                        .and_then(|i| keys.get(i as usize))
                        .cloned()
                    else {
                        self.issue(
                            format!("bmff:{ilst_path}"),
                            "bmff-item-malformed",
                            format!("item refers to key {index}; keys has {}", keys.len()),
                        );
                        continue;
                    };
                    (
                        format!("Keys:{}", key_name(&name)),
                        format!("bmff:{ilst_path}/{name}"),
                    )
                } else {
                    let name = if item.kind[0] == 0xA9 {
                        copyright_item_name(item.kind)
                    } else {
                        box_name(item.kind)
                    };
                    (
                        format!("ItemList:{name}"),
                        format!("bmff:{ilst_path}/{}", box_name(item.kind)),
                    )
                };
                let item_base = item.body_offset;
                let Some(data) = self
                    .children(item.body, item_base, &origin["bmff:".len()..])
                    .into_iter()
                    .find(|c| &c.kind == b"data")
                else {
                    continue;
                };
                match decode_data(data.body) {
                    Ok(value) => {
                        let source = if mdta { Source::Keys } else { Source::ItemList };
                        self.offer(source, &key, &value, &origin);
                        self.field(key, value, origin);
                    }
                    Err(m) => self.issue(origin, "bmff-item-malformed", m),
                }
            }
        }
    }

    /// The key names of an Apple `keys` box, in order (item 1 is the first).
    fn parse_keys(&mut self, b: &[u8], path: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let Some(count) = be32(b, 4) else {
            self.issue(
                format!("bmff:{path}"),
                "bmff-item-malformed",
                "keys box too short".into(),
            );
            return keys;
        };
        let mut pos = 8usize;
        for i in 0..count {
            let Some(size) = be32(b, pos).map(|s| s as usize) else {
                self.issue(
                    format!("bmff:{path}"),
                    "bmff-item-malformed",
                    format!("keys declares {count} entries; only {i} present"),
                );
                break;
            };
            if size < 8 || size > b.len() - pos {
                self.issue(
                    format!("bmff:{path}"),
                    "bmff-item-malformed",
                    format!("key entry {} has invalid size {size}", i + 1),
                );
                break;
            }
            keys.push(text(&b[pos + 8..pos + size]).0);
            pos += size;
        }
        keys
    }
}

/// A 3GPP string: UTF-16 when it starts with a byte-order mark, else UTF-8;
/// NUL-terminated. Returns it and the position after the terminator.
fn loci_string(b: &[u8], pos: usize) -> Option<(String, usize)> {
    let rest = b.get(pos..)?;
    match rest {
        [0xFE, 0xFF, ..] | [0xFF, 0xFE, ..] => {
            let le = rest[0] == 0xFF;
            let units = &rest[2..];
            let end = units.chunks_exact(2).position(|c| c == [0, 0])?;
            let s = utf16_text(&units[..end * 2], le);
            Some((s, pos + 2 + end * 2 + 2))
        }
        _ => {
            let end = rest.iter().position(|&c| c == 0)?;
            Some((text(&rest[..end]).0, pos + end + 1))
        }
    }
}

/// An iTunes/QuickTime `data` box body: type indicator, locale, value.
fn decode_data(b: &[u8]) -> Result<Value, String> {
    let Some(type_word) = be32(b, 0) else {
        return Err(format!("data box of {} bytes is too short", b.len()));
    };
    if b.len() < 8 {
        return Err(format!("data box of {} bytes is too short", b.len()));
    }
    let v = &b[8..];
    let well_known = type_word & 0x00FF_FFFF;
    let int = |signed: bool| -> Option<Value> {
        let mut buf = [0u8; 8];
        if v.is_empty() || v.len() > 8 {
            return None;
        }
        let negative = signed && v[0] & 0x80 != 0;
        if negative {
            buf = [0xFF; 8];
        }
        buf[8 - v.len()..].copy_from_slice(v);
        Some(if signed {
            json!(i64::from_be_bytes(buf))
        } else {
            json!(u64::from_be_bytes(buf))
        })
    };
    let value = match well_known {
        1 | 4 => Some(Value::String(text(v).0)),
        2 | 5 => Some(Value::String(utf16_text(v, false))),
        21 => int(true),
        22 => int(false),
        23 if v.len() == 4 => Some(json!(f32::from_be_bytes([v[0], v[1], v[2], v[3]]))),
        24 if v.len() == 8 => be64(v, 0).map(|bits| json!(f64::from_bits(bits))),
        _ => None,
    };
    Ok(value.unwrap_or_else(|| {
        json!(format!(
            "(binary data {} bytes, type {well_known})",
            v.len()
        ))
    }))
}

/// Degrees into `[0, 360)`, rounded to 1/1000 so axis turns come out exact.
pub(crate) fn normalise_degrees(d: f64) -> f64 {
    let r = (d.rem_euclid(360.0) * 1000.0).round() / 1000.0;
    if r >= 360.0 { 0.0 } else { r + 0.0 }
}

/// A value for a one-line message: escaped, at most 80 characters.
pub(crate) fn escape_short(s: &str) -> String {
    let escaped: String = s.escape_debug().collect();
    if escaped.chars().count() > 80 {
        let cut: String = escaped.chars().take(80).collect();
        format!("\"{cut}…\"")
    } else {
        format!("\"{escaped}\"")
    }
}
