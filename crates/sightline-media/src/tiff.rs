//! TIFF (classic and BigTIFF): header, then the first IFD.

use std::io::{Read, Seek};

use crate::source::Source;
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

const F: Format = Format::Tiff;

const IMAGE_WIDTH: u16 = 256;
const IMAGE_LENGTH: u16 = 257;
const STRIP_OFFSETS: u16 = 273;
const STRIP_BYTE_COUNTS: u16 = 279;
const TILE_OFFSETS: u16 = 324;
const TILE_BYTE_COUNTS: u16 = 325;

const SHORT: u16 = 3;
const LONG: u16 = 4;
const LONG8: u16 = 16;

#[derive(Clone, Copy)]
struct Layout {
    little: bool,
    big_tiff: bool,
}

impl Layout {
    fn uint(self, b: &[u8]) -> u64 {
        let mut v = 0u64;
        if self.little {
            for &x in b.iter().rev() {
                v = (v << 8) | u64::from(x);
            }
        } else {
            for &x in b {
                v = (v << 8) | u64::from(x);
            }
        }
        v
    }

    /// Size of an IFD entry count, an entry, the inline value field.
    fn count_size(self) -> u64 {
        if self.big_tiff { 8 } else { 2 }
    }

    fn entry_size(self) -> u64 {
        if self.big_tiff { 20 } else { 12 }
    }

    fn field_size(self) -> u64 {
        if self.big_tiff { 8 } else { 4 }
    }
}

fn type_size(typ: u16) -> Option<u64> {
    match typ {
        SHORT => Some(2),
        LONG => Some(4),
        LONG8 => Some(8),
        _ => None,
    }
}

/// Size of one value of any known field type; `None` for unknown types,
/// which readers skip.
fn any_type_size(typ: u16) -> Option<u64> {
    match typ {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 | 16 | 17 | 18 => Some(8),
        _ => None,
    }
}

/// An IFD entry whose values are unsigned integers.
#[derive(Clone, Copy)]
struct Entry {
    typ: u16,
    count: u64,
    /// Where the values are: inside the entry or at an offset in the file.
    at: u64,
}

