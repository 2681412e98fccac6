//! vPDQ: Meta's video fingerprint, PDQ hashes of sampled frames, computed
//! to give the same hashes as the reference (facebook/ThreatExchange
//! `vpdq/`, pip `vpdq` 0.2.5) on the same ffmpeg libraries.
//!
//! # What the reference does, and how it is reproduced here
//!
//! * **Decoding.** The reference decodes the first video stream with
//!   libavcodec and counts the frames the decoder returns
//!   (`AVCodecContext::frame_number - 1`): frame numbers are decode-output
//!   order, i.e. presentation order, starting at 0, with no regard to
//!   timestamps. Here ffmpeg runs as a sandboxed subprocess with
//!   `-fps_mode passthrough` (no frame is duplicated or dropped by timestamp),
//!   `-noautorotate` (the reference ignores the display matrix) and
//!   `-reinit_filter 0` (the frame counter is never reset).
//! * **Which frames.** The reference keeps frame `n` when
//!   `n % step == 0` with `step = (int)(seconds_per_hash * fps)` (`1` when
//!   that truncates to 0), `fps` being the stream's `avg_frame_rate`
//!   (`r_frame_rate` when that is 0/0). `seconds_per_hash = 0` is every
//!   frame. Here the same `step` comes from ffprobe's rates and ffmpeg's
//!   `select=not(mod(n\,step))` passes only those frames to the scaler and
//!   the pipe, so the frame number of the `k`-th frame read is `k * step`.
//! * **Pixels.** The reference converts each kept frame with
//!   `sws_getContext(w, h, decoder_fmt, W, H, RGB24, SWS_AREA)` and never
//!   sets colour details, so YUV is read with swscale's default BT.601
//!   matrix and the range implied by the pixel format (full for `yuvj*`,
//!   limited otherwise), whatever the stream is tagged. Here:
//!   `scale=W:H:flags=area:in_color_matrix=bt601:in_range=tv|pc,format=rgb24`
//!   (the same swscale, one context, one conversion); `W×H` is the stream's
//!   size, or the downsample size (the reference's `-128x128` variants
//!   squash the whole frame to 128×128 in that same swscale call).
//!   ThreatExchange's published `sample-hashes` were made otherwise (an
//!   earlier release with `SWS_LANCZOS`, on a swscale without SIMD): see
//!   [`RgbConversion::SampleHashes`], which reproduces them.
//! * **Hash.** PDQ of the RGB24 frame with the C++ luma
//!   (`fillFloatLumaFromRGB`, `f32` coefficients): [`LumaModel::Cpp`] of our
//!   bit-exact PDQ. (A 64×64 frame is hashed unfiltered, as the reference.)
//! * **Timestamp.** `(float)frame / (float)fps`, written with `%.3f`.
//!
//! # Reference quirks reproduced, and divergences
//! * When the video is not stream 0, the reference never flushes its decoder
//!   (its flush packet has stream index 0 after `av_packet_unref`) and so
//!   loses the decoder's last `has_b_frames` frames. ffmpeg flushes; with
//!   [`VpdqOptions::reference_eof_quirk`] (default) those frames are dropped
//!   again. At a sampling step, "marker" frames at
//!   `n % step == delay % step` are passed (unhashed) so that the end of the
//!   stream is known without decoding twice.
//! * On a packet the decoder rejects, the reference stops and fails; ffmpeg
//!   conceals and goes on (a non-zero exit is still an error here).
//! * A mid-stream change of frame size: the reference keeps its first
//!   swscale context (undefined output); here the scaler follows the frames.
//!
//! # Sandbox
//! See [`sandbox`]: empty environment, own process group killed on timeout
//! or cap, `prlimit` (address space, CPU, no file creation) when installed,
//! demuxer pinned from the file's signature ([`sniff`]), `file:` input only.

pub mod matching;
pub mod sandbox;
pub mod sniff;
pub mod text;

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::pdq::{LumaModel, Pdq, PdqHash, PdqHasher};

pub use matching::{MatchOptions, MatchRange, VpdqMatch, match_vpdq};
pub use sandbox::{SandboxReport, Tools};
pub use sniff::{Container, NotVideo, sniff_container};
pub use text::{ParseVpdqError, format_frame, parse_vpdq_text, to_vpdq_text, write_vpdq_text};

/// One hashed frame: the reference's `vpdqFeature`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqFrame {
    /// Index of the frame in the decoded stream (0-based, every frame
    /// counted, sampled or not).
    pub frame: u32,
    /// PDQ quality, 0..=100.
    pub quality: u8,
    pub hash: PdqHash,
    /// `frame / fps` in seconds (computed in `f32`, as the reference).
    pub timestamp: f64,
}

