//! Video container metadata: [`read_video`].
//!
//! Two readers, merged:
//! - ffprobe, run as a sandboxed subprocess (see [`VideoLimits`]), for the
//!   container, streams, and every tag it reports;
//! - our own ISO-BMFF box reader for what ffprobe leaves out or garbles:
//!   Apple `mdta` keys, QuickTime `©xyz`/`©mak`/`©mod`, 3GPP `loci` (whose
//!   UTF-16 names ffprobe 5.1 misreads), and track display matrices.
//!
//! Before anything runs, the file's first bytes must look like ISO-BMFF,
//! Matroska/WebM (EBML), RIFF AVI, MPEG-TS or FLV: playlists, scripts and
//! text are refused, so ffprobe never follows an HLS or concat file to
//! other local files. ffprobe is also told which demuxers it may use.
//!
//! Problems never panic and never abort the read: each is a [`MetaIssue`]
//! and whatever could still be read is kept.

mod bmff_meta;
mod ffprobe;
mod iso6709;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sightline_core::{GeoPoint, MetaField, MetaIssue, VideoMeta, VideoStream};

use bmff_meta::{BmffFindings, Candidate, Located, Source, normalise_degrees};

pub use bmff_meta::{MAX_MOOV_BOXES, MAX_MOOV_BYTES, MAX_TOP_LEVEL_BOXES};
pub use ffprobe::FORMAT_WHITELIST;
pub use iso6709::{Iso6709Error, parse_iso6709};

/// Limits on the ffprobe subprocess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoLimits {
    /// Wall-clock limit; the process group is killed at it. Also sets the
    /// CPU-seconds limit (rounded up, plus one).
    pub timeout: Duration,
    /// Address-space limit (`prlimit --as`); 0 for none.
    pub max_memory_bytes: u64,
    /// ffprobe's JSON output beyond this is refused.
    pub max_output_bytes: usize,
    /// The ffprobe program: a path, or a name looked up on `PATH`.
    pub ffprobe: PathBuf,
    /// util-linux `prlimit`: a path, or a name looked up on `PATH`. When it
    /// is missing, ffprobe runs without memory/CPU limits (with an issue).
    pub prlimit: PathBuf,
}

impl Default for VideoLimits {
    fn default() -> Self {
        VideoLimits {
            timeout: Duration::from_secs(20),
            max_memory_bytes: 1 << 30,
            max_output_bytes: 4 << 20,
            ffprobe: PathBuf::from("ffprobe"),
            prlimit: PathBuf::from("prlimit"),
        }
    }
}

/// What [`read_video`] found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoReport {
    /// Container facts; `None` when neither reader could make sense of the
    /// file.
    pub video: Option<VideoMeta>,
    /// Every tag ffprobe reported and every box value we decoded.
    pub fields: Vec<MetaField>,
    pub issues: Vec<MetaIssue>,
}

/// Container families recognised by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Bmff,
    Ebml,
    Avi,
    MpegTs,
    Flv,
}

impl Family {
    /// The ffprobe demuxer forced for the family.
    fn demuxer(self) -> &'static str {
        match self {
            Family::Bmff => "mov",
            Family::Ebml => "matroska",
            Family::Avi => "avi",
            Family::MpegTs => "mpegts",
            Family::Flv => "flv",
        }
    }

    /// The container name as ffprobe would report it.
    fn container(self) -> &'static str {
        match self {
            Family::Bmff => "mov,mp4,m4a,3gp,3g2,mj2",
            Family::Ebml => "matroska,webm",
            Family::Avi => "avi",
            Family::MpegTs => "mpegts",
            Family::Flv => "flv",
        }
    }

    /// The field group for ffprobe's format-level tags.
    fn group(self) -> &'static str {
        match self {
            Family::Bmff => "QuickTime",
            Family::Ebml => "Matroska",
            Family::Avi => "RIFF",
            Family::MpegTs => "M2TS",
            Family::Flv => "FLV",
        }
    }
}

