"""The embedded knowledge store: exact hybrid search (vector + BM25, rank-fused), persisted on disk.

One collection per (tenant, domain), kept in its own folder, so no search can cross domains or
tenants. At the sizes a domain knowledge base has (thousands of chunks) exact search takes well under
a millisecond with numpy, and approximate indexes bring nothing (see the design brief).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from contracts import Passage
from contracts.subjects import TOKEN_RE
from shared.documents import Chunk
from shared.embeddings import DIM
from shared.text import stem, words

BM25_K1, BM25_B = 1.2, 0.75
RRF_K = 60


def tokenize(text: str) -> list[str]:
    """BM25's terms: content words, lightly stemmed ("buffer" finds "Buffering or low quality")."""
    return [stem(w) for w in words(text)]


class KnowledgeStore(Protocol):
    """What the retriever needs of a store; the embedded one and the Weaviate adapter both provide it."""

    def document_hashes(self, tenant: str, domain: str) -> dict[str, str]: ...

    def document_sources(self, tenant: str, domain: str) -> dict[str, str]:
        """Where each document was read from (its file's path when it was ingested)."""
        ...

    def upsert_document(
        self,
        tenant: str,
        domain: str,
        doc_id: str,
        content_hash: str,
        chunks: list[Chunk],
        vectors: np.ndarray,
    ) -> None: ...

    def delete_document(self, tenant: str, domain: str, doc_id: str) -> int: ...

    def search(
        self,
        tenant: str,
        domain: str,
        text: str,
        vector: np.ndarray,
        k: int,
        doc_ids: list[str] | None = None,
    ) -> list[Passage]: ...

    def count(self, tenant: str, domain: str) -> int: ...


