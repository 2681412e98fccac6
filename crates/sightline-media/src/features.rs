//! Local-feature geometric verification of near-duplicate images.
//!
//! Answers "do these two images show the same photo?" when one may be a
//! tilted, cropped, scaled, recompressed or watermarked re-post of the
//! other, and says no for different photos, even similar-looking ones.
//!
//! 1. [`extract`]: area-average downscale to at most `max_side`; a pyramid
//!    of levels √2 apart; on each (lightly smoothed) level, FAST-9 corners
//!    (arc score, 3×3 non-maximum suppression, threshold lowered on
//!    low-contrast levels, 8×8 grid bucketing so keypoints spread over the
//!    image), each described by a 256-bit BRIEF string from a fixed, seeded
//!    point-pair pattern. A second descriptor taken with the horizontally
//!    mirrored pattern lets [`verify`] recognise mirrored re-posts, and a
//!    256-pixel thumbnail is kept for the photometric check.
//! 2. [`verify`]: brute-force Hamming matching (ratio test, mutual nearest
//!    neighbours), RANSAC for a similarity transform (scale, rotation,
//!    translation) refined by weighted least squares, then a photometric
//!    check: under the found transform, the overlapping thumbnails must
//!    correlate block by block. The decision needs enough inliers, a
//!    sufficient inlier ratio, a large enough overlap and that agreement;
//!    all four numbers are returned so a caller can explain it.
//!
//! Everything is deterministic (own SplitMix64 generator, fixed seeds) and
//! uses only `std`. No input panics: empty, tiny, flat or inconsistent
//! buffers give empty [`Features`] and an unverified [`Verification`].

/// Parameters of [`extract`].
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureOptions {
    /// Images whose long side exceeds this are area-downscaled first
    /// (values above 8192 are treated as 8192).
    pub max_side: u32,
    /// Upper bound on keypoints over all pyramid levels.
    pub max_keypoints: usize,
    /// FAST intensity threshold (on the 0–255 scale).
    pub fast_threshold: u8,
    /// Maximum number of pyramid levels, √2 apart (1 = no pyramid).
    pub max_levels: usize,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        Self {
            max_side: 512,
            max_keypoints: 500,
            fast_threshold: 20,
            max_levels: 6,
        }
    }
}

/// A detected corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    /// Position in working (downscaled, level-0) pixel coordinates.
    pub x: f32,
    /// Position in working (downscaled, level-0) pixel coordinates.
    pub y: f32,
    /// Pyramid level the corner was found on.
    pub level: u8,
    /// Size of one level pixel in level-0 pixels (about `√2^level`).
    pub level_scale: f32,
    /// FAST score (higher = stronger corner).
    pub score: f32,
}

/// Keypoints and binary descriptors of one image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Working image size (after downscaling to `max_side`).
    pub width: u32,
    /// Working image size (after downscaling to `max_side`).
    pub height: u32,
    /// Input pixels per working pixel (horizontal, vertical).
    pub to_input: (f32, f32),
    /// Detected keypoints.
    pub keypoints: Vec<Keypoint>,
    /// 256-bit BRIEF descriptor of each keypoint.
    pub descriptors: Vec<[u64; 4]>,
    /// Descriptor of each keypoint taken with the mirrored pattern: equals
    /// the plain descriptor of the same point in a mirrored copy.
    pub mirror_descriptors: Vec<[u64; 4]>,
    /// Small area-averaged copy of the working image (long side at most
    /// `THUMB_SIDE`), for the photometric check of [`verify`].
    pub thumb: Vec<u8>,
    /// Thumbnail size.
    pub thumb_w: u32,
    /// Thumbnail size.
    pub thumb_h: u32,
}

impl Features {
    /// Number of keypoints.
    pub fn len(&self) -> usize {
        self.keypoints.len()
    }

    /// Whether no keypoint was found.
    pub fn is_empty(&self) -> bool {
        self.keypoints.is_empty()
    }
}

/// Parameters of [`verify`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyOptions {
    /// Lowe ratio: best distance must be below `ratio` × second best.
    pub ratio: f32,
    /// Largest Hamming distance (of 256) accepted for a match.
    pub max_distance: u32,
    /// RANSAC hypotheses drawn (all pairs are tried when fewer).
    pub ransac_iterations: u32,
    /// Inlier reprojection tolerance, in working pixels of the finer image.
    pub inlier_threshold: f32,
    /// Minimum inliers for a positive decision.
    pub min_inliers: usize,
    /// Minimum inliers / matches for a positive decision.
    pub min_inlier_ratio: f32,
    /// Minimum photometric agreement: the share of textured thumbnail
    /// blocks in the overlap whose pixels correlate (NCC ≥ 0.6) under the
    /// found transform. Rejects pairs that share only an overlay (a
    /// watermark, app chrome, a story frame) but differ in the photo.
    pub min_agreement: f32,
    /// Minimum [`Verification::overlap`].
    pub min_overlap: f32,
    /// Largest accepted scale change (and its inverse).
    pub max_scale: f32,
    /// Largest accepted rotation, in degrees.
    pub max_rotation_deg: f32,
    /// Also try a horizontally mirrored `b` and keep the better result.
    pub try_mirror: bool,
    /// RANSAC seed.
    pub seed: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            ratio: 0.8,
            max_distance: 64,
            ransac_iterations: 500,
            inlier_threshold: 3.0,
            min_inliers: 12,
            min_inlier_ratio: 0.35,
            min_agreement: 0.5,
            min_overlap: 0.25,
            max_scale: 8.0,
            max_rotation_deg: 30.0,
            try_mirror: false,
            seed: 0x5167_6874_6c69_6e65,
        }
    }
}

/// A similarity transform mapping points of `a` to points of `b`, in the
/// pixel coordinates of the buffers given to [`extract`]:
/// `b = scale · R(rotation) · a' + (tx, ty)`, where `a' = a`, or, when
/// `mirrored`, `a' = (width_a − 1 − x, y)`. Rotation is counter-clockwise
/// in image coordinates (y down), i.e. clockwise on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Scale factor from `a` to `b`.
    pub scale: f32,
    /// Rotation angle in degrees.
    pub rotation_deg: f32,
    /// Translation, x.
    pub tx: f32,
    /// Translation, y.
    pub ty: f32,
    /// Whether `a` is mirrored horizontally before the similarity.
    pub mirrored: bool,
}

/// The outcome of [`verify`], with the numbers behind the decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verification {
    /// Putative descriptor matches (after ratio and mutual checks).
    pub matches: usize,
    /// Matches consistent with the best transform.
    pub inliers: usize,
    /// `inliers / matches` (0 when no matches).
    pub inlier_ratio: f32,
    /// Photometric agreement of the overlap (0..1), see
    /// [`VerifyOptions::min_agreement`].
    pub agreement: f32,
    /// Share of the image more covered by the other (0..1), e.g. 1 for a
    /// crop or for a photo found inside a screenshot.
    pub overlap: f32,
    /// Best transform found, if any.
    pub transform: Option<Similarity>,
    /// The decision: same photo under a geometric change.
    pub verified: bool,
}

impl Verification {
    fn none(matches: usize) -> Self {
        Self {
            matches,
            inliers: 0,
            inlier_ratio: 0.0,
            agreement: 0.0,
            overlap: 0.0,
            transform: None,
            verified: false,
        }
    }
}

// ---------------------------------------------------------------- extract

/// Largest accepted `max_side`.
const MAX_WORKING_SIDE: u32 = 8192;
/// Half-size of the descriptor patch (31×31).
const PATCH_RADIUS: i32 = 15;
/// Keypoints closer than this to a level border are skipped.
const BORDER: usize = 16;
/// Long side of the thumbnail kept for the photometric check.
const THUMB_SIDE: usize = 256;
/// Thumbnail pixels per side of one photometric-check block.
const BLOCK: usize = 8;
/// A block agrees when its normalised cross-correlation reaches this.
const BLOCK_NCC: f64 = 0.6;
/// A block counts as textured when either side's standard deviation (of
/// 0–255 levels) reaches this.
const BLOCK_MIN_SD: f64 = 4.0;
/// Lowest FAST threshold the adaptive retry goes down to.
const MIN_FAST_THRESHOLD: u8 = 5;
/// RANSAC draws at least this many hypotheses before stopping early.
const MIN_RANSAC_ITERATIONS: u32 = 50;
/// Seed of the BRIEF sampling pattern.
const PATTERN_SEED: u64 = 0x0B1E_F256_5167_0001;

