#!/usr/bin/env python3
"""llama.cpp's single-stream speed on a GGUF, measured as `ptb bench engine` measures ptb's engine:
the same prompt text cut to N tokens, greedy generation of M tokens with EOS ignored, all cores.

Needs `pip install llama-cpp-python` (compiles llama.cpp). Usage:
    python3 scripts/bench-llamacpp.py MODEL.gguf [PROMPT_TOKENS=128] [GEN_TOKENS=64]
"""

import os
import sys
import time

from llama_cpp import Llama


def main() -> None:
    path = sys.argv[1]
    n_prompt = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    n_gen = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    llm = Llama(model_path=path, n_ctx=4096, n_batch=512, n_threads=os.cpu_count(), verbose=False)
    text = "The quick brown fox jumps over the lazy dog while the orchestra tunes its instruments. " * 64
    prompt = llm.tokenize(text.encode(), add_bos=False)[:n_prompt]
    llm.eval(prompt[:8])  # warm-up, as ptb's bench does
    llm.reset()
    start = time.perf_counter()
    first = None
    for i, _ in enumerate(llm.generate(prompt, temp=0.0, reset=True)):
        if first is None:
            first = time.perf_counter()
        if i + 1 >= n_gen:
            break
    end = time.perf_counter()
    prefill, decode = first - start, end - first
    print(f"llama.cpp  prompt {len(prompt) / prefill:.1f} tok/s  generation {(n_gen - 1) / decode:.1f} tok/s  "
          f"({len(prompt)} prompt, {n_gen} generated tokens, {os.cpu_count()} threads)")


if __name__ == "__main__":
    main()
