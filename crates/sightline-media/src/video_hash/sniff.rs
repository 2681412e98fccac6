//! Which video container a file is, judged by its first bytes only.
//!
//! ffmpeg is never asked to guess: a file is handed to it only after its
//! opening bytes show one of the containers below, and then with that one
//! demuxer named (`-f`) and whitelisted (`-format_whitelist`). Playlists
//! (`#EXTM3U`), concat scripts and other text can make ffmpeg open further
//! files or URLs; they are refused here, before any process starts.

use std::fmt;

/// How many leading bytes [`sniff_container`] looks at.
pub const SNIFF_LEN: usize = 1024;

/// A video container ffmpeg may be asked to demux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// ISO base media file format: MP4, MOV, M4V, 3GP (`ftyp`, or a bare
    /// QuickTime `moov`/`mdat`/`wide`/`free` first atom).
    IsoBmff,
    /// Matroska and WebM (EBML header).
    Matroska,
    /// RIFF AVI.
    Avi,
    /// MPEG transport stream, 188-byte packets (or 192-byte M2TS packets).
    MpegTs,
    /// Flash video.
    Flv,
}

impl Container {
    /// The ffmpeg demuxer passed with `-f`.
    pub fn demuxer(self) -> &'static str {
        match self {
            Container::IsoBmff => "mov",
            Container::Matroska => "matroska",
            Container::Avi => "avi",
            Container::MpegTs => "mpegts",
            Container::Flv => "flv",
        }
    }

    /// The demuxer's full name, passed with `-format_whitelist` so that no
    /// other demuxer can be opened (nested or otherwise).
    pub fn format_whitelist(self) -> &'static str {
        match self {
            Container::IsoBmff => "mov,mp4,m4a,3gp,3g2,mj2",
            Container::Matroska => "matroska,webm",
            Container::Avi => "avi",
            Container::MpegTs => "mpegts",
            Container::Flv => "flv",
        }
    }

    /// A short lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Container::IsoBmff => "iso-bmff",
            Container::Matroska => "matroska",
            Container::Avi => "avi",
            Container::MpegTs => "mpeg-ts",
            Container::Flv => "flv",
        }
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a file was not taken for a video container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotVideo {
    /// No bytes at all.
    Empty,
    /// An HLS/M3U playlist: it would make ffmpeg open the files it lists.
    Playlist,
    /// An ffmpeg concat script: same danger.
    ConcatScript,
    /// An SDP or other session description naming network sources.
    SessionDescription,
    /// Plain text of some other kind.
    Text,
    /// A still image in an ISO-BMFF wrapper (HEIF, AVIF).
    StillImage,
    /// An audio-only container (WAV, MP3, FLAC, Ogg).
    AudioContainer,
    /// None of the known signatures.
    Unknown,
}

impl NotVideo {
    /// A lowercase description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            NotVideo::Empty => "the file is empty",
            NotVideo::Playlist => "an hls/m3u playlist, which would open other files",
            NotVideo::ConcatScript => "an ffmpeg concat script, which would open other files",
            NotVideo::SessionDescription => "a session description naming network sources",
            NotVideo::Text => "text, not a video container",
            NotVideo::StillImage => "a still image (heif/avif), not a video",
            NotVideo::AudioContainer => "an audio-only container",
            NotVideo::Unknown => "no known video container signature",
        }
    }

    /// A stable code fragment.
    pub fn code(self) -> &'static str {
        match self {
            NotVideo::Empty => "empty",
            NotVideo::Playlist => "playlist",
            NotVideo::ConcatScript => "concat-script",
            NotVideo::SessionDescription => "session-description",
            NotVideo::Text => "text",
            NotVideo::StillImage => "still-image",
            NotVideo::AudioContainer => "audio-container",
            NotVideo::Unknown => "unknown",
        }
    }
}

