"""The Weaviate knowledge store: the same ``KnowledgeStore`` interface, served by a Weaviate server.

Layout: one collection per domain (``AccelDomain_<domain>``) with multi-tenancy enabled, and our
``tenant_id`` as the Weaviate tenant, so tenants are isolated by the server itself (each tenant is its
own shard). Vectors are ours (``shared.embeddings``), stored as the named vector ``default``; hybrid
search (BM25 over title and text, fused with vector search) runs server-side.

Writes are idempotent: chunk UUIDs are derived from (tenant, domain, doc, chunk), so re-upserting a
document overwrites its chunks in place, and the chunks it no longer has are pruned afterwards. Every
chunk carries its document's content hash and chunk count, so a document whose upsert was cut short
(half-written, or old chunks left behind) is reported with an empty hash and is re-ingested.

weaviate-client is an optional dependency (``pip install .[weaviate]``); this module imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import grpc
import httpx
import numpy as np
import weaviate
from weaviate.classes.config import Configure, DataType, Property, Tokenization, VectorDistances
from weaviate.classes.data import DataObject
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.classes.query import Filter, HybridFusion, MetadataQuery
from weaviate.classes.tenants import Tenant
from weaviate.collections import Collection
from weaviate.exceptions import WeaviateBaseError
from weaviate.util import generate_uuid5

from contracts import Passage
from contracts.subjects import TOKEN_RE
from shared.documents import Chunk

COLLECTION_PREFIX = "AccelDomain_"
VECTOR_NAME = "default"
SEARCH_PROPERTIES = ["title", "text"]
RETURN_PROPERTIES = ["doc_id", "title", "chunk", "text", "source"]
HASH_PROPERTIES = ["doc_id", "content_hash", "chunk_count", "source"]
PAGE_SIZE = 1000
INSERT_BATCH = 256
STALE_HASH = ""
"""Reported for a document whose chunks disagree (an interrupted upsert): never equals a real hash."""


class StoreUnavailable(RuntimeError):
    """Weaviate could not be reached or refused a request; the message names the server's URL."""


def _check_name(value: str) -> str:
    if not TOKEN_RE.fullmatch(value):
        raise ValueError(f"invalid collection name part {value!r}")
    return value


def collection_name(domain: str) -> str:
    """``travel`` -> ``AccelDomain_travel``.

    Weaviate collection names allow only ``[A-Za-z0-9_]``, so every character other than a lowercase
    letter or a digit is escaped as ``_`` and two hex digits, which keeps the mapping injective and free
    of case questions (``a-b`` -> ``a_2db``, ``a_b`` -> ``a_5fb``, ``A`` -> ``_41``).
    """
    _check_name(domain)
    escaped = "".join(ch if ch.isdigit() or "a" <= ch <= "z" else f"_{ord(ch):02x}" for ch in domain)
    return COLLECTION_PREFIX + escaped


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) else 0


def chunk_uuid(tenant: str, domain: str, doc_id: str, chunk: int) -> str:
    return str(generate_uuid5(f"{tenant}/{domain}/{doc_id}/{chunk}"))


def _properties() -> list[Property]:
    def exact(name: str) -> Property:
        # Field tokenization: `doc_id == "a/b.md"` matches that id only, not every doc with "b" and "md".
        return Property(
            name=name, data_type=DataType.TEXT, tokenization=Tokenization.FIELD, index_searchable=False
        )

    return [
        exact("doc_id"),
        Property(name="title", data_type=DataType.TEXT, tokenization=Tokenization.WORD),
        Property(name="chunk", data_type=DataType.INT),
        Property(name="text", data_type=DataType.TEXT, tokenization=Tokenization.WORD),
        exact("source"),
        exact("content_hash"),
        Property(name="chunk_count", data_type=DataType.INT),
    ]


