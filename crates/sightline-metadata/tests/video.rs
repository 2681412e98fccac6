//! `read_video` on real files: ffmpeg-made fixtures (see fixtures/make.sh),
//! hostile files, boxes built here byte by byte, and fake ffprobe programs
//! for the sandbox's failure paths.
//!
//! Needs Debian's `ffmpeg` package (ffprobe) and util-linux `prlimit`.
//! Rewrite the expected JSON after a deliberate change with
//! `SIGHTLINE_BLESS=1 cargo test --test video`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use sightline_metadata::video::{
    FORMAT_WHITELIST, Iso6709Error, VideoLimits, VideoReport, parse_iso6709, read_video,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/metadata/video")
}

/// A fresh scratch folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("video-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(name: &str) -> VideoReport {
    read_video(&fixtures().join(name), &VideoLimits::default())
}

fn codes(r: &VideoReport) -> Vec<&str> {
    r.issues.iter().map(|i| i.code.as_str()).collect()
}

fn has_issue(r: &VideoReport, code: &str) -> bool {
    r.issues.iter().any(|i| i.code == code)
}

fn field_value<'a>(r: &'a VideoReport, key: &str) -> &'a Value {
    &r.fields
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("no field {key} in {:#?}", r.fields))
        .value
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

/// A 16.16 fixed-point coordinate is within 1/65536 of what was written.
const FIXED: f64 = 1.0 / 65536.0;

// ---------------------------------------------------------------------------
// Fixtures against their expected JSON

const FIXTURES: &[&str] = &[
    "kabul.mp4",
    "kabul.mov",
    "apple-keys.mov",
    "loci.3gp",
    "rotated.mp4",
    "clip.webm",
    "bad-location.mov",
    "truncated.mp4",
    "truncated-faststart.mp4",
    "no-moov.mp4",
    "huge-box.mp4",
    "largesize.mp4",
    "size3.mp4",
    "deep.mp4",
    "empty.mp4",
    "text.mp4",
    "hls.mp4",
];

