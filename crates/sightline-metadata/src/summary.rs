//! Picking the values analysts read first out of all fields.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use sightline_core::{GeoPoint, MetaField, MetaSummary, MetaTime};

pub(crate) fn summarise(fields: &[MetaField]) -> MetaSummary {
    let s = |k: &str| {
        fields
            .iter()
            .find(|f| f.key == k)
            .and_then(|f| match &f.value {
                serde_json::Value::String(s) => Some(s.trim().to_string()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    let n = |k: &str| {
        fields
            .iter()
            .find(|f| f.key == k)
            .and_then(|f| f.value.as_f64())
    };
    let time = |key: &str, sub: Option<&str>, off: Option<&str>| -> Option<MetaTime> {
        let value = s(key)?;
        Some(meta_time(value, sub.and_then(s), off.and_then(s), key))
    };
    let first = |cands: &[(&str, Option<&str>, Option<&str>)]| {
        cands.iter().find_map(|(k, sub, off)| time(k, *sub, *off))
    };
    let mut sum = MetaSummary {
        taken_at: first(&[
            (
                "ExifIFD:DateTimeOriginal",
                Some("ExifIFD:SubSecTimeOriginal"),
                Some("ExifIFD:OffsetTimeOriginal"),
            ),
            ("XMP-exif:DateTimeOriginal", None, None),
            ("XMP-photoshop:DateCreated", None, None),
            ("PNG:CreationTime", None, None),
        ]),
        created_at: first(&[
            (
                "ExifIFD:CreateDate",
                Some("ExifIFD:SubSecTimeDigitized"),
                Some("ExifIFD:OffsetTimeDigitized"),
            ),
            ("XMP-xmp:CreateDate", None, None),
        ]),
        modified_at: first(&[
            (
                "IFD0:ModifyDate",
                Some("ExifIFD:SubSecTime"),
                Some("ExifIFD:OffsetTime"),
            ),
            ("XMP-xmp:ModifyDate", None, None),
        ]),
        make: s("IFD0:Make").or_else(|| s("XMP-tiff:Make")),
        model: s("IFD0:Model").or_else(|| s("XMP-tiff:Model")),
        lens: s("ExifIFD:LensModel").or_else(|| s("XMP-aux:Lens")),
        orientation: n("IFD0:Orientation").map(|o| o as u16),
        ..MetaSummary::default()
    };
    if let (Some(lat), Some(lon)) = (n("Composite:GPSLatitude"), n("Composite:GPSLongitude")) {
        sum.gps = Some(GeoPoint {
            lat,
            lon,
            alt: n("Composite:GPSAltitude"),
        });
        sum.gps_origin = Some("GPS:GPSLatitude,GPS:GPSLongitude".into());
    }
    let mut software: Vec<String> = Vec::new();
    for f in fields {
        let k = f.key.as_str();
        let named = matches!(
            k,
            "IFD0:Software"
                | "XMP-xmp:CreatorTool"
                | "XMP-xmpMM:HistorySoftwareAgent"
                | "PNG:Software"
        );
        if !named {
            continue;
        }
        let vals: Vec<&str> = match &f.value {
            serde_json::Value::String(s) => vec![s.as_str()],
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => vec![],
        };
        for v in vals {
            let v = v.trim();
            if !v.is_empty() && !software.iter().any(|s| s == v) {
                software.push(v.to_string());
            }
        }
    }
    sum.software = software;
    sum
}

/// The summary of a video: container creation time (UTC by the
/// QuickTime/ISO convention unless it says otherwise), device, location,
/// encoder.
pub(crate) fn summarise_video(m: &sightline_core::Metadata) -> MetaSummary {
    let Some(v) = &m.video else {
        return MetaSummary::default();
    };
    let taken_at = v.creation_time.as_ref().map(|t| {
        let mut mt = meta_time(t.clone(), None, None, "video:creation_time");
        if mt.utc.is_none() {
            // `2021-10-08T09:00:00.000000Z` and friends.
            if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
                mt.offset = Some(dt.format("%:z").to_string());
                mt.utc = Some(dt.with_timezone(&Utc));
            }
        }
        mt
    });
    MetaSummary {
        taken_at,
        gps: v.location.clone(),
        gps_origin: v.location_origin.clone(),
        make: v.make.clone(),
        model: v.model.clone(),
        software: v.encoder.iter().cloned().collect(),
        orientation: None,
        ..MetaSummary::default()
    }
}

/// A time as written, plus its UTC form when an offset is known. Accepts
/// EXIF layout (`2021:04:11 15:47:53`) with an offset from the value
/// itself (`…-04:00`, `…Z`) or from the OffsetTime* tag.
pub(crate) fn meta_time(
    value: String,
    subsec: Option<String>,
    offset: Option<String>,
    origin: &str,
) -> MetaTime {
    let (base, own_offset) = split_offset(&value);
    let offset = own_offset.or(offset);
    let utc = offset
        .as_deref()
        .and_then(parse_offset)
        .and_then(|off| parse_naive(base).and_then(|n| off.from_local_datetime(&n).single()))
        .map(|dt: DateTime<FixedOffset>| dt.with_timezone(&Utc));
    MetaTime {
        value,
        subsec,
        offset,
        utc,
        origin: origin.to_string(),
    }
}

/// Naive local time from `YYYY:MM:DD HH:MM:SS[.fff]` (or with `-` and `T`).
pub(crate) fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    let t: String = s
        .char_indices()
        .map(|(i, c)| match (i, c) {
            (4 | 7, '-') => ':',
            (10, 'T') => ' ',
            _ => c,
        })
        .collect();
    let t = t.get(..19).unwrap_or(&t);
    NaiveDateTime::parse_from_str(t, "%Y:%m:%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y:%m:%d %H:%M"))
        .ok()
}

fn split_offset(v: &str) -> (&str, Option<String>) {
    // Only when the first 19 bytes are a whole date-time (a multi-byte
    // character there means it is not one).
    if v.len() > 19 && v.is_char_boundary(19) {
        let tail = &v[19..];
        let tail_no_frac = tail.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
        if tail_no_frac == "Z" {
            return (&v[..19], Some("+00:00".into()));
        }
        if parse_offset(tail_no_frac).is_some() {
            return (&v[..19], Some(tail_no_frac.to_string()));
        }
        // `+0430`, as Apple's creationdate writes it.
        let b = tail_no_frac.as_bytes();
        if b.len() == 5 && matches!(b[0], b'+' | b'-') && b[1..].iter().all(u8::is_ascii_digit) {
            let with_colon = format!("{}:{}", &tail_no_frac[..3], &tail_no_frac[3..]);
            if parse_offset(&with_colon).is_some() {
                return (&v[..19], Some(with_colon));
            }
        }
    }
    (v, None)
}

pub(crate) fn parse_offset(s: &str) -> Option<FixedOffset> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_only_with_an_offset() {
        let t = meta_time(
            "2021:04:11 15:47:53".into(),
            None,
            Some("-05:00".into()),
            "x",
        );
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2021-04-11T20:47:53+00:00");
        let t = meta_time("2021:04:11 15:47:53".into(), None, None, "x");
        assert!(t.utc.is_none());
        let t = meta_time("2008:03:15 09:52:01-04:00".into(), None, None, "x");
        assert_eq!(t.offset.as_deref(), Some("-04:00"));
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2008-03-15T13:52:01+00:00");
        let t = meta_time("2011:09:23 12:43:03Z".into(), None, None, "x");
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2011-09-23T12:43:03+00:00");
        let t = meta_time(
            "0000:00:00 00:00:00".into(),
            None,
            Some("+01:00".into()),
            "x",
        );
        assert!(t.utc.is_none());
    }
}
