//! Comparing scores: two float scores within a relative 1e-9 of each
//! other are equal, so float rounding never decides between mappings.

use std::cmp::Ordering;

/// `a` against `b`, equal within a relative 1e-9.
pub(crate) fn fuzzy(a: f64, b: f64) -> Ordering {
    if (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) {
        Ordering::Equal
    } else {
        a.total_cmp(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_does_not_order() {
        assert_eq!(fuzzy(1.0, 1.0 + 1e-12), Ordering::Equal);
        assert_eq!(fuzzy(1.0, 1.001), Ordering::Less);
        assert_eq!(fuzzy(0.0, 0.0), Ordering::Equal);
        assert_eq!(
            fuzzy(1e12, 1e12 + 1.0),
            Ordering::Equal,
            "relative, not absolute"
        );
        assert_eq!(fuzzy(2.0, 1.0), Ordering::Greater);
    }
}