/// Extracts keypoints and descriptors from an 8-bit greyscale image
/// (row-major, `width × height`). Returns empty features for degenerate
/// input (no pixels, a buffer shorter than `width × height`, an image too
/// small or too flat for corners).
pub fn extract(gray: &[u8], width: u32, height: u32, opts: &FeatureOptions) -> Features {
    let (w, h) = (width as usize, height as usize);
    let Some(n) = w.checked_mul(h) else {
        return Features::default();
    };
    if n == 0 || gray.len() < n {
        return Features::default();
    }
    // Keypoint coordinates are stored as u16: cap the working size.
    let max_side = opts.max_side.clamp(1, MAX_WORKING_SIDE) as usize;
    let (ww, wh) = if w.max(h) > max_side {
        let s = max_side as f64 / w.max(h) as f64;
        (
            ((w as f64 * s).round() as usize).clamp(1, max_side),
            ((h as f64 * s).round() as usize).clamp(1, max_side),
        )
    } else {
        (w, h)
    };
    let base = if (ww, wh) == (w, h) {
        gray[..n].to_vec()
    } else {
        resample_area(&gray[..n], w, h, ww, wh)
    };
    let (tw, th) = if ww.max(wh) > THUMB_SIDE {
        let s = THUMB_SIDE as f64 / ww.max(wh) as f64;
        (
            ((ww as f64 * s).round() as usize).max(1),
            ((wh as f64 * s).round() as usize).max(1),
        )
    } else {
        (ww, wh)
    };
    let mut out = Features {
        width: ww as u32,
        height: wh as u32,
        to_input: (w as f32 / ww as f32, h as f32 / wh as f32),
        thumb: resample_area(&base, ww, wh, tw, th),
        thumb_w: tw as u32,
        thumb_h: th as u32,
        ..Features::default()
    };
    if opts.max_keypoints == 0 || ww < 2 * BORDER + 1 || wh < 2 * BORDER + 1 {
        return out;
    }

    let levels = build_pyramid(base, ww, wh, opts.max_levels);
    // Keypoint budget per level, proportional to 1/scale (coarse levels get
    // more than their share of the area: they carry the large scale changes).
    let weights: Vec<f64> = (0..levels.len())
        .map(|l| std::f64::consts::SQRT_2.powi(-(l as i32)))
        .collect();
    let total: f64 = weights.iter().sum();

    let pattern = brief_pattern();
    let mirrored: Vec<Pair> = pattern
        .iter()
        .map(|p| Pair {
            x1: -p.x1,
            y1: p.y1,
            x2: -p.x2,
            y2: p.y2,
        })
        .collect();

    for (l, level) in levels.iter().enumerate() {
        let (lw, lh) = (level.w, level.h);
        let level_img = &level.img;
        let smooth = blur_14641(level_img, lw, lh);
        let budget = ((opts.max_keypoints as f64) * weights[l] / total).round() as usize;
        if budget == 0 {
            continue;
        }
        // Corners are detected on the smoothed level too: fewer responses
        // to JPEG block edges and noise.
        let detect_src = &smooth;
        // Low-contrast levels: lower the threshold until the budget can be
        // met (halving, down to `MIN_FAST_THRESHOLD`).
        let mut t = opts.fast_threshold.max(1);
        let mut corners = fast9(detect_src, lw, lh, t);
        while corners.len() < budget && t > MIN_FAST_THRESHOLD {
            t = (t / 2).max(MIN_FAST_THRESHOLD);
            corners = fast9(detect_src, lw, lh, t);
        }
        let picked = bucket_select(corners, lw, lh, budget);
        // Level pixel centres map to level-0 as (x + 0.5)·s − 0.5 (per axis).
        let (sx, sy) = (level.sx, level.sy);
        let plain = pattern_offsets(&pattern, lw);
        let plain_m = pattern_offsets(&mirrored, lw);
        for c in picked {
            let ci = c.y as usize * lw + c.x as usize;
            let d = describe(&smooth, ci, &plain);
            let md = describe(&smooth, ci, &plain_m);
            out.keypoints.push(Keypoint {
                x: (c.x as f32 + 0.5) * sx - 0.5,
                y: (c.y as f32 + 0.5) * sy - 0.5,
                level: l as u8,
                level_scale: (sx + sy) * 0.5,
                score: c.score as f32,
            });
            out.descriptors.push(d);
            out.mirror_descriptors.push(md);
        }
    }
    out
}

/// One pyramid level: pixels, size, and level-0 pixels per level pixel.
#[derive(Debug)]
struct Level {
    img: Vec<u8>,
    w: usize,
    h: usize,
    sx: f32,
    sy: f32,
}

/// Pyramid with a factor of √2 between levels: level 1 is area-resampled
/// from level 0, every other level is a 2×2 box average of the level two
/// steps finer. Stops before a level gets too small for a patch.
fn build_pyramid(base: Vec<u8>, w: usize, h: usize, max_levels: usize) -> Vec<Level> {
    let min_side = 2 * BORDER + 8;
    let mut levels = vec![Level {
        img: base,
        w,
        h,
        sx: 1.0,
        sy: 1.0,
    }];
    while levels.len() < max_levels.clamp(1, 16) {
        let l = levels.len();
        let (lw, lh) = if l == 1 {
            (
                (w as f64 / std::f64::consts::SQRT_2).round() as usize,
                (h as f64 / std::f64::consts::SQRT_2).round() as usize,
            )
        } else {
            (levels[l - 2].w / 2, levels[l - 2].h / 2)
        };
        if lw < min_side || lh < min_side {
            break;
        }
        let next = if l == 1 {
            Level {
                img: resample_area(&levels[0].img, w, h, lw, lh),
                w: lw,
                h: lh,
                sx: w as f32 / lw as f32,
                sy: h as f32 / lh as f32,
            }
        } else {
            let p = &levels[l - 2];
            Level {
                img: box2(&p.img, p.w, lw, lh),
                w: lw,
                h: lh,
                sx: p.sx * 2.0,
                sy: p.sy * 2.0,
            }
        };
        levels.push(next);
    }
    levels
}

/// 2×2 box average of a `sw`-wide image into `dw × dh` (`dw ≤ sw / 2`).
fn box2(src: &[u8], sw: usize, dw: usize, dh: usize) -> Vec<u8> {
    let mut out = vec![0u8; dw * dh];
    for (y, orow) in out.chunks_exact_mut(dw).enumerate() {
        let r0 = &src[2 * y * sw..2 * y * sw + 2 * dw];
        let r1 = &src[(2 * y + 1) * sw..(2 * y + 1) * sw + 2 * dw];
        for ((o, a), b) in orow
            .iter_mut()
            .zip(r0.chunks_exact(2))
            .zip(r1.chunks_exact(2))
        {
            let s = a[0] as u16 + a[1] as u16 + b[0] as u16 + b[1] as u16;
            *o = ((s + 2) >> 2) as u8;
        }
    }
    out
}

