//! Keyframes on real-photo footage with known shot changes
//! (`fixtures/keyframes/shots.mp4`, made by `fixtures/keyframes/make.py`,
//! its shot list in `shots.json`), on the fixture compilation, and on
//! hostile inputs. Needs ffmpeg and ffprobe on `PATH`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sightline_media::keyframes::{
    KeyReason, KeyframeOptions, Keyframes, SheetOptions, contact_sheet, extract_keyframes,
    extract_keyframes_with,
};
use sightline_media::video_hash::{Tools, VpdqError};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn decode(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .expect("a keyframe is a valid JPEG")
        .to_rgb8()
}

fn times(kf: &Keyframes) -> Vec<(u64, KeyReason)> {
    kf.frames.iter().map(|f| (f.time_ms, f.reason)).collect()
}

#[derive(serde::Deserialize)]
struct ShotList {
    shots: Vec<Shot>,
    end_s: f64,
}

#[derive(serde::Deserialize)]
struct Shot {
    start_s: f64,
    transition: String,
    #[serde(default)]
    duration_s: f64,
}

#[test]
fn one_keyframe_per_shot_and_none_mid_dissolve() {
    let dir = fixtures().join("keyframes");
    let list: ShotList =
        serde_json::from_slice(&std::fs::read(dir.join("shots.json")).unwrap()).unwrap();
    let kf = extract_keyframes(&dir.join("shots.mp4"), &KeyframeOptions::default()).unwrap();
    let got = times(&kf);
    // One sample of slack (0.25 s) around a cut; a dissolve's keyframe
    // comes once it has settled, within a second of its end.
    let mut expected_windows = Vec::new();
    for s in &list.shots {
        let (lo, hi) = match s.transition.as_str() {
            "start" => (0.0, 0.0),
            "cut" => (s.start_s - 0.25, s.start_s + 0.25),
            "dissolve" => (s.start_s + s.duration_s, s.start_s + s.duration_s + 1.0),
            other => panic!("unknown transition {other}"),
        };
        expected_windows.push((lo, hi));
    }
    expected_windows.push((list.end_s - 0.5, list.end_s));
    assert_eq!(got.len(), expected_windows.len(), "{got:?}");
    for ((t, reason), (lo, hi)) in got.iter().zip(&expected_windows) {
        let t = *t as f64 / 1000.0;
        assert!(
            (lo - 1e-9..=hi + 1e-9).contains(&t),
            "keyframe at {t} s ({reason:?}) outside {lo}..{hi}: {got:?}"
        );
    }
    let reasons: Vec<KeyReason> = got.iter().map(|g| g.1).collect();
    assert_eq!(reasons[0], KeyReason::First);
    assert_eq!(reasons[1], KeyReason::Cut);
    assert_eq!(*reasons.last().unwrap(), KeyReason::Last);
    assert!(!kf.capped);
    assert_eq!(kf.samples, 48);
    // Stills at the video's size, thumbnails at 240 px.
    assert_eq!((kf.width, kf.height), (480, 270));
    assert_eq!((kf.thumb_width, kf.thumb_height), (240, 135));
    for f in &kf.frames {
        assert_eq!(decode(&f.jpeg).dimensions(), (480, 270));
        assert_eq!(decode(&f.thumb_jpeg).dimensions(), (240, 135));
    }
    // The cut to the dark star field shows it: a dark still.
    let stars = kf.frames.iter().find(|f| f.time_ms == 10_500).unwrap();
    let img = decode(&stars.jpeg);
    let mean = img.pixels().map(|p| u64::from(p.0[1])).sum::<u64>() / (480 * 270);
    assert!(mean < 40, "mean green {mean}");
}

#[test]
fn compilation_keyframes_at_its_cuts() {
    // The compilation's clip of the hotel video sits at 3.52..6.52 s.
    let kf = extract_keyframes(
        &fixtures().join("videos/compilation_kabul-attacks-2022.mp4"),
        &KeyframeOptions::default(),
    )
    .unwrap();
    assert_eq!(
        times(&kf),
        vec![
            (0, KeyReason::First),
            (3500, KeyReason::Cut),
            (6500, KeyReason::Cut),
            (9750, KeyReason::Last),
        ]
    );
}

#[test]
fn a_single_shot_gets_first_and_last_and_gap_frames() {
    let v = fixtures().join("videos/2022-09-30_kabul-kaaj-educational-center_smoke.webm");
    let kf = extract_keyframes(&v, &KeyframeOptions::default()).unwrap();
    assert_eq!(
        times(&kf),
        vec![(0, KeyReason::First), (2750, KeyReason::Last)]
    );
    let o = KeyframeOptions {
        max_gap_secs: 1.0,
        ..KeyframeOptions::default()
    };
    let kf = extract_keyframes(&v, &o).unwrap();
    assert_eq!(
        times(&kf),
        vec![
            (0, KeyReason::First),
            (1000, KeyReason::Gap),
            (2000, KeyReason::Gap),
            (2750, KeyReason::Last),
        ]
    );
}

#[test]
fn display_rotation_is_applied() {
    // 176x144 stored, shown rotated by 90 degrees.
    let kf = extract_keyframes(
        &fixtures().join("vpdq/ntsc-bt709-rotated.mp4"),
        &KeyframeOptions::default(),
    )
    .unwrap();
    assert_eq!(kf.stream.rotation.rem_euclid(180), 90);
    assert_eq!((kf.width, kf.height), (144, 176));
    assert_eq!(decode(&kf.frames[0].jpeg).dimensions(), (144, 176));
}

