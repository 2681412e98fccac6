//! vPDQ against reference-made expectations on our own fixture videos
//! (`fixtures/`, made by `fixtures/make_fixtures.sh`; the `.txt` files
//! beside each video are pip `vpdq` 0.2.5's output on it), the match rule,
//! and hostile inputs. Needs ffmpeg and ffprobe on `PATH`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sightline_media::video_hash::{
    Limits, MatchOptions, NotVideo, Tools, VpdqError, VpdqOptions, format_frame, hash_video_file,
    hash_video_file_with, match_vpdq, parse_vpdq_text,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/vpdq")
}

/// A fresh scratch directory under the system temp dir, removed when the
/// returned guard drops (a test that fails leaves nothing behind either).
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("vpdq-test-{name}-"))
        .tempdir()
        .unwrap()
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Tools whose ffmpeg and ffprobe only leave a mark that they ran.
fn marking_tools(dir: &Path) -> Tools {
    let real = Tools::discover().unwrap();
    let ffmpeg = dir.join("fake-ffmpeg");
    let ffprobe = dir.join("fake-ffprobe");
    write_script(
        &ffmpeg,
        &format!("touch '{}'\nexit 1", dir.join("ran-ffmpeg").display()),
    );
    write_script(
        &ffprobe,
        &format!("touch '{}'\nexit 1", dir.join("ran-ffprobe").display()),
    );
    Tools {
        ffmpeg,
        ffprobe,
        ..real
    }
}

fn ran(dir: &Path, tool: &str) -> bool {
    dir.join(format!("ran-{tool}")).exists()
}

fn opts(spf: f64, dim: Option<u32>) -> VpdqOptions {
    VpdqOptions {
        seconds_per_hash: spf,
        downsample: dim.map(|d| (d, d)),
        ..VpdqOptions::default()
    }
}

// ------------------------------------------------------------ conformance

