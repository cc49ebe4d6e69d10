//! Python 3.11 text semantics (Unicode 14) that the v1 scorer depends on (scorers.md §0).

mod ucd;

use ucd::{ND_ZEROS, NUMERIC_RUNS};

/// `str.isspace()` for one character; also what Python's `\s`, `strip()` and `split()` use.
/// Unlike Rust's `char::is_whitespace` it includes U+001C–U+001F.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// `str.strip()`: removes Python whitespace from both ends.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// `re.split(r"\s+", s)`: splits on runs of Python whitespace; a leading or trailing run yields an
/// empty first or last token, and `""` yields `[""]`.
pub fn split_whitespace_runs(s: &str) -> Vec<&str> {
    let parts: Vec<&str> = s.split(is_space).collect();
    let last = parts.len() - 1;
    parts.iter().enumerate().filter(|&(i, p)| i == 0 || i == last || !p.is_empty()).map(|(_, p)| *p).collect()
}

/// `string.whitespace`: space, `\t`, `\n`, `\r`, `\x0b`, `\x0c`.
pub fn is_ascii_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `string.punctuation`: the 32 ASCII punctuation characters.
pub fn is_ascii_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// `str.casefold()` (full Unicode case folding).
pub fn casefold(s: &str) -> String {
    caseless::default_case_fold_str(s)
}

/// `unicodedata.decimal(c)`: the value of a decimal digit (General Category Nd), which is also
/// what Python's `\d` matches and `float()`/`int()` accept.
pub fn decimal_value(c: char) -> Option<u32> {
    let cp = u32::from(c);
    let i = ND_ZEROS.partition_point(|&zero| zero <= cp);
    let zero = *ND_ZEROS.get(i.checked_sub(1)?)?;
    (cp - zero < 10).then_some(cp - zero)
}

/// Maps a decimal digit of any script to its ASCII digit; other characters are returned as is.
pub fn ascii_digit(c: char) -> char {
    match decimal_value(c) {
        Some(d) => char::from(b'0' + d as u8),
        None => c,
    }
}

fn numeric_run(c: char) -> Option<(f64, bool)> {
    let cp = u32::from(c);
    let i = NUMERIC_RUNS.partition_point(|run| run.0 <= cp);
    let &(first, last, value, is_digit) = NUMERIC_RUNS.get(i.checked_sub(1)?)?;
    (cp <= last).then(|| (value + f64::from(cp - first), is_digit))
}

/// `unicodedata.digit(c)`: decimal digits plus Numeric_Type=Digit characters such as `²` or `①`.
pub fn digit_value(c: char) -> Option<u32> {
    decimal_value(c).or_else(|| match numeric_run(c) {
        Some((value, true)) => Some(value as u32),
        _ => None,
    })
}

/// `unicodedata.numeric(c)`: the Unicode numeric value (`①` = 1, `Ⅻ` = 12, `½` = 0.5, `万` = 10⁴).
pub fn numeric_value(c: char) -> Option<f64> {
    decimal_value(c).map(f64::from).or_else(|| numeric_run(c).map(|(value, _)| value))
}

/// `str.isnumeric()` for one character: Nd, Nl, No and 81 CJK ideographs (Unicode 14).
pub fn is_numeric_char(c: char) -> bool {
    numeric_value(c).is_some()
}

/// `str.isnumeric()`: non-empty and every character numeric.
pub fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_numeric_char)
}

/// `format(x, ".5g")`: five significant digits, correctly rounded (ties to even), fixed notation
/// for decimal exponents −4…4, trailing zeros removed.
pub fn format_g5(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:.4e}", x.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..5).contains(&exponent) {
        let fixed = if exponent >= 0 {
            let (int, frac) = digits.split_at(exponent as usize + 1);
            format!("{int}.{frac}")
        } else {
            format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
        };
        format!("{sign}{}", trim_fraction_zeros(&fixed))
    } else {
        let (lead, rest) = digits.split_at(1);
        let esign = if exponent < 0 { '-' } else { '+' };
        let mantissa = trim_fraction_zeros(&format!("{lead}.{rest}")).to_string();
        format!("{sign}{mantissa}e{esign}{:02}", exponent.unsigned_abs())
    }
}

