"""Carried query vectors: used only when they are this model's vector of exactly the same text."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from pydantic import ValidationError

from contracts import QueryEmbedding, RetrievalRequest
from shared.embeddings import DIM, MODEL_ID, from_message, text_digest, to_message


def _vector(seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def test_a_vector_survives_the_wire_bit_for_bit() -> None:
    v = _vector()
    req = RetrievalRequest(domain="travel", query="baggage?", embedding=to_message("baggage?", v))
    back = RetrievalRequest.model_validate_json(req.model_dump_json())
    got = from_message(back.embedding, "baggage?")
    assert got is not None and np.array_equal(got, v)
    assert len(req.model_dump_json()) < 3_000


@pytest.mark.parametrize(
    "embedding",
    [
        to_message("another text", _vector()),  # a different text: the digest does not match
        QueryEmbedding(
            model="some-other-model", text_sha256=text_digest("q"), vector=to_message("q", _vector()).vector
        ),
        QueryEmbedding(
            model=MODEL_ID, text_sha256=text_digest("q"), vector=base64.b64encode(b"\0" * 8).decode()
        ),
        QueryEmbedding(
            model=MODEL_ID,
            text_sha256=text_digest("q"),
            vector=base64.b64encode(np.full(DIM, np.nan, dtype="<f4").tobytes()).decode(),
        ),
        None,
    ],
    ids=["other-text", "other-model", "wrong-dimension", "not-finite", "none"],
)
def test_a_vector_that_does_not_fit_is_ignored(embedding: QueryEmbedding | None) -> None:
    assert from_message(embedding, "q") is None


@pytest.mark.parametrize("vector", ["", "AAA=", "not base64!", "A" * 30_000])
def test_malformed_vectors_are_rejected_at_the_contract(vector: str) -> None:
    with pytest.raises(ValidationError):
        QueryEmbedding(model=MODEL_ID, text_sha256=text_digest("q"), vector=vector)


def test_the_digest_accepts_any_python_string() -> None:
    assert len(text_digest("lone surrogate \udc80")) == 64
