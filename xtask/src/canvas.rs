//! A floating-point RGB canvas with the handful of anti-aliased drawing
//! primitives the synthetic scenes need. Everything here uses only exact
//! IEEE arithmetic (plus `sqrt`), so output is identical across platforms.

use crate::font;
use crate::rng::Rng;

pub type Rgb = [f32; 3];

pub fn rgb(r: u8, g: u8, b: u8) -> Rgb {
    [f32::from(r), f32::from(g), f32::from(b)]
}

pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

pub fn scale(a: Rgb, k: f32) -> Rgb {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub fn clamp01(v: f32) -> f32 {
    v.clamp(0.0, 1.0)
}

#[derive(Debug, Clone)]
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    pub px: Vec<Rgb>,
}

impl Canvas {
    pub fn new(w: usize, h: usize, fill: Rgb) -> Self {
        Self {
            w,
            h,
            px: vec![fill; w * h],
        }
    }

    pub fn from_rgb8(w: usize, h: usize, data: &[u8]) -> Self {
        let px = data
            .chunks_exact(3)
            .map(|c| [f32::from(c[0]), f32::from(c[1]), f32::from(c[2])])
            .collect();
        Self { w, h, px }
    }

    #[inline]
    pub fn get(&self, x: usize, y: usize) -> Rgb {
        self.px[y * self.w + x]
    }

    #[inline]
    pub fn set(&mut self, x: usize, y: usize, c: Rgb) {
        let i = y * self.w + x;
        self.px[i] = c;
    }

    #[inline]
    pub fn blend(&mut self, x: usize, y: usize, c: Rgb, a: f32) {
        if a <= 0.0 {
            return;
        }
        let i = y * self.w + x;
        let p = self.px[i];
        self.px[i] = mix(p, c, a.min(1.0));
    }

    /// Apply `f(x, y, current) -> new` to every pixel.
    pub fn map(&mut self, f: impl Fn(usize, usize, Rgb) -> Rgb) {
        for y in 0..self.h {
            for x in 0..self.w {
                let i = y * self.w + x;
                self.px[i] = f(x, y, self.px[i]);
            }
        }
    }

