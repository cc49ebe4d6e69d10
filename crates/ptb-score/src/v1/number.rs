//! inspect's `normalize_number`: `str_to_float` (`_util/text.py`), falling back to
//! `unicode_number_to_float` (`scorer/_unicode.py`), then `format(x, ".5g")`.
//!
//! Both parsers are only ever called on a token made of numeric characters and `.` (the caller
//! checks `isnumeric()` with dots removed), so the Python branches for signs, whitespace, group
//! separators, `e` exponents and `点` decimals are unreachable and not ported.

use crate::{ScoreError, py};

/// Python's `int()` refuses strings of more than this many digits (`sys.int_info`).
const INT_MAX_STR_DIGITS: usize = 4300;

const SUPERSCRIPTS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

/// Why a parser failed, in Python terms.
#[derive(Debug)]
enum PyError {
    /// `ValueError`: `str_to_float` failing this way hands over to the Unicode parser.
    Value,
    /// Any other exception (`OverflowError`): propagates as a sample error.
    Other(&'static str),
}

/// `normalize_number` on a qualifying token: its value formatted with `.5g`.
pub(super) fn normalize(token: &str) -> Result<String, ScoreError> {
    let value = match str_to_float(token) {
        Ok(x) => Ok(x),
        Err(PyError::Value) => unicode_number_to_float(token),
        Err(PyError::Other(reason)) => Err(reason),
    };
    value.map(py::format_g5).map_err(|reason| ScoreError::V1Parse { token: token.to_string(), reason })
}

/// The 18 vulgar fractions `str_to_float` knows, with its float values.
fn vulgar_fraction(c: char) -> Option<f64> {
    Some(match c {
        '½' => 0.5,
        '⅓' => 1.0 / 3.0,
        '⅔' => 2.0 / 3.0,
        '¼' => 0.25,
        '¾' => 0.75,
        '⅕' => 0.2,
        '⅖' => 0.4,
        '⅗' => 0.6,
        '⅘' => 0.8,
        '⅙' => 1.0 / 6.0,
        '⅚' => 5.0 / 6.0,
        '⅐' => 1.0 / 7.0,
        '⅛' => 0.125,
        '⅜' => 0.375,
        '⅝' => 0.625,
        '⅞' => 0.875,
        '⅑' => 1.0 / 9.0,
        '⅒' => 0.1,
        _ => return None,
    })
}

fn superscript_digit(c: char) -> Option<char> {
    let d = SUPERSCRIPTS.iter().position(|&s| s == c)?;
    Some(char::from(b'0' + d as u8))
}

/// `str_to_float`: a single vulgar fraction, or base text + at most one fraction + a superscript
/// exponent (everything from the first superscript on).
fn str_to_float(s: &str) -> Result<f64, PyError> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && let Some(f) = vulgar_fraction(c)
    {
        return Ok(f);
    }
    let mut base = String::new();
    let mut fraction = None;
    let mut exponent = None;
    for (i, c) in s.char_indices() {
        if let Some(f) = vulgar_fraction(c) {
            if fraction.is_some() {
                return Err(PyError::Value);
            }
            fraction = Some(f);
        } else if superscript_digit(c).is_some() {
            exponent = Some(&s[i..]);
            break;
        } else {
            base.push(c);
        }
    }
    let mut value = if base.is_empty() { 0.0 } else { decimal_prefix(&base).ok_or(PyError::Value)? };
    match fraction {
        Some(f) => value += f,
        None if base.is_empty() => value = 1.0,
        None => {}
    }
    let Some(exponent) = exponent else {
        return Ok(value);
    };
    // `int()` of the exponent text with superscripts mapped to ASCII: decimal digits only.
    let digits: Option<String> = exponent
        .chars()
        .map(|c| superscript_digit(c).or_else(|| Some(py::ascii_digit(c)).filter(char::is_ascii_digit)))
        .collect();
    let digits = digits.ok_or(PyError::Value)?;
    if digits.len() > INT_MAX_STR_DIGITS {
        return Err(PyError::Value);
    }
    float_pow(value, &digits).map_err(PyError::Other)
}

