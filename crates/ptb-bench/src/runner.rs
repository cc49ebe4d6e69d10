//! The evaluation runner: sends every prompt to the engine with bounded concurrency, streams each
//! answer to a partial file as it arrives (so a crash loses nothing already generated), then scores
//! every answer under both profiles.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use futures::StreamExt;
use indicatif::ProgressBar;
use ptb_infer::{ChatRequest, ChatResponse, Engine};
use ptb_score::Profile;

use crate::record::{ProfileVerdict, RecordedResponse, SampleRecord};
use crate::task::{BenchError, Sample, Scorer, ScoringInput};

/// How to run an evaluation.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Evaluate only the first N items.
    pub limit: Option<usize>,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub max_tokens: Option<u32>,
    pub seed: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
}

/// Progress reporting (a terminal bar, or nothing).
pub type Progress = ProgressBar;

/// A generated answer with its timing.
#[derive(Debug, Clone)]
pub struct Generated {
    pub response: ChatResponse,
    pub latency_ms: u64,
}

/// Generates an answer for every sample. Answers are appended to `partial` (JSON lines with the
/// sample id) as they arrive. The first request that still fails after the client's retries stops
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
        let request = ChatRequest {
            messages: sample.messages.clone(),
            tools: sample.tools.clone(),
            max_tokens: opts.max_tokens,
            temperature: opts.temperature,
            top_p: opts.top_p,
            seed: opts.seed,
            stop: Vec::new(),
            ..Default::default()
        };
        let writer = &writer;
        async move {
            let started = Instant::now();
            let response =
                engine.chat(request).await.map_err(|source| BenchError::Inference { id: sample.id.clone(), source })?;
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
    samples
        .iter()
        .zip(generated)
        .map(|(sample, g)| {
            score_one(
                scorer,
                RecordedResponse {
                    id: sample.id.clone(),
                    completion: g.response.content.clone(),
                    target: sample.target.clone(),
                    metadata: sample.metadata.clone(),
                    messages: sample.messages.clone(),
                    tool_calls: g.response.tool_calls.clone(),
                    prompt_tokens: g.response.usage.prompt_tokens,
                    completion_tokens: g.response.usage.completion_tokens,
                    latency_ms: g.latency_ms,
                    finish_reason: g.response.finish_reason.clone(),
                },
            )
        })
        .collect()
}

/// Scores recorded answers again (`ptb eval --responses`).
pub fn rescore(scorer: &dyn Scorer, recorded: Vec<RecordedResponse>) -> Result<Vec<SampleRecord>, BenchError> {
    recorded.into_iter().map(|r| score_one(scorer, r)).collect()
}

fn score_one(scorer: &dyn Scorer, r: RecordedResponse) -> Result<SampleRecord, BenchError> {
    let response = ChatResponse {
        content: r.completion.clone(),
        tool_calls: r.tool_calls.clone(),
        finish_reason: r.finish_reason.clone(),
        usage: ptb_infer::Usage { prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens },
    };
    let item = ScoringInput { id: &r.id, target: &r.target, metadata: &r.metadata };
    let score = |profile| {
        scorer.score(profile, item, &response).map_err(|source| BenchError::Score { id: r.id.clone(), source })
    };
    let v1 = score(Profile::PtbV1)?;
    let strict = score(Profile::Strict)?;
    Ok(SampleRecord {
        verdicts_differ: v1.verdict != strict.verdict,
        score: v1.verdict.value(),
        verdict: v1.verdict,
        extracted: v1.extracted,
        strict: ProfileVerdict { verdict: strict.verdict, score: strict.verdict.value(), extracted: strict.extracted },
        id: r.id,
        messages: r.messages,
        completion: r.completion,
        tool_calls: r.tool_calls,
        target: r.target,
        metadata: r.metadata,
        prompt_tokens: r.prompt_tokens,
        completion_tokens: r.completion_tokens,
        latency_ms: r.latency_ms,
        finish_reason: r.finish_reason,
    })
}

/// The partial-answers file of an evaluation directory.
pub fn partial_path(out_dir: &Path) -> PathBuf {
    out_dir.join("samples.partial.jsonl")
}
