//! One entry point for the ingest pipeline: decode an image once and compute
//! every fingerprint from that decode.
//!
//! * PDQ and its seven other dihedral hashes, on the te-mode pixels
//!   ([`DecodeMode::Te`]) — identical to python-threatexchange / HMA, so
//!   they can be exchanged.
//! * The img_hash family (aHash, dHash, pHash, blockhash) from the
//!   `image_hasher` crate, on what a person sees ([`DecodeMode::Rgb`]; the
//!   same buffer except for palette, 1-bit and CMYK images). They are
//!   computed on a grey thumbnail (box average, longest side at most
//!   [`THUMB_MAX`] pixels) rather than on the full image: every one of them
//!   resizes to 16×16 or less anyway, and resizing a 12-megapixel image with
//!   a Lanczos filter four times would cost more than decoding it. They are
//!   Sightline's own values, stable for the configuration below, and not
//!   meant to equal another library's.

use image::{GrayImage, Luma};
use image_hasher::{BitOrder, HashAlg, Hasher, HasherConfig};

use crate::decode::{DecodeError, DecodeMode, Decoded, Pixels, decode_pixels};
use crate::pdq::{LumaModel, Pdq, PdqHash, PdqHasher};
use crate::regions::{
    CENTRE_CROPS, box_downscale, centre_rect, crop_rgb, find_regions, region_scale,
};
use crate::{Format, Limits};

/// Longest side of the thumbnail the img_hash family is computed on.
pub const THUMB_MAX: u32 = 128;

/// Every fingerprint of one image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageFingerprint {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Frames in the file for formats that can hold several (the first is
    /// the one fingerprinted).
    pub frames: Option<u32>,
    /// EXIF orientation as stated in the file (1..=8); not applied.
    pub orientation: Option<u16>,
    /// The decode mode the PDQ hashes were made in: always `"te"` here.
    pub mode: &'static str,
    /// Pillow's name for the mode the file decoded to (`RGB`, `P`, `CMYK`…).
    pub source_mode: &'static str,
    /// As `pdqhash.compute` (python-threatexchange) returns it.
    pub pdq: Pdq,
    /// `[r90, r180, r270, flipx, flipy, flipplus1, flipminus1]`, in the
    /// reference's order.
    pub pdq_dihedral: [PdqHash; 7],
    /// aHash, 64 bits as 16 hex digits.
    pub ahash: String,
    /// dHash (row gradients), 64 bits.
    pub dhash: String,
    /// pHash (DCT of a 16×16 reduction, bits against the median), 64 bits.
    pub phash: String,
    /// blockhash.io, 256 bits as 64 hex digits.
    pub blockhash: String,
    /// PDQ of parts of the image: a photo found inside a frame
    /// ([`crate::regions::find_regions`]) and the centred crops
    /// ([`crate::regions::CENTRE_CROPS`]), so re-posts that add bars, app
    /// chrome or crop the edges still match.
    pub regions: Vec<RegionHash>,
}

/// The PDQ hashes of one part of an image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionHash {
    /// `borderless`, `screenshot-photo`, `centre-80`, `centre-60`.
    pub kind: &'static str,
    /// x, y, width, height in the decoded image.
    pub rect: [u32; 4],
    pub pdq: Pdq,
    /// The region's other seven dihedral hashes (mirrored crops).
    pub dihedral: [PdqHash; 7],
}

/// Why an image could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl FingerprintError {
    /// A stable machine-readable code (see [`DecodeError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            FingerprintError::Decode(e) => e.code(),
        }
    }
}

/// The img_hash family of one image, hex-encoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImgHashes {
    pub ahash: String,
    pub dhash: String,
    pub phash: String,
    pub blockhash: String,
}

/// Fingerprint `bytes` (any supported image format).
pub fn fingerprint_image(
    bytes: &[u8],
    limits: &Limits,
) -> Result<ImageFingerprint, FingerprintError> {
    Fingerprinter::new().fingerprint(bytes, limits)
}