/// Area-average resampling of a greyscale image to `dw × dh` (separable box
/// filter with fractional edge weights). Works for up- and downscaling.
pub fn resample_area(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
    if sw == 0 || sh == 0 || dw == 0 || dh == 0 || src.len() < sw.saturating_mul(sh) {
        return vec![0; dw.saturating_mul(dh)];
    }
    let hx = Taps::new(sw, dw);
    let hy = Taps::new(sh, dh);
    let mut out = vec![0u8; dw * dh];
    // Vertical pass into one padded row of sums, then horizontal taps.
    let mut acc = vec![0f32; sw + hx.k];
    for (y, orow) in out.chunks_exact_mut(dw).enumerate() {
        let acc_row = &mut acc[..sw];
        acc_row.iter_mut().for_each(|a| *a = 0.0);
        let (start, ws) = hy.get(y);
        for (k, &w) in ws.iter().enumerate() {
            let r = (start + k).min(sh - 1);
            for (a, &v) in acc_row.iter_mut().zip(&src[r * sw..(r + 1) * sw]) {
                *a += w * v as f32;
            }
        }
        for (x, o) in orow.iter_mut().enumerate() {
            let (start, ws) = hx.get(x);
            let v: f32 = ws.iter().zip(&acc[start..]).map(|(w, a)| w * a).sum();
            *o = (v + 0.5).clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// Area-resampling taps: for each destination index, the first source
/// index and `k` normalised weights (zero-padded) of the source samples its
/// footprint covers.
#[derive(Debug)]
struct Taps {
    k: usize,
    start: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    fn new(src: usize, dst: usize) -> Self {
        let step = src as f64 / dst as f64;
        let k = if step <= 1.0 {
            1
        } else {
            step.ceil() as usize + 1
        };
        let mut start = Vec::with_capacity(dst);
        let mut weights = vec![0f32; dst * k];
        for (d, ws) in weights.chunks_exact_mut(k).enumerate() {
            let (lo, hi) = (d as f64 * step, ((d + 1) as f64 * step).min(src as f64));
            if step <= 1.0 {
                // Upscaling: nearest source sample.
                start.push(((lo + hi) * 0.5).floor().min(src as f64 - 1.0) as usize);
                ws[0] = 1.0;
                continue;
            }
            let first = lo.floor() as usize;
            let last = (hi.ceil() as usize).clamp(first + 1, src).min(first + k);
            for (s, w) in (first..last).zip(ws.iter_mut()) {
                let a = (s as f64).max(lo);
                let b = ((s + 1) as f64).min(hi);
                *w = ((b - a).max(0.0) / (hi - lo)) as f32;
            }
            start.push(first);
        }
        Self { k, start, weights }
    }

    fn get(&self, d: usize) -> (usize, &[f32]) {
        (self.start[d], &self.weights[d * self.k..(d + 1) * self.k])
    }
}

/// Separable [1 4 6 4 1]/16 blur with clamped borders.
fn blur_14641(src: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut tmp = vec![0u16; w * h];
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    for (row, trow) in src.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
        let at = |x: isize| row[clamp(x, w)] as u16;
        for x in (0..w.min(2)).chain(w.saturating_sub(2).max(2)..w) {
            let x = x as isize;
            trow[x as usize] = at(x - 2) + 4 * at(x - 1) + 6 * at(x) + 4 * at(x + 1) + at(x + 2);
        }
        if w >= 5 {
            for (t, win) in trow[2..w - 2].iter_mut().zip(row.windows(5)) {
                let [a, b, c, d, e] = [win[0], win[1], win[2], win[3], win[4]].map(u16::from);
                *t = a + 4 * b + 6 * c + 4 * d + e;
            }
        }
    }
    let mut out = vec![0u8; w * h];
    for (y, orow) in out.chunks_exact_mut(w).enumerate() {
        let r = |d: isize| {
            let yy = clamp(y as isize + d, h);
            &tmp[yy * w..(yy + 1) * w]
        };
        let (r0, r1, r2, r3, r4) = (r(-2), r(-1), r(0), r(1), r(2));
        for (x, o) in orow.iter_mut().enumerate() {
            let s = r0[x] as u32
                + 4 * r1[x] as u32
                + 6 * r2[x] as u32
                + 4 * r3[x] as u32
                + r4[x] as u32;
            *o = ((s + 128) >> 8) as u8;
        }
    }
    out
}

/// A corner candidate on one level.
#[derive(Debug, Clone, Copy)]
struct Corner {
    x: u16,
    y: u16,
    score: u16,
}

/// Bresenham circle of radius 3, clockwise from the top.
const CIRCLE: [(i32, i32); 16] = [
    (0, -3),
    (1, -3),
    (2, -2),
    (3, -1),
    (3, 0),
    (3, 1),
    (2, 2),
    (1, 3),
    (0, 3),
    (-1, 3),
    (-2, 2),
    (-3, 1),
    (-3, 0),
    (-3, -1),
    (-2, -2),
    (-1, -3),
];

/// Rotates a 16-bit circular mask right by `s` bits.
fn rotr16(m: u16, s: u32) -> u16 {
    m.rotate_right(s)
}

/// True when the 16-bit circular mask has 9 consecutive set bits: runs of
/// 2, 4 and 8 by doubling, then one more bit.
fn has_arc9(m: u16) -> bool {
    let r2 = m & rotr16(m, 1);
    let r4 = r2 & rotr16(r2, 2);
    let r8 = r4 & rotr16(r4, 4);
    r8 & rotr16(m, 8) != 0
}

/// FAST-9 corners at least `BORDER` pixels inside, after 3×3 non-maximum
/// suppression of the arc score (sum of |difference| − threshold over the
/// brighter or darker pixels). The brighter/darker masks of a whole row are
/// built branch-free (the compiler vectorises these loops); only pixels
/// with an arc are scored.
fn fast9(img: &[u8], w: usize, h: usize, t: u8) -> Vec<Corner> {
    if w < 2 * BORDER + 1 || h < 2 * BORDER + 1 {
        return Vec::new();
    }
    let mut score = vec![0u16; w * h];
    let mut cands = Vec::new();
    let (x0, x1) = (BORDER, w - BORDER);
    let n = x1 - x0;
    let (mut hi, mut lo) = (vec![0u8; n], vec![0u8; n]);
    let (mut bm, mut dm) = (vec![0u16; n], vec![0u16; n]);
    let mut flags = vec![0u8; n];
    let (mut bl, mut bh, mut dl, mut dh) = (vec![0u8; n], vec![0u8; n], vec![0u8; n], vec![0u8; n]);
    for y in BORDER..h - BORDER {
        let rows: [&[u8]; 7] = std::array::from_fn(|k| &img[(y + k - 3) * w..(y + k - 2) * w]);
        let c = &rows[3][x0..x1];
        for ((hv, lv), &p) in hi.iter_mut().zip(lo.iter_mut()).zip(c) {
            *hv = p.saturating_add(t);
            *lv = p.saturating_sub(t);
        }
        // Masks are built as separate low/high bytes: byte lanes are twice
        // as many per vector as 16-bit lanes.
        for (half, (bmh, dmh)) in [(&mut bl, &mut dl), (&mut bh, &mut dh)]
            .into_iter()
            .enumerate()
        {
            bmh.iter_mut().for_each(|m| *m = 0);
            dmh.iter_mut().for_each(|m| *m = 0);
            for (k, &(dx, dy)) in CIRCLE[half * 8..half * 8 + 8].iter().enumerate() {
                let bit = 1u8 << k;
                let start = (x0 as i32 + dx) as usize;
                let nk = &rows[(dy + 3) as usize][start..start + n];
                for ((((b, d), &v), &hv), &lv) in
                    bmh.iter_mut().zip(dmh.iter_mut()).zip(nk).zip(&hi).zip(&lo)
                {
                    *b |= bit & 0u8.wrapping_sub((v > hv) as u8);
                    *d |= bit & 0u8.wrapping_sub((v < lv) as u8);
                }
            }
        }
        for (((m, &l), &hb), (md, (&ld, &hd))) in bm
            .iter_mut()
            .zip(&bl)
            .zip(&bh)
            .zip(dm.iter_mut().zip(dl.iter().zip(&dh)))
        {
            *m = l as u16 | ((hb as u16) << 8);
            *md = ld as u16 | ((hd as u16) << 8);
        }
        // Arc flags (bit 0: brighter arc, bit 1: darker arc), branch-free.
        for ((f, &b), &d) in flags.iter_mut().zip(&bm).zip(&dm) {
            *f = has_arc9(b) as u8 | ((has_arc9(d) as u8) << 1);
        }
        for (i, &f) in flags.iter().enumerate() {
            if f == 0 {
                continue;
            }
            let (ab, ad) = (f & 1 != 0, f & 2 != 0);
            let x = x0 + i;
            let (hv, lv) = (hi[i] as i16, lo[i] as i16);
            let r = &rows;
            #[rustfmt::skip]
            let v: [u8; 16] = [
                r[0][x], r[0][x + 1], r[1][x + 2], r[2][x + 3],
                r[3][x + 3], r[4][x + 3], r[5][x + 2], r[6][x + 1],
                r[6][x], r[6][x - 1], r[5][x - 2], r[4][x - 3],
                r[3][x - 3], r[2][x - 3], r[1][x - 2], r[0][x - 1],
            ];
            let bs: i16 = v.iter().map(|&v| (v as i16 - hv).max(0)).sum();
            let ds: i16 = v.iter().map(|&v| (lv - v as i16).max(0)).sum();
            let (bs, ds) = (bs as i32, ds as i32);
            let s = if ab { bs } else { 0 }.max(if ad { ds } else { 0 });
            if s > 0 {
                let i = y * w + x;
                score[i] = s.min(u16::MAX as i32) as u16;
                cands.push(i);
            }
        }
    }
    let mut out = Vec::with_capacity(cands.len() / 2);
    for &i in &cands {
        let s = score[i];
        let n = [
            i - w - 1,
            i - w,
            i - w + 1,
            i - 1,
            i + 1,
            i + w - 1,
            i + w,
            i + w + 1,
        ];
        // Ties: the earlier pixel (raster order) wins.
        let keep = n[..4].iter().all(|&j| score[j] < s) && n[4..].iter().all(|&j| score[j] <= s);
        if keep {
            out.push(Corner {
                x: (i % w) as u16,
                y: (i / w) as u16,
                score: s,
            });
        }
    }
    out
}

/// Keeps at most `budget` corners, strongest first, spread over an 8×8 grid:
/// each cell first offers its strongest corners up to twice its fair share,
/// then the strongest corners left fill the remaining budget.
fn bucket_select(corners: Vec<Corner>, w: usize, h: usize, budget: usize) -> Vec<Corner> {
    const GRID: usize = 8;
    // Sort key: strongest first, ties in raster order.
    let key = |c: &Corner| {
        (u64::from(u16::MAX - c.score) << 32) | (u64::from(c.y) << 16) | u64::from(c.x)
    };
    let unkey = |k: u64| Corner {
        x: (k & 0xFFFF) as u16,
        y: ((k >> 16) & 0xFFFF) as u16,
        score: u16::MAX - (k >> 32) as u16,
    };
    let mut keys: Vec<u64> = corners.iter().map(key).collect();
    if keys.len() <= budget {
        keys.sort_unstable();
        return keys.into_iter().map(unkey).collect();
    }
    let cap = (2 * budget).div_ceil(GRID * GRID).max(1);
    let mut cells: Vec<Vec<u64>> = vec![Vec::new(); GRID * GRID];
    for (c, &k) in corners.iter().zip(&keys) {
        cells[(c.y as usize * GRID / h) * GRID + c.x as usize * GRID / w].push(k);
    }
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for cell in &mut cells {
        if cell.len() > cap {
            cell.select_nth_unstable(cap);
            rest.extend_from_slice(&cell[cap..]);
            cell.truncate(cap);
        }
        first.extend_from_slice(cell);
    }
    first.sort_unstable();
    first.truncate(budget);
    let need = budget - first.len();
    if need > 0 && !rest.is_empty() {
        if rest.len() > need {
            rest.select_nth_unstable(need);
            rest.truncate(need);
        }
        first.extend_from_slice(&rest);
    }
    first.into_iter().map(unkey).collect()
}

/// One BRIEF test: compare the smoothed intensity at two patch offsets.
#[derive(Debug, Clone, Copy)]
struct Pair {
    x1: i8,
    y1: i8,
    x2: i8,
    y2: i8,
}

/// SplitMix64: small, fast, deterministic generator.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() >> 32) * n) >> 32
    }
}

