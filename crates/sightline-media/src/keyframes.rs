//! Keyframes for analysts: one still per shot of a video (plus the first
//! and the last frame), small thumbnails of them, and a contact sheet.
//!
//! These are what an analyst reverse-searches and what the web app shows.
//! They are *derived* from the original and never replace it.
//!
//! # How frames are chosen
//!
//! ffmpeg (sandboxed as for vPDQ, see [`crate::video_hash::sandbox`])
//! decodes the first video stream, applies the display rotation, samples it
//! at [`KeyframeOptions::sample_fps`] (4 per second by default: the `fps`
//! filter, so sample `k` is at `k / sample_fps` seconds from the first
//! frame), scales it to fit [`KeyframeOptions::max_side`] at its display
//! aspect, and streams RGB24 through a pipe. [`ShotDetector`] compares each
//! sample with the one before and with the last keyframe, using a colour
//! histogram and a coarse luma grid ([`Signature`]), and keeps a frame when:
//!
//! * it is the first sample ([`KeyReason::First`]);
//! * it differs sharply from the previous sample: a cut
//!   ([`KeyReason::Cut`]);
//! * the picture has drifted far from the last keyframe and settled (a
//!   dissolve, or a pan that has reached new ground: [`KeyReason::Drift`]);
//! * nothing was kept for [`KeyframeOptions::max_gap_secs`] (a long single
//!   shot, such as CCTV: [`KeyReason::Gap`]);
//! * it is the last sample ([`KeyReason::Last`]).
//!
//! Keyframes are at least [`KeyframeOptions::min_gap_secs`] apart and at
//! most [`KeyframeOptions::max_keyframes`] are kept (the last frame is
//! always added); memory is bounded by that cap, as each kept frame is
//! encoded to JPEG at once.

mod font;
mod sheet;

use std::path::Path;

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;

use crate::pdq::{LumaModel, Pdq, PdqHasher};
use crate::video_hash::{self, Fill, Limits, StreamInfo, Tools, VpdqError, sandbox};

pub use sheet::{SheetOptions, contact_sheet};

/// How keyframes are chosen and drawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KeyframeOptions {
    /// Samples per second compared for shot changes.
    pub sample_fps: f64,
    /// Longest side of a keyframe still, in pixels (smaller videos keep
    /// their size).
    pub max_side: u32,
    /// Longest side of a thumbnail.
    pub thumb_side: u32,
    /// JPEG quality of stills and thumbnails.
    pub jpeg_quality: u8,
    /// A sample this different from the previous one is a cut (0..1).
    pub cut_threshold: f32,
    /// A settled sample this different from the last keyframe is new
    /// ground (0..1).
    pub drift_threshold: f32,
    /// Keyframes are at least this far apart.
    pub min_gap_secs: f64,
    /// A keyframe is taken at least this often, cut or not.
    pub max_gap_secs: f64,
    /// At most this many keyframes (the last frame comes on top).
    pub max_keyframes: usize,
    /// Encode stills and thumbnails of the keyframes (off: only choose
    /// them and hash the samples).
    pub stills: bool,
    /// PDQ of every sample ([`Keyframes::sample_hashes`]).
    pub hash_samples: bool,
    /// ffmpeg decoder threads (0 = ffmpeg's choice).
    pub decode_threads: usize,
    pub limits: Limits,
}

impl Default for KeyframeOptions {
    fn default() -> Self {
        KeyframeOptions {
            sample_fps: 4.0,
            max_side: 960,
            thumb_side: 240,
            jpeg_quality: 85,
            cut_threshold: 0.30,
            drift_threshold: 0.45,
            min_gap_secs: 0.5,
            max_gap_secs: 30.0,
            max_keyframes: 48,
            stills: true,
            hash_samples: true,
            decode_threads: 0,
            limits: Limits::default(),
        }
    }
}

/// Why a frame was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyReason {
    First,
    Cut,
    Drift,
    Gap,
    Last,
}

impl KeyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyReason::First => "first",
            KeyReason::Cut => "cut",
            KeyReason::Drift => "drift",
            KeyReason::Gap => "gap",
            KeyReason::Last => "last",
        }
    }
}

