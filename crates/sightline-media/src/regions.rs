//! Find the photo inside the frame of a re-post.
//!
//! Re-posters put photos in frames: a 9:16 story with black or blurred bars
//! above and below, a phone-app screenshot with a status bar, a header, a
//! caption and an action bar around the photo. A whole-image perceptual hash
//! of such a frame says little about the photo in it. [`find_regions`] finds
//! the photo so that it can be hashed on its own, beside the whole image.
//!
//! Two detectors, both conservative (an ordinary photo gets no region):
//!
//! * [`RegionKind::Borderless`]: bars on any side that are either uniform
//!   (near-constant colour, flat) or blurred (smooth, darker or lighter than
//!   the photo, on two opposite sides), each ending at a sharp straight edge.
//! * [`RegionKind::ScreenshotPhoto`]: a textured rectangle in a flat UI
//!   background, with UI "ink" (text, icons) around it and sharp straight
//!   edges.
//!
//! Both work on a grid of cells (the image reduced to at most
//! [`WORK_SIDE`] cells on its longer side: each cell keeps its mean colour
//! and the mean absolute difference between neighbouring full-resolution
//! pixels inside it, its "activity"), then refine every edge they found on
//! the full-resolution pixels in a small window, so rectangles are exact to
//! a pixel or two. Time is linear in the pixels (one pass to build the grid,
//! then windows of a few rows), memory is the grid plus a few rows, and no
//! input panics: too small, truncated or degenerate buffers give no region.

use std::fmt;

/// Longest side of the working grid, in cells.
pub const WORK_SIDE: usize = 512;

/// What a [`Region`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionKind {
    /// The image with uniform or blurred bars removed.
    Borderless,
    /// The photo inside a phone-app screenshot.
    ScreenshotPhoto,
}

impl RegionKind {
    /// Stable lowercase name, for storage and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionKind::Borderless => "borderless",
            RegionKind::ScreenshotPhoto => "screenshot-photo",
        }
    }

    /// Parse a name produced by [`RegionKind::as_str`].
    pub fn from_name(name: &str) -> Option<RegionKind> {
        [RegionKind::Borderless, RegionKind::ScreenshotPhoto]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for RegionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rectangle of the image that holds a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    pub kind: RegionKind,
    /// `[x, y, width, height]` in pixels of the input image.
    pub rect: [u32; 4],
}

impl Region {
    /// Copy the region's pixels out of an interleaved RGB image of
    /// `width` × `height`. Returns `None` if the rectangle does not fit.
    pub fn crop_rgb(&self, rgb: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
        crop_rgb(rgb, width, height, self.rect)
    }
}

/// Copy `rect` (`[x, y, w, h]`) out of an interleaved RGB image. `None` if it
/// does not fit inside the image or the buffer is too short.
pub fn crop_rgb(rgb: &[u8], width: u32, height: u32, rect: [u32; 4]) -> Option<Vec<u8>> {
    let [x, y, w, h] = rect.map(|v| v as usize);
    let (iw, ih) = (width as usize, height as usize);
    if w == 0 || h == 0 || x.checked_add(w)? > iw || y.checked_add(h)? > ih {
        return None;
    }
    if rgb.len() < iw.checked_mul(ih)?.checked_mul(3)? {
        return None;
    }
    let mut out = Vec::with_capacity(w * h * 3);
    for row in y..y + h {
        let start = (row * iw + x) * 3;
        out.extend_from_slice(&rgb[start..start + w * 3]);
    }
    Some(out)
}

