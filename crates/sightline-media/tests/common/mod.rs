//! Byte builders for test inputs. Every file here is assembled from its
//! format's published structure, byte by byte.
#![allow(dead_code)]

use sightline_media::{Limits, MediaInfo, ProbeError, probe_bytes};

pub fn probe(data: &[u8]) -> Result<MediaInfo, ProbeError> {
    probe_bytes(data, &Limits::default())
}

/// The error code of a probe that must fail.
pub fn code(data: &[u8]) -> &'static str {
    match probe(data) {
        Ok(info) => panic!("expected an error, got {info:?}"),
        Err(e) => e.code(),
    }
}

pub fn error(data: &[u8]) -> ProbeError {
    match probe(data) {
        Ok(info) => panic!("expected an error, got {info:?}"),
        Err(e) => e,
    }
}

pub fn be16(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}
pub fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}
pub fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}
pub fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// Concatenate byte pieces.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------- checksums

/// Bitwise CRC-32 (reflected, polynomial 0xEDB88320).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// A zlib stream holding `data` in stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let n = block.len() as u16;
        out.extend_from_slice(&le16(n));
        out.extend_from_slice(&le16(!n));
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&be32(adler32(data)));
    out
}

// ---------------------------------------------------------------------- PNG

pub const PNG_SIG: &[u8] = b"\x89PNG\r\n\x1a\n";

pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&be32(data.len() as u32));
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&be32(crc32(&crc_input)));
    out
}

pub fn ihdr(width: u32, height: u32) -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(&be32(width));
    data.extend_from_slice(&be32(height));
    data.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png_chunk(b"IHDR", &data)
}

/// A valid RGB PNG with a real (stored) deflate IDAT holding a gradient.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter type None
        for x in 0..width {
            raw.extend_from_slice(&[(x * 40) as u8, (y * 40) as u8, 128]);
        }
    }
    cat(&[
        PNG_SIG,
        &ihdr(width, height),
        &png_chunk(b"tEXt", b"Comment\0built by a test"),
        &png_chunk(b"IDAT", &zlib_stored(&raw)),
        &png_chunk(b"IEND", &[]),
    ])
}

/// A PNG whose IHDR states `width`x`height` but whose IDAT is tiny (for
/// dimension-bomb tests).
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    cat(&[
        PNG_SIG,
        &ihdr(width, height),
        &png_chunk(b"IDAT", &zlib_stored(&[0, 0, 0, 0])),
        &png_chunk(b"IEND", &[]),
    ])
}

// --------------------------------------------------------------------- JPEG

pub fn jpeg_segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&be16(payload.len() as u16 + 2));
    out.extend_from_slice(payload);
    out
}

pub fn sof(marker: u8, width: u16, height: u16) -> Vec<u8> {
    let mut p = vec![8];
    p.extend_from_slice(&be16(height));
    p.extend_from_slice(&be16(width));
    p.push(3);
    for id in 1..=3u8 {
        p.extend_from_slice(&[id, if id == 1 { 0x22 } else { 0x11 }, u8::from(id != 1)]);
    }
    jpeg_segment(marker, &p)
}

pub fn dht() -> Vec<u8> {
    let mut p = vec![0x00];
    let mut counts = [0u8; 16];
    counts[0] = 1;
    p.extend_from_slice(&counts);
    p.push(0);
    jpeg_segment(0xC4, &p)
}

pub fn sos() -> Vec<u8> {
    jpeg_segment(0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])
}

/// Entropy-coded bytes with stuffed zeros and a restart marker.
pub const ENTROPY: &[u8] = &[
    0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78, 0x9A, 0xFF, 0x00, 0xBC, 0xFF, 0xD1, 0xDE,
];

