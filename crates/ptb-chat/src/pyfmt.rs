//! Python-compatible text forms of template values: `repr`/`str` (for `{{ value }}` and the `string`
//! filter) and `json.dumps` (for the `tojson` filter transformers installs).

use std::fmt::Write as _;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// Python's `repr(float)` for a finite number: shortest round-trip digits, exponent form outside
/// `1e-4 <= |x| < 1e16` (`1e+16`, `1.5e-05`), and always a `.0` on integral values.
fn finite_float_repr(f: f64) -> String {
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if f == 0.0 || (-4..16).contains(&exp) {
        let fixed = f.to_string();
        if fixed.contains('.') { fixed } else { fixed + ".0" }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// Python's `repr(float)`, including `nan` and `inf`.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        finite_float_repr(f)
    }
}

/// Text of a number value: integers verbatim, floats as Python writes them.
fn number_text(value: &Value, float: fn(f64) -> String) -> String {
    if value.is_integer() {
        value.to_string()
    } else {
        f64::try_from(value.clone()).map_or_else(|_| value.to_string(), float)
    }
}

/// Whether Python's `str.isprintable()` is false for `c` (it is then escaped by `repr`).
/// Covers control, format, separator (other than space), line/paragraph separator and
/// private-use characters; unassigned code points are not detected.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{a0}' | '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
            | '\u{1680}' | '\u{180e}' | '\u{2000}'..='\u{200f}' | '\u{2028}'..='\u{202f}'
            | '\u{205f}'..='\u{2064}' | '\u{2066}'..='\u{206f}' | '\u{3000}' | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{10ffff}')
}

/// Python's `repr(str)`: single quotes unless the text holds `'` and no `"`.
fn str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_unprintable(c) => {
                let n = u32::from(c);
                let _ = match n {
                    0..=0xff => write!(out, "\\x{n:02x}"),
                    0x100..=0xffff => write!(out, "\\u{n:04x}"),
                    _ => write!(out, "\\U{n:08x}"),
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// Python's `repr` of a template value (dicts and lists recurse with `repr` of their items).
fn repr_into(value: &Value, out: &mut String) {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&number_text(value, float_repr)),
        ValueKind::String => str_repr(value.as_str().unwrap_or_default(), out),
        ValueKind::Bytes => {
            out.push('b');
            str_repr(&String::from_utf8_lossy(value.as_bytes().unwrap_or_default()), out);
        }
        ValueKind::Map => {
            out.push('{');
            for (i, key) in value.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(&key, out);
                out.push_str(": ");
                repr_into(&value.get_item(&key).unwrap_or_default(), out);
            }
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, item) in value.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr_into(&item, out);
            }
            out.push(']');
        }
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

/// Python's `str(value)`: strings unchanged, everything else as `repr` (`None`, `True`,
/// `{'a': 1}`, `1e+16`).
pub(crate) fn py_str(value: &Value) -> String {
    match value.as_str() {
        Some(s) => s.to_owned(),
        None => {
            let mut out = String::new();
            repr_into(value, &mut out);
            out
        }
    }
}

/// Whether `{{ value }}` must be written the Python way rather than by minijinja's default
/// formatter (which writes `none`, `true`, `{"a": 1}`).
pub(crate) fn needs_python_text(value: &Value) -> bool {
    matches!(
        value.kind(),
        ValueKind::None | ValueKind::Bool | ValueKind::Number | ValueKind::Bytes | ValueKind::Map | ValueKind::Seq
    )
}

/// Options of Python's `json.dumps` that transformers' `tojson` filter exposes.
#[derive(Debug, Clone)]
pub(crate) struct JsonOptions {
    /// Escape every non-ASCII character as `\uXXXX`.
    pub ensure_ascii: bool,
    /// Indentation string per level; `None` writes everything on one line.
    pub indent: Option<String>,
    /// Separator between items.
    pub item_sep: String,
    /// Separator between a key and its value.
    pub key_sep: String,
    /// Sort object keys.
    pub sort_keys: bool,
}

impl JsonOptions {
    /// `json.dumps` defaults for the given indent: `", "` between items on one line, `","` when
    /// indenting, `": "` after keys.
    pub(crate) fn new(indent: Option<String>) -> Self {
        let item_sep = if indent.is_some() { "," } else { ", " };
        Self { ensure_ascii: false, indent, item_sep: item_sep.into(), key_sep: ": ".into(), sort_keys: false }
    }
}

