//! ISO base media file format (MP4, QuickTime, 3GP, HEIF, AVIF): boxes.

use std::io::{Read, Seek};

use crate::source::{Source, be16, be32, sub};
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

/// At most this many top-level boxes are walked.
const MAX_TOP_LEVEL_BOXES: u32 = 100_000;
/// At most this many nested boxes are walked in all.
const MAX_NESTED_BOXES: u32 = 1_000_000;
/// Nesting deeper than this is rejected.
const MAX_DEPTH: u32 = 16;
/// At most this many bytes of `ftyp` are considered.
const MAX_FTYP: usize = 1024;

/// Top-level box types that start a classic QuickTime file without `ftyp`.
pub(crate) fn is_classic_quicktime_start(kind: &[u8]) -> bool {
    matches!(
        kind,
        b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
    )
}

/// Decide the format from an `ftyp` payload: major brand, minor version,
/// compatible brands. Returns a description for files that are not images or
/// videos (audio-only MPEG-4).
pub(crate) fn classify_ftyp(body: &[u8]) -> Result<Format, &'static str> {
    let Some(major) = body.get(0..4) else {
        return Ok(Format::Mp4);
    };
    let compatible = body.get(8..).unwrap_or(&[]);
    let has = |brand: &[u8]| major == brand || compatible.chunks_exact(4).any(|c| c == brand);
    match major {
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"hevm" | b"hevs" => {
            Ok(Format::Heif)
        }
        b"avif" | b"avis" => Ok(Format::Avif),
        b"mif1" | b"msf1" | b"mif2" | b"miaf" => {
            if has(b"avif") || has(b"avis") {
                Ok(Format::Avif)
            } else {
                Ok(Format::Heif)
            }
        }
        b"qt  " => Ok(Format::QuickTime),
        b"M4A " | b"M4B " | b"M4P " | b"F4A " | b"F4B " => Err("audio"),
        b"crx " => Err("canon raw image (unsupported)"),
        _ if major.starts_with(b"3g") => Ok(Format::ThreeGp),
        _ => Ok(Format::Mp4),
    }
}

/// A box header.
#[derive(Debug, Clone, Copy)]
struct BoxHeader {
    kind: [u8; 4],
    /// Offset of the payload.
    data: u64,
    /// Offset just past the box.
    end: u64,
}

