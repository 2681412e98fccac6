//! Media recognition, validation, decoding and image fingerprints for
//! Sightline.
//!
//! Evidence arrives from social media and must be treated as hostile: sizes
//! lie, files are cut short, headers announce absurd dimensions and container
//! structures point at themselves. This crate first answers two questions
//! cheaply:
//!
//! * [`sniff`] — what does a file look like, judged by its first bytes rather
//!   than by its name?
//! * [`probe`] — is the file structurally sound enough to accept into the
//!   evidence store, and what are its basic properties ([`MediaInfo`])?
//!
//! [`probe`] is the main entry point. It reads through a [`std::io::Read`] +
//! [`std::io::Seek`] source in bounded windows, never allocates based on a size
//! read from the file, never recurses without a depth cap and does work bounded
//! by the file length. It does not decode pixels: it walks the container or
//! marker structure of each format, checks that every declared size fits in
//! the file and that the stated dimensions are sane (see [`Limits`]).
//!
//! Then, for images, [`fingerprint::fingerprint_image`] decodes once
//! ([`decode`], reproducing the pixels the reference PDQ tooling hashes) and
//! computes every fingerprint: [`pdq`] (our own PDQ, bit-exact with Meta's
//! reference, with its dihedral variants), the img_hash family, and PDQ of
//! the parts [`regions`] finds (a photo inside a frame, centred crops).
//!
//! ```
//! use sightline_media::{probe_bytes, Format, Limits};
//!
//! // A GIF with a 1x1 logical screen, one frame and a trailer.
//! let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00\
//!             \x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";
//! let info = probe_bytes(gif, &Limits::default()).unwrap();
//! assert_eq!(info.format, Format::Gif);
//! assert_eq!((info.width, info.height), (Some(1), Some(1)));
//! assert_eq!(info.frames, Some(1));
//! ```

mod bmff;
mod bmp;
mod crc32;
pub mod decode;
mod ebml;
pub mod features;
pub mod fingerprint;
mod gif;
mod jpeg;
pub mod keyframes;
pub mod pdq;
mod png;
pub mod regions;
mod riff;
mod sniff;
mod source;
mod tiff;
pub mod video_hash;

use std::fmt;
use std::io::{Read, Seek};

pub use decode::{DecodeError, DecodeMode, Decoded, DecodedRgb, Pixels, decode, decode_pixels};
pub use fingerprint::{
    FingerprintError, Fingerprinter, ImageFingerprint, ImgHashes, fingerprint_image,
};
pub use pdq::{Pdq, PdqDihedral, PdqHash, hamming, pdq_dihedral_from_rgb, pdq_from_rgb};
pub use sightline_core::MediaKind;
pub use sniff::{Sniffed, sniff};

use source::Source;

/// A recognised image or video format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
    Heif,
    Avif,
    Mp4,
    #[serde(rename = "quicktime")]
    QuickTime,
    #[serde(rename = "3gp")]
    ThreeGp,
    Matroska,
    Webm,
    Avi,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: [Format; 14] = [
        Format::Jpeg,
        Format::Png,
        Format::Gif,
        Format::Webp,
        Format::Tiff,
        Format::Bmp,
        Format::Heif,
        Format::Avif,
        Format::Mp4,
        Format::QuickTime,
        Format::ThreeGp,
        Format::Matroska,
        Format::Webm,
        Format::Avi,
    ];

    /// Whether the format holds a still image or a video.
    pub fn kind(self) -> MediaKind {
        match self {
            Format::Jpeg
            | Format::Png
            | Format::Gif
            | Format::Webp
            | Format::Tiff
            | Format::Bmp
            | Format::Heif
            | Format::Avif => MediaKind::Image,
            Format::Mp4
            | Format::QuickTime
            | Format::ThreeGp
            | Format::Matroska
            | Format::Webm
            | Format::Avi => MediaKind::Video,
        }
    }

    /// Stable lowercase name, identical to the serde representation.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Webp => "webp",
            Format::Tiff => "tiff",
            Format::Bmp => "bmp",
            Format::Heif => "heif",
            Format::Avif => "avif",
            Format::Mp4 => "mp4",
            Format::QuickTime => "quicktime",
            Format::ThreeGp => "3gp",
            Format::Matroska => "matroska",
            Format::Webm => "webm",
            Format::Avi => "avi",
        }
    }

    /// The format's MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
            Format::Tiff => "image/tiff",
            Format::Bmp => "image/bmp",
            Format::Heif => "image/heif",
            Format::Avif => "image/avif",
            Format::Mp4 => "video/mp4",
            Format::QuickTime => "video/quicktime",
            Format::ThreeGp => "video/3gpp",
            Format::Matroska => "video/x-matroska",
            Format::Webm => "video/webm",
            Format::Avi => "video/x-msvideo",
        }
    }

    /// Parse a name as produced by [`Format::name`].
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Limits on the dimensions an image may declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum width × height.
    pub max_pixels: u64,
    /// Maximum width and maximum height, each.
    pub max_dimension: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: 268_435_456,
            max_dimension: 65_535,
        }
    }
}

