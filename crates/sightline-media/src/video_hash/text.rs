//! The reference's text format: one line per hashed frame,
//! `frame,quality,pdq_hex,timestamp`, the timestamp in seconds with three
//! decimals (`std::fixed << std::setprecision(3)` in the C++ writer,
//! `f"{timestamp:.3f}"` in the Python one; both round the binary value
//! correctly, as Rust's `{:.3}` does).

use std::fmt::Write as _;
use std::io;

use crate::pdq::PdqHash;

use super::VpdqFrame;

/// Why a vPDQ text file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseVpdqError {
    #[error(
        "line {line}: expected 4 comma-separated fields (frame,quality,hash,timestamp), found {found}"
    )]
    FieldCount { line: usize, found: usize },
    #[error("line {line}: frame number is not an unsigned integer")]
    Frame { line: usize },
    #[error("line {line}: frame numbers must increase (frame {frame} after {previous})")]
    FrameOrder {
        line: usize,
        frame: u32,
        previous: u32,
    },
    #[error("line {line}: quality is not an integer in 0..=100")]
    Quality { line: usize },
    #[error("line {line}: bad pdq hash: {reason}")]
    Hash { line: usize, reason: String },
    #[error("line {line}: timestamp is not a finite non-negative number")]
    Timestamp { line: usize },
}

impl ParseVpdqError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ParseVpdqError::FieldCount { .. } => "vpdq-text-fields",
            ParseVpdqError::Frame { .. } => "vpdq-text-frame",
            ParseVpdqError::FrameOrder { .. } => "vpdq-text-frame-order",
            ParseVpdqError::Quality { .. } => "vpdq-text-quality",
            ParseVpdqError::Hash { .. } => "vpdq-text-hash",
            ParseVpdqError::Timestamp { .. } => "vpdq-text-timestamp",
        }
    }

    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            ParseVpdqError::FieldCount { line, .. }
            | ParseVpdqError::Frame { line }
            | ParseVpdqError::FrameOrder { line, .. }
            | ParseVpdqError::Quality { line }
            | ParseVpdqError::Hash { line, .. }
            | ParseVpdqError::Timestamp { line } => *line,
        }
    }
}

/// One line of the reference format, without the newline.
pub fn format_frame(f: &VpdqFrame) -> String {
    let mut s = String::with_capacity(96);
    // Writing to a String cannot fail.
    let _ = write!(s, "{},{},{},{:.3}", f.frame, f.quality, f.hash, f.timestamp);
    s
}

/// The whole text, one `\n`-terminated line per frame.
pub fn to_vpdq_text(frames: &[VpdqFrame]) -> String {
    let mut s = String::with_capacity(frames.len() * 80);
    for f in frames {
        s.push_str(&format_frame(f));
        s.push('\n');
    }
    s
}

/// Write the text to `out`.
pub fn write_vpdq_text<W: io::Write>(mut out: W, frames: &[VpdqFrame]) -> io::Result<()> {
    for f in frames {
        writeln!(out, "{}", format_frame(f))?;
    }
    out.flush()
}

/// Parse the reference text. Blank lines and `\r\n` endings are accepted;
/// frame numbers must strictly increase; the hash may be in either case.
pub fn parse_vpdq_text(text: &str) -> Result<Vec<VpdqFrame>, ParseVpdqError> {
    let mut out = Vec::new();
    let mut previous: Option<u32> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() {
            continue;
        }
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if fields.len() != 4 {
            return Err(ParseVpdqError::FieldCount {
                line,
                found: fields.len(),
            });
        }
        let frame: u32 = parse_unsigned(fields[0]).ok_or(ParseVpdqError::Frame { line })?;
        if let Some(p) = previous
            && frame <= p
        {
            return Err(ParseVpdqError::FrameOrder {
                line,
                frame,
                previous: p,
            });
        }
        previous = Some(frame);
        let quality = parse_unsigned(fields[1])
            .filter(|q| *q <= 100)
            .ok_or(ParseVpdqError::Quality { line })? as u8;
        let hash: PdqHash =
            fields[2]
                .parse()
                .map_err(|e: crate::pdq::ParsePdqError| ParseVpdqError::Hash {
                    line,
                    reason: e.to_string(),
                })?;
        let timestamp: f64 = fields[3]
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite() && *t >= 0.0)
            .ok_or(ParseVpdqError::Timestamp { line })?;
        out.push(VpdqFrame {
            frame,
            quality,
            hash,
            timestamp,
        });
    }
    Ok(out)
}

/// Digits only (no sign, no spaces), fitting in `u32`.
fn parse_unsigned(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "0,100,e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c,0.000\n\
30,100,df83b48f2ad34d68169c36bc6d2f6b36ce5ed08701a301e9cbb9fc12f80b8154,1.000\n";

    #[test]
    fn round_trip() {
        let frames = parse_vpdq_text(SAMPLE).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].frame, 30);
        assert_eq!(frames[1].timestamp, 1.0);
        assert_eq!(to_vpdq_text(&frames), SAMPLE);
        let mut buf = Vec::new();
        write_vpdq_text(&mut buf, &frames).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), SAMPLE);
    }

    #[test]
    fn timestamp_rounding_matches_c() {
        // f32 division as the reference does it, printed like printf("%.3f").
        let ts = |frame: u32, fps: f64| f64::from(frame as f32 / fps as f32);
        let f = |t: f64| {
            format_frame(&VpdqFrame {
                frame: 0,
                quality: 0,
                hash: PdqHash::ZERO,
                timestamp: t,
            })
        };
        assert!(f(ts(1, 30.0)).ends_with(",0.033"));
        assert!(f(ts(2, 30.0)).ends_with(",0.067"));
        assert!(f(ts(1, 16.0)).ends_with(",0.062")); // exact tie: to even
        assert!(f(ts(1001, 30000.0 / 1001.0)).ends_with(",33.400"));
    }

    #[test]
    fn refusals() {
        let h = "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c";
        let e = |s: &str| parse_vpdq_text(s).unwrap_err();
        assert_eq!(e("1,2,3").code(), "vpdq-text-fields");
        assert_eq!(e(&format!("-1,100,{h},0.0")).code(), "vpdq-text-frame");
        assert_eq!(e(&format!("0,101,{h},0.0")).code(), "vpdq-text-quality");
        assert_eq!(e("0,100,abc,0.0").code(), "vpdq-text-hash");
        assert_eq!(e(&format!("0,100,{h},nan")).code(), "vpdq-text-timestamp");
        let err = e(&format!("5,100,{h},0.0\n\n5,100,{h},0.1"));
        assert_eq!(err.code(), "vpdq-text-frame-order");
        assert_eq!(err.line(), 3);
        assert!(parse_vpdq_text("\n\r\n").unwrap().is_empty());
    }
}