/// Intersection over union of two `[x, y, w, h]` rectangles.
pub fn iou(a: [u32; 4], b: [u32; 4]) -> f64 {
    let (ax1, ay1) = (
        u64::from(a[0]) + u64::from(a[2]),
        u64::from(a[1]) + u64::from(a[3]),
    );
    let (bx1, by1) = (
        u64::from(b[0]) + u64::from(b[2]),
        u64::from(b[1]) + u64::from(b[3]),
    );
    let ix = ax1.min(bx1).saturating_sub(u64::from(a[0].max(b[0])));
    let iy = ay1.min(by1).saturating_sub(u64::from(a[1].max(b[1])));
    let inter = (ix * iy) as f64;
    let union =
        (u64::from(a[2]) * u64::from(a[3]) + u64::from(b[2]) * u64::from(b[3])) as f64 - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Smallest photo we propose, in pixels per side.
const MIN_SIDE_PX: usize = 64;
/// Smallest photo we propose, as a fraction of the frame's area.
const MIN_AREA_FRAC: f64 = 0.25;
/// A cell is flat when its activity (mean absolute difference between
/// neighbouring pixels, summed over x and y) is at most this.
const A_FLAT: f32 = 0.25;
/// Colour tolerance (max over channels) for "the same colour as the bar".
const TOL_C: f32 = 10.0;
/// Per-pixel colour tolerance when refining a uniform edge.
const TOL_PX: i32 = 8;

/// Centred crops hashed beside the whole image, as (kind, scale): PDQ is not
/// crop-invariant, and these two are what the re-post evaluation found to
/// pay (`docs/benchmarks.md`, "Re-post matching"); 90% and 70% added nothing.
pub const CENTRE_CROPS: [(&str, f64); 2] = [("centre-80", 0.8), ("centre-60", 0.6)];

/// Regions are looked for, and hashed, on a copy box-downscaled by an
/// integer factor so its short side stays at least this long. Phone
/// screenshots and social-media images are smaller than twice this and are
/// used as they are; camera photos are not, and there the full-resolution
/// pass would cost more than decoding (PDQ decimates to 64×64 anyway).
pub const REGION_MIN_SIDE: u32 = 720;

/// The integer factor [`box_downscale`] uses for a `w` × `h` image.
pub fn region_scale(w: u32, h: u32) -> u32 {
    (w.min(h) / REGION_MIN_SIDE).max(1)
}

/// Average `k` × `k` blocks of interleaved RGB. Returns the smaller image
/// and its size; columns and rows left over at the edges are dropped.
pub fn box_downscale(rgb: &[u8], width: u32, height: u32, k: u32) -> (Vec<u8>, u32, u32) {
    let k = k.max(1);
    let (w, h) = (width / k, height / k);
    let (w_us, k_us) = (width as usize, k as usize);
    if rgb.len() < w_us * height as usize * 3 {
        return (Vec::new(), 0, 0);
    }
    let mut out = vec![0u8; w as usize * h as usize * 3];
    let mut sums = vec![0u32; w as usize * 3];
    let area = k * k;
    for oy in 0..h as usize {
        sums.fill(0);
        for y in oy * k_us..(oy + 1) * k_us {
            let row = &rgb[y * w_us * 3..(y * w_us + w as usize * k_us) * 3];
            for (ox, block) in row.chunks_exact(k_us * 3).enumerate() {
                for px in block.chunks_exact(3) {
                    sums[ox * 3] += u32::from(px[0]);
                    sums[ox * 3 + 1] += u32::from(px[1]);
                    sums[ox * 3 + 2] += u32::from(px[2]);
                }
            }
        }
        let dst = &mut out[oy * w as usize * 3..(oy + 1) * w as usize * 3];
        for (d, &sum) in dst.iter_mut().zip(&sums) {
            *d = ((sum + area / 2) / area) as u8;
        }
    }
    (out, w, h)
}

/// The centred `scale` × `scale` part of a `w` × `h` image, as x, y, w, h.
pub fn centre_rect(w: u32, h: u32, scale: f64) -> [u32; 4] {
    let cw = ((f64::from(w) * scale).round() as u32).clamp(1, w.max(1));
    let ch = ((f64::from(h) * scale).round() as u32).clamp(1, h.max(1));
    [w.saturating_sub(cw) / 2, h.saturating_sub(ch) / 2, cw, ch]
}

/// Find photos inside frames. `rgb` is interleaved 8-bit RGB, row-major,
/// `width * height * 3` bytes (extra bytes are ignored; a short buffer gives
/// no region). Returns at most one [`RegionKind::Borderless`] and at most a
/// few [`RegionKind::ScreenshotPhoto`] regions, largest first; nothing for an
/// ordinary photo. Deterministic: the same pixels always give the same
/// regions.
pub fn find_regions(rgb: &[u8], width: u32, height: u32) -> Vec<Region> {
    let Some(img) = Img::new(rgb, width, height) else {
        return Vec::new();
    };
    if img.w < MIN_SIDE_PX || img.h < MIN_SIDE_PX {
        return Vec::new();
    }
    let grid = Grid::build(&img);
    let mut out = Vec::new();
    if let Some(rect) = borderless(&img, &grid) {
        out.push(Region {
            kind: RegionKind::Borderless,
            rect,
        });
    }
    for rect in screenshot(&img, &grid) {
        if out.iter().any(|r| iou(r.rect, rect) >= 0.9) {
            continue;
        }
        out.push(Region {
            kind: RegionKind::ScreenshotPhoto,
            rect,
        });
    }
    out
}

/// The input image, validated.
struct Img<'a> {
    rgb: &'a [u8],
    w: usize,
    h: usize,
}