/// 256 point pairs, each coordinate roughly Gaussian (sum of four uniforms)
/// with σ ≈ patch/5, clamped to the 31×31 patch.
fn brief_pattern() -> Vec<Pair> {
    let mut rng = SplitMix64(PATTERN_SEED);
    let mut coord = || -> i8 {
        let s: i64 = (0..4).map(|_| rng.below(2001) as i64 - 1000).sum();
        // Four uniforms on [-1000, 1000] have σ ≈ 1154.7; target σ = 6.2.
        let v = (s as f64 * 6.2 / 1154.7).round();
        v.clamp(-(PATCH_RADIUS as f64), PATCH_RADIUS as f64) as i8
    };
    let mut out = Vec::with_capacity(256);
    while out.len() < 256 {
        let p = Pair {
            x1: coord(),
            y1: coord(),
            x2: coord(),
            y2: coord(),
        };
        if (p.x1, p.y1) != (p.x2, p.y2) {
            out.push(p);
        }
    }
    out
}

/// A pattern resolved to pixel-index offsets for one row stride.
fn pattern_offsets(pattern: &[Pair], w: usize) -> Vec<(isize, isize)> {
    let w = w as isize;
    pattern
        .iter()
        .map(|p| {
            (
                p.y1 as isize * w + p.x1 as isize,
                p.y2 as isize * w + p.x2 as isize,
            )
        })
        .collect()
}

/// 256-bit BRIEF descriptor at pixel index `c`; the caller keeps the point
/// at least `PATCH_RADIUS` pixels inside the image.
fn describe(img: &[u8], c: usize, offsets: &[(isize, isize)]) -> [u64; 4] {
    let mut d = [0u64; 4];
    for (word, chunk) in d.iter_mut().zip(offsets.chunks(64)) {
        let mut bits = 0u64;
        for (k, &(o1, o2)) in chunk.iter().enumerate() {
            let a = img[(c as isize + o1) as usize];
            let b = img[(c as isize + o2) as usize];
            bits |= u64::from(a < b) << k;
        }
        *word = bits;
    }
    d
}

// ---------------------------------------------------------------- verify

/// Hamming distance of two 256-bit descriptors. Portable SWAR popcount
/// (the baseline x86-64 target has no popcount instruction): the per-byte
/// counts of the four words are added before one final horizontal sum.
fn hamming(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    const M1: u64 = 0x5555_5555_5555_5555;
    const M2: u64 = 0x3333_3333_3333_3333;
    const M4: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let mut acc = 0u64;
    for k in 0..4 {
        let mut v = a[k] ^ b[k];
        v -= (v >> 1) & M1;
        v = (v & M2) + ((v >> 2) & M2);
        acc += (v + (v >> 4)) & M4;
    }
    // Each byte of `acc` is at most 32; pairs of bytes then fit 16-bit
    // lanes, whose sum (at most 256) fits the top lane.
    const M8: u64 = 0x00FF_00FF_00FF_00FF;
    const H0001: u64 = 0x0001_0001_0001_0001;
    let pairs = (acc & M8) + ((acc >> 8) & M8);
    (pairs.wrapping_mul(H0001) >> 48) as u32
}

/// A putative correspondence in working coordinates.
#[derive(Debug, Clone, Copy)]
struct Match {
    ax: f32,
    ay: f32,
    bx: f32,
    by: f32,
    /// Least-squares weight: keypoints from coarse pyramid levels are
    /// located less precisely (weight 1 / (level_scale_a² + level_scale_b²)).
    w: f32,
}

/// Whether two keypoints are (about) the same location, e.g. one corner
/// found on two pyramid levels.
fn near(p: &Keypoint, q: &Keypoint) -> bool {
    let r = 4.0 * p.level_scale.max(q.level_scale);
    let (dx, dy) = (p.x - q.x, p.y - q.y);
    dx * dx + dy * dy <= r * r
}

/// Matches `a` against `b` (using `b`'s mirrored descriptors when `mirror`;
/// then `b`'s x coordinates are reflected so the geometry is a similarity).
fn match_features(a: &Features, b: &Features, opts: &VerifyOptions, mirror: bool) -> Vec<Match> {
    let bd = if mirror {
        &b.mirror_descriptors
    } else {
        &b.descriptors
    };
    // Fields are public: tolerate inconsistent lengths instead of panicking.
    let na = a.descriptors.len().min(a.keypoints.len());
    let nb = bd.len().min(b.keypoints.len());
    if na == 0 || nb == 0 {
        return Vec::new();
    }
    let (ad, bd) = (&a.descriptors[..na], &bd[..nb]);
    let mut col_best = vec![(u32::MAX, usize::MAX); nb];
    let mut row_best = vec![(u32::MAX, usize::MAX, u32::MAX); na];
    for (i, da) in ad.iter().enumerate() {
        // The four nearest (distance, index), ascending; ties keep the
        // lower index.
        let mut top = [(u32::MAX, usize::MAX); 4];
        for (j, db) in bd.iter().enumerate() {
            let d = hamming(da, db);
            if d < col_best[j].0 {
                col_best[j] = (d, i);
            }
            if d < top[3].0 {
                let mut k = 3;
                while k > 0 && d < top[k - 1].0 {
                    top[k] = top[k - 1];
                    k -= 1;
                }
                top[k] = (d, j);
            }
        }
        let (d, j) = top[0];
        if d > opts.max_distance {
            continue;
        }
        // Second best among candidates away from the best one (the same
        // corner is often found on two pyramid levels).
        let bk = &b.keypoints[j];
        let far = |&&(_, k): &&(u32, usize)| k != usize::MAX && !near(bk, &b.keypoints[k]);
        let second = match top[1..].iter().find(far) {
            Some(&(d2, _)) => d2,
            None if top[3].1 == usize::MAX => u32::MAX,
            None => bd
                .iter()
                .zip(&b.keypoints)
                .filter(|&(_, k)| !near(bk, k))
                .map(|(db, _)| hamming(da, db))
                .min()
                .unwrap_or(u32::MAX),
        };
        row_best[i] = (d, j, second);
    }
    let mut best_for_b: Vec<Option<(u32, usize)>> = vec![None; nb];
    for (i, &(d, j, second)) in row_best.iter().enumerate() {
        if j == usize::MAX || d > opts.max_distance || (d as f32) >= opts.ratio * second as f32 {
            continue;
        }
        // Mutual: b's best match in a is this keypoint or one near it.
        let back = col_best[j].1;
        if back != i && !near(&a.keypoints[back], &a.keypoints[i]) {
            continue;
        }
        if best_for_b[j].is_none_or(|(bd, _)| d < bd) {
            best_for_b[j] = Some((d, i));
        }
    }
    let wb = b.width as f32;
    best_for_b
        .iter()
        .enumerate()
        .filter_map(|(j, m)| m.map(|(_, i)| (i, j)))
        .map(|(i, j)| {
            let (ka, kb) = (&a.keypoints[i], &b.keypoints[j]);
            Match {
                ax: ka.x,
                ay: ka.y,
                bx: if mirror { wb - 1.0 - kb.x } else { kb.x },
                by: kb.y,
                w: 1.0 / (ka.level_scale * ka.level_scale + kb.level_scale * kb.level_scale),
            }
        })
        .collect()
}

/// Similarity as complex multiplication: `b = (mr + i·mi)·a + (tx + i·ty)`.
#[derive(Debug, Clone, Copy)]
struct Sim {
    mr: f32,
    mi: f32,
    tx: f32,
    ty: f32,
}