/// `re.match(r"^(\d+(?:\.\d+)?)", base)` parsed with `float()`; `None` when no digit leads.
fn decimal_prefix(base: &str) -> Option<f64> {
    let chars: Vec<char> = base.chars().collect();
    let is_digit = |i: usize| chars.get(i).is_some_and(|&c| py::decimal_value(c).is_some());
    let mut end = 0;
    while is_digit(end) {
        end += 1;
    }
    if end == 0 {
        return None;
    }
    if chars.get(end) == Some(&'.') && is_digit(end + 1) {
        end += 1;
        while is_digit(end) {
            end += 1;
        }
    }
    let ascii: String = chars[..end].iter().map(|&c| py::ascii_digit(c)).collect();
    ascii.parse().ok()
}

/// Python `base ** int(digits)` for a non-negative float base: `OverflowError` when the exponent
/// does not fit a float or the result overflows; underflow gives 0.
fn float_pow(base: f64, digits: &str) -> Result<f64, &'static str> {
    let exponent: f64 = digits.parse().map_err(|_| "invalid exponent")?;
    if exponent.is_infinite() {
        return Err("OverflowError: int too large to convert to float");
    }
    if exponent == 0.0 || base == 1.0 {
        return Ok(1.0);
    }
    if base.is_infinite() || base == 0.0 || base.is_nan() {
        return Ok(base);
    }
    let result = base.powf(exponent);
    if result.is_infinite() {
        return Err("OverflowError: numerical result out of range");
    }
    Ok(result)
}

/// `unicode_number_to_float` restricted to numeric characters and `.`: any failure is final.
fn unicode_number_to_float(s: &str) -> Result<f64, &'static str> {
    if let Some(v) = single_char_numeric(s) {
        return Ok(v);
    }
    let (base_text, exponent) = split_superscript_exponent(s)?;
    let base = parse_with_vulgar_fraction(base_text)?.ok_or("could not parse number")?;
    match exponent {
        Some(digits) => float_pow(base, &digits),
        None => Ok(base),
    }
}

/// `_try_single_char_numeric`: the Unicode numeric value of a one-character string.
fn single_char_numeric(s: &str) -> Option<f64> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => py::numeric_value(c),
        _ => None,
    }
}

/// `_split_superscript_exponent`: a trailing run of superscript digits after a non-empty base.
fn split_superscript_exponent(s: &str) -> Result<(&str, Option<String>), &'static str> {
    let base = s.trim_end_matches(|c| superscript_digit(c).is_some());
    if base.len() == s.len() || base.is_empty() {
        return Ok((s, None));
    }
    let digits: String = s[base.len()..].chars().filter_map(superscript_digit).collect();
    if digits.len() > INT_MAX_STR_DIGITS {
        return Err("exponent exceeds the int digit limit");
    }
    Ok((base, Some(digits)))
}

/// A fraction-like character: Unicode numeric value strictly between 0 and 1.
fn fraction_like(c: char) -> Option<f64> {
    py::numeric_value(c).filter(|v| *v > 0.0 && *v < 1.0)
}

/// `_parse_number_with_optional_vulgar_fraction`: at most one fraction-like character, which must
/// come last; the head before it defaults to 0.
fn parse_with_vulgar_fraction(s: &str) -> Result<Option<f64>, &'static str> {
    let mut hits = s.char_indices().filter_map(|(i, c)| fraction_like(c).map(|v| (i, c, v)));
    let Some((idx, c, frac)) = hits.next() else {
        return parse_core(s);
    };
    if hits.next().is_some() {
        return Err("multiple fraction characters");
    }
    if idx + c.len_utf8() != s.len() {
        return Err("unexpected characters after fraction");
    }
    let head = &s[..idx];
    let head = if head.is_empty() { 0.0 } else { parse_core(head)?.ok_or("invalid base part")? };
    Ok(Some(head + frac))
}

