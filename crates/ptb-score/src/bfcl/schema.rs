//! BFCL function schemas → OpenAI tool definitions, exactly as inspect_evals converts them
//! (scorers.md §6.1): `dict` → `object`, `float` → `number`, `tuple` → `array`; keys emitted in the
//! order `type, description, default, enum, items, properties, additionalProperties, required`, each
//! only when present and not null.

use serde_json::{Map, Value, json};

/// A BFCL function schema that cannot be converted (the original aborted dataset loading).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("function schema {path}: {message}")]
pub struct SchemaError {
    /// Where in the schema (`name.parameters.properties.x.items`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The JSON-schema type of a BFCL type name; `None` for a name the original refuses.
pub fn json_type(bfcl: &str) -> Option<&'static str> {
    Some(match bfcl {
        "dict" | "object" => "object",
        "float" | "number" => "number",
        "tuple" | "array" => "array",
        "string" => "string",
        "integer" => "integer",
        "boolean" => "boolean",
        "null" => "null",
        _ => return None,
    })
}

/// Converts one BFCL function `{name, description, parameters}` into
/// `{"type": "function", "function": {name, description, parameters}}`.
pub fn to_openai_tool(function: &Value) -> Result<Value, SchemaError> {
    let name = function.get("name").and_then(Value::as_str);
    let err = |path: &str, message: &str| SchemaError { path: path.to_string(), message: message.to_string() };
    let name = name.ok_or_else(|| err("(unnamed)", "needs a string `name`"))?;
    let description =
        function.get("description").and_then(Value::as_str).ok_or_else(|| err(name, "needs a string `description`"))?;
    let path = format!("{name}.parameters");
    let converted = match function.get("parameters") {
        Some(p @ Value::Object(_)) => param(p, &path)?,
        _ => return Err(err(&path, "needs a `parameters` object")),
    };
    let properties = converted.get("properties").cloned().unwrap_or_else(|| json!({}));
    let required = converted.get("required").cloned().unwrap_or_else(|| json!([]));
    Ok(json!({
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            },
        },
    }))
}

/// One parameter schema, recursively.
fn param(schema: &Value, path: &str) -> Result<Value, SchemaError> {
    let err = |message: String| SchemaError { path: path.to_string(), message };
    let Value::Object(schema) = schema else { return Err(err("is not an object".into())) };
    let present = |key: &str| schema.get(key).filter(|v| !v.is_null());
    let mut out = Map::new();
    let ty = match present("type") {
        Some(Value::String(t)) => json_type(t).ok_or_else(|| err(format!("unsupported type {t:?}")))?,
        Some(other) => return Err(err(format!("type {other} is not a string"))),
        None => return Err(err("has no type".into())),
    };
    out.insert("type".into(), ty.into());
    for key in ["description", "default", "enum"] {
        if let Some(v) = present(key) {
            out.insert(key.into(), v.clone());
        }
    }
    if let Some(items) = present("items") {
        out.insert("items".into(), param(items, &format!("{path}.items"))?);
    }
    if let Some(props) = present("properties") {
        let Value::Object(props) = props else { return Err(err("`properties` is not an object".into())) };
        let mut converted = Map::new();
        for (key, value) in props {
            converted.insert(key.clone(), param(value, &format!("{path}.properties.{key}"))?);
        }
        out.insert("properties".into(), Value::Object(converted));
    }
    for key in ["additionalProperties", "required"] {
        if let Some(v) = present(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_types_and_orders_keys_like_the_original() {
        let f = json!({"name": "f", "description": "d", "parameters": {"type": "dict", "required": ["p"],
            "properties": {
                "p": {"description": "x", "type": "float"},
                "t": {"type": "tuple", "items": {"type": "integer"}, "default": null},
                "b": {"type": "boolean", "default": false},
                "o": {"type": "dict", "properties": {"z": {"type": "string", "enum": ["a"]}}}}}});
        let tool = to_openai_tool(&f).unwrap();
        assert_eq!(
            serde_json::to_string(&tool).unwrap(),
            r#"{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object","properties":{"p":{"type":"number","description":"x"},"t":{"type":"array","items":{"type":"integer"}},"b":{"type":"boolean","default":false},"o":{"type":"object","properties":{"z":{"type":"string","enum":["a"]}}}},"required":["p"],"additionalProperties":false}}}"#
        );
    }

    #[test]
    fn unknown_types_abort_with_the_path() {
        let f = json!({"name": "f", "description": "d", "parameters": {"type": "dict",
            "properties": {"q": {"type": "array", "items": {"type": "any"}}}}});
        let err = to_openai_tool(&f).unwrap_err();
        assert_eq!(err.path, "f.parameters.properties.q.items");
        assert!(err.to_string().contains("\"any\""));
        let tool = to_openai_tool(&json!({"name": "g", "description": "", "parameters": {"type": "dict"}})).unwrap();
        assert_eq!(tool["function"]["parameters"]["properties"], json!({}));
        assert_eq!(tool["function"]["parameters"]["required"], json!([]));
    }
}
