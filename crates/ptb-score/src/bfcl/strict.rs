//! The strict BFCL profile (scorers.md §7.4): JSON-object arguments, default-aware keys and typed
//! value equality guided by the function's BFCL schema at every depth.

use serde_json::{Map, Value};

use super::pyeq::{json_eq, number_eq};
use super::{BfclError, RawCall, TargetCall, function, schema::json_type};
use crate::{Scored, Verdict, py};

pub(super) fn score(
    target: &TargetCall,
    functions: &[Value],
    calls: &[RawCall],
    content: &str,
) -> Result<Scored, BfclError> {
    let verdict = |v, extracted: String| Ok(Scored { verdict: v, extracted: Some(extracted) });
    let call = match calls {
        [] if py::strip(content).is_empty() => return Ok(Scored { verdict: Verdict::N, extracted: None }),
        [call] => call,
        _ => return verdict(Verdict::I, format!("{} tool calls", calls.len())),
    };
    let schema = function(functions, &target.function)
        .ok_or_else(|| BfclError::NoSchema { function: target.function.clone() })?;
    let empty = Map::new();
    let props = schema.pointer("/parameters/properties").and_then(Value::as_object).unwrap_or(&empty);
    let Ok(Value::Object(args)) = serde_json::from_str::<Value>(py::strip(&call.arguments)) else {
        return verdict(Verdict::I, format!("arguments are not a JSON object: {}", call.arguments));
    };
    let extracted = serde_json::json!({"function": call.name, "arguments": args}).to_string();
    let correct = call.name == target.function && keys_and_values_match(&args, &target.arguments, props);
    verdict(if correct { Verdict::C } else { Verdict::I }, extracted)
}

/// §7.4 steps 3–4 on the top-level arguments.
fn keys_and_values_match(args: &Map<String, Value>, truth: &Map<String, Value>, props: &Map<String, Value>) -> bool {
    let equals_default = |key: &str, value: &Value| {
        props.get(key).and_then(|p| p.get("default")).is_some_and(|d| match d {
            Value::Null => value.is_null(),
            d => typed_eq(props.get(key), value, d),
        })
    };
    let truth_ok = truth.iter().all(|(k, t)| match args.get(k) {
        Some(v) => typed_eq(props.get(k), v, t),
        None => equals_default(k, t),
    });
    let extras_ok = args.iter().all(|(k, v)| props.contains_key(k) && (truth.contains_key(k) || equals_default(k, v)));
    truth_ok && extras_ok
}

/// Typed equality of a call value with a reference value under a BFCL parameter schema.
fn typed_eq(schema: Option<&Value>, value: &Value, reference: &Value) -> bool {
    let ty = schema.and_then(|s| s.get("type")).and_then(Value::as_str).and_then(json_type);
    match (ty, value, reference) {
        (Some("integer"), Value::Number(v), Value::Number(r)) => (v.is_i64() || v.is_u64()) && number_eq(v, r),
        (Some("number"), Value::Number(v), Value::Number(r)) => number_eq(v, r),
        (Some("boolean"), Value::Bool(v), Value::Bool(r)) => v == r,
        (Some("string"), Value::String(v), Value::String(r)) => v == r,
        (Some("null"), Value::Null, Value::Null) => true,
        (Some("array"), Value::Array(v), Value::Array(r)) => {
            let items = schema.and_then(|s| s.get("items"));
            v.len() == r.len() && v.iter().zip(r).all(|(a, b)| typed_eq(items, a, b))
        }
        (Some("object"), Value::Object(v), Value::Object(r)) => {
            let props = schema.and_then(|s| s.get("properties"));
            v.len() == r.len()
                && v.iter().all(|(k, a)| r.get(k).is_some_and(|b| typed_eq(props.and_then(|p| p.get(k)), a, b)))
        }
        (Some(_), _, _) => false,
        (None, _, _) => json_eq(value, reference),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_equality_follows_the_schema_at_every_depth() {
        let int = json!({"type": "integer"});
        assert!(typed_eq(Some(&int), &json!(2), &json!(2)));
        assert!(typed_eq(Some(&int), &json!(2), &json!(2.0)));
        assert!(!typed_eq(Some(&int), &json!(2.0), &json!(2)));
        assert!(typed_eq(Some(&json!({"type": "float"})), &json!(2), &json!(2.0)));
        assert!(!typed_eq(Some(&json!({"type": "boolean"})), &json!(1), &json!(true)));
        let matrix = json!({"type": "array", "items": {"type": "array", "items": {"type": "integer"}}});
        assert!(typed_eq(Some(&matrix), &json!([[1, 2]]), &json!([[1, 2]])));
        assert!(!typed_eq(Some(&matrix), &json!([[1, 2.0]]), &json!([[1, 2]])));
        let untyped_array = json!({"type": "array"});
        assert!(typed_eq(Some(&untyped_array), &json!([1.0]), &json!([1])));
        assert!(!typed_eq(Some(&untyped_array), &json!([true]), &json!([1])));
        let obj = json!({"type": "dict", "properties": {"n": {"type": "integer"}}});
        assert!(typed_eq(Some(&obj), &json!({"n": 1, "s": "x"}), &json!({"s": "x", "n": 1})));
        assert!(!typed_eq(Some(&obj), &json!({"n": 1.0}), &json!({"n": 1})));
        assert!(!typed_eq(Some(&json!({"type": "string"})), &json!("-80.75"), &json!("80.75")));
        assert!(typed_eq(None, &json!(null), &json!(null)));
    }
}