    /// Axis-aligned rectangle with exact fractional edge coverage.
    pub fn fill_rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: Rgb, alpha: f32) {
        let (x0, x1) = (x0.min(x1), x0.max(x1));
        let (y0, y1) = (y0.min(y1), y0.max(y1));
        let xs = x0.floor().max(0.0) as usize;
        let ys = y0.floor().max(0.0) as usize;
        let xe = (x1.ceil().max(0.0) as usize).min(self.w);
        let ye = (y1.ceil().max(0.0) as usize).min(self.h);
        for y in ys..ye {
            let fy = (y1.min(y as f32 + 1.0) - y0.max(y as f32)).max(0.0);
            for x in xs..xe {
                let fx = (x1.min(x as f32 + 1.0) - x0.max(x as f32)).max(0.0);
                self.blend(x, y, c, fx * fy * alpha);
            }
        }
    }

    /// Rectangle whose colour is given per pixel.
    pub fn shade_rect(
        &mut self,
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
        f: impl Fn(f32, f32) -> (Rgb, f32),
    ) {
        let xs = x0.floor().max(0.0) as usize;
        let ys = y0.floor().max(0.0) as usize;
        let xe = (x1.ceil().max(0.0) as usize).min(self.w);
        let ye = (y1.ceil().max(0.0) as usize).min(self.h);
        for y in ys..ye {
            let fy = (y1.min(y as f32 + 1.0) - y0.max(y as f32)).max(0.0);
            for x in xs..xe {
                let fx = (x1.min(x as f32 + 1.0) - x0.max(x as f32)).max(0.0);
                let (c, a) = f(x as f32 + 0.5, y as f32 + 0.5);
                self.blend(x, y, c, fx * fy * a);
            }
        }
    }

    /// Filled ellipse, anti-aliased along its edge.
    pub fn fill_ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, c: Rgb, alpha: f32) {
        let xs = (cx - rx - 1.0).floor().max(0.0) as usize;
        let ys = (cy - ry - 1.0).floor().max(0.0) as usize;
        let xe = ((cx + rx + 2.0).max(0.0) as usize).min(self.w);
        let ye = ((cy + ry + 2.0).max(0.0) as usize).min(self.h);
        let rmin = rx.min(ry).max(0.5);
        for y in ys..ye {
            for x in xs..xe {
                let dx = (x as f32 + 0.5 - cx) / rx;
                let dy = (y as f32 + 0.5 - cy) / ry;
                let d = (dx * dx + dy * dy).sqrt();
                let cov = clamp01((1.0 - d) * rmin + 0.5);
                self.blend(x, y, c, cov * alpha);
            }
        }
    }

    pub fn fill_circle(&mut self, cx: f32, cy: f32, r: f32, c: Rgb, alpha: f32) {
        self.fill_ellipse(cx, cy, r, r, c, alpha);
    }

    /// Ring (circle outline) of the given stroke width.
    pub fn stroke_circle(&mut self, cx: f32, cy: f32, r: f32, width: f32, c: Rgb, alpha: f32) {
        let xs = (cx - r - width).floor().max(0.0) as usize;
        let ys = (cy - r - width).floor().max(0.0) as usize;
        let xe = ((cx + r + width + 1.0).max(0.0) as usize).min(self.w);
        let ye = ((cy + r + width + 1.0).max(0.0) as usize).min(self.h);
        for y in ys..ye {
            for x in xs..xe {
                let dx = x as f32 + 0.5 - cx;
                let dy = y as f32 + 0.5 - cy;
                let d = (dx * dx + dy * dy).sqrt();
                let cov = clamp01(width * 0.5 - (d - r).abs() + 0.5);
                self.blend(x, y, c, cov * alpha);
            }
        }
    }

    /// Polygon fill (even-odd), 4 sub-scanlines per row with exact
    /// horizontal coverage.
    pub fn fill_poly(&mut self, pts: &[(f32, f32)], c: Rgb, alpha: f32) {
        if pts.len() < 3 {
            return;
        }
        let ymin = pts.iter().map(|p| p.1).fold(f32::MAX, f32::min);
        let ymax = pts.iter().map(|p| p.1).fold(f32::MIN, f32::max);
        let ys = ymin.floor().max(0.0) as usize;
        let ye = (ymax.ceil().max(0.0) as usize).min(self.h);
        let mut cover = vec![0.0f32; self.w + 1];
        let mut xs: Vec<f32> = Vec::new();
        const SUB: usize = 4;
        for y in ys..ye {
            cover.iter_mut().for_each(|v| *v = 0.0);
            let mut touched = false;
            for s in 0..SUB {
                let sy = y as f32 + (s as f32 + 0.5) / SUB as f32;
                xs.clear();
                for i in 0..pts.len() {
                    let (ax, ay) = pts[i];
                    let (bx, by) = pts[(i + 1) % pts.len()];
                    if (ay <= sy && by > sy) || (by <= sy && ay > sy) {
                        xs.push(ax + (sy - ay) / (by - ay) * (bx - ax));
                    }
                }
                xs.sort_by(|a, b| a.total_cmp(b));
                for pair in xs.chunks_exact(2) {
                    let xa = pair[0].max(0.0);
                    let xb = pair[1].min(self.w as f32);
                    if xb <= xa {
                        continue;
                    }
                    touched = true;
                    let ia = xa.floor() as usize;
                    let ib = (xb.ceil() as usize).min(self.w);
                    for (x, cv) in cover.iter_mut().enumerate().take(ib).skip(ia) {
                        let f = (xb.min(x as f32 + 1.0) - xa.max(x as f32)).max(0.0);
                        *cv += f / SUB as f32;
                    }
                }
            }
            if touched {
                for (x, cv) in cover.iter().enumerate().take(self.w) {
                    if *cv > 0.0 {
                        self.blend(x, y, c, cv * alpha);
                    }
                }
            }
        }
    }

    /// A straight stroke of the given width.
    pub fn line(&mut self, a: (f32, f32), b: (f32, f32), width: f32, c: Rgb, alpha: f32) {
        let dx = b.0 - a.0;
        let dy = b.1 - a.1;
        let len = (dx * dx + dy * dy).sqrt();
        if len <= 0.0 {
            return;
        }
        let nx = -dy / len * width * 0.5;
        let ny = dx / len * width * 0.5;
        self.fill_poly(
            &[
                (a.0 + nx, a.1 + ny),
                (b.0 + nx, b.1 + ny),
                (b.0 - nx, b.1 - ny),
                (a.0 - nx, a.1 - ny),
            ],
            c,
            alpha,
        );
    }

    /// Bitmap text with its top-left corner at (x, y). Each font pixel is a
    /// `scale` x `scale` square.
    pub fn text(&mut self, x: f32, y: f32, scale: f32, s: &str, c: Rgb, alpha: f32) {
        let mut cx = x;
        for ch in s.chars() {
            let g = font::glyph(ch);
            for (row, bits) in g.iter().enumerate() {
                for col in 0..font::GLYPH_W {
                    if bits & (1 << (font::GLYPH_W - 1 - col)) != 0 {
                        let px = cx + col as f32 * scale;
                        let py = y + row as f32 * scale;
                        self.fill_rect(px, py, px + scale, py + scale, c, alpha);
                    }
                }
            }
            cx += (font::GLYPH_W as f32 + 1.0) * scale;
        }
    }

    /// Text centred horizontally on `cx`.
    pub fn text_centered(&mut self, cx: f32, y: f32, scale: f32, s: &str, c: Rgb, alpha: f32) {
        let w = font::text_width(s, scale);
        self.text(cx - w * 0.5, y, scale, s, c, alpha);
    }

    /// Copy `src` onto this canvas with its top-left corner at (x, y).
    pub fn paste(&mut self, src: &Canvas, x: i64, y: i64) {
        for sy in 0..src.h {
            let ty = y + sy as i64;
            if ty < 0 || ty >= self.h as i64 {
                continue;
            }
            for sx in 0..src.w {
                let tx = x + sx as i64;
                if tx < 0 || tx >= self.w as i64 {
                    continue;
                }
                self.set(tx as usize, ty as usize, src.get(sx, sy));
            }
        }
    }

    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Canvas {
        let mut out = Canvas::new(w, h, [0.0; 3]);
        for yy in 0..h {
            let s = (y + yy) * self.w + x;
            out.px[yy * w..yy * w + w].copy_from_slice(&self.px[s..s + w]);
        }
        out
    }

    pub fn flip_h(&self) -> Canvas {
        let mut out = self.clone();
        for y in 0..self.h {
            out.px[y * self.w..(y + 1) * self.w].reverse();
        }
        out
    }

    /// Resample to `w` x `h`: area averaging when shrinking, bilinear when
    /// enlarging.
    pub fn resize(&self, w: usize, h: usize) -> Canvas {
        let tmp = resize_axis(self, w, true);
        resize_axis(&tmp, h, false)
    }

    /// Separable box blur, applied three times (close to a Gaussian).
    pub fn blur(&self, radius: usize) -> Canvas {
        let mut c = self.clone();
        for _ in 0..3 {
            c = box_pass(&c, radius, true);
            c = box_pass(&c, radius, false);
        }
        c
    }

    /// Mild [1 2 1] softening, like a phone lens and demosaic.
    pub fn soften(&self) -> Canvas {
        let mut tmp = self.clone();
        for y in 0..self.h {
            for x in 0..self.w {
                let l = self.get(x.saturating_sub(1), y);
                let m = self.get(x, y);
                let r = self.get((x + 1).min(self.w - 1), y);
                tmp.set(x, y, add3(scale(l, 0.25), scale(m, 0.5), scale(r, 0.25)));
            }
        }
        let mut out = tmp.clone();
        for y in 0..self.h {
            for x in 0..self.w {
                let u = tmp.get(x, y.saturating_sub(1));
                let m = tmp.get(x, y);
                let d = tmp.get(x, (y + 1).min(self.h - 1));
                out.set(x, y, add3(scale(u, 0.25), scale(m, 0.5), scale(d, 0.25)));
            }
        }
        out
    }

    /// Quantise to 8-bit RGB, adding sensor-like grain of the given strength
    /// (standard deviation in 8-bit levels; 0 for none).
    pub fn to_rgb8(&self, grain: f32, rng: &mut Rng) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.w * self.h * 3);
        for p in &self.px {
            let luma = (0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]) / 255.0;
            // Grain is strongest in the mid-tones, weaker in deep shadow.
            let g = if grain > 0.0 {
                let k = grain * (0.45 + 0.55 * (1.0 - (luma - 0.45).abs() * 1.4).max(0.0));
                let n = rng.gauss() * k;
                let chroma = [rng.gauss(), rng.gauss(), rng.gauss()];
                [
                    n + chroma[0] * k * 0.35,
                    n + chroma[1] * k * 0.35,
                    n + chroma[2] * k * 0.35,
                ]
            } else {
                [0.0; 3]
            };
            for ch in 0..3 {
                let v = (p[ch] + g[ch] + 0.5).floor().clamp(0.0, 255.0);
                out.push(v as u8);
            }
        }
        out
    }
}

