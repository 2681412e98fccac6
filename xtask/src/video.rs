//! Short synthetic videos: frames are rendered here and piped as raw RGB24
//! to ffmpeg, which does the encoding.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::canvas::Canvas;
use crate::noise;
use crate::scene::{self, Plume, Scene};

pub const FPS: u32 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Mov,
    Webm,
}

impl Container {
    pub fn format_name(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Mov => "quicktime",
            Container::Webm => "webm",
        }
    }
}

/// How the camera moves across the pre-rendered world.
#[derive(Debug, Clone, Copy)]
pub enum Motion {
    /// Horizontal pan by this many pixels over the shot.
    Pan(f32),
    /// Vertical tilt upward by this many pixels over the shot.
    Tilt(f32),
    /// Fixed camera with slight hand shake; the smoke grows from `g0` to 1.
    Hold { g0: f32 },
}

/// One continuous camera take.
#[derive(Debug)]
pub struct Shot {
    world: Canvas,
    plume: Plume,
    pub w: usize,
    pub h: usize,
    pub frames: usize,
    motion: Motion,
    seed: u32,
}

const MARGIN: usize = 8;

impl Shot {
    pub fn new(
        scene_for: impl Fn(usize, usize) -> Scene,
        w: usize,
        h: usize,
        frames: usize,
        motion: Motion,
    ) -> Self {
        let (ww, wh) = match motion {
            Motion::Pan(d) => (w + d.ceil() as usize + 2 * MARGIN, h + 2 * MARGIN),
            Motion::Tilt(d) => (w + 2 * MARGIN, h + d.ceil() as usize + 2 * MARGIN),
            Motion::Hold { .. } => (w + 2 * MARGIN, h + 2 * MARGIN),
        };
        let s = scene_for(ww, wh);
        let seed = s.seed as u32;
        let (world, plume) = scene::render_world(&s);
        Self {
            world,
            plume,
            w,
            h,
            frames,
            motion,
            seed,
        }
    }

    /// Frame `i` as packed RGB24.
    pub fn frame(&self, i: usize) -> Vec<u8> {
        let t = i as f32 / FPS as f32;
        let p = if self.frames > 1 {
            i as f32 / (self.frames - 1) as f32
        } else {
            0.0
        };
        // Hand shake: smooth, about a pixel or two.
        let jx = (noise::value(t * 3.0, 0.5, self.seed) - 0.5) * 4.0;
        let jy = (noise::value(t * 3.0, 7.5, self.seed) - 0.5) * 4.0;
        let m = MARGIN as f32;
        let (ox, oy, growth) = match self.motion {
            Motion::Pan(d) => (m + d * p + jx, m + jy, 1.0),
            Motion::Tilt(d) => (m + jx, m + d * (1.0 - p) + jy, 1.0),
            Motion::Hold { g0 } => (m + jx, m + jy, g0 + (1.0 - g0) * p),
        };
        let ox = ox.round().max(0.0) as usize;
        let oy = oy.round().max(0.0) as usize;
        let ox = ox.min(self.world.w - self.w);
        let oy = oy.min(self.world.h - self.h);
        let mut c = self.world.crop(ox, oy, self.w, self.h);
        scene::draw_plume(&mut c, &self.plume, ox as f32, oy as f32, growth, t);
        if self.plume.fire {
            let flicker = 0.85 + 0.3 * noise::value(t * 6.0, 3.5, self.seed ^ 77);
            scene::fire_light(&mut c, &self.plume, ox as f32, oy as f32, flicker);
        }
        let c = scene::camera_finish(&c, false);
        let mut rng = crate::rng::Rng::new(0);
        c.to_rgb8(0.0, &mut rng)
    }
}

/// Encode frames with ffmpeg into `out`.
pub fn encode(
    out: &Path,
    w: usize,
    h: usize,
    container: Container,
    frames: &mut dyn Iterator<Item = Vec<u8>>,
) -> Result<()> {
    let size = format!("{w}x{h}");
    let mut args: Vec<String> = [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        &size,
        "-r",
        "25",
        "-i",
        "-",
        "-an",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let codec: &[&str] = match container {
        Container::Mp4 | Container::Mov => &[
            "-c:v",
            "libx264",
            "-preset",
            "medium",
            "-crf",
            "27",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "50",
            "-threads",
            "1",
            "-movflags",
            "+faststart",
        ],
        Container::Webm => &[
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "0",
            "-crf",
            "40",
            "-deadline",
            "good",
            "-cpu-used",
            "4",
            "-row-mt",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "50",
            "-threads",
            "1",
        ],
    };
    args.extend(codec.iter().map(|s| s.to_string()));
    let fmt = match container {
        Container::Mp4 => "mp4",
        Container::Mov => "mov",
        Container::Webm => "webm",
    };
    args.extend(
        [
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-flags:v",
            "+bitexact",
            "-f",
            fmt,
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args.push(out.to_string_lossy().into_owned());
    let mut child = Command::new("ffmpeg")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting ffmpeg (is it installed?)")?;
    {
        let mut stdin = child.stdin.take().context("ffmpeg stdin")?;
        for f in frames {
            if f.len() != w * h * 3 {
                bail!("frame has wrong size");
            }
            stdin.write_all(&f).context("writing frames to ffmpeg")?;
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("ffmpeg failed for {}: {status}", out.display());
    }
    Ok(())
}

pub fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