impl<'a> Img<'a> {
    fn new(rgb: &'a [u8], width: u32, height: u32) -> Option<Self> {
        let (w, h) = (width as usize, height as usize);
        let n = w.checked_mul(h)?.checked_mul(3)?;
        if w == 0 || h == 0 || rgb.len() < n {
            return None;
        }
        Some(Img { rgb, w, h })
    }

    fn px(&self, x: usize, y: usize) -> [i32; 3] {
        let i = (y * self.w + x) * 3;
        [
            i32::from(self.rgb[i]),
            i32::from(self.rgb[i + 1]),
            i32::from(self.rgb[i + 2]),
        ]
    }
}

fn luma(p: [i32; 3]) -> i32 {
    (p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8
}

/// The image reduced to cells of `s` × `s` pixels.
struct Grid {
    s: usize,
    gw: usize,
    gh: usize,
    /// Mean colour per cell.
    col: Vec<[f32; 3]>,
    /// Mean activity per cell: |ΔL| to the right and below, within the cell.
    act: Vec<f32>,
}

impl Grid {
    fn build(img: &Img<'_>) -> Grid {
        let s = img.w.max(img.h).div_ceil(WORK_SIDE).max(1);
        let gw = img.w.div_ceil(s);
        let gh = img.h.div_ceil(s);
        let n = gw * gh;
        let mut sum = vec![[0u32; 3]; n];
        let mut act = vec![0u32; n];
        let mut cnt = vec![0u32; n];
        let mut prev = vec![0i32; img.w];
        let mut cur = vec![0i32; img.w];
        let mut a = vec![0u32; img.w];
        for y in 0..img.h {
            let gy = y / s;
            let row = &img.rgb[y * img.w * 3..(y + 1) * img.w * 3];
            for (l, p) in cur.iter_mut().zip(row.chunks_exact(3)) {
                *l = luma([i32::from(p[0]), i32::from(p[1]), i32::from(p[2])]);
            }
            // Per-pixel activity: |ΔL| to the right neighbour (within the
            // cell) and to the pixel above (within the cell).
            for (o, w) in a.iter_mut().zip(cur.windows(2)) {
                *o = (w[1] - w[0]).unsigned_abs();
            }
            a[img.w - 1] = 0;
            for gx in 1..gw {
                a[gx * s - 1] = 0;
            }
            if y % s != 0 {
                for ((o, u), v) in a.iter_mut().zip(&cur).zip(&prev) {
                    *o += (u - v).unsigned_abs();
                }
            }
            let cells = gy * gw..(gy + 1) * gw;
            for (((t, ac), k), (px, aa)) in sum[cells.clone()]
                .iter_mut()
                .zip(&mut act[cells.clone()])
                .zip(&mut cnt[cells])
                .zip(row.chunks(s * 3).zip(a.chunks(s)))
            {
                for p in px.chunks_exact(3) {
                    t[0] += u32::from(p[0]);
                    t[1] += u32::from(p[1]);
                    t[2] += u32::from(p[2]);
                }
                *ac += aa.iter().sum::<u32>();
                *k += aa.len() as u32;
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        let col = sum
            .iter()
            .zip(&cnt)
            .map(|(t, &k)| {
                let k = k.max(1) as f32;
                [t[0] as f32 / k, t[1] as f32 / k, t[2] as f32 / k]
            })
            .collect();
        let act = act
            .iter()
            .zip(&cnt)
            .map(|(&a, &k)| a as f32 / k.max(1) as f32)
            .collect();
        Grid {
            s,
            gw,
            gh,
            col,
            act,
        }
    }
}

fn cdist(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0])
        .abs()
        .max((a[1] - b[1]).abs())
        .max((a[2] - b[2]).abs())
}

/// Which side of the frame a bar is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Top,
    Bottom,
    Left,
    Right,
}

const SIDES: [Side; 4] = [Side::Top, Side::Bottom, Side::Left, Side::Right];

impl Side {
    fn opposite(self) -> Side {
        match self {
            Side::Top => Side::Bottom,
            Side::Bottom => Side::Top,
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }
    fn horizontal(self) -> bool {
        matches!(self, Side::Top | Side::Bottom)
    }
}

/// The grid seen from one side: line 0 is the outermost row (or column),
/// cells along a line are indexed by `j`.
#[derive(Clone, Copy)]
struct View<'a> {
    g: &'a Grid,
    side: Side,
}

