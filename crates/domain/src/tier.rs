//! Tiers (星级) from credit points: a table of thresholds, the lowest tier for everyone.
//! Principle 1: no tier is "bad" — a resident without points holds the base tier.

/// Credit points each tier starts at; tier 1 starts at 0.
pub const DEFAULT_THRESHOLDS: [i64; 5] = [0, 30, 100, 300, 1000];

/// The tier (1-based) for `credit` points under `thresholds` (ascending, first 0).
pub fn tier(credit: i64, thresholds: &[i64]) -> u8 {
    let reached = thresholds.iter().filter(|t| credit >= **t).count().max(1);
    u8::try_from(reached).unwrap_or(u8::MAX)
}

/// Points still needed for the next tier, if there is one.
pub fn to_next(credit: i64, thresholds: &[i64]) -> Option<i64> {
    thresholds.iter().find(|t| **t > credit).map(|t| t - credit)
}

/// Thresholds must start at 0 and rise strictly; at most 10 tiers.
pub fn check_thresholds(thresholds: &[i64]) -> Result<(), &'static str> {
    if thresholds.first() != Some(&0) || thresholds.len() > 10 {
        return Err("tiers: the thresholds start at 0, at most 10 tiers");
    }
    if thresholds.windows(2).any(|w| w[1] <= w[0]) {
        return Err("tiers: each threshold must be above the one before");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_has_a_tier_and_knows_the_next() {
        let t = DEFAULT_THRESHOLDS;
        assert_eq!(tier(0, &t), 1);
        assert_eq!(tier(-5, &t), 1, "never below the base tier");
        assert_eq!(tier(29, &t), 1);
        assert_eq!(tier(30, &t), 2);
        assert_eq!(tier(5000, &t), 5);
        assert_eq!(to_next(29, &t), Some(1));
        assert_eq!(to_next(1000, &t), None);
        assert!(check_thresholds(&t).is_ok());
        assert!(check_thresholds(&[1, 2]).is_err());
        assert!(check_thresholds(&[0, 5, 5]).is_err());
    }
}
