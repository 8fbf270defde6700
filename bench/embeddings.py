"""Embedding model: the pinned weight-only int8 file against the derived dynamically quantized one.

    python -m bench embeddings [--texts 160]

Both run on one onnxruntime thread over the QA questions, one text a call as the router embeds a
query, alternating text by text so that machine noise hits both alike. The derived model's vectors
are compared with the pinned model's by cosine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from bench.load import pct
from shared.embeddings import Embedder, source_model
from shared.settings import REPO_ROOT


def _timed(models: list[Embedder], texts: list[str]) -> tuple[list[np.ndarray], list[list[float]]]:
    """Each text through every model in turn, so that both see the same machine conditions."""
    for text in texts[:10]:
        for m in models:
            m.encode_one(text)
    vectors: list[list[np.ndarray]] = [[] for _ in models]
    took: list[list[float]] = [[] for _ in models]
    for text in texts:
        for i, m in enumerate(models):
            t0 = time.perf_counter()
            vectors[i].append(m.encode_one(text))
            took[i].append((time.perf_counter() - t0) * 1000)
    return [np.stack(v) for v in vectors], took


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench embeddings")
    parser.add_argument("--texts", type=int, default=160, help="how many QA questions to embed")
    args = parser.parse_args(argv)
    rows = (REPO_ROOT / "bench" / "data" / "rag_qa.jsonl").read_text().splitlines()
    texts = [json.loads(line)["question"] for line in rows if line.strip()][: args.texts]
    threadpool_limits(1)
    derived = Embedder(threads=1)
    pinned = Embedder(threads=1, model=source_model())
    (base, fast), (base_ms, fast_ms) = _timed([pinned, derived], texts)
    cos = (base * fast).sum(axis=1)
    print(f"== embeddings, one thread, {len(texts)} texts one at a time")
    for name, ms in (
        ("pinned (weight-only int8, float32 compute)", base_ms),
        ("derived (dynamic int8)", fast_ms),
    ):
        print(
            f"{name:44s} mean {statistics.fmean(ms):.2f} ms  p50 {pct(ms, 0.5):.2f}  p99 {pct(ms, 0.99):.2f}"
        )
    print(f"speed-up (mean): {statistics.fmean(base_ms) / statistics.fmean(fast_ms):.2f}x")
    print(f"cosine derived vs pinned: min {cos.min():.4f}  mean {cos.mean():.4f}")
