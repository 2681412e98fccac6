//! Hostile inputs: truncation at every offset, random bytes, mutations,
//! lying lengths and readers that would be expensive to read whole.

mod common;

use std::io::{self, Cursor, Read, Seek, SeekFrom};

use common::*;
use sightline_media::{Limits, probe, probe_bytes, sniff};

/// Assert every strict prefix of `data` is rejected; from `min_len` on, the
/// rejection must be "truncated" or "malformed".
fn assert_every_prefix_rejected(name: &str, data: &[u8], min_len: usize) {
    for k in 0..data.len() {
        match probe_bytes(&data[..k], &Limits::default()) {
            Ok(info) => panic!("{name}: prefix of {k} bytes accepted: {info:?}"),
            Err(e) if k == 0 => assert_eq!(e.code(), "empty"),
            Err(e) if k >= min_len => assert!(
                matches!(e.code(), "truncated" | "malformed"),
                "{name}: prefix of {k} bytes gave {}: {e}",
                e.code()
            ),
            Err(_) => {}
        }
    }
}

#[test]
fn png_cut_anywhere_is_truncated_or_malformed() {
    let data = png(3, 2);
    assert!(probe_bytes(&data, &Limits::default()).is_ok());
    assert_every_prefix_rejected("png", &data, 8);
}

#[test]
fn gif_cut_anywhere_is_truncated_or_malformed() {
    let data = gif(4, 4, 3);
    assert!(probe_bytes(&data, &Limits::default()).is_ok());
    assert_every_prefix_rejected("gif", &data, 6);
}

#[test]
fn jpeg_cut_anywhere_is_truncated_or_malformed() {
    let data = cat(&[
        &jpeg(16, 8)[..jpeg(16, 8).len() - 2],
        &dht(),
        &sos(),
        ENTROPY,
        &[0xFF, 0xD9],
    ]);
    assert!(probe_bytes(&data, &Limits::default()).is_ok());
    assert_every_prefix_rejected("jpeg", &data, 3);
}

#[test]
fn every_format_cut_anywhere_is_rejected() {
    for (name, data) in samples() {
        assert!(
            probe_bytes(&data, &Limits::default()).is_ok(),
            "{name} sample must be valid"
        );
        // Formats whose structure accounts for every byte: any cut is
        // detected. (TIFF here keeps its IFD before the pixel strip, whose
        // extent is checked.)
        assert_every_prefix_rejected(name, &data, usize::MAX);
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x5EED_0001);
    for _ in 0..3000 {
        let len = rng.below(600);
        let data = rng.bytes(len);
        let result = probe_bytes(&data, &Limits::default());
        if let Ok(info) = result {
            assert!(info.trailing_bytes <= data.len() as u64);
        }
        let _ = sniff(&data);
    }
}

#[test]
fn random_tails_after_real_signatures_never_panic() {
    let mut rng = Rng(0x5EED_0002);
    let samples = samples();
    for i in 0..4000 {
        let (_, sample) = &samples[i % samples.len()];
        // Keep a random-length prefix of a valid file and add random bytes.
        let keep = rng.below(sample.len().min(64)) + 1;
        let mut data = sample[..keep].to_vec();
        let extra = rng.below(400);
        data.extend(rng.bytes(extra));
        if let Ok(info) = probe_bytes(&data, &Limits::default()) {
            assert!(info.trailing_bytes <= data.len() as u64);
        }
    }
}

#[test]
fn mutated_valid_files_never_panic() {
    let mut rng = Rng(0x5EED_0003);
    let samples = samples();
    for i in 0..6000 {
        let (_, sample) = &samples[i % samples.len()];
        let mut data = sample.clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(data.len());
            match rng.below(5) {
                0 => data[at] ^= 1 << rng.below(8),
                1 => data[at] = 0xFF,
                2 => data[at] = 0x00,
                3 => {
                    let n = rng.below(8);
                    data.splice(at..at, rng.bytes(n));
                }
                _ => {
                    let end = (at + rng.below(8)).min(data.len());
                    data.drain(at..end);
                }
            }
            if data.is_empty() {
                break;
            }
        }
        if let Ok(info) = probe_bytes(&data, &Limits::default()) {
            assert!(info.trailing_bytes <= data.len() as u64);
        }
    }
}

