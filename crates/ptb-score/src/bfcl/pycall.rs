//! The ground-truth parser: a Python call such as `f(a=1, b='x', c=[1, 2], d=(1.5, -2.0), e=None)`
//! read as inspect_evals reads it (`ast.parse`, a bare callee name, keyword arguments only, each value
//! through `ast.literal_eval`), then round-tripped through JSON as the original does (tuples become
//! lists, dict keys become strings). Anything else is a [`CallParseError`], never a panic.

use serde_json::{Map, Number, Value};

/// A ground-truth call: `{function, arguments}` (scorers.md §6.1).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetCall {
    /// The callee's name.
    pub function: String,
    /// The keyword arguments in source order, as JSON values.
    pub arguments: Map<String, Value>,
}

impl TargetCall {
    /// `{"function": …, "arguments": {…}}`, the original's target object.
    pub fn to_json(&self) -> Value {
        serde_json::json!({"function": self.function, "arguments": self.arguments})
    }
}

/// Why a ground-truth string is not a call with literal keyword arguments.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct CallParseError {
    /// Byte offset of the problem in the call string.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Python's reserved words, which are never names.
const KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Parses one ground-truth call string.
///
/// Differences from Python, all on inputs no BFCL item has: a value that is not a literal is an error
/// (the original silently dropped it), and so are values JSON cannot hold (sets, bytes, complex,
/// integers beyond 64 bits, non-finite floats, float or tuple dict keys), where the original raised.
pub fn parse_call(src: &str) -> Result<TargetCall, CallParseError> {
    let mut p = Parser { src, pos: 0 };
    if src.starts_with([' ', '\t', '\x0c']) {
        return Err(p.error("unexpected indent"));
    }
    let function = p.name().ok_or_else(|| p.error("expected the function name"))?;
    p.skip_ws();
    if p.peek() == Some('.') {
        return Err(p.error("the callee must be a bare name, not an attribute"));
    }
    p.expect('(')?;
    let mut arguments = Map::new();
    loop {
        p.skip_ws();
        if p.eat(')') {
            break;
        }
        let start = p.pos;
        if p.rest().starts_with('*') {
            return Err(p.error("`*args`/`**kwargs` are not supported"));
        }
        let key = match p.name() {
            Some(k) if p.at_assign() => k,
            _ => {
                p.pos = start;
                return Err(p.error("positional arguments are not supported; use keyword arguments (name=value)"));
            }
        };
        p.skip_ws();
        p.expect('=')?;
        p.skip_ws();
        let value = p.value()?;
        if arguments.contains_key(&key) {
            return Err(CallParseError { offset: start, message: format!("keyword argument repeated: {key}") });
        }
        arguments.insert(key, value.into_json());
        p.skip_ws();
        if !p.eat(',') {
            p.expect(')')?;
            break;
        }
    }
    p.skip_ws();
    if p.pos < src.len() {
        return Err(p.error("unexpected text after the call"));
    }
    Ok(TargetCall { function, arguments })
}

/// A parsed Python literal, before the JSON round trip.
#[derive(Clone, Debug)]
enum Lit {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// A list or a tuple (the JSON round trip makes both arrays).
    Seq(Vec<Lit>),
    Dict(Vec<(String, Lit)>),
}

impl Lit {
    fn into_json(self) -> Value {
        match self {
            Lit::None => Value::Null,
            Lit::Bool(b) => Value::Bool(b),
            // Range-checked when parsed.
            Lit::Int(i) => i64::try_from(i).map(Value::from).unwrap_or_else(|_| Value::from(i as u64)),
            Lit::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Lit::Str(s) => Value::String(s),
            Lit::Seq(items) => Value::Array(items.into_iter().map(Lit::into_json).collect()),
            Lit::Dict(pairs) => {
                let mut map = Map::new();
                for (k, v) in pairs {
                    // Python dicts keep the last value of a repeated key, at the first key's position.
                    map.insert(k, v.into_json());
                }
                Value::Object(map)
            }
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Lit::Int(_) | Lit::Float(_))
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), CallParseError> {
        if self.eat(c) { Ok(()) } else { Err(self.error(&format!("expected `{c}`"))) }
    }

