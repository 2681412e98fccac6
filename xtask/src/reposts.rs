//! Near-duplicate re-posts of an original photo, as social platforms and
//! re-posters produce them. All start from the original's decoded-equivalent
//! pixels (the exact RGB that was JPEG-encoded), so they are deterministic
//! without depending on a JPEG decoder.

use crate::canvas::{Canvas, Rgb, mix, rgb, scale};
use crate::font;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    Recompress,
    Shrink,
    Crop,
    Watermark,
    Letterbox,
    Screenshot,
    Mirror,
}

impl Transform {
    pub fn name(self) -> &'static str {
        match self {
            Transform::Recompress => "recompress",
            Transform::Shrink => "shrink",
            Transform::Crop => "crop",
            Transform::Watermark => "watermark",
            Transform::Letterbox => "letterbox",
            Transform::Screenshot => "screenshot",
            Transform::Mirror => "mirror",
        }
    }

    /// JPEG quality the re-posting platform uses.
    pub fn quality(self) -> u8 {
        match self {
            Transform::Recompress => 45,
            Transform::Screenshot => 85,
            Transform::Crop => 82,
            _ => 80,
        }
    }
}

/// Text that appears in overlays.
#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    pub handle: String,
    pub caption: Vec<String>,
    pub tags: String,
    pub colour: Rgb,
}

/// A re-post and where its photo is, as the generator placed it.
pub struct Repost {
    pub canvas: Canvas,
    /// Letterbox and screenshot: the rectangle `[x, y, w, h]` of the re-post
    /// that shows the (scaled) photo, clipped to the frame.
    pub photo_rect: Option<[u32; 4]>,
    /// Crop: the rectangle `[x, y, w, h]` of the original that the re-post
    /// shows.
    pub source_rect: Option<[u32; 4]>,
}

impl Repost {
    fn plain(canvas: Canvas) -> Self {
        Repost {
            canvas,
            photo_rect: None,
            source_rect: None,
        }
    }
}

/// `[x, y, w, h]` of a `w` × `h` image pasted at (`x`, `y`), clipped to the
/// rows `[0, max_y)` and columns `[0, max_x)`.
fn clip_rect(x: i64, y: i64, w: usize, h: usize, max_x: usize, max_y: usize) -> [u32; 4] {
    let x0 = x.max(0);
    let y0 = y.max(0);
    let x1 = (x + w as i64).min(max_x as i64).max(x0);
    let y1 = (y + h as i64).min(max_y as i64).max(y0);
    [x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32]
}

