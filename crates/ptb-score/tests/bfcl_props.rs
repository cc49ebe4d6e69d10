//! Property tests: the BFCL call parser, the tool-call extraction and both verdicts never panic, and
//! a parsed call written back as JSON round-trips through the scorer as correct.

use proptest::prelude::*;
use ptb_score::Profile;
use ptb_score::bfcl::{self, RawCall, calls};
use serde_json::json;

/// Text biased towards the syntax the parsers care about.
fn pythonish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("f(".to_string()),
            Just(")".to_string()),
            Just("a=".to_string()),
            Just(", ".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("(".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just(": ".to_string()),
            Just("'".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("-".to_string()),
            Just("1e".to_string()),
            Just(".5".to_string()),
            Just("0x".to_string()),
            Just("True".to_string()),
            Just("None".to_string()),
            Just("r'".to_string()),
            Just("'''".to_string()),
            Just("\\x4".to_string()),
            Just("\\u12".to_string()),
            Just("<tool_call>".to_string()),
            Just("</tool_call>".to_string()),
            Just("{\"name\": \"f\", \"arguments\": ".to_string()),
            Just("#".to_string()),
            Just("\n".to_string()),
            "[0-9]{1,25}",
            any::<String>(),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn call_parser_never_panics(src in pythonish()) {
        let _ = bfcl::parse_call(&src);
    }

    #[test]
    fn call_parser_never_panics_on_arbitrary_text(src in any::<String>()) {
        let _ = bfcl::parse_call(&src);
    }

    #[test]
    fn extraction_and_scoring_never_panic(content in pythonish(), name in "[a-z]{1,3}", arguments in pythonish()) {
        let calls = calls::response_calls(vec![], &content);
        let engine = calls::response_calls(vec![RawCall { name: name.clone(), arguments: arguments.clone() }], &content);
        let _ = calls::inspect_arguments(&arguments, Some("x"));
        let _ = calls::yaml_safe_load(&arguments);
        let functions = [json!({"name": name, "parameters": {"type": "dict", "properties": {"x": {"type": "float"}}}})];
        for profile in [Profile::PtbV1, Profile::Strict] {
            for found in [&calls, &engine] {
                let _ = bfcl::score(profile, "f(x=1)", &functions, found, &content);
            }
        }
    }

    #[test]
    fn integer_and_string_arguments_round_trip(n in any::<i64>(), s in any::<String>(), f in -1e300f64..1e300) {
        let src = format!("g(n={n}, s={}, f={})", serde_json::to_string(&s).unwrap(), calls::py_float_repr(f));
        let call = bfcl::parse_call(&src).unwrap();
        prop_assert_eq!(serde_json::Value::Object(call.arguments.clone()), json!({"n": n, "s": s, "f": f}));
        let functions = [json!({"name": "g", "parameters": {"type": "dict", "properties": {
            "n": {"type": "integer"}, "s": {"type": "string"}, "f": {"type": "float"}}}})];
        let arguments = calls::py_json_dumps(&serde_json::Value::Object(call.arguments));
        for profile in [Profile::PtbV1, Profile::Strict] {
            let raw = [RawCall { name: "g".into(), arguments: arguments.clone() }];
            let scored = bfcl::score(profile, &src, &functions, &raw, "").unwrap();
            prop_assert_eq!(scored.verdict, ptb_score::Verdict::C);
        }
    }
}
