//! JPEG: walk the marker segments from SOI to EOI.

use std::io::{Read, Seek};

use crate::source::{Source, WINDOW, be16};
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

const F: Format = Format::Jpeg;
const NO_EOI: &str = "no end-of-image marker";

/// Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC
/// (DAC) share the range but are not frame headers.
fn is_sof(marker: u8) -> bool {
    (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

pub(crate) fn probe<R: Read + Seek>(
    src: &mut Source<'_, R>,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    // Sniffing established FF D8 FF at offset 0.
    let mut pos = 2u64;
    let mut dims: Option<(u32, u32)> = None;
    let mut scanned = false;
    let mut corrupt = Corruption::default();
    loop {
        let (marker, at) = read_marker(src, pos)?;
        let after = at + 2;
        match marker {
            0xD9 => {
                let Some((width, height)) = dims.filter(|_| scanned) else {
                    return Err(ProbeError::malformed(
                        F,
                        "end-of-image marker before any scan",
                    ));
                };
                let mut info = MediaInfo::with_dims(F, width, height);
                info.trailing_bytes = src.len().saturating_sub(after);
                if let Some(first) = corrupt.first {
                    info.warnings.push(format!(
                        "corrupt entropy-coded data: {} invalid marker(s), the first 0x{:02X} at offset {}; decoders skip it and show the image",
                        corrupt.count, first.0, first.1
                    ));
                }
                return Ok(info);
            }
            0xD8 => {
                return Err(ProbeError::malformed(
                    F,
                    format!("second start-of-image marker at offset {at}"),
                ));
            }
            0x00 => {
                return Err(ProbeError::malformed(
                    F,
                    format!("stuffed zero byte outside a scan at offset {at}"),
                ));
            }
            // Standalone markers without a length: TEM and the restarts.
            0x01 | 0xD0..=0xD7 => pos = after,
            // Reserved codes never appear in a valid stream; inside
            // entropy-coded data they mark corruption.
            0x02..=0xBF => {
                return Err(ProbeError::malformed(
                    F,
                    format!("invalid marker 0x{marker:02X} at offset {at}"),
                ));
            }
            _ => {
                let past_end = || {
                    ProbeError::truncated(
                        F,
                        format!("segment 0x{marker:02X} at offset {at} runs past end of file"),
                    )
                };
                let seg_len = u64::from(be16(src.array(after)?.ok_or_else(past_end)?));
                if seg_len < 2 {
                    return Err(ProbeError::malformed(
                        F,
                        format!("segment 0x{marker:02X} at offset {at} has length {seg_len}"),
                    ));
                }
                let end = after + seg_len;
                if end > src.len() {
                    return Err(past_end());
                }
                if is_sof(marker) {
                    if seg_len < 8 {
                        return Err(ProbeError::malformed(F, "frame header too short"));
                    }
                    let b: [u8; 5] = src.array(after + 2)?.ok_or_else(past_end)?;
                    let height = u32::from(be16([b[1], b[2]]));
                    let width = u32::from(be16([b[3], b[4]]));
                    if dims.is_none() {
                        check_dimensions(F, width, height, limits)?;
                        dims = Some((width, height));
                    }
                }
                if marker == 0xDA {
                    if dims.is_none() {
                        return Err(ProbeError::malformed(F, "scan before any frame header"));
                    }
                    scanned = true;
                    pos = scan_entropy(src, end, &mut corrupt)?;
                } else {
                    pos = end;
                }
            }
        }
    }
}

/// Read the marker expected at `pos`, skipping fill bytes. Returns the marker
/// code and the offset of the 0xFF immediately before it.
fn read_marker<R: Read + Seek>(src: &mut Source<'_, R>, pos: u64) -> Result<(u8, u64), ProbeError> {
    match src.byte(pos)? {
        None => return Err(ProbeError::truncated(F, NO_EOI)),
        Some(0xFF) => {}
        Some(b) => {
            return Err(ProbeError::malformed(
                F,
                format!("expected a marker at offset {pos}, found 0x{b:02X}"),
            ));
        }
    }
    let mut p = pos + 1;
    loop {
        match src.byte(p)? {
            None => return Err(ProbeError::truncated(F, NO_EOI)),
            Some(0xFF) => p += 1,
            Some(marker) => return Ok((marker, p - 1)),
        }
    }
}

/// Invalid marker codes met inside entropy-coded data.
#[derive(Default)]
struct Corruption {
    count: u64,
    /// The first one's code and offset.
    first: Option<(u8, u64)>,
}

/// Scan entropy-coded data from `start` for the next marker that is not a
/// stuffed zero or a restart. Returns the offset of its 0xFF.
///
/// An invalid marker code (0x01–0xBF) inside the data is corruption that
/// decoders (libjpeg-turbo among them) step over with a warning and still
/// show the image, so it is counted, not fatal: evidence that a viewer
/// displays must not be refused.
fn scan_entropy<R: Read + Seek>(
    src: &mut Source<'_, R>,
    start: u64,
    corrupt: &mut Corruption,
) -> Result<u64, ProbeError> {
    let mut p = start;
    loop {
        let window = src.window(p, WINDOW)?;
        if window.is_empty() {
            return Err(ProbeError::truncated(F, NO_EOI));
        }
        let Some(i) = memchr::memchr(0xFF, window) else {
            p += window.len() as u64;
            continue;
        };
        let mut q = p + i as u64 + 1;
        let marker = loop {
            match src.byte(q)? {
                None => return Err(ProbeError::truncated(F, NO_EOI)),
                Some(0xFF) => q += 1,
                Some(m) => break m,
            }
        };
        if marker == 0x00 || (0xD0..=0xD7).contains(&marker) {
            p = q + 1;
        } else if (0x01..=0xBF).contains(&marker) {
            corrupt.count += 1;
            corrupt.first.get_or_insert((marker, q - 1));
            p = q + 1;
        } else {
            return Ok(q - 1);
        }
    }
}
