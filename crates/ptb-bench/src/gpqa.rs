//! GPQA main as PostTrainBench evaluated it (its own `gpqa_main` task, scorers.md §4): the Hub CSV
//! (`Question`, `Correct Answer`, `Incorrect Answer 1..3`, `Record ID`), choices shuffled at load
//! time, inspect's chain-of-thought multiple-choice prompt, and the letter scorer of the chosen
//! profile.
//!
//! PostTrainBench shuffled the choices with an unseeded generator, so its orders cannot be
//! reproduced (GPQA-8). ptb shuffles exactly as Python's `random.Random(seed)` would, one generator
//! walking the items in dataset order, and records the seed and the presented order in each sample's
//! metadata: `{"choice_seed": 42, "choice_order": [2, 0, 3, 1]}` means the letters A–D show original
//! choices 2, 0, 3, 1, where 0 is the correct answer (so the target is `B`).

use std::path::Path;

use ptb_core::BenchmarkSpec;
use ptb_infer::{ChatMessage, ChatResponse};
use ptb_score::{Profile, ScoreError, Scored};

use crate::pyrandom::PyRandom;
use crate::task::{BenchError, Sample, Scorer, ScoringInput, field};

/// The default seed of the choice shuffle: 42, as current inspect_evals seeds GPQA (scorers.md §4.1).
pub const DEFAULT_CHOICE_SEED: u64 = 42;

/// inspect-ai's `SINGLE_ANSWER_TEMPLATE_COT` up to `{question}`, letters `A,B,C,D` (§4.1).
const HEADER: &str = "Answer the following multiple choice question. The last line of your response should be of the following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of A,B,C,D. Think step by step before answering.";

/// The CSV columns of the four choices, correct answer first (original index 0).
const CHOICE_COLUMNS: [&str; 4] = ["Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3"];

/// Loads the items from the Hub CSV and shuffles their choices with `choice_seed`.
pub fn load(spec: &BenchmarkSpec, data_dir: &Path, choice_seed: u64) -> Result<Vec<Sample>, BenchError> {
    let path = ptb_data::locate(data_dir, "gpqamain", spec, "test")?;
    let records = ptb_data::read_records(&path)?;
    let mut rng = PyRandom::new(choice_seed);
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let question = field(record, "Question", &path, i)?;
            let id = field(record, "Record ID", &path, i)?;
            let mut choices = Vec::with_capacity(CHOICE_COLUMNS.len());
            for column in CHOICE_COLUMNS {
                choices.push(hub_csv_str(field(record, column, &path, i)?));
            }
            let mut order = [0usize, 1, 2, 3];
            rng.shuffle(&mut order);
            Ok(sample(id, question, &choices, order, choice_seed))
        })
        .collect()
}

/// One item with its choices presented in `order` (`order[letter] = original index`).
fn sample(id: &str, question: &str, choices: &[String], order: [usize; 4], seed: u64) -> Sample {
    let presented: Vec<String> = order
        .iter()
        .zip(ptb_score::gpqa::LETTERS)
        .map(|(&original, letter)| format!("{letter}) {}", choices[original]))
        .collect();
    let correct = order.iter().position(|&o| o == 0).expect("0 is in every order");
    Sample {
        id: id.to_string(),
        messages: vec![ChatMessage::new("user", user_prompt(question, &presented.join("\n")))],
        tools: Vec::new(),
        raw_prompt: None,
        target: ptb_score::gpqa::LETTERS[correct].to_string(),
        metadata: serde_json::json!({"choice_seed": seed, "choice_order": order}),
    }
}

/// The user message, `str.format` of the template: `{header}\n\n{question}\n\n{choices}`, both
/// inserted verbatim (braces in them are not template fields).
pub fn user_prompt(question: &str, choices: &str) -> String {
    format!("{HEADER}\n\n{question}\n\n{choices}")
}

/// The text the published task saw for a CSV cell: Hugging Face `datasets` reads the CSV with
/// pandas, which turns its default NA spellings into missing values, and the task's `str()` writes
/// those as `None`. Every other cell is kept verbatim (surrounding whitespace and newlines included).
pub fn hub_csv_str(cell: &str) -> String {
    const PANDAS_NA: [&str; 19] = [
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
        "NULL", "NaN", "None", "n/a", "nan", "null",
    ];
    if PANDAS_NA.contains(&cell) { "None".to_string() } else { cell.to_string() }
}

/// GPQA's scorer: `ptb_score::gpqa::score` (§4.2 under `ptb-v1`, §7.2 under `strict`).
pub struct GpqaScorer;

impl Scorer for GpqaScorer {
    fn score(&self, profile: Profile, item: ScoringInput<'_>, response: &ChatResponse) -> Result<Scored, ScoreError> {
        Ok(ptb_score::gpqa::score(profile, &response.content, item.target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_renders_like_inspects_multiple_choice_cot() {
        let choices = ["right".to_string(), " w1\n".to_string(), "w2".to_string(), "w3".to_string()];
        let s = sample("rec1", "What {is} x {choices}?", &choices, [2, 0, 3, 1], 7);
        assert_eq!(
            s.messages[0].content,
            "Answer the following multiple choice question. The last line of your response should be of the following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of A,B,C,D. Think step by step before answering.\n\nWhat {is} x {choices}?\n\nA) w2\nB) right\nC) w3\nD)  w1\n"
        );
        assert_eq!(s.target, "B");
        assert_eq!(s.metadata, serde_json::json!({"choice_seed": 7, "choice_order": [2, 0, 3, 1]}));
    }

    #[test]
    fn pandas_na_cells_read_as_none() {
        assert_eq!(hub_csv_str("NA"), "None");
        assert_eq!(hub_csv_str(""), "None");
        assert_eq!(hub_csv_str(" NA"), " NA");
        assert_eq!(hub_csv_str("4.2"), "4.2");
    }
}
