//! PDQ, Meta's perceptual image hash, bit for bit as the reference computes it.
//!
//! Written from the algorithm of `pdq/cpp` in facebook/ThreatExchange (BSD
//! licence) and checked against the reference on its own test images (see
//! `tests/pdq_conformance.rs`). What "bit for bit" takes:
//!
//! * **luma** in `f32`. The pip `pdqhash` binding (which python-threatexchange
//!   and so HMA use) computes `0.299 R + 0.587 G + 0.114 B` in `f64` with
//!   NumPy and rounds to `f32` once ([`LumaModel::Pdqhash`], the default);
//!   the C++ CLI multiplies `f32` constants ([`LumaModel::Cpp`]).
//! * **the Jarosz tent filter**: two passes of a box filter along rows, then
//!   along columns, window `(dim + 127) / 128`, each a running `f32` sum with
//!   the reference's order of adds and subtracts and its division by the
//!   current window length at the edges. Float addition does not associate,
//!   so the order is kept exactly; what is skipped is only work whose result
//!   is never read (the last two passes are needed at 64×64 points only).
//! * **decimation** to 64×64 at `floor((i + 0.5) · dim / 64)`.
//! * **the quality metric**: integer sum of truncated gradients, `/ 90`,
//!   capped at 100.
//! * **the 16×16 DCT** (coefficients 1..=16 of a 64-point DCT-II; the DC row
//!   and column are dropped), with the matrix built in `f64` and stored in
//!   `f32`, products summed in `f32` in the reference's order.
//! * **Torben's median** and `bit = coefficient > median`.
//! * **the dihedral hashes**, derived from the same DCT by sign flips and
//!   transposes, in the reference's order.
//!
//! The filter is streamed: rows go in one at a time and only a window of rows
//! is kept, so hashing a 12-megapixel image needs well under a megabyte of
//! working memory beyond its pixels, and no allocation depends on anything
//! but the width and the window length.

use std::fmt;
use std::str::FromStr;

/// A 256-bit PDQ hash. Bytes are in the order of the reference's hex text
/// (`Hash256::format()`): word 15 first, each 16-bit word big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash(pub [u8; 32]);

impl PdqHash {
    /// The all-zero hash the reference returns for images it cannot hash.
    pub const ZERO: PdqHash = PdqHash([0; 32]);

    /// Set bit `k` (0..256) in the reference's numbering: bit `k` is bit
    /// `k % 16` of word `k / 16`.
    fn set_bit(&mut self, k: usize) {
        let word = k >> 4;
        let bit = k & 15;
        let byte = 2 * (15 - word) + usize::from(bit < 8);
        self.0[byte] |= 1 << (bit & 7);
    }

    /// Whether bit `k` (reference numbering, see [`PdqHash::set_bit`]) is set.
    pub fn bit(&self, k: usize) -> bool {
        if k >= 256 {
            return false;
        }
        let word = k >> 4;
        let bit = k & 15;
        let byte = 2 * (15 - word) + usize::from(bit < 8);
        self.0[byte] & (1 << (bit & 7)) != 0
    }

    /// The reference's hex text: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

/// Why a PDQ hash's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParsePdqError {
    #[error("a pdq hash has 64 hex digits, not {0} characters")]
    Length(usize),
    #[error("not a hex digit at position {0}")]
    Digit(usize),
}

impl ParsePdqError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ParsePdqError::Length(_) => "pdq-length",
            ParsePdqError::Digit(_) => "pdq-digit",
        }
    }
}

impl FromStr for PdqHash {
    type Err = ParsePdqError;

    /// Parse 64 hex digits (either case), as `Hash256::fromStringOrDie`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(ParsePdqError::Length(s.chars().count()));
        }
        let nibble = |i: usize| -> Result<u8, ParsePdqError> {
            match b[i] {
                c @ b'0'..=b'9' => Ok(c - b'0'),
                c @ b'a'..=b'f' => Ok(c - b'a' + 10),
                c @ b'A'..=b'F' => Ok(c - b'A' + 10),
                _ => Err(ParsePdqError::Digit(i)),
            }
        };
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (nibble(2 * i)? << 4) | nibble(2 * i + 1)?;
        }
        Ok(PdqHash(out))
    }
}

impl serde::Serialize for PdqHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for PdqHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Hamming distance: the number of differing bits (0..=256).
pub fn hamming(a: &PdqHash, b: &PdqHash) -> u32 {
    a.0.iter()
        .zip(b.0.iter())
        .map(|(x, y)| (x ^ y).count_ones())
        .sum()
}

/// A PDQ hash with the reference's quality score (0..=100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Pdq {
    pub hash: PdqHash,
    pub quality: u8,
}