/// Removes trailing zeros after a decimal point, then a trailing point.
fn trim_fraction_zeros(s: &str) -> &str {
    s.trim_end_matches('0').trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g5_vectors() {
        let cases = [
            (42.0, "42"),
            (41.99999, "42"),
            (42.000003, "42"),
            (12345.5, "12346"),
            (12344.5, "12344"),
            (123455.0, "1.2346e+05"),
            (122225.0, "1.2222e+05"),
            (99999.5, "1e+05"),
            (250000.0, "2.5e+05"),
            (0.0001, "0.0001"),
            (0.00001234567, "1.2346e-05"),
            (0.0, "0"),
            (-0.0, "-0"),
            (-1.5, "-1.5"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e300, "1e+300"),
            (100.0, "100"),
            (0.5, "0.5"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g5(x), want, "format({x}, '.5g')");
        }
    }

    #[test]
    fn whitespace_set_matches_python() {
        let python: Vec<u32> = (0x9..=0xd)
            .chain(0x1c..=0x20)
            .chain([0x85, 0xa0, 0x1680])
            .chain(0x2000..=0x200a)
            .chain([0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
            .collect();
        let ours: Vec<u32> = (0..=0x10ffff_u32).filter(|&cp| char::from_u32(cp).is_some_and(is_space)).collect();
        assert_eq!(ours, python);
        assert_eq!(strip("\u{1c} 42\u{3000}\u{a0}"), "42");
        assert_eq!(split_whitespace_runs(" a \u{1f} b "), ["", "a", "b", ""]);
        assert_eq!(split_whitespace_runs(""), [""]);
        assert_eq!(split_whitespace_runs("   "), ["", ""]);
    }

    #[test]
    fn isnumeric_includes_the_81_cjk_ideographs() {
        let extras = [
            0x3405, 0x3483, 0x382A, 0x3B4D, 0x4E00, 0x4E03, 0x4E07, 0x4E09, 0x4E5D, 0x4E8C, 0x4E94, 0x4E96, 0x4EBF,
            0x4EC0, 0x4EDF, 0x4EE8, 0x4F0D, 0x4F70, 0x5104, 0x5146, 0x5169, 0x516B, 0x516D, 0x5341, 0x5343, 0x5344,
            0x5345, 0x534C, 0x53C1, 0x53C2, 0x53C3, 0x53C4, 0x56DB, 0x58F1, 0x58F9, 0x5E7A, 0x5EFE, 0x5EFF, 0x5F0C,
            0x5F0D, 0x5F0E, 0x5F10, 0x62FE, 0x634C, 0x67D2, 0x6F06, 0x7396, 0x767E, 0x8086, 0x842C, 0x8CAE, 0x8CB3,
            0x8D30, 0x9621, 0x9646, 0x964C, 0x9678, 0x96F6, 0xF96B, 0xF973, 0xF978, 0xF9B2, 0xF9D1, 0xF9D3, 0xF9FD,
            0x20001, 0x20064, 0x200E2, 0x20121, 0x2092A, 0x20983, 0x2098C, 0x2099C, 0x20AEA, 0x20AFD, 0x20B19, 0x22390,
            0x22998, 0x23B1B, 0x2626D, 0x2F890,
        ];
        assert_eq!(extras.len(), 81);
        for cp in extras {
            let c = char::from_u32(cp).expect("valid code point");
            assert!(is_numeric_char(c), "U+{cp:04X} should be numeric");
            assert!(!c.is_numeric(), "U+{cp:04X} is Lo, outside Rust's is_numeric");
        }
        // Exactly 81 numeric characters lie outside Nd|Nl|No in Unicode 14 (all Lo ideographs).
        let lo_numeric =
            (0..=0x10ffff_u32).filter_map(char::from_u32).filter(|&c| is_numeric_char(c) && !c.is_numeric()).count();
        assert_eq!(lo_numeric, 81);
        assert!(is_numeric("一二三十百千万億兆零壹"));
        for s in ["", "-1", "+1", "1.5", "1,5", "1e5"] {
            assert!(!is_numeric(s), "{s:?}");
        }
    }

    #[test]
    fn digit_and_numeric_values() {
        assert_eq!(decimal_value('7'), Some(7));
        assert_eq!(decimal_value('٣'), Some(3));
        assert_eq!(decimal_value('４'), Some(4));
        assert_eq!(decimal_value('𝟿'), Some(9));
        assert_eq!(decimal_value('²'), None);
        assert_eq!(digit_value('²'), Some(2));
        assert_eq!(digit_value('①'), Some(1));
        assert_eq!(digit_value('⑩'), None);
        assert_eq!(numeric_value('⑩'), Some(10.0));
        assert_eq!(numeric_value('Ⅻ'), Some(12.0));
        assert_eq!(numeric_value('½'), Some(0.5));
        assert_eq!(numeric_value('⅓'), Some(1.0 / 3.0));
        assert_eq!(numeric_value('万'), Some(10_000.0));
        assert_eq!(numeric_value('兆'), Some(1e12));
        assert_eq!(numeric_value('a'), None);
        assert_eq!(ascii_digit('٩'), '9');
        assert_eq!(ascii_digit('x'), 'x');
        assert_eq!(casefold("1.2346E+05"), "1.2346e+05");
    }
}