impl View<'_> {
    fn lines(&self) -> usize {
        if self.side.horizontal() {
            self.g.gh
        } else {
            self.g.gw
        }
    }
    fn len(&self) -> usize {
        if self.side.horizontal() {
            self.g.gw
        } else {
            self.g.gh
        }
    }
    fn idx(&self, k: usize, j: usize) -> usize {
        let g = self.g;
        match self.side {
            Side::Top => k * g.gw + j,
            Side::Bottom => (g.gh - 1 - k) * g.gw + j,
            Side::Left => j * g.gw + k,
            Side::Right => j * g.gw + (g.gw - 1 - k),
        }
    }
    /// Fraction of the cells of line `k` (over `j` in `span`) that satisfy `f`.
    fn frac(&self, k: usize, span: (usize, usize), f: impl Fn(usize) -> bool) -> f32 {
        let (a, b) = span;
        if b <= a {
            return 0.0;
        }
        let n = (a..b).filter(|&j| f(self.idx(k, j))).count();
        n as f32 / (b - a) as f32
    }
}

/// How a side's bar looks.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bar {
    Uniform([f32; 3]),
    Blurred,
}

/// A bar found on one side: its kind and its thickness in full-res pixels.
#[derive(Debug, Clone, Copy)]
struct Found {
    bar: Bar,
    px: usize,
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Median activity of the central half of the image.
fn central_activity(g: &Grid) -> f32 {
    let mut v = Vec::new();
    for y in g.gh / 4..(3 * g.gh).div_ceil(4) {
        for x in g.gw / 4..(3 * g.gw).div_ceil(4) {
            v.push(g.act[y * g.gw + x]);
        }
    }
    median(&mut v)
}

/// The first line `k >= 1` that starts a run of mostly content lines long
/// enough to be a photo edge, scanning no further than `max_k`.
fn content_start(
    lines: usize,
    min_run: usize,
    max_k: usize,
    is_content: impl Fn(usize) -> bool,
) -> Option<usize> {
    let content: Vec<bool> = (0..lines).map(&is_content).collect();
    (1..=max_k.min(lines.saturating_sub(1))).find(|&k| {
        if !content[k] {
            return false;
        }
        let end = (k + min_run).min(lines);
        let n = content[k..end].iter().filter(|&&c| c).count();
        n * 10 >= (end - k) * 8
    })
}

/// The last line that ends a run of mostly content lines `min_run` long.
fn content_end(lines: usize, min_run: usize, is_content: impl Fn(usize) -> bool) -> Option<usize> {
    let content: Vec<bool> = (0..lines).map(&is_content).collect();
    (0..lines).rev().find(|&k| {
        if !content[k] {
            return false;
        }
        let start = (k + 1).saturating_sub(min_run);
        let n = content[start..=k].iter().filter(|&&c| c).count();
        n * 10 >= (k + 1 - start) * 8
    })
}

/// Look for a bar on one side. Returns its kind and the grid line where the
/// content starts (that line may straddle the edge).
fn side_bar(g: &Grid, side: Side, central_act: f32, span: (usize, usize)) -> Option<(Bar, usize)> {
    let v = View { g, side };
    let lines = v.lines();
    let len = v.len();
    if lines < 8 || len < 4 || span.1 > len || span.1 < span.0 + 4 {
        return None;
    }
    let full = span;
    // The photo must keep at least a quarter of this dimension.
    let max_k = lines * 3 / 4;
    // The photo starts with a long run of content lines: longer than any UI
    // overlay (avatar, name, progress bars) drawn on the bar.
    let min_run = (MIN_SIDE_PX / g.s)
        .max(lines / 8)
        .max(4)
        .min(lines / 4)
        .max(2);
    // Lines of the outer line's flat colour, if it has one (used to refuse
    // a frame whose inside has such lines too: a screenshot's action bar).
    let mut flat_lines: Option<Vec<f32>> = None;
    // Uniform bar: the outermost line is mostly flat cells of one colour.
    let flat: Vec<[f32; 3]> = (span.0..span.1)
        .map(|j| v.idx(0, j))
        .filter(|&i| g.act[i] <= A_FLAT)
        .map(|i| g.col[i])
        .collect();
    if flat.len() * 10 >= (span.1 - span.0) * 6 {
        let mut c = [0f32; 3];
        for (ch, out) in c.iter_mut().enumerate() {
            let mut vals: Vec<f32> = flat.iter().map(|p| p[ch]).collect();
            *out = median(&mut vals);
        }
        let bar_like = |i: usize| g.act[i] <= A_FLAT && cdist(g.col[i], c) <= TOL_C;
        let fr: Vec<f32> = (0..lines).map(|k| v.frac(k, full, bar_like)).collect();
        let uniform_edge = fr[0] >= 0.6;
        if uniform_edge
            && let Some(b) = content_start(lines, min_run, max_k, |k| fr[k] <= 0.4)
            && b >= 2
        {
            // Within a few lines of the edge (JPEG ringing blurs the last
            // ones) the bar is clean.
            let clean_edge = fr[b.saturating_sub(4)..b].iter().any(|&f| f >= 0.9);
            let mean_outside = fr[..b - 1].iter().sum::<f32>() / (b - 1) as f32;
            // The inside holds no bar-coloured line: a letterboxed photo is
            // photo all through (a screenshot's action bar is not).
            // (Lines past the last content line are the opposite bar.)
            let last = content_end(lines, min_run, |k| fr[k] <= 0.4).unwrap_or(b);
            let inside_clean = b + 1 >= last
                || !fr[b + 1..last]
                    .windows(2)
                    .any(|w| w[0] >= 0.9 && w[1] >= 0.9);
            if clean_edge && mean_outside >= 0.6 && inside_clean {
                return Some((Bar::Uniform(c), b));
            }
        }
        if uniform_edge {
            flat_lines = Some(fr);
        }
    }
    // Blurred bar (or a smooth gradient): smooth cells on the outside, a
    // straight colour step at the photo's edge.
    let a_low = (central_act * 0.35).clamp(A_FLAT, 2.5);
    let low = |i: usize| g.act[i] <= a_low;
    let fl: Vec<f32> = (0..lines).map(|k| v.frac(k, full, low)).collect();
    if fl[0] < 0.6 {
        return None;
    }
    let kc = content_start(lines, min_run, max_k, |k| fl[k] <= 0.3)?;
    let mut best: Option<(usize, f32)> = None;
    for k in 2..=kc.min(lines - 2) {
        if fl[k - 1] < 0.75 {
            continue;
        }
        // The step must persist into the photo (a thin overlay line on
        // the bar, like a story's progress bar, does not).
        let step = (span.0..span.1)
            .filter(|&j| {
                let o = g.col[v.idx(k - 1, j)];
                [1, 2, 4]
                    .iter()
                    .all(|&d| k + d < lines && cdist(g.col[v.idx(k + d, j)], o) >= 12.0)
            })
            .count() as f32
            / (span.1 - span.0) as f32;
        if best.is_none_or(|(_, s)| step > s) {
            best = Some((k, step));
        }
    }
    let (b, step) = best?;
    let mean_outside = fl[..b - 1].iter().sum::<f32>() / (b - 1) as f32;
    let inside_clean = flat_lines.is_none_or(|fr| {
        let last = content_end(lines, min_run, |k| fl[k] <= 0.3).unwrap_or(b);
        b + 1 >= last
            || !fr[b + 1..last]
                .windows(2)
                .any(|w| w[0] >= 0.9 && w[1] >= 0.9)
    });
    if step >= 0.5 && mean_outside >= 0.7 && inside_clean {
        return Some((Bar::Blurred, b));
    }
    None
}

/// Per-row (or per-column) profiles of the full-res image along one side,
/// between `a` and `b` across.
struct Profile<'a> {
    img: &'a Img<'a>,
    side: Side,
}