/// Caps on what one video may cost.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Wall clock for decoding and hashing the whole video.
    pub timeout: Duration,
    /// Wall clock for ffprobe.
    pub probe_timeout: Duration,
    /// Address-space limit of ffprobe/ffmpeg (`prlimit --as`).
    pub memory_bytes: u64,
    /// CPU-seconds limit (`prlimit --cpu`); `None` = 4 × the timeout (the
    /// decoder is multithreaded).
    pub cpu_seconds: Option<u64>,
    /// Streams wider than this are refused before any frame is decoded.
    pub max_width: u32,
    /// Streams taller than this are refused before any frame is decoded.
    pub max_height: u32,
    /// Streams of more pixels per frame than this are refused likewise.
    pub max_pixels: u64,
    /// Media duration cap in seconds, checked on the container's stated
    /// duration and again on the frame count as frames arrive.
    pub max_duration_secs: f64,
    /// Cap on the number of hashed frames.
    pub max_frames: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30 * 60),
            probe_timeout: Duration::from_secs(60),
            memory_bytes: 4 << 30,
            cpu_seconds: None,
            max_width: 8192,
            max_height: 8192,
            max_pixels: 40_000_000,
            max_duration_secs: 4.0 * 3600.0,
            // Four hours at 30 fps, for every-frame hashing.
            max_frames: 432_000,
        }
    }
}

/// How to hash a video.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqOptions {
    /// The reference's `seconds_per_hash`: 1 s by default, 0 = every frame.
    pub seconds_per_hash: f64,
    /// Squash every frame to this size before hashing (the reference's
    /// `downsample_width/height`; its sample hashes use 128×128).
    pub downsample: Option<(u32, u32)>,
    /// ffmpeg decoder threads (0 = ffmpeg's choice).
    pub decode_threads: u32,
    /// PDQ threads (0 = available parallelism).
    pub hash_threads: usize,
    /// How decoded frames become RGB24.
    pub conversion: RgbConversion,
    /// Reproduce the reference's loss of the last frames when the video is
    /// not stream 0 (see the module documentation). On by default: the
    /// goal is the reference's hashes.
    pub reference_eof_quirk: bool,
    pub limits: Limits,
}

/// How decoded frames become RGB24: which reference's pixels to reproduce.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RgbConversion {
    /// pip `vpdq` 0.2.x: swscale with `SWS_AREA`, as the ffmpeg build runs
    /// it (its x86 SIMD paths included). Identical to the reference run
    /// with the same libswscale on the same kind of CPU.
    #[default]
    Reference,
    /// How ThreatExchange's published `vpdq/sample-hashes` were made: an
    /// earlier vpdq release, `SWS_LANCZOS`, on a swscale without SIMD paths.
    /// Reproduced with `flags=lanczos` and `-cpuflags 0` (portable C code
    /// in every ffmpeg library, so decoding is about half as fast).
    SampleHashes,
}

impl Default for VpdqOptions {
    fn default() -> Self {
        VpdqOptions {
            seconds_per_hash: 1.0,
            downsample: None,
            decode_threads: 0,
            hash_threads: 0,
            conversion: RgbConversion::Reference,
            reference_eof_quirk: true,
            limits: Limits::default(),
        }
    }
}

impl VpdqOptions {
    /// Every frame, as the reference's sample hashes.
    pub fn every_frame() -> Self {
        VpdqOptions {
            seconds_per_hash: 0.0,
            ..VpdqOptions::default()
        }
    }
}

/// What ffprobe said about the video stream.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StreamInfo {
    pub container: Container,
    /// Index of the stream in the container.
    pub stream_index: u32,
    pub codec: String,
    pub pix_fmt: String,
    pub width: u32,
    pub height: u32,
    /// The rate the reference uses: `avg_frame_rate`, else `r_frame_rate`.
    pub frame_rate: f64,
    /// The same as ffprobe printed it (`30000/1001`).
    pub frame_rate_text: String,
    /// The container's or stream's stated duration, if any.
    pub duration_secs: Option<f64>,
    /// The decoder's reorder delay in frames (`has_b_frames`).
    pub reorder_delay: u32,
    /// Display rotation from the stream's display matrix, in degrees as
    /// ffprobe prints it (`90`, `-90`, `180`; 0 when there is none).
    #[serde(default)]
    pub rotation: i32,
    /// Sample (pixel) aspect ratio, when it is stated and not square.
    #[serde(default)]
    pub sample_aspect: Option<(u32, u32)>,
}

/// A hashed video.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VpdqVideo {
    pub stream: StreamInfo,
    /// Frames hashed every `frame_step` decoded frames.
    pub frame_step: u32,
    /// Size of the frames hashed.
    pub hashed_width: u32,
    pub hashed_height: u32,
    pub frames: Vec<VpdqFrame>,
    /// Frames dropped at the end to reproduce the reference's quirk
    /// ([`VpdqOptions::reference_eof_quirk`]).
    pub dropped_at_end: usize,
    /// Messages ffmpeg printed at `-loglevel error` while still succeeding
    /// (concealed decode errors), capped.
    pub decoder_messages: String,
    pub sandbox: SandboxReport,
}

