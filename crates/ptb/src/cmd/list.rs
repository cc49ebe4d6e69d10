//! `ptb list benchmarks|models|agents`.

use crate::cli::ListWhat;
use crate::output::print_table;

use super::Ctx;

pub fn run(ctx: &Ctx, what: ListWhat) -> anyhow::Result<()> {
    let reg = &ctx.config.registry;
    match what {
        ListWhat::Benchmarks => {
            let rows = reg
                .benchmarks
                .iter()
                .map(|(id, b)| {
                    let source = b
                        .file("test")
                        .map(|f| f.repo.clone().unwrap_or_else(|| format!("url: {}", f.path)))
                        .unwrap_or_default();
                    vec![
                        id.clone(),
                        b.display_name.clone(),
                        b.items.to_string(),
                        if b.agent_limit < 0 { "all".into() } else { b.agent_limit.to_string() },
                        b.max_tokens_ladder.iter().map(u32::to_string).collect::<Vec<_>>().join("/"),
                        format!("{:.4}", b.weight),
                        source,
                    ]
                })
                .collect();
            print_table(
                ctx.json,
                &["id", "name", "items", "agent_limit", "max_tokens_ladder", "weight", "source"],
                rows,
            );
        }
        ListWhat::Models => {
            let rows =
                reg.models.iter().map(|(id, m)| vec![id.clone(), m.family.clone(), m.forbidden.join(", ")]).collect();
            print_table(ctx.json, &["id", "template_family", "forbidden_instruct"], rows);
        }
        ListWhat::Agents => {
            let rows =
                reg.agents.iter().map(|(id, a)| vec![id.clone(), a.kind.clone(), a.description.clone()]).collect();
            print_table(ctx.json, &["name", "kind", "description"], rows);
        }
    }
    Ok(())
}