/// One kept frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyframe {
    /// Milliseconds from the first frame (sample `k` is at `k / sample_fps`).
    pub time_ms: u64,
    pub reason: KeyReason,
    /// How different it was from the previous sample (cuts) or from the
    /// last keyframe (drift), 0..1.
    pub score: f32,
    /// The still, JPEG (empty without [`KeyframeOptions::stills`]).
    pub jpeg: Vec<u8>,
    /// The thumbnail, JPEG (likewise).
    pub thumb_jpeg: Vec<u8>,
    /// The thumbnail's pixels, for the contact sheet (likewise).
    pub thumb: RgbImage,
}

/// What [`extract_keyframes`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyframes {
    pub stream: StreamInfo,
    /// Size of the stills (display orientation and aspect).
    pub width: u32,
    pub height: u32,
    /// Size of the thumbnails.
    pub thumb_width: u32,
    pub thumb_height: u32,
    /// Samples compared.
    pub samples: u64,
    pub frames: Vec<Keyframe>,
    /// More keyframes were found than [`KeyframeOptions::max_keyframes`].
    pub capped: bool,
    /// Per sample: `(time_ms, difference from the previous sample,
    /// difference from the last keyframe)`, for tuning and tests.
    pub scores: Vec<(u64, f32, f32)>,
    /// PDQ of every sample (when [`KeyframeOptions::hash_samples`]), at
    /// the still size: a dense, phase-tolerant complement to the 1 s vPDQ
    /// for matching videos against each other.
    pub sample_hashes: Vec<SampleHash>,
}

/// PDQ of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleHash {
    /// Sample number (`k`, at `k / sample_fps` seconds).
    pub sample: u32,
    pub time_ms: u64,
    pub pdq: Pdq,
}

/// Extract keyframes with ffmpeg found on `PATH`.
pub fn extract_keyframes(path: &Path, opts: &KeyframeOptions) -> Result<Keyframes, VpdqError> {
    let tools = Tools::discover()?;
    extract_keyframes_with(path, opts, &tools)
}

fn validate(opts: &KeyframeOptions) -> Result<(), VpdqError> {
    let bad = |m: &str| Err(VpdqError::InvalidOptions(m.into()));
    if !(opts.sample_fps.is_finite() && (0.01..=60.0).contains(&opts.sample_fps)) {
        return bad("keyframe sampling rate must be within 0.01..=60 per second");
    }
    if !(16..=4096).contains(&opts.max_side) || !(16..=opts.max_side).contains(&opts.thumb_side) {
        return bad("keyframe size must be within 16..=4096 and thumbnails no larger");
    }
    if !(1..=100).contains(&opts.jpeg_quality) {
        return bad("jpeg quality must be within 1..=100");
    }
    if !(opts.min_gap_secs.is_finite() && opts.max_gap_secs.is_finite())
        || opts.min_gap_secs < 0.0
        || opts.max_gap_secs <= opts.min_gap_secs
    {
        return bad("keyframe gaps must be finite, with min < max");
    }
    if opts.max_keyframes == 0 || opts.max_keyframes > 10_000 {
        return bad("max keyframes must be within 1..=10000");
    }
    if opts.limits.timeout.is_zero() || opts.limits.probe_timeout.is_zero() {
        return bad("timeouts must be positive");
    }
    Ok(())
}

/// The size a `w×h` stream with the given sample aspect and rotation is
/// shown at, fitted within `max_side` (never enlarged, at least 1×1).
pub fn display_size(
    width: u32,
    height: u32,
    sample_aspect: Option<(u32, u32)>,
    rotation: i32,
    max_side: u32,
) -> (u32, u32) {
    let (mut w, mut h) = (f64::from(width), f64::from(height));
    if let Some((n, d)) = sample_aspect {
        w *= f64::from(n) / f64::from(d);
    }
    if rotation.rem_euclid(180) == 90 {
        std::mem::swap(&mut w, &mut h);
    }
    let scale = (f64::from(max_side) / w.max(h)).min(1.0);
    let fit = |v: f64| ((v * scale).round() as u32).max(1);
    (fit(w), fit(h))
}