impl Profile<'_> {
    /// Pixel at distance `d` from this side, position `t` along it.
    fn px(&self, d: usize, t: usize) -> [i32; 3] {
        let img = self.img;
        match self.side {
            Side::Top => img.px(t, d),
            Side::Bottom => img.px(t, img.h - 1 - d),
            Side::Left => img.px(d, t),
            Side::Right => img.px(img.w - 1 - d, t),
        }
    }
    fn depth(&self) -> usize {
        if self.side.horizontal() {
            self.img.h
        } else {
            self.img.w
        }
    }
    /// Fraction of pixels at distance `d`, along `span`, that match `c` and
    /// are flat against their neighbour along the line.
    fn match_frac(&self, d: usize, span: (usize, usize), c: [i32; 3]) -> f32 {
        let (a, b) = span;
        if b <= a + 1 {
            return 0.0;
        }
        let mut n = 0usize;
        let mut prev = self.px(d, a);
        for t in a + 1..b {
            let p = self.px(d, t);
            let close = (0..3).all(|ch| (p[ch] - c[ch]).abs() <= TOL_PX);
            let flat = p == prev;
            if close && flat {
                n += 1;
            }
            prev = p;
        }
        n as f32 / (b - a - 1) as f32
    }
    /// Mean luma of blocks of 16 pixels along the line at distance `d`.
    fn blocks(&self, d: usize, span: (usize, usize)) -> Vec<f32> {
        let (a, b) = span;
        let mut out = Vec::with_capacity((b - a) / 16 + 1);
        let mut t = a;
        while t < b {
            let e = (t + 16).min(b);
            let s: i32 = (t..e).map(|u| luma(self.px(d, u))).sum();
            out.push(s as f32 / (e - t) as f32);
            t = e;
        }
        out
    }
}

