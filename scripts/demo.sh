#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine, builds ptb and runs the main job on the embedded offline
# default: `ptb demo` (SmolLM2-135M-Instruct on a GSM8K subset, in-process on CPU). Safe to repeat.
#
# GSM8K comes from the data dir ($PTB_DATA_DIR, else ~/.local/share/ptb), fetched from the Hugging
# Face Hub when missing. On a machine without Hub access, point PTB_DATA_DIR at a folder that holds
# gsm8k/test.jsonl and gsm8k/train.jsonl (this project's dev machines have one at ../shared/datasets,
# which is used when present).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

if [ -z "${PTB_DATA_DIR:-}" ] && [ -f ../shared/datasets/gsm8k/test.jsonl ]; then
  PTB_DATA_DIR="$(cd ../shared/datasets && pwd)"
  export PTB_DATA_DIR
fi

cargo build --release --locked -p ptb
"$CARGO_TARGET_DIR/release/ptb" demo "$@"