#[test]
fn fixtures_match_expected_json() {
    let bless = std::env::var_os("SIGHTLINE_BLESS").is_some();
    let mut failures = Vec::new();
    for name in FIXTURES {
        let report = read(name);
        let actual = serde_json::to_value(&report).unwrap();
        let expected_path = fixtures().join(format!("{name}.expected.json"));
        if bless {
            let mut text = serde_json::to_string_pretty(&actual).unwrap();
            text.push('\n');
            std::fs::write(&expected_path, text).unwrap();
            continue;
        }
        let expected: Value = serde_json::from_slice(
            &std::fs::read(&expected_path)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display())),
        )
        .unwrap();
        if actual != expected {
            failures.push(format!(
                "{name}: got\n{}\nexpected\n{}",
                serde_json::to_string_pretty(&actual).unwrap(),
                serde_json::to_string_pretty(&expected).unwrap()
            ));
        }
        // Round trip through the report type.
        let back: VideoReport = serde_json::from_value(actual).unwrap();
        assert_eq!(back, report, "{name}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// What each fixture must say, independent of the expected JSON

#[test]
fn mp4_location_is_ffmpegs_3gpp_loci() {
    let r = read("kabul.mp4");
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    let v = r.video.clone().unwrap();
    assert_eq!(v.container, "mov,mp4,m4a,3gp,3g2,mj2");
    assert_eq!(v.brand.as_deref(), Some("isom"));
    assert_eq!(
        v.creation_time.as_deref(),
        Some("2021-08-15T09:30:00.000000Z")
    );
    assert_eq!(v.location_origin.as_deref(), Some("3GPP:loci"));
    let p = v.location.unwrap();
    assert!(
        close(p.lat, 34.5553, FIXED) && close(p.lon, 69.2075, FIXED),
        "{p:?}"
    );
    assert_eq!(v.streams.len(), 1);
    let s = &v.streams[0];
    assert_eq!((s.kind.as_str(), s.codec.as_str()), ("video", "h264"));
    assert_eq!(
        (s.width, s.height, s.frame_rate),
        (Some(160), Some(120), Some(10.0))
    );
    assert_eq!(s.duration, Some(1.0));
    // ffprobe's own rendering agrees, as a field.
    assert_eq!(field_value(&r, "QuickTime:location"), "+34.5553+069.2075/");
}

#[test]
fn mov_location_is_quicktime_xyz() {
    let r = read("kabul.mov");
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    let v = r.video.clone().unwrap();
    assert_eq!(
        v.location_origin.as_deref(),
        Some("UserData:GPSCoordinates")
    );
    assert_eq!(v.location_raw.as_deref(), Some("+34.5553+069.2075/"));
    let p = v.location.unwrap();
    assert_eq!((p.lat, p.lon, p.alt), (34.5553, 69.2075, None));
    let xyz = r
        .fields
        .iter()
        .find(|f| f.key == "UserData:GPSCoordinates")
        .unwrap();
    assert_eq!(xyz.origin, "bmff:moov/udta/\u{a9}xyz");
}

#[test]
fn apple_keys_give_location_make_model() {
    let r = read("apple-keys.mov");
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    let v = r.video.clone().unwrap();
    assert_eq!(v.location_origin.as_deref(), Some("Keys:GPSCoordinates"));
    let p = v.location.unwrap();
    assert_eq!((p.lat, p.lon, p.alt), (31.6133, 65.7101, Some(1010.0)));
    assert_eq!(v.make.as_deref(), Some("Apple"));
    assert_eq!(v.model.as_deref(), Some("iPhone 12"));
    assert_eq!(v.creation_time.as_deref(), Some("2022-11-03T14:21:05+0430"));
    let make = r.fields.iter().find(|f| f.key == "Keys:Make").unwrap();
    assert_eq!(
        make.origin,
        "bmff:moov/udta/meta/ilst/com.apple.quicktime.make"
    );
    assert_eq!(field_value(&r, "Keys:Software"), "16.1");
    // And the ffprobe tags, as they are named there.
    assert_eq!(
        field_value(&r, "QuickTime:com.apple.quicktime.model"),
        "iPhone 12"
    );
}

#[test]
fn handmade_loci_in_3gp_beats_ffprobes_misreading() {
    let r = read("loci.3gp");
    let v = r.video.as_ref().unwrap();
    assert_eq!(v.brand.as_deref(), Some("3gp4"));
    assert_eq!(v.streams[0].codec, "h263");
    assert_eq!(v.location_origin.as_deref(), Some("3GPP:loci"));
    let p = v.location.as_ref().unwrap();
    assert!(close(p.lat, -0.1807, FIXED), "{p:?}");
    assert!(close(p.lon, -78.4678, FIXED), "{p:?}");
    assert_eq!(p.alt, Some(2850.0));
    let loci = field_value(&r, "3GPP:loci");
    assert_eq!(loci["name"], "Quito \u{2013} Plaza Grande");
    assert_eq!(loci["language"], "eng");
    assert_eq!(loci["role"], 0);
    assert_eq!(loci["body"], "earth");
    assert_eq!(loci["notes"], "hand-built fixture");
    // ffprobe 5.1 reads a UTF-16 loci name as bytes and prints garbage.
    let bad = r
        .issues
        .iter()
        .find(|i| i.code == "location-invalid")
        .unwrap();
    assert_eq!(bad.origin, "ffprobe:format/tags/location");
    assert_eq!(codes(&r), ["location-invalid"]);
}

#[test]
fn rotation_comes_from_the_track_matrix() {
    let r = read("rotated.mp4");
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    let v = r.video.clone().unwrap();
    assert_eq!(v.streams[0].rotation, Some(90.0));
    assert_eq!(field_value(&r, "Track1:Rotation"), 90.0);
    // An unrotated file says 0.
    assert_eq!(
        read("kabul.mp4").video.unwrap().streams[0].rotation,
        Some(0.0)
    );
}

#[test]
fn webm_tags_come_from_ffprobe() {
    let r = read("clip.webm");
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    let v = r.video.clone().unwrap();
    assert_eq!(v.container, "matroska,webm");
    assert_eq!(
        v.creation_time.as_deref(),
        Some("2022-02-24T04:50:00.000000Z")
    );
    assert_eq!(v.encoder.as_deref(), Some("Lavf"));
    assert_eq!(v.location_origin.as_deref(), Some("Matroska:LOCATION"));
    let p = v.location.unwrap();
    assert_eq!((p.lat, p.lon), (50.4501, 30.5234));
    assert_eq!(field_value(&r, "Matroska:DATE_RECORDED"), "2022-02-24");
    assert_eq!(field_value(&r, "Track1:ENCODER"), "Lavc libvpx");
    assert_eq!(v.streams[0].codec, "vp8");
    assert_eq!(v.streams[0].rotation, None);
}

#[test]
fn out_of_range_location_is_an_issue_not_a_clamp() {
    let r = read("bad-location.mov");
    let v = r.video.as_ref().unwrap();
    assert!(v.location.is_none() && v.location_raw.is_none());
    let origins: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| i.code == "location-invalid")
        .map(|i| i.origin.as_str())
        .collect();
    assert_eq!(
        origins,
        ["ffprobe:format/tags/location", "bmff:moov/udta/\u{a9}xyz"]
    );
    // The raw value is still reported as a field.
    assert_eq!(
        field_value(&r, "UserData:GPSCoordinates"),
        "+95.0000+200.0000/"
    );
}

// ---------------------------------------------------------------------------
// Hostile files

#[test]
fn truncated_mp4_has_no_moov() {
    let r = read("truncated.mp4");
    assert!(r.video.is_none());
    assert_eq!(
        codes(&r),
        ["ffprobe-failed", "bmff-box-truncated", "bmff-moov-missing"]
    );
    assert!(r.issues[0].message.contains("moov atom not found"));
    assert!(
        !r.issues[0].message.contains("fixtures"),
        "path leaked into message"
    );
}

#[test]
fn truncated_faststart_mp4_keeps_its_location() {
    let r = read("truncated-faststart.mp4");
    assert_eq!(codes(&r), ["bmff-box-truncated"]);
    assert_eq!(r.issues[0].origin, "bmff:mdat");
    let v = r.video.clone().unwrap();
    assert_eq!(v.location_origin.as_deref(), Some("3GPP:loci"));
}

#[test]
fn missing_moov() {
    let r = read("no-moov.mp4");
    assert!(r.video.is_none());
    assert_eq!(codes(&r), ["ffprobe-failed", "bmff-moov-missing"]);
}

