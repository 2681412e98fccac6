//! Finding the metadata blocks inside an image container, without decoding
//! pixels: the EXIF TIFF stream (and where it starts in the file, so
//! offsets can be reported as ExifTool does), XMP packets, PNG text
//! chunks and JPEG comments.
//!
//! Every walk is bounded by the buffer and by a segment count; a length
//! that points past the end ends the walk with an issue.

use sightline_core::MetaIssue;

/// Metadata blocks found in one file.
#[derive(Debug, Default)]
pub(crate) struct Blocks<'a> {
    /// The TIFF-structured EXIF stream and its offset in the file.
    pub exif: Option<ExifBlock<'a>>,
    /// XMP packets (standard first, then reassembled extended XMP).
    pub xmp: Vec<(std::borrow::Cow<'a, [u8]>, String)>,
    /// PNG tEXt/zTXt/iTXt: keyword, text, origin.
    pub text: Vec<(String, String, String)>,
    /// JPEG COM segments.
    pub comments: Vec<(&'a [u8], String)>,
    pub issues: Vec<MetaIssue>,
}

#[derive(Debug)]
pub(crate) struct ExifBlock<'a> {
    pub tiff: &'a [u8],
    /// Offset of the TIFF header in the file.
    pub base: usize,
    pub origin: String,
}

/// At most this many segments/chunks/boxes are looked at in one file.
const MAX_SEGMENTS: usize = 100_000;
/// Inflated PNG text and reassembled extended XMP are capped at this size.
pub(crate) const MAX_TEXT: usize = 8 << 20;

fn issue(origin: &str, code: &str, message: impl Into<String>) -> MetaIssue {
    MetaIssue {
        origin: origin.to_string(),
        code: code.to_string(),
        message: message.into(),
    }
}

pub(crate) fn find_blocks(data: &[u8]) -> Blocks<'_> {
    if data.starts_with(&[0xFF, 0xD8]) {
        jpeg(data)
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(data)
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        webp(data)
    } else if data.starts_with(b"II*\0") || data.starts_with(b"MM\0*") {
        Blocks {
            exif: Some(ExifBlock {
                tiff: data,
                base: 0,
                origin: "tiff".into(),
            }),
            ..Blocks::default()
        }
    } else if data.len() >= 12 && &data[4..8] == b"ftyp" {
        heif(data)
    } else {
        Blocks::default()
    }
}

const XMP_SIG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_SIG: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

fn jpeg(data: &[u8]) -> Blocks<'_> {
    let mut b = Blocks::default();
    let mut pos = 2;
    // Extended XMP chunks: (guid, total, offset, bytes).
    let mut ext: Vec<(&[u8], u32, u32, &[u8])> = Vec::new();
    for _ in 0..MAX_SEGMENTS {
        // Skip fill bytes.
        while pos < data.len() && data[pos] == 0xFF && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if pos + 4 > data.len() {
            break;
        }
        if data[pos] != 0xFF {
            b.issues.push(issue(
                "jpeg",
                "jpeg-marker",
                format!("expected a marker at byte {pos}"),
            ));
            break;
        }
        let marker = data[pos + 1];
        if marker == 0xD9 || marker == 0xDA {
            break; // EOI or start of scan: no more metadata segments
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        let len = u16::from_be_bytes([data[pos + 2], data[pos + 3]]) as usize;
        let body_start = pos + 4;
        let end = pos + 2 + len;
        if len < 2 || end > data.len() {
            b.issues.push(issue(
                &format!("jpeg:0xFF{marker:02X}@{pos}"),
                "jpeg-segment-length",
                format!("segment length {len} at byte {pos} runs past the end of the file"),
            ));
            break;
        }
        let body = &data[body_start..end];
        let origin = |what: &str| format!("jpeg:APP{}/{what}", marker - 0xE0);
        match marker {
            0xE1 if (body.starts_with(b"Exif\0\0") || body.starts_with(b"Exif\0\xFF"))
                && b.exif.is_none() =>
            {
                b.exif = Some(ExifBlock {
                    tiff: &body[6..],
                    base: body_start + 6,
                    origin: origin("exif"),
                });
            }
            0xE1 if body.starts_with(XMP_SIG) => {
                b.xmp.push((body[XMP_SIG.len()..].into(), origin("xmp")));
            }
            0xE1 if body.starts_with(XMP_EXT_SIG) => {
                let rest = &body[XMP_EXT_SIG.len()..];
                if rest.len() >= 40 {
                    let total = u32::from_be_bytes([rest[32], rest[33], rest[34], rest[35]]);
                    let off = u32::from_be_bytes([rest[36], rest[37], rest[38], rest[39]]);
                    ext.push((&rest[..32], total, off, &rest[40..]));
                }
            }
            0xFE => b.comments.push((body, "jpeg:COM".into())),
            _ => {}
        }
        pos = end;
    }
    if !ext.is_empty() {
        let guid = ext[0].0;
        let total = ext[0].1 as usize;
        if total > MAX_TEXT {
            b.issues.push(issue(
                "jpeg:APP1/xmp-extension",
                "xmp-too-large",
                format!("extended xmp declares {total} bytes; the limit is {MAX_TEXT}"),
            ));
        } else {
            let mut buf = vec![0u8; total];
            let mut filled = 0usize;
            for (g, t, off, chunk) in &ext {
                let off = *off as usize;
                if *g != guid || *t as usize != total || off + chunk.len() > total {
                    b.issues.push(issue(
                        "jpeg:APP1/xmp-extension",
                        "xmp-extension",
                        "extended xmp chunk does not fit its declared packet",
                    ));
                    continue;
                }
                buf[off..off + chunk.len()].copy_from_slice(chunk);
                filled += chunk.len();
            }
            if filled >= total {
                b.xmp.push((buf.into(), "jpeg:APP1/xmp-extension".into()));
            } else {
                b.issues.push(issue(
                    "jpeg:APP1/xmp-extension",
                    "xmp-extension",
                    format!("extended xmp is incomplete: {filled} of {total} bytes"),
                ));
            }
        }
    }
    b
}

