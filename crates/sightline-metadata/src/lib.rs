//! What a file says about itself, and what an analyst should notice about
//! it.
//!
//! The main type is [`Extractor`]: give it a file's bytes (and, for
//! video, its path) and it returns a [`sightline_core::Metadata`]: every
//! field with its origin (`jpeg:APP1/exif/GPS/0x0002`), the values
//! analysts read first ([`sightline_core::MetaSummary`]), per-field
//! problems ([`sightline_core::MetaIssue`]) and the file's own flags
//! ([`flags::file_flags`]). Flags that need the post around the file
//! (capture time far from the post time) come from [`flags::post_flags`].
//!
//! Field names and values follow ExifTool's `-n -G1` output so they can be
//! compared with the field's reference reader; see `docs/metadata.md`.
//!
//! Parsers: [`container`] finds the EXIF/XMP/text blocks of JPEG, PNG,
//! WebP, TIFF and HEIF files; EXIF IFDs are read by kamadak-exif in
//! continue-on-error mode; XMP by a bounded namespace-aware parser that
//! never expands entities.

pub mod c2pa;
pub(crate) mod container;
mod exif;
pub mod flags;
mod summary;
pub mod video;
mod xmp;

use std::io::Read;
use std::path::Path;

use serde_json::json;
use sightline_core::{MetaField, MetaIssue, Metadata, ThumbnailInfo};
use sightline_media::{DecodeMode, Format, Limits, MediaKind, PdqHash, Sniffed};

pub use flags::{FlagOptions, file_flags, post_flags};

/// Why a file's metadata could not be read at all. (Problems inside a
/// readable file are [`MetaIssue`]s, not errors.)
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file")]
    NotAFile,
    #[error("not a supported image or video (looks like {0})")]
    NotMedia(&'static str),
    #[error("file is over the {limit}-byte limit for reading metadata")]
    TooLarge { limit: u64 },
}

impl MetaError {
    /// Stable code, as the ingest error codes.
    pub fn code(&self) -> &'static str {
        match self {
            MetaError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => "not-found",
            MetaError::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                "permission-denied"
            }
            MetaError::Io(_) => "io",
            MetaError::NotAFile => "not-a-file",
            MetaError::NotMedia(_) => "not-media",
            MetaError::TooLarge { .. } => "too-large",
        }
    }
}

/// Largest image read into memory for metadata.
pub const MAX_IMAGE_BYTES: u64 = 256 << 20;

/// Options for [`Extractor`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Compare the embedded EXIF thumbnail with the image by PDQ (decodes
    /// the thumbnail; decodes the image too unless its PDQ is given).
    pub thumbnail_check: bool,
    /// Decoding limits for the thumbnail and image.
    pub limits: Limits,
    pub flags: FlagOptions,
    /// Limits on the ffprobe subprocess for videos.
    pub video: video::VideoLimits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            thumbnail_check: true,
            limits: Limits::default(),
            flags: FlagOptions::default(),
            video: video::VideoLimits::default(),
        }
    }
}

/// Reads metadata from files. Cheap to create and to clone; holds no state
/// between files.
#[derive(Debug, Clone, Default)]
pub struct Extractor {
    pub options: Options,
    /// A C2PA validator with the operator's trust anchors; `None` checks
    /// signatures and hashes with no signer trusted.
    c2pa: Option<c2pa::C2paValidator>,
}

impl Extractor {
    pub fn new(options: Options) -> Self {
        Extractor {
            options,
            c2pa: None,
        }
    }

    /// An extractor that trusts C2PA signers chaining to these root
    /// certificates (a PEM bundle, e.g. the C2PA trust list).
    pub fn with_trust_anchors(options: Options, pem: &str) -> Result<Self, c2pa::C2paConfigError> {
        Ok(Extractor {
            options,
            c2pa: Some(c2pa::C2paValidator::with_trust_anchors(pem)?),
        })
    }

    /// Metadata of a file on disk: images are read into memory (up to
    /// [`MAX_IMAGE_BYTES`]); videos are probed in place.
    pub fn file(&self, path: &Path) -> Result<Metadata, MetaError> {
        let mut f = std::fs::File::open(path)?;
        let md = f.metadata()?;
        if !md.is_file() {
            return Err(MetaError::NotAFile);
        }
        let mut head = Vec::with_capacity(64);
        (&mut f).take(64).read_to_end(&mut head)?;
        let format = match sightline_media::sniff(&head) {
            Sniffed::Media(fmt) => fmt,
            Sniffed::Other(what) => return Err(MetaError::NotMedia(what)),
        };
        if format.kind() == MediaKind::Video {
            return Ok(self.video(path, format));
        }
        if md.len() > MAX_IMAGE_BYTES {
            return Err(MetaError::TooLarge {
                limit: MAX_IMAGE_BYTES,
            });
        }
        let mut data = head;
        f.take(MAX_IMAGE_BYTES).read_to_end(&mut data)?;
        Ok(self.image(&data, None))
    }

    /// Metadata of a video file, probed in place (ffprobe in a sandboxed
    /// subprocess plus our own ISO-BMFF reader; see [`video`]).
    pub fn video(&self, path: &Path, _format: Format) -> Metadata {
        let report = video::read_video(path, &self.options.video);
        let mut meta = Metadata {
            fields: report.fields,
            issues: report.issues,
            video: report.video,
            ..Metadata::default()
        };
        meta.summary = summary::summarise_video(&meta);
        meta.flags = file_flags(&meta, &self.options.flags);
        meta
    }

