//! inspect's accuracy and stderr (scorers.md §1.3) against hand-computed values.

use ptb_score::metrics::{accuracy, stderr};

#[test]
fn small_hand_computed() {
    let v = [1.0, 0.0, 1.0, 1.0];
    assert_eq!(accuracy(&v), 0.75);
    // Σ(x−0.75)² = 3·0.0625 + 0.5625 = 0.75; s² = 0.75/3 = 0.25; s/√4 = 0.25.
    assert!((stderr(&v) - 0.25).abs() < 1e-15);
    assert_eq!(accuracy(&[0.0, 0.0]), 0.0);
    assert_eq!(stderr(&[1.0, 1.0, 1.0]), 0.0);
}

#[test]
fn degenerate_sizes() {
    assert_eq!(accuracy(&[]), 0.0);
    assert_eq!(stderr(&[]), 0.0);
    assert_eq!(accuracy(&[1.0]), 1.0);
    assert_eq!(stderr(&[1.0]), 0.0);
}

#[test]
fn matches_binomial_closed_form() {
    // GSM8K-sized run: 1000 of 1319 correct; stderr = √(p(1−p)/(n−1)).
    let v: Vec<f64> = (0..1319).map(|i| if i < 1000 { 1.0 } else { 0.0 }).collect();
    let p = 1000.0 / 1319.0;
    assert_eq!(accuracy(&v), p);
    let want = (p * (1.0 - p) / 1318.0).sqrt();
    assert!((stderr(&v) - want).abs() / want < 1e-12);
}