fn png(data: &[u8]) -> Blocks<'_> {
    let mut b = Blocks::default();
    let mut pos = 8;
    for _ in 0..MAX_SEGMENTS {
        if pos + 8 > data.len() {
            break;
        }
        let len =
            u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let ty = &data[pos + 4..pos + 8];
        let tyname = String::from_utf8_lossy(ty).into_owned();
        let body_start = pos + 8;
        let Some(end) = body_start.checked_add(len).filter(|e| *e + 4 <= data.len()) else {
            b.issues.push(issue(
                &format!("png:{tyname}@{pos}"),
                "png-chunk-length",
                format!("chunk length {len} at byte {pos} runs past the end of the file"),
            ));
            break;
        };
        let body = &data[body_start..end];
        let origin = format!("png:{tyname}");
        match ty {
            b"eXIf" => {
                let (tiff, skip) = if body.starts_with(b"Exif\0\0") {
                    (&body[6..], 6)
                } else {
                    (body, 0)
                };
                if b.exif.is_none() {
                    b.exif = Some(ExifBlock {
                        tiff,
                        base: body_start + skip,
                        origin,
                    });
                }
            }
            b"tEXt" => {
                if let Some(nul) = body.iter().position(|&c| c == 0) {
                    let key = latin1(&body[..nul]);
                    let text = latin1(&body[nul + 1..]);
                    b.text.push((key, text, origin));
                }
            }
            b"zTXt" => {
                if let Some(nul) = body.iter().position(|&c| c == 0) {
                    let key = latin1(&body[..nul]);
                    match body.get(nul + 2..).map(inflate) {
                        Some(Ok(raw)) => b.text.push((key, latin1(&raw), origin)),
                        _ => b.issues.push(issue(
                            &format!("{origin}/{key}"),
                            "png-text-inflate",
                            "compressed text chunk does not inflate within limits",
                        )),
                    }
                }
            }
            b"iTXt" => itxt(body, &origin, &mut b),
            b"IEND" => break,
            _ => {}
        }
        pos = end + 4;
    }
    b
}