/// A reusable fingerprinter: keeps PDQ's buffers and the configured
/// hashers between images (one per thread).
#[derive(Default)]
pub struct Fingerprinter {
    pdq: PdqHasher,
    img: Option<ImgHashers>,
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fingerprinter").finish_non_exhaustive()
    }
}

struct ImgHashers {
    ahash: Hasher,
    dhash: Hasher,
    phash: Hasher,
    blockhash: Hasher,
}

impl ImgHashers {
    fn new() -> Self {
        let base = || HasherConfig::new().bit_order(BitOrder::MsbFirst);
        ImgHashers {
            ahash: base().hash_size(8, 8).hash_alg(HashAlg::Mean).to_hasher(),
            dhash: base()
                .hash_size(8, 8)
                .hash_alg(HashAlg::Gradient)
                .to_hasher(),
            // pHash proper: DCT of the 16x16 reduction, the 8x8 lowest
            // frequencies against their median. (Mean + DCT is skewed by the
            // DC term and gives near-constant hashes.)
            phash: base()
                .hash_size(8, 8)
                .preproc_dct()
                .hash_alg(HashAlg::Median)
                .to_hasher(),
            blockhash: base()
                .hash_size(16, 16)
                .hash_alg(HashAlg::Blockhash)
                .to_hasher(),
        }
    }
}

impl Fingerprinter {
    pub fn new() -> Self {
        Fingerprinter::default()
    }

