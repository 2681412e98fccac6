//! Reading post times as platforms and exports write them, without
//! guessing a zone that is not there.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