/// iTXt: keyword \0 compression-flag method language \0 translated \0 text.
fn itxt<'a>(body: &'a [u8], origin: &str, b: &mut Blocks<'a>) {
    let Some(k) = body.iter().position(|&c| c == 0) else {
        return;
    };
    let key = latin1(&body[..k]);
    let rest = &body[k + 1..];
    if rest.len() < 2 {
        return;
    }
    let compressed = rest[0] == 1;
    let rest = &rest[2..];
    let Some(l) = rest.iter().position(|&c| c == 0) else {
        return;
    };
    let rest = &rest[l + 1..];
    let Some(t) = rest.iter().position(|&c| c == 0) else {
        return;
    };
    let raw = &rest[t + 1..];
    let text: std::borrow::Cow<'a, [u8]> = if compressed {
        match inflate(raw) {
            Ok(v) => v.into(),
            Err(()) => {
                b.issues.push(issue(
                    &format!("{origin}/{key}"),
                    "png-text-inflate",
                    "compressed text chunk does not inflate within limits",
                ));
                return;
            }
        }
    } else {
        raw.into()
    };
    if key == "XML:com.adobe.xmp" {
        b.xmp.push((text, origin.to_string()));
    } else {
        let s = String::from_utf8_lossy(&text).into_owned();
        b.text.push((key, s, origin.to_string()));
    }
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, ()> {
    miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(data, MAX_TEXT).map_err(|_| ())
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

fn webp(data: &[u8]) -> Blocks<'_> {
    let mut b = Blocks::default();
    let riff_end = (u32::from_le_bytes([data[4], data[5], data[6], data[7]]) as usize)
        .saturating_add(8)
        .min(data.len());
    let mut pos = 12;
    for _ in 0..MAX_SEGMENTS {
        if pos + 8 > riff_end {
            break;
        }
        let ty = &data[pos..pos + 4];
        let len = u32::from_le_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]])
            as usize;
        let body_start = pos + 8;
        let Some(end) = body_start.checked_add(len).filter(|e| *e <= riff_end) else {
            b.issues.push(issue(
                &format!("webp:{}@{pos}", String::from_utf8_lossy(ty)),
                "webp-chunk-length",
                format!("chunk length {len} at byte {pos} runs past the end of the file"),
            ));
            break;
        };
        let body = &data[body_start..end];
        match ty {
            b"EXIF" => {
                let (tiff, skip) = if body.starts_with(b"Exif\0\0") {
                    (&body[6..], 6)
                } else {
                    (body, 0)
                };
                b.exif = Some(ExifBlock {
                    tiff,
                    base: body_start + skip,
                    origin: "webp:EXIF".into(),
                });
            }
            b"XMP " => b.xmp.push((body.into(), "webp:XMP".into())),
            _ => {}
        }
        pos = end + (len & 1);
    }
    b
}

/// HEIF/HEIC/AVIF: the top-level `meta` box lists items (`iinf`) and where
/// their bytes are (`iloc`); the `Exif` item and an XMP `mime` item are
/// what we want.
fn heif(data: &[u8]) -> Blocks<'_> {
    let mut b = Blocks::default();
    let Some(meta) = top_box(data, b"meta") else {
        return b;
    };
    // meta is a full box: 4 bytes version/flags before its children.
    let Some(children) = meta.get(4..) else {
        return b;
    };
    let mut items: Vec<(u32, [u8; 4], String)> = Vec::new();
    let mut locs: Vec<(u32, u64, u64)> = Vec::new();
    for (ty, body) in boxes(children) {
        match &ty {
            b"iinf" => items = parse_iinf(body),
            b"iloc" => match parse_iloc(body) {
                Some(l) => locs = l,
                None => b.issues.push(issue(
                    "heif:meta/iloc",
                    "heif-iloc",
                    "iloc box is malformed",
                )),
            },
            _ => {}
        }
    }
    let bytes_of = |id: u32| -> Option<(usize, &[u8])> {
        let (_, off, len) = locs.iter().find(|(i, _, _)| *i == id)?;
        let start = usize::try_from(*off).ok()?;
        let end = start.checked_add(usize::try_from(*len).ok()?)?;
        Some((start, data.get(start..end)?))
    };
    for (id, ty, content_type) in &items {
        match ty {
            b"Exif" => match bytes_of(*id) {
                // 4-byte big-endian offset to the TIFF header, then usually
                // "Exif\0\0".
                Some((start, body)) if body.len() >= 4 => {
                    let skip = u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize;
                    match body.get(4 + skip..) {
                        Some(tiff) if b.exif.is_none() => {
                            b.exif = Some(ExifBlock {
                                tiff,
                                base: start + 4 + skip,
                                origin: format!("heif:item{id}/Exif"),
                            })
                        }
                        _ => b.issues.push(issue(
                            &format!("heif:item{id}/Exif"),
                            "heif-exif",
                            "exif item's header offset points past its data",
                        )),
                    }
                }
                _ => b.issues.push(issue(
                    &format!("heif:item{id}/Exif"),
                    "heif-exif",
                    "exif item's location is outside the file",
                )),
            },
            b"mime" if content_type.contains("rdf+xml") => {
                if let Some((_, body)) = bytes_of(*id) {
                    b.xmp.push((body.into(), format!("heif:item{id}/xmp")));
                }
            }
            _ => {}
        }
    }
    b
}