    /// Decode once and compute every fingerprint.
    pub fn fingerprint(
        &mut self,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<ImageFingerprint, FingerprintError> {
        let decoded = decode_pixels(bytes, limits)?;
        Ok(self.fingerprint_decoded(decoded))
    }

    /// Every fingerprint of an image already decoded.
    pub fn fingerprint_decoded(&mut self, d: Decoded) -> ImageFingerprint {
        let Decoded {
            format,
            width,
            height,
            frames,
            orientation,
            pixels,
        } = d;
        let source_mode = pixels.mode_name();
        let (te, seen) = split_views(pixels);
        let (pdq, dihedral) = self
            .pdq
            .pdq_and_dihedral(&te, width, height, LumaModel::Pdqhash);
        let mut pdq_dihedral = [PdqHash::ZERO; 7];
        pdq_dihedral.copy_from_slice(&dihedral.hashes[1..]);
        let view = seen.as_deref().unwrap_or(&te);
        let img = self.img_hashes_rgb(view, width, height);
        let regions = self.region_hashes(&te, view, width, height);
        ImageFingerprint {
            format,
            width,
            height,
            frames,
            orientation,
            mode: DecodeMode::Te.name(),
            source_mode,
            pdq,
            pdq_dihedral,
            ahash: img.ahash,
            dhash: img.dhash,
            phash: img.phash,
            blockhash: img.blockhash,
            regions,
        }
    }

    /// Find framed photos in what a person sees (`view`), add the centred
    /// crops, and hash each part of the reference pixels (`te`). Large
    /// images are worked on box-downscaled ([`region_scale`]); rects are
    /// reported in full-resolution pixels either way.
    pub fn region_hashes(
        &mut self,
        te: &[u8],
        view: &[u8],
        width: u32,
        height: u32,
    ) -> Vec<RegionHash> {
        let k = region_scale(width, height);
        let (te_small, view_small, w, h);
        let (te, view, width, height) = if k > 1 {
            let (t, sw, sh) = box_downscale(te, width, height, k);
            te_small = t;
            view_small = if std::ptr::eq(te, view) {
                None
            } else {
                Some(box_downscale(view, width, height, k).0)
            };
            (w, h) = (sw, sh);
            (
                &te_small[..],
                view_small.as_deref().unwrap_or(&te_small),
                w,
                h,
            )
        } else {
            (te, view, width, height)
        };
        let mut parts: Vec<(&'static str, [u32; 4])> = find_regions(view, width, height)
            .into_iter()
            .map(|r| (r.kind.as_str(), r.rect))
            .collect();
        parts.extend(
            CENTRE_CROPS
                .iter()
                .map(|&(kind, scale)| (kind, centre_rect(width, height, scale))),
        );
        let mut out = Vec::with_capacity(parts.len());
        for (kind, rect) in parts {
            let Some(px) = crop_rgb(te, width, height, rect) else {
                continue;
            };
            let (pdq, d) = self
                .pdq
                .pdq_and_dihedral(&px, rect[2], rect[3], LumaModel::Pdqhash);
            let mut dihedral = [PdqHash::ZERO; 7];
            dihedral.copy_from_slice(&d.hashes[1..]);
            out.push(RegionHash {
                kind,
                rect: rect.map(|v| v * k),
                pdq,
                dihedral,
            });
        }
        out
    }

    /// The PDQ hasher, for callers that time the stages apart.
    pub fn pdq_hasher(&mut self) -> &mut PdqHasher {
        &mut self.pdq
    }

    /// The img_hash family of interleaved RGB (`width × height × 3` bytes).
    pub fn img_hashes_rgb(&mut self, rgb: &[u8], width: u32, height: u32) -> ImgHashes {
        let thumb = grey_thumbnail(rgb, width, height, THUMB_MAX);
        let h = self.img.get_or_insert_with(ImgHashers::new);
        let hex = |hasher: &Hasher| to_hex(hasher.hash_image(&thumb).as_bytes());
        ImgHashes {
            ahash: hex(&h.ahash),
            dhash: hex(&h.dhash),
            phash: hex(&h.phash),
            blockhash: hex(&h.blockhash),
        }
    }
}

/// The te-mode RGB buffer and, when it differs, the rgb-mode one.
pub fn split_views(pixels: Pixels) -> (Vec<u8>, Option<Vec<u8>>) {
    if pixels.modes_agree() {
        (pixels.into_rgb(DecodeMode::Te), None)
    } else {
        let seen = pixels.to_rgb(DecodeMode::Rgb);
        (pixels.into_rgb(DecodeMode::Te), Some(seen))
    }
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A grey thumbnail of RGB by box averaging, longest side at most `max`.
/// Grey is `(299 R + 587 G + 114 B) / 1000`. An empty or short buffer gives
/// a 1×1 black image.
pub fn grey_thumbnail(rgb: &[u8], width: u32, height: u32, max: u32) -> GrayImage {
    let (w, h) = (width as usize, height as usize);
    let fits = w
        .checked_mul(h)
        .and_then(|n| n.checked_mul(3))
        .is_some_and(|n| rgb.len() >= n);
    if w == 0 || h == 0 || !fits || max == 0 {
        return GrayImage::new(1, 1);
    }
    let s = (w.max(h)).div_ceil(max as usize).max(1);
    let (tw, th) = (w.div_ceil(s), h.div_ceil(s));
    let mut sums = vec![0u64; tw];
    let mut out = GrayImage::new(tw as u32, th as u32);
    for ty in 0..th {
        sums.iter_mut().for_each(|v| *v = 0);
        let y0 = ty * s;
        let y1 = (y0 + s).min(h);
        for y in y0..y1 {
            let row = &rgb[y * w * 3..(y + 1) * w * 3];
            for (sum, block) in sums.iter_mut().zip(row.chunks(s * 3)) {
                let (mut r, mut g, mut b) = (0u32, 0u32, 0u32);
                for px in block.chunks_exact(3) {
                    r += u32::from(px[0]);
                    g += u32::from(px[1]);
                    b += u32::from(px[2]);
                }
                *sum += 299 * u64::from(r) + 587 * u64::from(g) + 114 * u64::from(b);
            }
        }
        for (tx, &sum) in sums.iter().enumerate() {
            let x0 = tx * s;
            let cw = (x0 + s).min(w) - x0;
            let n = (cw * (y1 - y0)) as u64 * 1000;
            let v = (sum + n / 2) / n;
            out.put_pixel(tx as u32, ty as u32, Luma([v.min(255) as u8]));
        }
    }
    out
}