/// What [`probe`] learned about a structurally valid file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MediaInfo {
    pub format: Format,
    /// Width from the headers, as stored (before any rotation metadata).
    /// For video containers it is the first video track's stated size (MP4
    /// family: the sample entry; Matroska/WebM: `PixelWidth`; AVI: the main
    /// header); for HEIF/AVIF the primary item's `ispe` property. `None` when
    /// the file does not state it cheaply.
    pub width: Option<u32>,
    /// Height from the headers; see `width`.
    pub height: Option<u32>,
    /// Bytes after the format's end marker (JPEG EOI, PNG IEND, GIF trailer,
    /// end of the RIFF chunk); 0 when the format has no such marker.
    pub trailing_bytes: u64,
    /// Number of frames (image descriptors) for GIF; `None` for other formats.
    pub frames: Option<u32>,
    /// Damage that decoders tolerate, so the file is accepted, but that an
    /// analyst should know about (one line each).
    pub warnings: Vec<String>,
}

impl MediaInfo {
    /// The format's kind (image or video).
    pub fn kind(&self) -> MediaKind {
        self.format.kind()
    }

    pub(crate) fn new(format: Format) -> Self {
        MediaInfo {
            format,
            width: None,
            height: None,
            trailing_bytes: 0,
            frames: None,
            warnings: Vec::new(),
        }
    }

    pub(crate) fn with_dims(format: Format, width: u32, height: u32) -> Self {
        MediaInfo {
            width: Some(width),
            height: Some(height),
            ..MediaInfo::new(format)
        }
    }
}

/// Why [`probe`] rejected a file.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("file is empty")]
    Empty,
    #[error("not a recognised image or video (looks like {looks_like})")]
    NotMedia { looks_like: &'static str },
    #[error("truncated {format}: {detail}")]
    Truncated { format: Format, detail: String },
    #[error("malformed {format}: {detail}")]
    Malformed { format: Format, detail: String },
    #[error("bad {format} dimensions {width}x{height}: {detail}")]
    Dimensions {
        format: Format,
        width: u32,
        height: u32,
        detail: String,
    },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl ProbeError {
    /// A stable machine-readable code: `empty`, `not-media`, `truncated`,
    /// `malformed`, `dimensions` or `io`.
    pub fn code(&self) -> &'static str {
        match self {
            ProbeError::Empty => "empty",
            ProbeError::NotMedia { .. } => "not-media",
            ProbeError::Truncated { .. } => "truncated",
            ProbeError::Malformed { .. } => "malformed",
            ProbeError::Dimensions { .. } => "dimensions",
            ProbeError::Io(_) => "io",
        }
    }

    /// The format the file was recognised as, when it was recognised.
    pub fn format(&self) -> Option<Format> {
        match self {
            ProbeError::Truncated { format, .. }
            | ProbeError::Malformed { format, .. }
            | ProbeError::Dimensions { format, .. } => Some(*format),
            _ => None,
        }
    }

    pub(crate) fn truncated(format: Format, detail: impl Into<String>) -> Self {
        ProbeError::Truncated {
            format,
            detail: detail.into(),
        }
    }

    pub(crate) fn malformed(format: Format, detail: impl Into<String>) -> Self {
        ProbeError::Malformed {
            format,
            detail: detail.into(),
        }
    }
}

/// Check stated image dimensions against `limits`: zero area and anything
/// over the limits is rejected.
pub(crate) fn check_dimensions(
    format: Format,
    width: u32,
    height: u32,
    limits: &Limits,
) -> Result<(), ProbeError> {
    let detail = if width == 0 || height == 0 {
        "zero area".to_string()
    } else if width > limits.max_dimension || height > limits.max_dimension {
        format!(
            "a side exceeds the limit of {} pixels",
            limits.max_dimension
        )
    } else if u64::from(width) * u64::from(height) > limits.max_pixels {
        format!(
            "{} pixels exceed the limit of {}",
            u64::from(width) * u64::from(height),
            limits.max_pixels
        )
    } else {
        return Ok(());
    };
    Err(ProbeError::Dimensions {
        format,
        width,
        height,
        detail,
    })
}

/// How many bytes of the file head are used to recognise the format.
const SNIFF_LEN: usize = 512;

