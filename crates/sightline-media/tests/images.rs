//! Still image formats: valid files and targeted hostile variants.

mod common;

use common::*;
use sightline_media::{Format, Limits, MediaKind, ProbeError, probe_bytes};

fn dims(data: &[u8]) -> (Format, Option<u32>, Option<u32>, u64) {
    let info = probe(data).unwrap_or_else(|e| panic!("probe failed: {e}"));
    (info.format, info.width, info.height, info.trailing_bytes)
}

// ---------------------------------------------------------------------- PNG

#[test]
fn png_minimal_valid() {
    let data = png(3, 2);
    let info = probe(&data).unwrap();
    assert_eq!(info.format, Format::Png);
    assert_eq!(info.kind(), MediaKind::Image);
    assert_eq!((info.width, info.height), (Some(3), Some(2)));
    assert_eq!(info.trailing_bytes, 0);
    assert_eq!(info.frames, None);
}

#[test]
fn png_reports_appended_data() {
    let appended = b"PK\x03\x04 hidden archive after the image";
    let mut data = png(2, 2);
    data.extend_from_slice(appended);
    assert_eq!(
        dims(&data),
        (Format::Png, Some(2), Some(2), appended.len() as u64)
    );
}

#[test]
fn png_dimension_bomb_is_rejected() {
    let err = error(&png_header_only(100_000, 100_000));
    assert_eq!(err.code(), "dimensions");
    match err {
        ProbeError::Dimensions {
            format,
            width,
            height,
            ..
        } => assert_eq!((format, width, height), (Format::Png, 100_000, 100_000)),
        other => panic!("{other}"),
    }
    // Within the side limit but over the pixel budget.
    assert_eq!(code(&png_header_only(65_535, 65_535)), "dimensions");
    // Over 2^31-1 is outside the PNG specification.
    assert_eq!(code(&png_header_only(0x8000_0000, 1)), "dimensions");
}

#[test]
fn png_zero_width_is_rejected() {
    assert_eq!(code(&png_header_only(0, 10)), "dimensions");
    assert_eq!(code(&png_header_only(10, 0)), "dimensions");
}

#[test]
fn png_custom_limits() {
    let data = png(30, 20);
    let small = Limits {
        max_pixels: 500,
        max_dimension: 1000,
    };
    assert_eq!(probe_bytes(&data, &small).unwrap_err().code(), "dimensions");
    let narrow = Limits {
        max_pixels: 1_000_000,
        max_dimension: 25,
    };
    assert_eq!(
        probe_bytes(&data, &narrow).unwrap_err().code(),
        "dimensions"
    );
    assert!(probe_bytes(&data, &Limits::default()).is_ok());
}

#[test]
fn png_ihdr_crc_is_checked() {
    let mut data = png(3, 2);
    data[29] ^= 0x01; // last CRC byte of IHDR
    let err = error(&data);
    assert_eq!(err.code(), "malformed");
    assert!(err.to_string().contains("crc"), "{err}");
}

#[test]
fn png_huge_chunk_length_is_malformed() {
    let data = cat(&[PNG_SIG, &ihdr(1, 1), &be32(0x8000_0000), b"IDAT", &[0; 16]]);
    assert_eq!(code(&data), "malformed");
}

#[test]
fn png_chunk_past_end_is_truncated() {
    let data = cat(&[PNG_SIG, &ihdr(1, 1), &be32(1000), b"IDAT", &[0; 16]]);
    let err = error(&data);
    assert_eq!(err.code(), "truncated");
    assert!(err.to_string().contains("ends before IEND"), "{err}");
}

#[test]
fn png_structure_errors() {
    // IDAT before IHDR.
    let data = cat(&[PNG_SIG, &png_chunk(b"IDAT", &[0; 4]), &ihdr(1, 1)]);
    assert_eq!(code(&data), "malformed");
    // No IDAT at all.
    let data = cat(&[PNG_SIG, &ihdr(1, 1), &png_chunk(b"IEND", &[])]);
    assert_eq!(code(&data), "malformed");
    // Chunk type with a non-letter.
    let data = cat(&[
        PNG_SIG,
        &ihdr(1, 1),
        &png_chunk(b"ID\0T", &[]),
        &png_chunk(b"IEND", &[]),
    ]);
    assert_eq!(code(&data), "malformed");
    // Bad bit depth for RGB.
    let mut data = png(1, 1);
    data[24] = 4;
    let crc = crc32(&data[12..29]);
    data[29..33].copy_from_slice(&be32(crc));
    assert_eq!(code(&data), "malformed");
}

// --------------------------------------------------------------------- JPEG

#[test]
fn jpeg_baseline_valid() {
    assert_eq!(
        dims(&jpeg(640, 480)),
        (Format::Jpeg, Some(640), Some(480), 0)
    );
}