/// The eight dihedral PDQ hashes, in the reference's order, and the quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PdqDihedral {
    /// `[orig, r90, r180, r270, flipx, flipy, flipplus1, flipminus1]`, as
    /// `pdqDihedralHash256esFromFloatLuma` fills them.
    pub hashes: [PdqHash; 8],
    pub quality: u8,
}

/// Names of the dihedral hashes, in [`PdqDihedral::hashes`] order.
pub const DIHEDRAL_NAMES: [&str; 8] = [
    "orig",
    "r90",
    "r180",
    "r270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
];

/// How RGB becomes the `f32` luma the hash is computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LumaModel {
    /// `f32(0.299·R + 0.587·G + 0.114·B)` computed in `f64`: the pip
    /// `pdqhash` binding, which python-threatexchange and HMA use. Hashes made
    /// this way are the ones exchanged.
    #[default]
    Pdqhash,
    /// `0.299f·R + 0.587f·G + 0.114f·B` in `f32`, as `fillFloatLumaFromRGB`
    /// in the C++ reference (and its `pdq-photo-hasher` CLI) does it.
    Cpp,
}

/// Images with a side under this are not hashed (zero hash, quality 0).
const MIN_HASHABLE_DIM: usize = 5;

/// Hash interleaved 8-bit RGB (`width × height × 3` bytes, row-major) the way
/// `pdqhash.compute` does. Returns the zero hash with quality 0 when a side
/// is under 5 pixels or the buffer is shorter than the dimensions say.
pub fn pdq_from_rgb(rgb: &[u8], width: u32, height: u32) -> Pdq {
    PdqHasher::new().pdq(rgb, width, height, LumaModel::Pdqhash)
}

/// The eight dihedral hashes and quality of interleaved 8-bit RGB, as
/// `pdqhash.compute_dihedral` returns them.
pub fn pdq_dihedral_from_rgb(rgb: &[u8], width: u32, height: u32) -> PdqDihedral {
    PdqHasher::new().dihedral(rgb, width, height, LumaModel::Pdqhash)
}

/// A reusable PDQ hasher: keeps its working buffers between images, so
/// hashing many images of similar size allocates nothing after the first.
#[derive(Debug, Default)]
pub struct PdqHasher {
    filter: Filter,
}

impl PdqHasher {
    pub fn new() -> Self {
        PdqHasher::default()
    }

    /// As [`pdq_from_rgb`], with a choice of [`LumaModel`].
    pub fn pdq(&mut self, rgb: &[u8], width: u32, height: u32, luma: LumaModel) -> Pdq {
        let (w, h) = (width as usize, height as usize);
        if !rgb_fits(rgb, w, h) {
            return Pdq {
                hash: PdqHash::ZERO,
                quality: 0,
            };
        }
        // `pdqFloat256FromFloatLuma` takes a 64x64 image as it is, unfiltered
        // (the dihedral entry point has no such case).
        if w == 64 && h == 64 {
            let mut buf = [[0f32; 64]; 64];
            for (i, row) in buf.iter_mut().enumerate() {
                let mut lrow = [0f32; 64];
                luma_row(&rgb[i * 64 * 3..(i + 1) * 64 * 3], &mut lrow, luma);
                *row = lrow;
            }
            let quality = quality_metric(&buf);
            let dct = dct64_to_16(&buf);
            return Pdq {
                hash: bits_from_dct(&dct),
                quality,
            };
        }
        let d = self.dihedral_impl(rgb, w, h, luma, false);
        Pdq {
            hash: d.hashes[0],
            quality: d.quality,
        }
    }

    /// As [`pdq_dihedral_from_rgb`], with a choice of [`LumaModel`].
    pub fn dihedral(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        luma: LumaModel,
    ) -> PdqDihedral {
        let (w, h) = (width as usize, height as usize);
        if !rgb_fits(rgb, w, h) {
            return PdqDihedral {
                hashes: [PdqHash::ZERO; 8],
                quality: 0,
            };
        }
        self.dihedral_impl(rgb, w, h, luma, true)
    }

    /// Both what `pdqhash.compute` and what `pdqhash.compute_dihedral`
    /// return, from one pass over the pixels (they differ only for a 64×64
    /// image, which `compute` does not filter).
    pub fn pdq_and_dihedral(
        &mut self,
        rgb: &[u8],
        width: u32,
        height: u32,
        luma: LumaModel,
    ) -> (Pdq, PdqDihedral) {
        let d = self.dihedral(rgb, width, height, luma);
        let pdq = if width == 64 && height == 64 {
            self.pdq(rgb, width, height, luma)
        } else {
            Pdq {
                hash: d.hashes[0],
                quality: d.quality,
            }
        };
        (pdq, d)
    }