/// Why a video could not be hashed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VpdqError {
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("not a regular file")]
    NotAFile,
    #[error("refused before decoding: {0}")]
    NotVideo(NotVideo),
    #[error("required program not found on path: {tool}")]
    ToolMissing { tool: &'static str },
    #[error("cannot start the decoder: {reason}")]
    Spawn { reason: String },
    #[error("ffprobe could not read the file: {stderr}")]
    ProbeFailed { stderr: String },
    #[error("the file has no video stream")]
    NoVideoStream,
    #[error("unusable video stream: {0}")]
    BadStream(String),
    #[error(
        "frame size {width}x{height} exceeds the limit ({max_width}x{max_height}, {max_pixels} pixels)"
    )]
    FrameTooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
        max_pixels: u64,
    },
    #[error("video is longer than the limit: {seconds:.1} s > {limit:.1} s")]
    TooLong { seconds: f64, limit: f64 },
    #[error("more than {limit} frames to hash")]
    TooManyFrames { limit: u32 },
    #[error("decoding exceeded the time limit of {seconds} s after {frames} hashed frames")]
    Timeout { seconds: u64, frames: usize },
    #[error("decoder failed ({status}): {stderr}")]
    DecodeFailed { status: String, stderr: String },
    #[error("decoder output ended inside a frame ({bytes} of {frame_bytes} bytes)")]
    TruncatedOutput { bytes: usize, frame_bytes: usize },
    #[error("no decodable video frames: {stderr}")]
    NoFrames { stderr: String },
}

impl VpdqError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VpdqError::InvalidOptions(_) => "vpdq-invalid-options",
            VpdqError::Io(_) => "vpdq-io",
            VpdqError::NotAFile => "vpdq-not-a-file",
            VpdqError::NotVideo(n) => match n {
                NotVideo::Empty => "vpdq-empty-file",
                NotVideo::Playlist => "vpdq-playlist",
                NotVideo::ConcatScript => "vpdq-concat-script",
                NotVideo::SessionDescription => "vpdq-session-description",
                NotVideo::Text => "vpdq-text",
                NotVideo::StillImage => "vpdq-still-image",
                NotVideo::AudioContainer => "vpdq-audio-container",
                NotVideo::Unknown => "vpdq-unknown-container",
            },
            VpdqError::ToolMissing { .. } => "vpdq-tool-missing",
            VpdqError::Spawn { .. } => "vpdq-spawn",
            VpdqError::ProbeFailed { .. } => "vpdq-probe-failed",
            VpdqError::NoVideoStream => "vpdq-no-video-stream",
            VpdqError::BadStream(_) => "vpdq-bad-stream",
            VpdqError::FrameTooLarge { .. } => "vpdq-frame-too-large",
            VpdqError::TooLong { .. } => "vpdq-too-long",
            VpdqError::TooManyFrames { .. } => "vpdq-too-many-frames",
            VpdqError::Timeout { .. } => "vpdq-timeout",
            VpdqError::DecodeFailed { .. } => "vpdq-decode-failed",
            VpdqError::TruncatedOutput { .. } => "vpdq-truncated-output",
            VpdqError::NoFrames { .. } => "vpdq-no-frames",
        }
    }
}

/// The reference's sampling step: `(int)(seconds_per_hash * fps)`, at
/// least 1.
pub fn frame_step(seconds_per_hash: f64, fps: f64) -> u32 {
    let step = seconds_per_hash * fps;
    // `as` saturates and maps NaN to 0, like a guarded C cast.
    (step as u32).max(1)
}

/// The reference's timestamp: `(float)frame / (float)fps`.
pub fn frame_timestamp(frame: u32, fps: f64) -> f64 {
    f64::from(frame as f32 / fps as f32)
}

/// PDQ of one RGB24 frame as the reference vPDQ computes it (C++ luma).
pub fn hash_rgb_frame(hasher: &mut PdqHasher, rgb: &[u8], width: u32, height: u32) -> Pdq {
    hasher.pdq(rgb, width, height, LumaModel::Cpp)
}

/// Hash a video file with ffmpeg found on `PATH`.
pub fn hash_video_file(path: &Path, opts: &VpdqOptions) -> Result<VpdqVideo, VpdqError> {
    let tools = Tools::discover()?;
    hash_video_file_with(path, opts, &tools)
}

/// A checked input: absolute path and container.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    pub(crate) container: Container,
}

/// Refuse anything that is not a regular file opening like a video
/// container. No process is started before this passes.
pub(crate) fn check_input(path: &Path) -> Result<Input, VpdqError> {
    let abs =
        std::fs::canonicalize(path).map_err(|e| VpdqError::Io(e.to_string().to_lowercase()))?;
    let meta = std::fs::metadata(&abs).map_err(|e| VpdqError::Io(e.to_string().to_lowercase()))?;
    if !meta.is_file() {
        return Err(VpdqError::NotAFile);
    }
    let mut head = Vec::with_capacity(sniff::SNIFF_LEN);
    std::fs::File::open(&abs)
        .and_then(|f| f.take(sniff::SNIFF_LEN as u64).read_to_end(&mut head))
        .map_err(|e| VpdqError::Io(e.to_string().to_lowercase()))?;
    let container = sniff_container(&head).map_err(VpdqError::NotVideo)?;
    Ok(Input {
        path: abs,
        container,
    })
}