impl Sim {
    fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            self.mr * x - self.mi * y + self.tx,
            self.mi * x + self.mr * y + self.ty,
        )
    }

    fn scale(&self) -> f32 {
        (self.mr * self.mr + self.mi * self.mi).sqrt()
    }

    /// Exact fit to two correspondences.
    fn from_two(p: &Match, q: &Match) -> Option<Sim> {
        let (ax, ay) = (q.ax - p.ax, q.ay - p.ay);
        let (bx, by) = (q.bx - p.bx, q.by - p.by);
        let n = ax * ax + ay * ay;
        if n < 1e-6 {
            return None;
        }
        let mr = (bx * ax + by * ay) / n;
        let mi = (by * ax - bx * ay) / n;
        Some(Sim {
            mr,
            mi,
            tx: p.bx - (mr * p.ax - mi * p.ay),
            ty: p.by - (mi * p.ax + mr * p.ay),
        })
    }

    /// Weighted least-squares fit to the given correspondences.
    fn fit(ms: &[Match]) -> Option<Sim> {
        if ms.len() < 2 {
            return None;
        }
        let (mut sw, mut sax, mut say, mut sbx, mut sby) = (0f64, 0f64, 0f64, 0f64, 0f64);
        for m in ms {
            let w = m.w as f64;
            sw += w;
            sax += w * m.ax as f64;
            say += w * m.ay as f64;
            sbx += w * m.bx as f64;
            sby += w * m.by as f64;
        }
        if sw <= 0.0 {
            return None;
        }
        let (cax, cay, cbx, cby) = (sax / sw, say / sw, sbx / sw, sby / sw);
        let (mut re, mut im, mut den) = (0f64, 0f64, 0f64);
        for m in ms {
            let w = m.w as f64;
            let (ax, ay) = (m.ax as f64 - cax, m.ay as f64 - cay);
            let (bx, by) = (m.bx as f64 - cbx, m.by as f64 - cby);
            re += w * (bx * ax + by * ay);
            im += w * (by * ax - bx * ay);
            den += w * (ax * ax + ay * ay);
        }
        if den < 1e-9 {
            return None;
        }
        let (mr, mi) = (re / den, im / den);
        Some(Sim {
            mr: mr as f32,
            mi: mi as f32,
            tx: (cbx - (mr * cax - mi * cay)) as f32,
            ty: (cby - (mi * cax + mr * cay)) as f32,
        })
    }

    /// Whether scale and rotation are within the accepted range.
    fn plausible(&self, opts: &VerifyOptions) -> bool {
        let s = self.scale();
        let max_s = opts.max_scale.max(1.0);
        if !(s.is_finite() && s >= 1.0 / max_s && s <= max_s) || self.mr <= 0.0 {
            return false;
        }
        let tan = opts.max_rotation_deg.clamp(0.0, 89.0).to_radians().tan();
        self.mi.abs() <= tan * self.mr
    }

    /// Squared tolerance in `b` coordinates: the threshold applies in the
    /// finer of the two images.
    fn tol2(&self, opts: &VerifyOptions) -> f32 {
        let t = opts.inlier_threshold * self.scale().max(1.0);
        t * t
    }

    fn is_inlier(&self, m: &Match, tol2: f32) -> bool {
        let (x, y) = self.apply(m.ax, m.ay);
        let (dx, dy) = (x - m.bx, y - m.by);
        dx * dx + dy * dy <= tol2
    }

    fn count(&self, ms: &[Match], tol2: f32) -> usize {
        ms.iter().filter(|m| self.is_inlier(m, tol2)).count()
    }
}

/// RANSAC over two-point similarity hypotheses, then least-squares refits.
fn ransac(ms: &[Match], opts: &VerifyOptions) -> Option<(Sim, Vec<Match>)> {
    let n = ms.len();
    if n < 2 {
        return None;
    }
    let min_sep2 = 8.0f32 * 8.0;
    let mut best: Option<(Sim, usize)> = None;
    // Keeps the hypothesis from a pair if it has more inliers than the best.
    let consider = |best: &mut Option<(Sim, usize)>, p: &Match, q: &Match| {
        let da = (q.ax - p.ax).powi(2) + (q.ay - p.ay).powi(2);
        let db = (q.bx - p.bx).powi(2) + (q.by - p.by).powi(2);
        if da < min_sep2 || db < min_sep2 {
            return;
        }
        if let Some(s) = Sim::from_two(p, q).filter(|s| s.plausible(opts)) {
            let c = s.count(ms, s.tol2(opts));
            if best.is_none_or(|(_, bc)| c > bc) {
                *best = Some((s, c));
            }
        }
    };
    let pairs = n * (n - 1) / 2;
    if pairs <= opts.ransac_iterations as usize {
        for i in 0..n {
            for j in i + 1..n {
                consider(&mut best, &ms[i], &ms[j]);
            }
        }
    } else {
        // Stop early once enough hypotheses were drawn to have picked two
        // inliers with 99.9 % probability at the best inlier share so far
        // (at least `MIN_RANSAC_ITERATIONS`).
        let mut rng = SplitMix64(opts.seed ^ n as u64);
        for it in 0..opts.ransac_iterations {
            let i = rng.below(n as u64) as usize;
            let j = rng.below(n as u64 - 1) as usize;
            let j = if j >= i { j + 1 } else { j };
            consider(&mut best, &ms[i], &ms[j]);
            if it + 1 >= MIN_RANSAC_ITERATIONS {
                let share = best.map_or(0.0, |(_, c)| c as f64 / n as f64);
                let miss = 1.0 - share * share;
                if miss <= 0.0 || f64::from(it + 1) >= (0.001f64).ln() / miss.ln() {
                    break;
                }
            }
        }
    }
    // Refine: weighted least squares on the inliers, re-select, repeat
    // while the inlier set does not shrink. The final model is always a
    // least-squares fit (more precise than the two-point hypothesis).
    let (mut sim, _) = best?;
    let inliers_of = |s: &Sim| -> Vec<Match> {
        let t = s.tol2(opts);
        ms.iter().filter(|m| s.is_inlier(m, t)).copied().collect()
    };
    let mut inl = inliers_of(&sim);
    for _ in 0..4 {
        let Some(refit) = Sim::fit(&inl).filter(|s| s.plausible(opts)) else {
            break;
        };
        sim = refit;
        let next = inliers_of(&sim);
        if next.len() < inl.len() {
            break;
        }
        let done = next.len() == inl.len();
        inl = next;
        if done {
            break;
        }
    }
    Some((sim, inl))
}

/// A thumbnail with its scale to working coordinates.
struct Thumb<'a> {
    px: &'a [u8],
    w: usize,
    h: usize,
    /// Working pixels per thumbnail pixel (x, y).
    kx: f32,
    ky: f32,
}

impl<'a> Thumb<'a> {
    fn of(f: &'a Features) -> Option<Self> {
        let (w, h) = (f.thumb_w as usize, f.thumb_h as usize);
        (w >= 2 && h >= 2 && f.thumb.len() >= w * h).then(|| Thumb {
            px: &f.thumb,
            w,
            h,
            kx: f.width as f32 / w as f32,
            ky: f.height as f32 / h as f32,
        })
    }

    /// Summed-area table, `(w + 1) × (h + 1)`.
    fn integral(&self) -> Vec<u32> {
        let (w, h) = (self.w, self.h);
        let mut sat = vec![0u32; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = 0u32;
            for x in 0..w {
                row += self.px[y * w + x] as u32;
                sat[(y + 1) * (w + 1) + x + 1] = sat[y * (w + 1) + x + 1] + row;
            }
        }
        sat
    }

    /// Bilinear sample at pixel-centre coordinates inside the thumbnail.
    fn bilinear(&self, u: f32, v: f32) -> f32 {
        let (x0, y0) = ((u as usize).min(self.w - 2), (v as usize).min(self.h - 2));
        let (fx, fy) = (u - x0 as f32, v - y0 as f32);
        let i = y0 * self.w + x0;
        let p = self.px;
        let top = p[i] as f32 * (1.0 - fx) + p[i + 1] as f32 * fx;
        let bot = p[i + self.w] as f32 * (1.0 - fx) + p[i + self.w + 1] as f32 * fx;
        top * (1.0 - fy) + bot * fy
    }

    /// Mean over a box of about `fx × fy` pixels centred at pixel-centre
    /// coordinates `(u, v)` inside the thumbnail (edges rounded to whole
    /// pixels, clipped to the thumbnail).
    fn box_mean(&self, sat: &[u32], u: f32, v: f32, fx: f32, fy: f32) -> f32 {
        let (u, v) = (u + 0.5, v + 0.5);
        let (hx, hy) = (fx * 0.5, fy * 0.5);
        let u0 = (u - hx).round().max(0.0) as usize;
        let u1 = ((u + hx).round() as usize).clamp(u0 + 1, self.w);
        let v0 = (v - hy).round().max(0.0) as usize;
        let v1 = ((v + hy).round() as usize).clamp(v0 + 1, self.h);
        let st = self.w + 1;
        let sum = sat[v1 * st + u1] + sat[v0 * st + u0] - sat[v0 * st + u1] - sat[v1 * st + u0];
        sum as f32 / ((u1 - u0) * (v1 - v0)) as f32
    }
}