    fn dihedral_impl(
        &mut self,
        rgb: &[u8],
        w: usize,
        h: usize,
        luma: LumaModel,
        all: bool,
    ) -> PdqDihedral {
        if w < MIN_HASHABLE_DIM || h < MIN_HASHABLE_DIM {
            return PdqDihedral {
                hashes: [PdqHash::ZERO; 8],
                quality: 0,
            };
        }
        let buf = self.filter.run(rgb, w, h, luma);
        let quality = quality_metric(&buf);
        let dct = dct64_to_16(&buf);
        let mut hashes = [PdqHash::ZERO; 8];
        hashes[0] = bits_from_dct(&dct);
        if all {
            for (k, slot) in hashes.iter_mut().enumerate().skip(1) {
                *slot = bits_from_dct(&dihedral_dct(&dct, k));
            }
        }
        PdqDihedral { hashes, quality }
    }
}

fn rgb_fits(rgb: &[u8], w: usize, h: usize) -> bool {
    w.checked_mul(h)
        .and_then(|n| n.checked_mul(3))
        .is_some_and(|n| rgb.len() >= n)
}

// ---------------------------------------------------------------- luma

/// Luma of one row of RGB into `out` (`out.len()` pixels).
fn luma_row(rgb: &[u8], out: &mut [f32], model: LumaModel) {
    match model {
        LumaModel::Pdqhash => {
            let t = luma_tables();
            for (o, px) in out.iter_mut().zip(rgb.chunks_exact(3)) {
                *o = ((t.r[usize::from(px[0])] + t.g[usize::from(px[1])]) + t.b[usize::from(px[2])])
                    as f32;
            }
        }
        LumaModel::Cpp => {
            for (o, px) in out.iter_mut().zip(rgb.chunks_exact(3)) {
                *o = 0.299f32 * f32::from(px[0])
                    + 0.587f32 * f32::from(px[1])
                    + 0.114f32 * f32::from(px[2]);
            }
        }
    }
}

/// `v · coefficient` in `f64` for every byte value: the very products NumPy
/// forms for `uint8_array * 0.299`.
struct LumaTables {
    r: [f64; 256],
    g: [f64; 256],
    b: [f64; 256],
}

fn luma_tables() -> &'static LumaTables {
    static TABLES: std::sync::OnceLock<LumaTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = LumaTables {
            r: [0.0; 256],
            g: [0.0; 256],
            b: [0.0; 256],
        };
        for v in 0..256usize {
            let x = v as f64;
            t.r[v] = x * 0.299;
            t.g[v] = x * 0.587;
            t.b[v] = x * 0.114;
        }
        t
    })
}

// ---------------------------------------------------------------- filter

/// `computeJaroszFilterWindowSize(dim, 64)`.
fn window_size(dim: usize) -> usize {
    dim.div_ceil(128)
}

/// `decimateFloat`'s sample positions: `(int)(((i + 0.5) * dim) / 64)`.
fn sample_positions(dim: usize) -> [usize; 64] {
    let mut out = [0usize; 64];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (((i as f64 + 0.5) * dim as f64) / 64.0) as usize;
    }
    out
}

/// The phase lengths of the reference's `box1DFloat` for a vector of `n`
/// and a full window `w` (`w <= n`).
#[derive(Debug, Clone, Copy)]
struct Phases {
    /// adds before the first write (`half - 1`)
    p1: usize,
    /// adds with writes, window growing (`w - half + 1`)
    p2: usize,
    /// full window
    w: usize,
    n: usize,
}

impl Phases {
    fn new(n: usize, w: usize) -> Phases {
        let half = (w + 2) / 2;
        Phases {
            p1: half - 1,
            p2: w - half + 1,
            w,
            n,
        }
    }

    /// Trailing writes with a shrinking window.
    fn p4(&self) -> usize {
        self.p1
    }
}

/// One box pass along a row, with every output written: `box1DFloat` with
/// stride 1.
fn box_row_full(x: &[f32], y: &mut [f32], ph: Phases) {
    let Phases { p1, p2, w, n } = ph;
    let mut sum = 0f32;
    let mut cws = 0usize;
    let mut ri = 0;
    for _ in 0..p1 {
        sum += x[ri];
        cws += 1;
        ri += 1;
    }
    let mut oi = 0;
    for _ in 0..p2 {
        sum += x[ri];
        cws += 1;
        y[oi] = sum / cws as f32;
        ri += 1;
        oi += 1;
    }
    let c = cws as f32;
    for ((yo, &xa), &xs) in y[oi..oi + (n - w)]
        .iter_mut()
        .zip(&x[ri..n])
        .zip(&x[..n - w])
    {
        sum += xa;
        sum -= xs;
        *yo = sum / c;
    }
    oi += n - w;
    for &xs in &x[n - w..n - w + p1] {
        sum -= xs;
        cws -= 1;
        y[oi] = sum / cws as f32;
        oi += 1;
    }
}