/// Decide the container family from the first bytes, or say what the file
/// looks like instead.
fn sniff(h: &[u8]) -> Result<Family, &'static str> {
    if h.len() >= 8
        && matches!(
            &h[4..8],
            b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
        )
    {
        return Ok(Family::Bmff);
    }
    if h.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Ok(Family::Ebml);
    }
    if h.len() >= 12 && h.starts_with(b"RIFF") && &h[8..12] == b"AVI " {
        return Ok(Family::Avi);
    }
    if h.starts_with(b"FLV\x01") {
        return Ok(Family::Flv);
    }
    // 188-byte transport packets, or 192-byte ones with a 4-byte prefix.
    if h.len() > 376 && h[0] == 0x47 && h[188] == 0x47 && h[376] == 0x47 {
        return Ok(Family::MpegTs);
    }
    if h.len() > 388 && h[4] == 0x47 && h[196] == 0x47 && h[388] == 0x47 {
        return Ok(Family::MpegTs);
    }
    let text_start = h.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(h);
    let trimmed = text_start.trim_ascii_start();
    Err(if trimmed.starts_with(b"#EXTM3U") {
        "an hls/m3u playlist"
    } else if trimmed.starts_with(b"ffconcat") {
        "an ffconcat script"
    } else if trimmed.starts_with(b"<") {
        "markup (html/xml/dash manifest)"
    } else if h
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace() || b >= 0x80)
    {
        "text"
    } else {
        "an unrecognised binary format"
    })
}

fn issue(report: &mut VideoReport, origin: &str, code: &str, message: String) {
    report.issues.push(MetaIssue {
        origin: origin.into(),
        code: code.into(),
        message,
    });
}

/// Read the container metadata of the video at `path`.
///
/// Never panics on file contents; every problem is an issue in the report.
pub fn read_video(path: &Path, limits: &VideoLimits) -> VideoReport {
    let mut report = VideoReport::default();
    let abs = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) => {
            issue(
                &mut report,
                "file",
                "video-unreadable",
                format!("cannot resolve path: {e}"),
            );
            return report;
        }
    };
    let len = match std::fs::metadata(&abs) {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => {
            issue(
                &mut report,
                "file",
                "video-not-regular-file",
                "not a regular file (directory, fifo, device or socket); not read".into(),
            );
            return report;
        }
        Err(e) => {
            issue(
                &mut report,
                "file",
                "video-unreadable",
                format!("cannot stat: {e}"),
            );
            return report;
        }
    };
    if len == 0 {
        issue(
            &mut report,
            "file",
            "video-empty",
            "the file is empty".into(),
        );
        return report;
    }
    let mut file = match File::open(&abs) {
        Ok(f) => f,
        Err(e) => {
            issue(
                &mut report,
                "file",
                "video-unreadable",
                format!("cannot open: {e}"),
            );
            return report;
        }
    };
    let mut head = Vec::with_capacity(4096);
    if let Err(e) = (&mut file).take(4096).read_to_end(&mut head) {
        issue(
            &mut report,
            "file",
            "video-unreadable",
            format!("cannot read: {e}"),
        );
        return report;
    }
    let family = match sniff(&head) {
        Ok(family) => family,
        Err(looks_like) => {
            issue(
                &mut report,
                "file",
                "video-unrecognised",
                format!("not a video container: looks like {looks_like}; ffprobe not run"),
            );
            return report;
        }
    };

    let bmff = (family == Family::Bmff).then(|| bmff_meta::read_bmff(&mut file, len));
    drop(file);

    let mut probe_issues = Vec::new();
    let probe =
        ffprobe::run(&abs, family, limits, &mut probe_issues).and_then(
            |json| match ffprobe::parse(&json) {
                Ok(probe) => Some(probe),
                Err(e) => {
                    probe_issues.push(MetaIssue {
                        origin: "ffprobe".into(),
                        code: "ffprobe-output-invalid".into(),
                        message: e,
                    });
                    None
                }
            },
        );
    report.issues.append(&mut probe_issues);
    assemble(&mut report, family, probe, bmff);
    report
}

/// The project's own ISO-BMFF reader alone, on bytes in memory: the
/// metadata boxes (`©xyz`, Apple keys, `loci`, display matrices) without
/// running ffprobe. Used by the fuzz targets and their corpus replay; a
/// file that is not ISO-BMFF gives an empty report with one issue.
pub fn read_bmff_bytes(data: &[u8]) -> VideoReport {
    let mut report = VideoReport::default();
    match sniff(data.get(..4096).unwrap_or(data)) {
        Ok(Family::Bmff) => {
            let mut cur = std::io::Cursor::new(data);
            let bmff = bmff_meta::read_bmff(&mut cur, data.len() as u64);
            assemble(&mut report, Family::Bmff, None, Some(bmff));
        }
        _ => issue(
            &mut report,
            "file",
            "video-unrecognised",
            "not an iso-bmff file".into(),
        ),
    }
    report
}

