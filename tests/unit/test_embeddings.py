"""Carried query vectors: used only when they are this model's vector of exactly the same text."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from pydantic import ValidationError

from contracts import QueryEmbedding, RetrievalRequest
from shared.embeddings import (
    CARRIED_TOKENS,
    DIM,
    MODEL_ID,
    from_message,
    text_digest,
    to_message,
    tokens_from_message,
)


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


@pytest.mark.parametrize("vector", ["", "AAA=", "not base64!", "A" * 30_000, "A" * 16 + "===", "AAAAAAAA\n"])
def test_malformed_vectors_are_rejected_at_the_contract(vector: str) -> None:
    with pytest.raises(ValidationError):
        QueryEmbedding(model=MODEL_ID, text_sha256=text_digest("q"), vector=vector)


def test_the_digest_accepts_any_python_string() -> None:
    assert len(text_digest("lone surrogate \udc80")) == 64


def _rows(n: int, seed: int = 1) -> np.ndarray:
    r = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return r / np.linalg.norm(r, axis=1, keepdims=True)


def test_token_vectors_travel_as_float16_and_fit_only_their_text() -> None:
    rows = _rows(7)
    msg = to_message("baggage?", _vector(), rows)
    back = QueryEmbedding.model_validate_json(msg.model_dump_json())
    got = tokens_from_message(back, "baggage?", 7)
    assert got is not None and got.dtype == np.float16
    assert np.array_equal(got, rows.astype(np.float16))
    assert tokens_from_message(back, "other text", 7) is None
    assert tokens_from_message(back, "baggage?", 6) is None  # another tokenisation: not these rows
    assert tokens_from_message(to_message("baggage?", _vector()), "baggage?", 7) is None  # none sent
    assert to_message("long", _vector(), _rows(CARRIED_TOKENS + 1)).tokens is None  # too long to carry


def test_token_vectors_that_are_not_unit_rows_are_ignored() -> None:
    msg = to_message("q", _vector(), _rows(3) * 2)
    assert tokens_from_message(msg, "q", 3) is None
    nan = np.full((3, DIM), np.nan, dtype=np.float32)
    assert tokens_from_message(to_message("q", _vector(), nan), "q", 3) is None


# What the schema's pattern refuses, now refused without it: strict decoding alone accepts some
# of these (empty, over-padded) and raises a plain ValueError on a character outside ASCII.
_NOT_BASE64 = ["", "AAAAAAAA===", "AAAAAAAA====", "AAA\n", "AAAA\n", "éAAA", "AA=A", "=AAA"]


@pytest.mark.parametrize("tokens", ["AA==", "not base64!", "A" * 70_000, *_NOT_BASE64])
def test_malformed_token_vectors_are_rejected_at_the_contract(tokens: str) -> None:
    vector = to_message("q", _vector()).vector
    with pytest.raises(ValidationError):
        QueryEmbedding(model=MODEL_ID, text_sha256=text_digest("q"), vector=vector, tokens=tokens)
