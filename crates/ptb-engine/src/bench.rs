//! `ptb bench engine`: prompt and generation throughput of the embedded engine, one stream and
//! several concurrent streams.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::batch::Event;
use crate::engine::{EmbeddedEngine, EngineOptions, GenerateRequest};
use crate::error::{EngineError, Result};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// A model directory or `.gguf` file.
    pub model: PathBuf,
    /// Prompt length per stream, in tokens.
    pub prompt_tokens: usize,
    /// Tokens generated per stream (EOS is ignored so every stream generates them all).
    pub gen_tokens: usize,
    /// Concurrency levels to run, e.g. `[1, 8]`.
    pub streams: Vec<usize>,
    /// Rounds over all levels; each level reports its median round. Levels alternate within a round
    /// so that a noisy machine slows them alike.
    pub rounds: usize,
}

impl BenchOptions {
    /// 128 prompt tokens, 64 generated tokens, 1 and 8 streams, 3 rounds.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        Self { model: model.into(), prompt_tokens: 128, gen_tokens: 64, streams: vec![1, 8], rounds: 3 }
    }
}

/// One concurrency level's result: its median round by generated tokens/s.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub streams: usize,
    /// Prompt tokens processed per second (all streams together).
    pub prompt_tokens_per_s: f64,
    /// Tokens generated per second after the last prefill (all streams together).
    pub gen_tokens_per_s: f64,
    /// Tokens generated per second per stream.
    pub gen_tokens_per_s_per_stream: f64,
    /// The slowest and fastest rounds' generated tokens/s.
    pub gen_tokens_per_s_min: f64,
    pub gen_tokens_per_s_max: f64,
    /// Generated tokens/s over the first level's (one stream's, by default).
    pub speedup: f64,
    pub generated_tokens: usize,
    pub wall_s: f64,
}

/// The whole measurement.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub load_s: f64,
    pub prompt_tokens: usize,
    pub gen_tokens: usize,
    pub rounds: usize,
    pub rows: Vec<BenchRow>,
}

/// Loads the model and measures each concurrency level, `rounds` times in alternation (greedy
/// decoding).
pub async fn bench(opts: &BenchOptions) -> Result<BenchReport> {
    let t = Instant::now();
    let model = opts.model.clone();
    let mut eo = EngineOptions::new(&opts.model);
    eo.max_batch = opts.streams.iter().copied().max().unwrap_or(1).max(1);
    let engine = tokio::task::spawn_blocking(move || EmbeddedEngine::load(&eo))
        .await
        .map_err(|e| EngineError::bad(&model, format!("loading panicked: {e}")))??;
    let load_s = t.elapsed().as_secs_f64();
    let text = "The quick brown fox jumps over the lazy dog while the orchestra tunes its instruments. ".repeat(64);
    let mut prompt = engine.tokenize(&text)?;
    prompt.truncate(opts.prompt_tokens.max(1));
    // Warm-up: first-touch allocation and thread-pool start.
    engine.generate(request(&prompt, 2)).await?;
    let rounds = opts.rounds.max(1);
    let mut samples: Vec<Vec<BenchRow>> = vec![Vec::with_capacity(rounds); opts.streams.len()];
    for _ in 0..rounds {
        for (level, &n) in opts.streams.iter().enumerate() {
            samples[level].push(measure(&engine, &prompt, n, opts.gen_tokens).await?);
        }
    }
    let mut rows: Vec<BenchRow> = samples
        .into_iter()
        .map(|mut level| {
            level.sort_by(|a, b| a.gen_tokens_per_s.total_cmp(&b.gen_tokens_per_s));
            let (min, max) = (level[0].gen_tokens_per_s, level[level.len() - 1].gen_tokens_per_s);
            let median = level.swap_remove(level.len() / 2);
            BenchRow { gen_tokens_per_s_min: min, gen_tokens_per_s_max: max, ..median }
        })
        .collect();
    let base = rows.first().map_or(1.0, |r| r.gen_tokens_per_s);
    for r in &mut rows {
        r.speedup = r.gen_tokens_per_s / base;
    }
    Ok(BenchReport {
        model: engine.model_name().to_string(),
        load_s,
        prompt_tokens: prompt.len(),
        gen_tokens: opts.gen_tokens,
        rounds,
        rows,
    })
}

/// One round of `n` concurrent streams: prompt tokens/s until the last stream's first token, then
/// generated tokens/s until all are done.
async fn measure(engine: &EmbeddedEngine, prompt: &[u32], n: usize, gen_tokens: usize) -> Result<BenchRow> {
    let start = Instant::now();
    let mut rxs = Vec::with_capacity(n);
    for _ in 0..n {
        rxs.push(engine.submit(request(prompt, gen_tokens))?);
    }
    let mut handles = Vec::with_capacity(n);
    for mut rx in rxs {
        handles.push(tokio::spawn(async move {
            let mut first = None;
            while let Some(ev) = rx.recv().await {
                first.get_or_insert_with(Instant::now);
                match ev {
                    Event::Delta(_) => {}
                    Event::Done(c) => return Ok((first.unwrap_or_else(Instant::now), c.tokens.len())),
                    Event::Failed(m) => return Err(EngineError::BadRequest(m)),
                }
            }
            Err(EngineError::Stopped)
        }));
    }
    let mut last_first = start;
    let mut generated = 0;
    for h in handles {
        let (first, tokens) = h.await.map_err(|e| EngineError::BadRequest(format!("bench task failed: {e}")))??;
        last_first = last_first.max(first);
        generated += tokens;
    }
    let wall = start.elapsed().as_secs_f64();
    let prefill = (last_first - start).as_secs_f64();
    let decode = (wall - prefill).max(1e-9);
    let gen_rate = generated.saturating_sub(n) as f64 / decode;
    Ok(BenchRow {
        streams: n,
        prompt_tokens_per_s: (n * prompt.len()) as f64 / prefill.max(1e-9),
        gen_tokens_per_s: gen_rate,
        gen_tokens_per_s_per_stream: gen_rate / n as f64,
        gen_tokens_per_s_min: gen_rate,
        gen_tokens_per_s_max: gen_rate,
        speedup: 1.0,
        generated_tokens: generated,
        wall_s: wall,
    })
}

fn request(prompt: &[u32], max_tokens: usize) -> GenerateRequest {
    GenerateRequest {
        prompt: prompt.to_vec(),
        max_tokens: Some(max_tokens),
        temperature: Some(0.0),
        ignore_eos: true,
        ..Default::default()
    }
}
