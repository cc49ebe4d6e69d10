//! AIME 2025 and HumanEval load from the real files (`shared/datasets`); GPQA loads from synthetic
//! items in the Hub CSV layout (the real set is gated and never stored), with a choice shuffle that
//! is Python's `random.Random(seed).shuffle`, reproducible and recorded in each sample. GSM8K's
//! few-shot prompts (base models, no chat template) come from its train split; other benchmarks have
//! none and say so.

mod common;

use std::path::{Path, PathBuf};

use common::datasets;

use ptb_bench::{LoadOptions, load_benchmark, load_benchmark_with};
use ptb_core::Registry;

#[test]
fn aime2025_loads_thirty_zero_shot_problems() {
    let bench = load_benchmark("aime2025", &Registry::builtin(), &datasets()).unwrap();
    assert_eq!(bench.samples.len(), 30);
    let first = &bench.samples[0];
    assert_eq!((first.id.as_str(), first.target.as_str()), ("0", "70"));
    assert_eq!(bench.samples[29].id, "29");
    assert_eq!(first.messages.len(), 1);
    let prompt = &first.messages[0].content;
    assert!(prompt.starts_with("Solve the following math problem step by step.\nThe last line"));
    assert!(
        prompt.contains("\n\nFind the sum of all integer bases $b>9$ for which $17_b$ is a divisor of $97_b.$\n\n")
    );
    for s in &bench.samples {
        let n: u32 = s.target.parse().unwrap_or_else(|_| panic!("{}: target {:?}", s.id, s.target));
        assert!(n < 1000 && s.target == n.to_string(), "{}: {}", s.id, s.target);
    }
}

#[test]
fn humaneval_loads_164_problems_with_their_program_parts() {
    let bench = load_benchmark("humaneval", &Registry::builtin(), &datasets()).unwrap();
    assert_eq!(bench.samples.len(), 164);
    let first = &bench.samples[0];
    assert_eq!(first.id, "HumanEval/0");
    let prompt = first.metadata["prompt"].as_str().unwrap();
    assert_eq!(
        first.messages[0].content,
        format!(
            "\nRead the following function signature and docstring, and fully implement\nthe function described. Your response should only contain the code for\nthis function.\n\n{prompt}"
        )
    );
    assert_eq!(first.metadata["entry_point"], "has_close_elements");
    assert!(first.metadata["test"].as_str().unwrap().contains("def check(candidate)"));
    assert!(bench.samples.iter().all(|s| s.metadata["prompt"].as_str().unwrap().ends_with('\n')));
}

/// Writes `n` synthetic items in the Hub CSV layout (extra columns, a quoted multi-line cell, an
/// answer cell pandas reads as missing).
fn synthetic_gpqa(dir: &Path, n: usize) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("gpqa")).unwrap();
    let mut csv = String::from(
        "Pre-Revision Question,Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3,Record ID,High-level domain\n",
    );
    for i in 0..n {
        let question =
            if i == 1 { "\"Which line,\nwhich comma?\"".to_string() } else { format!("Synthetic question {i}?") };
        let last_wrong = if i == 2 { "NA".to_string() } else { format!("wrong {i}c") };
        csv += &format!("old {i},{question},right {i},wrong {i}a, wrong {i}b ,{last_wrong},rec{i:03},Physics\n");
    }
    std::fs::write(data.join("gpqa/gpqa_main.csv"), csv).unwrap();
    data
}