/// Refine a bar edge found at grid line `b` on `side`: returns the bar's
/// thickness in full-res pixels, or `None` when the edge is not a sharp
/// straight line there.
fn refine(
    img: &Img<'_>,
    g: &Grid,
    side: Side,
    bar: Bar,
    b: usize,
    span: (usize, usize),
) -> Option<usize> {
    let p = Profile { img, side };
    let depth = p.depth();
    let lo = b.saturating_sub(2) * g.s;
    let hi = ((b + 2) * g.s).min(depth.saturating_sub(1));
    if hi <= lo + 2 {
        return None;
    }
    match bar {
        Bar::Uniform(c) => {
            let c = c.map(|v| v.round() as i32);
            // Evaluate a few lines beyond the window for the sharpness test.
            let lo2 = lo.saturating_sub(12);
            let hi2 = (hi + 4).min(depth);
            let m: Vec<f32> = (lo2..hi2).map(|d| p.match_frac(d, span, c)).collect();
            let at = |d: usize| m[d - lo2];
            // Two-segment least-squares split: bar-like above, less below.
            let mut best = (lo + 1, f32::MAX);
            for y in lo + 1..hi {
                let a: Vec<f32> = (lo..y).map(at).collect();
                let b: Vec<f32> = (y..hi).map(at).collect();
                let ma = a.iter().sum::<f32>() / a.len() as f32;
                let mb = b.iter().sum::<f32>() / b.len() as f32;
                if ma <= mb {
                    continue;
                }
                let sse = a.iter().map(|v| (v - ma) * (v - ma)).sum::<f32>()
                    + b.iter().map(|v| (v - mb) * (v - mb)).sum::<f32>();
                if sse < best.1 {
                    best = (y, sse);
                }
            }
            let y = best.0;
            let mean = |a: usize, e: usize| {
                let (a, e) = (a.max(lo2), e.min(hi2));
                if e <= a {
                    return 0.5;
                }
                (a..e).map(at).sum::<f32>() / (e - a) as f32
            };
            // Skip the few lines next to the edge (JPEG ringing, resampling).
            let above = mean(y.saturating_sub(10), y.saturating_sub(3));
            if best.1 < f32::MAX && above >= 0.75 && mean(y + 1, y + 4) <= above - 0.2 {
                Some(y)
            } else {
                None
            }
        }
        Bar::Blurred => {
            let prof: Vec<Vec<f32>> = (lo..hi).map(|d| p.blocks(d, span)).collect();
            let step = |i: usize| -> f32 {
                let (a, b) = (&prof[i - 1], &prof[i]);
                a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len().max(1) as f32
            };
            let steps: Vec<f32> = (1..prof.len()).map(step).collect();
            let (imax, smax) =
                steps.iter().enumerate().fold(
                    (0, f32::MIN),
                    |acc, (i, &s)| if s > acc.1 { (i, s) } else { acc },
                );
            let mut rest: Vec<f32> = steps
                .iter()
                .enumerate()
                .filter(|&(i, _)| i + 1 < imax || i > imax + 1)
                .map(|(_, &s)| s)
                .collect();
            let base = median(&mut rest);
            if smax >= 6.0 && smax >= 2.5 * base {
                Some(lo + imax + 1)
            } else {
                None
            }
        }
    }
}

