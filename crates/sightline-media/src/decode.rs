//! Decoding images to the pixels fingerprints are computed on.
//!
//! Two ways to turn a file into 8-bit RGB ([`DecodeMode`]):
//!
//! * [`DecodeMode::Te`] — exactly the buffer python-threatexchange (the hasher
//!   of Meta's HMA) hands to PDQ: Pillow's decode with no EXIF rotation; `LA`
//!   and `I;16` converted to RGB as Pillow converts them; single-channel
//!   modes stacked to three channels — for palette images that is the
//!   palette *indices*, for 1-bit images the values 0 and 1; alpha dropped;
//!   CMYK's first three channels (C, M, Y after Pillow's Adobe inversion)
//!   taken as they are. Stored PDQ hashes use this mode: it is what makes
//!   them exchangeable.
//! * [`DecodeMode::Rgb`] — what a person sees: Pillow's `.convert("RGB")`
//!   (palette looked up, CMYK converted, 1-bit as 0/255).
//!
//! JPEG is decoded by libjpeg-turbo's code (through the `mozjpeg` crate:
//! accurate integer IDCT, fancy upsampling), as Pillow decodes it, so the
//! pixels and the hashes are the same. PNG and GIF are decoded without
//! palette expansion (the `png` and `gif` crates) so the te mode can see
//! indices; WebP, TIFF and BMP go through the `image` crate.
//!
//! Everything is bounded: the file is first checked with [`crate::probe_bytes`]
//! (structure, truncation, stated dimensions against [`Limits`]), and every
//! decoder gets a byte budget derived from the stated dimensions, so a header
//! claiming 100000×100000 is refused before anything is allocated. A decoder
//! that panics (they are third-party code and the input is hostile) is caught
//! and reported as malformed.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::{Format, Limits, ProbeError, probe_bytes};

/// How a decoded image becomes the RGB buffer (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecodeMode {
    /// python-threatexchange's pixels: what stored PDQ hashes are made from.
    Te,
    /// Pillow's `.convert("RGB")`: what a person sees.
    Rgb,
}

impl DecodeMode {
    /// Stable lowercase name (`te`, `rgb`).
    pub fn name(self) -> &'static str {
        match self {
            DecodeMode::Te => "te",
            DecodeMode::Rgb => "rgb",
        }
    }
}

/// Pixels as decoded, before they become RGB: one variant per Pillow mode
/// the decoders produce. Kept so both [`DecodeMode`]s (and thumbnails) can be
/// made from one decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pixels {
    /// `RGB`: 3 bytes a pixel.
    Rgb(Vec<u8>),
    /// `RGBA`: 4 bytes a pixel, alpha not premultiplied.
    Rgba(Vec<u8>),
    /// `L`: one byte a pixel.
    L(Vec<u8>),
    /// `LA`: grey and alpha.
    La(Vec<u8>),
    /// `P`: palette indices and the palette (RGB triples; indices past its
    /// end look up black, as in Pillow).
    P { indices: Vec<u8>, palette: Vec<u8> },
    /// `1`: one byte a pixel, 0 or 1.
    Bilevel(Vec<u8>),
    /// `I;16`: 16-bit grey.
    I16(Vec<u16>),
    /// `CMYK` as Pillow holds it (JPEG's Adobe inversion undone).
    Cmyk(Vec<u8>),
}

