//! inspect's `accuracy()` and `stderr()` metrics (scorers.md §1.3).

/// Mean of the per-sample values (0.0 for an empty slice).
pub fn accuracy(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Standard error of the mean: sample standard deviation (ddof = 1) over √n; 0.0 when n < 2.
pub fn stderr(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = accuracy(values);
    let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
    (ss / (n - 1) as f64).sqrt() / (n as f64).sqrt()
}