fn validate(opts: &VpdqOptions) -> Result<(), VpdqError> {
    if !opts.seconds_per_hash.is_finite() || opts.seconds_per_hash < 0.0 {
        return Err(VpdqError::InvalidOptions(
            "seconds per hash must be a finite non-negative number".into(),
        ));
    }
    if let Some((w, h)) = opts.downsample
        && (!(1..=8192).contains(&w) || !(1..=8192).contains(&h))
    {
        return Err(VpdqError::InvalidOptions(
            "downsample size must be within 1..=8192 on both sides".into(),
        ));
    }
    if opts.limits.timeout.is_zero() || opts.limits.probe_timeout.is_zero() {
        return Err(VpdqError::InvalidOptions(
            "timeouts must be positive".into(),
        ));
    }
    Ok(())
}

/// Probe the first video stream of a file (checked and sandboxed).
pub fn probe_video(path: &Path, limits: &Limits, tools: &Tools) -> Result<StreamInfo, VpdqError> {
    let input = check_input(path)?;
    probe_input(&input, limits, tools)
}

pub(crate) fn probe_input(
    input: &Input,
    limits: &Limits,
    tools: &Tools,
) -> Result<StreamInfo, VpdqError> {
    let mut args: Vec<OsString> = ["-v", "error", "-hide_banner"]
        .iter()
        .map(OsString::from)
        .collect();
    args.extend(sandbox::input_args(input.container, &input.path));
    args.extend(
        [
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=index,codec_name,codec_type,width,height,pix_fmt,avg_frame_rate,r_frame_rate,duration,has_b_frames,sample_aspect_ratio:stream_side_data=rotation:format=duration",
            "-of",
            "json",
        ]
        .iter()
        .map(OsString::from),
    );
    // ffprobe takes the input as a positional argument, not `-i`.
    if let Some(pos) = args.iter().position(|a| a == "-i") {
        args.remove(pos);
    }
    let cmd = sandbox::command(tools, limits, &tools.ffprobe, &args);
    let (out, fin) = sandbox::run_collect(cmd, tools, limits.probe_timeout, 1 << 20)?;
    if fin.stopped == Some(sandbox::Stopped::TimedOut) {
        return Err(VpdqError::Timeout {
            seconds: limits.probe_timeout.as_secs(),
            frames: 0,
        });
    }
    if !fin.status.success() {
        return Err(VpdqError::ProbeFailed {
            stderr: short(&fin.stderr),
        });
    }
    parse_probe(&out, input.container)
}

pub(crate) fn short(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s.chars().take(600).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("no message");
    }
    out
}

#[derive(serde::Deserialize)]
struct ProbeJson {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    format: Option<ProbeFormat>,
}

#[derive(serde::Deserialize)]
struct ProbeStream {
    index: Option<u32>,
    codec_name: Option<String>,
    codec_type: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    pix_fmt: Option<String>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    duration: Option<String>,
    has_b_frames: Option<u32>,
    sample_aspect_ratio: Option<String>,
    #[serde(default)]
    side_data_list: Vec<ProbeSideData>,
}

#[derive(serde::Deserialize)]
struct ProbeSideData {
    rotation: Option<f64>,
}

#[derive(serde::Deserialize)]
struct ProbeFormat {
    duration: Option<String>,
}

fn parse_rate(s: Option<&str>) -> Option<(i64, i64)> {
    let (n, d) = s?.split_once('/')?;
    let (n, d) = (n.trim().parse::<i64>().ok()?, d.trim().parse::<i64>().ok()?);
    (n != 0 && d != 0).then_some((n, d))
}

fn parse_probe(out: &[u8], container: Container) -> Result<StreamInfo, VpdqError> {
    let j: ProbeJson = serde_json::from_slice(out).map_err(|e| VpdqError::ProbeFailed {
        stderr: format!("unreadable ffprobe output: {e}").to_lowercase(),
    })?;
    let s = j
        .streams
        .into_iter()
        .find(|s| s.codec_type.as_deref() == Some("video"))
        .ok_or(VpdqError::NoVideoStream)?;
    let (width, height) = (s.width.unwrap_or(0), s.height.unwrap_or(0));
    if width == 0 || height == 0 {
        return Err(VpdqError::BadStream("width or height is 0".into()));
    }
    let (text, (num, den)) = [s.avg_frame_rate.as_deref(), s.r_frame_rate.as_deref()]
        .into_iter()
        .find_map(|r| parse_rate(r).map(|p| (r.unwrap_or_default().to_string(), p)))
        .ok_or_else(|| VpdqError::BadStream("frame rate is 0".into()))?;
    let frame_rate = num as f64 / den as f64;
    if !frame_rate.is_finite() || frame_rate <= 0.0 {
        return Err(VpdqError::BadStream(format!(
            "frame rate {text} is not positive"
        )));
    }
    let dur = |d: Option<String>| {
        d.and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
    };
    let duration_secs = dur(j.format.and_then(|f| f.duration)).or_else(|| dur(s.duration));
    Ok(StreamInfo {
        container,
        stream_index: s.index.unwrap_or(0),
        codec: s.codec_name.unwrap_or_default(),
        pix_fmt: s.pix_fmt.unwrap_or_default(),
        width,
        height,
        frame_rate,
        frame_rate_text: text,
        duration_secs,
        reorder_delay: s.has_b_frames.unwrap_or(0),
        rotation: s
            .side_data_list
            .iter()
            .find_map(|d| d.rotation)
            .filter(|r| r.is_finite())
            .map_or(0, |r| (r.round() as i64 % 360) as i32),
        sample_aspect: s
            .sample_aspect_ratio
            .as_deref()
            .and_then(|r| r.split_once(':'))
            .and_then(|(n, d)| Some((n.parse::<u32>().ok()?, d.parse::<u32>().ok()?)))
            .filter(|&(n, d)| n > 0 && d > 0 && n != d),
    })
}