    fn error(&self, message: &str) -> CallParseError {
        let found = match self.peek() {
            Some(c) => format!(", found {c:?}"),
            None => ", found the end".to_string(),
        };
        CallParseError { offset: self.pos, message: format!("{message}{found}") }
    }

    /// `=` that is an assignment, not `==`.
    fn at_assign(&mut self) -> bool {
        let save = self.pos;
        self.skip_ws();
        let yes = self.rest().starts_with('=') && !self.rest().starts_with("==");
        self.pos = save;
        yes
    }

    /// Whitespace, comments and line continuations inside brackets (newlines included).
    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\n' | '\r' | '\x0c') => {
                    self.pos += 1;
                }
                Some('#') => {
                    let end = self.rest().find('\n').map_or(self.src.len(), |i| self.pos + i);
                    self.pos = end;
                }
                Some('\\') if self.rest()[1..].starts_with('\n') || self.rest()[1..].starts_with("\r\n") => {
                    self.pos += if self.rest()[1..].starts_with('\n') { 2 } else { 3 };
                }
                _ => return,
            }
        }
    }

    /// An identifier that is not a reserved word.
    fn name(&mut self) -> Option<String> {
        let start = self.pos;
        let first = self.peek()?;
        if !(first == '_' || first.is_alphabetic()) {
            return None;
        }
        while self.peek().is_some_and(|c| c == '_' || c.is_alphanumeric()) {
            self.bump();
        }
        let name = &self.src[start..self.pos];
        if KEYWORDS.contains(&name) {
            self.pos = start;
            return None;
        }
        Some(name.to_string())
    }

    /// A literal as `ast.literal_eval` accepts it (`signed`: a leading `+`/`-` is allowed here).
    fn value(&mut self) -> Result<Lit, CallParseError> {
        self.value_with(true)
    }

    fn value_with(&mut self, signed: bool) -> Result<Lit, CallParseError> {
        let start = self.pos;
        let lit = match self.peek() {
            None => return Err(self.error("expected a value")),
            Some(c @ ('-' | '+')) if signed => {
                self.bump();
                self.skip_ws();
                let operand = self.value_with(false)?;
                return match operand {
                    Lit::Int(i) if c == '-' => Ok(Lit::Int(-i)),
                    Lit::Float(f) if c == '-' => Ok(Lit::Float(-f)),
                    n if n.is_number() => Ok(n),
                    _ => Err(CallParseError { offset: start, message: "a sign applies only to a number".into() }),
                };
            }
            Some('[') => {
                self.bump();
                Lit::Seq(self.items(']')?.0)
            }
            Some('(') => {
                self.bump();
                self.skip_ws();
                let (items, trailing_comma) = self.items(')')?;
                if items.len() == 1 && !trailing_comma {
                    // A parenthesised value, not a tuple; `-(1)` is still a signed number.
                    let item = items.into_iter().next().expect("one item");
                    return self.after_value(item, start);
                }
                Lit::Seq(items)
            }
            Some('{') => {
                self.bump();
                self.dict()?
            }
            Some(c)
                if c.is_ascii_digit() || (c == '.' && self.rest()[1..].starts_with(|d: char| d.is_ascii_digit())) =>
            {
                self.number()?
            }
            Some(_) => {
                if let Some(s) = self.strings()? {
                    Lit::Str(s)
                } else {
                    match self.name().as_deref() {
                        None => match self.rest() {
                            r if r.starts_with("None") => self.keyword(4, Lit::None),
                            r if r.starts_with("True") => self.keyword(4, Lit::Bool(true)),
                            r if r.starts_with("False") => self.keyword(5, Lit::Bool(false)),
                            _ => return Err(self.error("expected a literal value")),
                        },
                        Some(other) => {
                            self.pos = start;
                            return Err(self.error(&format!("`{other}` is not a literal value")));
                        }
                    }
                }
            }
        };
        self.after_value(lit, start)
    }

    fn keyword(&mut self, len: usize, lit: Lit) -> Lit {
        self.pos += len;
        lit
    }

    /// Rejects what would make the value an expression rather than a literal (`1 + 2`, `x.y`, `f()`).
    fn after_value(&mut self, lit: Lit, start: usize) -> Result<Lit, CallParseError> {
        let save = self.pos;
        self.skip_ws();
        match self.peek() {
            None | Some(',' | ')' | ']' | '}' | ':') => {
                self.pos = save;
                Ok(lit)
            }
            Some(_) => Err(CallParseError {
                offset: start,
                message: format!(
                    "not a literal value (an expression continues with {:?} at byte {})",
                    self.peek().unwrap_or(' '),
                    self.pos
                ),
            }),
        }
    }

    /// Comma-separated values up to `close`; the flag tells whether a trailing comma was written.
    fn items(&mut self, close: char) -> Result<(Vec<Lit>, bool), CallParseError> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok((items, trailing_comma));
            }
            if !items.is_empty() && !trailing_comma {
                return Err(self.error(&format!("expected `,` or `{close}`")));
            }
            items.push(self.value()?);
            self.skip_ws();
            trailing_comma = self.eat(',');
        }
    }

    /// `{k: v, …}` after the `{`; a set literal is refused (JSON cannot hold it).
    fn dict(&mut self) -> Result<Lit, CallParseError> {
        let mut pairs = Vec::new();
        loop {
            self.skip_ws();
            if self.eat('}') {
                return Ok(Lit::Dict(pairs));
            }
            if self.rest().starts_with("**") {
                return Err(self.error("`**` unpacking is not a literal"));
            }
            let key_at = self.pos;
            let key = self.value()?;
            self.skip_ws();
            if !self.eat(':') {
                return Err(self.error("expected `:` (set literals cannot be converted to JSON)"));
            }
            self.skip_ws();
            let value = self.value()?;
            pairs.push((json_key(key, key_at)?, value));
            self.skip_ws();
            if !self.eat(',') {
                self.expect('}')?;
                return Ok(Lit::Dict(pairs));
            }
        }
    }

    /// A Python number token: decimal, hex, octal or binary int, or float (with exponent).
    fn number(&mut self) -> Result<Lit, CallParseError> {
        let start = self.pos;
        let rest = self.rest();
        let radix = match rest.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("0x") => Some(16),
            Some("0o") => Some(8),
            Some("0b") => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            self.pos += 2;
            let digits_at = self.pos;
            while self.peek().is_some_and(|c| c == '_' || c.is_ascii_alphanumeric()) {
                self.bump();
            }
            let digits: String = self.src[digits_at..self.pos].chars().filter(|&c| c != '_').collect();
            return i128::from_str_radix(&digits, radix)
                .ok()
                .filter(|&i| i <= u64::MAX as i128)
                .map(Lit::Int)
                .ok_or_else(|| CallParseError { offset: start, message: "invalid or too large integer".into() });
        }
        let mut is_float = false;
        let digits = |p: &mut Self| {
            while p.peek().is_some_and(|c| c.is_ascii_digit() || c == '_') {
                p.bump();
            }
        };
        digits(self);
        if self.eat('.') {
            is_float = true;
            digits(self);
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                digits(self);
            } else {
                self.pos = save;
            }
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            return Err(self.error("complex numbers cannot be converted to JSON"));
        }
        if self.peek().is_some_and(|c| c == '_' || c.is_alphanumeric()) {
            return Err(self.error("invalid number literal"));
        }
        let text = &self.src[start..self.pos];
        let bad = || CallParseError { offset: start, message: format!("invalid number literal {text:?}") };
        if text.contains("__") || text.ends_with('_') || text.contains("_.") || text.contains("._") {
            return Err(bad());
        }
        let clean: String = text.chars().filter(|&c| c != '_').collect();
        if is_float {
            let f: f64 = clean.parse().map_err(|_| bad())?;
            if !f.is_finite() {
                return Err(CallParseError { offset: start, message: format!("{text} overflows a float") });
            }
            Ok(Lit::Float(f))
        } else {
            if clean.len() > 1 && clean.starts_with('0') && clean.chars().any(|c| c != '0') {
                return Err(CallParseError { offset: start, message: "leading zeros in a decimal integer".into() });
            }
            clean.parse::<i128>().ok().filter(|&i| i <= u64::MAX as i128).map(Lit::Int).ok_or_else(|| CallParseError {
                offset: start,
                message: format!("integer {text} does not fit in 64 bits"),
            })
        }
    }

    /// One or more adjacent string literals (Python concatenates them); `None` when no string starts here.
    fn strings(&mut self) -> Result<Option<String>, CallParseError> {
        let mut out: Option<String> = None;
        loop {
            let save = self.pos;
            if out.is_some() {
                self.skip_ws();
            }
            match self.string()? {
                Some(s) => out.get_or_insert_with(String::new).push_str(&s),
                None => {
                    self.pos = save;
                    return Ok(out);
                }
            }
        }
    }

    /// One string literal with an optional `r`/`u` prefix.
    fn string(&mut self) -> Result<Option<String>, CallParseError> {
        let start = self.pos;
        let prefix_len = self.rest().find(['\'', '"']).filter(|&i| i <= 2).unwrap_or(usize::MAX);
        if prefix_len == usize::MAX {
            return Ok(None);
        }
        let prefix = self.rest()[..prefix_len].to_ascii_lowercase();
        let raw = match prefix.as_str() {
            "" | "u" => false,
            "r" => true,
            "b" | "rb" | "br" => return Err(self.error("bytes cannot be converted to JSON")),
            "f" | "rf" | "fr" => return Err(self.error("f-strings are not literals")),
            _ => return Ok(None),
        };
        self.pos += prefix_len;
        let quote = self.bump().expect("quote found");
        let triple: String = std::iter::repeat_n(quote, 3).collect();
        // Two more quotes right after the first make a triple-quoted string (`''` alone is empty).
        let long = self.rest().starts_with(&triple[1..]);
        if long {
            self.pos += 2;
        }
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Err(CallParseError { offset: start, message: "unterminated string".into() });
            };
            if c == quote {
                if !long {
                    return Ok(Some(out));
                }
                if self.rest().starts_with(&triple[1..]) {
                    self.pos += 2;
                    return Ok(Some(out));
                }
                out.push(c);
            } else if c == '\n' && !long {
                return Err(CallParseError { offset: start, message: "unterminated string".into() });
            } else if c == '\\' {
                if raw {
                    out.push('\\');
                    if let Some(next) = self.bump() {
                        out.push(next);
                    }
                } else {
                    self.escape(&mut out)?;
                }
            } else {
                out.push(c);
            }
        }
    }

    /// The escape after a backslash in a non-raw string; unknown escapes stay as written.
    fn escape(&mut self, out: &mut String) -> Result<(), CallParseError> {
        let at = self.pos - 1;
        let bad = |m: &str| CallParseError { offset: at, message: m.to_string() };
        let Some(c) = self.bump() else { return Err(bad("unterminated string")) };
        let simple = match c {
            '\n' => Some(None),
            '\\' => Some(Some('\\')),
            '\'' => Some(Some('\'')),
            '"' => Some(Some('"')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(ch) = simple {
            out.extend(ch);
            return Ok(());
        }
        let hex = |p: &mut Self, n: usize| -> Result<u32, CallParseError> {
            let digits = p.rest().get(..n).filter(|d| d.chars().all(|c| c.is_ascii_hexdigit()));
            let digits = digits.ok_or_else(|| bad("truncated \\x, \\u or \\U escape"))?;
            p.pos += n;
            Ok(u32::from_str_radix(digits, 16).expect("hex digits"))
        };
        let code = match c {
            '0'..='7' => {
                let mut v = c.to_digit(8).expect("octal digit");
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.bump();
                        }
                        None => break,
                    }
                }
                v
            }
            'x' => hex(self, 2)?,
            'u' => hex(self, 4)?,
            'U' => hex(self, 8)?,
            'N' => return Err(bad("\\N{…} escapes are not supported")),
            other => {
                out.push('\\');
                out.push(other);
                return Ok(());
            }
        };
        // Lone surrogates cannot be held by a Rust string (nor written by json.dumps as UTF-8).
        out.push(char::from_u32(code).ok_or_else(|| bad("escape is not a Unicode scalar value"))?);
        Ok(())
    }
}