impl Pixels {
    /// Pillow's name for the mode.
    pub fn mode_name(&self) -> &'static str {
        match self {
            Pixels::Rgb(_) => "RGB",
            Pixels::Rgba(_) => "RGBA",
            Pixels::L(_) => "L",
            Pixels::La(_) => "LA",
            Pixels::P { .. } => "P",
            Pixels::Bilevel(_) => "1",
            Pixels::I16(_) => "I;16",
            Pixels::Cmyk(_) => "CMYK",
        }
    }

    /// Whether [`DecodeMode::Te`] and [`DecodeMode::Rgb`] give the same
    /// pixels for this mode.
    pub fn modes_agree(&self) -> bool {
        matches!(
            self,
            Pixels::Rgb(_) | Pixels::Rgba(_) | Pixels::L(_) | Pixels::La(_) | Pixels::I16(_)
        )
    }

    /// Number of pixels held.
    fn len_pixels(&self) -> usize {
        match self {
            Pixels::Rgb(v) => v.len() / 3,
            Pixels::Rgba(v) | Pixels::Cmyk(v) => v.len() / 4,
            Pixels::L(v) | Pixels::Bilevel(v) => v.len(),
            Pixels::La(v) => v.len() / 2,
            Pixels::P { indices, .. } => indices.len(),
            Pixels::I16(v) => v.len(),
        }
    }

    /// The RGB buffer for `mode` (3 bytes a pixel). Consumes the pixels so an
    /// `RGB` decode is handed over without a copy.
    pub fn into_rgb(self, mode: DecodeMode) -> Vec<u8> {
        match self {
            Pixels::Rgb(v) => v,
            other => other.to_rgb(mode),
        }
    }

    /// The RGB buffer for `mode` (3 bytes a pixel).
    pub fn to_rgb(&self, mode: DecodeMode) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len_pixels() * 3);
        let grey = |out: &mut Vec<u8>, v: u8| out.extend_from_slice(&[v, v, v]);
        match self {
            Pixels::Rgb(v) => out.extend_from_slice(v),
            Pixels::Rgba(v) => {
                for px in v.chunks_exact(4) {
                    out.extend_from_slice(&px[..3]);
                }
            }
            Pixels::L(v) => v.iter().for_each(|&g| grey(&mut out, g)),
            Pixels::La(v) => v.chunks_exact(2).for_each(|px| grey(&mut out, px[0])),
            Pixels::P { indices, palette } => match mode {
                DecodeMode::Te => indices.iter().for_each(|&i| grey(&mut out, i)),
                DecodeMode::Rgb => {
                    for &i in indices {
                        let at = usize::from(i) * 3;
                        match palette.get(at..at + 3) {
                            Some(rgb) => out.extend_from_slice(rgb),
                            None => out.extend_from_slice(&[0, 0, 0]),
                        }
                    }
                }
            },
            Pixels::Bilevel(v) => match mode {
                DecodeMode::Te => v.iter().for_each(|&b| grey(&mut out, b)),
                DecodeMode::Rgb => v
                    .iter()
                    .for_each(|&b| grey(&mut out, if b != 0 { 255 } else { 0 })),
            },
            // Pillow's I;16 -> RGB clips at 255 (it does not scale).
            Pixels::I16(v) => v
                .iter()
                .for_each(|&g| grey(&mut out, u8::try_from(g).unwrap_or(255))),
            Pixels::Cmyk(v) => match mode {
                DecodeMode::Te => {
                    for px in v.chunks_exact(4) {
                        out.extend_from_slice(&px[..3]);
                    }
                }
                DecodeMode::Rgb => {
                    for px in v.chunks_exact(4) {
                        let nk = 255 - i32::from(px[3]);
                        for &c in &px[..3] {
                            // Pillow's cmyk2rgb: nk - c·nk/255, rounded its way
                            let t = i32::from(c) * nk + 128;
                            let m = ((t >> 8) + t) >> 8;
                            out.push((nk - m).clamp(0, 255) as u8);
                        }
                    }
                }
            },
        }
        out
    }
}

/// A decoded image: its pixels as decoded and what was learned on the way.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Frames in the file when it can hold several (GIF, APNG, WebP); the
    /// first is the one decoded.
    pub frames: Option<u32>,
    /// EXIF orientation (1..=8) when the file states one. Recorded, never
    /// applied: the reference hashes pixels as stored.
    pub orientation: Option<u16>,
    pub pixels: Pixels,
}

/// An image decoded to 8-bit RGB in one [`DecodeMode`].
#[derive(Debug, Clone)]
pub struct DecodedRgb {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub frames: Option<u32>,
    pub orientation: Option<u16>,
    /// Pillow's name for the mode the file decoded to (`RGB`, `P`, `CMYK`…).
    pub source_mode: &'static str,
    pub mode: DecodeMode,
    /// `width × height × 3` bytes, row-major.
    pub rgb: Vec<u8>,
}