pub fn jfif() -> Vec<u8> {
    jpeg_segment(0xE0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0")
}

pub fn dqt() -> Vec<u8> {
    let mut p = vec![0];
    p.extend((1..=64u8).map(|i| i.max(1)));
    jpeg_segment(0xDB, &p)
}

/// A baseline JPEG assembled from segments.
pub fn jpeg(width: u16, height: u16) -> Vec<u8> {
    cat(&[
        &[0xFF, 0xD8],
        &jfif(),
        &dqt(),
        &sof(0xC0, width, height),
        &dht(),
        &sos(),
        ENTROPY,
        &[0xFF, 0xD9],
    ])
}

// ---------------------------------------------------------------------- GIF

pub fn gif_frame(width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00]; // graphic control
    out.push(0x2C);
    out.extend_from_slice(&le16(0));
    out.extend_from_slice(&le16(0));
    out.extend_from_slice(&le16(width));
    out.extend_from_slice(&le16(height));
    out.push(0x00); // no local colour table
    out.push(0x02); // LZW minimum code size
    out.extend_from_slice(&[0x02, 0x44, 0x01, 0x00]); // one sub-block, terminator
    out
}

pub fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&le16(width));
    out.extend_from_slice(&le16(height));
    out.extend_from_slice(&[0x80, 0x00, 0x00]); // 2-entry global colour table
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    if frames > 1 {
        out.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
    }
    for _ in 0..frames {
        out.extend_from_slice(&gif_frame(width, height));
    }
    out.extend_from_slice(b"\x21\xFE\x05hello\x00"); // comment
    out.push(0x3B);
    out
}

// ---------------------------------------------------------------------- BMP

/// An uncompressed 24-bit BMP with a BITMAPINFOHEADER.
pub fn bmp(width: i32, height: i32) -> Vec<u8> {
    let stride = (width.unsigned_abs() * 3).div_ceil(4) * 4;
    let pixels = (stride * height.unsigned_abs()) as usize;
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&le32(54 + pixels as u32));
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&le32(54));
    out.extend_from_slice(&le32(40));
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&le16(1));
    out.extend_from_slice(&le16(24));
    out.extend_from_slice(&[0; 24]); // compression .. important colours
    out.extend(std::iter::repeat_n(0x7F, pixels));
    out
}

// --------------------------------------------------------------------- RIFF

pub fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.extend_from_slice(&le32(data.len() as u32));
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

pub fn riff(form: &[u8; 4], chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = cat(&[form, &chunks.concat()]);
    cat(&[b"RIFF", &le32(body.len() as u32), &body])
}

pub fn webp_vp8l(width: u32, height: u32) -> Vec<u8> {
    let bits = (width - 1) | ((height - 1) << 14);
    let data = cat(&[&[0x2F], &le32(bits), &[0, 0, 0]]);
    riff(b"WEBP", &[riff_chunk(b"VP8L", &data)])
}

pub fn vp8_chunk(width: u16, height: u16) -> Vec<u8> {
    let data = cat(&[
        &[0x50, 0x01, 0x00], // key frame tag
        &[0x9D, 0x01, 0x2A],
        &le16(width),
        &le16(height),
        &[0u8; 8],
    ]);
    riff_chunk(b"VP8 ", &data)
}

pub fn webp_vp8(width: u16, height: u16) -> Vec<u8> {
    riff(b"WEBP", &[vp8_chunk(width, height)])
}

pub fn vp8x_chunk(width: u32, height: u32) -> Vec<u8> {
    let w = le32(width - 1);
    let h = le32(height - 1);
    let data = cat(&[&[0x10, 0, 0, 0], &w[..3], &h[..3]]);
    riff_chunk(b"VP8X", &data)
}

pub fn webp_vp8x(width: u32, height: u32) -> Vec<u8> {
    riff(
        b"WEBP",
        &[
            vp8x_chunk(width, height),
            riff_chunk(b"ALPH", &[0, 1, 2]),
            vp8_chunk(width as u16, height as u16),
        ],
    )
}

