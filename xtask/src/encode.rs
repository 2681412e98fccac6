//! Encoders: JPEG (with our own APP1/EXIF spliced in), PNG and WebP.

use anyhow::{Context, Result, bail};
use image::ExtendedColorType;
use image::ImageEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;

/// Encode RGB8 as baseline JPEG. With `exif`, the encoder's JFIF APP0 is
/// dropped and an APP1 "Exif" segment is placed right after SOI, as phone
/// cameras do. Without it the JFIF header is kept, as re-posting platforms do.
pub fn jpeg(rgb: &[u8], w: u32, h: u32, quality: u8, exif: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    JpegEncoder::new_with_quality(&mut raw, quality)
        .encode(rgb, w, h, ExtendedColorType::Rgb8)
        .context("jpeg encode")?;
    let Some(payload) = exif else {
        return Ok(raw);
    };
    if raw.len() < 4 || raw[0] != 0xFF || raw[1] != 0xD8 {
        bail!("encoder did not start with SOI");
    }
    let seg_len = payload.len() + 2;
    if seg_len > 0xFFFF {
        bail!("EXIF payload too large");
    }
    let mut out = Vec::with_capacity(raw.len() + seg_len + 2);
    out.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE1]);
    out.extend_from_slice(&(seg_len as u16).to_be_bytes());
    out.extend_from_slice(payload);
    // Copy the remaining segments, skipping APP0 (JFIF).
    let mut i = 2;
    while i + 4 <= raw.len() && raw[i] == 0xFF {
        let marker = raw[i + 1];
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([raw[i + 2], raw[i + 3]]));
        if marker != 0xE0 {
            out.extend_from_slice(&raw[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    out.extend_from_slice(&raw[i..]);
    Ok(out)
}

pub fn png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(rgb, w, h, ExtendedColorType::Rgb8)
        .context("png encode")?;
    Ok(out)
}

pub fn webp_lossless(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .encode(rgb, w, h, ExtendedColorType::Rgb8)
        .context("webp encode")?;
    Ok(out)
}