/// Lanes of rows filtered together along a row (independent sums, so the
/// CPU overlaps them).
const LANES: usize = 8;

/// The box pass along rows for `LANES` rows at once, with every output
/// written; `x` and `y` hold the rows interleaved (`[col][lane]`). Each lane
/// sees exactly the sequence of operations of [`box_row_full`].
fn box_rows_interleaved(x: &[[f32; LANES]], y: &mut [[f32; LANES]], ph: Phases) {
    let Phases { p1, p2, w, n } = ph;
    let mut sum = [0f32; LANES];
    let mut cws = 0usize;
    let mut ri = 0;
    for _ in 0..p1 {
        add(&mut sum, &x[ri]);
        cws += 1;
        ri += 1;
    }
    let mut oi = 0;
    for _ in 0..p2 {
        add(&mut sum, &x[ri]);
        cws += 1;
        div(&sum, cws as f32, &mut y[oi]);
        ri += 1;
        oi += 1;
    }
    let c = cws as f32;
    for ((yo, xa), xs) in y[oi..oi + (n - w)]
        .iter_mut()
        .zip(&x[ri..n])
        .zip(&x[..n - w])
    {
        add(&mut sum, xa);
        sub(&mut sum, xs);
        div(&sum, c, yo);
    }
    oi += n - w;
    for xs in &x[n - w..n - w + p1] {
        sub(&mut sum, xs);
        cws -= 1;
        div(&sum, cws as f32, &mut y[oi]);
        oi += 1;
    }
}

#[inline(always)]
fn add(s: &mut [f32; LANES], x: &[f32; LANES]) {
    for l in 0..LANES {
        s[l] += x[l];
    }
}

#[inline(always)]
fn sub(s: &mut [f32; LANES], x: &[f32; LANES]) {
    for l in 0..LANES {
        s[l] -= x[l];
    }
}

#[inline(always)]
fn div(s: &[f32; LANES], c: f32, y: &mut [f32; LANES]) {
    for l in 0..LANES {
        y[l] = s[l] / c;
    }
}

/// The box pass along rows when only the outputs at `cols` (sorted) are
/// read: the running sums are the same, only the divisions are skipped.
/// `x` holds `LANES` rows interleaved; `out[j][lane]` receives column
/// `cols[j]`.
fn box_rows_sampled(
    x: &[[f32; LANES]],
    ph: Phases,
    cols: &[usize; 64],
    out: &mut [[f32; LANES]; 64],
) {
    let Phases { p1, p2, w, n } = ph;
    let mut sum = [0f32; LANES];
    let mut cws = 0usize;
    let mut ri = 0;
    let mut next = 0usize; // next sampled column to fill
    for _ in 0..p1 {
        add(&mut sum, &x[ri]);
        cws += 1;
        ri += 1;
    }
    let mut oi = 0;
    for _ in 0..p2 {
        add(&mut sum, &x[ri]);
        cws += 1;
        while next < 64 && cols[next] == oi {
            div(&sum, cws as f32, &mut out[next]);
            next += 1;
        }
        ri += 1;
        oi += 1;
    }
    let c = cws as f32;
    // Phase 3, in runs between sampled columns.
    let end3 = oi + (n - w);
    while oi < end3 {
        let stop = if next < 64 {
            cols[next].min(end3)
        } else {
            end3
        };
        // outputs oi..stop are not read: only the sums advance
        let k = stop - oi;
        for (xa, xs) in x[ri..ri + k].iter().zip(&x[ri - w..ri - w + k]) {
            add(&mut sum, xa);
            sub(&mut sum, xs);
        }
        ri += k;
        oi += k;
        if oi < end3 {
            add(&mut sum, &x[ri]);
            sub(&mut sum, &x[ri - w]);
            while next < 64 && cols[next] == oi {
                div(&sum, c, &mut out[next]);
                next += 1;
            }
            ri += 1;
            oi += 1;
        }
    }
    for xs in &x[n - w..n - w + p1] {
        sub(&mut sum, xs);
        cws -= 1;
        while next < 64 && cols[next] == oi {
            div(&sum, cws as f32, &mut out[next]);
            next += 1;
        }
        oi += 1;
    }
}

/// The box pass along columns, streamed: rows arrive in order and outputs
/// come out in order, with the reference's operations on every column.
/// Works on rows of any width (`W` floats, or 64 sampled columns).
#[derive(Debug, Default)]
struct ColumnBox {
    ph: Option<Phases>,
    width: usize,
    /// the last `w` input rows, ring-indexed by row number
    ring: Vec<f32>,
    sum: Vec<f32>,
    out: Vec<f32>,
    /// rows received
    t: usize,
    cws: usize,
}

