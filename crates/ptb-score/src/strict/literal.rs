//! Number literals of the strict profile (scorers.md §7.1 step 4).

use num_bigint::{BigInt, BigUint};

use super::exact::Exact;

/// A number literal found in the cleaned answer span.
#[derive(Debug)]
pub(super) struct Literal {
    /// Char index of its first character (the sign, the digit or the `\` of `\frac`).
    pub(super) start: usize,
    /// Its source text.
    pub(super) text: String,
    /// Its exact value.
    pub(super) value: Exact,
}

/// All literals, left to right, non-overlapping.
pub(super) fn scan(chars: &[char]) -> Vec<Literal> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let signed = matches!(chars[i], '-' | '+') && sign_counts(chars, i);
        let body = i + usize::from(signed);
        let negative = signed && chars[i] == '-';
        let parsed = frac_command(chars, body, negative)
            .or_else(|| (signed || start_allowed(chars, i)).then(|| number(chars, body, negative)).flatten());
        match parsed {
            Some((end, value)) => {
                found.push(Literal { start: i, text: chars[i..end].iter().collect(), value });
                i = end;
            }
            None => i += 1,
        }
    }
    found
}

fn is_digit(chars: &[char], i: usize) -> bool {
    chars.get(i).is_some_and(char::is_ascii_digit)
}

/// The character before a literal must not be a letter, a digit, `_` or `.`.
fn start_allowed(chars: &[char], i: usize) -> bool {
    i == 0 || !matches!(chars[i - 1], c if c.is_alphanumeric() || c == '_' || c == '.')
}

/// A sign counts when the character before it is not a letter, digit or `)` (and, as the sign
/// starts the literal, not `_` or `.` either).
fn sign_counts(chars: &[char], i: usize) -> bool {
    start_allowed(chars, i) && (i == 0 || chars[i - 1] != ')')
}

/// Digits with optional `,ddd` grouping (only after a run of 1–3 digits) at `i`:
/// `(end, digits without commas)`.
fn integer(chars: &[char], i: usize) -> Option<(usize, String)> {
    let mut end = i;
    while is_digit(chars, end) {
        end += 1;
    }
    if end == i {
        return None;
    }
    let mut digits: String = chars[i..end].iter().collect();
    if end - i <= 3 {
        while chars.get(end) == Some(&',')
            && (end + 1..end + 4).all(|k| is_digit(chars, k))
            && !is_digit(chars, end + 4)
        {
            digits.extend(&chars[end + 1..end + 4]);
            end += 4;
        }
    }
    Some((end, digits))
}

/// An exponent `[eE][+-]?digits` at `i`: `(end, value)`.
fn exponent(chars: &[char], i: usize) -> Option<(usize, BigInt)> {
    if !matches!(chars.get(i), Some('e' | 'E')) {
        return None;
    }
    let sign = matches!(chars.get(i + 1), Some('+' | '-'));
    let start = i + 1 + usize::from(sign);
    let mut end = start;
    while is_digit(chars, end) {
        end += 1;
    }
    let magnitude: BigInt = chars[start..end].iter().collect::<String>().parse().ok()?;
    let negative = chars.get(i + 1) == Some(&'-');
    Some((end, if negative { -magnitude } else { magnitude }))
}

/// `.digits` at `i`: `(end, digits)`.
fn fraction_digits(chars: &[char], i: usize) -> Option<(usize, String)> {
    if chars.get(i) != Some(&'.') || !is_digit(chars, i + 1) {
        return None;
    }
    let mut end = i + 1;
    while is_digit(chars, end) {
        end += 1;
    }
    Some((end, chars[i + 1..end].iter().collect()))
}