/// The key `json.dumps` writes for a dict key: strings as they are, ints in decimal, `true`/`false`,
/// `null`; other keys (floats, tuples) are refused.
fn json_key(key: Lit, offset: usize) -> Result<String, CallParseError> {
    match key {
        Lit::Str(s) => Ok(s),
        Lit::Int(i) => Ok(i.to_string()),
        Lit::Bool(b) => Ok(b.to_string()),
        Lit::None => Ok("null".into()),
        Lit::Float(_) | Lit::Seq(_) | Lit::Dict(_) => {
            Err(CallParseError { offset, message: "only string, int, bool or None dict keys are supported".into() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(src: &str) -> Value {
        let call = parse_call(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        Value::Object(call.arguments)
    }

    #[test]
    fn parses_every_literal_kind() {
        let call = parse_call(
            "f(a=1, b=\"x\", c=[1, 2], d={\"k\": (1, 2)}, e=None, f=True, g=-3.5, h='it\\'s', i=1e-3, j=(), k=(5,), l=(7))",
        )
        .unwrap();
        assert_eq!(call.function, "f");
        assert_eq!(
            Value::Object(call.arguments),
            json!({"a": 1, "b": "x", "c": [1, 2], "d": {"k": [1, 2]}, "e": null, "f": true, "g": -3.5,
                   "h": "it's", "i": 0.001, "j": [], "k": [5], "l": 7})
        );
    }

    #[test]
    fn numbers_strings_and_keys_follow_python() {
        assert_eq!(
            args("f(x=0x1F, y=0o17, z=0b101, w=1_000, v=+2, u=-(3), t=.5, s=5., r=2E+2)"),
            json!({"x": 31, "y": 15, "z": 5, "w": 1000, "v": 2, "u": -3, "t": 0.5, "s": 5.0, "r": 200.0})
        );
        assert_eq!(
            args(r#"f(a="tab\tq\"\x41\u00e9\101", b=r'\d+', c='a' "b", d='''x'y''')"#),
            json!({"a": "tab\tq\"Aé\u{41}", "b": "\\d+", "c": "ab", "d": "x'y"})
        );
        assert_eq!(
            args("f(d={1: 'a', True: 'b', None: 'c', 'k': 'd'})"),
            json!({"d": {"1": "a", "true": "b", "null": "c", "k": "d"}})
        );
        assert_eq!(args("f(\n  a=1,  # first\n  b=2,\n)\n"), json!({"a": 1, "b": 2}));
        assert_eq!(args("g()"), json!({}));
        assert_eq!(args("f(x=-9223372036854775808, y=18446744073709551615)"), json!({"x": i64::MIN, "y": u64::MAX}));
    }

    #[test]
    fn refuses_what_is_not_a_literal_keyword_call() {
        for (src, needle) in [
            ("f(1, a=2)", "positional"),
            ("f(x)", "positional"),
            ("m.f(a=1)", "bare name"),
            ("f(a=x)", "not a literal"),
            ("f(a=1 + 2)", "not a literal"),
            ("f(a=--1)", "literal"),
            ("f(a=-True)", "sign"),
            ("f(a={1, 2})", "set"),
            ("f(a=b'x')", "bytes"),
            ("f(a=1j)", "complex"),
            ("f(a=1, a=2)", "repeated"),
            ("f(**k)", "kwargs"),
            ("f(a=1", "expected"),
            ("f(a='x)", "unterminated"),
            ("f(a=1) g", "after the call"),
            (" f(a=1)", "indent"),
            ("f(a=01)", "leading zeros"),
            ("f(a=1e999)", "overflows"),
            ("f(a=99999999999999999999)", "64 bits"),
            ("f(a={(1, 2): 3})", "dict keys"),
            ("", "function name"),
        ] {
            let err = parse_call(src).expect_err(src);
            assert!(err.to_string().contains(needle), "{src}: {err}");
        }
    }
}
