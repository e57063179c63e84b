//! Calendar dates without a date crate: SigV4's `YYYYMMDD` scope day, the
//! model table's `YYYY-MM-DD` lifecycle dates, and today's date to compare
//! them with. Days since the epoch use H. Hinnant's civil-date algorithms
//! (proleptic Gregorian calendar).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: u64 = 86_400;

/// `YYYYMMDD` as midnight UTC.
pub fn compact_date_to_time(date: &str) -> Option<SystemTime> {
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let days = days_from_civil(
        date[..4].parse().ok()?,
        date[4..6].parse().ok()?,
        date[6..].parse().ok()?,
    )?;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(days).ok()? * SECS_PER_DAY))
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_iso_date(date: &str) -> Option<i64> {
    let bytes = date.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| {
        let part = &date[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse::<i64>().ok())
            .flatten()
    };
    days_from_civil(digits(0..4)?, digits(5..7)?, digits(8..10)?)
}

/// Today in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let days = i64::try_from(secs / SECS_PER_DAY).unwrap_or(0);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_date_is_midnight_utc() {
        for (date, secs) in [
            ("19700101", 0),
            ("20000229", 951_782_400),
            ("20261125", 1_795_564_800),
            ("20391231", 2_208_902_400),
        ] {
            assert_eq!(
                compact_date_to_time(date),
                Some(UNIX_EPOCH + Duration::from_secs(secs))
            );
        }
        assert_eq!(compact_date_to_time("2026-11-2"), None);
        assert_eq!(compact_date_to_time("20261325"), None);
    }

    #[test]
    fn iso_dates_round_trip() {
        for days in [0, 11_016, 20_740, 25_000, -1] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(parse_iso_date(&format!("{y:04}-{m:02}-{d:02}")), Some(days));
        }
        assert_eq!(parse_iso_date("2026-10-14"), Some(20_740));
        assert_eq!(parse_iso_date("2026-1-14"), None);
        assert_eq!(parse_iso_date("2026-13-01"), None);
        assert_eq!(today().len(), 10);
    }
}