/// Extract keyframes with the given tools.
pub fn extract_keyframes_with(
    path: &Path,
    opts: &KeyframeOptions,
    tools: &Tools,
) -> Result<Keyframes, VpdqError> {
    validate(opts)?;
    let limits = &opts.limits;
    let input = video_hash::check_input(path)?;
    let info = video_hash::probe_input(&input, limits, tools)?;
    video_hash::check_size(&info, limits)?;
    if let Some(d) = info.duration_secs
        && d > limits.max_duration_secs
    {
        return Err(VpdqError::TooLong {
            seconds: d,
            limit: limits.max_duration_secs,
        });
    }
    let (w, h) = display_size(
        info.width,
        info.height,
        info.sample_aspect,
        info.rotation,
        opts.max_side,
    );
    let (tw, th) = display_size(w, h, None, 0, opts.thumb_side);

    let mut args = sandbox::ffmpeg_head(opts.decode_threads);
    args.extend(sandbox::input_args(info.container, &input.path));
    // ffmpeg applies the display matrix (autorotate) before this chain.
    let max_samples = (limits.max_duration_secs * opts.sample_fps).ceil() as u64 + 2;
    args.extend(sandbox::rgb_pipe_args(
        &[],
        format!(
            "fps={},scale={w}:{h}:flags=bilinear,setsar=1,format=rgb24",
            opts.sample_fps
        ),
        max_samples,
    ));
    let cmd = sandbox::command(tools, limits, &tools.ffmpeg, &args);
    let mut running = sandbox::Running::spawn(cmd, tools, limits.timeout)?;
    let mut stdout = running.stdout().ok_or_else(|| VpdqError::Spawn {
        reason: "no output pipe".into(),
    })?;

    let frame_bytes = w as usize * h as usize * 3;
    // A reader thread fills frames from the pipe while this thread looks at
    // the previous one, so ffmpeg's decoding and our work overlap. Buffers
    // go back to the reader for reuse; at most four frames exist at once.
    let (frame_tx, frame_rx) = std::sync::mpsc::sync_channel::<Read>(1);
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        loop {
            let mut buf = spare_rx.try_recv().unwrap_or_default();
            buf.resize(frame_bytes, 0);
            let msg = match video_hash::fill(&mut stdout, &mut buf) {
                Ok(Fill::Full) => Read::Frame(buf),
                Ok(Fill::Eof) => Read::Eof,
                Ok(Fill::Partial(n)) => Read::Partial(n),
                Err(e) => Read::Failed(e.to_string().to_lowercase()),
            };
            let last = !matches!(msg, Read::Frame(_));
            if frame_tx.send(msg).is_err() || last {
                return; // dropping the pipe stops ffmpeg
            }
        }
    });
    let mut cur: Vec<u8>;
    let mut prev: Vec<u8> = Vec::new();
    let mut detector = ShotDetector::new(opts);
    let mut frames: Vec<Keyframe> = Vec::new();
    let mut scores = Vec::new();
    let mut sample_hashes = Vec::new();
    let mut hasher = PdqHasher::new();
    let mut samples = 0u64;
    let mut capped = false;
    let mut last_kept: Option<u64> = None; // time of the last keyframe
    let mut partial = None;
    let mut io_error = None;
    let mut encode_error = None;
    let time_ms = |k: u64| (k as f64 * 1000.0 / opts.sample_fps).round() as u64;
    loop {
        match frame_rx.recv() {
            Ok(Read::Frame(f)) => cur = f,
            Ok(Read::Eof) | Err(_) => break,
            Ok(Read::Partial(n)) => {
                partial = Some(n);
                break;
            }
            Ok(Read::Failed(e)) => {
                io_error = Some(e);
                running.stop();
                break;
            }
        }
        let k = samples;
        samples += 1;
        let t = time_ms(k);
        let (decisions, cut, drift) = detector.push(&cur, w, h, t);
        scores.push((t, cut, drift));
        if opts.hash_samples {
            sample_hashes.push(SampleHash {
                sample: k as u32,
                time_ms: t,
                pdq: hasher.pdq(&cur, w, h, LumaModel::Cpp),
            });
        }
        for d in decisions {
            if frames.len() >= opts.max_keyframes {
                capped = true;
                continue;
            }
            let pixels = match d.which {
                Which::Previous => &prev,
                Which::Current => &cur,
            };
            match render(pixels, w, h, tw, th, opts.jpeg_quality, opts.stills) {
                Ok(r) => frames.push(keyframe(d, r)),
                Err(e) => encode_error = Some(e),
            }
            last_kept = Some(d.time_ms);
        }
        if encode_error.is_some() {
            running.stop();
            break;
        }
        let done = std::mem::replace(&mut prev, cur);
        if !done.is_empty() {
            let _ = spare_tx.send(done);
        }
    }
    drop(frame_rx);
    let _ = reader.join();
    let fin = running.finish()?;
    if fin.stopped == Some(sandbox::Stopped::TimedOut) {
        return Err(VpdqError::Timeout {
            seconds: limits.timeout.as_secs(),
            frames: frames.len(),
        });
    }
    if let Some(e) = encode_error {
        return Err(VpdqError::BadStream(format!(
            "cannot encode a keyframe: {e}"
        )));
    }
    if let Some(e) = io_error {
        return Err(VpdqError::Io(e));
    }
    if !fin.status.success() {
        return Err(VpdqError::DecodeFailed {
            status: fin.status.to_string().to_lowercase(),
            stderr: video_hash::short(&fin.stderr),
        });
    }
    if let Some(bytes) = partial {
        return Err(VpdqError::TruncatedOutput { bytes, frame_bytes });
    }
    if samples == 0 {
        return Err(VpdqError::NoFrames {
            stderr: video_hash::short(&fin.stderr),
        });
    }
    if samples >= max_samples {
        // ffmpeg stopped at the cap: the stream runs past the duration
        // limit, whatever the container said.
        return Err(VpdqError::TooLong {
            seconds: samples as f64 / opts.sample_fps,
            limit: limits.max_duration_secs,
        });
    }
    // The last sample is now in `prev`: a cut candidate there is kept, and
    // so is the last frame unless it is too close to the last keyframe.
    let last = time_ms(samples - 1);
    let mut tail: Vec<Decision> = detector.finish().into_iter().collect();
    if last_kept != Some(last)
        && tail.is_empty()
        && detector.since_last_keyframe(last) >= opts.min_gap_secs
    {
        tail.push(Decision {
            which: Which::Current,
            time_ms: last,
            reason: KeyReason::Last,
            score: 0.0,
        });
    }
    for d in tail {
        if d.reason != KeyReason::Last && frames.len() >= opts.max_keyframes {
            capped = true;
            continue;
        }
        let r = render(&prev, w, h, tw, th, opts.jpeg_quality, opts.stills)
            .map_err(|e| VpdqError::BadStream(format!("cannot encode a keyframe: {e}")))?;
        frames.push(keyframe(d, r));
    }
    Ok(Keyframes {
        stream: info,
        width: w,
        height: h,
        thumb_width: tw,
        thumb_height: th,
        samples,
        frames,
        capped,
        scores,
        sample_hashes,
    })
}