#[test]
fn jpeg_reports_appended_data() {
    let mut data = jpeg(8, 8);
    data.extend_from_slice(&[0xAA; 100]);
    assert_eq!(dims(&data).3, 100);
    // A second image appended after EOI counts as trailing data too.
    let second = jpeg(4, 4);
    let mut data = jpeg(8, 8);
    data.extend_from_slice(&second);
    assert_eq!(
        dims(&data),
        (Format::Jpeg, Some(8), Some(8), second.len() as u64)
    );
}

#[test]
fn jpeg_fill_bytes_and_thumbnail_in_app1() {
    // An APP1 segment holding a complete embedded JPEG (as EXIF thumbnails
    // do): it is skipped by length, so its EOI is not taken for the end.
    let thumb = jpeg(2, 2);
    let app1 = jpeg_segment(0xE1, &cat(&[b"Exif\0\0", &thumb]));
    let data = cat(&[
        &[0xFF, 0xD8],
        &app1,
        &[0xFF, 0xFF, 0xFF], // fill bytes before the next marker
        &dqt(),
        &sof(0xC0, 320, 200),
        &dht(),
        &sos(),
        ENTROPY,
        &[0xFF, 0xFF, 0xD9],
    ]);
    assert_eq!(dims(&data), (Format::Jpeg, Some(320), Some(200), 0));
}

#[test]
fn jpeg_progressive_with_several_scans() {
    let data = cat(&[
        &[0xFF, 0xD8],
        &jfif(),
        &dqt(),
        &sof(0xC2, 100, 50),
        &dht(),
        &sos(),
        ENTROPY,
        &dht(),
        &sos(),
        ENTROPY,
        &jpeg_segment(0xDD, &be16(4)), // restart interval between scans
        &sos(),
        ENTROPY,
        &[0xFF, 0xD9],
    ]);
    assert_eq!(dims(&data), (Format::Jpeg, Some(100), Some(50), 0));
}

#[test]
fn jpeg_other_sof_markers_carry_dimensions() {
    for marker in [0xC1, 0xC3, 0xC5, 0xC9, 0xCB, 0xCF] {
        let data = cat(&[
            &[0xFF, 0xD8],
            &sof(marker, 33, 44),
            &sos(),
            ENTROPY,
            &[0xFF, 0xD9],
        ]);
        assert_eq!(
            dims(&data),
            (Format::Jpeg, Some(33), Some(44), 0),
            "{marker:X}"
        );
    }
}

#[test]
fn jpeg_without_eoi_is_truncated() {
    let mut data = jpeg(8, 8);
    data.truncate(data.len() - 2);
    let err = error(&data);
    assert_eq!(err.code(), "truncated");
    assert!(err.to_string().contains("no end-of-image marker"), "{err}");
}

#[test]
fn jpeg_zero_or_huge_dimensions() {
    assert_eq!(code(&jpeg(0, 8)), "dimensions");
    assert_eq!(code(&jpeg(8, 0)), "dimensions");
    assert_eq!(code(&jpeg(65_535, 65_535)), "dimensions");
    assert!(probe(&jpeg(65_535, 4_096)).is_ok());
}

#[test]
fn jpeg_segment_past_end_is_truncated() {
    let data = cat(&[&[0xFF, 0xD8], &jfif(), &[0xFF, 0xE1, 0xFF, 0xF0, 1, 2, 3]]);
    assert_eq!(code(&data), "truncated");
}

#[test]
fn jpeg_structure_errors() {
    // EOI before any scan.
    let data = cat(&[&[0xFF, 0xD8], &sof(0xC0, 8, 8), &[0xFF, 0xD9]]);
    assert_eq!(code(&data), "malformed");
    // Scan before the frame header.
    let data = cat(&[&[0xFF, 0xD8], &sos(), ENTROPY, &[0xFF, 0xD9]]);
    assert_eq!(code(&data), "malformed");
    // Garbage where a marker should be.
    let data = cat(&[&[0xFF, 0xD8], &jfif(), b"garbage", &[0xFF, 0xD9]]);
    assert_eq!(code(&data), "malformed");
    // Segment length below 2.
    let data = cat(&[&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01], &[0; 8]]);
    assert_eq!(code(&data), "malformed");
}

#[test]
fn jpeg_corrupt_entropy_data_is_accepted_with_a_warning() {
    // A reserved marker inside the entropy-coded data: decoders step over it
    // and show the image (a real camera file in the conformance set has one),
    // so it is evidence to keep, with the damage noted.
    let data = cat(&[
        &[0xFF, 0xD8],
        &sof(0xC0, 8, 8),
        &sos(),
        &[1, 2, 0xFF, 0x9F, 0x00, 0x04, 1, 2],
        &[0xFF, 0xD9],
    ]);
    let info = probe(&data).unwrap();
    assert_eq!((info.width, info.height), (Some(8), Some(8)));
    assert_eq!(info.warnings.len(), 1);
    assert!(
        info.warnings[0].contains("0x9F at offset"),
        "{:?}",
        info.warnings
    );
    // Cut short, the same file is still truncated.
    assert_eq!(code(&data[..data.len() - 2]), "truncated");
}