pub(crate) fn check_size(info: &StreamInfo, limits: &Limits) -> Result<(), VpdqError> {
    let pixels = u64::from(info.width) * u64::from(info.height);
    if info.width > limits.max_width
        || info.height > limits.max_height
        || pixels > limits.max_pixels
    {
        return Err(VpdqError::FrameTooLarge {
            width: info.width,
            height: info.height,
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// The `-vf` chain: keep every `step`-th frame, convert like the reference.
fn filter_chain(g: &Geometry, pix_fmt: &str, conversion: RgbConversion) -> String {
    let (step, width, height) = (g.step, g.width, g.height);
    let mut vf = String::new();
    match g.marker {
        Some(r) => vf.push_str(&format!(
            "select=not(mod(n\\,{step}))+eq(mod(n\\,{step})\\,{r}),"
        )),
        None if step > 1 => vf.push_str(&format!("select=not(mod(n\\,{step})),")),
        None => {}
    }
    let flags = match conversion {
        RgbConversion::Reference => "area",
        RgbConversion::SampleHashes => "lanczos",
    };
    vf.push_str(&format!(
        "scale={width}:{height}:flags={flags}:in_color_matrix=bt601"
    ));
    // swscale's default range is implied by the pixel format (full for the
    // deprecated yuvj formats); the scale filter would follow the frame's
    // range tag instead, so pin it for YUV input.
    if pix_fmt.starts_with("yuvj") {
        vf.push_str(":in_range=pc");
    } else if ["yuv", "nv", "p01", "p21", "y2", "uyv", "yvyu"]
        .iter()
        .any(|p| pix_fmt.starts_with(p))
    {
        vf.push_str(":in_range=tv");
    }
    vf.push_str(",format=rgb24");
    vf
}

/// Hash a video with the given tools.
pub fn hash_video_file_with(
    path: &Path,
    opts: &VpdqOptions,
    tools: &Tools,
) -> Result<VpdqVideo, VpdqError> {
    validate(opts)?;
    let limits = &opts.limits;
    let input = check_input(path)?;
    let info = probe_input(&input, limits, tools)?;
    check_size(&info, limits)?;
    if let Some(d) = info.duration_secs
        && d > limits.max_duration_secs
    {
        return Err(VpdqError::TooLong {
            seconds: d,
            limit: limits.max_duration_secs,
        });
    }
    let step = frame_step(opts.seconds_per_hash, info.frame_rate);
    let (w, h) = opts.downsample.unwrap_or((info.width, info.height));
    let quirk_delay = (opts.reference_eof_quirk && info.stream_index != 0)
        .then_some(info.reorder_delay)
        .filter(|d| *d > 0);
    let geometry = Geometry {
        width: w,
        height: h,
        step,
        marker: quirk_delay.map(|d| d % step).filter(|r| *r != 0),
        fps: info.frame_rate,
    };

    let mut args = sandbox::ffmpeg_head(opts.decode_threads as usize);
    args.extend(["-noautorotate", "-reinit_filter", "0"].map(OsString::from));
    if opts.conversion == RgbConversion::SampleHashes {
        // Portable C code paths in every library (swscale's included).
        args.extend(["-cpuflags", "0"].map(OsString::from));
    }
    args.extend(sandbox::input_args(info.container, &input.path));
    // ffmpeg stops by itself one hashed frame past the cap (marker frames,
    // when there are any, come one per hashed frame).
    let max_frames =
        (u64::from(limits.max_frames) + 1) * if geometry.marker.is_some() { 2 } else { 1 };
    args.extend(sandbox::rgb_pipe_args(
        &["-fps_mode", "passthrough"],
        filter_chain(&geometry, &info.pix_fmt, opts.conversion),
        max_frames,
    ));

    let cmd = sandbox::command(tools, limits, &tools.ffmpeg, &args);
    let mut running = sandbox::Running::spawn(cmd, tools, limits.timeout)?;
    let stdout = running.stdout().ok_or_else(|| VpdqError::Spawn {
        reason: "no output pipe".into(),
    })?;
    let threads = if opts.hash_threads == 0 {
        thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.hash_threads
    };
    let Streamed {
        mut frames,
        end,
        last_probe,
    } = hash_stream(stdout, geometry, threads, limits, &mut || running.stop());
    let fin = running.finish()?;
    if fin.stopped == Some(sandbox::Stopped::TimedOut) {
        return Err(VpdqError::Timeout {
            seconds: limits.timeout.as_secs(),
            frames: frames.len(),
        });
    }
    match end {
        StreamEnd::Capped(e) => return Err(e),
        StreamEnd::Io(e) => return Err(VpdqError::Io(e)),
        StreamEnd::Eof | StreamEnd::Partial(_) => {}
    }
    if !fin.status.success() {
        return Err(VpdqError::DecodeFailed {
            status: fin.status.to_string().to_lowercase(),
            stderr: short(&fin.stderr),
        });
    }
    if let StreamEnd::Partial(bytes) = end {
        return Err(VpdqError::TruncatedOutput {
            bytes,
            frame_bytes: geometry.frame_bytes(),
        });
    }
    let dropped_at_end = match quirk_delay {
        Some(delay) => reference_eof_drop(&mut frames, delay, last_probe),
        None => 0,
    };
    if frames.is_empty() {
        return Err(VpdqError::NoFrames {
            stderr: short(&fin.stderr),
        });
    }
    Ok(VpdqVideo {
        stream: info,
        frame_step: step,
        hashed_width: w,
        hashed_height: h,
        frames,
        dropped_at_end,
        decoder_messages: fin.stderr,
        sandbox: SandboxReport {
            prlimit: tools.prlimit.is_some(),
        },
    })
}

#[derive(Debug, Clone, Copy)]
struct Geometry {
    width: u32,
    height: u32,
    /// Every `step`-th decoded frame is hashed.
    step: u32,
    /// Frames at `n % step == marker` (non-zero) also arrive, unhashed,
    /// interleaved after each hashed frame: they only show how far the
    /// stream goes (see [`reference_eof_drop`]).
    marker: Option<u32>,
    fps: f64,
}

impl Geometry {
    fn frame_bytes(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }

    /// Frame number of the `j`-th frame read, and whether it is a marker.
    fn frame_of(&self, j: u64) -> (u64, bool) {
        let step = u64::from(self.step);
        match self.marker {
            Some(r) => ((j / 2) * step + (j % 2) * u64::from(r), j % 2 == 1),
            None => (j * step, false),
        }
    }
}

#[derive(Debug)]
enum StreamEnd {
    Eof,
    Partial(usize),
    Capped(VpdqError),
    Io(String),
}

/// What [`hash_stream`] returns.
#[derive(Debug)]
struct Streamed {
    frames: Vec<VpdqFrame>,
    end: StreamEnd,
    /// Highest frame number read at a position `≡ marker (mod step)` (or of
    /// a hashed frame without markers).
    last_probe: Option<u64>,
}

pub(crate) enum Fill {
    Full,
    Eof,
    Partial(usize),
}

pub(crate) fn fill<R: Read>(src: &mut R, buf: &mut [u8]) -> std::io::Result<Fill> {
    let mut got = 0;
    while got < buf.len() {
        match src.read(&mut buf[got..]) {
            Ok(0) => {
                return Ok(if got == 0 {
                    Fill::Eof
                } else {
                    Fill::Partial(got)
                });
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Fill::Full)
}

/// Read raw RGB24 frames and hash them on `threads` threads, in order of
/// frame number. `stop` is called when a cap is hit.
fn hash_stream<R: Read>(
    mut src: R,
    g: Geometry,
    threads: usize,
    limits: &Limits,
    stop: &mut dyn FnMut(),
) -> Streamed {
    let frame_bytes = g.frame_bytes();
    let record = |frame: u32, pdq: Pdq| VpdqFrame {
        frame,
        quality: pdq.quality,
        hash: pdq.hash,
        timestamp: frame_timestamp(frame, g.fps),
    };
    // The check made before a frame is hashed: returns its frame number.
    let admit = |frame: u64, hashed: usize| -> Result<u32, VpdqError> {
        if hashed >= limits.max_frames as usize {
            return Err(VpdqError::TooManyFrames {
                limit: limits.max_frames,
            });
        }
        let seconds = frame as f64 / g.fps;
        if seconds > limits.max_duration_secs {
            return Err(VpdqError::TooLong {
                seconds,
                limit: limits.max_duration_secs,
            });
        }
        u32::try_from(frame).map_err(|_| VpdqError::TooManyFrames { limit: u32::MAX })
    };

    let mut out: Vec<VpdqFrame> = Vec::new();
    let mut last_probe: Option<u64> = None;
    let mut hashed = 0usize;
    let mut j: u64 = 0;

    // One thread: hash as frames arrive.
    if threads <= 1 {
        let mut hasher = PdqHasher::new();
        let mut buf = vec![0u8; frame_bytes];
        let end = loop {
            match fill(&mut src, &mut buf) {
                Ok(Fill::Full) => {}
                Ok(Fill::Eof) => break StreamEnd::Eof,
                Ok(Fill::Partial(n)) => break StreamEnd::Partial(n),
                Err(e) => break StreamEnd::Io(e.to_string().to_lowercase()),
            }
            let (frame, is_marker) = g.frame_of(j);
            j += 1;
            if is_marker || g.marker.is_none() {
                last_probe = Some(frame);
            }
            if is_marker {
                continue;
            }
            match admit(frame, hashed) {
                Ok(f) => {
                    out.push(record(
                        f,
                        hash_rgb_frame(&mut hasher, &buf, g.width, g.height),
                    ));
                    hashed += 1;
                }
                Err(e) => {
                    stop();
                    break StreamEnd::Capped(e);
                }
            }
        };
        return Streamed {
            frames: out,
            end,
            last_probe,
        };
    }

    let end = thread::scope(|s| {
        let (job_tx, job_rx) = mpsc::sync_channel::<(u32, Vec<u8>)>(threads);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (res_tx, res_rx) = mpsc::channel::<(u32, Pdq, Vec<u8>)>();
        for _ in 0..threads {
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            s.spawn(move || {
                let mut hasher = PdqHasher::new();
                loop {
                    let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((frame, buf)) = job else { break };
                    let pdq = hash_rgb_frame(&mut hasher, &buf, g.width, g.height);
                    if res_tx.send((frame, pdq, buf)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(res_tx);
        let mut spare: Vec<Vec<u8>> = Vec::new();
        let end = loop {
            while let Ok((f, pdq, buf)) = res_rx.try_recv() {
                out.push(record(f, pdq));
                spare.push(buf);
            }
            let mut buf = spare.pop().unwrap_or_else(|| vec![0u8; frame_bytes]);
            match fill(&mut src, &mut buf) {
                Ok(Fill::Full) => {}
                Ok(Fill::Eof) => break StreamEnd::Eof,
                Ok(Fill::Partial(n)) => break StreamEnd::Partial(n),
                Err(e) => break StreamEnd::Io(e.to_string().to_lowercase()),
            }
            let (frame, is_marker) = g.frame_of(j);
            j += 1;
            if is_marker || g.marker.is_none() {
                last_probe = Some(frame);
            }
            if is_marker {
                spare.push(buf);
                continue;
            }
            match admit(frame, hashed) {
                Ok(f) => {
                    hashed += 1;
                    if job_tx.send((f, buf)).is_err() {
                        break StreamEnd::Io("hashing threads ended early".into());
                    }
                }
                Err(e) => {
                    stop();
                    break StreamEnd::Capped(e);
                }
            }
        };
        drop(job_tx);
        for (f, pdq, _) in res_rx {
            out.push(record(f, pdq));
        }
        end
    });
    out.sort_by_key(|f| f.frame);
    Streamed {
        frames: out,
        end,
        last_probe,
    }
}

/// The reference's end-of-stream quirk: when the video is not stream 0 its
/// flush packet is dropped, so the decoder's last `delay` frames (its
/// reorder delay, ffprobe's `has_b_frames`) are never returned. Frame `x`
/// survives iff frame `x + delay` exists, which the marker frames (at
/// `n % step == delay % step`) show. Returns how many frames were dropped.
fn reference_eof_drop(frames: &mut Vec<VpdqFrame>, delay: u32, last_probe: Option<u64>) -> usize {
    let before = frames.len();
    match last_probe {
        Some(last) => frames.retain(|f| u64::from(f.frame) + u64::from(delay) <= last),
        None => frames.clear(),
    }
    before - frames.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_matches_reference_truncation() {
        assert_eq!(frame_step(1.0, 30.0), 30);
        assert_eq!(frame_step(1.0, 30000.0 / 1001.0), 29);
        assert_eq!(frame_step(0.0, 30.0), 1);
        assert_eq!(frame_step(1.0, 0.5), 1);
        assert_eq!(frame_step(2.5, 24.0), 60);
    }

    #[test]
    fn timestamps_in_f32() {
        assert_eq!(frame_timestamp(30, 30.0), 1.0);
        assert_eq!(frame_timestamp(1, 30.0), f64::from(1.0f32 / 30.0f32));
    }

    fn geo(step: u32, w: u32, h: u32, marker: Option<u32>) -> Geometry {
        Geometry {
            width: w,
            height: h,
            step,
            marker,
            fps: 30.0,
        }
    }

    #[test]
    fn filter_chain_pins_colour() {
        assert_eq!(
            filter_chain(
                &geo(30, 480, 720, None),
                "yuv420p",
                RgbConversion::Reference
            ),
            "select=not(mod(n\\,30)),scale=480:720:flags=area:in_color_matrix=bt601:in_range=tv,format=rgb24"
        );
        assert_eq!(
            filter_chain(
                &geo(1, 128, 128, None),
                "yuvj420p",
                RgbConversion::SampleHashes
            ),
            "scale=128:128:flags=lanczos:in_color_matrix=bt601:in_range=pc,format=rgb24"
        );
        assert_eq!(
            filter_chain(&geo(1, 64, 64, None), "rgb24", RgbConversion::Reference),
            "scale=64:64:flags=area:in_color_matrix=bt601,format=rgb24"
        );
        assert!(
            filter_chain(&geo(25, 8, 8, Some(2)), "yuv420p", RgbConversion::Reference)
                .starts_with("select=not(mod(n\\,25))+eq(mod(n\\,25)\\,2),scale=")
        );
    }

    #[test]
    fn marker_layout_and_eof_quirk() {
        let g = geo(25, 8, 8, Some(2));
        let seq: Vec<(u64, bool)> = (0..5).map(|j| g.frame_of(j)).collect();
        assert_eq!(
            seq,
            vec![(0, false), (2, true), (25, false), (27, true), (50, false)]
        );
        let f = |frame: u32| VpdqFrame {
            frame,
            quality: 100,
            hash: PdqHash::ZERO,
            timestamp: 0.0,
        };
        // 51 frames decoded (0..=50), delay 2: the last two are lost, 50 too.
        let mut v = vec![f(0), f(25), f(50)];
        assert_eq!(reference_eof_drop(&mut v, 2, Some(27)), 1);
        assert_eq!(v.len(), 2);
        // 53 frames: frame 52 exists, 50 survives.
        let mut v = vec![f(0), f(25), f(50)];
        assert_eq!(reference_eof_drop(&mut v, 2, Some(52)), 0);
        // every frame, 10 decoded, delay 2: 0..=7 survive.
        let mut v: Vec<VpdqFrame> = (0..10).map(f).collect();
        assert_eq!(reference_eof_drop(&mut v, 2, Some(9)), 2);
        assert_eq!(v.last().map(|x| x.frame), Some(7));
    }

    #[test]
    fn probe_json() {
        let j = br#"{"programs":[],"streams":[{"index":1,"codec_name":"h264","codec_type":"video","width":480,"height":720,"pix_fmt":"yuv420p","avg_frame_rate":"0/0","r_frame_rate":"30000/1001"}],"format":{"duration":"6.866667"}}"#;
        let s = parse_probe(j, Container::IsoBmff).unwrap();
        assert_eq!((s.width, s.height, s.stream_index), (480, 720, 1));
        assert_eq!(s.frame_rate_text, "30000/1001");
        assert_eq!(s.duration_secs, Some(6.866667));
        assert_eq!(
            parse_probe(br#"{"streams":[]}"#, Container::IsoBmff).unwrap_err(),
            VpdqError::NoVideoStream
        );
        let zero =
            br#"{"streams":[{"codec_type":"video","width":0,"height":10,"avg_frame_rate":"1/1"}]}"#;
        assert_eq!(
            parse_probe(zero, Container::IsoBmff).unwrap_err().code(),
            "vpdq-bad-stream"
        );
    }

    #[test]
    fn stream_hashing_orders_and_caps() {
        // Three 8x8 frames of different content.
        let g = geo(30, 8, 8, None);
        let mut data = Vec::new();
        for f in 0..3u8 {
            for i in 0..64u8 {
                let v = i.wrapping_mul(37).wrapping_add(f * 80);
                data.extend_from_slice(&[v, v / 2, 255 - v]);
            }
        }
        let limits = Limits::default();
        let one = hash_stream(&data[..], g, 1, &limits, &mut || {});
        assert!(matches!(one.end, StreamEnd::Eof));
        assert_eq!(one.last_probe, Some(60));
        let two = hash_stream(&data[..], g, 2, &limits, &mut || {});
        assert_eq!(one.frames, two.frames);
        assert_eq!(
            one.frames.iter().map(|f| f.frame).collect::<Vec<_>>(),
            vec![0, 30, 60]
        );
        assert_eq!(one.frames[2].timestamp, 2.0);

        // With markers, the second frame read is not hashed.
        for threads in [1, 2] {
            let m = hash_stream(
                &data[..],
                geo(30, 8, 8, Some(2)),
                threads,
                &limits,
                &mut || {},
            );
            assert_eq!(
                m.frames.iter().map(|f| f.frame).collect::<Vec<_>>(),
                vec![0, 30]
            );
            assert_eq!(m.frames[1].hash, one.frames[2].hash);
            assert_eq!(m.last_probe, Some(2));
        }

        let capped = Limits {
            max_frames: 2,
            ..Limits::default()
        };
        let mut stopped = false;
        let c = hash_stream(&data[..], g, 2, &capped, &mut || stopped = true);
        assert!(stopped);
        assert_eq!(c.frames.len(), 2);
        assert!(matches!(
            c.end,
            StreamEnd::Capped(VpdqError::TooManyFrames { limit: 2 })
        ));

        let short = Limits {
            max_duration_secs: 1.5,
            ..Limits::default()
        };
        let c = hash_stream(&data[..], g, 1, &short, &mut || {});
        assert!(matches!(
            c.end,
            StreamEnd::Capped(VpdqError::TooLong { .. })
        ));

        let p = hash_stream(&data[..100], g, 1, &limits, &mut || {});
        assert!(matches!(p.end, StreamEnd::Partial(100)));
    }
}