fn add3(a: Rgb, b: Rgb, c: Rgb) -> Rgb {
    [a[0] + b[0] + c[0], a[1] + b[1] + c[1], a[2] + b[2] + c[2]]
}

fn box_pass(src: &Canvas, r: usize, horizontal: bool) -> Canvas {
    let mut out = src.clone();
    let (len, lines) = if horizontal {
        (src.w, src.h)
    } else {
        (src.h, src.w)
    };
    let idx = |line: usize, i: usize| {
        if horizontal {
            line * src.w + i
        } else {
            i * src.w + line
        }
    };
    let win = (2 * r + 1) as f32;
    for line in 0..lines {
        let mut acc = [0.0f32; 3];
        // Edge pixels are repeated.
        for k in 0..=(2 * r) {
            let i = (k as i64 - r as i64).clamp(0, len as i64 - 1) as usize;
            let p = src.px[idx(line, i)];
            acc = [acc[0] + p[0], acc[1] + p[1], acc[2] + p[2]];
        }
        for i in 0..len {
            out.px[idx(line, i)] = scale(acc, 1.0 / win);
            let drop = (i as i64 - r as i64).clamp(0, len as i64 - 1) as usize;
            let add = (i as i64 + r as i64 + 1).clamp(0, len as i64 - 1) as usize;
            let a = src.px[idx(line, add)];
            let d = src.px[idx(line, drop)];
            acc = [
                acc[0] + a[0] - d[0],
                acc[1] + a[1] - d[1],
                acc[2] + a[2] - d[2],
            ];
        }
    }
    out
}