/// Python's `json.dumps` string encoding.
fn json_str(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' || (ensure_ascii && !(' '..='~').contains(&c)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `json` float text: `NaN`, `Infinity`, `-Infinity`, else `repr`.
fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        finite_float_repr(f)
    }
}

/// The text `json.dumps` uses for a dict key (keys are coerced to strings).
fn json_key(key: &Value) -> Result<String, Error> {
    match key.kind() {
        ValueKind::String => Ok(key.as_str().unwrap_or_default().to_owned()),
        ValueKind::Number => Ok(number_text(key, json_float)),
        ValueKind::Bool => Ok(if key.is_true() { "true" } else { "false" }.into()),
        ValueKind::None => Ok("null".into()),
        kind => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("tojson: keys must be str, int, float, bool or None, not {kind}"),
        )),
    }
}

fn newline_indent(opts: &JsonOptions, depth: usize, out: &mut String) {
    if let Some(indent) = &opts.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(indent);
        }
    }
}

fn json_into(value: &Value, opts: &JsonOptions, depth: usize, out: &mut String) -> Result<(), Error> {
    match value.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => out.push_str(&number_text(value, json_float)),
        ValueKind::String => json_str(value.as_str().unwrap_or_default(), opts.ensure_ascii, out),
        ValueKind::Map => {
            let mut entries = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                entries.push((json_key(&key)?, item));
            }
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline_indent(opts, depth + 1, out);
                json_str(key, opts.ensure_ascii, out);
                out.push_str(&opts.key_sep);
                json_into(item, opts, depth + 1, out)?;
            }
            newline_indent(opts, depth, out);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&opts.item_sep);
                }
                newline_indent(opts, depth + 1, out);
                json_into(item, opts, depth + 1, out)?;
            }
            newline_indent(opts, depth, out);
            out.push(']');
        }
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson: object of type {kind} is not JSON serializable"),
            ));
        }
    }
    Ok(())
}

/// Python's `json.dumps(value, ...)` with the given options.
pub(crate) fn json_dumps(value: &Value, opts: &JsonOptions) -> Result<String, Error> {
    let mut out = String::new();
    json_into(value, opts, 0, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_follow_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (123456789012345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (2.5e300, "2.5e+300"),
        ];
        for (f, want) in cases {
            assert_eq!(finite_float_repr(f), want, "{f}");
        }
        assert_eq!(float_repr(f64::NAN), "nan");
        assert_eq!(json_float(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn str_repr_picks_quotes_and_escapes() {
        let r = |s: &str| {
            let mut out = String::new();
            str_repr(s, &mut out);
            out
        };
        assert_eq!(r("plain"), "'plain'");
        assert_eq!(r("don't"), "\"don't\"");
        assert_eq!(r("both ' and \""), "'both \\' and \"'");
        assert_eq!(r("a\nb\\\u{1}\u{a0}é"), "'a\\nb\\\\\\x01\\xa0é'");
    }

    #[test]
    fn py_str_of_nested_values() {
        let v = Value::from(minijinja::value::Serde(serde_json::json!(
            {"b": [1, 2.0, null, true], "a": {"x": "y'z"}}
        )));
        assert_eq!(py_str(&v), "{'b': [1, 2.0, None, True], 'a': {'x': \"y'z\"}}");
    }

    #[test]
    fn json_dumps_matches_python_defaults() {
        let v = Value::from(minijinja::value::Serde(serde_json::json!(
            {"z": "<a> & 'b' é\u{1}", "a": [], "m": {}, "n": [1, {"k": false}]}
        )));
        let compact = json_dumps(&v, &JsonOptions::new(None)).unwrap();
        assert_eq!(compact, r#"{"z": "<a> & 'b' é\u0001", "a": [], "m": {}, "n": [1, {"k": false}]}"#);
        let mut opts = JsonOptions::new(Some("  ".into()));
        opts.ensure_ascii = true;
        opts.sort_keys = true;
        assert_eq!(
            json_dumps(&v, &opts).unwrap(),
            "{\n  \"a\": [],\n  \"m\": {},\n  \"n\": [\n    1,\n    {\n      \"k\": false\n    }\n  ],\n  \"z\": \"<a> & 'b' \\u00e9\\u0001\"\n}"
        );
    }
}
