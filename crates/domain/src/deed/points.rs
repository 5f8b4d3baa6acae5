//! The points a decision may name (within the standard's range) and the caps they count
//! against (per calendar month or year of the deed's date).

use super::parties::Source;
use crate::FieldError;

fn out_of_range(min: i64, max: i64) -> FieldError {
    FieldError::new(
        "points",
        "out_of_range",
        format!("{min} to {max} for this standard"),
    )
}

/// The points a committee's approval or a town's reversal names: `given` within the standard's
/// range `min..=max`, or the standard's fixed points when it has no range and none were given.
pub fn decided_points(min: i64, max: i64, given: Option<i64>) -> Result<i64, FieldError> {
    let p = match given {
        Some(p) => p,
        None if min == max => min,
        None => {
            return Err(FieldError::new(
                "points",
                "missing",
                format!("{min} to {max}"),
            ))
        }
    };
    if (min..=max).contains(&p) {
        Ok(p)
    } else {
        Err(out_of_range(min, max))
    }
}

/// The points a submission names. A partner names them within the range (a fixed standard's
/// points are implied; a standard that trusts the partner to award automatically needs them
/// named); residents never name points, the committee decides (`None`).
pub fn submitted_points(
    source: Source,
    automatic: bool,
    min: i64,
    max: i64,
    given: Option<i64>,
) -> Result<Option<i64>, FieldError> {
    match (source, given) {
        (Source::Partner, Some(p)) if (min..=max).contains(&p) => Ok(Some(p)),
        (Source::Partner, Some(_)) => Err(out_of_range(min, max)),
        (Source::Partner, None) if min == max => Ok(Some(min)),
        (Source::Partner, None) if automatic => Err(FieldError::new(
            "points",
            "missing",
            "this standard's points are a range: name them",
        )),
        (_, Some(_)) => Err(FieldError::new(
            "points",
            "not_allowed",
            "the committee decides the points",
        )),
        _ => Ok(None),
    }
}

/// The prefix of deed dates (`yyyy-mm-dd`) that fall in the same cap period as `deed_date`:
/// `yyyy-mm` for a monthly cap, `yyyy` for a yearly one; `None` when the period is `none`.
pub fn cap_window<'a>(period: &str, deed_date: &'a str) -> Option<&'a str> {
    match period {
        "month" => deed_date.get(..7),
        "year" => deed_date.get(..4),
        _ => None,
    }
}

/// Refuse `points` when, with the `used` points already counted in the period, they would pass
/// the standard's `cap` (a conflict on `points`, saying how many remain).
pub fn check_cap(cap: i64, period: &str, used: i64, points: i64) -> Result<(), FieldError> {
    if used + points > cap {
        return Err(FieldError::new(
            "points",
            "cap_exceeded",
            format!(
                "{cap} points per {period} at most for this standard; {} remain",
                (cap - used).max(0)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_names_points_within_the_range_or_takes_the_fixed_ones() {
        assert_eq!(decided_points(5, 5, None), Ok(5));
        assert_eq!(decided_points(2, 8, Some(8)), Ok(8));
        assert_eq!(decided_points(2, 8, None).unwrap_err().code, "missing");
        assert_eq!(
            decided_points(2, 8, Some(9)).unwrap_err().code,
            "out_of_range"
        );
        assert_eq!(
            decided_points(2, 8, Some(1)).unwrap_err().code,
            "out_of_range"
        );
    }

    #[test]
    fn only_partners_name_points_and_an_automatic_range_needs_them() {
        use Source::*;
        assert_eq!(submitted_points(Partner, false, 2, 8, Some(3)), Ok(Some(3)));
        assert_eq!(submitted_points(Partner, false, 4, 4, None), Ok(Some(4)));
        assert_eq!(submitted_points(Partner, false, 2, 8, None), Ok(None));
        let code = |r: Result<Option<i64>, FieldError>| r.unwrap_err().code;
        assert_eq!(code(submitted_points(Partner, true, 2, 8, None)), "missing");
        assert_eq!(
            code(submitted_points(Partner, true, 2, 8, Some(0))),
            "out_of_range"
        );
        assert_eq!(
            code(submitted_points(Own, false, 2, 8, Some(3))),
            "not_allowed"
        );
        assert_eq!(
            code(submitted_points(Nomination, false, 4, 4, Some(4))),
            "not_allowed"
        );
        assert_eq!(submitted_points(Own, false, 2, 8, None), Ok(None));
    }

    #[test]
    fn caps_count_the_deeds_of_the_same_month_or_year() {
        assert_eq!(cap_window("month", "2026-03-15"), Some("2026-03"));
        assert_eq!(cap_window("year", "2026-03-15"), Some("2026"));
        assert_eq!(cap_window("none", "2026-03-15"), None);
        assert_eq!(check_cap(20, "year", 15, 5), Ok(()));
        let e = check_cap(20, "year", 15, 6).unwrap_err();
        assert_eq!(
            (e.code, e.detail.as_str()),
            (
                "cap_exceeded",
                "20 points per year at most for this standard; 5 remain"
            )
        );
        assert_eq!(
            check_cap(20, "month", 25, 1).unwrap_err().detail,
            "20 points per month at most for this standard; 0 remain"
        );
    }
}