/// A decimal literal (integer, `.digits`, exponent) or an `a/b` rational at `i`.
fn number(chars: &[char], i: usize, negative: bool) -> Option<(usize, Exact)> {
    let (end, int_digits) = integer(chars, i)?;
    let (end, frac) = fraction_digits(chars, end).map_or((end, None), |(e, f)| (e, Some(f)));
    let (end, exp) = exponent(chars, end).map_or((end, None), |(e, x)| (e, Some(x)));
    if frac.is_none()
        && exp.is_none()
        && let Some(ratio) = slash_ratio(chars, end, negative, &int_digits)
    {
        return Some(ratio);
    }
    let value = Exact::decimal(negative, &int_digits, frac.as_deref().unwrap_or(""), exp.unwrap_or_default());
    Some((end, value))
}

/// `/b` after the integer `a`, where `b` is an unsigned non-zero integer literal.
fn slash_ratio(chars: &[char], i: usize, negative: bool, num: &str) -> Option<(usize, Exact)> {
    if chars.get(i) != Some(&'/') {
        return None;
    }
    let (end, den) = integer(chars, i + 1)?;
    if fraction_digits(chars, end).is_some() || exponent(chars, end).is_some() {
        return None;
    }
    Some((end, Exact::ratio(negative, big(num)?, big(&den)?)?))
}

fn big(digits: &str) -> Option<BigUint> {
    digits.parse().ok()
}

/// `\frac{a}{b}` or `\dfrac{a}{b}` at `i`, with optionally signed integer arguments.
fn frac_command(chars: &[char], i: usize, negative: bool) -> Option<(usize, Exact)> {
    let rest = chars.get(i..)?;
    const FRAC: [char; 6] = ['\\', 'f', 'r', 'a', 'c', '{'];
    const DFRAC: [char; 7] = ['\\', 'd', 'f', 'r', 'a', 'c', '{'];
    let name_len = if rest.starts_with(&FRAC) {
        FRAC.len()
    } else if rest.starts_with(&DFRAC) {
        DFRAC.len()
    } else {
        return None;
    };
    let (end, num_negative, num) = brace_integer(chars, i + name_len)?;
    if chars.get(end) != Some(&'{') {
        return None;
    }
    let (end, den_negative, den) = brace_integer(chars, end + 1)?;
    let negative = negative ^ num_negative ^ den_negative;
    Some((end, Exact::ratio(negative, big(&num)?, big(&den)?)?))
}

/// `␣*[+-]?integer␣*}` at `i`: `(end after the brace, negative, digits)`.
fn brace_integer(chars: &[char], i: usize) -> Option<(usize, bool, String)> {
    let skip = |mut k: usize| {
        while chars.get(k).is_some_and(|&c| crate::py::is_space(c)) {
            k += 1;
        }
        k
    };
    let k = skip(i);
    let sign = matches!(chars.get(k), Some('+' | '-'));
    let negative = chars.get(k) == Some(&'-');
    let (end, digits) = integer(chars, k + usize::from(sign))?;
    let end = skip(end);
    (chars.get(end) == Some(&'}')).then_some((end + 1, negative, digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        let chars: Vec<char> = s.chars().collect();
        scan(&chars).into_iter().map(|l| l.text).collect()
    }

    #[test]
    fn literal_shapes() {
        assert_eq!(texts("-1,234.5e-2 and +7"), ["-1,234.5e-2", "+7"]);
        assert_eq!(texts("1,2345 12345,678"), ["1", "2345", "12345", "678"]);
        assert_eq!(texts("x5 v1.5 a_3 3-5 (2)-4"), ["3", "5", "2", "4"]);
        assert_eq!(texts(r"-\frac{ -3 }{4} 3/4 3/0 1/2.5"), [r"-\frac{ -3 }{4}", "3/4", "3", "0", "1", "2.5"]);
        assert_eq!(texts("7e 7E+ 7e+3"), ["7", "7", "7e+3"]);
    }

    #[test]
    fn literal_values() {
        let value = |s: &str| scan(&s.chars().collect::<Vec<_>>()).remove(0).value;
        assert_eq!(value(r"-\frac{-3}{4}"), value("0.75"));
        assert_eq!(value("6/8"), value("0.75"));
        assert_eq!(value("-1,000"), value("-1e3"));
        assert_ne!(value("-4"), value("4"));
    }
}
