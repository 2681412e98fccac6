//! Matroska and WebM: the EBML header, then the Segment's top-level elements.

use std::io::{Read, Seek};

use crate::source::Source;
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const VOID: u32 = 0xEC;
const CRC32: u32 = 0xBF;

/// At most this many Segment children are walked.
const MAX_ELEMENTS: u32 = 1_000_000;
/// At most this many children of one element are collected when looking for
/// track information.
const MAX_CHILDREN: usize = 1024;

/// An element header: ID, payload offset and payload size (`None` when the
/// size is unknown).
struct Element {
    id: u32,
    data: u64,
    size: Option<u64>,
}

struct Reader<'s, 'a, R> {
    src: &'s mut Source<'a, R>,
    format: Format,
}

impl<R: Read + Seek> Reader<'_, '_, R> {
    /// Read a variable-length integer at `pos`: (length, value without the
    /// length marker). `None` if it runs past the end of the file.
    fn vint(&mut self, pos: u64) -> Result<Option<(u8, u64)>, ProbeError> {
        let Some(first) = self.src.byte(pos)? else {
            return Ok(None);
        };
        if first == 0 {
            return Err(ProbeError::malformed(
                self.format,
                format!("invalid variable-length integer at offset {pos}"),
            ));
        }
        let len = first.leading_zeros() as u8 + 1;
        let Some(bytes) = self.src.get(pos, usize::from(len))? else {
            return Ok(None);
        };
        let mut value = u64::from(first) & (0xFFu64 >> len);
        for &b in &bytes[1..] {
            value = (value << 8) | u64::from(b);
        }
        Ok(Some((len, value)))
    }

    /// Read an element header at `pos`. `None` when it runs past the end of
    /// the file.
    fn element(&mut self, pos: u64) -> Result<Option<Element>, ProbeError> {
        let Some((id_len, _)) = self.vint(pos)? else {
            return Ok(None);
        };
        if id_len > 4 {
            return Err(ProbeError::malformed(
                self.format,
                format!("element id longer than 4 bytes at offset {pos}"),
            ));
        }
        let Some(id_bytes) = self.src.get(pos, usize::from(id_len))? else {
            return Ok(None);
        };
        let id = id_bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b));
        let size_at = pos + u64::from(id_len);
        let Some((size_len, size)) = self.vint(size_at)? else {
            return Ok(None);
        };
        let unknown = size == (1u64 << (7 * u32::from(size_len))) - 1;
        Ok(Some(Element {
            id,
            data: size_at + u64::from(size_len),
            size: (!unknown).then_some(size),
        }))
    }
}

impl<R: Read + Seek> Reader<'_, '_, R> {
    /// The children of an element occupying `start..end`, as (id, payload
    /// start, payload end). Stops quietly at anything that does not fit:
    /// the caller only looks for optional information here.
    fn children(&mut self, start: u64, end: u64) -> Result<Vec<(u32, u64, u64)>, ProbeError> {
        let mut out = Vec::new();
        let mut pos = start;
        while pos < end && out.len() < MAX_CHILDREN {
            let Some(el) = self.element(pos)? else { break };
            let Some(child_end) = el.size.map(|s| el.data.saturating_add(s)) else {
                break;
            };
            if child_end > end {
                break;
            }
            out.push((el.id, el.data, child_end));
            pos = child_end;
        }
        Ok(out)
    }