/// Summary values offered by ffprobe's tags.
#[derive(Default)]
struct Offers {
    locations: Vec<Candidate<Located>>,
    makes: Vec<Candidate<String>>,
    models: Vec<Candidate<String>>,
}

fn tag_str(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.trim().is_empty())
}

/// The first tag (in `names` order, case-insensitive) with a text value.
fn find_tag<'a>(tags: &'a [(String, Value)], names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| {
        tags.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| tag_str(v))
    })
}

/// The best candidate by source (then order found).
fn best<T: Clone>(list: &[Candidate<T>]) -> Option<Candidate<T>> {
    list.iter().min_by_key(|c| c.source).cloned()
}

fn assemble(
    report: &mut VideoReport,
    family: Family,
    probe: Option<ffprobe::Probe>,
    bmff: Option<BmffFindings>,
) {
    let mut offers = Offers::default();
    let mut video = VideoMeta::default();
    let have_probe = probe.is_some();
    let mut format_tags: Vec<(String, Value)> = Vec::new();

    if let Some(probe) = &probe {
        let format = probe.format.as_ref();
        video.container = format
            .and_then(|f| f.format_name.clone())
            .unwrap_or_else(|| family.container().to_string());
        video.duration = format.and_then(|f| f.duration);
        video.bit_rate = format.and_then(|f| f.bit_rate);
        let group = family.group();
        if let Some(format) = format {
            format_tags = format.tags.clone();
            for (tag, value) in &format.tags {
                let key = format!("{group}:{tag}");
                let origin = format!("ffprobe:format/tags/{tag}");
                offer_tag(report, &mut offers, tag, value, &key, &origin);
                report.fields.push(MetaField {
                    key,
                    value: value.clone(),
                    origin,
                });
            }
        }
        for s in &probe.streams {
            for (tag, value) in &s.tags {
                report.fields.push(MetaField {
                    key: format!("Track{}:{tag}", u64::from(s.index) + 1),
                    value: value.clone(),
                    origin: format!("ffprobe:streams/{}/tags/{tag}", s.index),
                });
            }
            video.streams.push(stream(s, bmff.as_ref()));
        }
        video.brand = find_tag(&format_tags, &["major_brand"]).map(str::to_string);
        video.encoder = find_tag(&format_tags, &["encoder"]).map(str::to_string);
    }

    let Some(mut bmff) = bmff else {
        if have_probe {
            video.creation_time = creation_time(&format_tags, None);
            choose_summary(report, &mut video, offers, None);
            report.video = Some(video);
        }
        return;
    };
    report.fields.append(&mut bmff.fields);
    report.issues.append(&mut bmff.issues);
    if !have_probe && !bmff.moov_read {
        return;
    }
    if !have_probe {
        video.container = family.container().to_string();
    }
    if video.brand.is_none() {
        video.brand = bmff.major_brand.clone();
    }
    if !have_probe {
        // ffprobe reports ©too/©swr as `encoder`; without it, use ours.
        video.encoder = best(&bmff.software).map(|c| c.value);
    }
    video.creation_time = creation_time(&format_tags, Some(&bmff));
    choose_summary(report, &mut video, offers, Some(&bmff));
    report.video = Some(video);
}

/// `creation_time` as written: the container's own, else Apple's
/// `creationdate`, else a decoded `©day`, else Matroska's `DATE_RECORDED`.
fn creation_time(tags: &[(String, Value)], bmff: Option<&BmffFindings>) -> Option<String> {
    find_tag(tags, &["creation_time", "com.apple.quicktime.creationdate"])
        .map(str::to_string)
        .or_else(|| bmff.and_then(|b| best(&b.dates)).map(|c| c.value))
        .or_else(|| find_tag(tags, &["DATE_RECORDED", "date"]).map(str::to_string))
}

