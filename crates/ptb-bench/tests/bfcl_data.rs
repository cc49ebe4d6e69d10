//! BFCL exec_simple on the real data files (`shared/datasets/bfcl`, joined on `id`): every ground
//! truth parses, every function converts to a tool, and answering each question with its own ground
//! truth scores C under both profiles, whether the engine parsed the call or left a Hermes block.

mod common;

use common::datasets;
use ptb_bench::ScoringInput;
use ptb_infer::{ChatResponse, FunctionCall, ToolCall};
use ptb_score::bfcl::calls::py_json_dumps;
use ptb_score::{Profile, Verdict};

#[test]
fn every_item_loads_and_its_own_ground_truth_scores_correct() {
    let registry = ptb_core::Registry::builtin();
    let bench = ptb_bench::load_benchmark("bfcl", &registry, &datasets()).unwrap();
    assert_eq!(bench.samples.len(), 100);
    assert_eq!(bench.samples[0].id, "exec_simple_0");
    assert_eq!(bench.samples[0].target, "calc_binomial_probability(n=20, k=5, p=0.6)");
    let scorer = ptb_bench::scorer("bfcl", &registry).unwrap();
    for sample in &bench.samples {
        assert_eq!(sample.messages.len(), 1, "{}", sample.id);
        assert_eq!(sample.messages[0].role, "user");
        let [tool] = &sample.tools[..] else { panic!("{}: one tool expected", sample.id) };
        let parameters = &tool["function"]["parameters"];
        assert_eq!(parameters["type"], "object");
        assert_eq!(parameters["additionalProperties"], false);
        assert!(!tool.to_string().contains("\"dict\"") && !tool.to_string().contains("\"float\""), "{tool}");

        let target = ptb_score::bfcl::target(&sample.target).unwrap();
        assert_eq!(tool["function"]["name"], target.function.as_str());
        let arguments = py_json_dumps(&serde_json::Value::Object(target.arguments.clone()));
        let engine_parsed = ChatResponse {
            tool_calls: vec![ToolCall {
                id: "call_0".into(),
                kind: "function".into(),
                function: FunctionCall { name: target.function.clone(), arguments: arguments.clone() },
            }],
            ..Default::default()
        };
        let block =
            format!("<tool_call>\n{{\"name\": \"{}\", \"arguments\": {arguments}}}\n</tool_call>", target.function);
        let in_content = ChatResponse { content: block, ..Default::default() };
        let item = ScoringInput { id: &sample.id, target: &sample.target, metadata: &sample.metadata };
        for response in [&engine_parsed, &in_content] {
            for profile in [Profile::PtbV1, Profile::Strict] {
                let scored = scorer.score(profile, item, response).unwrap();
                assert_eq!(scored.verdict, Verdict::C, "{} {profile:?}: {:?}", sample.id, scored.extracted);
            }
        }
    }
}