/// Why an image could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The structural probe refused the file (empty, not media, truncated,
    /// malformed, dimensions).
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("{0} is a video, not an image")]
    NotImage(Format),
    #[error("{0} images are not decoded")]
    Unsupported(Format),
    #[error("{format} image of {width}x{height} needs {needed} bytes, over the budget of {budget}")]
    TooLarge {
        format: Format,
        width: u32,
        height: u32,
        needed: u64,
        budget: u64,
    },
    #[error("cannot decode {format}: {detail}")]
    Malformed { format: Format, detail: String },
}

impl DecodeError {
    /// A stable machine-readable code: the probe's codes, `not-image`,
    /// `unsupported`, `too-large` or `malformed`.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Probe(e) => e.code(),
            DecodeError::NotImage(_) => "not-image",
            DecodeError::Unsupported(_) => "unsupported",
            DecodeError::TooLarge { .. } => "too-large",
            DecodeError::Malformed { .. } => "malformed",
        }
    }

    fn malformed(format: Format, detail: impl ToString) -> Self {
        DecodeError::Malformed {
            format,
            detail: detail.to_string(),
        }
    }
}

/// Bytes a decode may hold at most, at 8 bytes a pixel (16-bit RGBA, or a
/// progressive JPEG's coefficients plus its output), for `limits.max_pixels`.
pub fn byte_budget(limits: &Limits) -> u64 {
    limits.max_pixels.saturating_mul(8)
}

/// Decode `bytes` to RGB in `mode`.
pub fn decode(bytes: &[u8], limits: &Limits, mode: DecodeMode) -> Result<DecodedRgb, DecodeError> {
    let d = decode_pixels(bytes, limits)?;
    let source_mode = d.pixels.mode_name();
    Ok(DecodedRgb {
        format: d.format,
        width: d.width,
        height: d.height,
        frames: d.frames,
        orientation: d.orientation,
        source_mode,
        mode,
        rgb: d.pixels.into_rgb(mode),
    })
}

/// Decode `bytes` to [`Pixels`] as Pillow would hold them (first frame).
pub fn decode_pixels(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    let info = probe_bytes(bytes, limits)?;
    let format = info.format;
    if format.kind() != sightline_core::MediaKind::Image {
        return Err(DecodeError::NotImage(format));
    }
    // The probe checked the stated dimensions against the limits; check the
    // memory the decode will take before any decoder allocates it.
    if let (Some(w), Some(h)) = (info.width, info.height) {
        check_budget(format, w, h, 8, limits)?;
    }
    let run = || -> Result<Decoded, DecodeError> {
        let mut d = match format {
            Format::Jpeg => decode_jpeg(bytes, limits)?,
            Format::Png => decode_png(bytes, limits)?,
            Format::Gif => decode_gif(bytes, limits)?,
            Format::Webp => decode_webp(bytes, limits)?,
            Format::Tiff | Format::Bmp => decode_with_image(bytes, format, limits)?,
            other => return Err(DecodeError::Unsupported(other)),
        };
        if d.frames.is_none() {
            d.frames = info.frames;
        }
        Ok(d)
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(result) => {
            let d = result?;
            let expected = (d.width as usize).checked_mul(d.height as usize);
            if d.width == 0 || d.height == 0 || expected != Some(d.pixels.len_pixels()) {
                return Err(DecodeError::malformed(
                    format,
                    "decoder returned an inconsistent buffer",
                ));
            }
            Ok(d)
        }
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("decoder failed");
            Err(DecodeError::malformed(
                format,
                detail.trim_end_matches('.').to_lowercase(),
            ))
        }
    }
}