impl fmt::Display for NotVideo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Judge a file by its first bytes (pass at least [`SNIFF_LEN`] when the
/// file has that many).
pub fn sniff_container(head: &[u8]) -> Result<Container, NotVideo> {
    if head.is_empty() {
        return Err(NotVideo::Empty);
    }
    // Text-based inputs that make ffmpeg open other resources, checked first
    // and tolerant of a BOM and leading blank space.
    let text = strip_text_prefix(head);
    if starts_with_ignore_case(text, b"#EXTM3U") || starts_with_ignore_case(text, b"#EXT-X-") {
        return Err(NotVideo::Playlist);
    }
    if starts_with_ignore_case(text, b"ffconcat") || starts_with_ignore_case(text, b"# ffconcat") {
        return Err(NotVideo::ConcatScript);
    }
    if starts_with_ignore_case(text, b"v=0") {
        return Err(NotVideo::SessionDescription);
    }

    if head.len() >= 8 {
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let kind = &head[4..8];
        if kind == b"ftyp" {
            if (size == 0 || size >= 12) && head.len() >= 12 && is_still_image_brand(&head[8..12]) {
                return Err(NotVideo::StillImage);
            }
            if size == 0 || size >= 8 {
                return Ok(Container::IsoBmff);
            }
        }
        // Classic QuickTime files may open with another top-level atom.
        if (size == 0 || size == 1 || size >= 8)
            && matches!(
                kind,
                b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot"
            )
        {
            return Ok(Container::IsoBmff);
        }
    }
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Ok(Container::Matroska);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" {
        return match &head[8..12] {
            b"AVI " | b"AVIX" => Ok(Container::Avi),
            b"WAVE" => Err(NotVideo::AudioContainer),
            _ => Err(NotVideo::Unknown),
        };
    }
    if head.len() >= 4 && &head[0..3] == b"FLV" && head[3] == 1 {
        return Ok(Container::Flv);
    }
    if is_mpeg_ts(head, 188, 0) || is_mpeg_ts(head, 192, 4) {
        return Ok(Container::MpegTs);
    }
    if head.starts_with(b"ID3")
        || head.starts_with(b"fLaC")
        || head.starts_with(b"OggS")
        || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
    {
        return Err(NotVideo::AudioContainer);
    }
    if looks_like_text(head) {
        return Err(NotVideo::Text);
    }
    Err(NotVideo::Unknown)
}

fn strip_text_prefix(head: &[u8]) -> &[u8] {
    let mut s = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// HEIF/AVIF image brands (not image sequences such as `msf1`/`avis`).
fn is_still_image_brand(brand: &[u8]) -> bool {
    matches!(
        brand,
        b"heic" | b"heix" | b"mif1" | b"avif" | b"heim" | b"heis"
    )
}

/// Sync bytes at every packet start the head covers, at least two packets.
fn is_mpeg_ts(head: &[u8], packet: usize, offset: usize) -> bool {
    let starts: Vec<usize> = (0..)
        .map(|i| offset + i * packet)
        .take_while(|&p| p < head.len())
        .collect();
    starts.len() >= 2 && starts.iter().all(|&p| head[p] == 0x47)
}

fn looks_like_text(head: &[u8]) -> bool {
    let sample = &head[..head.len().min(512)];
    match std::str::from_utf8(sample) {
        Ok(s) => s.chars().all(|c| !c.is_control() || c.is_whitespace()),
        // A multi-byte character cut at the end of the sample.
        Err(e) if e.error_len().is_none() => {
            let s = std::str::from_utf8(&sample[..e.valid_up_to()]).unwrap_or("");
            s.chars().all(|c| !c.is_control() || c.is_whitespace())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_containers() {
        let mut mp4 = vec![0, 0, 0, 0x18];
        mp4.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
        assert_eq!(sniff_container(&mp4), Ok(Container::IsoBmff));
        assert_eq!(sniff_container(b"\0\0\0\x08moov"), Ok(Container::IsoBmff));
        assert_eq!(
            sniff_container(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]),
            Ok(Container::Matroska)
        );
        assert_eq!(sniff_container(b"RIFF\0\0\0\0AVI LIST"), Ok(Container::Avi));
        assert_eq!(
            sniff_container(b"FLV\x01\x05\0\0\0\x09"),
            Ok(Container::Flv)
        );
        let mut ts = vec![0u8; 188 * 3];
        for p in 0..3 {
            ts[p * 188] = 0x47;
        }
        assert_eq!(sniff_container(&ts), Ok(Container::MpegTs));
        ts[188] = 0;
        assert_eq!(sniff_container(&ts), Err(NotVideo::Unknown));
    }

    #[test]
    fn refuses_dangerous_and_non_video() {
        assert_eq!(sniff_container(b""), Err(NotVideo::Empty));
        assert_eq!(
            sniff_container(b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n"),
            Err(NotVideo::Playlist)
        );
        assert_eq!(
            sniff_container(b"\xEF\xBB\xBF  #extm3u\n"),
            Err(NotVideo::Playlist)
        );
        assert_eq!(
            sniff_container(b"ffconcat version 1.0\nfile a.mp4\n"),
            Err(NotVideo::ConcatScript)
        );
        assert_eq!(
            sniff_container(b"v=0\no=- 0 0 IN IP4 127.0.0.1\n"),
            Err(NotVideo::SessionDescription)
        );
        assert_eq!(sniff_container(b"hello world\n"), Err(NotVideo::Text));
        assert_eq!(
            sniff_container(b"RIFF\0\0\0\0WAVEfmt "),
            Err(NotVideo::AudioContainer)
        );
        assert_eq!(
            sniff_container(b"ID3\x04\0\0"),
            Err(NotVideo::AudioContainer)
        );
        let mut heic = vec![0, 0, 0, 0x18];
        heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
        assert_eq!(sniff_container(&heic), Err(NotVideo::StillImage));
        assert_eq!(
            sniff_container(&[0u8, 1, 2, 3, 0xFE]),
            Err(NotVideo::Unknown)
        );
    }
}
