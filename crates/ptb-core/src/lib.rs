//! ptb-core: the registry of benchmarks, base models and agents, the user configuration that extends
//! it, and small file helpers every other crate shares (atomic writes, closest-name suggestions).

pub mod config;
pub mod fsutil;
pub mod layout;
pub mod registry;

pub use config::{Config, ConfigError, RunSettings};
pub use registry::{AgentSpec, BenchmarkSpec, DataFile, FileKind, ModelSpec, Registry, RegistryError, TemplateSpec};

/// Suggests the entry of `candidates` closest to `input`, if any is close enough to be a likely typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = input.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn closest_suggests_typos_only() {
        let names = ["gsm8k", "humaneval", "bfcl"];
        assert_eq!(super::closest("gsm8", names), Some("gsm8k"));
        assert_eq!(super::closest("HumanEvl", names), Some("humaneval"));
        assert_eq!(super::closest("zzzzzz", names), None);
    }
}