#[test]
fn the_cap_keeps_the_first_ones_and_the_last_frame() {
    let o = KeyframeOptions {
        max_keyframes: 2,
        ..KeyframeOptions::default()
    };
    let kf = extract_keyframes(&fixtures().join("keyframes/shots.mp4"), &o).unwrap();
    assert!(kf.capped);
    assert_eq!(
        times(&kf),
        vec![
            (0, KeyReason::First),
            (3000, KeyReason::Cut),
            (11_750, KeyReason::Last)
        ]
    );
}

#[test]
fn contact_sheet_lays_out_every_keyframe_with_its_time() {
    let kf = extract_keyframes(
        &fixtures().join("keyframes/shots.mp4"),
        &KeyframeOptions::default(),
    )
    .unwrap();
    let o = SheetOptions::default();
    let (jpeg, w, h) = contact_sheet(&kf, &o).unwrap();
    // 6 keyframes in rows of 4: 2 rows of 240x135 tiles with a label band.
    let label = 7 * o.label_scale + o.padding;
    assert_eq!(w, o.padding + 4 * (240 + o.padding));
    assert_eq!(h, o.padding + 2 * (135 + label + o.padding));
    let img = decode(&jpeg);
    assert_eq!(img.dimensions(), (w, h));
    // The first tile is the first keyframe (compare a pixel row's mean
    // brightness with the thumbnail's, allowing for JPEG).
    let thumb = &kf.frames[0].thumb;
    let row = |im: &image::RgbImage, x0: u32, y: u32| -> i64 {
        (0..240)
            .map(|x| i64::from(im.get_pixel(x0 + x, y).0[0]))
            .sum::<i64>()
            / 240
    };
    assert!((row(&img, o.padding, o.padding + 60) - row(thumb, 0, 60)).abs() < 8);
    // Something light is written in the first label band.
    let band_y = o.padding + 135 + o.padding / 2;
    let ink = (band_y..band_y + 7 * o.label_scale)
        .flat_map(|y| (o.padding..o.padding + 60).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0[0] > 150)
        .count();
    assert!(ink > 20, "{ink} light pixels in the label");
    // The empty second half of the last row stays background.
    let p = img.get_pixel(w - 20, h - 30).0;
    assert!(p.iter().all(|&c| c < 50), "{p:?}");
}

// ------------------------------------------------------------ hostile inputs

#[test]
fn hostile_inputs_refused_with_the_vpdq_codes() {
    let h = fixtures().join("vpdq/hostile");
    let code = |name: &str| {
        extract_keyframes(&h.join(name), &KeyframeOptions::default())
            .map(|_| "ok")
            .unwrap_or_else(|e| e.code())
    };
    assert_eq!(code("zero-length.mp4"), "vpdq-empty-file");
    assert_eq!(code("audio-only.m4a"), "vpdq-no-video-stream");
    assert_eq!(code("huge-16000x16000.mkv"), "vpdq-frame-too-large");
    assert_eq!(code("wide-16384x16.mp4"), "vpdq-frame-too-large");
    assert_eq!(code("moov-missing.mp4"), "vpdq-probe-failed");
}

#[test]
fn playlist_disguised_as_video_never_reaches_ffmpeg() {
    let d = std::env::temp_dir().join(format!("kf-hls-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join("evidence.mp4");
    let target = fixtures().join("keyframes/shots.mp4");
    std::fs::write(
        &p,
        format!("#EXTM3U\n#EXTINF:3.0,\nfile:{}\n", target.display()),
    )
    .unwrap();
    // ffmpeg and ffprobe that cannot run: refusal must come first.
    let tools = Tools {
        ffmpeg: d.join("missing-ffmpeg"),
        ffprobe: d.join("missing-ffprobe"),
        ..Tools::discover().unwrap()
    };
    let e = extract_keyframes_with(&p, &KeyframeOptions::default(), &tools).unwrap_err();
    assert_eq!(e.code(), "vpdq-playlist");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn time_and_duration_limits() {
    let v = fixtures().join("keyframes/shots.mp4");
    let mut o = KeyframeOptions::default();
    o.limits.timeout = Duration::from_millis(1);
    assert_eq!(
        extract_keyframes(&v, &o).unwrap_err().code(),
        "vpdq-timeout"
    );
    let mut o = KeyframeOptions::default();
    o.limits.max_duration_secs = 5.0;
    let e = extract_keyframes(&v, &o).unwrap_err();
    assert!(matches!(e, VpdqError::TooLong { .. }), "{e}");
}

#[test]
fn bad_options_are_refused() {
    let v = fixtures().join("keyframes/shots.mp4");
    for o in [
        KeyframeOptions {
            sample_fps: 0.0,
            ..KeyframeOptions::default()
        },
        KeyframeOptions {
            max_side: 8,
            ..KeyframeOptions::default()
        },
        KeyframeOptions {
            min_gap_secs: 5.0,
            max_gap_secs: 1.0,
            ..KeyframeOptions::default()
        },
    ] {
        assert_eq!(
            extract_keyframes(&v, &o).unwrap_err().code(),
            "vpdq-invalid-options"
        );
    }
}