fn check_budget(
    format: Format,
    width: u32,
    height: u32,
    bytes_per_pixel: u64,
    limits: &Limits,
) -> Result<u64, DecodeError> {
    if width == 0 || height == 0 {
        return Err(ProbeError::Dimensions {
            format,
            width,
            height,
            detail: "zero area".to_string(),
        }
        .into());
    }
    if width > limits.max_dimension
        || height > limits.max_dimension
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ProbeError::Dimensions {
            format,
            width,
            height,
            detail: "over the pixel limits".to_string(),
        }
        .into());
    }
    let needed = u64::from(width) * u64::from(height) * bytes_per_pixel;
    let budget = byte_budget(limits);
    if needed > budget {
        return Err(DecodeError::TooLarge {
            format,
            width,
            height,
            needed,
            budget,
        });
    }
    Ok(budget)
}

fn usize_budget(limits: &Limits) -> usize {
    usize::try_from(byte_budget(limits)).unwrap_or(usize::MAX)
}

// ---------------------------------------------------------------- JPEG

fn decode_jpeg(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    use mozjpeg::{ColorSpace, Decompress};
    let f = Format::Jpeg;
    let err = |e: std::io::Error| DecodeError::malformed(f, e.to_string().to_lowercase());
    let d = Decompress::new_mem(bytes).map_err(err)?;
    let (w, h) = d.size();
    let (w32, h32) = (
        u32::try_from(w).map_err(|_| DecodeError::malformed(f, "width"))?,
        u32::try_from(h).map_err(|_| DecodeError::malformed(f, "height"))?,
    );
    check_budget(f, w32, h32, 8, limits)?;
    let orientation = jpeg_orientation(bytes);
    let pixels = match d.color_space() {
        ColorSpace::JCS_GRAYSCALE => {
            let mut s = d.grayscale().map_err(err)?;
            let mut buf = vec![0u8; w * h];
            s.read_scanlines_into(&mut buf).map_err(err)?;
            s.finish().map_err(err)?;
            Pixels::L(buf)
        }
        ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK => {
            let mut s = d.to_colorspace(ColorSpace::JCS_CMYK).map_err(err)?;
            let mut buf = vec![0u8; w * h * 4];
            s.read_scanlines_into(&mut buf).map_err(err)?;
            s.finish().map_err(err)?;
            // Pillow reads every CMYK JPEG as Adobe-inverted ("CMYK;I").
            buf.iter_mut().for_each(|v| *v = 255 - *v);
            Pixels::Cmyk(buf)
        }
        _ => {
            let mut s = d.rgb().map_err(err)?;
            let mut buf = vec![0u8; w * h * 3];
            s.read_scanlines_into(&mut buf).map_err(err)?;
            s.finish().map_err(err)?;
            Pixels::Rgb(buf)
        }
    };
    Ok(Decoded {
        format: f,
        width: w32,
        height: h32,
        frames: None,
        orientation,
        pixels,
    })
}

/// EXIF orientation from a JPEG's first `APP1 Exif` segment.
fn jpeg_orientation(b: &[u8]) -> Option<u16> {
    let mut pos = 2usize;
    while pos + 4 <= b.len() {
        if b[pos] != 0xFF {
            return None;
        }
        let marker = b[pos + 1];
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            pos += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[pos + 2], b[pos + 3]]));
        if len < 2 {
            return None;
        }
        let seg = b.get(pos + 4..pos + 2 + len)?;
        if marker == 0xE1 && seg.starts_with(b"Exif\0\0") {
            return exif_orientation(&seg[6..]);
        }
        pos += 2 + len;
    }
    None
}