fn borderless(img: &Img<'_>, g: &Grid) -> Option<[u32; 4]> {
    let cact = central_activity(g);
    // Pass 1: every side across its whole length. Pass 2: each side again,
    // between the bars pass 1 found on the two perpendicular sides (a photo
    // framed on four sides has bar cells at both ends of every line).
    let len = |side: Side| if side.horizontal() { g.gw } else { g.gh };
    let first: Vec<Option<usize>> = SIDES
        .iter()
        .map(|&s| side_bar(g, s, cact, (0, len(s))).map(|(_, b)| b))
        .collect();
    let perp = |side: Side| -> (usize, usize) {
        let (a, b) = if side.horizontal() { (2, 3) } else { (0, 1) };
        (first[a].map_or(0, |k| k + 1), first[b].map_or(0, |k| k + 1))
    };
    let mut found: [Option<Found>; 4] = [None; 4];
    for (i, side) in SIDES.into_iter().enumerate() {
        let (p0, p1) = perp(side);
        let n = len(side);
        let span = (p0.min(n), n.saturating_sub(p1));
        if let Some((bar, b)) = side_bar(g, side, cact, span) {
            let dim = if side.horizontal() { img.h } else { img.w };
            let along = if side.horizontal() { img.w } else { img.h };
            let rspan = (
                (along / 8).max(p0 * g.s + g.s).min(along),
                (along - along / 8).min(along.saturating_sub(p1 * g.s + g.s)),
            );
            if rspan.1 < rspan.0 + 16 {
                return None;
            }
            match refine(img, g, side, bar, b, rspan) {
                Some(px) if px >= 4 && px * 100 >= dim => found[i] = Some(Found { bar, px }),
                Some(_) => {}
                // A bar seen in the grid whose edge is not sharp: doubt
                // everything rather than crop on one side only.
                None => return None,
            }
        }
    }
    // Blurred bars come in pairs of about equal thickness.
    for (i, side) in SIDES.into_iter().enumerate() {
        if let Some(Found {
            bar: Bar::Blurred,
            px,
        }) = found[i]
        {
            let o = SIDES
                .iter()
                .position(|&s| s == side.opposite())
                .unwrap_or(i);
            let dim = if side.horizontal() { img.h } else { img.w };
            let paired = matches!(found[o], Some(f) if px.abs_diff(f.px) * 100 <= dim * 15);
            if !paired {
                return None;
            }
        }
    }
    let t = |i: usize| found[i].map_or(0, |f| f.px);
    let (top, bottom, left, right) = (t(0), t(1), t(2), t(3));
    if top + bottom + left + right == 0 {
        return None;
    }
    let w = img.w.checked_sub(left + right)?;
    let h = img.h.checked_sub(top + bottom)?;
    if w < MIN_SIDE_PX
        || h < MIN_SIDE_PX
        || ((w * h) as f64) < MIN_AREA_FRAC * (img.w * img.h) as f64
    {
        return None;
    }
    Some([left as u32, top as u32, w as u32, h as u32])
}

/// Cells that are flat and within [`TOL_C`] of `bg`.
fn is_bg(g: &Grid, i: usize, bg: [f32; 3]) -> bool {
    g.act[i] <= A_FLAT && cdist(g.col[i], bg) <= TOL_C
}

/// The UI background colour of a screenshot: the commonest colour among the
/// flat cells of the outer two rows and columns, if it covers enough of them.
fn ui_background(g: &Grid) -> Option<[f32; 3]> {
    let mut frame = Vec::new();
    for y in 0..g.gh {
        for x in 0..g.gw {
            if y < 2 || y + 2 >= g.gh || x < 2 || x + 2 >= g.gw {
                frame.push(y * g.gw + x);
            }
        }
    }
    let key = |c: [f32; 3]| {
        let q = |v: f32| (v as u32).min(255) >> 3;
        (q(c[0]) << 10) | (q(c[1]) << 5) | q(c[2])
    };
    let mut keys: Vec<u32> = frame
        .iter()
        .filter(|&&i| g.act[i] <= A_FLAT)
        .map(|&i| key(g.col[i]))
        .collect();
    keys.sort_unstable();
    let mut best = (0u32, 0usize);
    let mut i = 0;
    while i < keys.len() {
        let j = i + keys[i..].iter().take_while(|&&k| k == keys[i]).count();
        if j - i > best.1 {
            best = (keys[i], j - i);
        }
        i = j;
    }
    if best.1 * 10 < frame.len() * 3 {
        return None;
    }
    let members: Vec<[f32; 3]> = frame
        .iter()
        .filter(|&&i| g.act[i] <= A_FLAT && key(g.col[i]) == best.0)
        .map(|&i| g.col[i])
        .collect();
    let mut bg = [0f32; 3];
    for (ch, out) in bg.iter_mut().enumerate() {
        let mut v: Vec<f32> = members.iter().map(|p| p[ch]).collect();
        *out = median(&mut v);
    }
    Some(bg)
}

/// A content rectangle must have this much median activity to be a photo
/// (and not a flat placeholder or a gradient).
const A_TEX: f32 = 0.4;