fn keyframe(d: Decision, (jpeg, thumb_jpeg, thumb): (Vec<u8>, Vec<u8>, RgbImage)) -> Keyframe {
    Keyframe {
        time_ms: d.time_ms,
        reason: d.reason,
        score: d.score,
        jpeg,
        thumb_jpeg,
        thumb,
    }
}

/// What the reader thread hands over.
enum Read {
    Frame(Vec<u8>),
    Eof,
    /// The output ended inside a frame, after this many bytes.
    Partial(usize),
    Failed(String),
}

/// Encode a frame as a still and a thumbnail.
fn render(
    rgb: &[u8],
    w: u32,
    h: u32,
    tw: u32,
    th: u32,
    quality: u8,
    stills: bool,
) -> Result<(Vec<u8>, Vec<u8>, RgbImage), String> {
    if !stills {
        return Ok((Vec::new(), Vec::new(), RgbImage::new(0, 0)));
    }
    let img = RgbImage::from_raw(w, h, rgb.to_vec()).ok_or("frame size mismatch")?;
    let thumb = if (tw, th) == (w, h) {
        img.clone()
    } else {
        image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle)
    };
    Ok((
        encode_jpeg(&img, quality)?,
        encode_jpeg(&thumb, quality)?,
        thumb,
    ))
}

/// Baseline JPEG of an RGB image.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .map_err(|e| e.to_string().to_lowercase())?;
    Ok(out)
}