/// The orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block.
pub fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let le = match tiff.get(0..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let s = tiff.get(at..at + 2)?;
        Some(if le {
            u16::from_le_bytes([s[0], s[1]])
        } else {
            u16::from_be_bytes([s[0], s[1]])
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let s = tiff.get(at..at + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count.min(512) {
        let e = ifd + 2 + i * 12;
        if u16_at(e)? == 0x0112 {
            let typ = u16_at(e + 2)?;
            let v = match typ {
                3 => u16_at(e + 8)?,
                4 => u16::try_from(u32_at(e + 8)?).ok()?,
                _ => return None,
            };
            return (1..=8).contains(&v).then_some(v);
        }
    }
    None
}

// ---------------------------------------------------------------- PNG

fn decode_png(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    use png::{BitDepth, ColorType, Transformations};
    let f = Format::Png;
    let err = |e: png::DecodingError| DecodeError::malformed(f, e.to_string().to_lowercase());
    let mut dec = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: usize_budget(limits),
        },
    );
    dec.set_transformations(Transformations::IDENTITY);
    let mut reader = dec.read_info().map_err(err)?;
    let info = reader.info();
    let (w, h) = (info.width, info.height);
    check_budget(f, w, h, 8, limits)?;
    let color = info.color_type;
    let depth = info.bit_depth;
    let palette = info
        .palette
        .as_ref()
        .map(|p| p.to_vec())
        .unwrap_or_default();
    let frames = info.animation_control.map(|a| a.num_frames);
    let orientation = info
        .exif_metadata
        .as_ref()
        .and_then(|e| exif_orientation(e));
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DecodeError::malformed(f, "image too large"))?;
    let mut buf = vec![0u8; size];
    let out = reader.next_frame(&mut buf).map_err(err)?;
    let line = out.line_size;
    let (wu, hu) = (w as usize, h as usize);
    let bits = depth as usize;
    let data = &buf[..line.saturating_mul(hu).min(buf.len())];
    let rows = data.chunks(line.max(1));
    // Samples below 8 bits, unpacked from the MSB of each byte.
    let unpack = |scale: u8, rows: std::slice::Chunks<'_, u8>| -> Vec<u8> {
        let mut v = Vec::with_capacity(wu * hu);
        let per_byte = 8 / bits;
        let mask = ((1u16 << bits) - 1) as u8;
        for row in rows {
            for x in 0..wu {
                let byte = row.get(x / per_byte).copied().unwrap_or(0);
                let shift = 8 - bits * (x % per_byte + 1);
                v.push(((byte >> shift) & mask) * scale);
            }
        }
        v
    };
    let msb = |rows: std::slice::Chunks<'_, u8>, samples: usize| -> Vec<u8> {
        // 16-bit samples: Pillow keeps the high byte
        let mut v = Vec::with_capacity(wu * hu * samples);
        for row in rows {
            v.extend(row.iter().step_by(2).take(wu * samples));
        }
        v
    };
    let plain = |rows: std::slice::Chunks<'_, u8>, samples: usize| -> Vec<u8> {
        let mut v = Vec::with_capacity(wu * hu * samples);
        for row in rows {
            v.extend_from_slice(&row[..(wu * samples).min(row.len())]);
        }
        v
    };
    let pixels = match (color, depth) {
        (ColorType::Grayscale, BitDepth::One) => Pixels::Bilevel(unpack(1, rows)),
        (ColorType::Grayscale, BitDepth::Two) => Pixels::L(unpack(0x55, rows)),
        (ColorType::Grayscale, BitDepth::Four) => Pixels::L(unpack(0x11, rows)),
        (ColorType::Grayscale, BitDepth::Eight) => Pixels::L(plain(rows, 1)),
        (ColorType::Grayscale, BitDepth::Sixteen) => {
            let mut v = Vec::with_capacity(wu * hu);
            for row in rows {
                v.extend(
                    row.chunks_exact(2)
                        .take(wu)
                        .map(|s| u16::from_be_bytes([s[0], s[1]])),
                );
            }
            Pixels::I16(v)
        }
        (ColorType::Indexed, BitDepth::Eight) => Pixels::P {
            indices: plain(rows, 1),
            palette,
        },
        (ColorType::Indexed, _) => Pixels::P {
            indices: unpack(1, rows),
            palette,
        },
        (ColorType::Rgb, BitDepth::Sixteen) => Pixels::Rgb(msb(rows, 3)),
        (ColorType::Rgb, _) => Pixels::Rgb(plain(rows, 3)),
        (ColorType::Rgba, BitDepth::Sixteen) => Pixels::Rgba(msb(rows, 4)),
        (ColorType::Rgba, _) => Pixels::Rgba(plain(rows, 4)),
        (ColorType::GrayscaleAlpha, BitDepth::Sixteen) => Pixels::La(msb(rows, 2)),
        (ColorType::GrayscaleAlpha, _) => Pixels::La(plain(rows, 2)),
    };
    Ok(Decoded {
        format: f,
        width: w,
        height: h,
        frames,
        orientation,
        pixels,
    })
}

