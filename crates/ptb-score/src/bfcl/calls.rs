//! Tool-call extraction (scorers.md §6.2): vLLM's `hermes` parser, which turns
//! `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks in the model output into calls, and
//! inspect's parsing of each call's `arguments` string into the dict the v1 scorer compares.

use serde_json::{Map, Value};

use crate::py;

/// One tool call as the OpenAI API carries it: a name and the arguments as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawCall {
    /// The function name.
    pub name: String,
    /// The arguments as written (normally a JSON object, but not guaranteed).
    pub arguments: String,
}

const START: &str = "<tool_call>";
const END: &str = "</tool_call>";

/// vLLM's `Hermes2ProToolParser.extract_tool_calls` on a whole completion: every
/// `<tool_call>…</tool_call>` block (or an unclosed last block up to the end) must hold a JSON object
/// with a string `name` and an `arguments` member, otherwise the completion has **no** calls at all
/// (BFCL-4). Each call's arguments are re-serialised as Python's `json.dumps(…, ensure_ascii=False)`.
///
/// Python's `json.loads` also accepts `NaN`/`Infinity`, lone surrogates and integers beyond 64 bits;
/// serde_json refuses them, so such blocks void the calls here (documented in the BFCL section of
/// docs/benchmarks.md).
pub fn parse_hermes(output: &str) -> Vec<RawCall> {
    let mut calls = Vec::new();
    let mut rest = output;
    while let Some(at) = rest.find(START) {
        let body_and_after = &rest[at + START.len()..];
        let (body, next) = match body_and_after.find(END) {
            Some(end) => (&body_and_after[..end], &body_and_after[end + END.len()..]),
            None => (body_and_after, ""),
        };
        rest = next;
        let Ok(Value::Object(block)) = serde_json::from_str::<Value>(body) else { return Vec::new() };
        let (Some(Value::String(name)), Some(arguments)) = (block.get("name"), block.get("arguments")) else {
            return Vec::new();
        };
        calls.push(RawCall { name: name.clone(), arguments: py_json_dumps(arguments) });
    }
    calls
}

/// The calls a response is scored on: the engine's own parsed calls when it returned any (vLLM ran
/// the hermes parser), otherwise [`parse_hermes`] over the text content. Re-parsing content that vLLM
/// already failed to parse fails the same way, so both sources give the published behaviour.
pub fn response_calls(engine_calls: Vec<RawCall>, content: &str) -> Vec<RawCall> {
    if engine_calls.is_empty() { parse_hermes(content) } else { engine_calls }
}

/// Python's `json.dumps(value, ensure_ascii=False)` with its default separators (`", "`, `": "`).
pub fn py_json_dumps(value: &Value) -> String {
    let mut out = String::new();
    dump(value, &mut out);
    out
}