#[test]
fn fixtures_identical_to_reference() {
    let dir = fixtures();
    let mut cases: Vec<(PathBuf, PathBuf, f64, Option<u32>)> = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        for (suffix, spf, dim) in [
            (".1s.txt", 1.0, None),
            (".all.txt", 0.0, None),
            (".128.txt", 0.0, Some(128)),
        ] {
            if let Some(video) = name.strip_suffix(suffix) {
                cases.push((dir.join(video), p.clone(), spf, dim));
            }
        }
    }
    cases.sort_by(|a, b| a.1.cmp(&b.1));
    assert!(cases.len() >= 20, "fixtures missing: {}", cases.len());
    println!("| expectation | frames | identical lines |");
    println!("|---|---:|---:|");
    let mut failures = Vec::new();
    for (video, expected, spf, dim) in &cases {
        let exp = parse_vpdq_text(&std::fs::read_to_string(expected).unwrap()).unwrap();
        let got = hash_video_file(video, &opts(*spf, *dim))
            .unwrap_or_else(|e| panic!("{}: {e} [{}]", video.display(), e.code()))
            .frames;
        let same = exp
            .iter()
            .zip(&got)
            .filter(|(a, b)| format_frame(a) == format_frame(b))
            .count();
        let label = expected.file_name().unwrap().to_string_lossy().into_owned();
        println!("| {label} | {} | {same} |", exp.len());
        if same != exp.len() || exp.len() != got.len() {
            failures.push(format!(
                "{label}: {same}/{} identical, {} hashed",
                exp.len(),
                got.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn hashing_threads_do_not_change_hashes() {
    let v = fixtures().join("h264-aac.mp4");
    let one = hash_video_file(
        &v,
        &VpdqOptions {
            hash_threads: 1,
            ..opts(0.0, None)
        },
    )
    .unwrap();
    let two = hash_video_file(
        &v,
        &VpdqOptions {
            hash_threads: 3,
            decode_threads: 1,
            ..opts(0.0, None)
        },
    )
    .unwrap();
    assert_eq!(one.frames, two.frames);
    assert_eq!(one.frames.len(), 90);
    assert_eq!(one.stream.codec, "h264");
    assert_eq!((one.hashed_width, one.hashed_height), (192, 144));
}

#[test]
fn reference_eof_quirk_can_be_turned_off() {
    let v = fixtures().join("audio-first.mkv");
    let quirk = hash_video_file(&v, &opts(0.0, None)).unwrap();
    assert_eq!(quirk.stream.stream_index, 1);
    assert_eq!((quirk.frames.len(), quirk.dropped_at_end), (48, 2));
    let all = hash_video_file(
        &v,
        &VpdqOptions {
            reference_eof_quirk: false,
            ..opts(0.0, None)
        },
    )
    .unwrap();
    assert_eq!((all.frames.len(), all.dropped_at_end), (50, 0));
    assert_eq!(all.frames[..48], quirk.frames[..]);
}

// ------------------------------------------------------------ matching

#[test]
fn clip_matches_its_source_with_ranges() {
    let v = fixtures().join("h264-aac.mp4");
    let full = hash_video_file(&v, &opts(0.0, None)).unwrap().frames;
    let clip: Vec<_> = full
        .iter()
        .filter(|f| (30..60).contains(&f.frame))
        .copied()
        .collect();
    let m = match_vpdq(&full, &clip, &MatchOptions::default());
    assert_eq!(m.compared_match_percent, 100.0);
    assert!(m.query_match_percent > 0.0 && m.query_match_percent <= 100.0);
    assert_eq!(m.compared_ranges.len(), 1);
    assert_eq!(
        (
            m.compared_ranges[0].first_frame,
            m.compared_ranges[0].last_frame
        ),
        (30, 59)
    );
    assert!(
        m.query_ranges
            .iter()
            .any(|r| r.first_frame <= 30 && r.last_frame >= 59)
    );
    // Symmetric use: the clip as query is fully matched, a match at 80/0.
    let m = match_vpdq(&clip, &full, &MatchOptions::default());
    assert_eq!(m.query_match_percent, 100.0);
    assert!(m.is_match);
    // A stricter compared threshold can refuse it.
    let strict = MatchOptions {
        compared_match_threshold: 100.0,
        ..MatchOptions::default()
    };
    assert_eq!(
        match_vpdq(&clip, &full, &strict).is_match,
        m.compared_match_percent >= 100.0
    );
}

// ------------------------------------------------------------ hostile inputs

fn code(r: Result<sightline_media::video_hash::VpdqVideo, VpdqError>) -> &'static str {
    r.map(|v| panic!("expected an error, got {} frames", v.frames.len()))
        .unwrap_err()
        .code()
}

#[test]
fn zero_length_refused_before_any_process() {
    let tmp = scratch("zero");
    let d = tmp.path();
    let tools = marking_tools(d);
    let r = hash_video_file_with(
        &fixtures().join("hostile/zero-length.mp4"),
        &VpdqOptions::default(),
        &tools,
    );
    assert_eq!(r.unwrap_err(), VpdqError::NotVideo(NotVideo::Empty));
    assert!(!ran(d, "ffprobe") && !ran(d, "ffmpeg"));
}

#[test]
fn playlist_disguised_as_mp4_refused_before_any_process() {
    let tmp = scratch("hls");
    let d = tmp.path();
    let tools = marking_tools(d);
    let target = fixtures().join("h264-aac.mp4");
    for body in [
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\nfile:{}\n#EXT-X-ENDLIST\n",
            target.display()
        ),
        format!("\u{feff}\n  #extm3u\n{}\n", target.display()),
        format!("ffconcat version 1.0\nfile '{}'\n", target.display()),
        "just some notes about a video\n".to_string(),
    ] {
        let p = d.join("evidence.mp4");
        std::fs::write(&p, &body).unwrap();
        let e = hash_video_file_with(&p, &VpdqOptions::default(), &tools).unwrap_err();
        assert!(
            matches!(
                e,
                VpdqError::NotVideo(NotVideo::Playlist | NotVideo::ConcatScript | NotVideo::Text)
            ),
            "{e}"
        );
        assert!(e.to_string().starts_with("refused before decoding"));
    }
    assert!(!ran(d, "ffprobe") && !ran(d, "ffmpeg"));
}

#[test]
fn mp4_signature_with_playlist_body_never_opens_what_it_names() {
    // Passes the signature check; the pinned mov demuxer and whitelists must
    // keep ffmpeg from opening the FIFO it names (opening it would block
    // until the timeout).
    let tmp = scratch("ftyp-hls");
    let d = tmp.path();
    let fifo = d.join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut body = b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom".to_vec();
    body.extend_from_slice(
        format!("#EXTM3U\n#EXTINF:1,\nfile:{0}\n{0}\n", fifo.display()).as_bytes(),
    );
    let p = d.join("evidence.mp4");
    std::fs::write(&p, body).unwrap();
    let mut o = VpdqOptions::default();
    o.limits.timeout = Duration::from_secs(20);
    o.limits.probe_timeout = Duration::from_secs(20);
    let t = Instant::now();
    let e = hash_video_file(&p, &o).unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        matches!(
            e.code(),
            "vpdq-probe-failed" | "vpdq-no-video-stream" | "vpdq-no-frames" | "vpdq-decode-failed"
        ),
        "{e}"
    );
}

#[test]
fn other_non_video_refused() {
    let tmp = scratch("misc");
    let d = tmp.path();
    let tools = marking_tools(d);
    let h = fixtures().join("hostile");
    assert_eq!(
        hash_video_file_with(&h.join("audio.wav"), &VpdqOptions::default(), &tools).unwrap_err(),
        VpdqError::NotVideo(NotVideo::AudioContainer)
    );
    assert_eq!(
        code(hash_video_file_with(d, &VpdqOptions::default(), &tools)),
        "vpdq-not-a-file"
    );
    assert_eq!(
        code(hash_video_file_with(
            &d.join("missing.mp4"),
            &VpdqOptions::default(),
            &tools
        )),
        "vpdq-io"
    );
    let bad = VpdqOptions {
        seconds_per_hash: -1.0,
        ..VpdqOptions::default()
    };
    assert_eq!(
        code(hash_video_file_with(
            &fixtures().join("h264-aac.mp4"),
            &bad,
            &tools
        )),
        "vpdq-invalid-options"
    );
    assert!(!ran(d, "ffprobe") && !ran(d, "ffmpeg"));
}

#[test]
fn audio_only_file_has_no_video_stream() {
    let e = hash_video_file(
        &fixtures().join("hostile/audio-only.m4a"),
        &VpdqOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e, VpdqError::NoVideoStream);
    assert_eq!(e.to_string(), "the file has no video stream");
}

#[test]
fn moov_missing_fails_in_probe() {
    let e = hash_video_file(
        &fixtures().join("hostile/moov-missing.mp4"),
        &VpdqOptions::default(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "vpdq-probe-failed");
    assert!(e.to_string().contains("moov atom not found"), "{e}");
}

#[test]
fn truncated_mp4_hashes_what_decodes() {
    // The expectations (fixture test) are the reference's; here: ffmpeg's
    // complaints are kept for the record.
    let v = hash_video_file(&fixtures().join("truncated.mp4"), &opts(0.0, None)).unwrap();
    assert!(
        v.frames.len() > 10 && v.frames.len() < 90,
        "{}",
        v.frames.len()
    );
    assert!(
        v.decoder_messages.contains("partial file"),
        "{}",
        v.decoder_messages
    );
}

#[test]
fn oversized_frames_refused_before_decoding() {
    let tmp = scratch("huge");
    let d = tmp.path();
    let real = Tools::discover().unwrap();
    // Real ffprobe, marking ffmpeg: the size is judged from the probe alone.
    let tools = Tools {
        ffmpeg: marking_tools(d).ffmpeg,
        ..real
    };
    let h = fixtures().join("hostile");
    for (file, w, hgt) in [
        ("wide-16384x16.mp4", 16384, 16),
        ("huge-16000x16000.mkv", 16000, 16000),
    ] {
        let e = hash_video_file_with(&h.join(file), &VpdqOptions::default(), &tools).unwrap_err();
        match e {
            VpdqError::FrameTooLarge { width, height, .. } => assert_eq!((width, height), (w, hgt)),
            other => panic!("{file}: {other}"),
        }
    }
    // The pixel cap alone.
    let mut o = VpdqOptions::default();
    o.limits.max_pixels = 100 * 100;
    assert_eq!(
        code(hash_video_file_with(
            &fixtures().join("h264-aac.mp4"),
            &o,
            &tools
        )),
        "vpdq-frame-too-large"
    );
    assert!(!ran(d, "ffmpeg"));
}

/// Live (non-zombie) processes whose command line contains `token`.
fn live_with(token: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            String::from_utf8_lossy(&cmd).contains(token)
                && stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next())
                    != Some("Z")
        })
        .count()
}