    /// An unsigned integer element's value (at most 8 bytes).
    fn uint(&mut self, data: u64, end: u64) -> Result<Option<u64>, ProbeError> {
        let n = end - data;
        if n > 8 {
            return Ok(None);
        }
        Ok(self
            .src
            .get(data, n as usize)?
            .map(|b| b.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x))))
    }

    /// Pixel size of the first video track listed in a Tracks element.
    fn video_size(&mut self, start: u64, end: u64) -> Result<Option<(u32, u32)>, ProbeError> {
        for (id, data, entry_end) in self.children(start, end)? {
            if id != TRACK_ENTRY {
                continue;
            }
            let mut video = false;
            let (mut width, mut height) = (None, None);
            for (id, data, child_end) in self.children(data, entry_end)? {
                match id {
                    TRACK_TYPE => video = self.uint(data, child_end)? == Some(1),
                    VIDEO => {
                        for (id, data, end) in self.children(data, child_end)? {
                            match id {
                                PIXEL_WIDTH => width = self.uint(data, end)?,
                                PIXEL_HEIGHT => height = self.uint(data, end)?,
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let (true, Some(w), Some(h)) = (video, width, height)
                && w != 0
                && h != 0
            {
                let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
                return Ok(Some((clamp(w), clamp(h))));
            }
        }
        Ok(None)
    }
}

pub(crate) fn probe<R: Read + Seek>(
    src: &mut Source<'_, R>,
    sniffed: Format,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    let mut r = Reader {
        src,
        format: sniffed,
    };
    let len = r.src.len();
    let header_cut = || ProbeError::truncated(sniffed, "ebml header runs past end of file");
    let header = r.element(0)?.ok_or_else(header_cut)?;
    if header.id != EBML {
        return Err(ProbeError::malformed(sniffed, "no ebml header"));
    }
    let Some(header_size) = header.size else {
        return Err(ProbeError::malformed(
            sniffed,
            "ebml header has unknown size",
        ));
    };
    let header_end = header.data + header_size;
    if header_end > len {
        return Err(header_cut());
    }
    let mut doc_type = None;
    let mut pos = header.data;
    while pos < header_end {
        let Some(el) = r.element(pos)? else {
            return Err(header_cut());
        };
        let end = el.size.map(|s| el.data.saturating_add(s));
        let Some(end) = end.filter(|&e| e <= header_end) else {
            return Err(ProbeError::malformed(
                sniffed,
                format!("ebml header element at offset {pos} overruns the header"),
            ));
        };
        if el.id == DOC_TYPE {
            let n = usize::try_from(end - el.data).unwrap_or(usize::MAX).min(32);
            let bytes = r.src.get(el.data, n)?.unwrap_or(&[]);
            let text: Vec<u8> = bytes.iter().copied().take_while(|&b| b != 0).collect();
            doc_type = Some(text);
        }
        pos = end;
    }
    let format = match doc_type.as_deref() {
        Some(b"webm") => Format::Webm,
        _ => Format::Matroska,
    };
    r.format = format;

    // The Segment follows, possibly after Void or CRC elements.
    let mut pos = header_end;
    let segment = loop {
        let Some(el) = r.element(pos)? else {
            return Err(ProbeError::truncated(
                format,
                "file ends before the segment",
            ));
        };
        match el.id {
            SEGMENT => break el,
            VOID | CRC32 => {
                let Some(size) = el.size else {
                    return Err(ProbeError::malformed(
                        format,
                        "void element of unknown size",
                    ));
                };
                pos = el.data.saturating_add(size);
            }
            other => {
                return Err(ProbeError::malformed(
                    format,
                    format!("expected a segment after the ebml header, found element 0x{other:X}"),
                ));
            }
        }
    };
    let segment_end = match segment.size {
        Some(size) => {
            let end = segment.data.saturating_add(size);
            if end > len {
                return Err(ProbeError::truncated(
                    format,
                    "segment runs past end of file",
                ));
            }
            end
        }
        None => len,
    };

    // Walk the Segment's top-level elements until its end or an element of
    // unknown size (a live-streamed cluster).
    let mut pos = segment.data;
    let mut count = 0u32;
    let mut tracks = false;
    let mut size = None;
    while pos < segment_end {
        count += 1;
        if count > MAX_ELEMENTS {
            return Err(ProbeError::malformed(
                format,
                format!("more than {MAX_ELEMENTS} elements in the segment"),
            ));
        }
        let Some(el) = r.element(pos)? else {
            return Err(ProbeError::truncated(
                format,
                format!("element header at offset {pos} runs past end of file"),
            ));
        };
        if el.data > segment_end {
            return Err(ProbeError::malformed(
                format,
                format!("element at offset {pos} overruns the segment"),
            ));
        }
        if el.id == TRACKS {
            tracks = true;
            if size.is_none()
                && let Some(end) = el.size.map(|s| el.data.saturating_add(s))
                && end <= segment_end
            {
                size = r.video_size(el.data, end)?;
            }
        }
        let Some(size) = el.size else {
            break;
        };
        let end = el.data.saturating_add(size);
        if end > segment_end {
            return Err(if end > len {
                ProbeError::truncated(
                    format,
                    format!(
                        "element 0x{:X} at offset {pos} runs past end of file",
                        el.id
                    ),
                )
            } else {
                ProbeError::malformed(
                    format,
                    format!("element 0x{:X} at offset {pos} overruns the segment", el.id),
                )
            });
        }
        pos = end;
    }
    if !tracks {
        return Err(ProbeError::malformed(format, "segment has no tracks"));
    }
    let mut info = MediaInfo::new(format);
    if let Some((width, height)) = size {
        check_dimensions(format, width, height, limits)?;
        info.width = Some(width);
        info.height = Some(height);
    }
    info.trailing_bytes = len - segment_end;
    Ok(info)
}
