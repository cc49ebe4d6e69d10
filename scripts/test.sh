#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine and runs ptb's whole test suite: formatting, clippy with
# warnings as errors, and every test of every crate. Safe to repeat.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
# The engine's decode kernels without AMX (candle's Q8_0), as on CPUs that lack it.
PTB_ENGINE_NO_AMX=1 cargo test --workspace --locked --test gguf