impl ColumnBox {
    fn reset(&mut self, n_rows: usize, width: usize, w: usize) {
        self.ph = Some(Phases::new(n_rows, w));
        self.width = width;
        self.ring.clear();
        self.ring.resize(w * width, 0.0);
        self.sum.clear();
        self.sum.resize(width, 0.0);
        self.out.clear();
        self.out.resize(width, 0.0);
        self.t = 0;
        self.cws = 0;
    }

    /// Push input row `t` (in order); returns the index of the output row
    /// now in `self.out`, if one was produced.
    fn push(&mut self, row: &[f32]) -> Option<usize> {
        let ph = self.ph?;
        let width = self.width;
        let t = self.t;
        if t >= ph.n {
            return None;
        }
        self.t += 1;
        let slot = (t % ph.w) * width;
        let produced = if t < ph.p1 {
            for (s, &x) in self.sum.iter_mut().zip(row) {
                *s += x;
            }
            self.cws += 1;
            None
        } else if t < ph.p1 + ph.p2 {
            self.cws += 1;
            let c = self.cws as f32;
            for ((s, &x), o) in self.sum.iter_mut().zip(row).zip(self.out.iter_mut()) {
                *s += x;
                *o = *s / c;
            }
            Some(t - ph.p1)
        } else {
            // the row leaving the window is `t - w`, in the slot `t` reuses
            let c = self.cws as f32;
            let old = &self.ring[slot..slot + width];
            for (((s, &x), &xo), o) in self
                .sum
                .iter_mut()
                .zip(row)
                .zip(old)
                .zip(self.out.iter_mut())
            {
                *s += x;
                *s -= xo;
                *o = *s / c;
            }
            Some(t - ph.p1)
        };
        self.ring[slot..slot + width].copy_from_slice(&row[..width]);
        produced
    }

    /// After the last input row: produce trailing output `k` (0..p4).
    fn tail(&mut self, k: usize) -> usize {
        let ph = self.ph.unwrap_or(Phases {
            p1: 0,
            p2: 0,
            w: 1,
            n: 0,
        });
        let width = self.width;
        let li = ph.n - ph.w + k;
        let slot = (li % ph.w) * width;
        self.cws -= 1;
        let c = self.cws as f32;
        let old = &self.ring[slot..slot + width];
        for ((s, &xo), o) in self.sum.iter_mut().zip(old).zip(self.out.iter_mut()) {
            *s -= xo;
            *o = *s / c;
        }
        ph.n - ph.p4() + k
    }
}

/// The streaming tent filter and decimation.
#[derive(Debug)]
struct Filter {
    /// `LANES` luma rows, interleaved `[col][lane]`
    luma: Vec<[f32; LANES]>,
    /// the first row pass of those rows, interleaved
    pass1: Vec<[f32; LANES]>,
    /// one luma row (non-interleaved scratch)
    row: Vec<f32>,
    /// one row of the first row pass, de-interleaved
    pass1_row: Vec<f32>,
    /// first column pass
    cols1: ColumnBox,
    /// outputs of the first column pass waiting for the second row pass
    pending: Vec<[f32; LANES]>,
    pending_rows: usize,
    /// second column pass, on the 64 sampled columns
    cols2: ColumnBox,
    out: [[f32; 64]; 64],
    sample_rows: [usize; 64],
    sample_cols: [usize; 64],
    next_row: usize,
}

impl Default for Filter {
    fn default() -> Self {
        Filter {
            luma: Vec::new(),
            pass1: Vec::new(),
            row: Vec::new(),
            pass1_row: Vec::new(),
            cols1: ColumnBox::default(),
            pending: Vec::new(),
            pending_rows: 0,
            cols2: ColumnBox::default(),
            out: [[0.0; 64]; 64],
            sample_rows: [0; 64],
            sample_cols: [0; 64],
            next_row: 0,
        }
    }
}