// ---------------------------------------------------------------------- GIF

#[test]
fn gif_single_frame() {
    let info = probe(&gif(10, 20, 1)).unwrap();
    assert_eq!(info.format, Format::Gif);
    assert_eq!((info.width, info.height), (Some(10), Some(20)));
    assert_eq!(info.frames, Some(1));
    assert_eq!(info.trailing_bytes, 0);
}

#[test]
fn gif_animation_counts_frames_and_trailing_bytes() {
    let mut data = gif(4, 4, 5);
    data.extend_from_slice(b"extra");
    let info = probe(&data).unwrap();
    assert_eq!(info.frames, Some(5));
    assert_eq!(info.trailing_bytes, 5);
}

#[test]
fn gif87a_with_local_colour_table() {
    let mut data = b"GIF87a\x02\x00\x02\x00\x00\x00\x00".to_vec();
    // Image descriptor with a 4-entry local colour table.
    data.extend_from_slice(b"\x2c\0\0\0\0\x02\x00\x02\x00\x81");
    data.extend_from_slice(&[0; 12]);
    data.extend_from_slice(b"\x02\x03\x84\x1d\x05\x00\x3b");
    assert_eq!(dims(&data), (Format::Gif, Some(2), Some(2), 0));
}

#[test]
fn gif_zero_screen_takes_first_frame_size() {
    let mut data = gif(7, 9, 1);
    data[6..10].copy_from_slice(&[0, 0, 0, 0]);
    assert_eq!(dims(&data), (Format::Gif, Some(7), Some(9), 0));
}

#[test]
fn gif_without_trailer_is_truncated() {
    let mut data = gif(4, 4, 2);
    data.pop();
    let err = error(&data);
    assert_eq!(err.code(), "truncated");
    assert!(err.to_string().contains("trailer"), "{err}");
}

#[test]
fn gif_structure_errors() {
    // Unknown block introducer.
    let mut data = gif(4, 4, 1);
    let at = data.len() - 1;
    data.insert(at, 0x99);
    assert_eq!(code(&data), "malformed");
    // No image at all.
    let data = b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x3b";
    assert_eq!(code(data), "malformed");
    // Frame larger than the limits inside a small screen.
    let mut data = gif(4, 4, 1);
    let frame = gif_frame(65_535, 65_535);
    let at = data.len() - 1;
    data.splice(at..at, frame);
    assert_eq!(code(&data), "dimensions");
    // Zero area everywhere.
    assert_eq!(code(&gif(0, 0, 1)), "dimensions");
}

// ---------------------------------------------------------------------- BMP

#[test]
fn bmp_bottom_up_and_top_down() {
    assert_eq!(dims(&bmp(3, 2)), (Format::Bmp, Some(3), Some(2), 0));
    assert_eq!(dims(&bmp(3, -2)), (Format::Bmp, Some(3), Some(2), 0));
}

#[test]
fn bmp_os2_core_header() {
    let mut data = b"BM".to_vec();
    data.extend_from_slice(&le32(26 + 8));
    data.extend_from_slice(&[0; 4]);
    data.extend_from_slice(&le32(26));
    data.extend_from_slice(&le32(12));
    data.extend_from_slice(&le16(2));
    data.extend_from_slice(&le16(2));
    data.extend_from_slice(&le16(1));
    data.extend_from_slice(&le16(8));
    data.extend_from_slice(&[0; 8]);
    assert_eq!(dims(&data), (Format::Bmp, Some(2), Some(2), 0));
}

#[test]
fn bmp_hostile_variants() {
    // Pixel data cut short.
    let mut data = bmp(10, 10);
    data.truncate(data.len() - 7);
    assert_eq!(code(&data), "truncated");
    // Pixel offset past the end of the file.
    let mut data = bmp(2, 2);
    data[10..14].copy_from_slice(&le32(1 << 30));
    assert_eq!(code(&data), "truncated");
    // Zero width, negative width, absurd height.
    assert_eq!(code(&bmp(0, 4)), "dimensions");
    let mut data = bmp(2, 2);
    data[18..22].copy_from_slice(&(-2i32).to_le_bytes());
    assert_eq!(code(&data), "malformed");
    let mut data = bmp(2, 2);
    data[22..26].copy_from_slice(&i32::MIN.to_le_bytes());
    assert_eq!(code(&data), "dimensions");
    // Impossible bit depth.
    let mut data = bmp(2, 2);
    data[28] = 7;
    assert_eq!(code(&data), "malformed");
}

