//! Recognition of file formats from their first bytes.

use crate::Format;

/// What the first bytes of a file look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sniffed {
    /// A supported image or video format.
    Media(Format),
    /// Something else, with a short description such as `"empty"`, `"text"`,
    /// `"pdf"`, `"zip"`, `"html"`, `"elf executable"` or `"unknown binary"`.
    Other(&'static str),
}

impl Sniffed {
    /// The media format, if one was recognised.
    pub fn format(self) -> Option<Format> {
        match self {
            Sniffed::Media(format) => Some(format),
            Sniffed::Other(_) => None,
        }
    }
}

/// Recognise a format from the first bytes of a file.
///
/// Pass at least 64 bytes when the file has them; fewer is fine, but a file
/// shorter than a format's signature is not recognised as that format. The
/// verdict is based on content only: signatures, and for ISO BMFF files the
/// `ftyp` brands.
pub fn sniff(head: &[u8]) -> Sniffed {
    if head.is_empty() {
        return Sniffed::Other("empty");
    }
    if let Some(found) = sniff_media(head) {
        return found;
    }
    Sniffed::Other(describe_other(head))
}

fn sniff_media(h: &[u8]) -> Option<Sniffed> {
    use Format::*;
    let media = |f| Some(Sniffed::Media(f));
    if h.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return media(Jpeg);
    }
    if h.starts_with(b"\x89PNG\r\n\x1a\n") {
        return media(Png);
    }
    if h.starts_with(b"GIF87a") || h.starts_with(b"GIF89a") {
        return media(Gif);
    }
    if h.starts_with(b"RIFF") && h.len() >= 12 {
        return match &h[8..12] {
            b"WEBP" => media(Webp),
            b"AVI " => media(Avi),
            b"WAVE" => Some(Sniffed::Other("wav audio")),
            _ => Some(Sniffed::Other("riff")),
        };
    }
    if h.starts_with(b"II*\0") || h.starts_with(b"MM\0*") {
        return media(Tiff);
    }
    if h.starts_with(b"II+\0") || h.starts_with(b"MM\0+") {
        return media(Tiff);
    }
    if h.starts_with(b"BM") && h.len() >= 18 {
        let dib = u32::from_le_bytes([h[14], h[15], h[16], h[17]]);
        if crate::bmp::valid_dib_size(dib) {
            return media(Bmp);
        }
    }
    if h.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        let webm = memchr::memmem::find(h, b"\x42\x82\x84webm").is_some();
        return media(if webm { Webm } else { Matroska });
    }
    if h.len() >= 8 {
        let kind = &h[4..8];
        if kind == b"ftyp" {
            return Some(sniff_ftyp(h));
        }
        if crate::bmff::is_classic_quicktime_start(kind) {
            return media(QuickTime);
        }
    }
    None
}

/// Decide the format from the (possibly cut) `ftyp` box at the start of `h`.
fn sniff_ftyp(h: &[u8]) -> Sniffed {
    let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
    let end = if size >= 16 {
        size.min(h.len())
    } else {
        h.len()
    };
    let body = h.get(8..end).unwrap_or(&[]);
    match crate::bmff::classify_ftyp(body) {
        Ok(format) => Sniffed::Media(format),
        Err(other) => Sniffed::Other(other),
    }
}

fn describe_other(h: &[u8]) -> &'static str {
    const SIGS: &[(&[u8], &str)] = &[
        (b"%PDF-", "pdf"),
        (b"PK\x03\x04", "zip"),
        (b"PK\x05\x06", "zip"),
        (b"PK\x07\x08", "zip"),
        (b"\x7fELF", "elf executable"),
        (b"MZ", "windows executable"),
        (b"\xfe\xed\xfa\xce", "mach-o executable"),
        (b"\xfe\xed\xfa\xcf", "mach-o executable"),
        (b"\xce\xfa\xed\xfe", "mach-o executable"),
        (b"\xcf\xfa\xed\xfe", "mach-o executable"),
        (b"\xca\xfe\xba\xbe", "java class or mach-o binary"),
        (b"\x1f\x8b", "gzip"),
        (b"BZh", "bzip2"),
        (b"\xfd7zXZ\0", "xz"),
        (b"\x28\xb5\x2f\xfd", "zstd"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"Rar!\x1a\x07", "rar"),
        (b"SQLite format 3\0", "sqlite database"),
        (b"OggS", "ogg"),
        (b"fLaC", "flac audio"),
        (b"ID3", "mp3 audio"),
        (b"FLV\x01", "flv video (unsupported)"),
        (
            b"\x30\x26\xb2\x75\x8e\x66\xcf\x11",
            "asf/wmv video (unsupported)",
        ),
        (b"\x00\x00\x01\xba", "mpeg program stream (unsupported)"),
        (b"\x00\x00\x01\xb3", "mpeg video (unsupported)"),
        (b"\xff\x0a", "jpeg xl (unsupported)"),
        (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "jpeg xl (unsupported)"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jpeg 2000 (unsupported)"),
        (b"\xff\x4f\xff\x51", "jpeg 2000 (unsupported)"),
        (b"8BPS", "photoshop document"),
        (b"\x00\x00\x01\x00", "icon"),
        (b"qoif", "qoi image (unsupported)"),
        (b"wOFF", "web font"),
        (b"wOF2", "web font"),
        (b"{\\rtf", "rtf"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2 document"),
        (b"!<arch>\n", "ar archive"),
    ];
    for (sig, name) in SIGS {
        if h.starts_with(sig) {
            return name;
        }
    }
    // An MPEG transport stream: sync bytes every 188 bytes.
    if h[0] == 0x47 && h.len() > 188 && h[188] == 0x47 {
        return "mpeg transport stream (unsupported)";
    }
    // MP3 frame sync without an ID3 tag.
    if h.len() >= 2 && h[0] == 0xFF && (h[1] & 0xE6) == 0xE2 {
        return "mp3 audio";
    }
    if let Some(text) = as_text(h) {
        return classify_text(text);
    }
    "unknown binary"
}

/// The head as text if it looks like UTF-8 text without binary control bytes.
fn as_text(h: &[u8]) -> Option<&str> {
    let h = h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h);
    let text = match std::str::from_utf8(h) {
        Ok(t) => t,
        // A multi-byte character cut at the end of the head is fine.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&h[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let binary = text
        .bytes()
        .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b));
    (!binary).then_some(text)
}

