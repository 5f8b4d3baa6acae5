//! When a volunteer is available: a week of hours in Beijing time, its text form, and whether
//! a window falls within it.

use crate::time::{CST_OFFSET_MS, DAY_MS, HOUR_MS};
use crate::FieldError;
use serde::{Deserialize, Serialize};

/// Longest availability text accepted: the longest canonical text (`1-2,3-4,…,23-24` each day,
/// 440 characters) fits.
pub const AVAILABILITY_CHARS_MAX: usize = 512;
/// Hours in a day, and the bits of a day that are hours.
const DAY_HOURS: i64 = 24;
const ALL_HOURS: u32 = (1 << 24) - 1;
/// 1970-01-01 was a Thursday: weekday 3 counting from Monday = 0.
const EPOCH_WEEKDAY: i64 = 3;
const WEEK_MS: i64 = 7 * DAY_MS;

/// Hours of the week a volunteer is available: bit h of day d (0 = Monday … 6 = Sunday) set
/// means the hour h:00–h+1:00 China Standard Time (UTC+8) is available. Bits 24–31 mean nothing
/// and are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Availability(pub [u32; 7]);

impl Availability {
    /// Every hour of every day.
    pub fn always() -> Self {
        Self([ALL_HOURS; 7])
    }

    /// Whether every hour the window [`starts_at`, `ends_at`) (Unix ms) touches is available.
    /// An empty or reversed window, and one longer than 7 days, is never covered.
    pub fn covers(&self, starts_at: i64, ends_at: i64) -> bool {
        hours_needed(starts_at, ends_at).is_some_and(|need| self.has(&need))
    }

    /// Whether every hour of `need` (from [`hours_needed`]) is available.
    pub(super) fn has(&self, need: &[u32; 7]) -> bool {
        self.0.iter().zip(need).all(|(bits, n)| bits & n == *n)
    }

    /// Parse the text form used in forms and the database: 7 groups separated by `;` (Monday
    /// to Sunday), each a comma list of hour ranges like `8-12,14-18` (end exclusive, `""` for
    /// none). Overlapping ranges are joined.
    pub fn parse(text: &str) -> Result<Self, FieldError> {
        if text.chars().count() > AVAILABILITY_CHARS_MAX {
            return Err(availability_error(
                "availability_too_long",
                format!("is longer than {AVAILABILITY_CHARS_MAX} characters"),
            ));
        }
        let days: Vec<&str> = text.split(';').collect();
        if days.len() != 7 {
            return Err(availability_error(
                "availability_days",
                "needs seven days separated by ';', Monday first",
            ));
        }
        let mut out = [0u32; 7];
        for (bits, group) in out.iter_mut().zip(days) {
            for range in group.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                let (from, to) = parse_range(range)?;
                *bits |= (ALL_HOURS >> (24 - to)) & !((1 << from) - 1);
            }
        }
        Ok(Self(out))
    }

    /// The text form [`Availability::parse`] reads, with each day's ranges joined and ordered.
    pub fn to_text(&self) -> String {
        let days: Vec<String> = self
            .0
            .iter()
            .map(|&bits| {
                let mut ranges = Vec::new();
                let mut h = 0;
                while h < 24 {
                    if bits >> h & 1 == 0 {
                        h += 1;
                        continue;
                    }
                    let from = h;
                    while h < 24 && bits >> h & 1 == 1 {
                        h += 1;
                    }
                    ranges.push(format!("{from}-{h}"));
                }
                ranges.join(",")
            })
            .collect();
        days.join(";")
    }
}

/// The hours of the week a window touches, as an availability's bits; `None` for an empty or
/// reversed window, or one longer than 7 days (which no weekly pattern can describe).
pub(super) fn hours_needed(starts_at: i64, ends_at: i64) -> Option<[u32; 7]> {
    let length = ends_at.checked_sub(starts_at)?;
    if length <= 0 || length > WEEK_MS {
        return None;
    }
    let first = starts_at.checked_add(CST_OFFSET_MS)?.div_euclid(HOUR_MS);
    // The hour holding the window's last millisecond.
    let last = ends_at.checked_add(CST_OFFSET_MS - 1)?.div_euclid(HOUR_MS);
    let mut need = [0u32; 7];
    for h in first..=last {
        let weekday = (h.div_euclid(DAY_HOURS) + EPOCH_WEEKDAY).rem_euclid(7) as usize;
        need[weekday] |= 1 << h.rem_euclid(DAY_HOURS);
    }
    Some(need)
}

fn availability_error(code: &'static str, detail: impl Into<String>) -> FieldError {
    FieldError::new("availability", code, detail)
}

/// `from-to` with whole hours, 0 ≤ from < to ≤ 24.
fn parse_range(range: &str) -> Result<(u32, u32), FieldError> {
    let malformed = || {
        availability_error(
            "availability_range",
            "each range must be two whole hours like 8-12",
        )
    };
    let hour = |s: &str| {
        let s = s.trim();
        // Digits only: `str::parse` would also take a sign.
        if s.is_empty() || s.len() > 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        s.parse::<u32>().map_err(|_| malformed())
    };
    let (from, to) = range.split_once('-').ok_or_else(malformed)?;
    let (from, to) = (hour(from)?, hour(to)?);
    if from >= to || to > 24 {
        return Err(availability_error(
            "availability_hours",
            "a range must start before it ends, within 0 to 24",
        ));
    }
    Ok((from, to))
}