impl Filter {
    /// Filter and decimate `rgb` (`w × h`, both ≥ 5) to 64×64.
    fn run(&mut self, rgb: &[u8], w: usize, h: usize, model: LumaModel) -> [[f32; 64]; 64] {
        let wr = window_size(w);
        let wc = window_size(h);
        let row_phases = Phases::new(w, wr);
        self.luma.clear();
        self.luma.resize(w, [0.0; LANES]);
        self.pass1.clear();
        self.pass1.resize(w, [0.0; LANES]);
        self.row.clear();
        self.row.resize(w, 0.0);
        self.pass1_row.clear();
        self.pass1_row.resize(w, 0.0);
        self.pending.clear();
        self.pending.resize(w, [0.0; LANES]);
        self.pending_rows = 0;
        self.cols1.reset(h, w, wc);
        self.cols2.reset(h, 64, wc);
        self.out = [[0.0; 64]; 64];
        self.sample_rows = sample_positions(h);
        self.sample_cols = sample_positions(w);
        self.next_row = 0;

        let stride = w * 3;
        let mut y = 0;
        while y < h {
            let lanes = LANES.min(h - y);
            if lanes == LANES {
                for l in 0..LANES {
                    let src = &rgb[(y + l) * stride..(y + l + 1) * stride];
                    luma_row(src, &mut self.row, model);
                    for (dst, &v) in self.luma.iter_mut().zip(self.row.iter()) {
                        dst[l] = v;
                    }
                }
                box_rows_interleaved(&self.luma, &mut self.pass1, row_phases);
                for l in 0..LANES {
                    for (dst, src) in self.pass1_row.iter_mut().zip(self.pass1.iter()) {
                        *dst = src[l];
                    }
                    self.push_cols1_row();
                }
            } else {
                for l in 0..lanes {
                    let src = &rgb[(y + l) * stride..(y + l + 1) * stride];
                    luma_row(src, &mut self.row, model);
                    box_row_full(&self.row, &mut self.pass1_row, row_phases);
                    self.push_cols1_row();
                }
            }
            y += lanes;
        }
        for k in 0..self.cols1.ph.map_or(0, |p| p.p4()) {
            self.cols1.tail(k);
            self.take_cols1_output();
        }
        self.flush_pending(row_phases);
        for k in 0..self.cols2.ph.map_or(0, |p| p.p4()) {
            let oi = self.cols2.tail(k);
            self.take_cols2_output(oi);
        }
        self.out
    }

    fn push_cols1_row(&mut self) {
        if self.cols1.push(&self.pass1_row).is_some() {
            self.take_cols1_output();
        }
    }

    /// Queue the first column pass's current output row for the second row
    /// pass, which runs on `LANES` rows at once.
    fn take_cols1_output(&mut self) {
        let l = self.pending_rows;
        for (dst, &v) in self.pending.iter_mut().zip(self.cols1.out.iter()) {
            dst[l] = v;
        }
        self.pending_rows += 1;
        if self.pending_rows == LANES {
            let ph = Phases::new(self.cols1.width, window_size(self.cols1.width));
            self.flush_pending(ph);
        }
    }

    fn flush_pending(&mut self, ph: Phases) {
        let rows = self.pending_rows;
        if rows == 0 {
            return;
        }
        let mut sampled = [[0f32; LANES]; 64];
        box_rows_sampled(&self.pending, ph, &self.sample_cols, &mut sampled);
        self.pending_rows = 0;
        for l in 0..rows {
            let mut row = [0f32; 64];
            for (dst, src) in row.iter_mut().zip(sampled.iter()) {
                *dst = src[l];
            }
            if let Some(oi) = self.cols2.push(&row) {
                self.take_cols2_output(oi);
            }
        }
    }

    fn take_cols2_output(&mut self, oi: usize) {
        while self.next_row < 64 && self.sample_rows[self.next_row] == oi {
            self.out[self.next_row].copy_from_slice(&self.cols2.out[..64]);
            self.next_row += 1;
        }
    }
}

// ---------------------------------------------------------------- quality, DCT, bits

/// `pdqImageDomainQualityMetric`.
fn quality_metric(b: &[[f32; 64]; 64]) -> u8 {
    let mut sum: i64 = 0;
    let step = |u: f32, v: f32| -> i64 {
        let d = ((u - v) * 100f32) / 255f32;
        // C++ float -> int conversion truncates toward zero
        i64::from(d as i32).abs()
    };
    for (upper, lower) in b.iter().zip(b.iter().skip(1)) {
        for (&u, &v) in upper.iter().zip(lower.iter()) {
            sum += step(u, v);
        }
    }
    for row in b.iter() {
        for j in 0..63 {
            sum += step(row[j], row[j + 1]);
        }
    }
    (sum / 90).min(100) as u8
}

/// The 16×64 DCT matrix: row `i` is `sqrt(2/64) · cos(π/128 · (i+1) · (2j+1))`,
/// with the scale rounded to `f32` first and each product formed in `f64`,
/// as the reference builds it.
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static M: std::sync::OnceLock<[[f32; 64]; 16]> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut m = [[0f32; 64]; 16];
        for (i, row) in m.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                let arg = (std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64;
                *v = (f64::from(scale) * arg.cos()) as f32;
            }
        }
        m
    })
}

