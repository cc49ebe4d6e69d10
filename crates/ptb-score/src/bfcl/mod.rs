//! BFCL exec_simple (scorers.md §6 and §7.4): the ground-truth call parser, the tool-schema
//! conversion, tool-call extraction, and the verdicts of both profiles.
//!
//! - `ptb-v1`: exactly one tool call, the same function name, and arguments equal to the ground truth
//!   under Python `==` after inspect's argument parsing (a scalar `arguments` lands on the first
//!   parameter: BFCL-3; optional arguments must appear exactly when the ground truth writes them:
//!   BFCL-1; `2.0` for an integer and `1` for a boolean pass: BFCL-2).
//! - `strict`: the same call count and name checks, a JSON-object `arguments`, default-aware keys and
//!   typed value equality guided by the function's BFCL schema.

pub mod calls;
pub mod pycall;
pub mod pyeq;
pub mod schema;
mod strict;

use serde_json::Value;

pub use calls::{RawCall, parse_hermes, response_calls};
pub use pycall::{CallParseError, TargetCall, parse_call};
pub use schema::{SchemaError, to_openai_tool};

use crate::{Profile, Scored, Verdict};

/// A BFCL item that cannot be scored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BfclError {
    /// The ground truth is not a call with literal keyword arguments.
    #[error("ground truth {target:?} is not a call with literal keyword arguments: {source}")]
    Target {
        /// The ground-truth string.
        target: String,
        /// Where parsing failed.
        source: CallParseError,
    },
    /// The strict profile needs the function's schema, which the sample's metadata lacks.
    #[error(
        "no schema for function {function:?} in the sample's metadata `functions`; re-run the evaluation from the dataset"
    )]
    NoSchema {
        /// The ground truth's function name.
        function: String,
    },
}

/// Parses a ground-truth call string into the target `{function, arguments}`.
pub fn target(ground_truth: &str) -> Result<TargetCall, BfclError> {
    parse_call(ground_truth).map_err(|source| BfclError::Target { target: ground_truth.to_string(), source })
}

/// Scores one response under `profile`.
///
/// `ground_truth` is the Python call string, `functions` the item's BFCL function schemas (as in the
/// dataset), `calls` the response's tool calls (see [`response_calls`]) and `content` its text.
pub fn score(
    profile: Profile,
    ground_truth: &str,
    functions: &[Value],
    calls: &[RawCall],
    content: &str,
) -> Result<Scored, BfclError> {
    let target = target(ground_truth)?;
    Ok(match profile {
        Profile::PtbV1 => score_v1(&target, functions, calls),
        Profile::Strict => strict::score(&target, functions, calls, content)?,
    })
}

/// The BFCL function schema named `name`, if the item has one.
fn function<'a>(functions: &'a [Value], name: &str) -> Option<&'a Value> {
    functions.iter().find(|f| f.get("name").and_then(Value::as_str) == Some(name))
}

/// inspect_evals' `bfcl_scorer` as published (scorers.md §6.2).
fn score_v1(target: &TargetCall, functions: &[Value], calls: &[RawCall]) -> Scored {
    let [call] = calls else {
        return Scored { verdict: Verdict::I, extracted: Some(format!("{} tool calls", calls.len())) };
    };
    // inspect maps non-object arguments onto the first parameter of a same-named tool with parameters.
    let first_param = function(functions, &call.name)
        .and_then(|f| f.pointer("/parameters/properties"))
        .and_then(Value::as_object)
        .and_then(|props| props.keys().next())
        .map(String::as_str);
    let arguments = calls::inspect_arguments(&call.arguments, first_param);
    let correct = call.name == target.function
        && pyeq::py_eq(&Value::Object(arguments.clone()), &Value::Object(target.arguments.clone()));
    let extracted = serde_json::json!({"function": call.name, "arguments": arguments}).to_string();
    Scored { verdict: if correct { Verdict::C } else { Verdict::I }, extracted: Some(extracted) }
}