pub fn avi(width: u32, height: u32) -> Vec<u8> {
    let mut avih = vec![0u8; 56];
    avih[0..4].copy_from_slice(&le32(40_000));
    avih[24..28].copy_from_slice(&le32(1));
    avih[32..36].copy_from_slice(&le32(width));
    avih[36..40].copy_from_slice(&le32(height));
    let hdrl = cat(&[b"hdrl", &riff_chunk(b"avih", &avih)]);
    let movi = cat(&[b"movi", &riff_chunk(b"00dc", &[1, 2, 3, 4, 5])]);
    riff(
        b"AVI ",
        &[
            riff_chunk(b"LIST", &hdrl),
            riff_chunk(b"LIST", &movi),
            riff_chunk(b"idx1", &[0; 16]),
        ],
    )
}

// --------------------------------------------------------------------- TIFF

pub struct TiffEntry {
    pub tag: u16,
    pub typ: u16,
    pub count: u32,
    pub value: u32,
}

/// A TIFF with one IFD at offset 8 followed by the pixel strip.
pub fn tiff(little: bool, entries: &[TiffEntry], strip: &[u8]) -> Vec<u8> {
    let u16b = |v: u16| if little { le16(v) } else { be16(v) };
    let u32b = |v: u32| if little { le32(v) } else { be32(v) };
    let mut out = if little {
        b"II*\0".to_vec()
    } else {
        b"MM\0*".to_vec()
    };
    out.extend_from_slice(&u32b(8));
    out.extend_from_slice(&u16b(entries.len() as u16));
    for e in entries {
        out.extend_from_slice(&u16b(e.tag));
        out.extend_from_slice(&u16b(e.typ));
        out.extend_from_slice(&u32b(e.count));
        if e.typ == 3 && e.count == 1 {
            out.extend_from_slice(&u16b(e.value as u16));
            out.extend_from_slice(&[0, 0]);
        } else {
            out.extend_from_slice(&u32b(e.value));
        }
    }
    out.extend_from_slice(&u32b(0)); // no next IFD
    out.extend_from_slice(strip);
    out
}

/// An uncompressed 8-bit greyscale TIFF; `long` stores dimensions as LONG.
pub fn tiff_grey(little: bool, width: u32, height: u32, long: bool) -> Vec<u8> {
    let typ = if long { 4 } else { 3 };
    let strip_len = width * height;
    let strip_at = 8 + 2 + 6 * 12 + 4;
    let e = |tag, typ, count, value| TiffEntry {
        tag,
        typ,
        count,
        value,
    };
    tiff(
        little,
        &[
            e(256, typ, 1, width),
            e(257, typ, 1, height),
            e(258, 3, 1, 8),
            e(262, 3, 1, 1),
            e(273, 4, 1, strip_at),
            e(279, 4, 1, strip_len),
        ],
        &vec![0x55; strip_len as usize],
    )
}

// ----------------------------------------------------------------- ISO BMFF

pub fn bmff_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    cat(&[&be32(payload.len() as u32 + 8), kind, payload])
}

pub fn full_box(kind: &[u8; 4], version: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
    let vf = (u32::from(version) << 24) | flags;
    bmff_box(kind, &cat(&[&be32(vf), payload]))
}

pub fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    let mut p = major.to_vec();
    p.extend_from_slice(&be32(0));
    for c in compatible {
        p.extend_from_slice(*c);
    }
    bmff_box(b"ftyp", &p)
}

/// A track with a handler type and one sample entry.
pub fn trak(handler: &[u8; 4], entry: &[u8]) -> Vec<u8> {
    let tkhd = full_box(b"tkhd", 0, 3, &[0; 80]);
    let hdlr = full_box(
        b"hdlr",
        0,
        0,
        &cat(&[&[0; 4], handler, &[0; 12], b"handler\0"]),
    );
    let stsd = full_box(b"stsd", 0, 0, &cat(&[&be32(1), entry]));
    let stbl = bmff_box(b"stbl", &stsd);
    let minf = bmff_box(b"minf", &cat(&[&stbl, &bmff_box(b"dinf", &[])]));
    let mdia = bmff_box(
        b"mdia",
        &cat(&[&full_box(b"mdhd", 0, 0, &[0; 20]), &hdlr, &minf]),
    );
    bmff_box(b"trak", &cat(&[&tkhd, &mdia]))
}

