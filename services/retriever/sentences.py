"""Sentence vectors of the knowledge base, embedded once at ingest, for scoring passages' sentences.

The domain's grader judges a passage by its best sentence's similarity to the question. Embedding
those sentences at question time costs 5 ms each (100-400 ms a question on a cold cache); here they
are embedded at ingest (batched) and persisted beside the index, so a retrieval can return every
passage's sentences already scored: a lookup and a dot product. Sentences not seen at ingest
(another process ingested, or a Weaviate store shared with other retrievers) are embedded on first
use and kept, up to ``max_entries``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from contracts import Passage, SentenceScore
from shared.embeddings import DIM, Embedder, model_slug
from shared.text import evidence_sentences

log = logging.getLogger(__name__)
CHUNKS_KEPT = 4096  # chunk texts whose sentences and float32 vectors are remembered (a few MB)


def _key(sentence: str) -> bytes:
    return hashlib.blake2b(sentence.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SentenceVectors:
    def __init__(self, embedder: Embedder, folder: Path | None = None, max_entries: int = 200_000) -> None:
        self.embedder = embedder
        self.max_entries = max_entries
        self.path = folder / f"sentences-{model_slug()}.npz" if folder is not None else None
        self._rows: dict[bytes, int] = {}
        self._vectors = np.zeros((0, DIM), dtype=np.float16)
        self._lock = threading.Lock()
        self._chunks: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._dirty = False
        if self.path is not None and self.path.exists():
            try:
                data = np.load(self.path)
                keys, vectors = data["keys"], data["vectors"]
                if vectors.shape[1:] != (DIM,) or len(keys) != len(vectors):
                    raise ValueError(f"shape {vectors.shape} for {len(keys)} keys")
                self._rows = {bytes(k): i for i, k in enumerate(keys)}
                self._vectors = vectors.astype(np.float16)
            except Exception as exc:  # a damaged cache is rebuilt, not fatal
                log.warning("ignoring sentence vectors in %s: %s", self.path, exc)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, sentences: Iterable[str]) -> int:
        """Embed the sentences not seen yet; returns how many were embedded."""
        return self._add({_key(s): s for s in sentences})

    def _add(self, by_key: dict[bytes, str]) -> int:
        with self._lock:
            missing = [(k, s) for k, s in by_key.items() if k not in self._rows]
            todo = missing[: max(self.max_entries - len(self._rows), 0)]
            if not todo:
                return 0
            vectors = self.embedder.encode([s for _, s in todo], recent=False).astype(np.float16)
            start = len(self._vectors)
            self._vectors = np.concatenate([self._vectors, vectors], axis=0)
            for n, (k, _) in enumerate(todo):
                self._rows[k] = start + n
            self._dirty = True
            return len(todo)

    def _rows_of(self, sentences: list[str]) -> np.ndarray | None:
        """The table rows of ``sentences``, embedding those not seen yet (None: some are beyond
        ``max_entries`` and not kept)."""
        keys = [_key(s) for s in sentences]
        self._add(dict(zip(keys, sentences, strict=True)))
        with self._lock:
            found = [self._rows.get(k) for k in keys]
        return None if any(r is None for r in found) else np.array(found, dtype=np.int64)

    def _scored(self, sentences: list[str], rows: np.ndarray | None, query_vector: np.ndarray) -> np.ndarray:
        if rows is None:  # beyond max_entries: embed without keeping
            return np.asarray(self.embedder.encode(sentences, recent=False) @ query_vector, dtype=np.float32)
        return np.asarray(self._vectors[rows].astype(np.float32) @ query_vector, dtype=np.float32)

    def scores(self, sentences: list[str], query_vector: np.ndarray) -> np.ndarray:
        return self._scored(sentences, self._rows_of(sentences), query_vector.astype(np.float32))

    def _chunk(self, text: str) -> tuple[list[str], np.ndarray | None]:
        """A chunk's evidence sentences and their vectors as float32 rows, ready for the product
        (None: some sentence is not kept). Chunks recur across questions, so both are remembered
        for the most recent chunk texts (~1.5 KB a sentence)."""
        with self._lock:
            known = self._chunks.get(text)
            if known is not None:
                self._chunks.move_to_end(text)
                return known
        sentences = evidence_sentences(text)
        rows = self._rows_of(sentences)
        if rows is None:
            return sentences, None
        with self._lock:
            block = self._vectors[rows].astype(np.float32)
            self._chunks[text] = (sentences, block)
            while len(self._chunks) > CHUNKS_KEPT:
                self._chunks.popitem(last=False)
        return sentences, block

    def annotate(self, passages: list[Passage], query_vector: np.ndarray) -> list[Passage]:
        """The passages with their evidence sentences scored against the query."""
        out = []
        q = query_vector.astype(np.float32)
        for p in passages:
            sentences, block = self._chunk(p.text)
            sims = block @ q if block is not None else self._scored(sentences, None, q)
            scored = [
                SentenceScore(text=s, score=round(float(v), 5)) for s, v in zip(sentences, sims, strict=True)
            ]
            out.append(p.model_copy(update={"sentences": scored}))
        return out

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        with self._lock:
            keys = np.zeros((len(self._rows), 16), dtype=np.uint8)
            for k, i in self._rows.items():
                keys[i] = np.frombuffer(k, dtype=np.uint8)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=keys, vectors=self._vectors)
            tmp.replace(self.path)
            self._dirty = False
