//! Byte-level builders for hostile fixtures: hand-made PNG chunks (with our
//! own CRC-32 and zlib framing) and MP4 box surgery.

use anyhow::{Result, bail};

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// A zlib stream holding `data` in a single stored (uncompressed) block.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = data.len() as u16;
    let mut out = vec![0x78, 0x01, 0x01];
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A structurally valid PNG (signature, IHDR, one tiny IDAT, IEND, all CRCs
/// correct) that claims the given dimensions, 8-bit RGB.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // One scanline's filter byte and a few zero pixels: far too little data
    // for the claimed size, which a careful decoder never gets to anyway.
    chunk(&mut out, b"IDAT", &zlib_stored(&[0u8; 16]));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Keep only the `ftyp` and `mdat` top-level boxes of an ISO-BMFF file.
pub fn strip_moov(mp4: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0usize;
    let mut saw_moov = false;
    while i + 8 <= mp4.len() {
        let size32 = u32::from_be_bytes([mp4[i], mp4[i + 1], mp4[i + 2], mp4[i + 3]]);
        let kind = &mp4[i + 4..i + 8];
        let size = match size32 {
            0 => mp4.len() - i,
            1 => {
                if i + 16 > mp4.len() {
                    bail!("truncated largesize box");
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&mp4[i + 8..i + 16]);
                u64::from_be_bytes(b) as usize
            }
            n => n as usize,
        };
        if size < 8 || i + size > mp4.len() {
            bail!("bad box size at {i}");
        }
        match kind {
            b"ftyp" | b"mdat" => out.extend_from_slice(&mp4[i..i + size]),
            b"moov" => saw_moov = true,
            _ => {}
        }
        i += size;
    }
    if !saw_moov {
        bail!("input has no moov box");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_known_value() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn bomb_is_small() {
        let p = png_claiming(100_000, 100_000);
        assert!(p.len() < 120);
        assert_eq!(&p[12..16], b"IHDR");
    }
}