/// Bins per channel of the colour histogram.
const BINS: usize = 4;
/// Cells per side of the luma grid.
const GRID: usize = 8;

/// What a frame looks like, coarsely: a normalised RGB histogram
/// (4×4×4 bins) and the mean luma of an 8×8 grid of cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    hist: [f32; BINS * BINS * BINS],
    grid: [f32; GRID * GRID],
}

impl Signature {
    /// The signature of an RGB24 frame.
    pub fn of(rgb: &[u8], w: u32, h: u32) -> Signature {
        let (w, h) = (w as usize, h as usize);
        // A buffer that does not hold the frame counts as black.
        let h = if rgb.len() < w * h * 3 { 0 } else { h };
        let mut hist = [0u32; BINS * BINS * BINS];
        let mut sums = [0u64; GRID * GRID];
        let mut counts = [0u32; GRID * GRID];
        // Every other pixel of every other row: a quarter of the work, and
        // still tens of thousands of pixels for a 960-pixel frame.
        let step = if w >= 64 && h >= 64 { 2 } else { 1 };
        let mut n = 0u32;
        for y in (0..h).step_by(step) {
            let gy = y * GRID / h;
            let row = &rgb[y * w * 3..(y + 1) * w * 3];
            for x in (0..w).step_by(step) {
                let px = &row[x * 3..x * 3 + 3];
                let (r, g, b) = (px[0] as usize, px[1] as usize, px[2] as usize);
                hist[(r >> 6) * BINS * BINS + (g >> 6) * BINS + (b >> 6)] += 1;
                let cell = gy * GRID + x * GRID / w;
                // BT.601 luma in integers (×1000).
                sums[cell] += (299 * r + 587 * g + 114 * b) as u64;
                counts[cell] += 1;
                n += 1;
            }
        }
        let n = n.max(1) as f32;
        let mut s = Signature {
            hist: [0.0; BINS * BINS * BINS],
            grid: [0.0; GRID * GRID],
        };
        for (o, c) in s.hist.iter_mut().zip(hist) {
            *o = c as f32 / n;
        }
        for ((o, sum), c) in s.grid.iter_mut().zip(sums).zip(counts) {
            *o = if c == 0 {
                0.0
            } else {
                sum as f32 / (c as f32 * 1000.0 * 255.0)
            };
        }
        s
    }

    /// How different two frames look, 0 (same) ..= 1: the larger of the
    /// histogram distance (half the L1 distance of the histograms) and
    /// twice the mean luma difference of the grid cells.
    pub fn distance(&self, other: &Signature) -> f32 {
        let hist: f32 = self
            .hist
            .iter()
            .zip(&other.hist)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / 2.0;
        let grid: f32 = self
            .grid
            .iter()
            .zip(&other.grid)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / (GRID * GRID) as f32;
        hist.max(2.0 * grid).min(1.0)
    }
}

/// Which sample a [`Decision`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The sample before the one just pushed (a cut is confirmed only
    /// when the picture has settled after it).
    Previous,
    /// The sample just pushed.
    Current,
}

/// A sample to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub which: Which,
    pub time_ms: u64,
    pub reason: KeyReason,
    pub score: f32,
}

/// Decides, sample by sample, which frames start something new.
///
/// A sharp change is a cut candidate; it is kept when the next sample
/// barely differs from it (a hard cut). When the change goes on (a
/// dissolve, a whip pan), the candidate is dropped and the first settled
/// sample that looks unlike the last keyframe is kept instead, so
/// keyframes are not half-blended frames.
#[derive(Debug, Clone)]
pub struct ShotDetector {
    cut: f32,
    settle: f32,
    drift: f32,
    min_gap_ms: u64,
    max_gap_ms: u64,
    prev: Option<Signature>,
    last_key: Option<(u64, Signature)>,
    pending: Option<(u64, Signature, f32)>,
    /// When the picture started to look unlike the last keyframe.
    drifting_since: Option<u64>,
}