#[test]
fn box_claiming_4_gb() {
    let r = read("huge-box.mp4");
    assert!(r.video.is_none());
    assert_eq!(
        codes(&r),
        ["ffprobe-failed", "bmff-box-truncated", "bmff-moov-missing"]
    );
    assert!(
        r.issues[1].message.contains("4294967280"),
        "{:?}",
        r.issues[1]
    );
}

#[test]
fn largesize_moov_claiming_2_pow_62_is_read_as_far_as_present() {
    let r = read("largesize.mp4");
    assert!(has_issue(&r, "bmff-box-truncated"));
    let v = r.video.clone().unwrap();
    assert_eq!(v.location_origin.as_deref(), Some("3GPP:loci"));
}

#[test]
fn box_smaller_than_its_header() {
    let r = read("size3.mp4");
    assert!(r.video.is_none());
    assert_eq!(
        codes(&r),
        [
            "ffprobe-failed",
            "bmff-box-size-invalid",
            "bmff-moov-missing"
        ]
    );
}

#[test]
fn deep_nesting_is_not_followed() {
    let started = Instant::now();
    let r = read("deep.mp4");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(has_issue(&r, "bmff-item-malformed"), "{:#?}", r.issues);
    let v = r.video.clone().unwrap();
    assert!(v.location.is_none());
}

#[test]
fn not_videos_are_refused_before_ffprobe() {
    // A fake ffprobe that leaves a mark proves it was never started.
    let dir = scratch("refused");
    let mark = dir.join("ran");
    let fake = fake_ffprobe(&dir, &format!("touch '{}'\nexit 1", mark.display()));
    let limits = VideoLimits {
        ffprobe: fake,
        ..VideoLimits::default()
    };
    for (name, code, says) in [
        ("empty.mp4", "video-empty", "empty"),
        ("text.mp4", "video-unrecognised", "text"),
        ("hls.mp4", "video-unrecognised", "hls"),
    ] {
        let r = read_video(&fixtures().join(name), &limits);
        assert!(r.video.is_none() && r.fields.is_empty(), "{name}");
        assert_eq!(codes(&r), [code], "{name}");
        assert!(r.issues[0].message.contains(says), "{name}: {:?}", r.issues);
    }
    assert!(!mark.exists(), "ffprobe was run on a refused file");
}

#[test]
fn ffprobe_flags_alone_stop_hls_from_opening_local_files() {
    // The playlist names a real local video. With only the protocol
    // whitelist, ffprobe follows it (the leak); with our format whitelist
    // and forced demuxer it refuses. (read_video never gets this far: the
    // sniffer refuses playlists first.)
    let dir = scratch("hls");
    let playlist = dir.join("playlist.mp4");
    std::fs::write(
        &playlist,
        format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n{}\n#EXT-X-ENDLIST\n",
            fixtures().join("kabul.mp4").display()
        ),
    )
    .unwrap();
    let url = format!("file:{}", playlist.display());
    let probe = |extra: &[&str]| {
        Command::new("ffprobe")
            .args(["-v", "error", "-protocol_whitelist", "file"])
            .args(extra)
            .args(["-print_format", "json", "-show_format", &url])
            .output()
            .expect("ffprobe (Debian package ffmpeg) must be installed")
    };
    let open = probe(&[]);
    assert!(open.status.success());
    assert!(String::from_utf8_lossy(&open.stdout).contains("\"hls\""));
    let whitelisted = probe(&["-format_whitelist", FORMAT_WHITELIST]);
    assert!(!whitelisted.status.success());
    assert!(String::from_utf8_lossy(&whitelisted.stderr).contains("not on whitelist"));
    let forced = probe(&["-f", "mov"]);
    assert!(!forced.status.success());
    // And /etc/passwd is never printed, whatever the playlist says.
    let r = read("hls.mp4");
    let all = serde_json::to_string(&r).unwrap();
    assert!(!all.contains("root:"), "{all}");
}

#[test]
fn fifo_directory_and_missing_paths() {
    let dir = scratch("special");
    let fifo = dir.join("pipe.mp4");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let r = read_video(&fifo, &VideoLimits::default());
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(codes(&r), ["video-not-regular-file"]);
    let r = read_video(&dir, &VideoLimits::default());
    assert_eq!(codes(&r), ["video-not-regular-file"]);
    let r = read_video(&dir.join("nope.mp4"), &VideoLimits::default());
    assert_eq!(codes(&r), ["video-unreadable"]);
}

#[test]
fn names_that_look_like_options_or_urls() {
    let dir = scratch("names");
    for name in [
        "-i.mov",
        "-rf:x?y#z.mov",
        "http:evil.mov",
        "concat:a|b.mov",
        "a b%20c.mov",
    ] {
        let path = dir.join(name);
        std::fs::copy(fixtures().join("kabul.mov"), &path).unwrap();
        let r = read_video(&path, &VideoLimits::default());
        assert!(r.issues.is_empty(), "{name}: {:#?}", r.issues);
        let v = r.video.clone().unwrap();
        assert_eq!(v.container, "mov,mp4,m4a,3gp,3g2,mj2", "{name}");
        assert_eq!(v.streams.len(), 1, "{name}");
    }
}

// ---------------------------------------------------------------------------
// The ffprobe sandbox

