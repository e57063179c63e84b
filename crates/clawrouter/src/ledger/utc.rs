//! UTC calendar arithmetic on unix milliseconds, so days and months in the
//! ledger, the budgets and the reports all cut at the same instant without a
//! date crate. Days are numbered from 1970-01-01 (day 0).

/// Milliseconds in a UTC day (leap seconds do not exist in unix time).
pub(super) const DAY_MS: i64 = 86_400_000;

/// The UTC day `ms` falls on.
pub(super) fn day_of(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// The first day of the UTC month `day` is in.
pub(super) fn month_start(day: i64) -> i64 {
    let (_, _, d) = civil(day);
    day - i64::from(d - 1)
}

/// The first day of the month after the one `day` is in.
pub(super) fn next_month_start(day: i64) -> i64 {
    // Every month has at most 31 days, so 31 days past a 1st is next month.
    month_start(month_start(day) + 31)
}

/// A number that is the same for every day of one month and grows by one
/// per month.
pub(super) fn month_key(day: i64) -> i64 {
    let (y, m, _) = civil(day);
    y * 12 + i64::from(m) - 1
}

/// `YYYY-MM-DD`.
pub(super) fn date(day: i64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// (year, month 1-12, day 1-31) of a day number: Howard Hinnant's
/// `civil_from_days`, exact for the proleptic Gregorian calendar.
fn civil(day: i64) -> (i64, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // The ranges above make these casts lossless.
    (y, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(19_723), "2024-01-01");
        assert_eq!(date(19_723 + 31 + 28), "2024-02-29");
        assert_eq!(date(19_723 + 31 + 29), "2024-03-01");
        assert_eq!(date(20_088), "2024-12-31");
        assert_eq!(date(20_089), "2025-01-01");
    }

    #[test]
    fn day_boundaries_are_at_utc_midnight() {
        // 2025-03-15T00:00:00Z = 1_741_996_800 s.
        let midnight = 1_741_996_800_000;
        assert_eq!(date(day_of(midnight)), "2025-03-15");
        assert_eq!(date(day_of(midnight - 1)), "2025-03-14");
        assert_eq!(date(day_of(midnight + DAY_MS - 1)), "2025-03-15");
        assert_eq!(date(day_of(-1)), "1969-12-31");
    }

    #[test]
    fn months_start_on_the_first_and_keys_step_by_one() {
        let leap_day = 19_723 + 31 + 28;
        assert_eq!(date(month_start(leap_day)), "2024-02-01");
        assert_eq!(date(month_start(leap_day + 1)), "2024-03-01");
        assert_eq!(month_key(leap_day) + 1, month_key(leap_day + 1));
        assert_eq!(month_key(20_088) + 1, month_key(20_089)); // Dec → Jan
        assert_eq!(month_key(leap_day), month_key(month_start(leap_day)));
        assert_eq!(date(next_month_start(leap_day)), "2024-03-01");
        assert_eq!(date(next_month_start(20_088)), "2025-01-01");
        assert_eq!(date(next_month_start(20_089)), "2025-02-01");
    }
}