fn orders(bench: &ptb_bench::Benchmark) -> Vec<Vec<u64>> {
    bench
        .samples
        .iter()
        .map(|s| s.metadata["choice_order"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect())
        .collect()
}

#[test]
fn gpqa_shuffle_is_pythons_reproducible_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = synthetic_gpqa(dir.path(), 6);
    let registry = Registry::builtin();
    let bench = load_benchmark("gpqamain", &registry, &data).unwrap();
    assert_eq!(bench.samples.len(), 6);
    // python3 -c "import random; r = random.Random(42)
    //   for _ in range(6): p = [0, 1, 2, 3]; r.shuffle(p); print(p)"
    let python_42 = [[2, 1, 3, 0], [3, 2, 0, 1], [1, 3, 2, 0], [1, 2, 0, 3], [1, 2, 3, 0], [1, 3, 2, 0]];
    assert_eq!(orders(&bench), python_42.map(|o| o.to_vec()));
    for (s, order) in bench.samples.iter().zip(python_42) {
        assert_eq!(s.metadata["choice_seed"], 42);
        let correct = order.iter().position(|&o| o == 0).unwrap();
        assert_eq!(s.target, ["A", "B", "C", "D"][correct], "{}", s.id);
    }
    let first = &bench.samples[0];
    assert_eq!(first.id, "rec000");
    assert!(
        first.messages[0]
            .content
            .ends_with("\n\nSynthetic question 0?\n\nA)  wrong 0b \nB) wrong 0a\nC) wrong 0c\nD) right 0")
    );
    assert!(bench.samples[1].messages[0].content.contains("\n\nWhich line,\nwhich comma?\n\nA) "));
    assert!(bench.samples[2].messages[0].content.contains("\nB) None\n"), "a pandas NA cell reads None");

    // The same seed gives the same items; another seed another order, still recorded.
    assert_eq!(orders(&load_benchmark("gpqamain", &registry, &data).unwrap()), orders(&bench));
    let seven =
        load_benchmark_with("gpqamain", &registry, &data, &LoadOptions { choice_seed: 7, ..Default::default() })
            .unwrap();
    let python_7 = [[3, 1, 0, 2], [1, 2, 3, 0], [1, 0, 3, 2], [3, 2, 0, 1], [2, 0, 1, 3], [2, 3, 0, 1]];
    assert_eq!(orders(&seven), python_7.map(|o| o.to_vec()));
    assert!(seven.samples.iter().all(|s| s.metadata["choice_seed"] == 7));
}

#[test]
fn gpqa_without_its_columns_names_the_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("gpqa")).unwrap();
    std::fs::write(dir.path().join("gpqa/gpqa_main.csv"), "Question,Correct Answer\nq,a\n").unwrap();
    let err = load_benchmark("gpqamain", &Registry::builtin(), dir.path()).unwrap_err().to_string();
    assert!(err.contains("gpqa_main.csv") && err.contains("no string field"), "{err}");
}

#[test]
fn gsm8k_few_shot_prompts_are_raw_text_with_the_train_shots() {
    let registry = Registry::builtin();
    let few_shot = LoadOptions { few_shot: true, ..Default::default() };
    let chat = load_benchmark("gsm8k", &registry, &datasets()).unwrap();
    let raw = load_benchmark_with("gsm8k", &registry, &datasets(), &few_shot).unwrap();
    assert_eq!(raw.samples.len(), chat.samples.len());
    for (r, c) in raw.samples.iter().zip(&chat.samples).take(50) {
        assert_eq!((&r.id, &r.target), (&c.id, &c.target), "same items, same targets");
        assert!(r.messages.is_empty(), "{}: nothing goes through a chat template", r.id);
        let prompt = r.raw_prompt.as_ref().unwrap();
        assert_eq!(prompt.stop, ["Question:"]);
        assert_eq!(prompt.text.matches("Question:").count(), 11, "ten shots, then the item");
        assert!(prompt.text.starts_with("Question: ") && prompt.text.ends_with("\n\nReasoning:"));
        // The same ten train-split shots as the zero-shot system message, in the same order.
        for shot in c.messages[0].content.split("\n\nANSWER: ").take(10) {
            let question = shot.rsplit("\n\n").nth(1).unwrap();
            assert!(prompt.text.contains(&format!("Question: {question}\n\nReasoning:\n")), "{}: {question:?}", r.id);
        }
        assert!(!prompt.text.contains("<|") && !prompt.text.contains("<start_of_turn>"));
    }
}

#[test]
fn few_shot_without_a_shot_source_is_an_error_naming_the_benchmark() {
    let few_shot = LoadOptions { few_shot: true, ..Default::default() };
    for id in ["humaneval", "aime2025", "arenahardwriting"] {
        let err = load_benchmark_with(id, &Registry::builtin(), &datasets(), &few_shot).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{id}: no few-shot prompts")), "{err}");
        assert!(err.contains("few-shot prompts exist for: gsm8k"), "{err}");
    }
    assert!(ptb_bench::check_few_shot(&["gsm8k"]).is_ok());
    let err = ptb_bench::check_few_shot(&["gsm8k", "bfcl", "humaneval"]).unwrap_err().to_string();
    assert!(err.starts_with("bfcl, humaneval: no few-shot prompts"), "{err}");
}