/// An 'avc1' visual sample entry of the given size.
pub fn avc1_entry(width: u16, height: u16) -> Vec<u8> {
    bmff_box(
        b"avc1",
        &cat(&[
            &[0; 6],
            &be16(1),
            &[0; 16],
            &be16(width),
            &be16(height),
            &[0; 50],
        ]),
    )
}

/// An 'mp4a' audio sample entry.
pub fn mp4a_entry() -> Vec<u8> {
    bmff_box(
        b"mp4a",
        &cat(&[
            &[0; 6],
            &be16(1),
            &[0; 8],
            &be16(2),
            &be16(16),
            &[0; 4],
            &be32(48_000 << 16),
        ]),
    )
}

/// A movie header with an audio track, then a 320x240 video track.
pub fn moov() -> Vec<u8> {
    moov_with_video(320, 240)
}

pub fn moov_with_video(width: u16, height: u16) -> Vec<u8> {
    let mvhd = full_box(b"mvhd", 0, 0, &[0; 96]);
    let udta = bmff_box(
        b"udta",
        &cat(&[&bmff_box(b"\xa9nam", b"\0\x04\0\0test"), &[0; 4]]),
    );
    bmff_box(
        b"moov",
        &cat(&[
            &mvhd,
            &trak(b"soun", &mp4a_entry()),
            &trak(b"vide", &avc1_entry(width, height)),
            &udta,
        ]),
    )
}

pub fn mp4(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    cat(&[
        &ftyp(major, compatible),
        &moov(),
        &bmff_box(b"mdat", &[0xAB; 64]),
    ])
}