/// Photometric agreement of `a` and `b` under `sim` (working coordinates,
/// `b` reflected when `mirror`): the coarser thumbnail's pixels are mapped
/// into the other thumbnail, grouped into blocks, and each textured block
/// is compared by normalised cross-correlation (invariant to brightness
/// and contrast changes). Returns the share of textured blocks that agree.
fn agreement(sim: &Sim, a: &Features, b: &Features, mirror: bool) -> (f32, f32) {
    let (Some(ta), Some(tb)) = (Thumb::of(a), Thumb::of(b)) else {
        return (0.0, 0.0);
    };
    let s2 = sim.mr * sim.mr + sim.mi * sim.mi;
    if !(s2 > 0.0 && s2.is_finite()) {
        return (0.0, 0.0);
    }
    let wb = b.width as f32;
    // a → b and b → a in working coordinates.
    let fwd = |x: f32, y: f32| {
        let (x, y) = sim.apply(x, y);
        (if mirror { wb - 1.0 - x } else { x }, y)
    };
    let inv = |x: f32, y: f32| {
        let x = if mirror { wb - 1.0 - x } else { x };
        let (x, y) = (x - sim.tx, y - sim.ty);
        (
            (sim.mr * x + sim.mi * y) / s2,
            (-sim.mi * x + sim.mr * y) / s2,
        )
    };
    // Walk the grid whose pixels cover more photo content.
    let a_coarser = ta.kx >= tb.kx / s2.sqrt();
    let (grid, other) = if a_coarser { (&ta, &tb) } else { (&tb, &ta) };
    // Grid pixel (gx, gy) → other thumbnail pixel-centre coordinates is
    // affine: u = u0 + gx·ux + gy·uy (likewise v). Derive it from three
    // points.
    let to_other = |gx: f32, gy: f32| {
        let (x, y) = ((gx + 0.5) * grid.kx - 0.5, (gy + 0.5) * grid.ky - 0.5);
        let (ox, oy) = if a_coarser { fwd(x, y) } else { inv(x, y) };
        ((ox + 0.5) / other.kx - 0.5, (oy + 0.5) / other.ky - 0.5)
    };
    let (u0, v0) = to_other(0.0, 0.0);
    let (u1, v1) = to_other(1.0, 0.0);
    let (u2, v2) = to_other(0.0, 1.0);
    let (ux, vx, uy, vy) = (u1 - u0, v1 - v0, u2 - u0, v2 - v0);
    let nbx = grid.w.div_ceil(BLOCK);
    let nby = grid.h.div_ceil(BLOCK);
    // Per block: n, Σg, Σo, Σg², Σo², Σgo.
    let mut acc = vec![[0f64; 6]; nbx * nby];
    let mut valid = 0usize;
    // One grid pixel covers this many pixels of the other thumbnail: the
    // other is sampled with a box of that size, so both see the same blur.
    // Footprints under 1.5 pixels: bilinear sampling is close enough.
    let (fx, fy) = ((ux * ux + vx * vx).sqrt(), (uy * uy + vy * vy).sqrt());
    let box_sampling = fx.max(fy) >= 1.5;
    let sat = if box_sampling {
        other.integral()
    } else {
        Vec::new()
    };
    let (umax, vmax) = ((other.w - 1) as f32, (other.h - 1) as f32);
    for gy in 0..grid.h {
        let row = &grid.px[gy * grid.w..(gy + 1) * grid.w];
        let (ur, vr) = (u0 + gy as f32 * uy, v0 + gy as f32 * vy);
        for (gx, &g) in row.iter().enumerate() {
            let (u, v) = (ur + gx as f32 * ux, vr + gx as f32 * vx);
            if !(u >= 0.0 && v >= 0.0 && u <= umax && v <= vmax) {
                continue;
            }
            let o = if box_sampling {
                other.box_mean(&sat, u, v, fx, fy)
            } else {
                other.bilinear(u, v)
            };
            valid += 1;
            let (g, o) = (g as f64, o as f64);
            let s = &mut acc[(gy / BLOCK) * nbx + gx / BLOCK];
            s[0] += 1.0;
            s[1] += g;
            s[2] += o;
            s[3] += g * g;
            s[4] += o * o;
            s[5] += g * o;
        }
    }
    let (mut textured, mut agree) = (0usize, 0usize);
    for s in &acc {
        if s[0] < (BLOCK * BLOCK / 2) as f64 {
            continue;
        }
        let n = s[0];
        let (mg, mo) = (s[1] / n, s[2] / n);
        let vg = (s[3] / n - mg * mg).max(0.0);
        let vo = (s[4] / n - mo * mo).max(0.0);
        let (sg, so) = (vg.sqrt(), vo.sqrt());
        if sg.max(so) < BLOCK_MIN_SD {
            continue;
        }
        textured += 1;
        if sg.min(so) >= 1.0 && (s[5] / n - mg * mo) / (sg * so) >= BLOCK_NCC {
            agree += 1;
        }
    }
    // Share of each image inside the overlap (areas in working pixels).
    let overlap_area = valid as f32 * grid.kx * grid.ky;
    let in_grid = overlap_area / (grid.w as f32 * grid.kx * grid.h as f32 * grid.ky);
    let other_scale2 = if a_coarser { s2 } else { 1.0 / s2 };
    let in_other =
        overlap_area * other_scale2 / (other.w as f32 * other.kx * other.h as f32 * other.ky);
    let overlap = in_grid.max(in_other).min(1.0);
    if textured == 0 {
        return (0.0, overlap);
    }
    (agree as f32 / textured as f32, overlap)
}

/// Verifies that `b` shows the same photo as `a` under a similarity
/// transform (optionally mirrored, see [`VerifyOptions::try_mirror`]).
pub fn verify(a: &Features, b: &Features, opts: &VerifyOptions) -> Verification {
    let plain = verify_one(a, b, opts, false);
    if !opts.try_mirror || plain.verified {
        return plain;
    }
    let mirrored = verify_one(a, b, opts, true);
    if mirrored.verified || mirrored.inliers > plain.inliers {
        mirrored
    } else {
        plain
    }
}

fn verify_one(a: &Features, b: &Features, opts: &VerifyOptions, mirror: bool) -> Verification {
    let ms = match_features(a, b, opts, mirror);
    let Some((sim, inl)) = ransac(&ms, opts) else {
        return Verification::none(ms.len());
    };
    let ratio = inl.len() as f32 / ms.len() as f32;
    let geometric = inl.len() >= opts.min_inliers.max(2) && ratio >= opts.min_inlier_ratio;
    let (agree, overlap) = if geometric {
        agreement(&sim, a, b, mirror)
    } else {
        (0.0, 0.0)
    };
    let verified = geometric && agree >= opts.min_agreement && overlap >= opts.min_overlap;
    Verification {
        matches: ms.len(),
        inliers: inl.len(),
        inlier_ratio: ratio,
        agreement: agree,
        overlap,
        transform: Some(to_input_coords(&sim, a, b, mirror)),
        verified,
    }
}

