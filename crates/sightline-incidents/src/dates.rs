//! Reading dates and times as people and platforms write them.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// An event date: ISO `2021-08-26`, ACLED's `26 August 2021` (and
/// `26-Aug-21`, `August 26, 2021`), or day-first `26/08/2021` when the day
/// cannot be a month. Ambiguous forms (`03/04/2022`) are refused, not
/// guessed.
pub fn parse_event_date(s: &str) -> Result<NaiveDate, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("event_date is empty".into());
    }
    for fmt in [
        "%Y-%m-%d",
        "%d %B %Y",
        "%d %b %Y",
        "%d-%b-%y",
        "%d-%b-%Y",
        "%B %d, %Y",
        "%b %d, %Y",
        "%Y/%m/%d",
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Ok(d);
        }
    }
    for sep in ['/', '.'] {
        let parts: Vec<&str> = s.split(sep).collect();
        if let [a, b, y] = parts.as_slice()
            && let (Ok(a), Ok(b), Ok(y)) = (a.parse::<u32>(), b.parse::<u32>(), y.parse::<i32>())
            && y >= 1900
        {
            if a <= 12 && b <= 12 && a != b {
                return Err(format!(
                    "event_date {s:?} is ambiguous (day/month or month/day?): write YYYY-MM-DD"
                ));
            }
            let (d, m) = if a > 12 { (a, b) } else { (b, a) };
            if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                return Ok(date);
            }
        }
    }
    Err(format!(
        "event_date {s:?} is not a date (YYYY-MM-DD or ACLED's \"26 August 2021\")"
    ))
}

/// A post time as read from what a platform or export gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostTime {
    pub utc: DateTime<Utc>,
    /// How far off `utc` may be: 0 when the text carried its zone, 14 h
    /// when it did not (any zone on earth), 26 h for a bare date.
    pub slack: Duration,
}

impl PostTime {
    pub fn zone_known(&self) -> bool {
        self.slack.is_zero()
    }
}

/// Read a post time: RFC 3339 or ISO 8601 with or without zone, `YYYY-MM-DD
/// HH:MM[:SS] +0430`, RFC 2822 (feeds), Unix seconds, or a bare date. Times
/// without a zone are kept with 14 hours of slack rather than guessed.
pub fn parse_post_time(s: &str) -> Option<PostTime> {
    let s = s.trim();
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    let exact = |t: DateTime<FixedOffset>| PostTime {
        utc: t.with_timezone(&Utc),
        slack: Duration::zero(),
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(exact(t));
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(exact(t));
    }
    let with_zone = [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M %z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S %:z",
        "%Y-%m-%d %H:%M %:z",
    ];
    for fmt in with_zone {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(exact(t));
        }
    }
    for suffix in [" UTC", " GMT", "Z", " Z"] {
        if let Some(rest) = s.strip_suffix(suffix)
            && let Some(n) = naive(rest)
        {
            return Some(PostTime {
                utc: Utc.from_utc_datetime(&n),
                slack: Duration::zero(),
            });
        }
    }
    if let Some(n) = naive(s) {
        return Some(PostTime {
            utc: Utc.from_utc_datetime(&n),
            slack: Duration::hours(14),
        });
    }
    if s.len() >= 9 && s.len() <= 11 && s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = s.parse().ok()?;
        return Some(PostTime {
            utc: Utc.timestamp_opt(secs, 0).single()?,
            slack: Duration::zero(),
        });
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(PostTime {
            utc: Utc.from_utc_datetime(&d.and_hms_opt(12, 0, 0)?),
            slack: Duration::hours(26),
        });
    }
    None
}

fn naive(s: &str) -> Option<NaiveDateTime> {
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y:%m:%d %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(n);
        }
    }
    None
}

/// The incident's local UTC offset in minutes, by country (or longitude
/// where the country is not one we know). Event dates are local dates.
pub fn utc_offset_minutes(country: &str, longitude: f64) -> i32 {
    match country.trim().to_ascii_lowercase().as_str() {
        "afghanistan" | "af" | "afg" => 270,
        "pakistan" | "pk" | "pak" => 300,
        "iran" | "ir" | "irn" => 210,
        "india" | "in" | "ind" => 330,
        "iraq" | "iq" | "irq" | "syria" | "sy" | "syr" | "turkey" | "türkiye" | "tr" | "tur" => {
            180
        }
        "russia" | "ru" | "rus" if longitude < 60.0 => 180,
        "tajikistan" | "tj" | "tjk" | "uzbekistan" | "uz" | "uzb" | "turkmenistan" | "tm" => 300,
        _ => ((longitude / 7.5).round() as i32) * 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_dates_in_the_forms_registries_use() {
        let d = NaiveDate::from_ymd_opt(2021, 8, 26).expect("date");
        for s in [
            "2021-08-26",
            "26 August 2021",
            "26 Aug 2021",
            "26-Aug-21",
            "August 26, 2021",
            "26/08/2021",
            "2021/08/26",
        ] {
            assert_eq!(parse_event_date(s), Ok(d), "{s}");
        }
        assert!(
            parse_event_date("03/04/2022")
                .unwrap_err()
                .contains("ambiguous")
        );
        assert!(parse_event_date("2021-02-30").is_err());
        assert!(parse_event_date("yesterday").is_err());
        assert!(parse_event_date("").is_err());
    }

    #[test]
    fn post_times_keep_their_zone_or_say_they_lack_one() {
        let t = parse_post_time("2021-10-08T09:12:00Z").expect("rfc3339");
        assert_eq!(t.utc.to_rfc3339(), "2021-10-08T09:12:00+00:00");
        assert!(t.zone_known());
        let t = parse_post_time("2021-11-02 15:07 +0430").expect("offset");
        assert_eq!(t.utc.to_rfc3339(), "2021-11-02T10:37:00+00:00");
        let t = parse_post_time("2021-11-02T15:07:00+04:30").expect("offset");
        assert_eq!(t.utc.to_rfc3339(), "2021-11-02T10:37:00+00:00");
        let t = parse_post_time("Fri, 08 Oct 2021 09:12:00 +0000").expect("rfc2822");
        assert!(t.zone_known());
        let t = parse_post_time("2021-10-08 14:05").expect("no zone");
        assert_eq!(t.slack, Duration::hours(14));
        let t = parse_post_time("1633684320").expect("unix");
        assert_eq!(t.utc.to_rfc3339(), "2021-10-08T09:12:00+00:00");
        assert_eq!(
            parse_post_time("2021-10-08").expect("date").slack,
            Duration::hours(26)
        );
        assert_eq!(parse_post_time("last tuesday"), None);
        assert_eq!(parse_post_time(&"9".repeat(5000)), None);
    }

    #[test]
    fn local_offsets() {
        assert_eq!(utc_offset_minutes("Afghanistan", 69.2), 270);
        assert_eq!(utc_offset_minutes("Russia", 37.6), 180);
        assert_eq!(utc_offset_minutes("Nowhere", 0.0), 0);
        assert_eq!(utc_offset_minutes("Nowhere", 90.0), 360);
    }
}