/// `dct64To16`: `B = D A Dᵀ`, sums in `f32` in the reference's order.
fn dct64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    // T = D A: T[i][j] = Σ_k D[i][k] · A[k][j], k ascending.
    let mut t = [[0f32; 64]; 16];
    for (trow, drow) in t.iter_mut().zip(d.iter()) {
        for (&dk, arow) in drow.iter().zip(a.iter()) {
            for (tv, &av) in trow.iter_mut().zip(arow.iter()) {
                *tv += dk * av;
            }
        }
    }
    // B = T Dᵀ: B[i][j] = Σ_k T[i][k] · D[j][k], k ascending.
    let mut b = [[0f32; 16]; 16];
    for (brow, trow) in b.iter_mut().zip(t.iter()) {
        for (bv, drow) in brow.iter_mut().zip(d.iter()) {
            let mut s = 0f32;
            for (&tv, &dv) in trow.iter().zip(drow.iter()) {
                s += tv * dv;
            }
            *bv = s;
        }
    }
    b
}

/// The DCT of a dihedral transform of the image, from the original's DCT
/// (`dct16OriginalTo*`), for `k` in the order of [`DIHEDRAL_NAMES`].
fn dihedral_dct(a: &[[f32; 16]; 16], k: usize) -> [[f32; 16]; 16] {
    let mut b = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let v = a[i][j];
            let odd_i = i & 1 == 1;
            let odd_j = j & 1 == 1;
            let odd_sum = (i + j) & 1 == 1;
            match k {
                1 => b[j][i] = if odd_j { v } else { -v },
                2 => b[i][j] = if odd_sum { -v } else { v },
                3 => b[j][i] = if odd_i { v } else { -v },
                4 => b[i][j] = if odd_i { v } else { -v },
                5 => b[i][j] = if odd_j { v } else { -v },
                6 => b[j][i] = v,
                7 => b[j][i] = if odd_sum { -v } else { v },
                _ => b[i][j] = v,
            }
        }
    }
    b
}