/// Iterate the boxes in `data`: (type, body). Stops at the first box whose
/// size does not fit.
fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut pos = 0usize;
    let mut n = 0usize;
    std::iter::from_fn(move || {
        n += 1;
        if n > MAX_SEGMENTS || pos + 8 > data.len() {
            return None;
        }
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().ok()?) as u64;
        let ty: [u8; 4] = data[pos + 4..pos + 8].try_into().ok()?;
        let (header, size) = match size {
            0 => (8u64, (data.len() - pos) as u64),
            1 => {
                let large = u64::from_be_bytes(data.get(pos + 8..pos + 16)?.try_into().ok()?);
                (16, large)
            }
            s => (8, s),
        };
        if size < header || pos as u64 + size > data.len() as u64 {
            return None;
        }
        let body = &data[pos + header as usize..pos + size as usize];
        pos += size as usize;
        Some((ty, body))
    })
}

fn top_box<'a>(data: &'a [u8], want: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data).find(|(t, _)| t == want).map(|(_, b)| b)
}

fn be(data: &[u8], pos: usize, n: usize) -> Option<u64> {
    let s = data.get(pos..pos + n)?;
    Some(s.iter().fold(0u64, |a, &c| (a << 8) | c as u64))
}

/// `iinf` → (item id, item type, content type for `mime` items).
fn parse_iinf(body: &[u8]) -> Vec<(u32, [u8; 4], String)> {
    let mut out = Vec::new();
    let Some(&version) = body.first() else {
        return out;
    };
    let skip = if version == 0 { 6 } else { 8 };
    let Some(children) = body.get(skip..) else {
        return out;
    };
    for (ty, infe) in boxes(children) {
        if &ty != b"infe" || infe.len() < 4 {
            continue;
        }
        let v = infe[0];
        if v < 2 {
            continue;
        }
        let (id, p) = if v == 2 {
            (be(infe, 4, 2), 6)
        } else {
            (be(infe, 4, 4), 8)
        };
        let Some(id) = id else { continue };
        // protection index (2), item type (4), then name\0 [content_type\0]
        let Some(ity) = infe.get(p + 2..p + 6) else {
            continue;
        };
        let ity: [u8; 4] = ity.try_into().unwrap_or([0; 4]);
        let rest = &infe[(p + 6).min(infe.len())..];
        let mut parts = rest.split(|&c| c == 0);
        let _name = parts.next();
        let ct = if &ity == b"mime" {
            parts
                .next()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .unwrap_or_default()
        } else {
            String::new()
        };
        out.push((id as u32, ity, ct));
    }
    out
}

/// `iloc` → (item id, file offset of the first extent, total length).
/// Items built from several extents are only read when they are contiguous.
fn parse_iloc(body: &[u8]) -> Option<Vec<(u32, u64, u64)>> {
    let version = *body.first()?;
    let sizes = be(body, 4, 2)? as usize;
    let off_size = (sizes >> 12) & 0xF;
    let len_size = (sizes >> 8) & 0xF;
    let base_size = (sizes >> 4) & 0xF;
    let index_size = if version >= 1 { sizes & 0xF } else { 0 };
    let (count, mut p) = if version < 2 {
        (be(body, 6, 2)?, 8)
    } else {
        (be(body, 6, 4)?, 10)
    };
    let mut out = Vec::new();
    for _ in 0..count.min(MAX_SEGMENTS as u64) {
        let id = if version < 2 {
            let v = be(body, p, 2)?;
            p += 2;
            v
        } else {
            let v = be(body, p, 4)?;
            p += 4;
            v
        };
        let mut method = 0;
        if version >= 1 {
            method = be(body, p, 2)? & 0xF;
            p += 2;
        }
        p += 2; // data reference index
        let base = if base_size > 0 {
            be(body, p, base_size)?
        } else {
            0
        };
        p += base_size;
        let extents = be(body, p, 2)?;
        p += 2;
        let mut first: Option<u64> = None;
        let mut total = 0u64;
        let mut contiguous = true;
        for _ in 0..extents {
            p += index_size;
            let off = if off_size > 0 {
                be(body, p, off_size)?
            } else {
                0
            };
            p += off_size;
            let len = if len_size > 0 {
                be(body, p, len_size)?
            } else {
                0
            };
            p += len_size;
            let abs = base.checked_add(off)?;
            match first {
                None => first = Some(abs),
                Some(f) if f.checked_add(total) != Some(abs) => contiguous = false,
                _ => {}
            }
            total = total.checked_add(len)?;
        }
        // Construction method 0 = file offsets; others (idat, item) skipped.
        if method == 0
            && contiguous
            && let Some(f) = first
        {
            out.push((id as u32, f, total));
        }
    }
    Some(out)
}
