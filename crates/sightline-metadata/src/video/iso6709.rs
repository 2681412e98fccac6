//! ISO 6709 point strings (`+37.7858-122.4064+012.000/`) as written by
//! QuickTime `©xyz`, Apple's `com.apple.quicktime.location.ISO6709` key and
//! ffmpeg's `location` tag.
//!
//! Accepted, per component: degrees (`±DD.DDD`, `±DDD.DDD`), degrees and
//! minutes (`±DDMM.MM`, `±DDDMM.MM`) and degrees, minutes and seconds
//! (`±DDMMSS.S`, `±DDDMMSS.S`), the fraction always belonging to the last
//! unit; then an optional altitude `±AAA.A`, an optional `CRS…` label and
//! an optional terminating `/`. Out-of-range values are errors, never
//! clamped.

use std::fmt;

use sightline_core::GeoPoint;

/// Why an ISO 6709 string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iso6709Error {
    /// Nothing but whitespace / NULs.
    Empty,
    /// The text does not follow the notation; says what was expected.
    Syntax(String),
    /// A value outside its range (latitude beyond ±90, minutes ≥ 60, …).
    OutOfRange(String),
}

impl fmt::Display for Iso6709Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Iso6709Error::Empty => f.write_str("empty iso 6709 string"),
            Iso6709Error::Syntax(m) => write!(f, "iso 6709 syntax: {m}"),
            Iso6709Error::OutOfRange(m) => write!(f, "iso 6709 out of range: {m}"),
        }
    }
}

impl std::error::Error for Iso6709Error {}

/// Parse an ISO 6709 point string into signed decimal degrees (and metres
/// of altitude when present).
pub fn parse_iso6709(text: &str) -> Result<GeoPoint, Iso6709Error> {
    let s = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    if s.is_empty() {
        return Err(Iso6709Error::Empty);
    }
    let mut cur = Cursor {
        s: s.as_bytes(),
        pos: 0,
    };
    let lat = cur
        .number()
        .ok_or_else(|| syntax("expected a signed latitude at the start"))?;
    let lon = cur
        .number()
        .ok_or_else(|| syntax("expected a signed longitude after the latitude"))?;
    let lat = angle(&lat, 2, 90.0, "latitude")?;
    let lon = angle(&lon, 3, 180.0, "longitude")?;
    let alt = cur.number().map(|n| n.value());
    if cur.rest().starts_with(b"CRS") {
        // A coordinate reference system label runs up to the terminator.
        while let Some(&b) = cur.s.get(cur.pos) {
            if b == b'/' {
                break;
            }
            cur.pos += 1;
        }
    }
    if cur.rest().first() == Some(&b'/') {
        cur.pos += 1;
    }
    if !cur.rest().is_empty() {
        let rest = String::from_utf8_lossy(cur.rest());
        return Err(syntax(&format!(
            "unexpected trailing text {:?}",
            truncate(&rest, 40)
        )));
    }
    Ok(GeoPoint { lat, lon, alt })
}

fn syntax(message: &str) -> Iso6709Error {
    Iso6709Error::Syntax(message.to_string())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A signed number as written: sign, integer digits, optional fraction.
struct Number<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
}

impl Number<'_> {
    fn digits_value(digits: &[u8]) -> f64 {
        digits
            .iter()
            .fold(0.0, |acc, &d| acc * 10.0 + f64::from(d - b'0'))
    }

    /// The fraction digits as a value in `[0, 1)`.
    fn fraction(&self) -> f64 {
        let mut scale = 1.0;
        let mut value = 0.0;
        for &d in self.frac {
            scale /= 10.0;
            value += f64::from(d - b'0') * scale;
        }
        value
    }

    fn value(&self) -> f64 {
        let v = Self::digits_value(self.int) + self.fraction();
        if self.negative { -v } else { v }
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or(&[])
    }

    /// `[+-]digits[.digits]`, or `None` (position unchanged) when the next
    /// character is not a sign or no digit follows it.
    fn number(&mut self) -> Option<Number<'a>> {
        let rest = self.rest();
        let negative = match rest.first()? {
            b'+' => false,
            b'-' => true,
            _ => return None,
        };
        let int_len = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if int_len == 0 {
            return None;
        }
        let int = &rest[1..1 + int_len];
        let mut used = 1 + int_len;
        let mut frac: &[u8] = &[];
        if rest.get(used) == Some(&b'.') {
            let frac_len = rest[used + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if frac_len == 0 {
                return None;
            }
            frac = &rest[used + 1..used + 1 + frac_len];
            used += 1 + frac_len;
        }
        self.pos += used;
        Some(Number {
            negative,
            int,
            frac,
        })
    }
}

/// Interpret a latitude (`deg_digits` = 2) or longitude (3) in whichever of
/// the three notations its integer digit count says.
fn angle(n: &Number<'_>, deg_digits: usize, max: f64, what: &str) -> Result<f64, Iso6709Error> {
    let int = n.int;
    let frac = n.fraction();
    let (deg, min, sec) = if int.len() == deg_digits {
        (Number::digits_value(int) + frac, 0.0, 0.0)
    } else if int.len() == deg_digits + 2 {
        let (d, m) = int.split_at(deg_digits);
        (Number::digits_value(d), Number::digits_value(m) + frac, 0.0)
    } else if int.len() == deg_digits + 4 {
        let (d, ms) = int.split_at(deg_digits);
        let (m, s) = ms.split_at(2);
        (
            Number::digits_value(d),
            Number::digits_value(m),
            Number::digits_value(s) + frac,
        )
    } else {
        return Err(syntax(&format!(
            "{what} has {} integer digits; expected {}, {} or {}",
            int.len(),
            deg_digits,
            deg_digits + 2,
            deg_digits + 4
        )));
    };
    if min >= 60.0 {
        return Err(Iso6709Error::OutOfRange(format!(
            "{what} minutes {min} not below 60"
        )));
    }
    if sec >= 60.0 {
        return Err(Iso6709Error::OutOfRange(format!(
            "{what} seconds {sec} not below 60"
        )));
    }
    let value = deg + min / 60.0 + sec / 3600.0;
    if value > max {
        return Err(Iso6709Error::OutOfRange(format!(
            "{what} {}{value} beyond ±{max}",
            if n.negative { "-" } else { "" }
        )));
    }
    Ok(if n.negative { -value } else { value })
}