// ---------------------------------------------------------------- GIF

fn decode_gif(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    let f = Format::Gif;
    let err = |e: gif::DecodingError| DecodeError::malformed(f, e.to_string().to_lowercase());
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    let budget =
        std::num::NonZeroU64::new(byte_budget(limits).max(1)).unwrap_or(std::num::NonZeroU64::MIN);
    opts.set_memory_limit(gif::MemoryLimit::Bytes(budget));
    let mut dec = opts.read_info(Cursor::new(bytes)).map_err(err)?;
    let (sw, sh) = (u32::from(dec.width()), u32::from(dec.height()));
    let global = dec.global_palette().map(<[u8]>::to_vec);
    let frame = dec
        .read_next_frame()
        .map_err(err)?
        .ok_or_else(|| DecodeError::malformed(f, "no image in the file"))?;
    // Pillow grows the canvas to hold a first frame that sticks out of the
    // logical screen, fills it with the transparent index (or 0) and pastes
    // the frame's indices.
    let (fl, ft) = (u32::from(frame.left), u32::from(frame.top));
    let (fw, fh) = (u32::from(frame.width), u32::from(frame.height));
    let w = sw.max(fl + fw);
    let h = sh.max(ft + fh);
    check_budget(f, w, h, 8, limits)?;
    let fill = frame.transparent.unwrap_or(0);
    let mut indices = vec![fill; w as usize * h as usize];
    for y in 0..fh as usize {
        let src = frame.buffer.get(y * fw as usize..(y + 1) * fw as usize);
        let Some(src) = src else { break };
        let at = (ft as usize + y) * w as usize + fl as usize;
        indices[at..at + fw as usize].copy_from_slice(src);
    }
    let palette = frame.palette.clone().or(global).unwrap_or_default();
    Ok(Decoded {
        format: f,
        width: w,
        height: h,
        frames: None,
        orientation: None,
        pixels: Pixels::P { indices, palette },
    })
}

// ---------------------------------------------------------------- WebP

fn decode_webp(bytes: &[u8], limits: &Limits) -> Result<Decoded, DecodeError> {
    let f = Format::Webp;
    let err =
        |e: image_webp::DecodingError| DecodeError::malformed(f, e.to_string().to_lowercase());
    let mut dec = image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(err)?;
    dec.set_memory_limit(usize_budget(limits));
    let (w, h) = dec.dimensions();
    check_budget(f, w, h, 8, limits)?;
    let frames = dec.is_animated().then(|| dec.num_frames());
    let orientation = dec
        .exif_metadata()
        .ok()
        .flatten()
        .and_then(|e| exif_orientation(&e));
    let size = dec
        .output_buffer_size()
        .ok_or_else(|| DecodeError::malformed(f, "image too large"))?;
    let mut buf = vec![0u8; size];
    dec.read_image(&mut buf).map_err(err)?;
    let pixels = if dec.has_alpha() {
        Pixels::Rgba(buf)
    } else {
        Pixels::Rgb(buf)
    };
    Ok(Decoded {
        format: f,
        width: w,
        height: h,
        frames,
        orientation,
        pixels,
    })
}

// ---------------------------------------------------------------- TIFF, BMP