@dataclass
class _Collection:
    chunks: list[Chunk] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, DIM), dtype=np.float32))
    hashes: dict[str, str] = field(default_factory=dict)
    stamp: tuple[int, int] | None = None  # documents.json as last read or written here
    _bm25: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def bm25_index(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Postings: for each term, the chunks that hold it and its whole BM25 weight in each
        (idf times the saturated, length-normalised term frequency), computed once per index."""
        if self._bm25 is None:
            tfs = [Counter(tokenize(f"{c.title} {c.text}")) for c in self.chunks]
            lengths = np.array([sum(tf.values()) for tf in tfs], dtype=np.float64)
            avg = float(lengths.mean()) if len(lengths) else 1.0
            rows: dict[str, list[int]] = {}
            freqs: dict[str, list[int]] = {}
            for i, tf in enumerate(tfs):
                for term, count in tf.items():
                    rows.setdefault(term, []).append(i)
                    freqs.setdefault(term, []).append(count)
            n = len(tfs)
            index = {}
            for term, where in rows.items():
                at = np.array(where, dtype=np.int64)
                f = np.array(freqs[term], dtype=np.float64)
                idf = math.log(1 + (n - len(at) + 0.5) / (len(at) + 0.5))
                norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[at] / avg)
                weight = idf * f * (BM25_K1 + 1) / (f + norm)
                index[term] = (at, weight.astype(np.float32))
            self._bm25 = index
        return self._bm25

    def bm25(self, query: str) -> np.ndarray:
        """Okapi BM25 of every chunk for the query (0 where no query term occurs)."""
        index = self.bm25_index()
        scores = np.zeros(len(self.chunks), dtype=np.float32)
        for term in set(tokenize(query)):
            posting = index.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]  # a term occurs once per chunk in its posting
        return scores


class EmbeddedStore:
    """Hybrid search over numpy vectors and an in-memory BM25 index, one folder per collection."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cols: dict[tuple[str, str], _Collection] = {}
        self._lock = threading.Lock()

    def _dir(self, tenant: str, domain: str) -> Path:
        for value in (tenant, domain):
            if not TOKEN_RE.fullmatch(value):
                raise ValueError(f"invalid collection name part {value!r}")
        return self.root / tenant / domain

    @staticmethod
    def _stamp(folder: Path) -> tuple[int, int] | None:
        try:
            st = (folder / "documents.json").stat()
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_size

    def _load(self, tenant: str, domain: str) -> _Collection:
        """The collection, re-read when another process (``accel ingest``, ``accel forget``) changed
        it on disk since: documents.json is replaced last, so its stamp marks a complete write."""
        key = (tenant, domain)
        folder = self._dir(tenant, domain)
        stamp = self._stamp(folder)
        col = self._cols.get(key)
        if col is not None and col.stamp == stamp:
            return col
        fresh = _Collection(stamp=stamp)
        if stamp is not None:
            try:
                with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
                    fresh.chunks = [Chunk(**json.loads(line)) for line in fh if line.strip()]
                fresh.vectors = np.load(folder / "vectors.npy")
                fresh.hashes = json.loads((folder / "documents.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                if col is not None:  # caught mid-write by another process: keep what we had
                    return col
                raise RuntimeError(f"index at {folder} is unreadable ({exc}): re-ingest it") from exc
            if len(fresh.chunks) != len(fresh.vectors):
                if col is not None:
                    return col
                raise RuntimeError(f"index at {folder} is inconsistent: re-ingest it (`accel ingest`)")
        self._cols[key] = fresh
        return fresh

    def _save(self, tenant: str, domain: str, col: _Collection) -> None:
        folder = self._dir(tenant, domain)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".tmp"
        tmp.mkdir(exist_ok=True)
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
            for c in col.chunks:
                fh.write(json.dumps(asdict(c)) + "\n")
        np.save(tmp / "vectors.npy", col.vectors)
        (tmp / "documents.json").write_text(json.dumps(col.hashes, indent=1), encoding="utf-8")
        for name in ("chunks.jsonl", "vectors.npy", "documents.json"):
            os.replace(tmp / name, folder / name)
        col.stamp = self._stamp(folder)
        col._bm25 = None

    def document_hashes(self, tenant: str, domain: str) -> dict[str, str]:
        with self._lock:
            return dict(self._load(tenant, domain).hashes)

    def document_sources(self, tenant: str, domain: str) -> dict[str, str]:
        with self._lock:
            sources: dict[str, str] = {}
            for c in self._load(tenant, domain).chunks:
                sources.setdefault(c.doc_id, c.source)
            return sources

    def count(self, tenant: str, domain: str) -> int:
        with self._lock:
            return len(self._load(tenant, domain).chunks)

    def upsert_document(
        self,
        tenant: str,
        domain: str,
        doc_id: str,
        content_hash: str,
        chunks: list[Chunk],
        vectors: np.ndarray,
    ) -> None:
        with self._lock:
            col = self._load(tenant, domain)
            keep = [i for i, c in enumerate(col.chunks) if c.doc_id != doc_id]
            col.chunks = [col.chunks[i] for i in keep] + list(chunks)
            col.vectors = np.concatenate([col.vectors[keep], vectors.astype(np.float32)], axis=0)
            col.hashes[doc_id] = content_hash
            self._save(tenant, domain, col)

    def delete_document(self, tenant: str, domain: str, doc_id: str) -> int:
        with self._lock:
            col = self._load(tenant, domain)
            keep = [i for i, c in enumerate(col.chunks) if c.doc_id != doc_id]
            removed = len(col.chunks) - len(keep)
            if removed or doc_id in col.hashes:
                col.chunks = [col.chunks[i] for i in keep]
                col.vectors = col.vectors[keep]
                col.hashes.pop(doc_id, None)
                self._save(tenant, domain, col)
            return removed

    def search(
        self,
        tenant: str,
        domain: str,
        text: str,
        vector: np.ndarray,
        k: int,
        doc_ids: list[str] | None = None,
    ) -> list[Passage]:
        with self._lock:
            col = self._load(tenant, domain)
            if not col.chunks:
                return []
            cos = col.vectors @ vector.astype(np.float32)
            bm = col.bm25(text)
            if doc_ids is not None:
                allowed = np.array([c.doc_id in set(doc_ids) for c in col.chunks])
                if not allowed.any():
                    return []
                cos = np.where(allowed, cos, -np.inf)
                bm = np.where(allowed, bm, 0.0)
        # Reciprocal-rank fusion: robust to the two scores' different scales.
        vec_rank = np.empty(len(cos), dtype=np.int64)
        vec_rank[np.argsort(-cos)] = np.arange(len(cos))
        bm_rank = np.empty(len(bm), dtype=np.int64)
        bm_rank[np.argsort(-bm)] = np.arange(len(bm))
        fused = 1.0 / (RRF_K + vec_rank) + np.where(bm > 0, 1.0 / (RRF_K + bm_rank), 0.0)
        if doc_ids is not None:
            fused = np.where(np.isfinite(cos), fused, -1.0)
        top = [i for i in np.argsort(-fused)[:k] if np.isfinite(cos[i])]
        return [
            Passage(
                doc_id=col.chunks[i].doc_id,
                title=col.chunks[i].title,
                chunk=col.chunks[i].chunk,
                text=col.chunks[i].text,
                score=round(float(cos[i]), 4),
                source=col.chunks[i].source,
            )
            for i in top
        ]
