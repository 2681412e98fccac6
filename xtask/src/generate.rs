//! The fixture recipe: what is generated, where, and what expected.json says
//! about each file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::canvas::{Canvas, rgb};
use crate::encode;
use crate::exif;
use crate::hostile;
use crate::incidents::{self, Incident};
use crate::reposts::{self, Channel, Transform};
use crate::rng::Rng;
use crate::scene;
use crate::video::{self, Container, Motion, Shot};

/// Top-level entries of the fixture directory that this generator owns.
pub const OWNED_DIRS: &[&str] = &["images", "videos", "hostile"];
pub const OWNED_FILES: &[&str] = &["expected.json", "README.md"];

/// JPEG quality of the "camera" originals.
const ORIGINAL_QUALITY: u8 = 88;
/// Sensor grain (standard deviation, 8-bit levels) of the originals.
const GRAIN: f32 = 2.2;

#[derive(Debug, Clone)]
pub enum Videos {
    /// Render frames and encode them with ffmpeg.
    Encode,
    /// Copy the already-encoded videos from this fixture directory.
    ReuseFrom(PathBuf),
}

#[derive(Debug)]
pub struct Summary {
    pub files: usize,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
struct Gps {
    lat: f64,
    lon: f64,
    alt: f64,
}

#[derive(Debug, Serialize)]
struct ExifExpect {
    make: String,
    model: String,
    datetime_original: String,
    offset_time_original: String,
    subsec_time_original: String,
    gps: Gps,
}

#[derive(Debug, Serialize)]
struct Clip {
    source: String,
    source_start_s: f64,
    start_s: f64,
    duration_s: f64,
}

#[derive(Debug, Default, Serialize)]
struct Entry {
    path: String,
    sha256: String,
    size: u64,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    derived_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transform: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    photo_rect: Option<[u32; 4]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_rect: Option<[u32; 4]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exif: Option<ExifExpect>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contains_clip: Option<Clip>,
    /// One line for the README, not written to expected.json.
    #[serde(skip)]
    note: String,
}

impl Entry {
    fn accepted(kind: &'static str, format: &'static str, w: usize, h: usize) -> Self {
        Self {
            status: "accepted",
            kind: Some(kind),
            format: Some(format),
            width: Some(w as u32),
            height: Some(h as u32),
            ..Self::default()
        }
    }

    fn rejected(code: &'static str) -> Self {
        Self {
            status: "rejected",
            code: Some(code),
            ..Self::default()
        }
    }

