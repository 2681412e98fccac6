//! The contact sheet: every keyframe's thumbnail on one JPEG, in time
//! order, each labelled with its time in the video.

use image::{Rgb, RgbImage};

use super::font;
use super::{Keyframes, encode_jpeg};

/// How the sheet is laid out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SheetOptions {
    /// Thumbnails per row (fewer when there are fewer keyframes).
    pub columns: u32,
    /// Space around and between tiles, in pixels.
    pub padding: u32,
    /// Scale of the 5×7 label font.
    pub label_scale: u32,
    pub jpeg_quality: u8,
}

impl Default for SheetOptions {
    fn default() -> Self {
        SheetOptions {
            columns: 4,
            padding: 6,
            label_scale: 2,
            jpeg_quality: 85,
        }
    }
}

const BACKGROUND: [u8; 3] = [28, 28, 30];
const INK: [u8; 3] = [235, 235, 235];

/// `m:ss.s`, or `h:mm:ss.s` from an hour on.
pub fn time_label(ms: u64) -> String {
    let tenths = (ms + 50) / 100;
    let (h, rest) = (tenths / 36_000, tenths % 36_000);
    let (m, rest) = (rest / 600, rest % 600);
    let (s, t) = (rest / 10, rest % 10);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{t}")
    } else {
        format!("{m}:{s:02}.{t}")
    }
}

/// Draw the contact sheet of `kf` and encode it as JPEG. Returns the JPEG
/// and its size; `None` when there are no keyframes or they were taken
/// without stills.
pub fn contact_sheet(kf: &Keyframes, opts: &SheetOptions) -> Option<(Vec<u8>, u32, u32)> {
    let n = kf.frames.len() as u32;
    if n == 0 || kf.frames.iter().any(|f| f.thumb.width() == 0) {
        return None;
    }
    let cols = opts.columns.clamp(1, 16).min(n);
    let rows = n.div_ceil(cols);
    let (tw, th) = (kf.thumb_width, kf.thumb_height);
    let pad = opts.padding.min(64);
    let scale = opts.label_scale.clamp(1, 8);
    let label_h = font::line_height(scale) + pad;
    let cell_h = th + label_h + pad;
    let width = pad + cols * (tw + pad);
    let height = pad + rows * cell_h;
    let mut sheet = RgbImage::from_pixel(width, height, Rgb(BACKGROUND));
    for (i, f) in kf.frames.iter().enumerate() {
        let (c, r) = (i as u32 % cols, i as u32 / cols);
        let (x, y) = (pad + c * (tw + pad), pad + r * cell_h);
        image::imageops::replace(&mut sheet, &f.thumb, i64::from(x), i64::from(y));
        font::draw_text(
            &mut sheet,
            x,
            y + th + pad / 2,
            &time_label(f.time_ms),
            scale,
            INK,
        );
    }
    let jpeg = encode_jpeg(&sheet, opts.jpeg_quality).ok()?;
    Some((jpeg, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(time_label(0), "0:00.0");
        assert_eq!(time_label(3520), "0:03.5");
        assert_eq!(time_label(59_960), "1:00.0");
        assert_eq!(time_label(3_723_400), "1:02:03.4");
    }
}
