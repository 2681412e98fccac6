//! BMP: file header and DIB header.

use std::io::{Read, Seek};

use crate::source::{Source, le16, le32, sub};
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

const F: Format = Format::Bmp;

/// DIB header sizes of the known BMP header versions (OS/2 1.x core header,
/// BITMAPINFOHEADER, the Adobe V2/V3 variants, OS/2 2.x, V4 and V5).
pub(crate) fn valid_dib_size(size: u32) -> bool {
    matches!(size, 12 | 40 | 52 | 56 | 64 | 108 | 124)
}

pub(crate) fn probe<R: Read + Seek>(
    src: &mut Source<'_, R>,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    let file_header: [u8; 18] = src
        .array(0)?
        .ok_or_else(|| ProbeError::truncated(F, "file ends inside the header"))?;
    let pixel_offset = u64::from(le32(sub(&file_header, 10)));
    let dib_size = le32(sub(&file_header, 14));
    if !valid_dib_size(dib_size) {
        return Err(ProbeError::malformed(
            F,
            format!("unknown dib header size {dib_size}"),
        ));
    }
    let dib_end = 14 + u64::from(dib_size);
    let dib = src
        .get(14, dib_size as usize)?
        .ok_or_else(|| ProbeError::truncated(F, "file ends inside the dib header"))?;
    let (width, height, planes, bpp, compression) = if dib_size == 12 {
        (
            i64::from(le16(sub(dib, 4))),
            i64::from(le16(sub(dib, 6))),
            le16(sub(dib, 8)),
            le16(sub(dib, 10)),
            0,
        )
    } else {
        (
            i64::from(le32(sub(dib, 4)) as i32),
            i64::from(le32(sub(dib, 8)) as i32),
            le16(sub(dib, 12)),
            le16(sub(dib, 14)),
            le32(sub(dib, 16)),
        )
    };
    if width < 0 {
        return Err(ProbeError::malformed(F, format!("negative width {width}")));
    }
    // A negative height means rows are stored top-down.
    let width = u32::try_from(width).unwrap_or(u32::MAX);
    let height = u32::try_from(height.unsigned_abs()).unwrap_or(u32::MAX);
    check_dimensions(F, width, height, limits)?;
    if planes != 1 {
        return Err(ProbeError::malformed(F, format!("{planes} colour planes")));
    }
    // Bit depth 0 is used with embedded JPEG/PNG data.
    if !matches!(bpp, 0 | 1 | 2 | 4 | 8 | 16 | 24 | 32 | 64) {
        return Err(ProbeError::malformed(F, format!("invalid bit depth {bpp}")));
    }
    if pixel_offset < dib_end {
        return Err(ProbeError::malformed(
            F,
            format!("pixel data offset {pixel_offset} points into the headers"),
        ));
    }
    if pixel_offset > src.len() {
        return Err(ProbeError::truncated(
            F,
            format!("file ends before the pixel data at offset {pixel_offset}"),
        ));
    }
    // Uncompressed rows have a known size: each padded to 4 bytes.
    const BI_RGB: u32 = 0;
    const BI_BITFIELDS: u32 = 3;
    const BI_ALPHABITFIELDS: u32 = 6;
    if matches!(compression, BI_RGB | BI_BITFIELDS | BI_ALPHABITFIELDS) && bpp != 0 {
        let stride = (u64::from(width) * u64::from(bpp)).div_ceil(32) * 4;
        let end = pixel_offset + stride * u64::from(height);
        if end > src.len() {
            return Err(ProbeError::truncated(
                F,
                format!(
                    "pixel data needs {} bytes but the file has {}",
                    end - pixel_offset,
                    src.len() - pixel_offset
                ),
            ));
        }
    }
    Ok(MediaInfo::with_dims(F, width, height))
}
