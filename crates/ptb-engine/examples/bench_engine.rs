//! Measures the embedded engine until `ptb bench engine` is wired:
//! `cargo run --release -p ptb-engine --example bench_engine -- MODEL [PROMPT_TOKENS GEN_TOKENS]`.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let model = args.next().ok_or("usage: bench_engine MODEL [PROMPT_TOKENS GEN_TOKENS]")?;
    let mut opts = ptb_engine::BenchOptions::new(model);
    if let (Some(p), Some(g)) = (args.next(), args.next()) {
        opts.prompt_tokens = p.parse()?;
        opts.gen_tokens = g.parse()?;
    }
    let r = ptb_engine::bench(&opts).await?;
    println!(
        "{} (load {:.2} s, prompt {} tokens, {} generated per stream)",
        r.model, r.load_s, r.prompt_tokens, r.gen_tokens
    );
    println!("{:>8} {:>14} {:>12} {:>16}", "streams", "prompt tok/s", "gen tok/s", "gen tok/s/stream");
    for row in &r.rows {
        println!(
            "{:>8} {:>14.1} {:>12.1} {:>16.1}",
            row.streams, row.prompt_tokens_per_s, row.gen_tokens_per_s, row.gen_tokens_per_s_per_stream
        );
    }
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}