/// Converts a working-coordinate similarity (with `b` reflected when
/// `mirror`) into input pixel coordinates.
fn to_input_coords(sim: &Sim, a: &Features, b: &Features, mirror: bool) -> Similarity {
    // Working → input: u = (p + 0.5)·k − 0.5 per axis; use the mean factor.
    let ka = (a.to_input.0 + a.to_input.1) * 0.5;
    let kb = (b.to_input.0 + b.to_input.1) * 0.5;
    // Working-space model (b reflected when mirrored): b' = m·a + t.
    // With a = (ua + 0.5)/ka − 0.5 and b' = (ub' + 0.5)/kb − 0.5:
    // ub' = (kb/ka)·m·ua + kb·(m·(c + i·c) + t + 0.5) − 0.5, c = 0.5/ka − 0.5.
    let (mr, mut mi) = (sim.mr * kb / ka, sim.mi * kb / ka);
    let c = 0.5 / ka - 0.5;
    let cx = sim.mr * c - sim.mi * c + sim.tx;
    let cy = sim.mi * c + sim.mr * c + sim.ty;
    let (mut tx, mut ty) = (kb * (cx + 0.5) - 0.5, kb * (cy + 0.5) - 0.5);
    if mirror {
        // b' is b reflected: ub_x = Wb − 1 − ub'_x. Move the reflection
        // onto a instead, with ua_x = Wa − 1 − x':
        //   ub_x = mr·x' + mi·y + (Wb − 1 − tx − mr·(Wa − 1)),
        //   ub_y = −mi·x' + mr·y + (ty + mi·(Wa − 1)),
        // i.e. the linear part is conjugated.
        let wa = a.width as f32 * a.to_input.0;
        let wb = b.width as f32 * b.to_input.0;
        tx = wb - 1.0 - tx - mr * (wa - 1.0);
        ty += mi * (wa - 1.0);
        mi = -mi;
    }
    Similarity {
        scale: (mr * mr + mi * mi).sqrt(),
        rotation_deg: mi.atan2(mr).to_degrees(),
        tx,
        ty,
        mirrored: mirror,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic "photo-like" scene: gradient background, a few
    /// hundred random rectangles and discs, mild noise.
    fn scene(w: usize, h: usize, seed: u64) -> Vec<u8> {
        let mut rng = SplitMix64(seed);
        let mut img: Vec<f32> = (0..w * h)
            .map(|i| 60.0 + 80.0 * ((i % w) as f32 / w as f32) + 40.0 * ((i / w) as f32 / h as f32))
            .collect();
        for _ in 0..300 {
            let (cx, cy) = (rng.below(w as u64) as f32, rng.below(h as u64) as f32);
            let (rx, ry) = (4.0 + rng.below(30) as f32, 4.0 + rng.below(30) as f32);
            let v = rng.below(256) as f32;
            let disc = rng.below(2) == 0;
            let (x0, x1) = ((cx - rx).max(0.0) as usize, ((cx + rx) as usize).min(w - 1));
            let (y0, y1) = ((cy - ry).max(0.0) as usize, ((cy + ry) as usize).min(h - 1));
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let (dx, dy) = ((x as f32 - cx) / rx, (y as f32 - cy) / ry);
                    if !disc || dx * dx + dy * dy <= 1.0 {
                        img[y * w + x] = v;
                    }
                }
            }
        }
        img.iter()
            .map(|&v| (v + rng.below(7) as f32 - 3.0).clamp(0.0, 255.0) as u8)
            .collect()
    }

    fn noise(w: usize, h: usize, seed: u64) -> Vec<u8> {
        let mut rng = SplitMix64(seed);
        (0..w * h).map(|_| rng.below(256) as u8).collect()
    }

    /// Bilinear warp: output pixel `p` samples `src` at
    /// `R(−angle)·(p − c_out)/scale + c_src + shift`, i.e. the source is
    /// rotated by `angle` and scaled about its centre (plus `shift`), then
    /// viewed through a `ow × oh` window centred on it. Outside is black.
    #[allow(clippy::too_many_arguments)]
    fn warp(
        src: &[u8],
        w: usize,
        h: usize,
        ow: usize,
        oh: usize,
        angle_deg: f32,
        scale: f32,
        shift: (f32, f32),
    ) -> Vec<u8> {
        let (s, c) = angle_deg.to_radians().sin_cos();
        let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
        let (ox, oy) = ((ow as f32 - 1.0) / 2.0, (oh as f32 - 1.0) / 2.0);
        let mut out = vec![0u8; ow * oh];
        for y in 0..oh {
            for x in 0..ow {
                let (dx, dy) = ((x as f32 - ox) / scale, (y as f32 - oy) / scale);
                let sx = c * dx + s * dy + cx + shift.0;
                let sy = -s * dx + c * dy + cy + shift.1;
                if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
                    continue;
                }
                let (x0, y0) = ((sx as usize).min(w - 2), (sy as usize).min(h - 2));
                let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
                let at = |x: usize, y: usize| src[y * w + x] as f32;
                let v = (at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx) * (1.0 - fy)
                    + (at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
                out[y * ow + x] = (v + 0.5) as u8;
            }
        }
        out
    }

    fn crop(src: &[u8], w: usize, x0: usize, y0: usize, cw: usize, ch: usize) -> Vec<u8> {
        (y0..y0 + ch)
            .flat_map(|y| src[y * w + x0..y * w + x0 + cw].iter().copied())
            .collect()
    }

    fn feats(px: &[u8], w: usize, h: usize) -> Features {
        extract(px, w as u32, h as u32, &FeatureOptions::default())
    }

    #[test]
    fn arc9_matches_brute_force() {
        for m in 0..=u16::MAX {
            let brute = (0..16).any(|s| (0..9).all(|k| m & (1 << ((s + k) % 16)) != 0));
            assert_eq!(has_arc9(m), brute, "mask {m:016b}");
        }
    }

    #[test]
    fn hamming_matches_count_ones() {
        let mut rng = SplitMix64(7);
        for _ in 0..1000 {
            let a = [0; 4].map(|_: u64| rng.next_u64());
            let b = [0; 4].map(|_: u64| rng.next_u64() & rng.next_u64());
            let want: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
            assert_eq!(hamming(&a, &b), want);
        }
        assert_eq!(hamming(&[u64::MAX; 4], &[0; 4]), 256);
    }

    #[test]
    fn resample_keeps_levels() {
        let flat = vec![77u8; 300 * 200];
        assert!(
            resample_area(&flat, 300, 200, 97, 61)
                .iter()
                .all(|&v| v == 77)
        );
        // 2×2 checkerboard averages to mid-grey.
        let cb: Vec<u8> = (0..64 * 64)
            .map(|i| if (i % 64 + i / 64) % 2 == 0 { 0 } else { 254 })
            .collect();
        assert!(resample_area(&cb, 64, 64, 32, 32).iter().all(|&v| v == 127));
    }

    #[test]
    fn rotated_and_cropped_copy_is_verified_with_the_right_transform() {
        let (w, h) = (480, 360);
        let a = scene(w, h, 1);
        // Rotate by 4° about the centre, keep the central 80 % (no corners).
        let b = warp(&a, w, h, 384, 288, 4.0, 1.0, (0.0, 0.0));
        let (fa, fb) = (feats(&a, w, h), feats(&b, 384, 288));
        let v = verify(&fa, &fb, &VerifyOptions::default());
        assert!(v.verified, "{v:?}");
        let t = v.transform.expect("transform");
        assert!((t.rotation_deg - 4.0).abs() < 1.0, "{t:?}");
        assert!((t.scale - 1.0).abs() < 0.03, "{t:?}");
        assert!(!t.mirrored);
        // The centre of a maps to the centre of b.
        let (s, c) = t.rotation_deg.to_radians().sin_cos();
        let (ax, ay) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
        let bx = t.scale * (c * ax - s * ay) + t.tx;
        let by = t.scale * (s * ax + c * ay) + t.ty;
        assert!(
            (bx - 191.5).abs() < 3.0 && (by - 143.5).abs() < 3.0,
            "{bx} {by}"
        );
        // And the other way round.
        let v = verify(&fb, &fa, &VerifyOptions::default());
        assert!(v.verified, "{v:?}");
        assert!((v.transform.expect("transform").rotation_deg + 4.0).abs() < 1.0);
    }

    #[test]
    fn tilted_with_black_corners_is_verified() {
        let (w, h) = (400, 300);
        let a = scene(w, h, 2);
        let b = warp(&a, w, h, 440, 350, -5.0, 1.0, (0.0, 0.0));
        let v = verify(
            &feats(&a, w, h),
            &feats(&b, 440, 350),
            &VerifyOptions::default(),
        );
        assert!(v.verified, "{v:?}");
        let t = v.transform.expect("transform");
        assert!((t.rotation_deg + 5.0).abs() < 1.0, "{t:?}");
    }

    #[test]
    fn off_centre_crop_is_verified_with_its_offset() {
        let (w, h) = (500, 400);
        let a = scene(w, h, 3);
        // 70 % crop towards the bottom-right corner.
        let (x0, y0, cw, ch) = (135, 108, 350, 280);
        let b = crop(&a, w, x0, y0, cw, ch);
        let v = verify(
            &feats(&a, w, h),
            &feats(&b, cw, ch),
            &VerifyOptions::default(),
        );
        assert!(v.verified, "{v:?}");
        let t = v.transform.expect("transform");
        assert!((t.scale - 1.0).abs() < 0.02, "{t:?}");
        assert!(t.rotation_deg.abs() < 0.5, "{t:?}");
        assert!(
            (t.tx + x0 as f32).abs() < 2.0 && (t.ty + y0 as f32).abs() < 2.0,
            "{t:?}"
        );
    }

    #[test]
    fn scaled_copies_are_verified() {
        let (w, h) = (512, 384);
        let a = scene(w, h, 4);
        let fa = feats(&a, w, h);
        for (dw, dh) in [(256, 192), (128, 96)] {
            let b = resample_area(&a, w, h, dw, dh);
            let v = verify(&fa, &feats(&b, dw, dh), &VerifyOptions::default());
            assert!(v.verified, "{dw}: {v:?}");
            let want = dw as f32 / w as f32;
            let t = v.transform.expect("transform");
            assert!((t.scale / want - 1.0).abs() < 0.03, "{t:?}");
        }
        // Upscaled ×2 (and area-reduced again by `extract`'s `max_side`).
        let b = warp(&a, w, h, 1024, 768, 0.0, 2.0, (0.0, 0.0));
        let fb = feats(&b, 1024, 768);
        assert_eq!((fb.width, fb.height), (512, 384));
        let v = verify(&fa, &fb, &VerifyOptions::default());
        assert!(v.verified, "{v:?}");
        let t = v.transform.expect("transform");
        assert!((t.scale - 2.0).abs() < 0.06, "{t:?}");
    }

    #[test]
    fn transform_is_in_input_coordinates_when_downscaled() {
        // A 1000×800 input is reduced to 512×410 internally; the transform
        // must still be in input pixels.
        let (w, h) = (1000, 800);
        let a = warp(&scene(500, 400, 5), 500, 400, w, h, 0.0, 2.0, (0.0, 0.0));
        let (x0, y0, cw, ch) = (200, 100, 700, 560);
        let b = crop(&a, w, x0, y0, cw, ch);
        let v = verify(
            &feats(&a, w, h),
            &feats(&b, cw, ch),
            &VerifyOptions::default(),
        );
        assert!(v.verified, "{v:?}");
        let t = v.transform.expect("transform");
        assert!((t.scale - 1.0).abs() < 0.03, "{t:?}");
        assert!(
            (t.tx + x0 as f32).abs() < 5.0 && (t.ty + y0 as f32).abs() < 5.0,
            "{t:?}"
        );
    }

    #[test]
    fn mirrored_copy_needs_try_mirror() {
        let (w, h) = (400, 300);
        let a = scene(w, h, 6);
        let b: Vec<u8> = (0..w * h)
            .map(|i| a[(i / w) * w + (w - 1 - i % w)])
            .collect();
        let (fa, fb) = (feats(&a, w, h), feats(&b, w, h));
        assert!(!verify(&fa, &fb, &VerifyOptions::default()).verified);
        let opts = VerifyOptions {
            try_mirror: true,
            ..VerifyOptions::default()
        };
        let v = verify(&fa, &fb, &opts);
        assert!(v.verified, "{v:?}");
        let t = v.transform.expect("transform");
        assert!(
            t.mirrored && (t.scale - 1.0).abs() < 0.02 && t.rotation_deg.abs() < 0.5,
            "{t:?}"
        );
        // Mirror then identity: b(x) = a(w − 1 − x), so tx ≈ 0.
        assert!(t.tx.abs() < 2.0 && t.ty.abs() < 2.0, "{t:?}");
    }

    #[test]
    fn different_images_are_not_verified() {
        let (w, h) = (400, 300);
        let opts = VerifyOptions {
            try_mirror: true,
            ..VerifyOptions::default()
        };
        let n1 = feats(&noise(w, h, 10), w, h);
        let n2 = feats(&noise(w, h, 11), w, h);
        assert!(!n1.is_empty() && !n2.is_empty());
        let v = verify(&n1, &n2, &opts);
        assert!(!v.verified, "{v:?}");
        let s1 = feats(&scene(w, h, 12), w, h);
        let s2 = feats(&scene(w, h, 13), w, h);
        let v = verify(&s1, &s2, &opts);
        assert!(!v.verified, "{v:?}");
        assert!(!verify(&s1, &n1, &opts).verified);
    }

    /// Smooth "sky": blurred noise, different per seed.
    fn sky(w: usize, h: usize, seed: u64) -> Vec<u8> {
        let coarse = noise(w / 32 + 2, h / 32 + 2, seed);
        let up = resample_area(&coarse, w / 32 + 2, h / 32 + 2, w, h);
        let f = blur_14641(&blur_14641(&up, w, h), w, h);
        f.iter()
            .enumerate()
            .map(|(i, &v)| (60 + (i / w) * 100 / h) as u8 / 2 + v / 2)
            .collect()
    }

    /// A "text page": the same line layout, different random glyphs.
    fn text_page(w: usize, h: usize, seed: u64) -> Vec<u8> {
        let mut rng = SplitMix64(seed);
        let mut img = vec![245u8; w * h];
        for line in 0..(h - 40) / 24 {
            let y0 = 20 + line * 24;
            let mut x = 20;
            while x + 12 < w - 20 {
                let gw = 4 + rng.below(6) as usize;
                if rng.below(6) == 0 {
                    x += gw + 4; // word gap
                    continue;
                }
                // A glyph: a few random strokes in a gw × 12 box.
                for _ in 0..3 {
                    let (sx, sy) = (
                        x + rng.below(gw as u64) as usize,
                        y0 + rng.below(12) as usize,
                    );
                    let horizontal = rng.below(2) == 0;
                    for k in 0..if horizontal { gw } else { 12 } {
                        let (px, py) = if horizontal {
                            ((x + k).min(w - 1), sy)
                        } else {
                            (sx, (y0 + k).min(h - 1))
                        };
                        img[py * w + px] = 20;
                    }
                }
                x += gw + 2;
            }
        }
        img
    }

    #[test]
    fn similar_looking_different_images_are_not_verified() {
        let (w, h) = (480, 360);
        let opts = VerifyOptions {
            try_mirror: true,
            ..VerifyOptions::default()
        };
        for (a, b, what) in [
            (sky(w, h, 1), sky(w, h, 2), "skies"),
            (text_page(w, h, 1), text_page(w, h, 2), "text pages"),
        ] {
            let v = verify(&feats(&a, w, h), &feats(&b, w, h), &opts);
            assert!(!v.verified, "{what}: {v:?}");
        }
        // The same text page, recropped, is still recognised.
        let page = text_page(w, h, 3);
        let cropped = crop(&page, w, 40, 30, 400, 300);
        let v = verify(&feats(&page, w, h), &feats(&cropped, 400, 300), &opts);
        assert!(v.verified, "{v:?}");
    }

    #[test]
    fn inconsistent_features_do_not_panic() {
        let mut f = feats(&scene(200, 200, 40), 200, 200);
        let g = f.clone();
        f.keypoints.truncate(3);
        f.mirror_descriptors.clear();
        f.thumb.truncate(10);
        let opts = VerifyOptions {
            try_mirror: true,
            ..VerifyOptions::default()
        };
        assert!(!verify(&f, &g, &opts).verified);
        assert!(!verify(&g, &f, &opts).verified);
        let zero = Features {
            width: 0,
            height: 0,
            ..g.clone()
        };
        let _ = verify(&zero, &g, &opts);
        let _ = verify(&g, &zero, &opts);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let opts = FeatureOptions::default();
        let vo = VerifyOptions {
            try_mirror: true,
            ..VerifyOptions::default()
        };
        let good = feats(&scene(200, 200, 20), 200, 200);
        let cases: Vec<(Vec<u8>, u32, u32)> = vec![
            (vec![], 0, 0),
            (vec![9], 1, 1),
            (vec![0; 3 * 100_000], 3, 100_000),
            (vec![0; 100_000 * 3], 100_000, 3),
            (vec![0; 256 * 256], 256, 256),
            (vec![255; 256 * 256], 256, 256),
            (vec![128; 40 * 40], 40, 40),
            (vec![1, 2, 3], 10, 10),      // buffer too short
            (vec![], u32::MAX, u32::MAX), // size overflow on 32-bit
            (noise(33, 33, 1), 33, 33),
        ];
        for (px, w, h) in &cases {
            let f = extract(px, *w, *h, &opts);
            assert_eq!(f.keypoints.len(), f.descriptors.len());
            let v = verify(&f, &f, &vo);
            if f.is_empty() {
                assert!(!v.verified, "{w}x{h}: {v:?}");
            }
            assert!(!verify(&f, &good, &vo).verified, "{w}x{h}");
            assert!(!verify(&good, &f, &vo).verified, "{w}x{h}");
        }
        let flat = extract(&[128; 256 * 256], 256, 256, &opts);
        assert!(flat.is_empty());
        // Odd options do not panic either.
        let odd = FeatureOptions {
            max_side: 0,
            max_keypoints: 0,
            fast_threshold: 0,
            max_levels: 0,
        };
        let _ = extract(&scene(100, 100, 1), 100, 100, &odd);
        let odd_v = VerifyOptions {
            ratio: f32::NAN,
            max_scale: 0.0,
            ransac_iterations: 0,
            min_inliers: 0,
            ..VerifyOptions::default()
        };
        let _ = verify(&good, &good, &odd_v);
    }

    #[test]
    fn deterministic() {
        let (w, h) = (320, 240);
        let a = scene(w, h, 30);
        let b = warp(&a, w, h, 280, 200, 3.0, 0.9, (10.0, -5.0));
        let (fa, fb) = (feats(&a, w, h), feats(&b, 280, 200));
        assert_eq!(fa, feats(&a, w, h));
        let v1 = verify(&fa, &fb, &VerifyOptions::default());
        let v2 = verify(&fa, &fb, &VerifyOptions::default());
        assert_eq!(v1, v2);
        assert!(v1.verified, "{v1:?}");
    }
}