#[test]
fn decoder_that_never_ends_is_killed_with_its_group() {
    let tmp = scratch("hang");
    let d = tmp.path();
    let real = Tools::discover().unwrap();
    let ffmpeg = d.join("hanging-ffmpeg");
    // A unique sleep length marks our processes. (The script cannot write a
    // pid file: the sandbox forbids creating files.)
    let token = format!("3000.{}", std::process::id());
    // A child in the background and the process itself, both asleep.
    write_script(
        &ffmpeg,
        &format!("/bin/sleep {token} &\nexec /bin/sleep {token}"),
    );
    let tools = Tools { ffmpeg, ..real };
    let mut o = VpdqOptions::default();
    o.limits.timeout = Duration::from_secs(2);
    let seen = {
        let token = token.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            live_with(&token)
        })
    };
    let t = Instant::now();
    let e = hash_video_file_with(&fixtures().join("h264-aac.mp4"), &o, &tools).unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(
        e,
        VpdqError::Timeout {
            seconds: 2,
            frames: 0
        }
    );
    assert_eq!(
        e.to_string(),
        "decoding exceeded the time limit of 2 s after 0 hashed frames"
    );
    assert_eq!(
        seen.join().unwrap(),
        2,
        "both sleepers should have been running"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_with(&token) > 0 {
        assert!(Instant::now() < deadline, "a process of the group survived");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn real_decode_cut_at_the_time_limit() {
    let mut o = opts(0.0, None);
    o.limits.timeout = Duration::from_millis(1);
    let e = hash_video_file(&fixtures().join("h264-aac.mp4"), &o).unwrap_err();
    assert_eq!(e.code(), "vpdq-timeout");
}

#[test]
fn frame_and_duration_caps() {
    let v = fixtures().join("h264-aac.mp4");
    let mut o = opts(0.0, None);
    o.limits.max_frames = 10;
    let e = hash_video_file(&v, &o).unwrap_err();
    assert_eq!(e, VpdqError::TooManyFrames { limit: 10 });
    assert_eq!(e.to_string(), "more than 10 frames to hash");

    let mut o = opts(1.0, None);
    o.limits.max_duration_secs = 2.0;
    let e = hash_video_file(&v, &o).unwrap_err();
    assert_eq!(e.code(), "vpdq-too-long");
    assert!(
        e.to_string().starts_with("video is longer than the limit"),
        "{e}"
    );
}

#[test]
fn memory_limit_is_applied() {
    let tools = Tools::discover().unwrap();
    if tools.prlimit.is_none() {
        eprintln!("prlimit not installed: skipped");
        return;
    }
    let o = VpdqOptions {
        limits: Limits {
            memory_bytes: 64 << 20,
            ..Limits::default()
        },
        ..VpdqOptions::default()
    };
    // ffprobe cannot even map its libraries in 64 MiB.
    let e = hash_video_file_with(&fixtures().join("h264-aac.mp4"), &o, &tools).unwrap_err();
    assert_eq!(e.code(), "vpdq-probe-failed", "{e}");
    let ok = hash_video_file_with(
        &fixtures().join("h264-aac.mp4"),
        &VpdqOptions::default(),
        &tools,
    )
    .unwrap();
    assert!(ok.sandbox.prlimit);
}