/// `_parse_core_number_no_leading_signs`: Chinese numerals, then digits of any script, then a
/// single numeric character.
fn parse_core(s: &str) -> Result<Option<f64>, &'static str> {
    if s.chars().any(is_chinese_numeral_char)
        && let Some(v) = chinese::parse(s)?
    {
        return Ok(Some(v));
    }
    if let Some(v) = parse_generic_digits(s) {
        return Ok(Some(v));
    }
    Ok(single_char_numeric(s))
}

/// `_char_to_ascii_digit`: decimal or digit value, or a Chinese digit.
fn char_digit(c: char) -> Option<u32> {
    py::digit_value(c).or_else(|| chinese::digit(c))
}

/// `_looks_like_chinese_numeral` for one character.
fn is_chinese_numeral_char(c: char) -> bool {
    chinese::digit(c).is_some()
        || chinese::small_unit(c).is_some()
        || chinese::large_unit(c).is_some()
        || chinese::alt_tens(c).is_some()
}

/// `_parse_generic_unicode_digits`: digits of any script with at most one `.`.
fn parse_generic_digits(s: &str) -> Option<f64> {
    let mut out = String::from("0");
    let mut seen_point = false;
    let mut seen_digit = false;
    for c in s.chars() {
        if c == '.' {
            if seen_point {
                return None;
            }
            seen_point = true;
            out.push('.');
        } else {
            out.push(char::from_digit(char_digit(c)?, 10)?);
            seen_digit = true;
        }
    }
    // The leading "0" makes ".5" parse; Rust also accepts "5.", as Python does.
    if !seen_digit {
        return None;
    }
    out.parse().ok()
}

mod chinese {
    //! `_parse_chinese_number` and its tables.

    use super::{INT_MAX_STR_DIGITS, char_digit};

    /// `_CH_DIGITS`.
    pub(super) fn digit(c: char) -> Option<u32> {
        Some(match c {
            '零' | '〇' | '○' => 0,
            '一' | '壹' | '幺' => 1,
            '二' | '贰' | '貳' | '两' | '兩' => 2,
            '三' | '叁' | '參' => 3,
            '四' | '肆' => 4,
            '五' | '伍' => 5,
            '六' | '陆' | '陸' => 6,
            '七' | '柒' => 7,
            '八' | '捌' => 8,
            '九' | '玖' => 9,
            _ => return None,
        })
    }

    /// `_CH_ALT_TENS`.
    pub(super) fn alt_tens(c: char) -> Option<i128> {
        Some(match c {
            '廿' => 20,
            '卅' => 30,
            '卌' => 40,
            _ => return None,
        })
    }

    /// `_CH_SMALL_UNITS`.
    pub(super) fn small_unit(c: char) -> Option<i128> {
        Some(match c {
            '十' | '拾' => 10,
            '百' | '佰' => 100,
            '千' | '仟' => 1000,
            _ => return None,
        })
    }

    /// `_CH_LARGE_UNITS`.
    pub(super) fn large_unit(c: char) -> Option<i128> {
        Some(match c {
            '万' | '萬' => 10_000,
            '亿' | '億' => 100_000_000,
            '兆' => 1_000_000_000_000,
            _ => return None,
        })
    }