fn decode_with_image(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Decoded, DecodeError> {
    use image::{DynamicImage, ImageDecoder, ImageReader};
    let err = |e: image::ImageError| DecodeError::malformed(format, e.to_string().to_lowercase());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::malformed(format, e.to_string().to_lowercase()))?;
    let mut il = image::Limits::default();
    il.max_image_width = Some(limits.max_dimension);
    il.max_image_height = Some(limits.max_dimension);
    il.max_alloc = Some(byte_budget(limits));
    reader.limits(il);
    let mut decoder = reader.into_decoder().map_err(err)?;
    let orientation = match decoder.orientation() {
        Ok(o) => Some(orientation_number(o)),
        Err(_) => None,
    };
    let (w, h) = decoder.dimensions();
    check_budget(format, w, h, 8, limits)?;
    let img = DynamicImage::from_decoder(decoder).map_err(err)?;
    let pixels = match img {
        DynamicImage::ImageLuma8(b) => Pixels::L(b.into_raw()),
        DynamicImage::ImageLumaA8(b) => Pixels::La(b.into_raw()),
        DynamicImage::ImageRgb8(b) => Pixels::Rgb(b.into_raw()),
        DynamicImage::ImageRgba8(b) => Pixels::Rgba(b.into_raw()),
        DynamicImage::ImageLuma16(b) => Pixels::I16(b.into_raw()),
        DynamicImage::ImageLumaA16(b) => {
            Pixels::La(b.into_raw().iter().map(|&v| (v >> 8) as u8).collect())
        }
        DynamicImage::ImageRgb16(b) => {
            Pixels::Rgb(b.into_raw().iter().map(|&v| (v >> 8) as u8).collect())
        }
        DynamicImage::ImageRgba16(b) => {
            Pixels::Rgba(b.into_raw().iter().map(|&v| (v >> 8) as u8).collect())
        }
        other => Pixels::Rgb(other.into_rgb8().into_raw()),
    };
    Ok(Decoded {
        format,
        width: w,
        height: h,
        frames: None,
        orientation: orientation.filter(|&o| o != 1 || format == Format::Tiff),
        pixels,
    })
}

fn orientation_number(o: image::metadata::Orientation) -> u16 {
    use image::metadata::Orientation as O;
    match o {
        O::NoTransforms => 1,
        O::FlipHorizontal => 2,
        O::Rotate180 => 3,
        O::FlipVertical => 4,
        O::Rotate90FlipH => 5,
        O::Rotate90 => 6,
        O::Rotate270FlipH => 7,
        O::Rotate270 => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_orientation_both_byte_orders() {
        let le = [
            b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0,
            0,
        ];
        assert_eq!(exif_orientation(&le), Some(6));
        let be = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0,
            0,
        ];
        assert_eq!(exif_orientation(&be), Some(8));
        assert_eq!(exif_orientation(&le[..12]), None);
        assert_eq!(exif_orientation(b"garbage"), None);
    }

    #[test]
    fn pillow_conversions() {
        let p = Pixels::P {
            indices: vec![0, 1, 5],
            palette: vec![10, 20, 30, 40, 50, 60],
        };
        assert_eq!(p.to_rgb(DecodeMode::Te), vec![0, 0, 0, 1, 1, 1, 5, 5, 5]);
        assert_eq!(
            p.to_rgb(DecodeMode::Rgb),
            vec![10, 20, 30, 40, 50, 60, 0, 0, 0]
        );
        let i = Pixels::I16(vec![3, 255, 256, 65535]);
        assert_eq!(
            i.to_rgb(DecodeMode::Te),
            vec![3, 3, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255]
        );
        let c = Pixels::Cmyk(vec![0, 0, 0, 0, 255, 0, 0, 0, 10, 20, 30, 255]);
        assert_eq!(
            c.to_rgb(DecodeMode::Te),
            vec![0, 0, 0, 255, 0, 0, 10, 20, 30]
        );
        assert_eq!(
            c.to_rgb(DecodeMode::Rgb),
            vec![255, 255, 255, 0, 255, 255, 0, 0, 0]
        );
        let b = Pixels::Bilevel(vec![0, 1]);
        assert_eq!(b.to_rgb(DecodeMode::Te), vec![0, 0, 0, 1, 1, 1]);
        assert_eq!(b.to_rgb(DecodeMode::Rgb), vec![0, 0, 0, 255, 255, 255]);
    }
}
