"""The fast-path domain classifier, learned at start-up from the domain definitions.

Features: the MiniLM sentence embedding (meaning), word 1–2-gram TF-IDF (domain vocabulary) and
character 3–5-gram TF-IDF (typos, inflections), concatenated into one sparse vector for a
multinomial logistic regression (scikit-learn). The classes are the configured domains plus
``out_of_scope``.

Training texts, all taken from the configuration:

- each domain's description and example utterances;
- sentences of each domain's knowledge documents, when it has any, at a lower weight (what a domain
  knows about is what it can answer);
- as ``out_of_scope``: every domain's counter-examples and a shipped background set of everyday
  questions no company assistant answers (``data/background.txt``). Background lines too close to a
  domain's own examples are dropped, so a team that configures, say, a sports domain is not fighting
  the background.

Calibration uses only the examples. Cross-validated predictions on the example utterances set the
margin below which the fast path counts as unsure (the cascade's band).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from shared.documents import find_documents, read_document
from shared.domains import DomainDefinition
from shared.embeddings import MODEL_ID, Embedder

log = logging.getLogger(__name__)

OOS = "out_of_scope"
BACKGROUND_FILE = Path(__file__).parent / "data" / "background.txt"
KNOWLEDGE_WEIGHT = 0.3
BACKGROUND_MAX_SIMILARITY = 0.75
_MARKUP = re.compile(r"[*_#|`>]+|-{2,}")


@dataclass(frozen=True)
class Calibration:
    """Thresholds set from the examples alone (cross-validation), with what they were set from."""

    unsure_margin: float
    cv_accuracy: float
    examples: int


def knowledge_sentences(domain: DomainDefinition, limit: int = 400) -> list[str]:
    kdir = domain.knowledge_dir
    if kdir is None or not kdir.is_dir():
        return []
    out: list[str] = []
    for path in find_documents(kdir):
        doc = read_document(path, kdir)
        out.append(doc.title)
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", doc.text):
            s = " ".join(_MARKUP.sub(" ", sentence).split())
            if 4 <= len(s.split()) <= 40:
                out.append(s)
    return out[:limit]


def load_background(path: Path = BACKGROUND_FILE) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class EmbeddingCache:
    """Embeddings of training texts, cached on disk by content so a restart does not re-embed."""

    def __init__(self, embedder: Embedder, folder: Path | None) -> None:
        self.embedder = embedder
        self.folder = folder

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.folder is None:
            return self.embedder.encode(texts)
        key = hashlib.sha256("\x1f".join([MODEL_ID, *texts]).encode()).hexdigest()[:24]
        path = self.folder / f"router-embeddings-{key}.npy"
        if path.exists():
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                return cached
        vectors = self.embedder.encode(texts)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)
        return vectors


class DomainClassifier:
    def __init__(
        self, embedder: Embedder, *, cache_dir: Path | None = None, use_knowledge: bool = True
    ) -> None:
        self.embedder = embedder
        self.cache = EmbeddingCache(embedder, cache_dir)
        self.use_knowledge = use_knowledge
        self.names: list[str] = []
        self.classes: list[str] = []
        self.descriptions: dict[str, str] = {}
        self.calibration = Calibration(unsure_margin=0.0, cv_accuracy=0.0, examples=0)
        self._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2)
        self._model = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
        self.background_used = 0

    # ---- training ---------------------------------------------------------------------------
    def fit(
        self, domains: Mapping[str, DomainDefinition], background: Sequence[str] | None = None
    ) -> DomainClassifier:
        self.names = sorted(domains)
        self.descriptions = {n: domains[n].description for n in self.names}
        texts: list[str] = []
        labels: list[str] = []
        weights: list[float] = []
        example_rows: list[int] = []

        def add(text: str, label: str, weight: float, example: bool = False) -> None:
            if example:
                example_rows.append(len(texts))
            texts.append(text)
            labels.append(label)
            weights.append(weight)

        for name in self.names:
            d = domains[name]
            add(d.description, name, 1.0)
            for t in d.examples:
                add(t, name, 1.0, example=True)
            if self.use_knowledge:
                for t in knowledge_sentences(d):
                    add(t, name, KNOWLEDGE_WEIGHT)
            for t in d.counter_examples:
                add(t, OOS, 1.0)
        background = list(background if background is not None else load_background())
        vectors = self.cache.encode([*texts, *background])
        own, bg = vectors[: len(texts)], vectors[len(texts) :]
        in_domain = own[[i for i, label in enumerate(labels) if label != OOS]]
        if len(bg):
            closest = (bg @ in_domain.T).max(axis=1)
            keep = np.flatnonzero(closest < BACKGROUND_MAX_SIMILARITY)
            self.background_used = len(keep)
            texts += [background[i] for i in keep]
            labels += [OOS] * len(keep)
            weights += [1.0] * len(keep)
            own = np.concatenate([own, bg[keep]], axis=0)
        y = np.array(labels)
        w = np.array(weights)
        features = self._fit_features(texts, own)
        self._model.fit(features, y, sample_weight=w)
        self.classes = [str(c) for c in self._model.classes_]
        self.calibration = self._calibrate(texts, own, y, w, example_rows)
        return self

    def _fit_features(self, texts: Sequence[str], vectors: np.ndarray) -> sp.csr_matrix:
        words = self._words.fit_transform(texts)
        chars = self._chars.fit_transform(texts)
        return sp.hstack([sp.csr_matrix(vectors), words, chars], format="csr")

    def _features(self, texts: Sequence[str], vectors: np.ndarray) -> sp.csr_matrix:
        return sp.hstack(
            [sp.csr_matrix(vectors), self._words.transform(texts), self._chars.transform(texts)], format="csr"
        )

    def _calibrate(
        self, texts: list[str], vectors: np.ndarray, y: np.ndarray, w: np.ndarray, example_rows: list[int]
    ) -> Calibration:
        """Cross-validate on the example utterances: the unsure band is the margin under which
        held-out examples were wrong, capped so that at most 15% of examples fall into it."""
        rows = np.array(example_rows)
        folds = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
        margins: list[float] = []
        correct: list[bool] = []
        for _train_idx, test_idx in folds.split(rows, y[rows]):
            held_out = set(rows[test_idx].tolist())
            train = np.array([i for i in range(len(texts)) if i not in held_out])
            model = DomainClassifier.__new__(DomainClassifier)
            model._words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
            model._chars = TfidfVectorizer(
                analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
            )
            lr = LogisticRegression(C=10.0, max_iter=3000, class_weight="balanced")
            lr.fit(
                model._fit_features([texts[i] for i in train], vectors[train]),
                y[train],
                sample_weight=w[train],
            )
            test = rows[test_idx]
            probs = lr.predict_proba(model._features([texts[i] for i in test], vectors[test]))
            top2 = np.sort(probs, axis=1)[:, -2:]
            margins += (top2[:, 1] - top2[:, 0]).tolist()
            correct += (lr.classes_[probs.argmax(axis=1)] == y[test]).tolist()
        m = np.array(margins)
        ok = np.array(correct)
        wrong = m[~ok]
        # Cover the margins of most wrong held-out predictions, but never send more than 15% of
        # in-domain examples to the slow path.
        band = float(np.quantile(wrong, 0.8)) if len(wrong) else 0.0
        band = min(band, float(np.quantile(m, 0.15)))
        return Calibration(
            unsure_margin=round(band, 4), cv_accuracy=round(float(ok.mean()), 4), examples=len(m)
        )

    # ---- inference --------------------------------------------------------------------------
    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, columns in ``self.classes`` order."""
        vectors = self.embedder.encode(texts)
        return np.asarray(self._model.predict_proba(self._features(texts, vectors)))

    def scores(self, text: str) -> dict[str, float]:
        probs = self.predict([text])[0]
        return {c: round(float(p), 4) for c, p in zip(self.classes, probs, strict=True)}