fn box_name(kind: [u8; 4]) -> String {
    kind.iter()
        .map(|&b| match b {
            0x20..=0x7E => char::from(b).to_string(),
            0xA9 => "\u{a9}".to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

fn valid_kind(kind: [u8; 4]) -> bool {
    kind.iter()
        .all(|&b| (0x20..=0x7E).contains(&b) || b == 0xA9)
}

/// Outcome of reading a nested box header.
enum Next {
    Box(BoxHeader),
    /// No further boxes in the parent (end reached, or a zero terminator).
    Done,
}

/// A callback for [`Walker::walk`]: the walker, the box, its depth and its
/// parent's type.
type Visit<'v, W> = dyn FnMut(&mut W, &BoxHeader, u32, [u8; 4]) -> Result<(), ProbeError> + 'v;

struct Walker<'s, 'a, R> {
    src: &'s mut Source<'a, R>,
    format: Format,
    nested: u32,
}

impl<R: Read + Seek> Walker<'_, '_, R> {
    fn malformed(&self, detail: String) -> ProbeError {
        ProbeError::malformed(self.format, detail)
    }

    fn truncated(&self, detail: String) -> ProbeError {
        ProbeError::truncated(self.format, detail)
    }

    /// Read a top-level box header at `pos` (< file length).
    fn top_level(&mut self, pos: u64) -> Result<BoxHeader, ProbeError> {
        let len = self.src.len();
        let Some(head) = self.src.array::<8>(pos)? else {
            return Err(self.truncated(format!("box header at offset {pos} is cut off")));
        };
        let kind: [u8; 4] = sub(&head, 4);
        if !valid_kind(kind) {
            return Err(self.malformed(format!(
                "invalid box type '{}' at offset {pos}",
                box_name(kind)
            )));
        }
        let name = box_name(kind);
        let past_end = || format!("box '{name}' runs past end of file");
        let (data, size) = match be32(sub(&head, 0)) {
            0 => (pos + 8, len - pos),
            1 => {
                let Some(large) = self.src.array::<8>(pos + 8)? else {
                    return Err(self.truncated(past_end()));
                };
                (pos + 16, u64::from_be_bytes(large))
            }
            n => (pos + 8, u64::from(n)),
        };
        if size < data - pos {
            return Err(self.malformed(format!(
                "box '{name}' at offset {pos} has invalid size {size}"
            )));
        }
        match pos.checked_add(size) {
            Some(end) if end <= len => Ok(BoxHeader { kind, data, end }),
            _ => Err(self.truncated(past_end())),
        }
    }

    /// Read a nested box header at `pos` within a parent ending at `end`.
    fn nested(&mut self, pos: u64, end: u64, parent: [u8; 4]) -> Result<Next, ProbeError> {
        if pos.saturating_add(8) > end {
            // Fewer than 8 bytes left: QuickTime allows a 32-bit zero
            // terminator; anything else is left over and ignored.
            return Ok(Next::Done);
        }
        self.nested += 1;
        if self.nested > MAX_NESTED_BOXES {
            return Err(self.malformed(format!("more than {MAX_NESTED_BOXES} nested boxes")));
        }
        let Some(head) = self.src.array::<8>(pos)? else {
            return Err(self.truncated(format!("box header at offset {pos} is cut off")));
        };
        let size = be32(sub(&head, 0));
        let kind: [u8; 4] = sub(&head, 4);
        if size == 0 && kind == [0; 4] {
            return Ok(Next::Done);
        }
        let overrun = |name: String| {
            format!(
                "box '{name}' at offset {pos} overruns its parent '{}'",
                box_name(parent)
            )
        };
        if !valid_kind(kind) {
            return Err(self.malformed(format!(
                "invalid box type '{}' at offset {pos} in '{}'",
                box_name(kind),
                box_name(parent)
            )));
        }
        let (data, size) = match size {
            0 => (pos + 8, end - pos),
            1 => {
                if pos.saturating_add(16) > end {
                    return Err(self.malformed(overrun(box_name(kind))));
                }
                let Some(large) = self.src.array::<8>(pos + 8)? else {
                    return Err(self.truncated(format!("box header at offset {pos} is cut off")));
                };
                (pos + 16, u64::from_be_bytes(large))
            }
            n => (pos + 8, u64::from(n)),
        };
        if size < data - pos {
            return Err(self.malformed(format!(
                "box '{}' at offset {pos} has invalid size {size}",
                box_name(kind)
            )));
        }
        match pos.checked_add(size) {
            Some(box_end) if box_end <= end => Ok(Next::Box(BoxHeader {
                kind,
                data,
                end: box_end,
            })),
            _ => Err(self.malformed(overrun(box_name(kind)))),
        }
    }

    /// Where the children of a container box start, or `None` if the box is
    /// not a container this probe walks into.
    fn children_start(&mut self, b: &BoxHeader) -> Result<Option<u64>, ProbeError> {
        Ok(match &b.kind {
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" | b"dinf" | b"mvex"
            | b"moof" | b"traf" | b"mfra" | b"tref" | b"iprp" | b"ipco" | b"sinf" | b"schi"
            | b"udta" => Some(b.data),
            b"meta" => {
                // ISO 'meta' is a full box (4 bytes of version and flags);
                // QuickTime's is a plain container starting with 'hdlr'.
                let plain = self
                    .src
                    .array::<4>(b.data + 4)?
                    .is_some_and(|k| &k == b"hdlr");
                Some(if plain { b.data } else { b.data + 4 })
            }
            _ => None,
        })
    }

    /// Walk the children of `parent` (depth-capped), calling `visit` on each
    /// box found at any depth with its depth and its parent's type.
    fn walk(
        &mut self,
        parent: &BoxHeader,
        depth: u32,
        visit: &mut Visit<'_, Self>,
    ) -> Result<(), ProbeError> {
        let Some(mut pos) = self.children_start(parent)? else {
            return Ok(());
        };
        if depth >= MAX_DEPTH {
            return Err(self.malformed(format!("boxes nested deeper than {MAX_DEPTH}")));
        }
        // 'udta' holds free-form data in QuickTime files; do not insist on
        // box structure there.
        let lenient = &parent.kind == b"udta";
        while pos < parent.end {
            let child = match self.nested(pos, parent.end, parent.kind) {
                Ok(Next::Box(child)) => child,
                Ok(Next::Done) => break,
                Err(ProbeError::Malformed { .. }) if lenient => break,
                Err(e) => return Err(e),
            };
            visit(self, &child, depth + 1, parent.kind)?;
            match self.walk(&child, depth + 1, visit) {
                Err(ProbeError::Malformed { .. }) if lenient => {}
                other => other?,
            }
            pos = child.end;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Seen {
    moov: bool,
    trak: bool,
    mdat: bool,
    meta: bool,
    /// Primary item of a HEIF/AVIF file.
    pitm: Option<u32>,
    ipco: Option<BoxHeader>,
    ipma: Vec<BoxHeader>,
    iloc: Option<BoxHeader>,
    /// Stored size of the first video track.
    video_size: Option<(u32, u32)>,
}

/// What a `trak` box says about its media.
#[derive(Default)]
struct Track {
    video: bool,
    size: Option<(u32, u32)>,
}

impl Track {
    /// Record the size of the first video track with a non-zero size.
    fn finish(&self, first: &mut Option<(u32, u32)>) {
        if self.video
            && first.is_none()
            && let Some((w, h)) = self.size
            && w != 0
            && h != 0
        {
            *first = Some((w, h));
        }
    }
}

/// Width and height of the first sample entry in an `stsd` box, read where a
/// visual sample entry (ISO) or video sample description (QuickTime) keeps
/// them: 24 bytes into the entry's payload.
fn sample_entry_size<R: Read + Seek>(
    src: &mut Source<'_, R>,
    stsd: &BoxHeader,
) -> Result<Option<(u32, u32)>, ProbeError> {
    // Full box header (4), entry count (4), then the first entry's header.
    let entry = stsd.data + 8;
    let Some(head) = src.array::<8>(entry)? else {
        return Ok(None);
    };
    let entry_end = entry.saturating_add(u64::from(be32(sub(&head, 0))));
    let at = entry + 8 + 24;
    if at + 4 > entry_end || entry_end > stsd.end {
        return Ok(None);
    }
    Ok(src
        .array::<4>(at)?
        .map(|v| (u32::from(be16(sub(&v, 0))), u32::from(be16(sub(&v, 2))))))
}

pub(crate) fn probe<R: Read + Seek>(
    src: &mut Source<'_, R>,
    sniffed: Format,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    let mut w = Walker {
        src,
        format: sniffed,
        nested: 0,
    };
    let len = w.src.len();
    let mut seen = Seen::default();
    let mut pos = 0u64;
    let mut count = 0u32;
    while pos < len {
        count += 1;
        if count > MAX_TOP_LEVEL_BOXES {
            return Err(w.malformed(format!("more than {MAX_TOP_LEVEL_BOXES} top-level boxes")));
        }
        let b = w.top_level(pos)?;
        match &b.kind {
            b"ftyp" if pos == 0 => {
                let n = usize::try_from(b.end - b.data)
                    .unwrap_or(MAX_FTYP)
                    .min(MAX_FTYP);
                let body = w
                    .src
                    .get(b.data, n)?
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                if body.len() < 8 {
                    return Err(w.malformed("'ftyp' box too short".into()));
                }
                w.format = classify_ftyp(&body)
                    .map_err(|looks_like| ProbeError::NotMedia { looks_like })?;
            }
            b"moov" => {
                seen.moov = true;
                let mut track = Track::default();
                w.walk(&b, 0, &mut |w, child, depth, parent| {
                    match (&child.kind, depth, &parent) {
                        (b"trak", 1, _) => {
                            seen.trak = true;
                            track.finish(&mut seen.video_size);
                            track = Track::default();
                        }
                        // 'cmov' is an old QuickTime compressed movie header
                        // whose tracks cannot be seen without inflating it.
                        (b"cmov", 1, _) => seen.trak = true,
                        (b"hdlr", _, b"mdia") => {
                            track.video = w.src.array::<4>(child.data + 8)? == Some(*b"vide")
                                && child.data + 12 <= child.end;
                        }
                        (b"stsd", _, b"stbl") => track.size = sample_entry_size(w.src, child)?,
                        _ => {}
                    }
                    Ok(())
                })?;
                track.finish(&mut seen.video_size);
            }
            b"mdat" => seen.mdat = true,
            b"meta" => {
                seen.meta = true;
                w.walk(&b, 0, &mut |w, child, depth, _| {
                    match (&child.kind, depth) {
                        (b"pitm", 1) => {
                            seen.pitm = read_pitm(w.src, child)?;
                        }
                        (b"iloc", 1) => seen.iloc = Some(*child),
                        (b"ipco", 2) => seen.ipco = Some(*child),
                        // A handful of association boxes at most; the cap
                        // keeps memory bounded whatever the file says.
                        (b"ipma", 2) if seen.ipma.len() < 16 => seen.ipma.push(*child),
                        _ => {}
                    }
                    Ok(())
                })?;
            }
            b"moof" | b"mfra" => {
                w.walk(&b, 0, &mut |_, _, _, _| Ok(()))?;
            }
            _ => {}
        }
        pos = b.end;
    }
    let format = w.format;
    let mut info = MediaInfo::new(format);
    match format {
        Format::Heif | Format::Avif => {
            if !seen.meta {
                return Err(w.malformed("no 'meta' box: the file has no image items".into()));
            }
            if let Some(iloc) = seen.iloc {
                check_item_extents(w.src, format, &iloc)?;
            }
            if let Some((width, height)) = primary_item_size(&mut w, &seen)? {
                check_dimensions(format, width, height, limits)?;
                info.width = Some(width);
                info.height = Some(height);
            }
        }
        _ => {
            if !seen.moov {
                return Err(w.malformed(
                    "no 'moov' box: the file has no index and cannot be played".into(),
                ));
            }
            if !seen.trak {
                return Err(w.malformed("'moov' box has no tracks".into()));
            }
            if !seen.mdat {
                return Err(w.malformed("no 'mdat' box: the file has no media data".into()));
            }
            if let Some((width, height)) = seen.video_size {
                check_dimensions(format, width, height, limits)?;
                info.width = Some(width);
                info.height = Some(height);
            }
        }
    }
    Ok(info)
}

/// Reads big-endian unsigned fields of 0, 2, 4 or 8 bytes within a box,
/// failing softly (`None`) at the box end.
struct FieldReader {
    pos: u64,
    end: u64,
}

impl FieldReader {
    fn read<R: Read + Seek>(
        &mut self,
        src: &mut Source<'_, R>,
        size: u64,
    ) -> Result<Option<u64>, ProbeError> {
        if size == 0 {
            return Ok(Some(0));
        }
        if self.pos + size > self.end {
            return Ok(None);
        }
        let Some(bytes) = src.get(self.pos, size as usize)? else {
            return Ok(None);
        };
        let v = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        self.pos += size;
        Ok(Some(v))
    }
}

/// Every item stored in this file (construction method 0, data reference 0)
/// must have its extents inside the file: a HEIF cut short loses them.
fn check_item_extents<R: Read + Seek>(
    src: &mut Source<'_, R>,
    format: Format,
    iloc: &BoxHeader,
) -> Result<(), ProbeError> {
    let malformed = |what: &str| ProbeError::malformed(format, format!("'iloc' box {what}"));
    let Some((version, _)) = full_box(src, iloc)? else {
        return Err(malformed("is too short"));
    };
    if version > 2 {
        return Err(malformed("has an unknown version"));
    }
    let mut f = FieldReader {
        pos: iloc.data + 4,
        end: iloc.end,
    };
    let short = || malformed("is cut short");
    let sizes = f.read(src, 2)?.ok_or_else(short)?;
    let nibble = |shift: u32| (sizes >> shift) & 0xF;
    let (offset_size, length_size, base_size) = (nibble(12), nibble(8), nibble(4));
    let index_size = if version == 0 { 0 } else { nibble(0) };
    for size in [offset_size, length_size, base_size, index_size] {
        if !matches!(size, 0 | 4 | 8) {
            return Err(malformed("has an invalid field size"));
        }
    }
    let id_size = if version < 2 { 2 } else { 4 };
    let items = f.read(src, id_size)?.ok_or_else(short)?;
    // Each item takes at least 6 bytes, so the loop ends with the box.
    for _ in 0..items {
        let id = f.read(src, id_size)?.ok_or_else(short)?;
        let method = if version == 0 {
            0
        } else {
            f.read(src, 2)?.ok_or_else(short)? & 0xF
        };
        let data_ref = f.read(src, 2)?.ok_or_else(short)?;
        let base = f.read(src, base_size)?.ok_or_else(short)?;
        let extents = f.read(src, 2)?.ok_or_else(short)?;
        if offset_size + length_size + index_size == 0 {
            // Extents without fields (offset 0, length 0: the whole file)
            // take no bytes; nothing to check and no progress to make.
            continue;
        }
        for _ in 0..extents {
            f.read(src, index_size)?.ok_or_else(short)?;
            let offset = f.read(src, offset_size)?.ok_or_else(short)?;
            let length = f.read(src, length_size)?.ok_or_else(short)?;
            if method != 0 || data_ref != 0 {
                continue;
            }
            let end = base
                .checked_add(offset)
                .and_then(|start| start.checked_add(length));
            if end.is_none_or(|end| end > src.len()) {
                return Err(ProbeError::truncated(
                    format,
                    format!("data of item {id} runs past end of file"),
                ));
            }
        }
    }
    Ok(())
}

/// Read the 4-byte full box version/flags at `b.data`.
fn full_box<R: Read + Seek>(
    src: &mut Source<'_, R>,
    b: &BoxHeader,
) -> Result<Option<(u8, u32)>, ProbeError> {
    if b.end - b.data < 4 {
        return Ok(None);
    }
    Ok(src
        .array::<4>(b.data)?
        .map(|v| (v[0], u32::from_be_bytes([0, v[1], v[2], v[3]]))))
}

fn read_pitm<R: Read + Seek>(
    src: &mut Source<'_, R>,
    b: &BoxHeader,
) -> Result<Option<u32>, ProbeError> {
    let Some((version, _)) = full_box(src, b)? else {
        return Ok(None);
    };
    let at = b.data + 4;
    Ok(if version == 0 {
        if at + 2 > b.end {
            return Ok(None);
        }
        src.array::<2>(at)?.map(|v| u32::from(be16(v)))
    } else {
        if at + 4 > b.end {
            return Ok(None);
        }
        src.array::<4>(at)?.map(be32)
    })
}

/// The size stated by the `ispe` property of the primary item, if any.
fn primary_item_size<R: Read + Seek>(
    w: &mut Walker<'_, '_, R>,
    seen: &Seen,
) -> Result<Option<(u32, u32)>, ProbeError> {
    let (Some(primary), Some(ipco)) = (seen.pitm, seen.ipco) else {
        return Ok(None);
    };
    for ipma in &seen.ipma {
        if let Some(mut indices) = associations(w.src, ipma, primary)? {
            indices.sort_unstable();
            indices.dedup();
            return ispe_among(w, &ipco, &indices);
        }
    }
    Ok(None)
}

/// Property indices (1-based) associated with `item` in an `ipma` box. At
/// most 255 associations per item, so the list is bounded.
fn associations<R: Read + Seek>(
    src: &mut Source<'_, R>,
    ipma: &BoxHeader,
    item: u32,
) -> Result<Option<Vec<u16>>, ProbeError> {
    let Some((version, flags)) = full_box(src, ipma)? else {
        return Ok(None);
    };
    let id_len: u64 = if version < 1 { 2 } else { 4 };
    let index_len: u64 = if flags & 1 != 0 { 2 } else { 1 };
    let mut pos = ipma.data + 4;
    let Some(count) = src.array::<4>(pos)?.map(be32) else {
        return Ok(None);
    };
    pos += 4;
    // Each entry takes at least id_len + 1 bytes, so the loop is bounded by
    // the box size whatever the count says.
    for _ in 0..count {
        if pos + id_len + 1 > ipma.end {
            return Ok(None);
        }
        let id = if id_len == 2 {
            src.array::<2>(pos)?.map(|v| u32::from(be16(v)))
        } else {
            src.array::<4>(pos)?.map(be32)
        };
        let Some(id) = id else { return Ok(None) };
        let n = src.byte(pos + id_len)?.unwrap_or(0);
        pos += id_len + 1;
        let entries_end = pos + u64::from(n) * index_len;
        if entries_end > ipma.end {
            return Ok(None);
        }
        if id == item {
            let mut out = Vec::with_capacity(usize::from(n));
            for i in 0..u64::from(n) {
                let at = pos + i * index_len;
                let index = if index_len == 2 {
                    src.array::<2>(at)?.map(|v| be16(v) & 0x7FFF)
                } else {
                    src.byte(at)?.map(|v| u16::from(v & 0x7F))
                };
                out.extend(index);
            }
            return Ok(Some(out));
        }
        pos = entries_end;
    }
    Ok(None)
}

/// The size in the first `ispe` among the properties of `ipco` whose 1-based
/// positions are listed (sorted) in `indices`. One pass over `ipco`.
fn ispe_among<R: Read + Seek>(
    w: &mut Walker<'_, '_, R>,
    ipco: &BoxHeader,
    indices: &[u16],
) -> Result<Option<(u32, u32)>, ProbeError> {
    let Some(&last) = indices.last() else {
        return Ok(None);
    };
    let mut pos = ipco.data;
    let mut n = 0u16;
    while pos < ipco.end && n < last {
        let Next::Box(b) = w.nested(pos, ipco.end, ipco.kind)? else {
            return Ok(None);
        };
        n += 1;
        if &b.kind == b"ispe"
            && indices.binary_search(&n).is_ok()
            && b.end - b.data >= 12
            && let Some(v) = w.src.array::<8>(b.data + 4)?
        {
            return Ok(Some((be32(sub(&v, 0)), be32(sub(&v, 4)))));
        }
        pos = b.end;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify() {
        assert_eq!(classify_ftyp(b""), Ok(Format::Mp4));
        assert_eq!(
            classify_ftyp(b"crx \0\0\0\x01"),
            Err("canon raw image (unsupported)")
        );
        assert_eq!(classify_ftyp(b"msf1\0\0\0\0avis"), Ok(Format::Avif));
        assert_eq!(classify_ftyp(b"3gp4\0\0\0\0"), Ok(Format::ThreeGp));
    }
}