    fn note(mut self, n: impl Into<String>) -> Self {
        self.note = n.into();
        self
    }
}

struct Out {
    root: PathBuf,
    entries: Vec<Entry>,
}

impl Out {
    fn put(&mut self, rel: &str, bytes: &[u8], mut e: Entry) -> Result<()> {
        let p = self.root.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
        e.path = rel.to_string();
        e.sha256 = hex::encode(Sha256::digest(bytes));
        e.size = bytes.len() as u64;
        self.entries.push(e);
        Ok(())
    }
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// The videos, with their container, so `--check` can skip them.
struct VideoPlan {
    rel: &'static str,
    incident: Option<&'static str>,
    w: usize,
    h: usize,
    frames: usize,
    container: Container,
    motion: Motion,
    variant: u64,
    what: &'static str,
}

const V_HOTEL: &str = "videos/2022-12-12_kabul-shahr-e-naw-hotel_pan.mp4";
const V_COMPILATION: &str = "videos/compilation_kabul-attacks-2022.mp4";

fn video_plan() -> Vec<VideoPlan> {
    vec![
        VideoPlan {
            rel: V_HOTEL,
            incident: Some("kabul-shahr-e-naw-hotel"),
            w: 640,
            h: 360,
            frames: 100,
            container: Container::Mp4,
            motion: Motion::Pan(240.0),
            variant: 11,
            what: "4 s pan across a street toward a burning hotel",
        },
        VideoPlan {
            rel: "videos/2021-10-08_kunduz-sayed-abad-mosque_smoke.mp4",
            incident: Some("kunduz-sayed-abad-mosque"),
            w: 1280,
            h: 720,
            frames: 125,
            container: Container::Mp4,
            motion: Motion::Hold { g0: 0.25 },
            variant: 12,
            what: "5 s hand-held shot, smoke plume growing over a mosque",
        },
        VideoPlan {
            rel: "videos/2022-03-04_peshawar-koocha-risaldar-mosque_vertical.mp4",
            incident: Some("peshawar-koocha-risaldar-mosque"),
            w: 720,
            h: 1280,
            frames: 100,
            container: Container::Mp4,
            motion: Motion::Tilt(320.0),
            variant: 13,
            what: "4 s portrait phone video tilting up from the street to the smoke",
        },
        VideoPlan {
            rel: "videos/2024-03-22_krasnogorsk-crocus-city-hall_pan.mov",
            incident: Some("krasnogorsk-crocus-city-hall"),
            w: 640,
            h: 360,
            frames: 75,
            container: Container::Mov,
            motion: Motion::Pan(140.0),
            variant: 14,
            what: "3 s QuickTime pan at night, fire on the roof",
        },
        VideoPlan {
            rel: "videos/2022-09-30_kabul-kaaj-educational-center_smoke.webm",
            incident: Some("kabul-kaaj-educational-center"),
            w: 640,
            h: 360,
            frames: 75,
            container: Container::Webm,
            motion: Motion::Hold { g0: 0.5 },
            variant: 15,
            what: "3 s VP9 WebM, smoke rising",
        },
    ]
}

/// The compilation: shot A, then frames 25..100 of the hotel video (1.0 s to
/// 4.0 s), then shot B; 250 frames (10 s) in all.
const COMP_A_FRAMES: usize = 88;
const COMP_CLIP_FROM: usize = 25;
const COMP_CLIP_FRAMES: usize = 75;
const COMP_B_FRAMES: usize = 87;

pub fn ffmpeg_outputs() -> Vec<String> {
    let mut v: Vec<String> = video_plan().iter().map(|p| p.rel.to_string()).collect();
    v.push(V_COMPILATION.to_string());
    v
}

pub fn is_ffmpeg_output(rel: &str) -> bool {
    ffmpeg_outputs().iter().any(|v| v == rel)
}

fn incident(all: &[Incident], slug: &str) -> Result<Incident> {
    all.iter()
        .find(|i| i.slug == slug)
        .cloned()
        .with_context(|| format!("no incident {slug}"))
}

fn channel(inc: &Incident, k: usize) -> Channel {
    let names = [
        ("KABUL NOW 24", "@KABULNOW24", rgb(200, 40, 50)),
        ("AFGHAN WITNESS", "@AFG_WITNESS", rgb(30, 110, 190)),
        ("FRONTIER NEWS", "@FRONTIERNEWS", rgb(30, 140, 90)),
        ("BREAKING ASIA", "@BREAKINGASIA", rgb(220, 140, 20)),
        ("MOSCOW LIVE", "@MSK_LIVE", rgb(130, 60, 170)),
    ];
    let (name, handle, colour) = names[k % names.len()];
    Channel {
        name: name.into(),
        handle: handle.into(),
        caption: vec![
            inc.headline.into(),
            "SENT TO US BY A FOLLOWER.".into(),
            "UNVERIFIED - SHARE WITH CARE".into(),
        ],
        tags: match inc.offset_min {
            180 => "#MOSCOW #KRASNOGORSK #BREAKING",
            300 => "#PESHAWAR #PAKISTAN #BREAKING",
            _ => "#AFGHANISTAN #KABUL #BREAKING",
        }
        .into(),
        colour,
    }
}

pub fn generate(root: &Path, videos: Videos) -> Result<Summary> {
    let mut out = Out {
        root: root.to_path_buf(),
        entries: Vec::new(),
    };
    let all = incidents::all();

    // 1. Originals: one phone JPEG per incident, with EXIF.
    let mut pixels: BTreeMap<&str, (usize, usize, Vec<u8>, String)> = BTreeMap::new();
    for inc in &all {
        println!("original  {}", inc.id());
        let c = scene::render_still(&inc.scene(inc.width, inc.height, 0));
        let mut grain = Rng::from_label(inc.seed(), "grain");
        let px = c.to_rgb8(GRAIN, &mut grain);
        let info = inc.exif();
        let app1 = exif::app1_payload(&info);
        let jpg = encode::jpeg(&px, c.w as u32, c.h as u32, ORIGINAL_QUALITY, Some(&app1))?;
        let rel = format!("images/originals/{}.jpg", inc.file_stem(1));
        let sign = |north: bool| if north { 1.0 } else { -1.0 };
        let mut e = Entry::accepted("image", "jpeg", c.w, c.h)
            .note(format!("{} {} photo, EXIF with GPS", inc.make, inc.model));
        e.incident = Some(inc.id());
        e.exif = Some(ExifExpect {
            make: info.make.clone(),
            model: info.model.clone(),
            datetime_original: info.datetime.clone(),
            offset_time_original: info.offset.clone(),
            subsec_time_original: info.subsec.clone(),
            gps: Gps {
                lat: sign(info.lat_north) * round7(info.lat.to_decimal()),
                lon: sign(info.lon_east) * round7(info.lon.to_decimal()),
                alt: f64::from(info.alt_cm) / 100.0,
            },
        });
        out.put(&rel, &jpg, e)?;
        pixels.insert(inc.slug, (c.w, c.h, px, rel));
    }

    // A second photo of two incidents, as lossless PNG and WebP (no EXIF).
    for (slug, ext, variant) in [
        ("kabul-kaaj-educational-center", "png", 1u64),
        ("kabul-foreign-ministry", "webp", 2),
    ] {
        let inc = incident(&all, slug)?;
        println!("original  {} ({ext})", inc.id());
        let (w, h) = (800, 600);
        let c = scene::render_still(&inc.scene(w, h, variant));
        let mut grain = Rng::from_label(inc.seed(), ext);
        let px = c.to_rgb8(1.0, &mut grain);
        let (bytes, format) = if ext == "png" {
            (encode::png(&px, w as u32, h as u32)?, "png")
        } else {
            (encode::webp_lossless(&px, w as u32, h as u32)?, "webp")
        };
        let mut e =
            Entry::accepted("image", format, w, h).note(format!("lossless {format}, no metadata"));
        e.incident = Some(inc.id());
        out.put(
            &format!("images/originals/{}.{ext}", inc.file_stem(2)),
            &bytes,
            e,
        )?;
    }

    // 2. Re-posts: EXIF stripped, transformed, re-encoded.
    let plan: [(&str, &[Transform]); 6] = [
        (
            "kabul-abbey-gate",
            &[
                Transform::Letterbox,
                Transform::Screenshot,
                Transform::Recompress,
            ],
        ),
        (
            "kunduz-sayed-abad-mosque",
            &[Transform::Shrink, Transform::Mirror],
        ),
        (
            "kandahar-imam-bargah-mosque",
            &[Transform::Crop, Transform::Watermark],
        ),
        (
            "krasnogorsk-crocus-city-hall",
            &[
                Transform::Screenshot,
                Transform::Letterbox,
                Transform::Watermark,
            ],
        ),
        (
            "kabul-russian-embassy",
            &[Transform::Recompress, Transform::Crop],
        ),
        (
            "kabul-military-hospital",
            &[Transform::Mirror, Transform::Shrink],
        ),
    ];
    let mut truncate_source: Option<Vec<u8>> = None;
    for (k, (slug, transforms)) in plan.iter().enumerate() {
        let inc = incident(&all, slug)?;
        let (w, h, px, orig_rel) = pixels.get(slug).context("original missing")?;
        let src = Canvas::from_rgb8(*w, *h, px);
        let ch = channel(&inc, k);
        for t in transforms.iter() {
            println!("repost    {} {}", inc.id(), t.name());
            let rp = reposts::apply(&src, *t, &ch);
            let c = rp.canvas;
            let mut r = Rng::new(0);
            let rgb8 = c.to_rgb8(0.0, &mut r);
            let jpg = encode::jpeg(&rgb8, c.w as u32, c.h as u32, t.quality(), None)?;
            let rel = format!("images/reposts/{}__{}.jpg", inc.file_stem(1), t.name());
            let mut e = Entry::accepted("image", "jpeg", c.w, c.h).note(format!(
                "{}, quality {}, no EXIF",
                t.name(),
                t.quality()
            ));
            e.incident = Some(inc.id());
            e.derived_from = Some(orig_rel.clone());
            e.transform = Some(t.name());
            e.photo_rect = rp.photo_rect;
            e.source_rect = rp.source_rect;
            if *t == Transform::Shrink && truncate_source.is_none() {
                truncate_source = Some(jpg.clone());
            }
            out.put(&rel, &jpg, e)?;
        }
    }
    // Exact byte copies under another name.
    for slug in ["kabul-abbey-gate", "krasnogorsk-crocus-city-hall"] {
        let inc = incident(&all, slug)?;
        let (w, h, _, orig_rel) = pixels.get(slug).context("original missing")?;
        let bytes = std::fs::read(root.join(orig_rel))?;
        let mut e =
            Entry::accepted("image", "jpeg", *w, *h).note("byte-identical copy of the original");
        e.incident = Some(inc.id());
        e.derived_from = Some(orig_rel.clone());
        e.transform = Some("exact-copy");
        e.exif = out
            .entries
            .iter()
            .find(|x| &x.path == orig_rel)
            .and_then(|x| x.exif.as_ref())
            .map(|x| ExifExpect {
                make: x.make.clone(),
                model: x.model.clone(),
                datetime_original: x.datetime_original.clone(),
                offset_time_original: x.offset_time_original.clone(),
                subsec_time_original: x.subsec_time_original.clone(),
                gps: Gps {
                    lat: x.gps.lat,
                    lon: x.gps.lon,
                    alt: x.gps.alt,
                },
            });
        out.put(
            &format!("images/reposts/{}__exact-copy.jpg", inc.file_stem(1)),
            &bytes,
            e,
        )?;
    }

    // 3. Videos.
    let mut hotel_video: Option<Vec<u8>> = None;
    for v in video_plan() {
        let bytes = match &videos {
            Videos::Encode => {
                println!("video     {}", v.rel);
                let inc = incident(&all, v.incident.unwrap_or_default())?;
                let shot = Shot::new(
                    |w, h| inc.scene(w, h, v.variant),
                    v.w,
                    v.h,
                    v.frames,
                    v.motion,
                );
                let path = root.join(v.rel);
                std::fs::create_dir_all(path.parent().context("no parent")?)?;
                let mut frames = (0..v.frames).map(|i| shot.frame(i));
                video::encode(&path, v.w, v.h, v.container, &mut frames)?;
                std::fs::read(&path)?
            }
            Videos::ReuseFrom(dir) => std::fs::read(dir.join(v.rel)).with_context(|| {
                format!(
                    "{} is missing; run `cargo run -p xtask -- fixtures` first",
                    v.rel
                )
            })?,
        };
        let mut e = Entry::accepted("video", v.container.format_name(), v.w, v.h).note(v.what);
        e.duration_s = Some(v.frames as f64 / f64::from(video::FPS));
        e.incident = v
            .incident
            .map(|s| incident(&all, s).map(|i| i.id()))
            .transpose()?;
        if v.rel == V_HOTEL {
            hotel_video = Some(bytes.clone());
        }
        out.put(v.rel, &bytes, e)?;
    }
    {
        let bytes = match &videos {
            Videos::Encode => {
                println!("video     {V_COMPILATION}");
                let hotel_plan = video_plan()
                    .into_iter()
                    .find(|p| p.rel == V_HOTEL)
                    .context("hotel plan")?;
                let hotel = incident(&all, "kabul-shahr-e-naw-hotel")?;
                let a_inc = incident(&all, "kabul-russian-embassy")?;
                let b_inc = incident(&all, "mazar-i-sharif-balkh-governor-office")?;
                let (w, h) = (640, 360);
                let a = Shot::new(
                    |ww, hh| a_inc.scene(ww, hh, 21),
                    w,
                    h,
                    COMP_A_FRAMES,
                    Motion::Pan(120.0),
                );
                let clip = Shot::new(
                    |ww, hh| hotel.scene(ww, hh, hotel_plan.variant),
                    w,
                    h,
                    hotel_plan.frames,
                    hotel_plan.motion,
                );
                let b = Shot::new(
                    |ww, hh| b_inc.scene(ww, hh, 22),
                    w,
                    h,
                    COMP_B_FRAMES,
                    Motion::Hold { g0: 0.4 },
                );
                let mut frames = (0..COMP_A_FRAMES)
                    .map(|i| a.frame(i))
                    .chain(
                        (COMP_CLIP_FROM..COMP_CLIP_FROM + COMP_CLIP_FRAMES).map(|i| clip.frame(i)),
                    )
                    .chain((0..COMP_B_FRAMES).map(|i| b.frame(i)));
                let path = root.join(V_COMPILATION);
                video::encode(&path, w, h, Container::Mp4, &mut frames)?;
                std::fs::read(&path)?
            }
            Videos::ReuseFrom(dir) => {
                std::fs::read(dir.join(V_COMPILATION)).with_context(|| {
                    format!(
                        "{V_COMPILATION} is missing; run `cargo run -p xtask -- fixtures` first"
                    )
                })?
            }
        };
        let total = COMP_A_FRAMES + COMP_CLIP_FRAMES + COMP_B_FRAMES;
        let fps = f64::from(video::FPS);
        let mut e = Entry::accepted("video", "mp4", 640, 360)
            .note("10 s compilation; 3 s of the hotel pan video sits in the middle");
        e.duration_s = Some(total as f64 / fps);
        e.contains_clip = Some(Clip {
            source: V_HOTEL.into(),
            source_start_s: COMP_CLIP_FROM as f64 / fps,
            start_s: COMP_A_FRAMES as f64 / fps,
            duration_s: COMP_CLIP_FRAMES as f64 / fps,
        });
        out.put(V_COMPILATION, &bytes, e)?;
    }

    // 4. Hostile inputs.
    let trunc_src = truncate_source.context("no shrink repost to truncate")?;
    out.put(
        "hostile/truncated.jpg",
        &trunc_src[..trunc_src.len() * 6 / 10],
        Entry::rejected("truncated").note("a re-post JPEG cut at 60% of its length (no EOI)"),
    )?;
    out.put(
        "hostile/empty.jpg",
        &[],
        Entry::rejected("empty").note("zero bytes"),
    )?;
    {
        let inc = incident(&all, "kandahar-imam-bargah-mosque")?;
        let (w, h) = (480, 360);
        let c = scene::render_still(&inc.scene(w, h, 3));
        let mut grain = Rng::from_label(inc.seed(), "png-named-as");
        let px = c.to_rgb8(0.0, &mut grain);
        let png = encode::png(&px, w as u32, h as u32)?;
        out.put(
            "hostile/png-named-as.jpg",
            &png,
            Entry::accepted("image", "png", w, h)
                .note("a real PNG photo with a .jpg name: valid, recognised by content"),
        )?;
    }
    let notes = "Caption from the channel post: <script>alert(1)</script>\n\
                 \u{0627}\u{0646}\u{0641}\u{062c}\u{0627}\u{0631} \u{062f}\u{0631} \u{06a9}\u{0627}\u{0628}\u{0644} \u{2014} forwarded 3x\n\
                 <img src=x onerror=alert(document.cookie)>\n\
                 This is a UTF-8 text file with a .jpg name. It is not an image.\n";
    out.put(
        "hostile/notes.jpg",
        notes.as_bytes(),
        Entry::rejected("not-media").note("UTF-8 text with an HTML/script payload, named .jpg"),
    )?;
    out.put(
        "hostile/bomb.png",
        &hostile::png_claiming(100_000, 100_000),
        Entry::rejected("dimensions").note("valid PNG chunks, IHDR claims 100000x100000"),
    )?;
    out.put(
        "hostile/zero-dims.png",
        &hostile::png_claiming(0, 480),
        Entry::rejected("dimensions").note("valid PNG chunks, IHDR width 0"),
    )?;
    let mut r = Rng::from_label(0x5167_471E, "random.bin");
    let random: Vec<u8> = (0..4096).map(|_| (r.next_u64() >> 56) as u8).collect();
    out.put(
        "hostile/random.bin",
        &random,
        Entry::rejected("not-media").note("4096 pseudo-random bytes"),
    )?;
    let hv = hotel_video.context("hotel video missing")?;
    out.put(
        "hostile/truncated.mp4",
        &hv[..hv.len() / 2],
        Entry::rejected("truncated").note(format!(
            "{V_HOTEL} cut at 50%: moov intact (faststart), mdat cut short"
        )),
    )?;
    out.put(
        "hostile/no-moov.mp4",
        &hostile::strip_moov(&hv)?,
        Entry::rejected("malformed").note(format!(
            "{V_HOTEL} with the moov box removed: ftyp + mdat only"
        )),
    )?;

    // 5. expected.json and README.md.
    out.entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut json = serde_json::to_string_pretty(&out.entries)?;
    json.push('\n');
    std::fs::write(root.join("expected.json"), &json)?;
    let readme = readme(&out.entries);
    std::fs::write(root.join("README.md"), &readme)?;

    let bytes =
        out.entries.iter().map(|e| e.size).sum::<u64>() + json.len() as u64 + readme.len() as u64;
    Ok(Summary {
        files: out.entries.len() + 2,
        bytes,
    })
}

fn readme(entries: &[Entry]) -> String {
    let mut s = String::new();
    s.push_str(README_HEAD);
    let total: u64 = entries.iter().map(|e| e.size).sum();
    s.push_str(&format!(
        "\n## Files\n\n{} media files, {} bytes in all (not counting this README and expected.json).\n\n\
         | path | bytes | status | what |\n| --- | ---: | --- | --- |\n",
        entries.len(),
        total
    ));
    for e in entries {
        let status = match e.code {
            Some(c) => format!("rejected: `{c}`"),
            None => format!(
                "{} {}",
                e.format.unwrap_or(""),
                match (e.width, e.height) {
                    (Some(w), Some(h)) => format!("{w}x{h}"),
                    _ => String::new(),
                }
            ),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            e.path,
            e.size,
            status.trim(),
            e.note
        ));
    }
    s
}

const README_HEAD: &str = r#"# Sightline test fixtures

Synthetic media for testing Sightline's ingest, validation, metadata and
near-duplicate code. **Everything here is generated** by `xtask` (see below):
the photos and videos are computer-drawn scenes, not real footage, and
contain no real people. They are loosely themed on attacks reported in the
news articles in `shared/seeds` (place, date, local time and approximate
coordinates), so that the incident metadata is realistic.

Do not edit these files by hand: change `xtask/src/` and regenerate.

## How it was made

```sh
cargo run -p xtask -- fixtures           # regenerate everything into fixtures/
cargo run -p xtask -- fixtures --check   # fail if any Rust-made file is out of date
```

Everything except the videos is produced by Rust code in `xtask/` with a
seeded SplitMix64 generator and only exact floating-point operations, so it is
byte-identical on every run and machine (for a given `Cargo.lock`, which pins
the `image` crate's JPEG/PNG/WebP encoders). The videos are rendered frame by
frame in Rust and encoded by `ffmpeg` (libx264 `-threads 1`, libvpx-vp9,
bit-exact flags), so they can differ between ffmpeg versions; `--check`
therefore does not compare them, but it does check everything derived from
them (the hostile MP4s and expected.json) against the committed videos.
`--check` needs no ffmpeg; regenerating does.

- `images/originals/`: one "phone photo" JPEG (quality 88) per incident, each
  with an EXIF APP1 segment written by our own TIFF writer right after SOI:
  IFD0 Make, Model, Orientation=1, DateTime, resolution; Exif IFD
  ExifVersion 0232, DateTimeOriginal, DateTimeDigitized, OffsetTime*,
  SubSecTime*, pixel dimensions; GPS IFD version 2.3.0.0, latitude,
  longitude, altitude, UTC time and date stamp. Plus one lossless PNG and
  one lossless WebP (no metadata).
- `images/reposts/`: near-duplicates of six originals as platforms and
  re-posters make them, EXIF stripped: recompressed (quality 45), shrunk to
  50%, central 75% crop, corner watermark, 1080x1920 story letterbox,
  phone-app screenshot (1080x2340), mirrored; and two byte-identical copies.
  They are made from the original's exact pixels (not by decoding the JPEG).
- `videos/`: short H.264 MP4s (640x360, 1280x720, portrait 720x1280), a
  QuickTime `.mov`, a VP9 `.webm`, and a 10 s compilation that contains 3 s
  of another fixture video.
- `hostile/`: inputs a pipeline must refuse safely (and one it must accept).
- `incidents/` (not made by xtask; expectations beside each):
  - `registry.csv`: the incident registry of the seed reports' attacks plus
    decoys, ACLED columns, coordinates noted with their precision;
  - `eval/` and `holdout/`: labelled evaluation sets. Each has `make.py`
    (its posts; the deterministic procedural pictures, the near-duplicates
    for re-posts and the EXIF writer they share are in `makelib.py`),
    `manifest.jsonl` (the posts), `labels.jsonl` (the incident each post
    shows, or none, and whether it is recycled) and `decisions.jsonl`
    (analyst confirmations applied first). `holdout/` was written
    separately, without reading the scorer; `docs/benchmarks.md` says what
    changed after its first run;
  - `bad/`: a registry with every kind of bad row and `expected.json`;
  - `proposal/`: posts about an unregistered blast, and what proposing from
    them must give;
  - `geonames-sample.txt`: rows in GeoNames' format for the gazetteer
    import, with its expectation.

All files are synthetic and made by the Sightline project; they may be used
under the project's licence (Apache-2.0).

## expected.json

A JSON array with one object per media file, sorted by `path`:

| field | meaning |
| --- | --- |
| `path` | relative to `fixtures/`, forward slashes |
| `sha256`, `size` | of the file's bytes |
| `status` | `accepted` (valid media) or `rejected` |
| `code` | rejected only: `empty` (zero bytes), `not-media` (not a recognised image or video), `truncated` (recognised but cut short), `malformed` (recognised but structurally broken, e.g. MP4 without `moov`), `dimensions` (declared dimensions are zero or absurdly large) |
| `kind` | `image` or `video` |
| `format` | detected by content, not by extension: `jpeg`, `png`, `gif`, `webp`, `tiff`, `bmp`, `heif`, `avif`, `mp4`, `quicktime`, `3gp`, `matroska`, `webm`, `avi` |
| `width`, `height` | pixels, as stored (no EXIF rotation: all Orientation=1) |
| `duration_s` | videos: frame count / 25 fps, as encoded; containers may report a few ms more or less |
| `incident` | the incident the scene is themed on, `<place-slug>-<YYYY-MM-DD>` |
| `derived_from`, `transform` | re-posts: the original they were made from and how (`recompress`, `shrink`, `crop`, `watermark`, `letterbox`, `screenshot`, `mirror`, `exact-copy`) |
| `photo_rect` | `letterbox` and `screenshot` re-posts: `[x, y, w, h]`, the pixels of the re-post that show the photo (scaled to the frame's width), exactly as the generator placed it, clipped to what is visible |
| `source_rect` | `crop` re-posts: `[x, y, w, h]`, the rectangle of the original that the re-post shows |
| `exif` | what a reader should get back from the file's EXIF: `make`, `model`, `datetime_original` (local), `offset_time_original`, `subsec_time_original`, and `gps` {`lat`, `lon` (signed decimal degrees: exactly what the stored degree/minute/second rationals encode, rounded to 7 decimals), `alt` (metres above sea level)} |
| `contains_clip` | the compilation only: `source` video, `source_start_s`, and `start_s`/`duration_s` of the copied section inside the compilation (the frames are rendered identically, then re-encoded) |
"#;