// --------------------------------------------------------------------- WebP

#[test]
fn webp_lossless_lossy_extended() {
    assert_eq!(dims(&webp_vp8l(5, 7)), (Format::Webp, Some(5), Some(7), 0));
    assert_eq!(
        dims(&webp_vp8(300, 200)),
        (Format::Webp, Some(300), Some(200), 0)
    );
    assert_eq!(
        dims(&webp_vp8x(1000, 17)),
        (Format::Webp, Some(1000), Some(17), 0)
    );
    let mut data = webp_vp8l(16_384, 16_384);
    data.extend_from_slice(&[1, 2, 3]);
    assert_eq!(dims(&data), (Format::Webp, Some(16_384), Some(16_384), 3));
}

#[test]
fn webp_hostile_variants() {
    // RIFF size larger than the file.
    let mut data = webp_vp8l(5, 7);
    data[4..8].copy_from_slice(&le32(10_000));
    let err = error(&data);
    assert_eq!(err.code(), "truncated");
    // Extended header with no image data.
    let data = riff(b"WEBP", &[vp8x_chunk(4, 4), riff_chunk(b"EXIF", &[0; 6])]);
    assert_eq!(code(&data), "malformed");
    // VP8X canvas over the pixel budget.
    assert_eq!(code(&webp_vp8x(16_777_216, 16_777_216)), "dimensions");
    // Chunk larger than its container.
    let mut data = webp_vp8x(4, 4);
    data[16..20].copy_from_slice(&le32(5_000));
    assert_eq!(code(&data), "malformed");
    // Missing VP8 start code.
    let mut data = webp_vp8(4, 4);
    data[23] = 0;
    assert_eq!(code(&data), "malformed");
}

// --------------------------------------------------------------------- TIFF

#[test]
fn tiff_both_byte_orders_short_and_long() {
    assert_eq!(
        dims(&tiff_grey(true, 4, 3, false)),
        (Format::Tiff, Some(4), Some(3), 0)
    );
    assert_eq!(
        dims(&tiff_grey(false, 4, 3, true)),
        (Format::Tiff, Some(4), Some(3), 0)
    );
    assert_eq!(
        dims(&tiff_grey(false, 5, 2, false)),
        (Format::Tiff, Some(5), Some(2), 0)
    );
}

#[test]
fn bigtiff_is_read() {
    let mut data = b"II+\0\x08\0\0\0".to_vec();
    data.extend_from_slice(&16u64.to_le_bytes());
    data.extend_from_slice(&2u64.to_le_bytes());
    for (tag, value) in [(256u16, 9u64), (257, 11)] {
        data.extend_from_slice(&le16(tag));
        data.extend_from_slice(&le16(16)); // LONG8
        data.extend_from_slice(&1u64.to_le_bytes());
        data.extend_from_slice(&value.to_le_bytes());
    }
    data.extend_from_slice(&0u64.to_le_bytes());
    assert_eq!(dims(&data), (Format::Tiff, Some(9), Some(11), 0));
}

#[test]
fn tiff_hostile_variants() {
    // IFD offset past the end.
    let mut data = tiff_grey(true, 4, 3, false);
    data[4..8].copy_from_slice(&le32(1 << 20));
    assert_eq!(code(&data), "truncated");
    // IFD offset into the header.
    let mut data = tiff_grey(true, 4, 3, false);
    data[4..8].copy_from_slice(&le32(2));
    assert_eq!(code(&data), "malformed");
    // Entry count far beyond the file.
    let mut data = tiff_grey(true, 4, 3, false);
    data[8..10].copy_from_slice(&le16(0xFFFF));
    assert_eq!(code(&data), "truncated");
    // Strip data cut off.
    let mut data = tiff_grey(true, 40, 30, false);
    data.truncate(data.len() - 100);
    assert_eq!(code(&data), "truncated");
    // A value stored outside its entry (an ASCII description) past the end.
    let mut data = tiff_grey(true, 4, 3, false);
    let entry = 10 + 2 * 12; // the third entry, BitsPerSample
    data[entry..entry + 12].copy_from_slice(&cat(&[&le16(270), &le16(2), &le32(100), &le32(5000)]));
    let err = error(&data);
    assert_eq!(err.code(), "truncated");
    assert!(err.to_string().contains("tag 270"), "{err}");
    // No width.
    let mut data = tiff_grey(true, 4, 3, false);
    data[10..12].copy_from_slice(&le16(999));
    assert_eq!(code(&data), "malformed");
    // Zero and huge dimensions.
    assert_eq!(code(&tiff_grey(true, 0, 3, false)), "dimensions");
    let mut data = tiff_grey(true, 4, 3, true);
    data[18..22].copy_from_slice(&le32(100_000));
    assert_eq!(code(&data), "dimensions");
}