/// Screenshot detector; see the module docs.
fn screenshot(img: &Img<'_>, g: &Grid) -> Vec<[u32; 4]> {
    let mut out = Vec::new();
    if g.gh < 16 || g.gw < 8 {
        return out;
    }
    let Some(bg) = ui_background(g) else {
        return out;
    };
    let bgf = |i: usize| is_bg(g, i, bg);
    let rows: Vec<f32> = (0..g.gh)
        .map(|y| (0..g.gw).filter(|&x| bgf(y * g.gw + x)).count() as f32 / g.gw as f32)
        .collect();
    let ui_rows = rows.iter().filter(|&&r| r >= 0.6).count();
    if ui_rows * 100 < g.gh * 15 {
        return out;
    }
    let min_cells = MIN_SIDE_PX.div_ceil(g.s);
    let mut y = 0;
    while y < g.gh {
        if rows[y] >= 0.6 {
            y += 1;
            continue;
        }
        let y0 = y;
        while y < g.gh && rows[y] < 0.6 {
            y += 1;
        }
        let y1 = y;
        if let Some(rect) = screenshot_candidate(img, g, bg, &rows, y0, y1, min_cells) {
            out.push(rect);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(u64::from(r[2]) * u64::from(r[3])));
    out.truncate(3);
    out
}

/// Validate and refine one run of content rows `[y0, y1)` of a screenshot.
fn screenshot_candidate(
    img: &Img<'_>,
    g: &Grid,
    bg: [f32; 3],
    rows: &[f32],
    y0: usize,
    y1: usize,
    min_cells: usize,
) -> Option<[u32; 4]> {
    // UI rows on both sides, tall enough.
    if y0 == 0 || y1 >= g.gh {
        return None;
    }
    let hh = y1 - y0;
    if hh < min_cells.max(3) || hh * 10 < g.gh {
        return None;
    }
    let content = rows[y0..y1].iter().filter(|&&r| r <= 0.3).count();
    if content * 10 < hh * 8 {
        return None;
    }
    // Columns of the photo: mostly not background between the rows.
    let (ry0, ry1) = (y0 + 1, y1 - 1);
    let cols: Vec<bool> = (0..g.gw)
        .map(|x| {
            let n = (ry0..ry1).filter(|&yy| is_bg(g, yy * g.gw + x, bg)).count();
            n * 2 <= ry1 - ry0
        })
        .collect();
    let x0 = cols.iter().position(|&c| c)?;
    let x1 = g.gw - cols.iter().rev().position(|&c| c)?;
    let ww = x1 - x0;
    if ww < min_cells.max(3) || ww * 10 < g.gw * 4 {
        return None;
    }
    if cols[x0..x1].iter().filter(|&&c| c).count() * 100 < ww * 95 {
        return None;
    }
    // A photo has texture.
    let mut acts: Vec<f32> = (y0..y1)
        .flat_map(|yy| (x0..x1).map(move |xx| yy * g.gw + xx))
        .map(|i| g.act[i])
        .collect();
    if median(&mut acts) < A_TEX {
        return None;
    }
    // UI ink (text, icons) outside the photo.
    let ink = rows
        .iter()
        .enumerate()
        .filter(|&(yy, &r)| (yy + 1 < y0 || yy > y1) && (0.6..0.98).contains(&r))
        .count();
    if ink < 3 {
        return None;
    }
    // Refine every edge on the full-res pixels.
    let s = g.s;
    let hspan = (
        (x0 * s + s).min(img.w),
        (x1 * s).saturating_sub(s).min(img.w),
    );
    let vspan = (
        (y0 * s + s).min(img.h),
        (y1 * s).saturating_sub(s).min(img.h),
    );
    if hspan.1 <= hspan.0 + 8 || vspan.1 <= vspan.0 + 8 {
        return None;
    }
    let bar = Bar::Uniform(bg);
    let top = refine(img, g, Side::Top, bar, y0, hspan)?;
    let bottom = refine(img, g, Side::Bottom, bar, g.gh - y1, hspan)?;
    let left = if x0 == 0 {
        0
    } else {
        refine(img, g, Side::Left, bar, x0, vspan)?
    };
    let right = if x1 == g.gw {
        0
    } else {
        refine(img, g, Side::Right, bar, g.gw - x1, vspan)?
    };
    let w = img.w.checked_sub(left + right)?;
    let h = img.h.checked_sub(top + bottom)?;
    if w < MIN_SIDE_PX || h < MIN_SIDE_PX {
        return None;
    }
    Some([left as u32, top as u32, w as u32, h as u32])
}
