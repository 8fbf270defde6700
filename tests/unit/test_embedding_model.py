"""The derived embedding model: really quantized, close to the pinned model, cached and rebuilt."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from shared import embeddings
from shared.embeddings import Embedder, runtime_model, source_model

TEXTS = [
    "What is the checked baggage allowance on an economy ticket?",
    "How do I activate an eSIM on my phone?",
    "How long do refunds take after a return?",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embedding-cache")


def test_every_weight_product_runs_in_int8(cache: Path) -> None:
    graph = onnx.load(str(runtime_model(cache))).graph
    ops = [n.op_type for n in graph.node]
    # 6 layers x (query, key, value, output, two feed-forward) products with constant weights
    assert ops.count("MatMulInteger") == 36
    assert ops.count("DynamicQuantizeLinear") >= 6


def test_vectors_stay_close_to_the_pinned_model(cache: Path) -> None:
    derived = Embedder(cache_dir=cache)
    pinned = Embedder(model=source_model())
    a, b = derived.encode(TEXTS), pinned.encode(TEXTS)
    assert np.all((a * b).sum(axis=1) > 0.98)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    sims = a @ a.T  # different questions stay apart
    assert np.all(sims[~np.eye(len(TEXTS), dtype=bool)] < 0.6)


def test_the_model_is_built_once_then_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime_model(cache)
    (cache / ".embeddings.lock").unlink()
    calls: list[Path] = []
    monkeypatch.setattr(embeddings, "_quantize", lambda src, dst: calls.append(dst))
    assert runtime_model(cache).is_file()
    assert calls == []
    assert not (cache / ".embeddings.lock").exists()  # reading a prebuilt model writes nothing


def test_the_default_cache_lives_in_the_python_environment() -> None:
    assert embeddings.DEFAULT_CACHE.is_relative_to(sys.prefix)


def test_a_damaged_cached_model_is_rebuilt(tmp_path: Path) -> None:
    path = runtime_model(tmp_path)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    assert runtime_model(tmp_path) == path
    assert path.read_bytes() == good  # the derivation is deterministic


def test_an_unwritable_cache_falls_back_to_a_temporary_folder(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    path = runtime_model(blocked / "cache")
    assert path.is_file() and blocked not in path.parents


def test_a_text_gets_the_same_vector_alone_or_beside_others(cache: Path) -> None:
    embedder = Embedder(cache_dir=cache)
    alone = embedder.encode_one(TEXTS[0])
    beside = embedder.encode([*TEXTS, "a much longer text " * 40])
    assert np.array_equal(beside[0], alone)


def test_recent_texts_are_embedded_once_and_get_the_same_vector(cache: Path) -> None:
    embedder = Embedder(cache_dir=cache)
    fresh = embedder.encode(TEXTS)
    assert (embedder.recent.hits, embedder.recent.misses) == (0, 0)  # nothing kept by default
    embedder.keep_recent(2)
    first = embedder.encode_one(TEXTS[0])
    again = embedder.encode_one(TEXTS[0])
    assert np.array_equal(first, fresh[0]) and np.array_equal(again, fresh[0])
    assert (embedder.recent.hits, embedder.recent.misses) == (1, 1)
    again[:] = 0.0  # a caller that writes into its vector does not change the kept one
    assert np.array_equal(embedder.encode_one(TEXTS[0]), fresh[0])
    embedder.encode([TEXTS[1], TEXTS[2]])  # the least recent of three texts no longer fits
    assert embedder.recent.misses == 3
    assert np.array_equal(embedder.encode_one(TEXTS[0]), fresh[0])
    assert embedder.recent.misses == 4
    embedder.encode(["a bulk text, as ingest embeds"], recent=False)  # bulk work keeps nothing
    assert embedder.recent.misses == 4
    embedder.keep_recent(0)
    embedder.encode_one(TEXTS[0])
    assert embedder.recent.misses == 4  # off: neither kept nor counted