/// Torben's median (N. Devillard's implementation), as the reference uses
/// it, on finite values.
fn torben(m: &[f32]) -> f32 {
    let n = m.len();
    if n == 0 {
        return 0.0;
    }
    let mut min = m[0];
    let mut max = m[0];
    for &v in &m[1..] {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    let half = n.div_ceil(2);
    let (mut less, mut equal);
    let (mut guess, mut maxlt, mut mingt);
    // Each round moves `min` or `max` to a value strictly inside the range,
    // so there are at most `n` rounds; the cap is for non-finite input.
    let mut rounds = 0;
    loop {
        guess = (min + max) / 2f32;
        less = 0;
        let mut greater = 0;
        equal = 0;
        maxlt = min;
        mingt = max;
        for &v in m {
            if v < guess {
                less += 1;
                if v > maxlt {
                    maxlt = v;
                }
            } else if v > guess {
                greater += 1;
                if v < mingt {
                    mingt = v;
                }
            } else {
                equal += 1;
            }
        }
        rounds += 1;
        if (less <= half && greater <= half) || rounds > 2 * n + 64 {
            break;
        } else if less > greater {
            max = maxlt;
        } else {
            min = mingt;
        }
    }
    if less >= half {
        maxlt
    } else if less + equal >= half {
        guess
    } else {
        mingt
    }
}

/// `pdqBuffer16x16ToBits`.
fn bits_from_dct(dct: &[[f32; 16]; 16]) -> PdqHash {
    let mut flat = [0f32; 256];
    for (i, row) in dct.iter().enumerate() {
        flat[i * 16..(i + 1) * 16].copy_from_slice(row);
    }
    let median = torben(&flat);
    let mut h = PdqHash::ZERO;
    for (k, &v) in flat.iter().enumerate() {
        if v > median {
            h.set_bit(k);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The straightforward reference algorithm on full buffers, to check the
    /// streamed filter against.
    fn filter_naive(rgb: &[u8], w: usize, h: usize) -> [[f32; 64]; 64] {
        let mut a = vec![0f32; w * h];
        for y in 0..h {
            luma_row(
                &rgb[y * w * 3..(y + 1) * w * 3],
                &mut a[y * w..(y + 1) * w],
                LumaModel::Pdqhash,
            );
        }
        let mut b = vec![0f32; w * h];
        let box1d = |x: &[f32], y: &mut [f32], n: usize, stride: usize, fw: usize| {
            let half = (fw + 2) / 2;
            let (p1, p2, p3, p4) = (half - 1, fw - half + 1, n - fw, half - 1);
            let (mut li, mut ri, mut oi) = (0, 0, 0);
            let mut sum = 0f32;
            let mut c = 0usize;
            for _ in 0..p1 {
                sum += x[ri];
                c += 1;
                ri += stride;
            }
            for _ in 0..p2 {
                sum += x[ri];
                c += 1;
                y[oi] = sum / c as f32;
                ri += stride;
                oi += stride;
            }
            for _ in 0..p3 {
                sum += x[ri];
                sum -= x[li];
                y[oi] = sum / c as f32;
                li += stride;
                ri += stride;
                oi += stride;
            }
            for _ in 0..p4 {
                sum -= x[li];
                c -= 1;
                y[oi] = sum / c as f32;
                li += stride;
                oi += stride;
            }
        };
        let (wr, wc) = (window_size(w), window_size(h));
        for _ in 0..2 {
            for r in 0..h {
                box1d(&a[r * w..], &mut b[r * w..], w, 1, wr);
            }
            for c in 0..w {
                box1d(&b[c..], &mut a[c..], h, w, wc);
            }
        }
        let (rs, cs) = (sample_positions(h), sample_positions(w));
        let mut out = [[0f32; 64]; 64];
        for i in 0..64 {
            for j in 0..64 {
                out[i][j] = a[rs[i] * w + cs[j]];
            }
        }
        out
    }

    fn noise(w: usize, h: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..w * h * 3)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                // smooth-ish content plus noise
                let x = (i / 3) % w;
                let y = (i / 3) / w;
                ((x * 7 + y * 3) as u64 / 4 + (s % 64)) as u8
            })
            .collect()
    }

    #[test]
    fn streamed_filter_equals_naive_filter_bit_for_bit() {
        for &(w, h) in &[
            (5, 5),
            (7, 300),
            (64, 64),
            (130, 97),
            (257, 255),
            (1000, 37),
            (129, 1030),
        ] {
            let rgb = noise(w, h, (w * 31 + h) as u64);
            let got = Filter::default().run(&rgb, w, h, LumaModel::Pdqhash);
            let want = filter_naive(&rgb, w, h);
            for i in 0..64 {
                for j in 0..64 {
                    assert_eq!(
                        got[i][j].to_bits(),
                        want[i][j].to_bits(),
                        "{w}x{h} at {i},{j}"
                    );
                }
            }
        }
    }

    #[test]
    fn hex_round_trip_and_bit_layout() {
        let mut h = PdqHash::ZERO;
        h.set_bit(0);
        // bit 0 is the least significant bit of word 0, printed last
        assert!(h.to_string().ends_with("0001"));
        let mut h2 = PdqHash::ZERO;
        h2.set_bit(255);
        assert!(h2.to_string().starts_with("8000"));
        assert!(h2.bit(255) && !h2.bit(254));
        let s = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let p: PdqHash = s.parse().unwrap();
        assert_eq!(p.to_string(), s);
        assert_eq!(s.to_uppercase().parse::<PdqHash>().unwrap(), p);
        assert_eq!(hamming(&p, &p), 0);
        assert_eq!(hamming(&PdqHash::ZERO, &PdqHash([0xff; 32])), 256);
        assert_eq!("abc".parse::<PdqHash>().unwrap_err().code(), "pdq-length");
        let bad = format!("{}g", &s[..63]);
        assert_eq!(
            bad.parse::<PdqHash>().unwrap_err(),
            ParsePdqError::Digit(63)
        );
    }

    #[test]
    fn torben_is_the_lower_median() {
        assert_eq!(torben(&[10.0, 20.0]), 10.0);
        assert_eq!(torben(&[10.0, 20.0, 30.0]), 20.0);
        assert_eq!(torben(&[10.0, 20.0, 30.0, 40.0]), 20.0);
        assert_eq!(torben(&[1.0, 5.0, 2.0, 4.0, 3.0, 1.0]), 2.0);
        // non-finite input still terminates
        let _ = torben(&[f32::NAN, 1.0, f32::INFINITY]);
    }

    #[test]
    fn tiny_and_short_inputs_give_the_zero_hash() {
        let z = pdq_from_rgb(&[0; 4 * 4 * 3], 4, 4);
        assert_eq!((z.hash, z.quality), (PdqHash::ZERO, 0));
        let short = pdq_from_rgb(&[0; 10], 100, 100);
        assert_eq!((short.hash, short.quality), (PdqHash::ZERO, 0));
        let d = pdq_dihedral_from_rgb(&[7; 5 * 5 * 3], 5, 5);
        assert_eq!(d.quality, 0);
    }

    #[test]
    fn dihedral_transforms_compose() {
        // r90 applied twice is r180 (on the DCT, up to float sign of zero)
        let rgb = noise(200, 150, 3);
        let mut f = Filter::default();
        let buf = f.run(&rgb, 200, 150, LumaModel::Pdqhash);
        let dct = dct64_to_16(&buf);
        let twice = dihedral_dct(&dihedral_dct(&dct, 1), 1);
        assert_eq!(bits_from_dct(&twice), bits_from_dct(&dihedral_dct(&dct, 2)));
    }
}
