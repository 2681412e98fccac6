//! Reading dates and times as people and platforms write them.

use chrono::NaiveDate;

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

pub use sightline_core::{PostTime, parse_post_time};

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
    fn local_offsets() {
        assert_eq!(utc_offset_minutes("Afghanistan", 69.2), 270);
        assert_eq!(utc_offset_minutes("Russia", 37.6), 180);
        assert_eq!(utc_offset_minutes("Nowhere", 0.0), 0);
        assert_eq!(utc_offset_minutes("Nowhere", 90.0), 360);
    }
}