fn resize_axis(src: &Canvas, n: usize, horizontal: bool) -> Canvas {
    let (len, lines) = if horizontal {
        (src.w, src.h)
    } else {
        (src.h, src.w)
    };
    let (w, h) = if horizontal { (n, src.h) } else { (src.w, n) };
    let mut out = Canvas::new(w, h, [0.0; 3]);
    let ratio = len as f32 / n as f32;
    let get = |line: usize, i: usize| {
        if horizontal {
            src.px[line * src.w + i]
        } else {
            src.px[i * src.w + line]
        }
    };
    for line in 0..lines {
        for o in 0..n {
            let v = if ratio > 1.0 {
                // Area average of the source span [a, b).
                let a = o as f32 * ratio;
                let b = a + ratio;
                let mut acc = [0.0f32; 3];
                let mut wsum = 0.0;
                let mut i = a.floor() as usize;
                while (i as f32) < b && i < len {
                    let wgt = (b.min(i as f32 + 1.0) - a.max(i as f32)).max(0.0);
                    let p = get(line, i);
                    acc = [
                        acc[0] + p[0] * wgt,
                        acc[1] + p[1] * wgt,
                        acc[2] + p[2] * wgt,
                    ];
                    wsum += wgt;
                    i += 1;
                }
                scale(acc, 1.0 / wsum)
            } else {
                let s = ((o as f32 + 0.5) * ratio - 0.5).max(0.0);
                let i0 = (s.floor() as usize).min(len - 1);
                let i1 = (i0 + 1).min(len - 1);
                mix(get(line, i0), get(line, i1), s - i0 as f32)
            };
            if horizontal {
                out.px[line * w + o] = v;
            } else {
                out.px[o * w + line] = v;
            }
        }
    }
    out
}
