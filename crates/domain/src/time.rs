//! Time as the city counts it: Unix milliseconds everywhere, turned into China Standard Time
//! (UTC+8, no daylight saving) only where a day or a month is meant: a deed's date, a cap's
//! period, a credit month, the last moment of a card's validity.

/// One hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One day, in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// China Standard Time's offset from UTC.
pub const CST_OFFSET_MS: i64 = 8 * HOUR_MS;

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The day (days since 1970-01-01) a time falls on in China Standard Time.
pub fn cst_day(at_ms: i64) -> i64 {
    (at_ms + CST_OFFSET_MS).div_euclid(DAY_MS)
}

/// `yyyy-mm-dd` of a time in China Standard Time.
pub fn day_of(at_ms: i64) -> String {
    let (y, m, d) = civil_from_days(cst_day(at_ms));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `yyyymm` of a time in China Standard Time.
pub fn month_of(at_ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(cst_day(at_ms));
    y * 100 + m
}

/// The month `months` before `yyyymm` (or after, for a negative count), as `yyyymm`.
pub fn months_before(yyyymm: i64, months: i64) -> i64 {
    let idx = (yyyymm / 100) * 12 + (yyyymm % 100 - 1) - months;
    idx.div_euclid(12) * 100 + idx.rem_euclid(12) + 1
}

/// The first millisecond after the calendar day `date` (`yyyy-mm-dd`) ends in China Standard
/// Time: what "valid until 2027-12-31" means.
pub fn end_of_cst_day(date: time::Date) -> i64 {
    let midnight_utc = date.midnight().assume_utc().unix_timestamp() * 1000;
    midnight_utc + DAY_MS - CST_OFFSET_MS
}

/// Whole days in a span of milliseconds (rounded down).
pub fn whole_days(ms: i64) -> i64 {
    ms / DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_months_are_counted_in_china_standard_time() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-10_958), (1940, 1, 1));
        // 2026-01-31T16:30Z is 2026-02-01 00:30 in Beijing.
        assert_eq!(day_of(1_769_877_000_000), "2026-02-01");
        assert_eq!(month_of(1_769_877_000_000), 202602);
        assert_eq!(month_of(1_769_877_000_000 - HOUR_MS), 202601);
        assert_eq!(months_before(202602, 35), 202303);
        assert_eq!(months_before(202601, 1), 202512);
        assert_eq!(months_before(202612, -1), 202701);
    }

    #[test]
    fn a_card_valid_until_a_day_lasts_to_its_end_in_beijing() {
        let d = time::Date::from_calendar_date(2027, time::Month::December, 31).expect("date");
        let end = end_of_cst_day(d);
        assert_eq!(day_of(end - 1), "2027-12-31");
        assert_eq!(day_of(end), "2028-01-01");
    }
}