class WeaviateStore:
    """``KnowledgeStore`` on Weaviate (weaviate-client v4: REST for schema, gRPC for data and search)."""

    def __init__(
        self,
        url: str,
        *,
        grpc_port: int = 50051,
        grpc_host: str | None = None,
        api_key: str | None = None,
        alpha: float = 0.5,
        timeout_s: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Weaviate URL must be http(s)://host[:port], got {url!r}")
        self.url = url
        self._secure = parts.scheme == "https"
        self._http_host = parts.hostname
        self._http_port = parts.port or (443 if self._secure else 80)
        self._grpc_host = grpc_host or parts.hostname
        self.grpc_port = grpc_port
        self._api_key = api_key
        self.alpha = alpha
        self._timeout_s = timeout_s
        self._client: weaviate.WeaviateClient | None = None
        self._lock = threading.Lock()
        self._collections: set[str] = set()
        self._tenants: set[tuple[str, str]] = set()

    # ---- connection --------------------------------------------------------------------------
    def _describe(self) -> str:
        return f"Weaviate at {self.url} (gRPC {self._grpc_host}:{self.grpc_port})"

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except StoreUnavailable:
            raise
        except (WeaviateBaseError, httpx.HTTPError, grpc.RpcError, OSError) as e:
            # Forget what was known to exist: a collection or tenant deleted behind our back is re-checked.
            self._collections.clear()
            self._tenants.clear()
            raise StoreUnavailable(f"{self._describe()}: {what} failed: {e}") from e

    def client(self) -> weaviate.WeaviateClient:
        """The connected client, connecting on first use (and again after ``close``)."""
        with self._lock:
            if self._client is not None:
                return self._client
            with self._errors("connect"):
                client = weaviate.connect_to_custom(
                    http_host=self._http_host,
                    http_port=self._http_port,
                    http_secure=self._secure,
                    grpc_host=self._grpc_host,
                    grpc_port=self.grpc_port,
                    grpc_secure=self._secure,
                    auth_credentials=Auth.api_key(self._api_key) if self._api_key else None,
                    additional_config=AdditionalConfig(
                        timeout=Timeout(init=self._timeout_s, query=self._timeout_s, insert=self._timeout_s)
                    ),
                    # The full init checks also ask pypi.org for the latest client version: a service must
                    # not phone out. Liveness of both protocols is checked below instead.
                    skip_init_checks=True,
                )
                try:
                    live = client.is_live()  # REST /v1/.well-known/live, then the gRPC health check
                except Exception:
                    client.close()
                    raise
                if not live:
                    client.close()
                    raise StoreUnavailable(f"{self._describe()}: not live (REST or gRPC health check failed)")
            self._client = client
            return client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            self._collections.clear()
            self._tenants.clear()

    def __enter__(self) -> WeaviateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- collections and tenants -------------------------------------------------------------
    def _collection(self, tenant: str, domain: str, *, create: bool) -> Collection[Any, Any] | None:
        """The tenant's view of the domain's collection; ``None`` when it does not exist (reads)."""
        _check_name(tenant)
        name = collection_name(domain)
        client = self.client()
        key = (name, tenant)
        if key in self._tenants:
            return client.collections.use(name).with_tenant(tenant)
        with self._errors(f"preparing collection {name} for tenant {tenant!r}"):
            if name not in self._collections:
                if not client.collections.exists(name):
                    if not create:
                        return None
                    self._create_collection(client, name, domain)
                self._collections.add(name)
            base = client.collections.use(name)
            if not base.tenants.exists(tenant):
                if not create:
                    return None
                try:
                    base.tenants.create([Tenant(name=tenant)])
                except WeaviateBaseError:
                    if not base.tenants.exists(tenant):  # lost a race with another replica: fine
                        raise
            self._tenants.add(key)
            return base.with_tenant(tenant)

    def _create_collection(self, client: weaviate.WeaviateClient, name: str, domain: str) -> None:
        try:
            client.collections.create(
                name,
                description=f"Accelerated-LLM knowledge base of domain {domain!r}; one tenant per tenant_id.",
                vector_config=Configure.Vectors.self_provided(
                    name=VECTOR_NAME,
                    vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE),
                ),
                multi_tenancy_config=Configure.multi_tenancy(
                    enabled=True, auto_tenant_creation=True, auto_tenant_activation=True
                ),
                properties=_properties(),
            )
        except WeaviateBaseError:
            if not client.collections.exists(name):  # lost a race with another replica: fine
                raise

    # ---- KnowledgeStore ----------------------------------------------------------------------
    def document_hashes(self, tenant: str, domain: str) -> dict[str, str]:
        return self._documents(tenant, domain)[0]

    def document_sources(self, tenant: str, domain: str) -> dict[str, str]:
        return self._documents(tenant, domain)[1]

    def _documents(self, tenant: str, domain: str) -> tuple[dict[str, str], dict[str, str]]:
        """Each document's hash (``STALE_HASH`` for a cut-short upsert) and source, in one listing."""
        col = self._collection(tenant, domain, create=False)
        if col is None:
            return {}, {}
        hashes: dict[str, set[str]] = {}
        sources: dict[str, str] = {}
        seen: dict[str, int] = {}
        expected: dict[str, int] = {}
        after: str | None = None
        while True:
            with self._errors("listing documents"):
                page = col.query.fetch_objects(
                    limit=PAGE_SIZE, after=after, return_properties=HASH_PROPERTIES
                )
            for obj in page.objects:
                doc_id = str(obj.properties["doc_id"])
                hashes.setdefault(doc_id, set()).add(str(obj.properties["content_hash"]))
                seen[doc_id] = seen.get(doc_id, 0) + 1
                expected[doc_id] = _int(obj.properties.get("chunk_count"))
                sources.setdefault(doc_id, str(obj.properties.get("source") or ""))
            if len(page.objects) < PAGE_SIZE:
                break
            cursor = str(page.objects[-1].uuid)
            if cursor == after:
                raise StoreUnavailable(f"{self._describe()}: listing documents did not advance past {cursor}")
            after = cursor
        return {
            doc: (next(iter(hs)) if len(hs) == 1 and seen[doc] == expected[doc] else STALE_HASH)
            for doc, hs in hashes.items()
        }, sources

    def upsert_document(
        self,
        tenant: str,
        domain: str,
        doc_id: str,
        content_hash: str,
        chunks: list[Chunk],
        vectors: np.ndarray,
    ) -> None:
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors for {doc_id!r}")
        col = self._collection(tenant, domain, create=True)
        assert col is not None
        objects = [
            DataObject(
                properties={
                    "doc_id": doc_id,
                    "title": c.title,
                    "chunk": c.chunk,
                    "text": c.text,
                    "source": c.source,
                    "content_hash": content_hash,
                    "chunk_count": len(chunks),
                },
                uuid=chunk_uuid(tenant, domain, doc_id, c.chunk),
                vector={VECTOR_NAME: np.asarray(v, dtype=np.float32).tolist()},
            )
            for c, v in zip(chunks, vectors, strict=True)
        ]
        # Write the new chunks first (same UUIDs overwrite in place), then prune what is left of the old
        # version: searches never see the document missing, and a cut-short upsert is detectable.
        for start in range(0, len(objects), INSERT_BATCH):
            batch = objects[start : start + INSERT_BATCH]
            with self._errors(f"inserting chunks of {doc_id!r}"):
                result = col.data.insert_many(batch)
            if result.errors:
                first = next(iter(result.errors.values()))
                raise StoreUnavailable(
                    f"{self._describe()}: {len(result.errors)} of {len(batch)} chunks of {doc_id!r} "
                    f"were not written: {first.message}"
                )
        stale = Filter.by_property("doc_id").equal(doc_id) & (
            Filter.by_property("content_hash").not_equal(content_hash)
            | Filter.by_property("chunk").greater_or_equal(len(chunks))
        )
        with self._errors(f"pruning old chunks of {doc_id!r}"):
            col.data.delete_many(where=stale)

    def delete_document(self, tenant: str, domain: str, doc_id: str) -> int:
        col = self._collection(tenant, domain, create=False)
        if col is None:
            return 0
        with self._errors(f"deleting {doc_id!r}"):
            result = col.data.delete_many(where=Filter.by_property("doc_id").equal(doc_id))
        return int(result.successful)

    def search(
        self,
        tenant: str,
        domain: str,
        text: str,
        vector: np.ndarray,
        k: int,
        doc_ids: list[str] | None = None,
    ) -> list[Passage]:
        col = self._collection(tenant, domain, create=False)
        if col is None:
            return []
        only = Filter.by_property("doc_id").contains_any(doc_ids) if doc_ids is not None else None
        with self._errors("hybrid search"):
            result = col.query.hybrid(
                filters=only,
                query=text,
                vector=np.asarray(vector, dtype=np.float32).tolist(),
                target_vector=VECTOR_NAME,
                alpha=self.alpha,
                limit=k,
                fusion_type=HybridFusion.RELATIVE_SCORE,
                query_properties=SEARCH_PROPERTIES,
                return_properties=RETURN_PROPERTIES,
                return_metadata=MetadataQuery(score=True),
            )
        return [
            Passage(
                doc_id=str(o.properties["doc_id"]),
                title=str(o.properties.get("title") or ""),
                chunk=_int(o.properties["chunk"]),
                text=str(o.properties.get("text") or ""),
                score=round(float(o.metadata.score or 0.0), 4),
                source=str(o.properties.get("source") or ""),
            )
            for o in result.objects
        ]

    def count(self, tenant: str, domain: str) -> int:
        col = self._collection(tenant, domain, create=False)
        if col is None:
            return 0
        with self._errors("counting chunks"):
            result = col.aggregate.over_all(total_count=True)
        return int(result.total_count or 0)
