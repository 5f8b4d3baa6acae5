//! What a resident types into a report, an objection or an appeal, checked field by field.

use crate::FieldError;

/// Evidence files (photos, PDFs) one deed may carry.
pub const EVIDENCE_FILES_MAX: usize = 5;
pub const DESCRIPTION_CHARS_MAX: usize = 1000;
pub const PLACE_CHARS_MAX: usize = 100;
pub const REASON_CHARS_MAX: usize = 500;

/// Free text a person types: trimmed, non-empty, bounded, no control characters.
pub fn text(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "missing", "is required"));
    }
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "contains control characters",
        ));
    }
    Ok(t.to_string())
}

/// A deed's date: `yyyy-mm-dd`, a real day, not after `today` (same format) and not before 2000.
pub fn deed_date(raw: &str, today: &str) -> Result<String, FieldError> {
    let bad = || FieldError::new("deed_date", "invalid_date", "a date as yyyy-mm-dd");
    let t = raw.trim();
    let parts: Vec<&str> = t.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i32, u8, u8) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let month = time::Month::try_from(m).map_err(|_| bad())?;
    time::Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
    if y < 2000 {
        return Err(FieldError::new(
            "deed_date",
            "too_old",
            "a date from 2000 on",
        ));
    }
    if t > today {
        return Err(FieldError::new(
            "deed_date",
            "in_future",
            "a deed cannot be reported before it happened",
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_texts_are_checked_field_by_field() {
        assert_eq!(deed_date("2026-02-28", "2026-11-29").unwrap(), "2026-02-28");
        for (raw, code) in [
            ("2026-02-30", "invalid_date"),
            ("26-02-01", "invalid_date"),
            ("2026-12-01", "in_future"),
            ("1999-12-31", "too_old"),
        ] {
            assert_eq!(
                deed_date(raw, "2026-11-29").unwrap_err().code,
                code,
                "{raw}"
            );
        }
        assert_eq!(text("place", "  ", 10).unwrap_err().code, "missing");
        assert_eq!(
            text("place", "一二三四五六七八九十一", 10)
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(
            text("place", "a\u{7}b", 10).unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(text("place", " 东山社区 ", 10).unwrap(), "东山社区");
    }
}
