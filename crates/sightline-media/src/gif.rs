//! GIF: logical screen descriptor, then blocks up to the trailer.

use std::io::{Read, Seek};

use crate::source::{Source, le16, sub};
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

const F: Format = Format::Gif;
const NO_TRAILER: &str = "file ends before the trailer";

fn truncated() -> ProbeError {
    ProbeError::truncated(F, NO_TRAILER)
}

/// Size in bytes of a colour table announced by a packed field.
fn colour_table_len(packed: u8) -> u64 {
    if packed & 0x80 == 0 {
        0
    } else {
        3u64 << ((packed & 0x07) + 1)
    }
}

pub(crate) fn probe<R: Read + Seek>(
    src: &mut Source<'_, R>,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    // Header "GIF8?a" (6 bytes) was checked by sniffing; the logical screen
    // descriptor follows.
    let lsd: [u8; 7] = src.array(6)?.ok_or_else(truncated)?;
    let mut width = u32::from(le16(sub(&lsd, 0)));
    let mut height = u32::from(le16(sub(&lsd, 2)));
    let mut pos = 13 + colour_table_len(lsd[4]);
    let mut frames: u32 = 0;
    loop {
        let block = src.byte(pos)?.ok_or_else(truncated)?;
        match block {
            0x3B => break,
            0x21 => {
                // Extension: label, then data sub-blocks.
                src.byte(pos + 1)?.ok_or_else(truncated)?;
                pos = skip_sub_blocks(src, pos + 2)?;
            }
            0x2C => {
                let desc: [u8; 10] = src.array(pos)?.ok_or_else(truncated)?;
                let fw = u32::from(le16(sub(&desc, 5)));
                let fh = u32::from(le16(sub(&desc, 7)));
                if frames == 0 && (width == 0 || height == 0) {
                    // Some encoders leave the logical screen at 0x0; viewers
                    // then use the first frame's size.
                    width = fw;
                    height = fh;
                }
                check_dimensions(F, fw.max(1), fh.max(1), limits)?;
                pos += 10 + colour_table_len(desc[9]);
                let min_code_size = src.byte(pos)?.ok_or_else(truncated)?;
                if !(1..=11).contains(&min_code_size) {
                    return Err(ProbeError::malformed(
                        F,
                        format!("invalid lzw minimum code size {min_code_size} in frame {frames}"),
                    ));
                }
                pos = skip_sub_blocks(src, pos + 1)?;
                frames = frames.saturating_add(1);
            }
            other => {
                return Err(ProbeError::malformed(
                    F,
                    format!("unknown block 0x{other:02X} at offset {pos}"),
                ));
            }
        }
    }
    if frames == 0 {
        return Err(ProbeError::malformed(F, "no image in file"));
    }
    check_dimensions(F, width, height, limits)?;
    let mut info = MediaInfo::with_dims(F, width, height);
    info.frames = Some(frames);
    info.trailing_bytes = src.len().saturating_sub(pos + 1);
    Ok(info)
}

/// Skip a chain of data sub-blocks starting at `pos`; returns the offset after
/// the zero-length terminator.
fn skip_sub_blocks<R: Read + Seek>(
    src: &mut Source<'_, R>,
    mut pos: u64,
) -> Result<u64, ProbeError> {
    loop {
        let size = src.byte(pos)?.ok_or_else(truncated)?;
        pos += 1;
        if size == 0 {
            return Ok(pos);
        }
        pos += u64::from(size);
        if pos > src.len() {
            return Err(truncated());
        }
    }
}