/// Validate the structure of a file and report its format and basic
/// properties.
///
/// `len` is the length of the file; offsets are absolute positions in `r`
/// (the probe seeks with [`std::io::SeekFrom::Start`]). The file is read in
/// bounded windows and never loaded whole into memory. The work done is
/// bounded by `len`: every loop advances through the file or is capped.
///
/// The format is recognised by content ([`sniff`]); the file name plays no
/// part. If `r` holds fewer than `len` bytes, the file is reported as
/// truncated.
pub fn probe<R: Read + Seek>(
    r: &mut R,
    len: u64,
    limits: &Limits,
) -> Result<MediaInfo, ProbeError> {
    if len == 0 {
        return Err(ProbeError::Empty);
    }
    let mut src = Source::new(r, len);
    let head = src.window(0, SNIFF_LEN)?.to_vec();
    if head.is_empty() {
        return Err(ProbeError::Empty);
    }
    let format = match sniff(&head) {
        Sniffed::Media(format) => format,
        Sniffed::Other(looks_like) => return Err(ProbeError::NotMedia { looks_like }),
    };
    let result = match format {
        Format::Jpeg => jpeg::probe(&mut src, limits),
        Format::Png => png::probe(&mut src, limits),
        Format::Gif => gif::probe(&mut src, limits),
        Format::Webp => riff::probe_webp(&mut src, limits),
        Format::Avi => riff::probe_avi(&mut src, limits),
        Format::Tiff => tiff::probe(&mut src, limits),
        Format::Bmp => bmp::probe(&mut src, limits),
        Format::Heif | Format::Avif | Format::Mp4 | Format::QuickTime | Format::ThreeGp => {
            bmff::probe(&mut src, format, limits)
        }
        Format::Matroska | Format::Webm => ebml::probe(&mut src, format, limits),
    };
    let result = match result {
        Ok(_) if src.is_short()? => Err(ProbeError::truncated(
            format,
            "the file is shorter than its stated length",
        )),
        other => other,
    };
    result.map_err(|e| match e {
        ProbeError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ProbeError::truncated(format, "the file is shorter than its stated length")
        }
        other => other,
    })
}

/// [`probe`] an in-memory file.
pub fn probe_bytes(data: &[u8], limits: &Limits) -> Result<MediaInfo, ProbeError> {
    let mut cursor = std::io::Cursor::new(data);
    probe(&mut cursor, data.len() as u64, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip_through_serde() {
        for format in Format::ALL {
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{}\"", format.name()));
            let back: Format = serde_json::from_str(&json).unwrap();
            assert_eq!(back, format);
            assert_eq!(Format::from_name(format.name()), Some(format));
            assert_eq!(format.to_string(), format.name());
        }
    }

    #[test]
    fn kinds_and_mimes() {
        assert_eq!(Format::Heif.kind(), MediaKind::Image);
        assert_eq!(Format::Webm.kind(), MediaKind::Video);
        assert_eq!(Format::ThreeGp.mime(), "video/3gpp");
        assert_eq!(Format::Avi.mime(), "video/x-msvideo");
        for format in Format::ALL {
            let prefix = match format.kind() {
                MediaKind::Image => "image/",
                MediaKind::Video => "video/",
            };
            assert!(format.mime().starts_with(prefix), "{format}");
        }
    }

    #[test]
    fn error_codes_and_messages() {
        let e = ProbeError::truncated(Format::Png, "ends before IEND");
        assert_eq!(e.code(), "truncated");
        assert_eq!(e.to_string(), "truncated png: ends before IEND");
        assert_eq!(e.format(), Some(Format::Png));
        let e = ProbeError::NotMedia { looks_like: "pdf" };
        assert_eq!(
            e.to_string(),
            "not a recognised image or video (looks like pdf)"
        );
        assert_eq!(ProbeError::Empty.code(), "empty");
    }

    #[test]
    fn dimension_checks() {
        let l = Limits::default();
        assert!(check_dimensions(Format::Png, 1, 1, &l).is_ok());
        assert!(check_dimensions(Format::Png, 65_535, 4096, &l).is_ok());
        assert!(check_dimensions(Format::Png, 0, 1, &l).is_err());
        assert!(check_dimensions(Format::Png, 65_536, 1, &l).is_err());
        assert!(check_dimensions(Format::Png, 65_535, 65_535, &l).is_err());
    }

    #[test]
    fn short_reader_is_truncated() {
        // The reader holds fewer bytes than the caller says the file has.
        let data = b"GIF89a\x01\x00\x01\x00\x00\x00\x00";
        let mut cursor = std::io::Cursor::new(&data[..]);
        let err = probe(&mut cursor, 1000, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "truncated", "{err}");
    }
}