fn fake_ffprobe(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("fake-ffprobe");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Whether a process is gone (or only a zombie waiting for its parent).
fn dead(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn hanging_ffprobe_is_killed_with_its_children() {
    let dir = scratch("hang");
    let fake = fake_ffprobe(
        &dir,
        &format!(
            "echo $$ > '{d}/sh.pid'\nsleep 30 &\necho $! > '{d}/sleep.pid'\nwait",
            d = dir.display()
        ),
    );
    let limits = VideoLimits {
        timeout: Duration::from_millis(500),
        ffprobe: fake,
        ..VideoLimits::default()
    };
    let started = Instant::now();
    let r = read_video(&fixtures().join("kabul.mov"), &limits);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(codes(&r), ["ffprobe-timeout"]);
    for pid_file in ["sh.pid", "sleep.pid"] {
        let pid = std::fs::read_to_string(dir.join(pid_file)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        while !dead(&pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(dead(&pid), "{pid_file} {pid} still running");
    }
    // Our own box reader still ran.
    let v = r.video.clone().unwrap();
    assert_eq!(
        v.location_origin.as_deref(),
        Some("UserData:GPSCoordinates")
    );
    assert!(v.streams.is_empty());
}

#[test]
fn tiny_timeout_on_real_ffprobe() {
    let limits = VideoLimits {
        timeout: Duration::from_millis(1),
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert_eq!(codes(&r), ["ffprobe-timeout"]);
    assert!(r.video.is_none());
}

#[test]
fn output_cap() {
    let limits = VideoLimits {
        max_output_bytes: 100,
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("kabul.mp4"), &limits);
    assert_eq!(codes(&r), ["ffprobe-output-too-large"]);
    // The box reader's findings survive.
    assert_eq!(
        r.video.unwrap().location_origin.as_deref(),
        Some("3GPP:loci")
    );
}

#[test]
fn endless_output_is_cut_off() {
    let dir = scratch("flood");
    let fake = fake_ffprobe(&dir, "exec yes '{\"streams\":[]}'");
    let limits = VideoLimits {
        ffprobe: fake,
        max_output_bytes: 1 << 20,
        ..VideoLimits::default()
    };
    let started = Instant::now();
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(codes(&r), ["ffprobe-output-too-large"]);
}

#[test]
fn memory_limit_applies() {
    let limits = VideoLimits {
        max_memory_bytes: 16 << 20,
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert_eq!(codes(&r), ["ffprobe-failed"], "{:#?}", r.issues);
    assert!(r.video.is_none());
}

#[test]
fn missing_ffprobe_falls_back_to_the_box_reader() {
    let limits = VideoLimits {
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("apple-keys.mov"), &limits);
    assert_eq!(codes(&r), ["ffprobe-missing"]);
    let v = r.video.clone().unwrap();
    assert_eq!(v.container, "mov,mp4,m4a,3gp,3g2,mj2");
    assert_eq!(v.brand.as_deref(), Some("qt  "));
    assert_eq!(v.make.as_deref(), Some("Apple"));
    assert_eq!(v.encoder.as_deref(), Some("16.1"));
    assert!(v.streams.is_empty());
    // A name looked up on PATH that is not there.
    let limits = VideoLimits {
        ffprobe: PathBuf::from("ffprobe-that-does-not-exist"),
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert_eq!(codes(&r), ["ffprobe-missing"]);
    assert!(r.video.is_none());
}

#[test]
fn missing_prlimit_runs_ffprobe_unlimited_with_an_issue() {
    let limits = VideoLimits {
        prlimit: PathBuf::from("/nonexistent/prlimit"),
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("kabul.mov"), &limits);
    assert_eq!(codes(&r), ["prlimit-missing"]);
    assert_eq!(r.video.unwrap().streams.len(), 1);
}

#[test]
fn failing_ffprobe_reports_its_first_stderr_line() {
    let dir = scratch("fail");
    let long = "x".repeat(500);
    let fake = fake_ffprobe(
        &dir,
        &format!("printf '\\n  boom\\033[31m on %s {long}\\nsecond line\\n' \"$*\" >&2\nexit 3"),
    );
    let limits = VideoLimits {
        ffprobe: fake,
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert_eq!(codes(&r), ["ffprobe-failed"]);
    let m = &r.issues[0].message;
    assert!(
        m.starts_with("ffprobe exited with status 3: boom\\u{1b}[31m on"),
        "{m}"
    );
    assert!(m.contains("-format_whitelist"), "{m}");
    assert!(!m.contains("second line"), "{m}");
    assert!(m.ends_with('…') && m.chars().count() < 260, "{m}");
    // The input's path is not repeated in messages.
    let fake = fake_ffprobe(
        &dir,
        "for last; do :; done\necho \"cannot open $last\" >&2\nexit 1",
    );
    let limits = VideoLimits {
        ffprobe: fake,
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert_eq!(
        r.issues[0].message,
        "ffprobe exited with status 1: cannot open <input>"
    );
}

#[test]
fn garbage_output_is_an_issue() {
    let dir = scratch("garbage");
    let fake = fake_ffprobe(&dir, "echo 'this is not json'");
    let limits = VideoLimits {
        ffprobe: fake,
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert_eq!(codes(&r), ["ffprobe-output-invalid"]);
    // Well-formed JSON of the wrong shape is read loosely.
    let fake = fake_ffprobe(
        &dir,
        r#"echo '{"format":{"format_name":7,"duration":"N/A","bit_rate":"12","tags":[1]},"streams":[{"index":"x","width":"wide","avg_frame_rate":"0/0","side_data_list":[{"rotation":90}]},3]}'"#,
    );
    let limits = VideoLimits {
        ffprobe: fake,
        ..VideoLimits::default()
    };
    let r = read_video(&fixtures().join("clip.webm"), &limits);
    assert!(r.issues.is_empty(), "{:#?}", r.issues);
    let v = r.video.clone().unwrap();
    assert_eq!(v.container, "7");
    assert_eq!((v.duration, v.bit_rate), (None, Some(12)));
    assert_eq!(v.streams.len(), 1);
    assert_eq!(v.streams[0].index, 0);
    assert_eq!(v.streams[0].width, None);
    assert_eq!(v.streams[0].frame_rate, None);
    // Not a video stream: no rotation.
    assert_eq!(v.streams[0].rotation, None);
}

#[test]
fn ffprobe_display_matrix_rotation_is_counter_clockwise() {
    let dir = scratch("matrix");
    let fake = fake_ffprobe(
        &dir,
        r#"echo '{"format":{"format_name":"matroska,webm"},"streams":[{"index":0,"codec_type":"video","avg_frame_rate":"30000/1001","side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},{"index":1,"codec_type":"video","tags":{"rotate":"180"}}]}'"#,
    );
    let limits = VideoLimits {
        ffprobe: fake,
        ..VideoLimits::default()
    };
    let v = read_video(&fixtures().join("clip.webm"), &limits)
        .video
        .unwrap();
    assert_eq!(v.streams[0].rotation, Some(90.0));
    assert!(close(v.streams[0].frame_rate.unwrap(), 29.97002997, 1e-6));
    assert_eq!(v.streams[1].rotation, Some(180.0));
}

// ---------------------------------------------------------------------------
// Box layouts built here, read without ffprobe

fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn ftyp() -> Vec<u8> {
    bx(b"ftyp", b"qt  \0\0\0\0qt  ")
}

/// QuickTime international text: length, language, text.
fn qt_text(s: &str) -> Vec<u8> {
    cat(&[
        &(s.len() as u16).to_be_bytes(),
        &0x55c4u16.to_be_bytes(),
        s.as_bytes(),
    ])
}

fn data_atom(type_code: u32, value: &[u8]) -> Vec<u8> {
    bx(b"data", &cat(&[&type_code.to_be_bytes(), &[0; 4], value]))
}

/// Apple-style `meta` (no version/flags) with `mdta` keys.
fn apple_meta(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let hdlr = bx(b"hdlr", &cat(&[&[0; 8], b"mdta", &[0; 12], b"\0"]));
    let mut keys = cat(&[&[0; 4], &(entries.len() as u32).to_be_bytes()]);
    let mut ilst = Vec::new();
    for (i, (key, data)) in entries.iter().enumerate() {
        keys.extend(cat(&[
            &((key.len() + 8) as u32).to_be_bytes(),
            b"mdta",
            key.as_bytes(),
        ]));
        let index = (i as u32 + 1).to_be_bytes();
        ilst.extend(bx(&index, data));
    }
    bx(
        b"meta",
        &cat(&[&hdlr, &bx(b"keys", &keys), &bx(b"ilst", &ilst)]),
    )
}

fn loci(name: &[u8], lon: f64, lat: f64, alt: f64) -> Vec<u8> {
    let fixed = |v: f64| ((v * 65536.0).round() as i32).to_be_bytes();
    bx(
        b"loci",
        &cat(&[
            &[0; 4],
            &0x15c7u16.to_be_bytes(),
            name,
            &[1],
            &fixed(lon),
            &fixed(lat),
            &fixed(alt),
            b"earth\0",
            b"\0",
        ]),
    )
}

fn no_ffprobe() -> VideoLimits {
    VideoLimits {
        ffprobe: PathBuf::from("/nonexistent/ffprobe"),
        ..VideoLimits::default()
    }
}

fn read_bytes(test: &str, bytes: &[u8]) -> VideoReport {
    let dir = scratch(test);
    let path = dir.join("built.mov");
    std::fs::write(&path, bytes).unwrap();
    let r = read_video(&path, &no_ffprobe());
    assert_eq!(
        r.issues.first().map(|i| i.code.as_str()),
        Some("ffprobe-missing")
    );
    r
}

#[test]
fn precedence_keys_then_xyz_then_item_list_then_loci() {
    let keys = apple_meta(&[
        (
            "com.apple.quicktime.location.ISO6709",
            data_atom(1, b"+48.8584+002.2945+035.000/"),
        ),
        ("com.apple.quicktime.make", data_atom(1, b"Apple")),
        (
            "com.apple.quicktime.location.accuracy.horizontal",
            data_atom(23, &4.5f32.to_be_bytes()),
        ),
        (
            "com.apple.quicktime.rating.user",
            data_atom(21, &(-2i16).to_be_bytes()),
        ),
    ]);
    let udta = bx(
        b"udta",
        &cat(&[
            &bx(b"\xa9xyz", &qt_text("+40.6892-074.0445/")),
            &bx(b"\xa9mak", &qt_text("Canon")),
            &bx(b"\xa9mod", &qt_text("EOS R5")),
            &loci(b"Statue\0", -74.0445, 40.6892, 10.0),
            &[0; 4], // QuickTime's udta terminator
        ]),
    );
    let file = cat(&[&ftyp(), &bx(b"moov", &cat(&[&keys, &udta]))]);
    let r = read_bytes("precedence", &file);
    let v = r.video.as_ref().unwrap();
    assert_eq!(v.location_origin.as_deref(), Some("Keys:GPSCoordinates"));
    assert_eq!(
        v.location_raw.as_deref(),
        Some("+48.8584+002.2945+035.000/")
    );
    assert_eq!(v.make.as_deref(), Some("Apple"));
    assert_eq!(v.model.as_deref(), Some("EOS R5"));
    // The two other places disagree with the one used.
    let conflicts: Vec<&str> = r
        .issues
        .iter()
        .filter(|i| i.code == "location-conflict")
        .map(|i| i.origin.as_str())
        .collect();
    assert_eq!(
        conflicts,
        ["bmff:moov/udta/\u{a9}xyz", "bmff:moov/udta/loci"]
    );
    assert_eq!(field_value(&r, "Keys:LocationAccuracyHorizontal"), 4.5);
    assert_eq!(field_value(&r, "Keys:RatingUser"), -2);
    assert_eq!(field_value(&r, "UserData:Make"), "Canon");
    assert_eq!(field_value(&r, "3GPP:loci")["name"], "Statue");
    assert_eq!(field_value(&r, "3GPP:loci")["role"], 1);

    // Without the keys, ©xyz wins over loci.
    let file = cat(&[&ftyp(), &bx(b"moov", &udta)]);
    let r = read_bytes("precedence2", &file);
    let v = r.video.clone().unwrap();
    assert_eq!(
        v.location_origin.as_deref(),
        Some("UserData:GPSCoordinates")
    );
    assert_eq!(v.make.as_deref(), Some("Canon"));
}

#[test]
fn udta_meta_item_list_with_xyz() {
    // ISO-style meta (version/flags) with an iTunes `mdir` item list.
    let hdlr = bx(b"hdlr", &cat(&[&[0; 8], b"mdir", b"appl", &[0; 9]]));
    let ilst = bx(
        b"ilst",
        &cat(&[
            &bx(b"\xa9xyz", &data_atom(1, b"+3501.20+06910.50/")),
            &bx(b"\xa9too", &data_atom(1, b"Lavf59.27.100")),
            &bx(b"covr", &data_atom(13, &[0xFF, 0xD8, 0xFF, 0xE0])),
        ]),
    );
    let meta = bx(b"meta", &cat(&[&[0; 4], &hdlr, &ilst]));
    let file = cat(&[&ftyp(), &bx(b"moov", &bx(b"udta", &meta))]);
    let r = read_bytes("itemlist", &file);
    let v = r.video.as_ref().unwrap();
    assert_eq!(
        v.location_origin.as_deref(),
        Some("ItemList:GPSCoordinates")
    );
    let p = v.location.as_ref().unwrap();
    assert!(
        close(p.lat, 35.02, 1e-9) && close(p.lon, 69.175, 1e-9),
        "{p:?}"
    );
    assert_eq!(v.encoder.as_deref(), Some("Lavf59.27.100"));
    let xyz = r
        .fields
        .iter()
        .find(|f| f.key == "ItemList:GPSCoordinates")
        .unwrap();
    assert_eq!(xyz.origin, "bmff:moov/udta/meta/ilst/\u{a9}xyz");
    assert_eq!(
        field_value(&r, "ItemList:covr"),
        "(binary data 4 bytes, type 13)"
    );
}

#[test]
fn utf8_and_utf16_be_loci_names() {
    let be: Vec<u8> = [
        &[0xFE, 0xFF][..],
        &[0, b'K', 0, b'a', 0, b'b', 0, b'u', 0, b'l', 0, 0],
    ]
    .concat();
    for (name, expect) in [(&b"Kabul\0"[..], "Kabul"), (&be[..], "Kabul")] {
        let file = cat(&[
            &ftyp(),
            &bx(b"moov", &bx(b"udta", &loci(name, 69.2, 34.5, -12.5))),
        ]);
        let r = read_bytes("loci-names", &file);
        assert_eq!(field_value(&r, "3GPP:loci")["name"], expect);
        let p = r.video.unwrap().location.unwrap();
        assert_eq!((p.lat, p.alt), (34.5, Some(-12.5)));
        assert!(close(p.lon, 69.2, FIXED), "{p:?}");
    }
}

#[test]
fn malformed_inner_boxes_are_issues() {
    let udta = bx(
        b"udta",
        &cat(&[
            // ©xyz claiming more text than it has.
            &bx(
                b"\xa9xyz",
                &cat(&[&200u16.to_be_bytes(), &[0, 0], b"+10.0+020.0/"]),
            ),
            // loci cut before its coordinates.
            &bx(
                b"loci",
                &cat(&[&[0; 4], &[0x15, 0xc7], b"name\0", &[0, 1, 2]]),
            ),
            // loci whose name never ends.
            &bx(b"loci", &cat(&[&[0; 4], &[0x15, 0xc7], b"name"])),
        ]),
    );
    // An ilst item pointing at key 9 of 1.
    let mut bad_meta = apple_meta(&[("com.apple.quicktime.make", data_atom(1, b"X"))]);
    let at = bad_meta.len() - data_atom(1, b"X").len() - 4; // the item's type
    bad_meta[at..at + 4].copy_from_slice(&9u32.to_be_bytes());
    // A box of size 3 inside moov, after the good ones.
    let tail = cat(&[&3u32.to_be_bytes(), b"free"]);
    let file = cat(&[&ftyp(), &bx(b"moov", &cat(&[&udta, &bad_meta, &tail]))]);
    let r = read_bytes("malformed", &file);
    let got: Vec<(&str, &str)> = r
        .issues
        .iter()
        .skip(1)
        .map(|i| (i.code.as_str(), i.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("bmff-box-size-invalid", "bmff:moov/free"),
            ("bmff-item-malformed", "bmff:moov/udta/\u{a9}xyz"),
            ("bmff-item-malformed", "bmff:moov/udta/loci"),
            ("bmff-item-malformed", "bmff:moov/udta/loci"),
            ("bmff-item-malformed", "bmff:moov/meta/ilst"),
        ],
        "{:#?}",
        r.issues
    );
    // The short ©xyz still yields its value.
    let v = r.video.clone().unwrap();
    assert_eq!(
        v.location_origin.as_deref(),
        Some("UserData:GPSCoordinates")
    );
}

#[test]
fn inner_box_sizes_that_lie() {
    // A child claiming more than its parent holds, a 64-bit size, size 0.
    let xyz = bx(b"\xa9xyz", &qt_text("+01.0000+002.0000/"));
    let mut large = cat(&[
        &1u32.to_be_bytes(),
        b"udta",
        &(16 + xyz.len() as u64).to_be_bytes(),
    ]);
    large.extend(&xyz);
    let r = read_bytes("large", &cat(&[&ftyp(), &bx(b"moov", &large)]));
    assert_eq!(codes(&r), ["ffprobe-missing"]);
    assert_eq!(
        r.video.unwrap().location_raw.as_deref(),
        Some("+01.0000+002.0000/")
    );

    let mut zero = cat(&[&0u32.to_be_bytes(), b"udta"]);
    zero.extend(&xyz);
    let r = read_bytes("zero", &cat(&[&ftyp(), &bx(b"moov", &zero)]));
    assert_eq!(codes(&r), ["ffprobe-missing"]);
    assert!(r.video.unwrap().location.is_some());

    let mut over = cat(&[&0xFFFF_0000u32.to_be_bytes(), b"udta"]);
    over.extend(&xyz);
    let r = read_bytes("over", &cat(&[&ftyp(), &bx(b"moov", &over)]));
    assert_eq!(codes(&r), ["ffprobe-missing", "bmff-box-truncated"]);
    assert!(r.video.unwrap().location.is_some());

    // Size 0 at the top level runs to the end of the file.
    let mut top = ftyp();
    top.extend(cat(&[&0u32.to_be_bytes(), b"moov"]));
    top.extend(bx(b"udta", &xyz));
    let r = read_bytes("top-zero", &top);
    assert_eq!(codes(&r), ["ffprobe-missing"]);
    assert!(r.video.unwrap().location.is_some());
}

#[test]
fn box_count_is_capped() {
    // 150 000 empty boxes in moov: read in bounded time, with one issue.
    let mut inner = Vec::with_capacity(150_000 * 8);
    for _ in 0..150_000 {
        inner.extend(bx(b"free", &[]));
    }
    let started = Instant::now();
    let r = read_bytes("many", &cat(&[&ftyp(), &bx(b"moov", &inner)]));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(codes(&r), ["ffprobe-missing", "bmff-too-many-boxes"]);

    // And as many at the top level.
    let mut top = ftyp();
    for _ in 0..110_000 {
        top.extend(bx(b"free", &[]));
    }
    let r = read_bytes("many-top", &top);
    assert_eq!(
        codes(&r),
        [
            "ffprobe-missing",
            "bmff-too-many-boxes",
            "bmff-moov-missing"
        ]
    );
}

#[test]
fn track_matrices() {
    let tkhd = |a: i32, b: i32, c: i32, d: i32, version: u8| {
        let mut body = vec![version, 0, 0, 3];
        body.extend(if version == 1 {
            vec![0; 16]
        } else {
            vec![0; 8]
        });
        body.extend(7u32.to_be_bytes()); // track_ID
        body.extend(if version == 1 {
            vec![0; 12]
        } else {
            vec![0; 8]
        });
        body.extend([0; 16]);
        for v in [a, b, 0, c, d, 0, 0, 0, 0x4000_0000] {
            body.extend(v.to_be_bytes());
        }
        body.extend([0; 8]);
        bx(b"trak", &bx(b"tkhd", &body))
    };
    let one = 0x1_0000;
    let traks = cat(&[
        &tkhd(0, one, -one, 0, 0),
        &tkhd(-one, 0, 0, -one, 1),
        &tkhd(0, -one, one, 0, 0),
        &tkhd(0, 0, 0, 0, 0),
    ]);
    let r = read_bytes("matrices", &cat(&[&ftyp(), &bx(b"moov", &traks)]));
    let rotations: Vec<&Value> = (1..=3)
        .map(|n| field_value(&r, &format!("Track{n}:Rotation")))
        .collect();
    assert_eq!(rotations, [90.0, 180.0, 270.0]);
    assert!(r.fields.iter().all(|f| f.key != "Track4:Rotation"));
    assert!(has_issue(&r, "bmff-item-malformed"));
}

// ---------------------------------------------------------------------------
// ISO 6709

#[test]
fn iso6709_notations() {
    let p = |s| parse_iso6709(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    let ll = |s| {
        let g = p(s);
        (g.lat, g.lon, g.alt)
    };
    assert_eq!(
        ll("+37.7858-122.4064+012.000/"),
        (37.7858, -122.4064, Some(12.0))
    );
    assert_eq!(ll("+34.5553+069.2075/"), (34.5553, 69.2075, None));
    assert_eq!(ll("-33.8688+151.2093"), (-33.8688, 151.2093, None));
    assert_eq!(ll("+40-075/"), (40.0, -75.0, None));
    assert_eq!(ll("+00.0000+000.0000-001.5/"), (0.0, 0.0, Some(-1.5)));
    // Degrees and minutes.
    let (lat, lon, _) = ll("+3501.20+06910.50/");
    assert!(close(lat, 35.02, 1e-12) && close(lon, 69.175, 1e-12));
    let (lat, lon, _) = ll("-1230-07645/");
    assert!(close(lat, -12.5, 1e-12) && close(lon, -76.75, 1e-12));
    // Degrees, minutes, seconds.
    let (lat, lon, alt) = ll("+403526.5-0740103.25+10CRSWGS_84/");
    assert!(
        close(lat, 40.0 + 35.0 / 60.0 + 26.5 / 3600.0, 1e-12),
        "{lat}"
    );
    assert!(
        close(lon, -(74.0 + 1.0 / 60.0 + 3.25 / 3600.0), 1e-12),
        "{lon}"
    );
    assert_eq!(alt, Some(10.0));
    // CRS without altitude, trailing NULs and whitespace.
    assert_eq!(ll("+35.5+139.7CRSJGD2011/"), (35.5, 139.7, None));
    assert_eq!(ll(" +35.5+139.7/\0\0"), (35.5, 139.7, None));
    // The edges of the ranges.
    assert_eq!(ll("+90.0+180.0/"), (90.0, 180.0, None));
    assert_eq!(ll("-90-180/"), (-90.0, -180.0, None));
}

#[test]
fn iso6709_rejects_bad_strings() {
    let syntax = |s: &str| {
        assert!(
            matches!(parse_iso6709(s), Err(Iso6709Error::Syntax(_))),
            "{s}: {:?}",
            parse_iso6709(s)
        )
    };
    let range = |s: &str| {
        assert!(
            matches!(parse_iso6709(s), Err(Iso6709Error::OutOfRange(_))),
            "{s}: {:?}",
            parse_iso6709(s)
        )
    };
    assert_eq!(parse_iso6709(""), Err(Iso6709Error::Empty));
    assert_eq!(parse_iso6709(" \0"), Err(Iso6709Error::Empty));
    syntax("34.5553+069.2075/"); // no sign
    syntax("+34.5553/"); // no longitude
    syntax("+34.5553+069.2075/junk");
    syntax("+34.5553+069.2075//");
    syntax("+4.5+069.2075/"); // one latitude digit
    syntax("+34.5553+69.2075/"); // two longitude digits
    syntax("+345.5+069.2/"); // three latitude digits
    syntax("+34.+069.2/"); // point without fraction
    syntax("+34.5553+069.2075+/");
    syntax("+111.0005+105.0018+19.125488/\u{fffd}Q");
    syntax("N34.5 E69.2");
    range("+95.0000+200.0000/");
    range("+90.0001+000.0/");
    range("+45.0+180.5/");
    range("-91-000/");
    range("+3560.0+06910.0/"); // 60 minutes
    range("+350060+0691000/"); // 60 seconds
    range("+910000+0000000/");
    // Messages are lowercase one-liners.
    let e = parse_iso6709("+95+000").unwrap_err().to_string();
    assert_eq!(e, "iso 6709 out of range: latitude 95 beyond ±90");
}

#[test]
fn top_level_oddities() {
    let xyz = |s: &str| bx(b"moov", &bx(b"udta", &bx(b"\xa9xyz", &qt_text(s))));
    // Two moovs: the first is used.
    let r = read_bytes(
        "two-moov",
        &cat(&[&ftyp(), &xyz("+01.0+002.0/"), &xyz("+03.0+004.0/")]),
    );
    assert_eq!(codes(&r), ["ffprobe-missing", "bmff-moov-duplicate"]);
    assert_eq!(
        r.video.unwrap().location_raw.as_deref(),
        Some("+01.0+002.0/")
    );
    // Garbage where a box header should be, and a short tail.
    let r = read_bytes(
        "garbage",
        &cat(&[
            &ftyp(),
            &xyz("+01.0+002.0/"),
            &[0, 0, 0, 16, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0],
        ]),
    );
    assert_eq!(codes(&r), ["ffprobe-missing", "bmff-box-invalid"]);
    let r = read_bytes("tail", &cat(&[&ftyp(), &xyz("+01.0+002.0/"), b"abc"]));
    assert_eq!(codes(&r), ["ffprobe-missing", "bmff-trailing-bytes"]);
}

#[test]
fn moov_over_64_mib_is_not_read() {
    // A sparse file: 65 MiB of moov costs no disk and, unread, no memory.
    let dir = scratch("big-moov");
    let path = dir.join("big.mov");
    let body = 65u64 << 20;
    let mut head = ftyp();
    head.extend(((body + 8) as u32).to_be_bytes());
    head.extend(b"moov");
    std::fs::write(&path, &head).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(head.len() as u64 + body).unwrap();
    drop(file);
    let r = read_video(&path, &no_ffprobe());
    assert_eq!(codes(&r), ["ffprobe-missing", "bmff-moov-too-large"]);
    assert!(r.video.is_none());
}
