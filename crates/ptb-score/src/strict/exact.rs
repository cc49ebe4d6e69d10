//! Exact numeric values for the strict comparison: canonical decimals and reduced rationals.

use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_traits::{One, Zero};

/// An exact number in canonical form, so that `==` is numeric equality.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Exact {
    /// `±digits × 10^exp`, `digits` without leading or trailing zeros (empty for zero, which is
    /// never negative).
    Decimal { negative: bool, digits: String, exp: BigInt },
    /// `±num/den` in lowest terms, where `den` has a prime factor other than 2 and 5 (so it is no
    /// terminating decimal).
    Ratio { negative: bool, num: BigUint, den: BigUint },
}

impl Exact {
    /// `±int_digits.frac_digits × 10^exp` (ASCII digits).
    pub(super) fn decimal(negative: bool, int_digits: &str, frac_digits: &str, exp: BigInt) -> Exact {
        let all = format!("{int_digits}{frac_digits}");
        let significant = all.trim_start_matches('0');
        let digits = significant.trim_end_matches('0');
        if digits.is_empty() {
            return Exact::Decimal { negative: false, digits: String::new(), exp: BigInt::zero() };
        }
        let shift = significant.len() - digits.len();
        Exact::Decimal {
            negative,
            digits: digits.to_string(),
            exp: exp + BigInt::from(shift) - BigInt::from(frac_digits.len()),
        }
    }

    /// `±num/den`; `None` when `den` is zero.
    pub(super) fn ratio(negative: bool, num: BigUint, den: BigUint) -> Option<Exact> {
        if den.is_zero() {
            return None;
        }
        let gcd = num.gcd(&den);
        let (num, den) = (num / &gcd, den / &gcd);
        let (twos, rest) = strip_factor(den.clone(), 2);
        let (fives, rest) = strip_factor(rest, 5);
        if !rest.is_one() {
            return Some(Exact::Ratio { negative, num, den });
        }
        // num/den = num·2^(k−twos)·5^(k−fives) / 10^k.
        let k = twos.max(fives);
        let scaled = num * BigUint::from(2u8).pow(k - twos) * BigUint::from(5u8).pow(k - fives);
        Some(Exact::decimal(negative, &scaled.to_string(), "", -BigInt::from(k)))
    }
}

/// Divides out `factor` as often as it goes: `(count, rest)`.
fn strip_factor(mut n: BigUint, factor: u32) -> (u32, BigUint) {
    let factor = BigUint::from(factor);
    let mut count = 0;
    while !n.is_zero() && (&n % &factor).is_zero() {
        n /= &factor;
        count += 1;
    }
    (count, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(i: &str, f: &str, e: i64) -> Exact {
        Exact::decimal(false, i, f, BigInt::from(e))
    }

    fn ratio(n: u32, d: u32) -> Exact {
        Exact::ratio(false, n.into(), d.into()).expect("non-zero denominator")
    }

    #[test]
    fn canonical_equality() {
        assert_eq!(dec("042", "", 0), dec("42", "", 0));
        assert_eq!(dec("42", "0", 0), dec("42", "", 0));
        assert_eq!(dec("4", "2", 1), dec("42", "", 0));
        assert_eq!(dec("0", "", 0), Exact::decimal(true, "0", "00", BigInt::from(5)));
        assert_ne!(dec("42", "000003", 0), dec("42", "", 0));
        assert_ne!(dec("1", "3", 5), dec("3", "", 5));
        assert_eq!(ratio(208, 2), dec("104", "", 0));
        assert_eq!(ratio(1, 8), dec("0", "125", 0));
        assert_eq!(ratio(2, 6), ratio(1, 3));
        assert_ne!(ratio(1, 3), dec("0", "333333", 0));
        assert!(Exact::ratio(false, 1u8.into(), 0u8.into()).is_none());
    }
}
