//! PNG: signature, IHDR (with CRC check), then chunks up to IEND.

use std::io::{Read, Seek};

use crate::crc32::Crc32;
use crate::source::{Source, be32, sub};
use crate::{Format, Limits, MediaInfo, ProbeError, check_dimensions};

const F: Format = Format::Png;
const MAX_CHUNK: u32 = 0x7FFF_FFFF;

fn chunk_name(kind: [u8; 4]) -> String {
    kind.iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

pub(crate) fn probe<R: Read + Seek>(
    src: &mut Source<'_, R>,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    // Signature (8 bytes) was established by sniffing. IHDR: length, type,
    // 13 data bytes, CRC.
    let ihdr: [u8; 25] = src
        .array(8)?
        .ok_or_else(|| ProbeError::truncated(F, "file ends inside the IHDR chunk"))?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(ProbeError::malformed(F, "first chunk is not IHDR"));
    }
    if be32(sub(&ihdr, 0)) != 13 {
        return Err(ProbeError::malformed(F, "IHDR length is not 13"));
    }
    let mut crc = Crc32::new();
    crc.update(&ihdr[4..21]);
    if crc.finish() != be32(sub(&ihdr, 21)) {
        return Err(ProbeError::malformed(F, "IHDR crc mismatch"));
    }
    let width = be32(sub(&ihdr, 8));
    let height = be32(sub(&ihdr, 12));
    if width > MAX_CHUNK || height > MAX_CHUNK {
        return Err(ProbeError::Dimensions {
            format: F,
            width,
            height,
            detail: "over the png maximum of 2^31-1".into(),
        });
    }
    check_dimensions(F, width, height, limits)?;
    let (depth, colour) = (ihdr[16], ihdr[17]);
    let depth_ok = match colour {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    if !depth_ok {
        return Err(ProbeError::malformed(
            F,
            format!("invalid bit depth {depth} for colour type {colour}"),
        ));
    }
    if ihdr[18] != 0 || ihdr[19] != 0 || ihdr[20] > 1 {
        return Err(ProbeError::malformed(
            F,
            "unknown compression, filter or interlace method",
        ));
    }

    let len = src.len();
    let mut pos = 33u64;
    let mut seen_idat = false;
    let mut seen_plte = false;
    loop {
        let ends_early =
            |what: String| ProbeError::truncated(F, format!("ends before IEND ({what})"));
        let Some(head) = src.array::<8>(pos)? else {
            return Err(ends_early(format!("no chunk header at offset {pos}")));
        };
        let data_len = be32(sub(&head, 0));
        let kind: [u8; 4] = sub(&head, 4);
        let name = chunk_name(kind);
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(ProbeError::malformed(
                F,
                format!("invalid chunk type '{name}' at offset {pos}"),
            ));
        }
        if data_len > MAX_CHUNK {
            return Err(ProbeError::malformed(
                F,
                format!("chunk '{name}' length {data_len} exceeds 2^31-1"),
            ));
        }
        let end = pos + 12 + u64::from(data_len);
        if end > len {
            return Err(ends_early(format!("chunk '{name}' runs past end of file")));
        }
        match &kind {
            b"IHDR" => return Err(ProbeError::malformed(F, "second IHDR chunk")),
            b"PLTE" => {
                if seen_idat {
                    return Err(ProbeError::malformed(F, "PLTE after IDAT"));
                }
                seen_plte = true;
            }
            b"IDAT" => seen_idat = true,
            b"IEND" => {
                if data_len != 0 {
                    return Err(ProbeError::malformed(F, "IEND chunk has data"));
                }
                if !seen_idat {
                    return Err(ProbeError::malformed(F, "no IDAT chunk before IEND"));
                }
                if colour == 3 && !seen_plte {
                    return Err(ProbeError::malformed(F, "palette image without PLTE"));
                }
                let mut info = MediaInfo::with_dims(F, width, height);
                info.trailing_bytes = len - end;
                return Ok(info);
            }
            _ => {
                // Unknown critical chunks (uppercase first letter) cannot be
                // decoded, as decoders refuse them; ancillary ones are skipped.
                if kind[0].is_ascii_uppercase() {
                    return Err(ProbeError::malformed(
                        F,
                        format!("unknown critical chunk '{name}'"),
                    ));
                }
            }
        }
        pos = end;
    }
}
