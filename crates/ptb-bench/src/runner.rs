//! The evaluation runner: sends every prompt to the engine with bounded concurrency, streams each
//! answer to a partial file as it arrives (so a crash loses nothing already generated), then scores
//! every answer under both profiles.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use futures::StreamExt;
use indicatif::ProgressBar;
use ptb_infer::{ChatRequest, ChatResponse, CompletionRequest, Engine, Sampling};
use ptb_score::{Profile, ScoreError, Scored};

use crate::record::{ProfileVerdict, RecordedResponse, SampleRecord};
use crate::task::{BenchError, Sample, Scorer, ScoringInput};

/// How to run an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Evaluate only the first N items.
    pub limit: Option<usize>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Every request's settings (a raw prompt adds its own stop strings).
    pub sampling: Sampling,
}

/// Progress reporting (a terminal bar, or nothing).
pub type Progress = ProgressBar;

/// A generated answer with its timing.
#[derive(Debug, Clone)]
pub struct Generated {
    pub response: ChatResponse,
    pub latency_ms: u64,
}

/// Generates an answer for every sample: a chat completion of its messages, or a text completion of
/// its raw prompt. Answers are appended to `partial` (JSON lines with the sample id) as they arrive. The first request that still fails after the client's retries stops
/// the evaluation with an error naming the item.
pub async fn generate(
    engine: &dyn Engine,
    samples: &[Sample],
    opts: &EvalOptions,
    partial: Option<&Path>,
    progress: &Progress,
) -> Result<Vec<Generated>, BenchError> {
    let writer = match partial {
        Some(path) => Some(Mutex::new(std::io::BufWriter::new(open_partial(path)?))),
        None => None,
    };
    progress.set_length(samples.len() as u64);
    let requests = samples.iter().enumerate().map(|(i, sample)| {
        let writer = &writer;
        async move {
            let started = Instant::now();
            let response = match &sample.raw_prompt {
                None => {
                    engine
                        .chat(ChatRequest {
                            messages: sample.messages.clone(),
                            tools: sample.tools.clone(),
                            sampling: opts.sampling.clone(),
                            ..Default::default()
                        })
                        .await
                }
                Some(raw) => {
                    engine
                        .complete(CompletionRequest {
                            prompt: raw.text.clone(),
                            sampling: Sampling { stop: raw.stop.clone(), ..opts.sampling.clone() },
                        })
                        .await
                }
            }
            .map_err(|source| BenchError::Inference { id: sample.id.clone(), source })?;
            let latency_ms = started.elapsed().as_millis() as u64;
            if let Some(w) = writer {
                let line = serde_json::json!({"id": sample.id, "response": response, "latency_ms": latency_ms});
                let mut w = w.lock().expect("partial writer lock");
                // A failed partial write loses only crash insurance, never results.
                let _ = writeln!(w, "{line}");
            }
            progress.inc(1);
            Ok::<_, BenchError>((i, Generated { response, latency_ms }))
        }
    });
    let mut out: Vec<Option<Generated>> = vec![None; samples.len()];
    {
        let mut stream = futures::stream::iter(requests).buffer_unordered(opts.concurrency.max(1));
        while let Some(result) = stream.next().await {
            let (i, generated) = result?;
            out[i] = Some(generated);
        }
    }
    if let Some(w) = writer {
        let _ = w.into_inner().map(|mut w| w.flush());
    }
    progress.finish_and_clear();
    Ok(out.into_iter().map(|g| g.expect("every sample answered")).collect())
}

