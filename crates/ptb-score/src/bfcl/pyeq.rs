//! Equality of JSON values as Python compares them after `json.loads` (scorers.md §0), and the
//! strict profile's untyped variant in which a boolean never equals a number.

use serde_json::{Number, Value};

/// A JSON number (or, under Python rules, a boolean) as an exact integer or a float.
#[derive(Clone, Copy, Debug)]
enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    fn of(n: &Number) -> Num {
        if let Some(i) = n.as_i64() {
            Num::Int(i as i128)
        } else if let Some(u) = n.as_u64() {
            Num::Int(u as i128)
        } else {
            Num::Float(n.as_f64().unwrap_or(f64::NAN))
        }
    }
}

/// Python's exact int/float comparison (`10 == 10.0`, `2**53 + 1 != 2.0**53`).
fn num_eq(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x == y,
        (Num::Float(x), Num::Float(y)) => x == y,
        (Num::Int(i), Num::Float(f)) | (Num::Float(f), Num::Int(i)) => {
            // |f| < 2^127 keeps the cast exact; a float with a fraction never equals an int.
            f.is_finite() && f.fract() == 0.0 && f.abs() < 1.7e38 && f as i128 == i
        }
    }
}

/// True when two JSON numbers are equal in value (int and float compared exactly).
pub fn number_eq(a: &Number, b: &Number) -> bool {
    num_eq(Num::of(a), Num::of(b))
}

/// Python `==` on JSON-derived values: numbers compare by value across int and float, and
/// `True == 1`, `False == 0.0` (booleans are numbers).
pub fn py_eq(a: &Value, b: &Value) -> bool {
    eq(a, b, true)
}

/// JSON equality with int/float value-equality, but a boolean never equals a number (strict §7.4).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    eq(a, b, false)
}

fn eq(a: &Value, b: &Value, bool_is_number: bool) -> bool {
    let as_num = |v: &Value| match v {
        Value::Number(n) => Some(Num::of(n)),
        Value::Bool(b) if bool_is_number => Some(Num::Int(*b as i128)),
        _ => None,
    };
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| eq(p, q, bool_is_number))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| eq(v, w, bool_is_number)))
        }
        _ => match (as_num(a), as_num(b)) {
            (Some(x), Some(y)) => num_eq(x, y),
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_equality_crosses_int_float_and_bool() {
        assert!(py_eq(&json!(10), &json!(10.0)));
        assert!(py_eq(&json!(true), &json!(1)));
        assert!(py_eq(&json!(1.0), &json!(true)));
        assert!(py_eq(&json!(false), &json!(0)));
        assert!(py_eq(&json!({"a": [1, 2.0], "b": {"c": true}}), &json!({"b": {"c": 1}, "a": [1.0, 2]})));
        assert!(!py_eq(&json!(10), &json!(10.5)));
        assert!(!py_eq(&json!("5"), &json!(5)));
        assert!(!py_eq(&json!(null), &json!(0)));
        assert!(!py_eq(&json!([1, 2]), &json!([2, 1])));
        assert!(!py_eq(&json!([]), &json!({})));
        assert!(!py_eq(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!py_eq(&json!(9007199254740993u64), &json!(9007199254740992.0)));
        assert!(py_eq(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(py_eq(&json!(-0.0), &json!(0)));
    }

    #[test]
    fn strict_untyped_equality_separates_bool_and_number() {
        assert!(json_eq(&json!(10), &json!(10.0)));
        assert!(!json_eq(&json!(true), &json!(1)));
        assert!(!json_eq(&json!([0]), &json!([false])));
        assert!(json_eq(&json!([true]), &json!([true])));
    }
}