pub fn apply(src: &Canvas, t: Transform, ch: &Channel) -> Repost {
    match t {
        Transform::Recompress => Repost::plain(src.clone()),
        Transform::Shrink => Repost::plain(src.resize(src.w / 2, src.h / 2)),
        Transform::Crop => {
            let cw = (src.w * 3).div_ceil(4);
            let chh = (src.h * 3).div_ceil(4);
            let (x, y) = ((src.w - cw) / 2, (src.h - chh) / 2);
            Repost {
                canvas: src.crop(x, y, cw, chh),
                photo_rect: None,
                source_rect: Some([x as u32, y as u32, cw as u32, chh as u32]),
            }
        }
        Transform::Watermark => Repost::plain(watermark(src, ch)),
        Transform::Letterbox => {
            let (canvas, rect) = letterbox(src, ch);
            Repost {
                canvas,
                photo_rect: Some(rect),
                source_rect: None,
            }
        }
        Transform::Screenshot => {
            let (canvas, rect) = screenshot(src, ch);
            Repost {
                canvas,
                photo_rect: Some(rect),
                source_rect: None,
            }
        }
        Transform::Mirror => Repost::plain(src.flip_h()),
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect()
}

fn watermark(src: &Canvas, ch: &Channel) -> Canvas {
    let mut c = src.clone();
    let w = c.w as f32;
    let h = c.h as f32;
    let sc = (w / 260.0).floor().max(2.0);
    let text_w = font::text_width(&ch.handle, sc);
    let pad = sc * 4.0;
    let logo_r = font::text_height(sc) * 0.9;
    let bw = text_w + pad * 3.0 + logo_r * 2.0;
    let bh = logo_r * 2.0 + pad * 1.4;
    let x0 = w - bw - w * 0.03;
    let y0 = h - bh - h * 0.04;
    c.fill_rect(x0, y0, x0 + bw, y0 + bh, rgb(0, 0, 0), 0.5);
    let lcx = x0 + pad + logo_r;
    let lcy = y0 + bh * 0.5;
    c.fill_circle(lcx, lcy, logo_r, ch.colour, 0.85);
    let ini = initials(&ch.name);
    let isc = (sc * 0.8).max(1.0);
    c.text_centered(
        lcx,
        lcy - font::text_height(isc) * 0.5,
        isc,
        &ini,
        rgb(255, 255, 255),
        0.95,
    );
    c.text(
        lcx + logo_r + pad,
        lcy - font::text_height(sc) * 0.5,
        sc,
        &ch.handle,
        rgb(255, 255, 255),
        0.8,
    );
    c
}

/// Scale `src` to fit `w` wide.
fn fit_width(src: &Canvas, w: usize) -> Canvas {
    let h = ((src.h as f32 * w as f32 / src.w as f32) + 0.5) as usize;
    src.resize(w, h)
}

fn letterbox(src: &Canvas, ch: &Channel) -> (Canvas, [u32; 4]) {
    let (fw, fh) = (1080usize, 1920usize);
    let fg = fit_width(src, fw);
    let landscape = src.w > src.h;
    let mut c = if landscape {
        // Blurred, darkened "cover" fill behind the photo.
        let s = (fw as f32 / src.w as f32).max(fh as f32 / src.h as f32);
        let cw = ((fw as f32 / s) as usize).min(src.w);
        let chh = ((fh as f32 / s) as usize).min(src.h);
        let region = src.crop((src.w - cw) / 2, (src.h - chh) / 2, cw, chh);
        let small = region.resize(fw / 24, fh / 24).blur(2);
        let mut bg = small.resize(fw, fh);
        bg.map(|_, _, p| scale(p, 0.55));
        bg
    } else {
        Canvas::new(fw, fh, [0.0; 3])
    };
    let y = (fh as i64 - fg.h as i64) / 2;
    c.paste(&fg, 0, y);
    let rect = clip_rect(0, y, fg.w, fg.h, fw, fh);
    // Story UI: progress segments, avatar and name.
    let seg_w = (fw as f32 - 48.0) / 3.0;
    for k in 0..3 {
        let x0 = 16.0 + k as f32 * (seg_w + 8.0);
        let fill = if k == 0 {
            1.0
        } else if k == 1 {
            0.4
        } else {
            0.0
        };
        c.fill_rect(x0, 28.0, x0 + seg_w, 34.0, rgb(255, 255, 255), 0.35);
        c.fill_rect(x0, 28.0, x0 + seg_w * fill, 34.0, rgb(255, 255, 255), 0.95);
    }
    c.fill_circle(70.0, 100.0, 36.0, ch.colour, 1.0);
    c.text_centered(
        70.0,
        100.0 - 14.0,
        4.0,
        &initials(&ch.name),
        rgb(255, 255, 255),
        1.0,
    );
    c.text(124.0, 86.0, 4.0, &ch.handle, rgb(255, 255, 255), 0.95);
    c.text(
        124.0 + font::text_width(&ch.handle, 4.0) + 24.0,
        86.0,
        4.0,
        "2H",
        rgb(220, 220, 220),
        0.8,
    );
    (c, rect)
}

fn heart(c: &mut Canvas, x: f32, y: f32, r: f32, col: Rgb) {
    c.stroke_circle(x - r * 0.5, y, r * 0.5, 4.0, col, 1.0);
    c.stroke_circle(x + r * 0.5, y, r * 0.5, 4.0, col, 1.0);
    c.line((x - r, y + r * 0.1), (x, y + r * 1.1), 4.0, col, 1.0);
    c.line((x + r, y + r * 0.1), (x, y + r * 1.1), 4.0, col, 1.0);
}

fn screenshot(src: &Canvas, ch: &Channel) -> (Canvas, [u32; 4]) {
    let (sw, sh) = (1080usize, 2340usize);
    let bg = rgb(16, 16, 18);
    let fg = rgb(240, 240, 240);
    let grey = rgb(150, 150, 156);
    let mut c = Canvas::new(sw, sh, bg);
    let w = sw as f32;
    // Status bar: clock, signal bars, battery.
    c.text(48.0, 28.0, 4.0, "18:04", fg, 1.0);
    for k in 0..4 {
        let bx = w - 250.0 + k as f32 * 16.0;
        let bh = 8.0 + k as f32 * 7.0;
        c.fill_rect(
            bx,
            56.0 - bh,
            bx + 10.0,
            56.0,
            fg,
            if k < 3 { 1.0 } else { 0.35 },
        );
    }
    c.text(w - 170.0, 28.0, 4.0, "4G", fg, 1.0);
    c.fill_rect(w - 100.0, 26.0, w - 48.0, 56.0, fg, 1.0);
    c.fill_rect(w - 96.0, 30.0, w - 52.0, 52.0, bg, 1.0);
    c.fill_rect(w - 93.0, 33.0, w - 72.0, 49.0, rgb(90, 200, 90), 1.0);
    c.fill_rect(w - 48.0, 35.0, w - 43.0, 47.0, fg, 1.0);
    // Header: back arrow, avatar, name, time, menu dots.
    let hy = 150.0;
    c.line((60.0, hy), (84.0, hy - 24.0), 5.0, fg, 1.0);
    c.line((60.0, hy), (84.0, hy + 24.0), 5.0, fg, 1.0);
    c.fill_circle(160.0, hy, 46.0, ch.colour, 1.0);
    c.stroke_circle(160.0, hy, 52.0, 5.0, rgb(230, 80, 120), 1.0);
    c.text_centered(
        160.0,
        hy - 14.0,
        4.0,
        &initials(&ch.name),
        rgb(255, 255, 255),
        1.0,
    );
    c.text(236.0, hy - 34.0, 5.0, &ch.name, fg, 1.0);
    c.text(
        236.0,
        hy + 16.0,
        3.0,
        &format!("{}  -  2H", ch.handle),
        grey,
        1.0,
    );
    for k in 0..3 {
        c.fill_circle(w - 60.0, hy - 20.0 + k as f32 * 20.0, 5.0, fg, 1.0);
    }
    // Caption above the photo.
    let mut y = 240.0;
    for line in ch.caption.iter().take(3) {
        c.text(48.0, y, 4.0, line, fg, 1.0);
        y += 48.0;
    }
    y += 16.0;
    // The photo, full width.
    let photo = fit_width(src, sw);
    c.paste(&photo, 0, y as i64);
    // The bottom navigation bar is drawn over anything below it.
    let nav_top = sh - 150;
    let rect = clip_rect(0, y as i64, photo.w, photo.h, sw, nav_top);
    y += photo.h as f32 + 40.0;
    // Action bar.
    heart(&mut c, 74.0, y + 16.0, 26.0, fg);
    c.stroke_circle(170.0, y + 24.0, 26.0, 4.0, fg, 1.0);
    c.line((150.0, y + 44.0), (140.0, y + 58.0), 4.0, fg, 1.0);
    c.fill_poly(
        &[
            (236.0, y + 4.0),
            (296.0, y + 24.0),
            (236.0, y + 44.0),
            (248.0, y + 24.0),
        ],
        fg,
        1.0,
    );
    c.fill_poly(
        &[
            (w - 84.0, y),
            (w - 44.0, y),
            (w - 44.0, y + 52.0),
            (w - 64.0, y + 36.0),
            (w - 84.0, y + 52.0),
        ],
        fg,
        1.0,
    );
    y += 90.0;
    c.text(48.0, y, 4.0, "12,408 LIKES", fg, 1.0);
    y += 56.0;
    c.text(48.0, y, 4.0, &ch.tags, rgb(120, 170, 240), 1.0);
    y += 56.0;
    c.text(48.0, y, 4.0, "VIEW ALL 1,134 COMMENTS", grey, 1.0);
    // The start of the next post in the feed.
    let ny = sh as f32 - 150.0;
    y += 110.0;
    if y + 120.0 < ny {
        c.fill_rect(0.0, y - 30.0, w, y - 28.0, rgb(40, 40, 44), 1.0);
        c.fill_circle(100.0, y + 50.0, 40.0, rgb(60, 120, 90), 1.0);
        c.text_centered(100.0, y + 36.0, 4.0, "NW", rgb(255, 255, 255), 1.0);
        c.text(166.0, y + 22.0, 5.0, "NEWS WIRE DAILY", fg, 1.0);
        c.text(166.0, y + 70.0, 3.0, "SPONSORED", grey, 1.0);
        let top = y + 120.0;
        c.shade_rect(0.0, top, w, ny, |_, yy| {
            let t = (yy - top) / 600.0;
            (mix(rgb(70, 86, 110), rgb(150, 140, 120), t.min(1.0)), 1.0)
        });
    }
    // Bottom navigation bar.
    c.fill_rect(0.0, ny, w, sh as f32, bg, 1.0);
    c.fill_rect(0.0, ny, w, ny + 2.0, rgb(50, 50, 54), 1.0);
    let icons = 5;
    for k in 0..icons {
        let ix = w * (k as f32 + 0.5) / icons as f32;
        let iy = ny + 70.0;
        match k {
            0 => {
                c.fill_poly(
                    &[
                        (ix - 30.0, iy - 4.0),
                        (ix, iy - 34.0),
                        (ix + 30.0, iy - 4.0),
                    ],
                    fg,
                    1.0,
                );
                c.fill_rect(ix - 22.0, iy - 6.0, ix + 22.0, iy + 30.0, fg, 1.0);
            }
            1 => {
                c.stroke_circle(ix - 4.0, iy - 4.0, 22.0, 5.0, fg, 1.0);
                c.line((ix + 12.0, iy + 12.0), (ix + 30.0, iy + 30.0), 6.0, fg, 1.0);
            }
            2 => {
                c.fill_rect(ix - 30.0, iy - 30.0, ix + 30.0, iy + 30.0, fg, 1.0);
                c.fill_rect(ix - 25.0, iy - 25.0, ix + 25.0, iy + 25.0, bg, 1.0);
                c.fill_rect(ix - 3.0, iy - 16.0, ix + 3.0, iy + 16.0, fg, 1.0);
                c.fill_rect(ix - 16.0, iy - 3.0, ix + 16.0, iy + 3.0, fg, 1.0);
            }
            3 => heart(&mut c, ix, iy - 12.0, 26.0, fg),
            _ => {
                c.fill_circle(ix, iy, 30.0, rgb(90, 90, 96), 1.0);
                c.fill_circle(ix, iy - 8.0, 11.0, rgb(200, 200, 204), 1.0);
                c.fill_ellipse(ix, iy + 18.0, 18.0, 10.0, rgb(200, 200, 204), 1.0);
            }
        }
    }
    // Home indicator.
    c.fill_rect(
        w * 0.35,
        sh as f32 - 24.0,
        w * 0.65,
        sh as f32 - 16.0,
        rgb(220, 220, 220),
        1.0,
    );
    (c, rect)
}