fn classify_text(text: &str) -> &'static str {
    let t = text.trim_start();
    let lower: String = t.chars().take(256).collect::<String>().to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        return "html";
    }
    if lower.starts_with("<svg") || (lower.starts_with("<?xml") && lower.contains("<svg")) {
        return "svg";
    }
    if lower.starts_with("<?xml") {
        return "xml";
    }
    if lower.starts_with("<head") || lower.starts_with("<body") || lower.contains("<html") {
        return "html";
    }
    if t.starts_with('{') || t.starts_with('[') {
        return "json";
    }
    if t.starts_with("#!") {
        return "script";
    }
    "text"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format::*;

    fn media(h: &[u8]) -> Option<Format> {
        sniff(h).format()
    }

    fn other(h: &[u8]) -> &'static str {
        match sniff(h) {
            Sniffed::Other(s) => s,
            Sniffed::Media(f) => panic!("unexpectedly media: {f}"),
        }
    }

    #[test]
    fn image_signatures() {
        assert_eq!(media(b"\xff\xd8\xff\xe0\0\x10JFIF"), Some(Jpeg));
        assert_eq!(media(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(Png));
        assert_eq!(media(b"GIF87a"), Some(Gif));
        assert_eq!(media(b"GIF89a\x01\0"), Some(Gif));
        assert_eq!(media(b"RIFF\0\0\0\0WEBPVP8 "), Some(Webp));
        assert_eq!(media(b"II*\0\x08\0\0\0"), Some(Tiff));
        assert_eq!(media(b"MM\0*\0\0\0\x08"), Some(Tiff));
        let mut bmp = b"BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0".to_vec();
        assert_eq!(media(&bmp), Some(Bmp));
        bmp[14] = 41;
        assert_eq!(other(&bmp), "unknown binary");
    }

    #[test]
    fn video_signatures() {
        assert_eq!(media(b"RIFF\0\0\0\0AVI LIST"), Some(Avi));
        assert_eq!(
            media(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm"),
            Some(Webm)
        );
        assert_eq!(
            media(b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska"),
            Some(Matroska)
        );
        assert_eq!(media(b"\0\0\0\x08wide\0\0\0\x10mdat"), Some(QuickTime));
        assert_eq!(media(b"\0\0\0\x20moov"), Some(QuickTime));
    }

    #[test]
    fn ftyp_brands() {
        let ftyp = |major: &[u8], compat: &[&[u8]]| {
            let mut b = Vec::new();
            b.extend_from_slice(&((16 + 4 * compat.len()) as u32).to_be_bytes());
            b.extend_from_slice(b"ftyp");
            b.extend_from_slice(major);
            b.extend_from_slice(&[0, 0, 0, 0]);
            for c in compat {
                b.extend_from_slice(c);
            }
            sniff(&b)
        };
        assert_eq!(ftyp(b"isom", &[b"isom", b"avc1"]), Sniffed::Media(Mp4));
        assert_eq!(ftyp(b"mp42", &[]), Sniffed::Media(Mp4));
        assert_eq!(ftyp(b"qt  ", &[b"qt  "]), Sniffed::Media(QuickTime));
        assert_eq!(ftyp(b"3gp5", &[b"3gp5"]), Sniffed::Media(ThreeGp));
        assert_eq!(ftyp(b"3g2a", &[]), Sniffed::Media(ThreeGp));
        assert_eq!(ftyp(b"heic", &[b"mif1", b"heic"]), Sniffed::Media(Heif));
        assert_eq!(ftyp(b"mif1", &[b"mif1", b"heic"]), Sniffed::Media(Heif));
        assert_eq!(ftyp(b"avif", &[b"mif1", b"miaf"]), Sniffed::Media(Avif));
        assert_eq!(ftyp(b"mif1", &[b"avif", b"miaf"]), Sniffed::Media(Avif));
        assert_eq!(ftyp(b"M4A ", &[b"M4A ", b"mp42"]), Sniffed::Other("audio"));
    }

    #[test]
    fn other_descriptions() {
        assert_eq!(other(b""), "empty");
        assert_eq!(other(b"%PDF-1.7\n"), "pdf");
        assert_eq!(other(b"PK\x03\x04\x14\0"), "zip");
        assert_eq!(other(b"\x7fELF\x02\x01\x01"), "elf executable");
        assert_eq!(other(b"  <!DOCTYPE html><html>"), "html");
        assert_eq!(other(b"<html><body>hi"), "html");
        assert_eq!(other(b"hello world\n"), "text");
        assert_eq!(other("h\u{e9}llo".as_bytes()), "text");
        assert_eq!(other(b"{\"a\": 1}"), "json");
        assert_eq!(other(b"<?xml version=\"1.0\"?><svg "), "svg");
        assert_eq!(other(b"\0\x01\x02\x03\x04"), "unknown binary");
        assert_eq!(other(b"RIFF\0\0\0\0WAVEfmt "), "wav audio");
        // Shorter than the signature: not recognised.
        assert_eq!(other(b"\x89PN"), "unknown binary");
        assert_eq!(other(b"GIF8"), "text");
    }
}