    /// `_parse_chinese_number`: integer part (digits only, or with units) and an optional
    /// fraction after the first `.`. `Err` mirrors Python's `int()` digit limit and `float()`
    /// overflow, which propagate out of the scorer.
    pub(super) fn parse(s: &str) -> Result<Option<f64>, &'static str> {
        let (integer, fraction) = s.split_once('.').unwrap_or((s, ""));
        let has_units =
            integer.chars().any(|c| small_unit(c).is_some() || large_unit(c).is_some() || alt_tens(c).is_some());
        let int_digits = if has_units {
            match integer_with_units(integer) {
                Some(v) => IntPart::Units(v),
                None => return Ok(None),
            }
        } else {
            let digits: Option<String> =
                integer.chars().map(|c| char_digit(c).and_then(|d| char::from_digit(d, 10))).collect();
            let Some(digits) = digits else {
                return Ok(None);
            };
            if digits.len() > INT_MAX_STR_DIGITS {
                return Err("int() digit limit exceeded");
            }
            IntPart::Digits(digits)
        };
        let mut frac_value = 0.0;
        let mut place = 0.1;
        for c in fraction.chars() {
            let Some(d) = char_digit(c) else {
                return Ok(None);
            };
            frac_value += f64::from(d) * place;
            place /= 10.0;
        }
        let int_value = match int_digits {
            IntPart::Units(v) => v as f64,
            IntPart::Digits(d) if d.is_empty() => 0.0,
            IntPart::Digits(d) => d.parse::<f64>().map_err(|_| "invalid integer")?,
        };
        if int_value.is_infinite() {
            return Err("OverflowError: int too large to convert to float");
        }
        Ok(Some(int_value + frac_value))
    }

    enum IntPart {
        Units(i128),
        Digits(String),
    }

    /// `_parse_chinese_integer_with_units`. Saturation would need more than 10²² characters.
    fn integer_with_units(s: &str) -> Option<i128> {
        let (mut total, mut section, mut number) = (0_i128, 0_i128, 0_i128);
        for c in s.chars() {
            if let Some(v) = alt_tens(c) {
                section = section.saturating_add(v);
            } else if matches!(c, '零' | '〇' | '○') {
            } else if let Some(d) = digit(c).or_else(|| char_digit(c)) {
                number = i128::from(d);
            } else if let Some(unit) = small_unit(c) {
                let n = if number == 0 { 1 } else { number };
                section = section.saturating_add(n * unit);
                number = 0;
            } else if let Some(unit) = large_unit(c) {
                section = section.saturating_add(number);
                number = 0;
                total = total.saturating_add(section.saturating_mul(unit));
                section = 0;
            } else {
                return None;
            }
        }
        Some(total.saturating_add(section).saturating_add(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<String, ScoreError> {
        normalize(s)
    }

    #[test]
    fn str_to_float_shapes() {
        assert_eq!(norm("42").unwrap(), "42");
        assert_eq!(norm("1.2.3").unwrap(), "1.2");
        assert_eq!(norm("2²").unwrap(), "4");
        assert_eq!(norm("²").unwrap(), "1");
        assert_eq!(norm("½").unwrap(), "0.5");
        assert_eq!(norm("2½").unwrap(), "2.5");
        assert_eq!(norm("½1").unwrap(), "1.5");
        assert_eq!(norm("½²").unwrap(), "0.25");
        assert_eq!(norm("2²5").unwrap(), "3.3554e+07");
        assert_eq!(norm("４２").unwrap(), "42");
        assert_eq!(norm("٣.٥").unwrap(), "3.5");
    }

    #[test]
    fn unicode_fallback_shapes() {
        assert_eq!(norm("①").unwrap(), "1");
        assert_eq!(norm("Ⅻ").unwrap(), "12");
        assert_eq!(norm("十二").unwrap(), "12");
        assert_eq!(norm("三百零五").unwrap(), "305");
        assert_eq!(norm("二〇二五").unwrap(), "2025");
        assert_eq!(norm("一万二千").unwrap(), "12000");
        assert_eq!(norm("廿三").unwrap(), "23");
        assert_eq!(norm(".5").unwrap(), "0.5");
        assert_eq!(norm("2²½").unwrap(), "22.5");
        assert_eq!(norm("Ⅻ²").unwrap(), "144");
        assert_eq!(norm("兆").unwrap(), "1e+12");
    }

    #[test]
    fn python_exceptions_become_errors() {
        for token in ["½½", "Ⅻ½½", "10²⁰⁰⁰", "ⅫⅫ"] {
            assert!(matches!(norm(token), Err(ScoreError::V1Parse { .. })), "{token:?} should raise");
        }
    }
}