// ------------------------------------------------------------------ Sightline

/// Local features of an RGB24 image (any size: it is box-averaged to grey
/// at most twice the working size first, then area-downscaled).
pub fn extract_rgb(rgb: &[u8], width: u32, height: u32) -> Features {
    let opts = FeatureOptions::default();
    let grey = crate::fingerprint::grey_thumbnail(rgb, width, height, opts.max_side * 2);
    let (w, h) = grey.dimensions();
    let mut f = extract(grey.as_raw(), w, h, &opts);
    // Report positions in the caller's pixels.
    let (sx, sy) = (
        width as f32 / w.max(1) as f32,
        height as f32 / h.max(1) as f32,
    );
    f.to_input = (f.to_input.0 * sx, f.to_input.1 * sy);
    f
}

/// A pair confirmed by [`verify`] with the default options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confirmed {
    pub inliers: u32,
    pub matches: u32,
    pub rotation_deg: f32,
    pub scale: f32,
}

/// [`verify`] with the default options; `Some` only when verified.
pub fn confirm(a: &Features, b: &Features) -> Option<Confirmed> {
    // Mirrored re-posts too (the dihedral hashes propose them).
    let opts = VerifyOptions {
        try_mirror: true,
        ..VerifyOptions::default()
    };
    let v = verify(a, b, &opts);
    if !v.verified {
        return None;
    }
    let t = v.transform?;
    Some(Confirmed {
        inliers: v.inliers as u32,
        matches: v.matches as u32,
        rotation_deg: t.rotation_deg,
        scale: t.scale,
    })
}