impl ShotDetector {
    pub fn new(opts: &KeyframeOptions) -> ShotDetector {
        ShotDetector {
            cut: opts.cut_threshold,
            settle: opts.cut_threshold / 2.0,
            drift: opts.drift_threshold,
            min_gap_ms: (opts.min_gap_secs * 1000.0).round() as u64,
            max_gap_ms: (opts.max_gap_secs * 1000.0).round() as u64,
            prev: None,
            last_key: None,
            pending: None,
            drifting_since: None,
        }
    }

    /// Seconds since the last keyframe, at `t_ms`.
    pub fn since_last_keyframe(&self, t_ms: u64) -> f64 {
        self.last_key.as_ref().map_or(f64::INFINITY, |(t, _)| {
            t_ms.saturating_sub(*t) as f64 / 1000.0
        })
    }

    /// Look at the next sample. Returns what to keep (at most the previous
    /// sample, then this one), and this sample's difference from the
    /// previous sample and from the last keyframe.
    pub fn push(&mut self, rgb: &[u8], w: u32, h: u32, t_ms: u64) -> (Vec<Decision>, f32, f32) {
        let sig = Signature::of(rgb, w, h);
        let cut = self.prev.as_ref().map_or(0.0, |p| p.distance(&sig));
        let mut out = Vec::new();
        if let Some((t, psig, score)) = self.pending.take()
            && cut < self.settle
        {
            out.push(Decision {
                which: Which::Previous,
                time_ms: t,
                reason: KeyReason::Cut,
                score,
            });
            self.last_key = Some((t, psig));
        }
        let drift = self
            .last_key
            .as_ref()
            .map_or(0.0, |(_, k)| k.distance(&sig));
        let keep = |reason, score| {
            Some(Decision {
                which: Which::Current,
                time_ms: t_ms,
                reason,
                score,
            })
        };
        let decision = match &self.last_key {
            None => keep(KeyReason::First, 0.0),
            Some((t, _)) => {
                let since = t_ms.saturating_sub(*t);
                if since < self.min_gap_ms {
                    None
                } else if cut >= self.cut {
                    self.pending = Some((t_ms, sig.clone(), cut));
                    None
                } else if drift >= self.drift && cut < self.settle {
                    // New ground: taken once the picture is still, or
                    // after a second of steady movement.
                    let from = *self.drifting_since.get_or_insert(t_ms);
                    if cut < self.settle / 2.0 || t_ms - from >= 1000 {
                        keep(KeyReason::Drift, drift)
                    } else {
                        None
                    }
                } else if since >= self.max_gap_ms {
                    keep(KeyReason::Gap, drift)
                } else {
                    None
                }
            }
        };
        if decision.is_some() || drift < self.drift || cut >= self.settle {
            self.drifting_since = None;
        }
        if let Some(d) = decision {
            self.last_key = Some((t_ms, sig.clone()));
            out.push(d);
        }
        self.prev = Some(sig);
        (out, cut, drift)
    }