/// A HEIF/AVIF still: ftyp + meta (hdlr, pitm, iinf, iloc, iprp with ispe)
/// + mdat.
pub fn heif(major: &[u8; 4], compatible: &[&[u8; 4]], width: u32, height: u32) -> Vec<u8> {
    let hdlr = full_box(b"hdlr", 0, 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
    let pitm = full_box(b"pitm", 0, 0, &be16(1));
    let infe = full_box(b"infe", 2, 0, b"\0\x01\0\0hvc1\0");
    let iinf = full_box(b"iinf", 0, 0, &cat(&[&be16(1), &infe]));
    let ispe_thumb = full_box(b"ispe", 0, 0, &cat(&[&be32(8), &be32(8)]));
    let colr = bmff_box(b"colr", b"nclx\0\x01\0\x01\0\x01\0");
    let ispe = full_box(b"ispe", 0, 0, &cat(&[&be32(width), &be32(height)]));
    let ipco = bmff_box(b"ipco", &cat(&[&ispe_thumb, &colr, &ispe]));
    // Item 2 (a thumbnail) gets property 1, item 1 (primary) gets 2 and 3.
    let ipma = full_box(
        b"ipma",
        0,
        0,
        &cat(&[&be32(2), &be16(2), &[1, 0x81], &be16(1), &[2, 0x02, 0x83]]),
    );
    let iprp = bmff_box(b"iprp", &cat(&[&ipco, &ipma]));
    let ftyp = ftyp(major, compatible);
    // iloc (version 0, 4-byte offsets and lengths): item 1 lives in mdat.
    let iloc = |offset: u32| {
        full_box(
            b"iloc",
            0,
            0,
            &cat(&[
                &[0x44, 0x00],
                &be16(1),
                &be16(1),
                &be16(0),
                &be16(1),
                &be32(offset),
                &be32(32),
            ]),
        )
    };
    let meta = |offset| {
        full_box(
            b"meta",
            0,
            0,
            &cat(&[&hdlr, &pitm, &iloc(offset), &iinf, &iprp]),
        )
    };
    let mdat_data = (ftyp.len() + meta(0).len() + 8) as u32;
    cat(&[&ftyp, &meta(mdat_data), &bmff_box(b"mdat", &[0x11; 32])])
}

// --------------------------------------------------------------------- EBML

/// Encode an EBML size as a variable-length integer of `width` bytes.
pub fn vint(value: u64, width: usize) -> Vec<u8> {
    let marker = 1u64 << (7 * width);
    let v = value | marker;
    v.to_be_bytes()[8 - width..].to_vec()
}

pub fn ebml_el(id: &[u8], payload: &[u8]) -> Vec<u8> {
    cat(&[id, &vint(payload.len() as u64, 8), payload])
}

pub fn ebml_header(doc_type: &[u8]) -> Vec<u8> {
    let body = cat(&[
        &ebml_el(&[0x42, 0x86], &[1]),
        &ebml_el(&[0x42, 0xF7], &[1]),
        &ebml_el(&[0x42, 0xF2], &[4]),
        &ebml_el(&[0x42, 0xF3], &[8]),
        &ebml_el(&[0x42, 0x82], doc_type),
        &ebml_el(&[0x42, 0x87], &[4]),
        &ebml_el(&[0x42, 0x85], &[2]),
    ]);
    cat(&[
        &[0x1A, 0x45, 0xDF, 0xA3],
        &vint(body.len() as u64, 1),
        &body,
    ])
}

pub fn segment_body() -> Vec<u8> {
    let info = ebml_el(
        &[0x15, 0x49, 0xA9, 0x66],
        &ebml_el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
    );
    let video = ebml_el(
        &[0xE0],
        &cat(&[&ebml_el(&[0xB0], &be16(320)), &ebml_el(&[0xBA], &be16(240))]),
    );
    let audio = ebml_el(
        &[0xAE],
        &cat(&[&ebml_el(&[0xD7], &[1]), &ebml_el(&[0x83], &[2])]),
    );
    let entry = ebml_el(
        &[0xAE],
        &cat(&[&ebml_el(&[0xD7], &[2]), &ebml_el(&[0x83], &[1]), &video]),
    );
    let entry = cat(&[&audio, &entry]);
    let tracks = ebml_el(&[0x16, 0x54, 0xAE, 0x6B], &entry);
    let cluster = ebml_el(
        &[0x1F, 0x43, 0xB6, 0x75],
        &cat(&[
            &ebml_el(&[0xE7], &[0]),
            &ebml_el(&[0xA3], &[0x81, 0, 0, 0x80, 1, 2, 3]),
        ]),
    );
    cat(&[&info, &tracks, &cluster])
}

pub fn mkv(doc_type: &[u8]) -> Vec<u8> {
    cat(&[
        &ebml_header(doc_type),
        &ebml_el(&[0x18, 0x53, 0x80, 0x67], &segment_body()),
    ])
}

// ---------------------------------------------------------------------- RNG

/// A small deterministic PRNG (SplitMix64).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// One valid sample of every format.
pub fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("png", png(3, 2)),
        ("jpeg", jpeg(16, 8)),
        ("gif", gif(4, 4, 2)),
        ("bmp", bmp(3, -2)),
        ("webp-vp8l", webp_vp8l(5, 7)),
        ("webp-vp8", webp_vp8(5, 7)),
        ("webp-vp8x", webp_vp8x(5, 7)),
        ("tiff-le", tiff_grey(true, 4, 3, false)),
        ("tiff-be", tiff_grey(false, 4, 3, true)),
        ("mp4", mp4(b"isom", &[b"isom", b"avc1"])),
        ("mov", mp4(b"qt  ", &[b"qt  "])),
        ("3gp", mp4(b"3gp5", &[b"3gp5", b"isom"])),
        ("heif", heif(b"heic", &[b"mif1", b"heic"], 640, 480)),
        ("avif", heif(b"avif", &[b"mif1", b"avif"], 64, 32)),
        ("webm", mkv(b"webm")),
        ("mkv", mkv(b"matroska")),
        ("avi", avi(320, 240)),
    ]
}