    /// Metadata of an image file held in memory. `image_pdq` is the
    /// image's own PDQ when already computed (saves a decode for the
    /// thumbnail comparison).
    pub fn image(&self, data: &[u8], image_pdq: Option<&PdqHash>) -> Metadata {
        let mut meta = Metadata::default();
        let probed = sightline_media::probe_bytes(data, &self.options.limits).ok();
        let mime = probed
            .as_ref()
            .map_or("application/octet-stream", |i| i.format.mime());
        meta.c2pa = match &self.c2pa {
            Some(v) => v.read(data, mime),
            None => c2pa::read_c2pa(data, mime),
        };
        if let Some(info) = probed {
            let origin = format!("{}:header", info.format.name());
            meta.fields.push(MetaField {
                key: "File:MIMEType".into(),
                value: json!(info.format.mime()),
                origin: origin.clone(),
            });
            if let (Some(w), Some(h)) = (info.width, info.height) {
                for (k, v) in [("File:ImageWidth", w), ("File:ImageHeight", h)] {
                    meta.fields.push(MetaField {
                        key: k.into(),
                        value: json!(v),
                        origin: origin.clone(),
                    });
                }
            }
        }
        let blocks = container::find_blocks(data);
        meta.issues.extend(blocks.issues);
        let mut thumbnail = None;
        let mut tiff_xmp = None;
        if let Some(block) = &blocks.exif {
            let read = exif::read(block);
            meta.fields.extend(read.fields);
            meta.issues.extend(read.issues);
            thumbnail = read.thumbnail;
            tiff_xmp = read
                .xmp
                .map(|x| (x, format!("{}/IFD0/0x02bc", block.origin)));
        }
        let mut packets: Vec<(&[u8], String)> = blocks
            .xmp
            .iter()
            .map(|(p, o)| (p.as_ref(), o.clone()))
            .collect();
        if let Some((x, o)) = &tiff_xmp {
            packets.push((x.as_slice(), o.clone()));
        }
        for (packet, origin) in packets {
            let (f, i) = xmp::read(packet, &origin);
            for field in f {
                // The same property in standard and extended XMP: keep the first.
                if meta.get(&field.key).is_none() {
                    meta.fields.push(field);
                }
            }
            meta.issues.extend(i);
        }
        for (key, text, origin) in blocks.text {
            meta.fields.push(MetaField {
                key: format!("PNG:{}", png_tag(&key)),
                value: json!(text),
                origin: format!("{origin}/{key}"),
            });
        }
        for (c, origin) in blocks.comments {
            meta.fields.push(MetaField {
                key: "File:Comment".into(),
                value: json!(String::from_utf8_lossy(c)),
                origin,
            });
        }
        meta.summary = summary::summarise(&meta.fields);
        if let Some((offset, bytes)) = thumbnail {
            meta.summary.thumbnail =
                Some(self.thumbnail(data, offset, &bytes, image_pdq, &mut meta.issues));
        }
        meta.flags = file_flags(&meta, &self.options.flags);
        meta
    }

    fn thumbnail(
        &self,
        data: &[u8],
        offset: usize,
        bytes: &[u8],
        image_pdq: Option<&PdqHash>,
        issues: &mut Vec<MetaIssue>,
    ) -> ThumbnailInfo {
        let mut info = ThumbnailInfo {
            origin: format!("IFD1:ThumbnailImage@{offset}"),
            length: bytes.len() as u64,
            width: None,
            height: None,
            pdq: None,
            pdq_distance: None,
        };
        if !self.options.thumbnail_check {
            return info;
        }
        let limits = Limits {
            max_pixels: 4_000_000,
            max_dimension: 4096,
        };
        let thumb = match sightline_media::decode(bytes, &limits, DecodeMode::Te) {
            Ok(t) => t,
            Err(e) => {
                issues.push(MetaIssue {
                    origin: info.origin.clone(),
                    code: "thumbnail-undecodable".into(),
                    message: format!("embedded thumbnail does not decode: {e}"),
                });
                return info;
            }
        };
        info.width = Some(thumb.width);
        info.height = Some(thumb.height);
        let tp = sightline_media::pdq_from_rgb(&thumb.rgb, thumb.width, thumb.height);
        info.pdq = Some(tp.hash.to_hex());
        let main = match image_pdq {
            Some(p) => Some(*p),
            None => sightline_media::decode(data, &self.options.limits, DecodeMode::Te)
                .ok()
                .map(|d| sightline_media::pdq_from_rgb(&d.rgb, d.width, d.height).hash),
        };
        if let Some(main) = main {
            info.pdq_distance = Some(sightline_media::hamming(&main, &tp.hash));
        }
        info
    }
}

/// The fields of one XMP packet, read on its own (the parser behind
/// [`Extractor::image`]; public for fuzzing and for tools that hold a bare
/// packet).
pub fn xmp_fields(packet: &[u8]) -> (Vec<MetaField>, Vec<MetaIssue>) {
    xmp::read(packet, "xmp")
}

/// ExifTool's names for the common PNG text keywords.
fn png_tag(keyword: &str) -> String {
    match keyword {
        "Creation Time" => "CreationTime".into(),
        other => other
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect(),
    }
}