fn dump(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(f) => out.push_str(&py_float_repr(f)),
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => dump_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_str(k, out);
                out.push_str(": ");
                dump(v, out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional when the decimal exponent
/// is in [-4, 16), otherwise `d.ddde±XX`.
pub fn py_float_repr(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let body = if exp < 0 {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else if exp + 1 >= n {
            format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
        } else {
            format!("{}.{}", &digits[..(exp + 1) as usize], &digits[(exp + 1) as usize..])
        };
        format!("{sign}{body}")
    } else {
        let frac = if digits.len() > 1 { format!(".{}", &digits[1..]) } else { String::new() };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{frac}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

/// inspect's `parse_tool_call` (v1): the stripped `arguments` text starting with `{` is read as JSON
/// (invalid JSON gives `{}`); any other text is YAML-loaded and assigned to the first parameter of the
/// tool with the call's name (BFCL-3), or gives `{}` when no tool of that name has parameters.
pub fn inspect_arguments(arguments: &str, first_param: Option<&str>) -> Map<String, Value> {
    let text = py::strip(arguments);
    if text.starts_with('{') {
        return match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
    }
    let mut out = Map::new();
    if let Some(param) = first_param {
        out.insert(param.to_string(), yaml_safe_load(text));
    }
    out
}

/// PyYAML's `safe_load` (YAML 1.1) for the texts a tool call's arguments hold when they are not an
/// object: JSON scalars and arrays (what vLLM's `json.dumps` writes) and single plain scalars.
///
/// JSON text resolves as PyYAML resolves it: a number without a `.` or with an unsigned exponent is
/// not a YAML float, so `1e+20` stays the string `"1e+20"`. A plain scalar resolves through the YAML
/// 1.1 tags (`yes`/`no`/`on`/`off` booleans, `~`/`null` null, ints, floats with a dot). Text PyYAML
/// would reject (non-printable characters), and text in any other YAML form, is kept as the raw
/// string (inspect's fallback when PyYAML raises); the forms not emulated are listed in
/// the BFCL section of docs/benchmarks.md.
pub fn yaml_safe_load(text: &str) -> Value {
    if text.chars().any(yaml_non_printable) {
        return Value::String(text.to_string());
    }
    if text.is_empty() {
        return Value::Null;
    }
    let mut p = FlowParser { src: text, pos: 0 };
    if let Some(v) = p.value() {
        p.ws();
        if p.pos == text.len() {
            return v;
        }
    }
    if !text.contains('\n') && !text.contains(": ") && !text.contains(" #") && !text.starts_with(YAML_INDICATORS) {
        return resolve_plain(text.trim_end_matches([' ', '\t']));
    }
    Value::String(text.to_string())
}

const YAML_INDICATORS: [char; 18] =
    ['-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@'];

/// PyYAML's reader refuses these characters.
fn yaml_non_printable(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r' | '\x20'..='\x7e' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// A plain YAML 1.1 scalar through PyYAML's implicit resolvers.
fn resolve_plain(s: &str) -> Value {
    match s {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Value::Bool(false),
        "~" | "null" | "Null" | "NULL" | "" => return Value::Null,
        _ => {}
    }
    yaml_number(s).unwrap_or_else(|| Value::String(s.to_string()))
}

/// PyYAML's int (decimal, `0b`, `0x`, leading-zero octal; `_` allowed) and float (a `.` required,
/// exponent only with a sign) resolvers; sexagesimal and `.inf`/`.nan` forms are left as strings.
fn yaml_number(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let int = |digits: &str, radix| i128::from_str_radix(digits, radix).ok();
    let value = if let Some(b) = body.strip_prefix("0b") {
        b.chars().all(|c| matches!(c, '0' | '1' | '_')).then(|| int(&clean[2..], 2)).flatten()
    } else if let Some(x) = body.strip_prefix("0x") {
        x.chars().all(|c| c.is_ascii_hexdigit() || c == '_').then(|| int(&clean[2..], 16)).flatten()
    } else if body.len() > 1 && body.starts_with('0') && body.chars().all(|c| matches!(c, '0'..='7' | '_')) {
        int(&clean, 8)
    } else if body == "0"
        || (body.starts_with(|c: char| matches!(c, '1'..='9')) && body.chars().all(|c| c.is_ascii_digit() || c == '_'))
    {
        int(&clean, 10)
    } else {
        return yaml_float(neg, body.len() < s.len(), body, &clean);
    };
    let v = value?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok().map(Value::from).or_else(|| u64::try_from(v).ok().map(Value::from))
}

fn yaml_float(neg: bool, signed: bool, body: &str, clean: &str) -> Option<Value> {
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac) = mantissa.split_once('.')?;
    let ok_int =
        int_part.starts_with(|c: char| c.is_ascii_digit()) && int_part.chars().all(|c| c.is_ascii_digit() || c == '_');
    let ok_frac = frac.chars().all(|c| c.is_ascii_digit() || c == '_');
    // `.5` is a float, `-.5` is not (PyYAML's second float form takes no sign).
    let ok_int = ok_int || (int_part.is_empty() && !signed && frac.starts_with(|c: char| c.is_ascii_digit()));
    let ok_exp =
        exponent.is_none_or(|e| e.len() > 1 && e.starts_with(['+', '-']) && e[1..].chars().all(|c| c.is_ascii_digit()));
    if !(ok_int && ok_frac && ok_exp) {
        return None;
    }
    let f: f64 = clean.parse().ok()?;
    let f = if neg { -f } else { f };
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// A JSON-flow reader that keeps each number's text, so it resolves as PyYAML resolves it.
struct FlowParser<'a> {
    src: &'a str,
    pos: usize,
}

impl FlowParser<'_> {
    fn ws(&mut self) {
        while self.src[self.pos..].starts_with([' ', '\t', '\n', '\r']) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.ws();
        let rest = &self.src[self.pos..];
        match rest.chars().next()? {
            '"' => {
                let mut de = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
                let v = de.next()?.ok()?;
                self.pos += de.byte_offset();
                Some(v)
            }
            '[' => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.src[self.pos..].starts_with(']') {
                    self.pos += 1;
                    return Some(Value::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    let c = self.src[self.pos..].chars().next()?;
                    self.pos += 1;
                    match c {
                        ',' => continue,
                        ']' => return Some(Value::Array(items)),
                        _ => return None,
                    }
                }
            }
            '{' => {
                self.pos += 1;
                let mut map = Map::new();
                self.ws();
                if self.src[self.pos..].starts_with('}') {
                    self.pos += 1;
                    return Some(Value::Object(map));
                }
                loop {
                    let Some(Value::String(k)) = self.value() else { return None };
                    self.ws();
                    if !self.src[self.pos..].starts_with(':') {
                        return None;
                    }
                    self.pos += 1;
                    let v = self.value()?;
                    map.insert(k, v);
                    self.ws();
                    let c = self.src[self.pos..].chars().next()?;
                    self.pos += 1;
                    match c {
                        ',' => continue,
                        '}' => return Some(Value::Object(map)),
                        _ => return None,
                    }
                }
            }
            _ => {
                let end = rest.find([',', ']', '}', ' ', '\t', '\n', '\r']).unwrap_or(rest.len());
                let token = &rest[..end];
                let v = match token {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    t if serde_json::from_str::<serde_json::Number>(t).is_ok() => resolve_plain(t),
                    _ => return None,
                };
                self.pos += end;
                Some(v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str, arguments: &str) -> RawCall {
        RawCall { name: name.into(), arguments: arguments.into() }
    }

    #[test]
    fn hermes_blocks_become_calls_with_python_json() {
        let out =
            "Sure.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\":1,\"b\":[1.0,1e20,\"é\\n\"]}}\n</tool_call>";
        assert_eq!(parse_hermes(out), vec![call("f", r#"{"a": 1, "b": [1.0, 1e+20, "é\n"]}"#)]);
        let two =
            "<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call><tool_call>{\"name\":\"g\",\"arguments\":16}";
        assert_eq!(parse_hermes(two), vec![call("f", "{}"), call("g", "16")]);
        assert_eq!(parse_hermes("no calls here"), vec![]);
    }

    #[test]
    fn one_malformed_block_voids_every_call() {
        let good = "<tool_call>{\"name\":\"f\",\"arguments\":{}}</tool_call>";
        for bad in [
            "<tool_call>{bad json",
            "<tool_call>{\"name\":\"g\"}</tool_call>",
            "<tool_call>{\"name\":7,\"arguments\":{}}</tool_call>",
            "<tool_call>[1]</tool_call>",
        ] {
            assert_eq!(parse_hermes(&format!("{good}{bad}")), vec![], "{bad}");
        }
    }

    #[test]
    fn python_float_repr() {
        for (f, s) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-2.5, "-2.5"),
            (-0.0, "-0.0"),
            (5e-324, "5e-324"),
            (1e22, "1e+22"),
        ] {
            assert_eq!(py_float_repr(f), s);
        }
    }

    #[test]
    fn inspect_reads_objects_as_json_and_other_text_as_yaml() {
        assert_eq!(Value::Object(inspect_arguments(" {\"a\": 1} ", Some("x"))), json!({"a": 1}));
        assert_eq!(Value::Object(inspect_arguments("{bad", Some("x"))), json!({}));
        assert_eq!(Value::Object(inspect_arguments("16", Some("x"))), json!({"x": 16}));
        assert_eq!(Value::Object(inspect_arguments("16", None)), json!({}));
        assert_eq!(Value::Object(inspect_arguments("", Some("x"))), json!({"x": null}));
        for (text, want) in [
            ("\"abc\"", json!("abc")),
            ("[1, 2.5, \"a\"]", json!([1, 2.5, "a"])),
            ("1e+20", json!("1e+20")),
            ("1.5e+20", json!(1.5e20)),
            ("yes", json!(true)),
            ("Off", json!(false)),
            ("~", json!(null)),
            ("0x1F", json!(31)),
            ("017", json!(15)),
            ("1_000", json!(1000)),
            ("-3", json!(-3)),
            ("hello world", json!("hello world")),
            ("true", json!(true)),
            ("null", json!(null)),
            ("a: 1", json!("a: 1")),
            ("\u{7f}", json!("\u{7f}")),
            ("[1e+20]", json!(["1e+20"])),
            (".5", json!(0.5)),
        ] {
            assert_eq!(yaml_safe_load(text), want, "{text}");
        }
    }
}
