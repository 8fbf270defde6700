"""Ingestion: read, chunk, embed in batches (with a progress bar) and upsert by content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from services.retriever.sentences import SentenceVectors
from services.retriever.store import KnowledgeStore
from shared.documents import DocumentError, chunk_document, document_id, find_documents, read_document
from shared.embeddings import MODEL_ID, Embedder
from shared.text import evidence_sentences


@dataclass
class IngestReport:
    domain: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # document id -> why it could not be read
    chunks: int = 0

    def summary(self) -> str:
        skipped = f", {len(self.skipped)} skipped (no text read)" if self.skipped else ""
        return (
            f"{self.domain}: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed{skipped}, "
            f"{self.chunks} chunks indexed"
        )


def index_hash(content_hash: str) -> str:
    """What the store records for a document: its content and the embedding model that indexed it,
    so that a new model re-embeds every document on the next ingest instead of mixing vectors."""
    return hashlib.sha256(f"{MODEL_ID}\x1f{content_hash}".encode()).hexdigest()


def _read_from(source: str | None, path: Path) -> bool:
    """Whether a document indexed from ``source`` came from under ``path``; an unknown source (no
    chunk left, or none recorded) counts as ours."""
    if not source:
        return True
    where = Path(source)
    if not where.is_absolute():  # recorded before sources were absolute: as the current folder reads it
        where = where.resolve()
    return where == path or path in where.parents


def ingest_path(
    store: KnowledgeStore,
    embedder: Embedder,
    *,
    tenant: str,
    domain: str,
    path: Path,
    prune: bool = False,
    progress: bool = False,
    sentences: SentenceVectors | None = None,
) -> IngestReport:
    """Index every supported file under ``path``. Re-ingesting unchanged files does nothing. A file
    that cannot be read (a damaged or encrypted PDF, one without text) is skipped and listed in the
    report with the reason; what an earlier ingest indexed from it stays.

    With ``prune``, documents indexed earlier from ``path`` that are gone from it are deleted; those
    indexed from anywhere else stay (the retriever prunes each domain's folder at start-up, and
    ``accel ingest`` may have added documents from other folders). Sources are recorded as absolute
    paths.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    path = path.resolve()
    root = path if path.is_dir() else path.parent
    files = find_documents(path)
    known = store.document_hashes(tenant, domain)
    report = IngestReport(domain=domain)
    seen: set[str] = set()
    bar = tqdm(files, desc=f"ingest {domain}", unit="doc", disable=not progress, leave=False)
    for file in bar:
        try:
            doc = read_document(file, root)
        except DocumentError as exc:  # the rest still goes in; an earlier good copy stays indexed
            doc_id = document_id(file, root)
            seen.add(doc_id)
            report.skipped[doc_id] = str(exc)
            continue
        seen.add(doc.doc_id)
        h = index_hash(doc.content_hash)
        chunks = chunk_document(doc)
        if sentences is not None:  # only sentences missing from the persisted table are embedded
            sentences.add(s for c in chunks for s in evidence_sentences(c.text))
        if known.get(doc.doc_id) == h:
            report.unchanged.append(doc.doc_id)
            continue
        vectors = embedder.encode([f"{c.title}. {c.text}" for c in chunks], recent=False)
        store.upsert_document(tenant, domain, doc.doc_id, h, chunks, vectors)
        (report.updated if doc.doc_id in known else report.added).append(doc.doc_id)
    if prune:
        sources = store.document_sources(tenant, domain)
        for doc_id in sorted(set(known) - seen):
            if not _read_from(sources.get(doc_id), path):
                continue
            store.delete_document(tenant, domain, doc_id)
            report.removed.append(doc_id)
    report.chunks = store.count(tenant, domain)
    return report
