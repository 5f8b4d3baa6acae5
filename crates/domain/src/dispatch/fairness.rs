//! How evenly the work is shared among volunteers, and the medians dispatch reports: the Gini
//! coefficient and the max over the median of assignment counts, the median of durations.
//! Pure arithmetic, for the dispatch figures and the benchmark.

/// Gini coefficient of non-negative counts (0 = all equal, → 1 = one has all); 0.0 for an
/// empty slice or all zeros. The mean absolute difference over twice the mean, computed from
/// the sorted counts: `G = 2 Σ i·xᵢ / (n Σ xᵢ) − (n + 1) / n` with i from 1.
pub fn gini(counts: &[u64]) -> f64 {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    let sum: f64 = sorted.iter().map(|&x| x as f64).sum();
    if sorted.is_empty() || sum == 0.0 {
        return 0.0;
    }
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| (i as f64 + 1.0) * x as f64)
        .sum();
    2.0 * weighted / (n * sum) - (n + 1.0) / n
}

/// The largest count over the median of all counts (zeros included); `None` when the median is
/// 0 (more than half have none) or there are no counts. The median of an even number of counts
/// is the mean of the middle two.
pub fn max_over_median(counts: &[u64]) -> Option<f64> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let max = *sorted.last()?;
    let median = if n % 2 == 1 {
        sorted[n / 2] as f64
    } else {
        (sorted[n / 2 - 1] as f64 + sorted[n / 2] as f64) / 2.0
    };
    (median > 0.0).then(|| max as f64 / median)
}

/// Median of i64 values (for times like request → dispatch, or minutes served); `None` when
/// empty. For an even number, the mean of the middle two rounded down. Reorders `values`.
pub fn median(values: &mut [i64]) -> Option<i64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let (lower, upper, _) = values.select_nth_unstable(n / 2);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    let below = lower.iter().copied().max().unwrap_or(upper);
    // In i128: the sum of two large values would overflow.
    let mean = (i128::from(below) + i128::from(upper)).div_euclid(2);
    Some(i64::try_from(mean).unwrap_or(upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn gini_is_zero_when_all_share_equally_or_nobody_has_any() {
        assert!(close(gini(&[1, 1, 1, 1]), 0.0));
        assert!(close(gini(&[7; 10]), 0.0));
        assert!(close(gini(&[]), 0.0));
        assert!(close(gini(&[0, 0, 0]), 0.0));
        assert!(close(gini(&[5]), 0.0));
    }

    #[test]
    fn gini_grows_towards_one_as_one_takes_everything() {
        assert!(close(gini(&[0, 0, 0, 1]), 0.75));
        assert!(close(gini(&[1, 0, 0, 0]), 0.75), "order does not matter");
        assert!(close(gini(&[0, 1]), 0.5));
        // Mean absolute difference of [1, 2, 3]: (1 + 2 + 1) × 2 / 9 = 8/9; over twice the mean 4.
        assert!(close(gini(&[1, 2, 3]), 2.0 / 9.0));
        let mut many = vec![0u64; 999];
        many.push(50);
        assert!(close(gini(&many), 0.999));
    }

    #[test]
    fn max_over_median_needs_a_positive_median() {
        assert_eq!(max_over_median(&[1, 2, 3]), Some(1.5));
        assert_eq!(max_over_median(&[1, 1, 3, 9]), Some(4.5));
        assert_eq!(max_over_median(&[0, 0, 1, 2]), Some(4.0));
        assert_eq!(max_over_median(&[0, 0, 0, 5]), None);
        assert_eq!(max_over_median(&[]), None);
        assert_eq!(max_over_median(&[4]), Some(1.0));
    }

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2), "2.5 rounded down");
        assert_eq!(median(&mut [-3, -4]), Some(-4), "-3.5 rounded down");
        assert_eq!(median(&mut [i64::MAX, i64::MAX]), Some(i64::MAX));
        assert_eq!(median(&mut [0, 0, 0, 600]), Some(0));
    }
}
