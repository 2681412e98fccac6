//! RIFF containers: WebP images and AVI videos.

use std::io::{Read, Seek};

use crate::source::{Source, le16, le32, sub};
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

/// Printable form of a FourCC for messages.
fn fourcc(kind: [u8; 4]) -> String {
    kind.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

/// Check the RIFF header at offset 0 and return the end of the RIFF chunk.
fn riff_end<R: Read + Seek>(src: &mut Source<'_, R>, format: Format) -> Result<u64, ProbeError> {
    let head: [u8; 12] = src
        .array(0)?
        .ok_or_else(|| ProbeError::truncated(format, "file ends inside the riff header"))?;
    let size = u64::from(le32(sub(&head, 4)));
    if size < 4 {
        return Err(ProbeError::malformed(
            format,
            format!("riff size {size} is too small"),
        ));
    }
    let end = size + 8;
    if end > src.len() {
        return Err(ProbeError::truncated(
            format,
            format!("riff size says {end} bytes but the file has {}", src.len()),
        ));
    }
    Ok(end)
}

/// A chunk header inside a RIFF container.
struct Chunk {
    kind: [u8; 4],
    /// Offset of the chunk data.
    data: u64,
    /// Size of the chunk data (without padding).
    size: u64,
}

impl Chunk {
    /// Offset of the next chunk (data is padded to an even length).
    fn next(&self) -> u64 {
        self.data + self.size + (self.size & 1)
    }
}

/// Read the chunk header at `pos` if a whole header fits before `end`; the
/// chunk's data must fit too.
fn read_chunk<R: Read + Seek>(
    src: &mut Source<'_, R>,
    format: Format,
    pos: u64,
    end: u64,
) -> Result<Option<Chunk>, ProbeError> {
    if pos + 8 > end {
        return Ok(None);
    }
    let Some(head) = src.array::<8>(pos)? else {
        return Err(ProbeError::truncated(
            format,
            "chunk header runs past end of file",
        ));
    };
    let chunk = Chunk {
        kind: sub(&head, 0),
        data: pos + 8,
        size: u64::from(le32(sub(&head, 4))),
    };
    if chunk.data + chunk.size > end {
        return Err(ProbeError::malformed(
            format,
            format!(
                "chunk '{}' at offset {pos} runs past the end of its container",
                fourcc(chunk.kind)
            ),
        ));
    }
    Ok(Some(chunk))
}

pub(crate) fn probe_webp<R: Read + Seek>(
    src: &mut Source<'_, R>,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    const F: Format = Format::Webp;
    let end = riff_end(src, F)?;
    let Some(first) = read_chunk(src, F, 12, end)? else {
        return Err(ProbeError::malformed(F, "no image chunk"));
    };
    let short = |what: &str| ProbeError::malformed(F, format!("{what} chunk too short"));
    let (width, height, extended) = match &first.kind {
        b"VP8 " => {
            if first.size < 10 {
                return Err(short("VP8"));
            }
            let b: [u8; 10] = src.array(first.data)?.ok_or_else(|| short("VP8"))?;
            if b[0] & 1 != 0 {
                return Err(ProbeError::malformed(F, "VP8 data is not a key frame"));
            }
            if b[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(ProbeError::malformed(F, "VP8 start code missing"));
            }
            let w = u32::from(le16(sub(&b, 6)) & 0x3FFF);
            let h = u32::from(le16(sub(&b, 8)) & 0x3FFF);
            (w, h, false)
        }
        b"VP8L" => {
            if first.size < 5 {
                return Err(short("VP8L"));
            }
            let b: [u8; 5] = src.array(first.data)?.ok_or_else(|| short("VP8L"))?;
            if b[0] != 0x2F {
                return Err(ProbeError::malformed(F, "VP8L signature missing"));
            }
            let bits = le32(sub(&b, 1));
            if bits >> 29 != 0 {
                return Err(ProbeError::malformed(F, "unknown VP8L version"));
            }
            let w = (bits & 0x3FFF) + 1;
            let h = ((bits >> 14) & 0x3FFF) + 1;
            (w, h, false)
        }
        b"VP8X" => {
            if first.size < 10 {
                return Err(short("VP8X"));
            }
            let b: [u8; 10] = src.array(first.data)?.ok_or_else(|| short("VP8X"))?;
            let w = u32::from_le_bytes([b[4], b[5], b[6], 0]) + 1;
            let h = u32::from_le_bytes([b[7], b[8], b[9], 0]) + 1;
            (w, h, true)
        }
        other => {
            return Err(ProbeError::malformed(
                F,
                format!(
                    "first chunk is '{}', expected VP8, VP8L or VP8X",
                    fourcc(*other)
                ),
            ));
        }
    };
    check_dimensions(F, width, height, limits)?;
    // Walk the remaining chunks so that a lying chunk size is caught; an
    // extended file must carry image data (a still or animation frames).
    let mut has_image = !extended;
    let mut pos = first.next();
    while let Some(chunk) = read_chunk(src, F, pos, end)? {
        if matches!(&chunk.kind, b"VP8 " | b"VP8L" | b"ANMF") {
            has_image = true;
        }
        pos = chunk.next();
    }
    if !has_image {
        return Err(ProbeError::malformed(F, "extended file has no image data"));
    }
    let mut info = MediaInfo::with_dims(F, width, height);
    info.trailing_bytes = src.len() - end;
    Ok(info)
}

pub(crate) fn probe_avi<R: Read + Seek>(
    src: &mut Source<'_, R>,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    const F: Format = Format::Avi;
    let end = riff_end(src, F)?;
    let mut dims = None;
    let mut has_hdrl = false;
    let mut has_movi = false;
    let mut pos = 12;
    while let Some(chunk) = read_chunk(src, F, pos, end)? {
        if &chunk.kind == b"LIST" && chunk.size >= 4 {
            let list: [u8; 4] = src.array(chunk.data)?.unwrap_or_default();
            match &list {
                b"hdrl" => {
                    has_hdrl = true;
                    dims = main_header_dims(src, chunk.data + 4, chunk.data + chunk.size)?;
                }
                b"movi" => has_movi = true,
                _ => {}
            }
        }
        pos = chunk.next();
    }
    if !has_hdrl {
        return Err(ProbeError::malformed(F, "no 'hdrl' header list"));
    }
    if !has_movi {
        return Err(ProbeError::malformed(F, "no 'movi' data list"));
    }
    // OpenDML files over 1 GiB continue in further 'RIFF AVIX' chunks.
    let mut file_end = end;
    while let Some(head) = src.array::<12>(file_end)? {
        if &head[0..4] != b"RIFF" || &head[8..12] != b"AVIX" {
            break;
        }
        let next = file_end + 8 + u64::from(le32(sub(&head, 4)));
        if next > src.len() {
            return Err(ProbeError::truncated(
                F,
                "'AVIX' extension runs past end of file",
            ));
        }
        file_end = next;
    }
    let mut info = MediaInfo::new(F);
    if let Some((w, h)) = dims {
        check_dimensions(F, w, h, limits)?;
        info.width = Some(w);
        info.height = Some(h);
    }
    info.trailing_bytes = src.len() - file_end;
    Ok(info)
}

/// Width and height from the 'avih' main header at the start of the 'hdrl'
/// list, when present and non-zero.
fn main_header_dims<R: Read + Seek>(
    src: &mut Source<'_, R>,
    pos: u64,
    end: u64,
) -> Result<Option<(u32, u32)>, ProbeError> {
    let Some(chunk) = read_chunk(src, Format::Avi, pos, end)? else {
        return Ok(None);
    };
    if &chunk.kind != b"avih" || chunk.size < 40 {
        return Ok(None);
    }
    let Some(b) = src.array::<8>(chunk.data + 32)? else {
        return Ok(None);
    };
    let (w, h) = (le32(sub(&b, 0)), le32(sub(&b, 4)));
    Ok((w != 0 && h != 0).then_some((w, h)))
}