pub(crate) fn probe<R: Read + Seek>(
    src: &mut Source<'_, R>,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    let head: [u8; 16] = match src.array(0)? {
        Some(h) => h,
        None => {
            let mut h = [0u8; 16];
            let got = src.window(0, 16)?;
            h[..got.len()].copy_from_slice(got);
            if got.len() < 8 {
                return Err(ProbeError::truncated(F, "file ends inside the header"));
            }
            h
        }
    };
    let little = &head[0..2] == b"II";
    let probe_layout = Layout {
        little,
        big_tiff: false,
    };
    let magic = probe_layout.uint(&head[2..4]);
    let layout = Layout {
        little,
        big_tiff: magic == 43,
    };
    let (ifd, header_len) = if layout.big_tiff {
        if src.len() < 16 {
            return Err(ProbeError::truncated(F, "file ends inside the header"));
        }
        if layout.uint(&head[4..6]) != 8 || layout.uint(&head[6..8]) != 0 {
            return Err(ProbeError::malformed(F, "bad bigtiff offset size"));
        }
        (layout.uint(&head[8..16]), 16)
    } else {
        (layout.uint(&head[4..8]), 8)
    };
    if ifd < header_len {
        return Err(ProbeError::malformed(
            F,
            format!("first ifd offset {ifd} points into the header"),
        ));
    }
    let ifd_past_end = || {
        ProbeError::truncated(
            F,
            format!("first ifd at offset {ifd} runs past end of file"),
        )
    };
    let count_bytes = src
        .get(ifd, layout.count_size() as usize)?
        .ok_or_else(ifd_past_end)?;
    let count = layout.uint(count_bytes);
    if count == 0 {
        return Err(ProbeError::malformed(F, "first ifd has no entries"));
    }
    let ifd_end = count
        .checked_mul(layout.entry_size())
        .and_then(|n| n.checked_add(ifd + layout.count_size() + layout.field_size()))
        .ok_or_else(ifd_past_end)?;
    if ifd_end > src.len() {
        return Err(ifd_past_end());
    }

    let mut width = None;
    let mut height = None;
    let mut strips = (None, None);
    let mut tiles = (None, None);
    let first_entry = ifd + layout.count_size();
    for i in 0..count {
        let pos = first_entry + i * layout.entry_size();
        let e = src
            .get(pos, layout.entry_size() as usize)?
            .ok_or_else(ifd_past_end)?;
        let tag = layout.uint(&e[0..2]) as u16;
        let typ = layout.uint(&e[2..4]) as u16;
        let (count, field) = if layout.big_tiff {
            (layout.uint(&e[4..12]), 12)
        } else {
            (layout.uint(&e[4..8]), 8)
        };
        let field_value = layout.uint(&e[field..]);
        // Values too large for the entry live elsewhere in the file; a file
        // cut short loses them.
        if let Some(size) = any_type_size(typ)
            && let Some(total) = count.checked_mul(size)
            && total > layout.field_size()
            && field_value
                .checked_add(total)
                .is_none_or(|end| end > src.len())
        {
            return Err(ProbeError::truncated(
                F,
                format!("values of tag {tag} at offset {field_value} run past end of file"),
            ));
        }
        if !matches!(
            tag,
            IMAGE_WIDTH
                | IMAGE_LENGTH
                | STRIP_OFFSETS
                | STRIP_BYTE_COUNTS
                | TILE_OFFSETS
                | TILE_BYTE_COUNTS
        ) {
            continue;
        }
        let Some(size) = type_size(typ) else {
            return Err(ProbeError::malformed(
                F,
                format!("tag {tag} has non-integer type {typ}"),
            ));
        };
        if count == 0 {
            return Err(ProbeError::malformed(F, format!("tag {tag} has no values")));
        }
        let inline = count
            .checked_mul(size)
            .is_some_and(|n| n <= layout.field_size());
        let entry = Entry {
            typ,
            count,
            at: if inline {
                pos + field as u64
            } else {
                field_value
            },
        };
        match tag {
            IMAGE_WIDTH | IMAGE_LENGTH => {
                let v = read_value(src, layout, entry, 0)?;
                let v = u32::try_from(v).unwrap_or(u32::MAX);
                if tag == IMAGE_WIDTH {
                    width = Some(v);
                } else {
                    height = Some(v);
                }
            }
            STRIP_OFFSETS => strips.0 = Some(entry),
            STRIP_BYTE_COUNTS => strips.1 = Some(entry),
            TILE_OFFSETS => tiles.0 = Some(entry),
            _ => tiles.1 = Some(entry),
        }
    }
    let (Some(width), Some(height)) = (width, height) else {
        return Err(ProbeError::malformed(
            F,
            "first ifd lacks image width or length",
        ));
    };
    check_dimensions(F, width, height, limits)?;
    for (offsets, counts) in [strips, tiles] {
        if let (Some(offsets), Some(counts)) = (offsets, counts) {
            check_data_extent(src, layout, offsets, counts)?;
        }
    }
    Ok(MediaInfo::with_dims(F, width, height))
}

/// Value `index` of an integer entry.
fn read_value<R: Read + Seek>(
    src: &mut Source<'_, R>,
    layout: Layout,
    entry: Entry,
    index: u64,
) -> Result<u64, ProbeError> {
    let size = type_size(entry.typ).unwrap_or(4);
    let at = index
        .checked_mul(size)
        .and_then(|n| n.checked_add(entry.at));
    let bytes = match at {
        Some(at) => src.get(at, size as usize)?,
        None => None,
    };
    let bytes = bytes.ok_or_else(|| {
        ProbeError::truncated(
            F,
            format!("values at offset {} run past end of file", entry.at),
        )
    })?;
    Ok(layout.uint(bytes))
}

/// Every strip or tile must lie within the file.
fn check_data_extent<R: Read + Seek>(
    src: &mut Source<'_, R>,
    layout: Layout,
    offsets: Entry,
    counts: Entry,
) -> Result<(), ProbeError> {
    if offsets.count != counts.count {
        return Err(ProbeError::malformed(
            F,
            "strip or tile offsets and byte counts differ in number",
        ));
    }
    // Check the arrays fit in the file before looping over them, so the loop
    // is bounded by the file length.
    read_value(src, layout, offsets, offsets.count - 1)?;
    read_value(src, layout, counts, counts.count - 1)?;
    for i in 0..offsets.count {
        let off = read_value(src, layout, offsets, i)?;
        let n = read_value(src, layout, counts, i)?;
        if off.checked_add(n).is_none_or(|end| end > src.len()) {
            return Err(ProbeError::truncated(
                F,
                format!("image data at offset {off} runs past end of file"),
            ));
        }
    }
    Ok(())
}