    /// At the end of the video: a cut candidate on the very last sample is
    /// kept (nothing came after it to unsettle it).
    pub fn finish(&mut self) -> Option<Decision> {
        let (t, sig, score) = self.pending.take()?;
        self.last_key = Some((t, sig));
        Some(Decision {
            which: Which::Current,
            time_ms: t,
            reason: KeyReason::Cut,
            score,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
        rgb.iter()
            .copied()
            .cycle()
            .take((w * h * 3) as usize)
            .collect()
    }

    #[test]
    fn display_size_follows_aspect_and_rotation() {
        assert_eq!(display_size(1920, 1080, None, 0, 960), (960, 540));
        assert_eq!(display_size(1920, 1080, None, 90, 960), (540, 960));
        assert_eq!(display_size(1920, 1080, None, -90, 960), (540, 960));
        assert_eq!(display_size(1920, 1080, None, 180, 960), (960, 540));
        // Anamorphic PAL DV: 720x576 at 16:15 shows as 768x576.
        assert_eq!(display_size(720, 576, Some((16, 15)), 0, 960), (768, 576));
        // Never enlarged.
        assert_eq!(display_size(160, 120, None, 0, 960), (160, 120));
        assert_eq!(display_size(16384, 1, None, 0, 960), (960, 1));
    }

    #[test]
    fn signature_distance_separates_pictures() {
        let (w, h) = (64, 36);
        let red = Signature::of(&flat(w, h, [200, 30, 30]), w, h);
        let red2 = Signature::of(&flat(w, h, [205, 32, 28]), w, h);
        let blue = Signature::of(&flat(w, h, [20, 40, 210]), w, h);
        assert_eq!(red.distance(&red), 0.0);
        assert!(red.distance(&red2) < 0.05);
        assert!(red.distance(&blue) > 0.9);
    }

    /// Push `frames` (one per 250 ms) and list what is kept.
    fn run(opts: &KeyframeOptions, frames: &[&[u8]]) -> Vec<(u64, KeyReason)> {
        let mut d = ShotDetector::new(opts);
        let mut kept = Vec::new();
        for (k, f) in frames.iter().enumerate() {
            let (ds, _, _) = d.push(f, 32, 18, k as u64 * 250);
            kept.extend(ds.iter().map(|d| (d.time_ms, d.reason)));
        }
        kept.extend(d.finish().map(|d| (d.time_ms, d.reason)));
        kept
    }

    #[test]
    fn detector_keeps_first_cuts_and_gaps() {
        let opts = KeyframeOptions {
            max_gap_secs: 5.0,
            ..KeyframeOptions::default()
        };
        let a = flat(32, 18, [200, 30, 30]);
        let b = flat(32, 18, [20, 40, 210]);
        let frames: Vec<&[u8]> = (0..40)
            .map(|k| if (8..30).contains(&k) { &b[..] } else { &a[..] })
            .collect();
        assert_eq!(
            run(&opts, &frames),
            vec![
                (0, KeyReason::First),
                (2000, KeyReason::Cut),
                // 5 s without a change: a gap keyframe.
                (7000, KeyReason::Gap),
                (7500, KeyReason::Cut),
            ]
        );
    }

    #[test]
    fn a_dissolve_gives_its_settled_end_not_a_blend() {
        // Two different gradients (flat colours would jump histogram bins
        // all at once, as no real picture does).
        let (w, h) = (32u32, 18u32);
        let ramp = |f: &dyn Fn(u32, u32) -> [u8; 3]| -> Vec<u8> {
            (0..h)
                .flat_map(|y| (0..w).flat_map(move |x| f(x, y)))
                .collect()
        };
        let a = ramp(&|x, _| [(x * 8) as u8, 40, 60]);
        let b = ramp(&|_, y| [30, 200 - (y * 6) as u8, (y * 14) as u8]);
        let blend = |t: f32| -> Vec<u8> {
            a.iter()
                .zip(&b)
                .map(|(x, y)| (*x as f32 * (1.0 - t) + *y as f32 * t).round() as u8)
                .collect()
        };
        let mut frames: Vec<Vec<u8>> = vec![a.clone(); 8];
        frames.extend((1..=8).map(|i| blend(i as f32 / 9.0)));
        frames.extend(vec![b.clone(); 8]);
        let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
        let kept = run(&KeyframeOptions::default(), &refs);
        // The blend runs from 2.0 to 3.75 s; no blended frame is kept, but
        // the first settled one that looks unlike the last keyframe.
        let blended = |t: u64| (2000..4000).contains(&t);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert_eq!(kept[0], (0, KeyReason::First));
        assert!(!blended(kept[1].0) && kept[1].0 <= 4250, "{kept:?}");
    }

    #[test]
    fn a_cut_on_the_last_sample_is_kept() {
        let a = flat(32, 18, [200, 30, 30]);
        let b = flat(32, 18, [20, 40, 210]);
        let kept = run(&KeyframeOptions::default(), &[&a, &a, &a, &b]);
        assert_eq!(kept, vec![(0, KeyReason::First), (750, KeyReason::Cut)]);
    }

    #[test]
    fn detector_respects_min_gap() {
        let a = flat(32, 18, [200, 30, 30]);
        let b = flat(32, 18, [20, 40, 210]);
        // A flicker every sample never settles: nothing is kept after the
        // first sample but the cut candidate on the last one.
        let frames: Vec<&[u8]> = (0..8)
            .map(|k| if k % 2 == 0 { &a[..] } else { &b[..] })
            .collect();
        assert_eq!(
            run(&KeyframeOptions::default(), &frames),
            vec![(0, KeyReason::First), (1750, KeyReason::Cut)]
        );
    }
}