fn open_partial(path: &Path) -> Result<std::fs::File, BenchError> {
    let io = |source| BenchError::Io { path: path.display().to_string(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io)
}

/// Scores generated answers under both profiles.
pub fn score_generated(
    scorer: &dyn Scorer,
    samples: &[Sample],
    generated: &[Generated],
) -> Result<Vec<SampleRecord>, BenchError> {
    let recorded = samples
        .iter()
        .zip(generated)
        .map(|(sample, g)| RecordedResponse {
            id: sample.id.clone(),
            completion: g.response.content.clone(),
            target: sample.target.clone(),
            metadata: sample.metadata.clone(),
            messages: sample.messages.clone(),
            raw_prompt: sample.raw_prompt.clone(),
            tool_calls: g.response.tool_calls.clone(),
            prompt_tokens: g.response.usage.prompt_tokens,
            completion_tokens: g.response.usage.completion_tokens,
            latency_ms: g.latency_ms,
            finish_reason: g.response.finish_reason.clone(),
        })
        .collect();
    rescore(scorer, recorded)
}

/// Scores recorded answers again (`ptb eval --responses`).
///
/// Every (answer, profile) pair is one job, taken in order by a few worker threads (HumanEval runs
/// a program per verdict); the records keep the order of the answers. The first failing item, in
/// that order, is the error, and no new job starts once one has failed.
pub fn rescore(scorer: &dyn Scorer, recorded: Vec<RecordedResponse>) -> Result<Vec<SampleRecord>, BenchError> {
    const PROFILES: [Profile; 2] = [Profile::PtbV1, Profile::Strict];
    let responses: Vec<ChatResponse> = recorded.iter().map(response_of).collect();
    let jobs = recorded.len() * PROFILES.len();
    let results: Vec<OnceLock<Result<Scored, ScoreError>>> = (0..jobs).map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let workers = std::thread::available_parallelism().map_or(4, |n| n.get()).clamp(4, 16).min(jobs);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                // A job once taken is always run, so the jobs run are exactly a prefix.
                while !failed.load(Ordering::Relaxed) {
                    let job = next.fetch_add(1, Ordering::Relaxed);
                    if job >= jobs {
                        break;
                    }
                    let (item, profile) = (job / PROFILES.len(), PROFILES[job % PROFILES.len()]);
                    let r = &recorded[item];
                    let input = ScoringInput { id: &r.id, target: &r.target, metadata: &r.metadata };
                    let result = scorer.score(profile, input, &responses[item]);
                    failed.fetch_or(result.is_err(), Ordering::Relaxed);
                    let _ = results[job].set(result);
                }
            });
        }
    });
    // The jobs run are a prefix, so the first error in order comes before any job left unrun, and
    // without an error every job has run.
    let mut scored = Vec::with_capacity(jobs);
    for (job, result) in results.into_iter().enumerate() {
        match result.into_inner() {
            Some(Ok(s)) => scored.push(s),
            Some(Err(source)) => {
                return Err(BenchError::Score { id: recorded[job / PROFILES.len()].id.clone(), source });
            }
            None => break,
        }
    }
    let mut scored = scored.into_iter();
    let mut records = Vec::with_capacity(recorded.len());
    for r in recorded {
        let (Some(v1), Some(strict)) = (scored.next(), scored.next()) else { break };
        records.push(record(r, v1, strict));
    }
    Ok(records)
}

/// The response a recorded answer stands for.
fn response_of(r: &RecordedResponse) -> ChatResponse {
    ChatResponse {
        content: r.completion.clone(),
        tool_calls: r.tool_calls.clone(),
        finish_reason: r.finish_reason.clone(),
        usage: ptb_infer::Usage { prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens },
    }
}

fn record(r: RecordedResponse, v1: Scored, strict: Scored) -> SampleRecord {
    SampleRecord {
        verdicts_differ: v1.verdict != strict.verdict,
        score: v1.verdict.value(),
        verdict: v1.verdict,
        extracted: v1.extracted,
        strict: ProfileVerdict { verdict: strict.verdict, score: strict.verdict.value(), extracted: strict.extracted },
        id: r.id,
        messages: r.messages,
        raw_prompt: r.raw_prompt,
        completion: r.completion,
        tool_calls: r.tool_calls,
        target: r.target,
        metadata: r.metadata,
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
        latency_ms: r.latency_ms,
        finish_reason: r.finish_reason,
    }
}

/// The partial-answers file of an evaluation directory.
pub fn partial_path(out_dir: &Path) -> PathBuf {
    out_dir.join("samples.partial.jsonl")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ptb_score::{ScoreError, Scored, Verdict};

    use super::*;

    /// C when the completion equals the target; slower for earlier items, so jobs finish out of
    /// order; a sample error for ids starting with `bad`.
    struct Slow;

    impl Scorer for Slow {
        fn score(&self, _: Profile, item: ScoringInput<'_>, response: &ChatResponse) -> Result<Scored, ScoreError> {
            let n: u64 = item.id.trim_start_matches(|c: char| !c.is_ascii_digit()).parse().unwrap_or(0);
            std::thread::sleep(Duration::from_millis(20u64.saturating_sub(n)));
            if item.id.starts_with("bad") {
                return Err(ScoreError::Execution { message: item.id.to_string() });
            }
            let verdict = if response.content == item.target { Verdict::C } else { Verdict::I };
            Ok(Scored { verdict, extracted: Some(response.content.clone()) })
        }
    }

    fn recorded(ids: &[&str]) -> Vec<RecordedResponse> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                let completion = if i % 3 == 0 { "x" } else { "y" };
                serde_json::from_value(serde_json::json!({"id": id, "completion": completion, "target": "x"})).unwrap()
            })
            .collect()
    }

    #[test]
    fn records_keep_the_order_of_the_answers() {
        let ids: Vec<String> = (0..20).map(|i| format!("item{i}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let records = rescore(&Slow, recorded(&ids)).unwrap();
        let got: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(got, ids);
        for (i, r) in records.iter().enumerate() {
            let want = if i % 3 == 0 { Verdict::C } else { Verdict::I };
            assert_eq!((r.verdict, r.strict.verdict), (want, want), "{}", r.id);
        }
    }

    #[test]
    fn the_first_failing_item_in_order_is_the_error() {
        let err = rescore(&Slow, recorded(&["ok0", "ok1", "bad2", "ok3", "bad4", "ok5"])).unwrap_err();
        assert!(matches!(&err, BenchError::Score { id, .. } if id == "bad2"), "{err}");
        assert!(rescore(&Slow, Vec::new()).unwrap().is_empty());
    }
}