#[test]
fn empty_and_non_media() {
    assert_eq!(code(b""), "empty");
    let err = error(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj");
    assert_eq!(err.code(), "not-media");
    assert_eq!(
        err.to_string(),
        "not a recognised image or video (looks like pdf)"
    );
    assert_eq!(code(b"<!doctype html><title>x</title>"), "not-media");
    assert_eq!(code(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), "not-media");
    assert_eq!(code(&[0u8; 100]), "not-media");
}

#[test]
fn stated_length_longer_than_reader() {
    let data = png(4, 4);
    let mut cursor = Cursor::new(&data);
    let err = probe(&mut cursor, data.len() as u64 + 1000, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "truncated", "{err}");
}

#[test]
fn probe_seeks_from_the_start_whatever_the_position() {
    let data = gif(2, 2, 1);
    let mut cursor = Cursor::new(&data);
    cursor.seek(SeekFrom::End(0)).unwrap();
    assert!(probe(&mut cursor, data.len() as u64, &Limits::default()).is_ok());
}

/// A virtual file: `head` followed by zeros up to `len`, counting the bytes
/// read. Lets tests stand in for huge files without allocating them.
struct Virtual {
    head: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
    pos: u64,
    read: u64,
}

impl Virtual {
    fn new(head: Vec<u8>, tail: Vec<u8>, len: u64) -> Self {
        Virtual {
            head,
            tail,
            len,
            pos: 0,
            read: 0,
        }
    }

    fn byte_at(&self, at: u64) -> u8 {
        let tail_start = self.len - self.tail.len() as u64;
        if at < self.head.len() as u64 {
            self.head[at as usize]
        } else if at >= tail_start {
            self.tail[(at - tail_start) as usize]
        } else {
            0
        }
    }
}

impl Read for Virtual {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = self.byte_at(self.pos + i as u64);
        }
        self.pos += n as u64;
        self.read += n as u64;
        Ok(n)
    }
}

impl Seek for Virtual {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

#[test]
fn huge_mp4_is_probed_without_reading_the_media_data() {
    // ftyp + moov + a 10 GiB mdat declared with a 64-bit size.
    let mdat_len: u64 = 10 << 30;
    let head = cat(&[
        &ftyp(b"isom", &[b"isom"]),
        &moov(),
        &be32(1),
        b"mdat",
        &(mdat_len + 16).to_be_bytes(),
    ]);
    let len = head.len() as u64 + mdat_len;
    let mut file = Virtual::new(head, Vec::new(), len);
    let info = probe(&mut file, len, &Limits::default()).unwrap();
    assert_eq!(info.format, sightline_media::Format::Mp4);
    assert!(file.read < 1 << 20, "read {} bytes", file.read);
}

#[test]
fn huge_png_is_probed_chunk_by_chunk() {
    // One 1 GiB IDAT chunk: only the headers are read.
    let idat_len: u64 = 1 << 30;
    let head = cat(&[PNG_SIG, &ihdr(8, 8), &be32(idat_len as u32), b"IDAT"]);
    let tail = cat(&[&[0; 4], &png_chunk(b"IEND", &[])]);
    let len = head.len() as u64 + idat_len + tail.len() as u64;
    let mut file = Virtual::new(head, tail, len);
    let info = probe(&mut file, len, &Limits::default()).unwrap();
    assert_eq!((info.width, info.height), (Some(8), Some(8)));
    assert!(file.read < 1 << 20, "read {} bytes", file.read);
}

#[test]
fn long_runs_of_fill_bytes_are_bounded() {
    // A JPEG whose scan data is megabytes of 0xFF fill: scanned linearly,
    // ending in "truncated" rather than hanging.
    let data = cat(&[&jpeg(8, 8)[..jpeg(8, 8).len() - 2], &vec![0xFF; 3 << 20]]);
    assert_eq!(code(&data), "truncated");
    // Megabytes of GIF sub-blocks without a terminator.
    let mut data = gif(2, 2, 1);
    data.pop();
    data.extend_from_slice(b"\x21\xFE");
    for _ in 0..20_000 {
        data.push(255);
        data.extend_from_slice(&[7; 255]);
    }
    assert_eq!(code(&data), "truncated");
}