/// Offer a format-level ffprobe tag to the summary slots.
fn offer_tag(
    report: &mut VideoReport,
    offers: &mut Offers,
    tag: &str,
    value: &Value,
    key: &str,
    origin: &str,
) {
    let Some(s) = tag_str(value) else { return };
    let lower = tag.to_ascii_lowercase();
    let candidate = |value: String| Candidate {
        source: Source::Ffprobe,
        key: key.to_string(),
        value,
    };
    match lower.as_str() {
        "location" | "com.apple.quicktime.location.iso6709" => match parse_iso6709(s) {
            Ok(point) => offers.locations.push(Candidate {
                source: Source::Ffprobe,
                key: key.to_string(),
                value: Located {
                    point,
                    raw: s.to_string(),
                    origin: origin.to_string(),
                },
            }),
            Err(e) => issue(
                report,
                origin,
                "location-invalid",
                format!("{e} in {}", bmff_meta::escape_short(s)),
            ),
        },
        "com.apple.quicktime.make" | "make" => offers.makes.push(candidate(s.to_string())),
        "com.apple.quicktime.model" | "model" => offers.models.push(candidate(s.to_string())),
        _ => {}
    }
}

/// Pick location, make and model by source precedence (Apple keys,
/// QuickTime user data, item list, 3GPP `loci`, ffprobe tags) and note
/// disagreeing locations.
fn choose_summary(
    report: &mut VideoReport,
    video: &mut VideoMeta,
    mut offers: Offers,
    bmff: Option<&BmffFindings>,
) {
    if let Some(b) = bmff {
        offers.locations.extend(b.locations.iter().cloned());
        offers.makes.extend(b.makes.iter().cloned());
        offers.models.extend(b.models.iter().cloned());
    }
    if let Some(chosen) = best(&offers.locations) {
        for other in &offers.locations {
            if far_apart(&other.value.point, &chosen.value.point) {
                issue(
                    report,
                    &other.value.origin,
                    "location-conflict",
                    format!(
                        "{} says {}, {}; {} (used) says {}, {}",
                        other.key,
                        other.value.point.lat,
                        other.value.point.lon,
                        chosen.key,
                        chosen.value.point.lat,
                        chosen.value.point.lon
                    ),
                );
            }
        }
        video.location = Some(chosen.value.point);
        video.location_raw = Some(chosen.value.raw);
        video.location_origin = Some(chosen.key);
    }
    video.make = best(&offers.makes).map(|c| c.value);
    video.model = best(&offers.models).map(|c| c.value);
}

/// More than about 10 m apart in latitude or longitude (16.16 fixed point
/// and 4-decimal ISO 6709 renderings of one place stay well within this).
fn far_apart(a: &GeoPoint, b: &GeoPoint) -> bool {
    (a.lat - b.lat).abs() > 1e-4 || (a.lon - b.lon).abs() > 1e-4
}

/// One stream. Rotation is clockwise degrees in `[0, 360)`: from our own
/// reading of the MP4 track header when the track can be matched, else the
/// legacy `rotate` tag (clockwise), else ffprobe's display-matrix rotation
/// (counter-clockwise, so negated).
fn stream(s: &ffprobe::ProbeStream, bmff: Option<&BmffFindings>) -> VideoStream {
    let track_id = s.id.as_deref().and_then(|id| {
        let id = id.trim();
        match id.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => id.parse().ok(),
        }
    });
    let from_tkhd = bmff.zip(track_id).and_then(|(b, id)| {
        b.tracks
            .iter()
            .find(|t| t.track_id == id)
            .and_then(|t| t.rotation)
    });
    let from_tag = find_tag(&s.tags, &["rotate"])
        .and_then(|r| r.trim().parse::<f64>().ok())
        .filter(|r| r.is_finite())
        .map(normalise_degrees);
    let from_matrix = s.matrix_rotation.map(|r| normalise_degrees(-r));
    VideoStream {
        index: s.index,
        kind: s.codec_type.clone().unwrap_or_else(|| "unknown".into()),
        codec: s.codec_name.clone().unwrap_or_else(|| "unknown".into()),
        width: s.width,
        height: s.height,
        frame_rate: s.avg_frame_rate,
        rotation: (s.codec_type.as_deref() == Some("video"))
            .then(|| from_tkhd.or(from_tag).or(from_matrix))
            .flatten(),
        duration: s.duration,
    }
}
