"""Domain scoring learned from each domain's description and example utterances.

Each domain is represented by the embeddings of its examples (and description). A query's score for
a domain is the mean cosine similarity of its ``k`` nearest examples there. The out-of-scope
threshold is calibrated from the examples alone, by leave-one-out: every example is scored against
its own domain without itself, and the threshold sits at a low quantile of those scores, pulled up
by any counter-examples the domains list. Nothing is tuned per domain by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from shared.domains import DomainDefinition
from shared.embeddings import Embedder


@dataclass(frozen=True)
class Calibration:
    threshold: float
    in_scope_quantile: float
    counter_max: float | None


class DomainClassifier:
    def __init__(self, embedder: Embedder, k: int = 3, quantile: float = 0.05) -> None:
        self.embedder = embedder
        self.k = k
        self.quantile = quantile
        self.names: list[str] = []
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._owner = np.zeros(0, dtype=np.int64)
        self.calibration = Calibration(threshold=1.0, in_scope_quantile=1.0, counter_max=None)

    def fit(self, domains: Mapping[str, DomainDefinition]) -> DomainClassifier:
        texts: list[str] = []
        owner: list[int] = []
        self.names = sorted(domains)
        for i, name in enumerate(self.names):
            d = domains[name]
            for t in [d.description, *d.examples]:
                texts.append(t)
                owner.append(i)
        self._matrix = self.embedder.encode(texts)
        self._owner = np.array(owner, dtype=np.int64)
        counters = [t for d in domains.values() for t in d.counter_examples]
        self.calibration = self._calibrate(counters)
        return self

    def _domain_scores(self, sims: np.ndarray, exclude: int | None = None) -> np.ndarray:
        """Mean of the top-k similarities per domain."""
        out = np.empty(len(self.names), dtype=np.float32)
        for i in range(len(self.names)):
            idx = np.flatnonzero(self._owner == i)
            if exclude is not None:
                idx = idx[idx != exclude]
            s = sims[idx]
            k = min(self.k, len(s))
            out[i] = float(np.mean(np.partition(s, -k)[-k:])) if k else 0.0
        return out

    def _calibrate(self, counters: list[str]) -> Calibration:
        own_scores = []
        gram = self._matrix @ self._matrix.T
        for row in range(len(self._owner)):
            scores = self._domain_scores(gram[row], exclude=row)
            own_scores.append(scores[self._owner[row]])
        q = float(np.quantile(np.array(own_scores), self.quantile))
        counter_max = None
        threshold = q
        if counters:
            cs = self.scores_many(counters).max(axis=1)
            counter_max = float(np.quantile(cs, 0.9))
            # Counter-examples are known negatives: keep the threshold above most of them,
            # but never above the median in-domain score (that would reject real queries).
            median_in = float(np.median(own_scores))
            threshold = min(max(q, counter_max), median_in)
        return Calibration(threshold=threshold, in_scope_quantile=q, counter_max=counter_max)

    def scores_many(self, texts: list[str]) -> np.ndarray:
        vecs = self.embedder.encode(texts)
        sims = vecs @ self._matrix.T
        return np.stack([self._domain_scores(row) for row in sims])

    def scores(self, text: str) -> dict[str, float]:
        sims = self._matrix @ self.embedder.encode_one(text)
        return {n: round(float(s), 4) for n, s in zip(self.names, self._domain_scores(sims), strict=True)}
