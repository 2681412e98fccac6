//! Box-based (ISO BMFF), EBML and RIFF containers.

mod common;

use common::*;
use sightline_media::{Format, MediaKind, ProbeError};

fn format_of(data: &[u8]) -> Format {
    probe(data)
        .unwrap_or_else(|e| panic!("probe failed: {e}"))
        .format
}

// ----------------------------------------------------------------- ISO BMFF

#[test]
fn mp4_family_by_brand() {
    let info = probe(&mp4(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"])).unwrap();
    assert_eq!(info.format, Format::Mp4);
    assert_eq!(info.kind(), MediaKind::Video);
    // The size of the video track (the audio track listed first is skipped).
    assert_eq!(
        (info.width, info.height, info.frames),
        (Some(320), Some(240), None)
    );
    assert_eq!(format_of(&mp4(b"mp42", &[b"mp42", b"isom"])), Format::Mp4);
    assert_eq!(format_of(&mp4(b"M4V ", &[b"M4V ", b"mp42"])), Format::Mp4);
    assert_eq!(format_of(&mp4(b"dash", &[b"iso6"])), Format::Mp4);
    assert_eq!(format_of(&mp4(b"qt  ", &[b"qt  "])), Format::QuickTime);
    assert_eq!(format_of(&mp4(b"3gp4", &[b"3gp4"])), Format::ThreeGp);
    assert_eq!(format_of(&mp4(b"3g2a", &[b"3g2a"])), Format::ThreeGp);
}

#[test]
fn video_track_size_is_checked() {
    let data = |w, h| {
        cat(&[
            &ftyp(b"isom", &[]),
            &moov_with_video(w, h),
            &bmff_box(b"mdat", &[0; 8]),
        ])
    };
    let info = probe(&data(720, 1280)).unwrap();
    assert_eq!((info.width, info.height), (Some(720), Some(1280)));
    // A zero size in the sample entry is not stated: no dimensions.
    let info = probe(&data(0, 0)).unwrap();
    assert_eq!((info.width, info.height), (None, None));
    assert_eq!(code(&data(65_535, 65_535)), "dimensions");
    // Audio only: no dimensions.
    let audio_only = cat(&[
        &ftyp(b"isom", &[]),
        &bmff_box(
            b"moov",
            &cat(&[
                &full_box(b"mvhd", 0, 0, &[0; 96]),
                &trak(b"soun", &mp4a_entry()),
            ]),
        ),
        &bmff_box(b"mdat", &[0; 8]),
    ]);
    let info = probe(&audio_only).unwrap();
    assert_eq!((info.width, info.height), (None, None));
}

#[test]
fn m4a_audio_is_not_media() {
    let err = error(&mp4(b"M4A ", &[b"M4A ", b"mp42", b"isom"]));
    assert!(
        matches!(
            err,
            ProbeError::NotMedia {
                looks_like: "audio"
            }
        ),
        "{err}"
    );
}

#[test]
fn brands_beyond_the_sniffed_head_are_considered() {
    // A long compatible-brand list pushes 'avif' past the first 512 bytes.
    let mut compat: Vec<&[u8; 4]> = vec![b"xxxx"; 200];
    compat.push(b"avif");
    let data = heif(b"mif1", &compat, 10, 10);
    assert_eq!(format_of(&data), Format::Avif);
}

#[test]
fn classic_quicktime_without_ftyp() {
    let data = cat(&[
        &bmff_box(b"wide", &[]),
        &bmff_box(b"mdat", &[0; 40]),
        &moov(),
    ]);
    assert_eq!(format_of(&data), Format::QuickTime);
    let data = cat(&[&moov(), &bmff_box(b"mdat", &[0; 40])]);
    assert_eq!(format_of(&data), Format::QuickTime);
}

#[test]
fn mp4_without_moov_is_malformed() {
    let data = cat(&[&ftyp(b"isom", &[b"isom"]), &bmff_box(b"mdat", &[0; 100])]);
    let err = error(&data);
    assert_eq!(err.code(), "malformed");
    assert_eq!(
        err.to_string(),
        "malformed mp4: no 'moov' box: the file has no index and cannot be played"
    );
}

#[test]
fn mp4_moov_without_tracks_or_mdat_is_malformed() {
    let empty_moov = bmff_box(b"moov", &full_box(b"mvhd", 0, 0, &[0; 96]));
    let data = cat(&[
        &ftyp(b"isom", &[]),
        &empty_moov,
        &bmff_box(b"mdat", &[0; 8]),
    ]);
    assert_eq!(code(&data), "malformed");
    let data = cat(&[&ftyp(b"isom", &[]), &moov()]);
    assert_eq!(code(&data), "malformed");
}

#[test]
fn box_past_end_is_truncated() {
    let mut data = mp4(b"isom", &[]);
    let mdat_at = data.len() - 72;
    data[mdat_at..mdat_at + 4].copy_from_slice(&be32(1_000_000));
    let err = error(&data);
    assert_eq!(err.code(), "truncated");
    assert_eq!(
        err.to_string(),
        "truncated mp4: box 'mdat' runs past end of file"
    );
    // A file cut inside mdat.
    let data = mp4(b"isom", &[]);
    assert_eq!(code(&data[..data.len() - 10]), "truncated");
}

#[test]
fn lying_largesize_is_truncated() {
    let data = cat(&[
        &ftyp(b"isom", &[]),
        &moov(),
        &be32(1),
        b"mdat",
        &u64::MAX.to_be_bytes(),
        &[0; 32],
    ]);
    assert_eq!(code(&data), "truncated");
    // A largesize smaller than its own header.
    let data = cat(&[
        &ftyp(b"isom", &[]),
        &moov(),
        &be32(1),
        b"mdat",
        &8u64.to_be_bytes(),
    ]);
    assert_eq!(code(&data), "malformed");
}

#[test]
fn largesize_and_size_zero_are_accepted() {
    let data = cat(&[
        &ftyp(b"isom", &[]),
        &moov(),
        &be32(1),
        b"mdat",
        &(16u64 + 32).to_be_bytes(),
        &[0; 32],
    ]);
    assert_eq!(format_of(&data), Format::Mp4);
    // Size 0: the last box extends to the end of the file.
    let data = cat(&[&ftyp(b"isom", &[]), &moov(), &be32(0), b"mdat", &[0; 500]]);
    assert_eq!(format_of(&data), Format::Mp4);
}

#[test]
fn small_or_garbage_boxes_are_malformed() {
    let data = cat(&[&mp4(b"isom", &[]), &be32(4), b"free"]);
    assert_eq!(code(&data), "malformed");
    let data = cat(&[&mp4(b"isom", &[]), &be32(16), b"\x00\x01\x02\x03", &[0; 8]]);
    assert_eq!(code(&data), "malformed");
    // A child box overrunning its parent.
    let bad_trak = cat(&[&be32(8 + 8), b"trak", &be32(100), b"tkhd"]);
    let data = cat(&[
        &ftyp(b"isom", &[]),
        &bmff_box(b"moov", &bad_trak),
        &bmff_box(b"mdat", &[0; 8]),
    ]);
    assert_eq!(code(&data), "malformed");
}

#[test]
fn deep_nesting_is_bounded() {
    let mut inner = full_box(b"tkhd", 0, 0, &[0; 80]);
    for _ in 0..40 {
        inner = bmff_box(b"trak", &inner);
    }
    let data = cat(&[
        &ftyp(b"isom", &[]),
        &bmff_box(b"moov", &inner),
        &bmff_box(b"mdat", &[0; 8]),
    ]);
    let err = error(&data);
    assert_eq!(err.code(), "malformed");
    assert!(err.to_string().contains("nested deeper"), "{err}");
}

#[test]
fn too_many_top_level_boxes() {
    let mut data = mp4(b"isom", &[]);
    for _ in 0..100_001 {
        data.extend_from_slice(&bmff_box(b"free", &[]));
    }
    let err = error(&data);
    assert_eq!(err.code(), "malformed");
    assert!(err.to_string().contains("top-level boxes"), "{err}");
}

#[test]
fn heif_and_avif_report_primary_item_size() {
    let info = probe(&heif(b"heic", &[b"mif1", b"heic"], 4032, 3024)).unwrap();
    assert_eq!(info.format, Format::Heif);
    assert_eq!(info.kind(), MediaKind::Image);
    assert_eq!((info.width, info.height), (Some(4032), Some(3024)));
    let info = probe(&heif(b"avif", &[b"mif1", b"miaf", b"avif"], 64, 32)).unwrap();
    assert_eq!(info.format, Format::Avif);
    assert_eq!((info.width, info.height), (Some(64), Some(32)));
    assert_eq!(
        format_of(&heif(b"mif1", &[b"mif1", b"heic"], 8, 8)),
        Format::Heif
    );
    assert_eq!(format_of(&heif(b"mif1", &[b"avif"], 8, 8)), Format::Avif);
}

#[test]
fn heif_hostile_variants() {
    // No meta box.
    let data = cat(&[&ftyp(b"heic", &[b"mif1"]), &bmff_box(b"mdat", &[0; 8])]);
    assert_eq!(code(&data), "malformed");
    // Dimension bomb and zero area in ispe.
    assert_eq!(
        code(&heif(b"avif", &[b"avif"], 1_000_000, 1_000_000)),
        "dimensions"
    );
    assert_eq!(code(&heif(b"heic", &[b"heic"], 0, 10)), "dimensions");
}

// --------------------------------------------------------------------- EBML

#[test]
fn webm_and_matroska_by_doctype() {
    let info = probe(&mkv(b"webm")).unwrap();
    assert_eq!(info.format, Format::Webm);
    assert_eq!((info.width, info.height), (Some(320), Some(240)));
    assert_eq!(info.kind(), MediaKind::Video);
    assert_eq!(info.trailing_bytes, 0);
    assert_eq!(format_of(&mkv(b"matroska")), Format::Matroska);
    let mut data = mkv(b"webm");
    data.extend_from_slice(&[0; 9]);
    assert_eq!(probe(&data).unwrap().trailing_bytes, 9);
}

#[test]
fn webm_live_stream_with_unknown_sizes() {
    let body = segment_body();
    // Segment of unknown size (all ones in an 8-byte vint).
    let data = cat(&[
        &ebml_header(b"webm"),
        &[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ],
        &body,
    ]);
    assert_eq!(format_of(&data), Format::Webm);
}

#[test]
fn ebml_hostile_variants() {
    // Segment larger than the file.
    let data = cat(&[
        &ebml_header(b"webm"),
        &[0x18, 0x53, 0x80, 0x67],
        &vint(1 << 40, 8),
        &segment_body(),
    ]);
    assert_eq!(code(&data), "truncated");
    // EBML header cut short.
    let header = ebml_header(b"webm");
    assert_eq!(code(&header[..header.len() - 3]), "truncated");
    // No segment after the header.
    assert_eq!(code(&header), "truncated");
    let data = cat(&[&header, &ebml_el(&[0x1F, 0x43, 0xB6, 0x75], &[0; 4])]);
    assert_eq!(code(&data), "malformed");
    // A segment without tracks.
    let data = cat(&[
        &header,
        &ebml_el(&[0x18, 0x53, 0x80, 0x67], &[0xEC, 0x81, 0]),
    ]);
    assert_eq!(code(&data), "malformed");
    // Invalid variable-length integer (a zero first byte).
    let data = cat(&[&header, &[0x18, 0x53, 0x80, 0x67, 0x00, 0x00]]);
    assert_eq!(code(&data), "malformed");
    // A header element of unknown size, overrunning the header.
    let mut data = mkv(b"webm");
    assert_eq!(&data[5..7], &[0x42, 0x86]);
    data[7] = 0x01;
    data[8..15].copy_from_slice(&[0xFF; 7]);
    assert_eq!(code(&data), "malformed");
}

// ---------------------------------------------------------------------- AVI

#[test]
fn avi_dimensions_from_main_header() {
    let info = probe(&avi(320, 240)).unwrap();
    assert_eq!(info.format, Format::Avi);
    assert_eq!((info.width, info.height), (Some(320), Some(240)));
    assert_eq!(info.trailing_bytes, 0);
    // Zero size in the header: no dimensions, still a video.
    let info = probe(&avi(0, 0)).unwrap();
    assert_eq!((info.width, info.height), (None, None));
}

#[test]
fn avi_opendml_extension_is_part_of_the_file() {
    let mut data = avi(16, 16);
    data.extend_from_slice(&riff(b"AVIX", &[riff_chunk(b"LIST", b"movi")]));
    assert_eq!(probe(&data).unwrap().trailing_bytes, 0);
    data.extend_from_slice(b"tail");
    assert_eq!(probe(&data).unwrap().trailing_bytes, 4);
}

#[test]
fn avi_hostile_variants() {
    let mut data = avi(16, 16);
    data[4..8].copy_from_slice(&le32(u32::MAX));
    assert_eq!(code(&data), "truncated");
    let data = riff(b"AVI ", &[riff_chunk(b"JUNK", &[0; 10])]);
    assert_eq!(code(&data), "malformed");
    assert_eq!(code(&avi(100_000, 100_000)), "dimensions");
}
