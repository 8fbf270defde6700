"""Scoring the fitted router without scikit-learn's per-call overhead.

scikit-learn's ``transform`` and ``predict_proba`` validate and convert their inputs on every call:
about 4 ms for one short query on one core here, where the arithmetic itself takes microseconds.
The same arithmetic in numpy, over the fitted vocabularies, IDF weights and coefficients, gives the
same probabilities (``tests/unit/test_linear_scorer.py`` and ``test_router.py`` check them against
scikit-learn's) in a fraction of a millisecond. Training stays in scikit-learn.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


@dataclass(frozen=True)
class SparseRow:
    """One text's TF-IDF vector: column indices and their weights."""

    cols: np.ndarray
    weights: np.ndarray


class Tfidf:
    """``TfidfVectorizer.transform`` for one text at a time (same analyzer, IDF, sublinear tf, l2),
    the rows of recent texts kept. Rows are shared: do not write into them."""

    def __init__(self, fitted: TfidfVectorizer) -> None:
        if fitted.norm != "l2" or fitted.binary:
            raise ValueError("only l2-normalised, non-binary TF-IDF is supported")
        self.analyzer = fitted.build_analyzer()
        self.vocabulary: dict[str, int] = fitted.vocabulary_
        self.idf = np.asarray(fitted.idf_, dtype=np.float64)
        self.sublinear = bool(fitted.sublinear_tf)
        # queries recur; the analyzer (hundreds of character n-grams a text) is most of the cost
        self.row: Callable[[str], SparseRow] = functools.lru_cache(maxsize=2048)(self._row)

    def _row(self, text: str) -> SparseRow:
        vocabulary = self.vocabulary
        counts = Counter(vocabulary[t] for t in self.analyzer(text) if t in vocabulary)
        if not counts:
            return SparseRow(np.zeros(0, dtype=np.int64), np.zeros(0))
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.sublinear:
            tf = np.log(tf) + 1.0
        weights = tf * self.idf[cols]
        return SparseRow(cols, weights / np.linalg.norm(weights))


class LinearScorer:
    """Class probabilities of a fitted logistic regression over ``[dense | words | chars]`` features."""

    def __init__(self, model: LogisticRegression, dense_dims: int, words: int, chars: int) -> None:
        coef = np.asarray(model.coef_, dtype=np.float64)
        intercept = np.asarray(model.intercept_, dtype=np.float64)
        if coef.shape[1] != dense_dims + words + chars:
            raise ValueError(f"model has {coef.shape[1]} features, expected {dense_dims + words + chars}")
        if coef.shape[0] == 1:  # two classes: sigmoid(z) is softmax over (0, z)
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([[0.0], intercept])
        self.intercept = intercept
        self.dense = np.ascontiguousarray(coef[:, :dense_dims].T)
        self.words = np.ascontiguousarray(coef[:, dense_dims : dense_dims + words].T)
        self.chars = np.ascontiguousarray(coef[:, dense_dims + words :].T)

    def proba(self, dense: np.ndarray, words: Sequence[SparseRow], chars: Sequence[SparseRow]) -> np.ndarray:
        logits = dense.astype(np.float64) @ self.dense + self.intercept
        for i, (w, c) in enumerate(zip(words, chars, strict=True)):
            logits[i] += w.weights @ self.words[w.cols] + c.weights @ self.chars[c.cols]
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=1, keepdims=True)
